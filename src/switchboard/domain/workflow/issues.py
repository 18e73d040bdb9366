"""Problems found in a workflow document, in the shape 04 §2 publishes.

A workflow problem is an `Issue` of `switchboard.domain.validation` (code,
path, message), so `require_valid` and `ValidationFailed` work unchanged, with
two additions the spec asks for: a `severity` (an unreachable node is worth a
warning but must not stop publishing) and the `node_id` the problem is about,
so an editor can highlight the node without parsing the path.

Paths name nodes by id, `nodes[menu1].settings.timeout_s`, because ids are
what a designer sees and they survive reordering. A node whose id is missing,
malformed or already taken by an earlier node cannot be named that way; its
path uses the list position instead, `nodes[3]`, and its `node_id` is None.
Since a numeric string is a valid node id, `node_id` (not the bracket text)
tells the two forms apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from switchboard.domain.validation import Issue, ValidationFailed

__all__ = [
    "NODE_ID_RE",
    "NodeRef",
    "Severity",
    "WorkflowIssue",
    "errors",
    "node_refs",
    "require_no_errors",
]

#: Node ids (04 §1): 1 to 64 letters, digits, `_` and `-`.
NODE_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class WorkflowIssue(Issue):
    """One problem of a workflow; `node_id` is None for document-level problems."""

    node_id: str | None = None
    severity: Severity = Severity.ERROR

    def as_dict(self) -> dict[str, str]:
        shown: dict[str, str] = {
            "severity": self.severity.value,
            "code": self.code,
            "path": self.path,
            "message": self.message,
        }
        if self.node_id is not None:
            shown["node_id"] = self.node_id
        return shown


def errors(issues: Iterable[WorkflowIssue]) -> list[WorkflowIssue]:
    """The issues that block publishing; warnings are dropped."""
    return [issue for issue in issues if issue.severity is Severity.ERROR]


def require_no_errors(issues: Sequence[WorkflowIssue]) -> None:
    """Raise `ValidationFailed` listing every error (warnings alone pass)."""
    blocking = errors(issues)
    if blocking:
        raise ValidationFailed(blocking)


@dataclass(frozen=True, slots=True)
class NodeRef:
    """How issues name one node: its path, its id (if usable) and a label."""

    path: str
    node_id: str | None
    index: int

    def label(self, activity: object = None) -> str:
        """How messages name the node: "Node 'menu1' (input_customer)", or
        "Node at index 3 (accept)" when it has no usable id."""
        name = (
            f"Node {self.node_id!r}" if self.node_id is not None else f"Node at index {self.index}"
        )
        if isinstance(activity, str) and activity:
            return f"{name} ({activity})"
        return name


def node_refs(ids: Sequence[object]) -> list[NodeRef]:
    """Name each node by id when the id is well-formed, else by index.

    When an id repeats, its first node keeps the name (exits to that id lead
    there) and every later node with the same id is named by index: those
    are the duplicates to rename.
    """
    seen: set[str] = set()
    refs: list[NodeRef] = []
    for index, raw in enumerate(ids):
        if isinstance(raw, str) and NODE_ID_RE.fullmatch(raw) and raw not in seen:
            seen.add(raw)
            refs.append(NodeRef(f"nodes[{raw}]", raw, index))
        else:
            refs.append(NodeRef(f"nodes[{index}]", None, index))
    return refs
