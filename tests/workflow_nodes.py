"""Workflow documents for tests: a node object, and a document that starts with them.

Shared by the harnesses of tests/domain, tests/engine, tests/channels and
tests/reporting (imported by its basename: pytest puts tests/ on the path).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from switchboard.domain.workflow import Workflow, parse_workflow


def node(
    node_id: str, activity: str, exits: dict[str, str] | None = None, **settings: Any
) -> dict[str, Any]:
    """A node object; settings as keyword arguments."""
    out: dict[str, Any] = {"id": node_id, "type": activity}
    if settings:
        out["settings"] = settings
    if exits:
        out["exits"] = exits
    return out


def started(
    nodes: Sequence[dict[str, Any]],
    *,
    workflow_id: str,
    name: str,
    modality: str = "audio",
    accept: bool = False,
) -> Workflow:
    """An inbound workflow of the root OU: start (→ accept with `accept`) → the first of
    `nodes`, then the rest of them."""
    first = nodes[0]["id"]
    head = [node("start", "start", {"next": "acc" if accept else first})]
    if accept:
        head.append(node("acc", "accept", {"next": first}))
    return parse_workflow(
        {
            "id": workflow_id,
            "ou_id": "root",
            "name": name,
            "modality": modality,
            "direction": "inbound",
            "nodes": [*head, *nodes],
        }
    )
