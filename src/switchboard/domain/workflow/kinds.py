"""Which kind of task a workflow is written for, and where it is in its life.

A workflow is written for one modality and one direction (04 §1); the pair
decides which activities it may use (04 §3 support matrix) and which service
slot may reference it (01 §4.4). `WorkflowKind` names that pair with exactly
the strings of the service's `workflows` keys, so the slot key and the
workflow's kind compare without a translation table.
"""

from __future__ import annotations

from enum import StrEnum

from switchboard.domain.enums import Direction, Modality

__all__ = ["DIRECTIONS", "WorkflowKind", "WorkflowStatus", "kind_of"]


class WorkflowKind(StrEnum):
    """Modality and direction of a workflow; the values are the service slot keys."""

    AUDIO_INBOUND = "audio_inbound"
    AUDIO_OUTBOUND = "audio_outbound"
    CHAT_INBOUND = "chat_inbound"
    EMAIL_INBOUND = "email_inbound"
    EXTERNAL_TASK_INBOUND = "external_task_inbound"

    @property
    def modality(self) -> Modality:
        return _PAIRS[self][0]

    @property
    def direction(self) -> Direction:
        return _PAIRS[self][1]

    @property
    def label(self) -> str:
        """How a person reads it in a message: "audio inbound", "external task inbound"."""
        return self.value.replace("_", " ")


class WorkflowStatus(StrEnum):
    """Drafts may hold errors; only published versions run or can be assigned (04 §2)."""

    DRAFT = "draft"
    PUBLISHED = "published"


_PAIRS: dict[WorkflowKind, tuple[Modality, Direction]] = {
    WorkflowKind.AUDIO_INBOUND: (Modality.AUDIO, Direction.INBOUND),
    WorkflowKind.AUDIO_OUTBOUND: (Modality.AUDIO, Direction.OUTBOUND),
    WorkflowKind.CHAT_INBOUND: (Modality.CHAT, Direction.INBOUND),
    WorkflowKind.EMAIL_INBOUND: (Modality.EMAIL, Direction.INBOUND),
    WorkflowKind.EXTERNAL_TASK_INBOUND: (Modality.EXTERNAL_TASK, Direction.INBOUND),
}
_KINDS = {pair: kind for kind, pair in _PAIRS.items()}

#: Directions a workflow document may declare. `none` (the direction of an
#: external task at runtime, 02 §1) is not one: external-task workflows are
#: written as inbound, matching the service slot `external_task_inbound`.
DIRECTIONS: tuple[Direction, ...] = (Direction.INBOUND, Direction.OUTBOUND)


def kind_of(modality: Modality, direction: Direction) -> WorkflowKind | None:
    """The kind for a modality and direction, or None where no workflow exists
    (outbound is audio only in this version, 04 §1)."""
    return _KINDS.get((modality, direction))
