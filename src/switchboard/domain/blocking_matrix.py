"""The task-blocking matrix (spec 02 §5) as data: the only source of blocking decisions.

A user with any session in a *blocking* state is not selectable for any service.
`NA` marks a (state, kind) pair that cannot occur; the session state machine
refuses to enter it. Nothing else in the code base re-encodes these cells.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final

from switchboard.domain.enums import SessionState, TaskKind


class Cell(StrEnum):
    BLOCKING = "blocking"
    NON_BLOCKING = "non-blocking"
    NA = "n/a"


B, N, X = Cell.BLOCKING, Cell.NON_BLOCKING, Cell.NA

#: Column order of the published table.
KINDS: Final = (
    TaskKind.AUDIO_INBOUND,
    TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF,
    TaskKind.AUDIO_OUTBOUND_SCHEDULED,
    TaskKind.AUDIO_OUTBOUND_WITH_WORKFLOW,
    TaskKind.EXTERNAL_TASK,
    TaskKind.CHAT_INBOUND,
    TaskKind.EMAIL_INBOUND,
)

_ROWS: Final[dict[SessionState, tuple[Cell, ...]]] = {
    SessionState.INCOMING: (B, B, B, B, B, B, B),
    SessionState.DIALING_OUT: (X, B, B, X, X, X, X),
    SessionState.CONNECTED: (B, B, B, B, B, B, B),
    SessionState.TRANSFERRING: (B, X, X, X, X, X, X),
    SessionState.ON_HOLD: (B, B, B, B, X, X, X),
    SessionState.PARKED: (N, N, N, N, N, N, N),
    SessionState.UNPARKING: (B, B, B, B, X, X, X),
    SessionState.IN_ACW: (B, B, B, B, X, X, X),
}

#: The supplementary `consulting` row, kept beside the matrix rather than inside it.
CONSULTING_ROW: Final[tuple[Cell, ...]] = (B, B, B, B, X, X, X)

MATRIX: Final = MappingProxyType(
    {
        (state, kind): cell
        for state, row in _ROWS.items()
        for kind, cell in zip(KINDS, row, strict=True)
    }
)
_SUPPLEMENT: Final = MappingProxyType(
    {
        (SessionState.CONSULTING, kind): cell
        for kind, cell in zip(KINDS, CONSULTING_ROW, strict=True)
    }
)


def cell(state: SessionState, kind: TaskKind) -> Cell:
    """The cell for a live session state; `ended` has no row and never blocks."""
    if state is SessionState.ENDED:
        return N
    found = MATRIX.get((state, kind)) or _SUPPLEMENT.get((state, kind))
    if found is None:  # pragma: no cover - every live state has a row
        raise KeyError((state, kind))
    return found


def is_blocking(state: SessionState, kind: TaskKind) -> bool:
    return cell(state, kind) is B


def is_reachable(state: SessionState, kind: TaskKind) -> bool:
    return cell(state, kind) is not X
