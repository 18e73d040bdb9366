"""Reading a JSON workflow document into a `Workflow` (04 §1).

Parsing checks the *shape* only: the document is an object with the entity
fields of the right JSON types, `nodes` is a list of objects, each with a
string `id` and `type`, an optional `name`, a `settings` object and an
`exits` object mapping names to node ids; no unknown keys anywhere in that
frame. Everything a shape can carry but a workflow must not (an unknown
activity, a timeout of 90 s, a dangling exit, a loop) is the validator's
business, because a draft with such errors may still be saved (04 §2).

Numbers in settings are normalised the way JSON Schema sees them: `5.0` is
the integer 5. NaN and infinities are not JSON and are refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from switchboard.domain.enums import Direction, Modality
from switchboard.domain.validation import ValidationFailed
from switchboard.domain.workflow.document import JsonValue, Node, Workflow, WorkflowDocument
from switchboard.domain.workflow.issues import NodeRef, WorkflowIssue, node_refs
from switchboard.domain.workflow.kinds import DIRECTIONS, WorkflowStatus
from switchboard.domain.workflow.site import Reporter, describe

__all__ = ["ENVELOPE_FIELDS", "NODE_FIELDS", "parse_workflow", "read_workflow"]

#: Keys of the document object, and whether each is required.
ENVELOPE_FIELDS: Final = {
    "id": True,
    "ou_id": True,
    "name": True,
    "modality": True,
    "direction": True,
    "version": False,
    "status": False,
    "nodes": True,
}
#: Keys of a node object, and whether each is required.
NODE_FIELDS: Final = {"id": True, "type": True, "name": False, "settings": False, "exits": False}

_MISSING: Final = object()


def parse_workflow(data: object) -> Workflow:
    """The workflow in `data`, or `ValidationFailed` listing every shape problem."""
    workflow, issues = read_workflow(data)
    if issues or workflow is None:
        raise ValidationFailed(issues)
    return workflow


def read_workflow(data: object) -> tuple[Workflow | None, list[WorkflowIssue]]:
    """Parse without raising: the workflow (None if the shape is broken) and the issues."""
    out = Reporter()
    if not isinstance(data, Mapping):
        out.add(
            "invalid_type",
            "",
            f"A workflow document must be a JSON object; got {describe(data)}.",
        )
        return None, out.issues
    _unknown_keys(out, data, ENVELOPE_FIELDS, "", "the workflow document")
    _missing_keys(out, data, ENVELOPE_FIELDS, "")
    wf_id = _string(out, data, "id", "")
    ou_id = _string(out, data, "ou_id", "")
    name = _string(out, data, "name", "")
    modality = _choice(out, data, "modality", tuple(Modality), required=True)
    direction = _choice(out, data, "direction", DIRECTIONS, required=True)
    status = _choice(out, data, "status", tuple(WorkflowStatus), required=False)
    version = data.get("version", 1)
    if isinstance(version, float) and version.is_integer():
        version = int(version)  # JSON does not tell 2.0 from 2; neither does JSON Schema
    if not isinstance(version, int) or isinstance(version, bool):
        out.add(
            "invalid_type", "version", f"version must be a whole number; got {describe(version)}."
        )
    nodes = _nodes(out, data.get("nodes", _MISSING))
    if out.issues:
        return None, out.issues
    assert wf_id is not None and ou_id is not None and name is not None
    assert modality is not None and direction is not None
    assert isinstance(version, int) and nodes is not None
    return (
        Workflow(
            id=wf_id,
            ou_id=ou_id,
            name=name,
            modality=Modality(modality),
            direction=Direction(direction),
            document=WorkflowDocument(nodes),
            version=version,
            status=WorkflowStatus(status) if status is not None else WorkflowStatus.DRAFT,
        ),
        [],
    )


def _unknown_keys(
    out: Reporter,
    data: Mapping[object, object],
    known: Mapping[str, bool],
    prefix: str,
    what: str,
    ref: NodeRef | None = None,
) -> None:
    for key in data:
        if key not in known:
            shown = key if isinstance(key, str) else repr(key)
            path = f"{prefix}.{shown}" if prefix else str(shown)
            label = f"{ref.label()}: " if ref is not None else ""
            out.add(
                "unknown_field",
                path,
                f"{label}{shown} is not a field of {what}; expected {', '.join(known)}.",
                node_id=ref.node_id if ref else None,
            )


def _missing_keys(
    out: Reporter,
    data: Mapping[object, object],
    known: Mapping[str, bool],
    prefix: str,
    ref: NodeRef | None = None,
) -> None:
    for key, required in known.items():
        if required and key not in data:
            path = f"{prefix}.{key}" if prefix else key
            label = f"{ref.label()}: " if ref is not None else ""
            out.add(
                "required",
                path,
                f"{label}{key} is required.",
                node_id=ref.node_id if ref else None,
            )


def _string(out: Reporter, data: Mapping[object, object], key: str, prefix: str) -> str | None:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        return None
    if not isinstance(value, str):
        path = f"{prefix}.{key}" if prefix else key
        out.add("invalid_type", path, f"{key} must be text; got {describe(value)}.")
        return None
    return value


def _choice(
    out: Reporter,
    data: Mapping[object, object],
    key: str,
    choices: tuple[str, ...],
    *,
    required: bool,
) -> str | None:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        return None
    if not isinstance(value, str) or value not in choices:
        out.add(
            "invalid_type",
            key,
            f"{key} must be one of {', '.join(choices)}; got {describe(value)}.",
        )
        return None
    return value


def _nodes(out: Reporter, raw: object) -> tuple[Node, ...] | None:
    if raw is _MISSING:
        return None
    if not isinstance(raw, list):
        out.add(
            "invalid_type", "nodes", f"nodes must be a list of node objects; got {describe(raw)}."
        )
        return None
    refs = node_refs([n.get("id") if isinstance(n, Mapping) else None for n in raw])
    nodes: list[Node] = []
    for ref, item in zip(refs, raw, strict=True):
        node = _node(out, ref, item)
        if node is not None:
            nodes.append(node)
    return tuple(nodes)


def _node(out: Reporter, ref: NodeRef, item: object) -> Node | None:
    if not isinstance(item, Mapping):
        out.add(
            "invalid_type",
            ref.path,
            f"{ref.label()}: a node must be a JSON object; got {describe(item)}.",
        )
        return None
    before = len(out.issues)
    _unknown_keys(out, item, NODE_FIELDS, ref.path, "a node", ref)
    _missing_keys(out, item, NODE_FIELDS, ref.path, ref)
    activity = item.get("type")
    label = ref.label(activity)

    def bad(key: str, expected: str, value: object) -> None:
        out.add(
            "invalid_type",
            f"{ref.path}.{key}",
            f"{label}: {key} must be {expected}; got {describe(value)}.",
            node_id=ref.node_id,
        )

    node_id = item.get("id", "")
    if not isinstance(node_id, str):
        bad("id", "text", node_id)
    if "type" in item and not isinstance(activity, str):
        bad("type", "text naming an activity", activity)
    name = item.get("name")
    if "name" in item and not isinstance(name, str):
        bad("name", "text", name)
    settings = item.get("settings", {})
    clean: dict[str, JsonValue] = {}
    if not isinstance(settings, Mapping):
        bad("settings", "an object", settings)
    else:
        for key, value in settings.items():
            at = f"{ref.path}.settings.{key}"
            clean[str(key)] = _json(out, value, at, f"{label}: settings.{key}", ref)
    exits = item.get("exits", {})
    wired: dict[str, str] = {}
    if not isinstance(exits, Mapping):
        bad("exits", "an object mapping exit names to node ids", exits)
    else:
        for key, target in exits.items():
            if not isinstance(target, str):
                bad(f"exits.{key}", "the id of a node", target)
            else:
                wired[str(key)] = target
    if len(out.issues) > before:
        return None
    assert isinstance(node_id, str) and isinstance(activity, str)
    return Node(
        id=node_id,
        type=activity,
        settings=clean,
        exits=wired,
        name=name if isinstance(name, str) else None,
    )


def _json(out: Reporter, value: object, path: str, shown: str, ref: NodeRef) -> JsonValue:
    """A copy of `value` as plain JSON; integral floats become ints."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            out.add(
                "invalid_type",
                path,
                f"{shown} must be a finite number; got {value!r}.",
                node_id=ref.node_id,
            )
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_json(out, v, f"{path}[{i}]", f"{shown}[{i}]", ref) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _json(out, v, f"{path}.{k}", f"{shown}.{k}", ref) for k, v in value.items()}
    out.add(
        "invalid_type",
        path,
        f"{shown} must be a JSON value; got {type(value).__name__}.",
        node_id=ref.node_id,
    )
    return None
