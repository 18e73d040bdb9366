"""The published JSON Schema of workflow documents, generated from the catalogue.

Editors and integrators validate documents before sending them; the schema
is derived from the same `CATALOGUE` the validator uses, so a new setting or
a changed range appears in both at once.

A JSON Schema cannot express every rule of 04 §2: unique node ids, exits that
point at existing nodes, paths, loops, cross-setting rules (max_digits ≥
min_digits), settings that apply to one modality only, and references to
other entities are the validator's alone. The schema is therefore the looser
of the two: every document the validator accepts, the schema accepts, and a
document the schema rejects, the validator rejects too (the tests hold both
to that).
"""

from __future__ import annotations

from typing import Final

from switchboard.domain.enums import Modality
from switchboard.domain.workflow.activities import CATALOGUE, Activity
from switchboard.domain.workflow.document import JsonValue
from switchboard.domain.workflow.issues import NODE_ID_RE
from switchboard.domain.workflow.kinds import DIRECTIONS, WorkflowKind, WorkflowStatus
from switchboard.domain.workflow.validate import MAX_NODES, MIN_NODES

__all__ = ["SCHEMA_ID", "workflow_schema"]

SCHEMA_ID: Final = "urn:switchboard:schema:workflow:1"
_OPTION_EXIT: Final = r"^option_([0-9]|star|pound)$"


def workflow_schema() -> dict[str, JsonValue]:
    """The JSON Schema (draft 2020-12) of a workflow document (04 §1)."""
    defs: dict[str, JsonValue] = {"node": _node_schema()}
    for activity in CATALOGUE.values():
        defs[f"activity_{activity.key}"] = _activity_schema(activity)
    text: dict[str, JsonValue] = {"type": "string", "minLength": 1, "pattern": r"\S"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Switchboard workflow",
        "description": "A workflow (IVR) document; see docs/workflows.md.",
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "ou_id", "name", "modality", "direction", "nodes"],
        "properties": {
            "id": dict(text),
            "ou_id": dict(text),
            "name": {**text, "maxLength": 128},
            "modality": {"enum": [m.value for m in Modality]},
            "direction": {"enum": [d.value for d in DIRECTIONS]},
            "version": {"type": "integer", "minimum": 1, "default": 1},
            "status": {"enum": [s.value for s in WorkflowStatus], "default": "draft"},
            "nodes": {
                "type": "array",
                "minItems": MIN_NODES,
                "maxItems": MAX_NODES,
                "items": {"$ref": "#/$defs/node"},
                "contains": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"const": "start"}},
                },
                "minContains": 1,
                "maxContains": 1,
            },
        },
        "allOf": [
            {
                "if": {
                    "required": ["direction"],
                    "properties": {"direction": {"const": "outbound"}},
                },
                "then": {"properties": {"modality": {"const": Modality.AUDIO.value}}},
            },
            *(_kind_rule(kind) for kind in WorkflowKind),
        ],
        "$defs": defs,
    }


def _kind_rule(kind: WorkflowKind) -> JsonValue:
    """Nodes of a workflow may only use the activities its kind supports (V8)."""
    allowed: list[JsonValue] = [a.key for a in CATALOGUE.values() if kind in a.kinds]
    return {
        "if": {
            "required": ["modality", "direction"],
            "properties": {
                "modality": {"const": kind.modality.value},
                "direction": {"const": kind.direction.value},
            },
        },
        "then": {"properties": {"nodes": {"items": {"properties": {"type": {"enum": allowed}}}}}},
    }


def _node_schema() -> dict[str, JsonValue]:
    keys: list[JsonValue] = list(CATALOGUE)
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "type"],
        "properties": {
            "id": {"type": "string", "pattern": f"^{NODE_ID_RE.pattern}$"},
            "type": {"enum": keys},
            "name": {"type": "string", "maxLength": 128},
            "settings": {"type": "object"},
            "exits": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "allOf": [
            {
                "if": {"required": ["type"], "properties": {"type": {"const": a.key}}},
                "then": {"$ref": f"#/$defs/activity_{a.key}"},
            }
            for a in CATALOGUE.values()
        ],
    }


def _activity_schema(activity: Activity) -> dict[str, JsonValue]:
    settings: dict[str, JsonValue] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {s.name: s.schema() for s in activity.settings},
    }
    required: list[JsonValue] = [s.name for s in activity.settings if s.required]
    if required:
        settings["required"] = required
    exits: dict[str, JsonValue] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {e.name: {"type": "string", "description": e.doc} for e in activity.exits},
        "required": [e.name for e in activity.exits],
    }
    if activity.option_exits:
        exits["patternProperties"] = {_OPTION_EXIT: {"type": "string"}}
    out: dict[str, JsonValue] = {
        "description": activity.doc,
        "properties": {"settings": settings, "exits": exits},
    }
    node_required: list[JsonValue] = []
    if required:
        node_required.append("settings")
    if activity.exits:
        node_required.append("exits")
    if node_required:
        out["required"] = node_required
    return out
