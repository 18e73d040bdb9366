"""A workflow as typed data: the configuration entity, its document and nodes.

The JSON form (04 §1) is flat: the entity fields and `nodes` side by side.
In Python the graph is kept apart from the entity fields as a
`WorkflowDocument`, because the graph is what the validator and the
interpreter walk, while id, name, OU and version are what the configuration
store manages.

Node settings stay JSON values keyed by setting name, exactly as written. A
draft may be saved with errors (04 §2), so a node must be able to hold an
out-of-range timeout or a misspelt setting until the designer fixes it; typed
per-activity records could not. The activity catalogue says what each setting
means, and `effective_settings` fills in the defaults for an interpreter.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from switchboard.domain.enums import Direction, Modality
from switchboard.domain.workflow.kinds import WorkflowKind, WorkflowStatus, kind_of

__all__ = ["JsonValue", "Node", "Workflow", "WorkflowDocument"]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


@dataclass(frozen=True, slots=True)
class Node:
    """One activity in the graph; `exits` maps an exit name to the next node's id."""

    id: str
    type: str
    settings: Mapping[str, JsonValue] = field(default_factory=dict)
    exits: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        """The node as written: absent `name`, `settings` and `exits` stay absent."""
        out: dict[str, JsonValue] = {"id": self.id, "type": self.type}
        if self.name is not None:
            out["name"] = self.name
        if self.settings:
            # A deep copy: the caller may edit the JSON; the node must not change.
            out["settings"] = copy.deepcopy(dict(self.settings))
        if self.exits:
            out["exits"] = dict(self.exits)
        return out


@dataclass(frozen=True, slots=True)
class WorkflowDocument:
    """The graph: nodes in the order the designer wrote them."""

    nodes: tuple[Node, ...]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: str) -> Node | None:
        """The first node with this id (ids are unique in a valid document)."""
        return next((node for node in self.nodes if node.id == node_id), None)

    @property
    def starts(self) -> tuple[Node, ...]:
        return tuple(node for node in self.nodes if node.type == "start")


@dataclass(frozen=True, slots=True)
class Workflow:
    """A workflow configuration entity (04 §1).

    `version` counts publishes: a new workflow is drafted as version 1, and
    each new draft of a published workflow carries the next number (see
    `lifecycle`). A published version is never changed again.
    """

    id: str
    ou_id: str
    name: str
    modality: Modality
    direction: Direction
    document: WorkflowDocument
    version: int = 1
    status: WorkflowStatus = WorkflowStatus.DRAFT

    @property
    def kind(self) -> WorkflowKind | None:
        """The service slot this workflow fits, or None for an impossible pair."""
        return kind_of(self.modality, self.direction)

    def to_json(self) -> dict[str, JsonValue]:
        """The flat JSON document of 04 §1; `parse_workflow` reads it back."""
        return {
            "id": self.id,
            "ou_id": self.ou_id,
            "name": self.name,
            "modality": self.modality.value,
            "direction": self.direction.value,
            "version": self.version,
            "status": self.status.value,
            "nodes": [node.to_json() for node in self.document],
        }
