"""The workflow validator: every rule of 04 §2, all problems at once.

`validate_document` takes JSON as received (shape problems first, see
`parse`); `validate_workflow` takes a parsed `Workflow`, for example a stored
draft before it is published. Both return `WorkflowIssue`s in a fixed order:
the entity fields, then each node in document order (id, activity, settings,
exits), then the rules about paths and loops, then warnings about unreachable
nodes. Nothing stops early: a bad timeout does not hide a dangling exit.

Rules that need the graph use only what can be resolved: nodes with a usable,
unique id, and exits that point at one. A broken edge is reported once, where
it is, and not again as a consequence elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Final, NamedTuple

from switchboard.domain.workflow.activities import CATALOGUE, Activity, join_or
from switchboard.domain.workflow.document import Node, Workflow
from switchboard.domain.workflow.graph import Graph, Search, components, cycle_through, search
from switchboard.domain.workflow.issues import (
    NODE_ID_RE,
    NodeRef,
    Severity,
    WorkflowIssue,
    node_refs,
)
from switchboard.domain.workflow.kinds import WorkflowKind
from switchboard.domain.workflow.parse import read_workflow
from switchboard.domain.workflow.references import References
from switchboard.domain.workflow.settings import check_fields
from switchboard.domain.workflow.site import NodeScope, Reporter

__all__ = ["MAX_NODES", "MIN_NODES", "validate_document", "validate_workflow"]

MIN_NODES: Final = 2
MAX_NODES: Final = 200
_ENQUEUE: Final = frozenset({"queue", "queue_task"})
_NEEDS_QUEUE_TASK: Final = frozenset({"check_task", "cancel_task"})
_WAITING: Final = tuple(a.key for a in CATALOGUE.values() if a.waits)


def validate_document(data: object, refs: References | None = None) -> list[WorkflowIssue]:
    """Validate JSON as received: shape problems if any, else every rule of 04 §2.

    A document whose shape is broken (a node that is not an object, `exits`
    that is a list) cannot be walked as a graph, so its shape problems are
    returned alone; they are what the designer must fix first.
    """
    workflow, issues = read_workflow(data)
    if workflow is None:
        return issues
    return validate_workflow(workflow, refs)


def validate_workflow(workflow: Workflow, refs: References | None = None) -> list[WorkflowIssue]:
    """Every problem of a parsed workflow; `refs` enables the reference rules (V11)."""
    out = Reporter()
    kind = _check_entity(out, workflow, refs)
    nodes = workflow.document.nodes
    if len(nodes) < MIN_NODES:
        out.add(
            "too_short",
            "nodes",
            f"A workflow needs at least {MIN_NODES} nodes (start and what follows); "
            f"got {len(nodes)}.",
        )
    elif len(nodes) > MAX_NODES:
        out.add(
            "limit_exceeded",
            "nodes",
            f"A workflow may have at most {MAX_NODES} nodes; got {len(nodes)}.",
        )
    ids = [node.id for node in nodes]
    named = node_refs(ids)
    starts = {node.id for node in nodes if node.type == "start"}
    visible = None
    if refs is not None:
        visible = refs.visible_ous(workflow.ou_id)
    for ref, node in zip(named, nodes, strict=True):
        scope = NodeScope(
            reporter=out,
            path=ref.path,
            node_id=ref.node_id,
            label=ref.label(node.type),
            workflow_id=workflow.id,
            kind=kind,
            refs=refs,
            ou_id=workflow.ou_id,
            visible=visible,
        )
        _check_node(out, scope, ref, node, ids, starts)
    _check_paths(out, workflow, named)
    return out.issues


# --------------------------------------------------------------------------- entity


def _check_entity(
    out: Reporter, workflow: Workflow, refs: References | None
) -> WorkflowKind | None:
    if not workflow.id.strip():
        out.add("required", "id", "id is required; expected the workflow's id.")
    name = workflow.name.strip()
    if not name:
        out.add("required", "name", "name is required; expected 1 to 128 characters.")
    elif len(workflow.name) > 128:
        out.add(
            "too_long", "name", f"name must be at most 128 characters; got {len(workflow.name)}."
        )
    elif refs is not None:
        for other_id, other in refs.workflow_names.items():
            if other_id != workflow.id and other.strip() == name:
                out.add(
                    "not_unique",
                    "name",
                    f"name must be unique in the tenant; {name!r} is already used by "
                    f"workflow {other_id!r}.",
                )
                break
    if not workflow.ou_id.strip():
        out.add("required", "ou_id", "ou_id is required; expected the id of an OU.")
    elif refs is not None and workflow.ou_id not in refs.ous:
        out.add(
            "unknown_reference",
            "ou_id",
            f"ou_id refers to OU {workflow.ou_id!r}, which does not exist.",
        )
    if workflow.version < 1:
        out.add("out_of_range", "version", f"version must be at least 1; got {workflow.version}.")
    kind = workflow.kind
    if kind is None:
        out.add(
            "invalid_combination",
            "direction",
            f"direction {workflow.direction.value} is available only for audio workflows; "
            f"{workflow.modality.value} workflows are inbound.",
        )
    return kind


# --------------------------------------------------------------------------- one node


def _check_node(
    out: Reporter,
    scope: NodeScope,
    ref: NodeRef,
    node: Node,
    ids: list[str],
    starts: set[str],
) -> None:
    if not NODE_ID_RE.fullmatch(node.id):
        scope.add(
            "invalid_format",
            "id",
            f"id must be 1 to 64 letters, digits, _ or -; got {node.id!r}.",
        )
    elif ids.index(node.id) != ref.index:
        scope.add(
            "duplicate_node_id",
            "id",
            f"id {node.id!r} is already used by the node at index {ids.index(node.id)}; "
            "node ids must be unique.",
        )
    if node.name is not None and len(node.name) > 128:
        scope.add("too_long", "name", f"name must be at most 128 characters; got {len(node.name)}.")
    activity = CATALOGUE.get(node.type)
    if activity is None:
        scope.add(
            "invalid_type",
            "type",
            f"type {node.type!r} is not an activity; expected one of {', '.join(CATALOGUE)}.",
        )
    else:
        kind = scope.kind
        if kind is not None and kind not in activity.kinds:
            where = " and ".join(k.label for k in WorkflowKind if k in activity.kinds)
            scope.add(
                "activity_not_supported",
                "type",
                f"{activity.key} is not available in {kind.label} workflows; "
                f"it runs in {where} workflows.",
            )
        _check_settings(scope, activity, node)
    _check_exits(scope, activity, node, ids, starts)


def _check_settings(scope: NodeScope, activity: Activity, node: Node) -> None:
    kind = scope.kind
    check_fields(
        activity.settings,
        node.settings,
        scope.setting,
        activity.key,
        "setting",
        modality=kind.modality if kind is not None else None,
        modality_label=kind.label if kind is not None else "",
    )
    for rule in activity.rules:
        rule(node.settings, scope)


def _check_exits(
    scope: NodeScope, activity: Activity | None, node: Node, ids: list[str], starts: set[str]
) -> None:
    declared = activity.declared_exits(node.settings) if activity is not None else None
    for name, target in node.exits.items():
        suffix = f"exits.{name}"
        if activity is not None and not _declares(declared, activity, name):
            if declared:
                expected = f"expected {join_or(declared)}"
            else:
                expected = f"{activity.key} has no exits"
            scope.add(
                "unknown_exit",
                suffix,
                f"exit {name!r} is not an exit of {activity.key}; {expected}.",
            )
            continue
        if target not in ids:
            scope.add(
                "unknown_exit_target",
                suffix,
                f"exit {name!r} points to {target!r}, which is not a node of this workflow.",
            )
        elif target in starts:
            scope.add(
                "exit_to_start",
                suffix,
                f"exit {name!r} points to the start node {target!r}; "
                "nothing may lead back to start.",
            )
    for name in declared or ():
        if name not in node.exits:
            scope.add(
                "exit_not_connected",
                f"exits.{name}",
                f"exit {name!r} is not connected; wire it to the node that should run next.",
            )


def _declares(declared: tuple[str, ...] | None, activity: Activity, name: str) -> bool:
    if declared is not None:
        return name in declared
    # Options unreadable: any option exit may be meant; the fixed ones are known.
    return name.startswith("option_") or name in (e.name for e in activity.exits)


# --------------------------------------------------------------------------- paths and loops


class _Seen(NamedTuple):
    """What happened before a node on one route: accepted, queued, queued by queue_task."""

    accepted: bool
    queued: bool
    task_queued: bool


@dataclass(frozen=True, slots=True)
class _Finding:
    code: str
    message: str


def _check_paths(out: Reporter, workflow: Workflow, named: list[NodeRef]) -> None:
    nodes = workflow.document.nodes
    by_id: dict[str, tuple[NodeRef, Node]] = {
        ref.node_id: (ref, node) for ref, node in zip(named, nodes, strict=True) if ref.node_id
    }
    starts = [n.id for n in nodes if n.type == "start"]
    graph = Graph(
        tuple(by_id), {node_id: _edges(node, by_id, starts) for node_id, (_, node) in by_id.items()}
    )
    if len(starts) != 1:
        found = "none" if not starts else f"{len(starts)}: {', '.join(map(repr, starts))}"
        out.add("start_count", "nodes", f"A workflow needs exactly one start node; found {found}.")
    roots = [s for s in starts if s in by_id]
    type_of = {node_id: node.type for node_id, (_, node) in by_id.items()}
    found_by_node, reached = _route_findings(graph, roots, type_of)
    _cancel_findings(graph, type_of, found_by_node)
    for node_id, (ref, node) in by_id.items():
        for finding in sorted(found_by_node.get(node_id, ()), key=lambda f: _ORDER[f.code]):
            out.add(
                finding.code,
                ref.path,
                f"{ref.label(node.type)}: {finding.message}",
                node_id=node_id,
            )
    _check_waiting_loops(out, graph, by_id)
    for node_id, (ref, node) in by_id.items():
        if roots and node_id not in reached:
            out.add(
                "unreachable_node",
                ref.path,
                f"{ref.label(node.type)}: no path from start reaches it, so it never runs.",
                node_id=node_id,
                severity=Severity.WARNING,
            )


def _edges(node: Node, by_id: Mapping[str, object], starts: list[str]) -> tuple[str, ...]:
    """The successors the path rules follow.

    Unknown exits, exits to missing or duplicated nodes and exits into a start
    node were reported where they are; leaving them out keeps one mistake
    from showing up again as a loop, a repeat or an unreachable node. The
    exits of an unknown activity are followed as written, since nothing says
    which of them it has.
    """
    activity = CATALOGUE.get(node.type)
    declared = activity.declared_exits(node.settings) if activity is not None else None
    targets = (
        target
        for name, target in node.exits.items()
        if (activity is None or _declares(declared, activity, name))
        and target in by_id
        and target not in starts
    )
    return tuple(dict.fromkeys(targets))


def _route_findings(
    graph: Graph, roots: list[str], type_of: Mapping[str, str]
) -> tuple[dict[str, list[_Finding]], set[str]]:
    """V4, V5, V6, V9a per node (first, shortest route each), and the nodes reached."""

    def step(node_id: str, seen: _Seen) -> _Seen:
        kind = type_of[node_id]
        return _Seen(
            seen.accepted or kind == "accept",
            seen.queued or kind in _ENQUEUE,
            seen.task_queued or kind == "queue_task",
        )

    found: dict[str, list[_Finding]] = {}
    result = search(graph, roots, _Seen(False, False, False), step)
    for state in result.states():
        node_id, seen = state
        finding = _path_finding(type_of[node_id], seen, partial(_shown_route, result, state))
        if finding is None:
            continue
        listed = found.setdefault(node_id, [])
        if all(f.code != finding.code for f in listed):
            listed.append(finding)
    return found, {node_id for node_id, _ in result.states()}


def _cancel_findings(
    graph: Graph, type_of: Mapping[str, str], found: dict[str, list[_Finding]]
) -> None:
    """V9b: after cancel_task every path must reach a disconnect, so no loop may follow."""
    in_loop = {n: loop for loop in components(graph) for n in loop}
    for node_id in graph.order:
        if type_of[node_id] != "cancel_task":
            continue
        ahead = graph.reachable_from(graph.successors[node_id])
        looping = next((in_loop[n] for n in graph.order if n in ahead and n in in_loop), None)
        if looping is not None:
            found.setdefault(node_id, []).append(
                _Finding(
                    "requires_disconnect",
                    "every path after it must end at a disconnect, but it can enter the "
                    f"loop {_route(cycle_through(graph, looping))}.",
                )
            )


_ORDER: Final = {
    "accept_required_before": 0,
    "accept_repeated": 1,
    "queue_more_than_once": 2,
    "requires_queue_task": 3,
    "requires_disconnect": 4,
}


def _path_finding(kind: str, seen: _Seen, route: Callable[[], str]) -> _Finding | None:
    """The path rule a node breaks when reached with `seen`, if any."""
    activity = CATALOGUE.get(kind)
    if activity is None:
        return None
    if kind == "accept":
        if seen.accepted:
            return _Finding(
                "accept_repeated",
                f"the task is already accepted when it runs (via {route()}); "
                "accept at most once on any path.",
            )
        return None
    if not activity.pre_accept and not seen.accepted:
        return _Finding(
            "accept_required_before",
            f"it needs an accepted task but can run before accept (via {route()}); "
            "put an accept node before it.",
        )
    if kind in _ENQUEUE and seen.queued:
        return _Finding(
            "queue_more_than_once",
            f"the task has already been queued when it runs (via {route()}); "
            "a task enters a queue at most once per service session.",
        )
    if kind in _NEEDS_QUEUE_TASK and not seen.task_queued:
        return _Finding(
            "requires_queue_task",
            "it needs a queue_task before it on every path, but can run without one "
            f"(via {route()}).",
        )
    return None


def _check_waiting_loops(
    out: Reporter, graph: Graph, by_id: Mapping[str, tuple[NodeRef, Node]]
) -> None:
    """V12: every loop must pass a waiting activity, or it would spin without end."""

    def busy(node_id: str) -> bool:
        return by_id[node_id][1].type not in _WAITING

    inner = graph.restricted(busy)
    waiting = ", ".join(_WAITING)
    for loop in components(inner):
        ref, node = by_id[loop[0]]
        cycle = cycle_through(inner, loop)
        out.add(
            "cycle_without_wait",
            ref.path,
            f"{ref.label(node.type)}: the loop {_route(cycle)} has no waiting activity "
            f"({waiting}) and would repeat without end.",
            node_id=ref.node_id,
        )


def _shown_route(result: Search[_Seen], state: tuple[str, _Seen]) -> str:
    return _route(result.route(state))


def _route(route: list[str]) -> str:
    return " → ".join(route)
