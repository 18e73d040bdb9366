"""The task and user-session state machines (spec 02 §3.2 and §4) as data.

Each allowed edge is listed once with the kinds it applies to; anything else
is an `invalid_transition`. Keeping the edges as a table lets tests compare it
with the spec row by row and lets the engine explain a refusal precisely.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from switchboard.domain import blocking_matrix
from switchboard.domain.enums import SessionState, TaskKind, TaskState
from switchboard.domain.errors import InvalidTransition

K = TaskKind
S = TaskState
U = SessionState

ALL: Final = frozenset(TaskKind)
AUDIO: Final = frozenset(k for k in TaskKind if k.is_audio)
NON_AUDIO: Final = frozenset({K.CHAT_INBOUND, K.EMAIL_INBOUND, K.EXTERNAL_TASK})
#: Kinds that run a workflow (inbound kinds and outbound-with-workflow).
WITH_WORKFLOW: Final = frozenset(
    {
        K.AUDIO_INBOUND,
        K.CHAT_INBOUND,
        K.EMAIL_INBOUND,
        K.EXTERNAL_TASK,
        K.AUDIO_OUTBOUND_WITH_WORKFLOW,
    }
)
#: Kinds that start in a workflow straight after creation (T2).
WORKFLOW_FIRST: Final = WITH_WORKFLOW - {K.AUDIO_OUTBOUND_WITH_WORKFLOW}
#: Kinds that wait in a queue for a user.
QUEUED_KINDS: Final = WITH_WORKFLOW | {K.AUDIO_OUTBOUND_SCHEDULED}
DIAL_AFTER_ACCEPT: Final = frozenset({K.AUDIO_OUTBOUND_SCHEDULED, K.AUDIO_OUTBOUND_CALL_ON_BEHALF})
AUDIO_WITH_WORKFLOW: Final = frozenset({K.AUDIO_INBOUND, K.AUDIO_OUTBOUND_WITH_WORKFLOW})
INBOUND_AUDIO: Final = frozenset({K.AUDIO_INBOUND})

# (rule, from, to, kinds)
TASK_EDGES: Final[tuple[tuple[str, S, S, frozenset[TaskKind]], ...]] = (
    ("T2", S.CREATED, S.IN_WORKFLOW, WORKFLOW_FIRST),
    ("T4", S.CREATED, S.OFFERED, frozenset({K.AUDIO_OUTBOUND_CALL_ON_BEHALF})),
    ("T5", S.CREATED, S.QUEUED, frozenset({K.AUDIO_OUTBOUND_SCHEDULED})),
    ("T6", S.CREATED, S.DIALING_OUT, frozenset({K.AUDIO_OUTBOUND_WITH_WORKFLOW})),
    ("T7", S.IN_WORKFLOW, S.IN_WORKFLOW, WITH_WORKFLOW),
    ("T8", S.IN_WORKFLOW, S.QUEUED, WITH_WORKFLOW),
    ("T9", S.QUEUED, S.OFFERED, QUEUED_KINDS),
    ("T10", S.OFFERED, S.QUEUED, QUEUED_KINDS),
    ("T11", S.OFFERED, S.CONNECTED, ALL - DIAL_AFTER_ACCEPT),
    ("T11", S.QUEUED, S.CONNECTED, ALL - DIAL_AFTER_ACCEPT),
    ("T12", S.OFFERED, S.DIALING_OUT, DIAL_AFTER_ACCEPT),
    ("T12", S.QUEUED, S.DIALING_OUT, DIAL_AFTER_ACCEPT),
    ("T13", S.QUEUED, S.IN_WORKFLOW, WITH_WORKFLOW),
    ("T13", S.OFFERED, S.IN_WORKFLOW, WITH_WORKFLOW),
    ("T15", S.DIALING_OUT, S.CONNECTED, DIAL_AFTER_ACCEPT),
    ("T16", S.DIALING_OUT, S.IN_WORKFLOW, frozenset({K.AUDIO_OUTBOUND_WITH_WORKFLOW})),
    ("T18", S.CONNECTED, S.ON_HOLD, AUDIO),
    ("T18", S.ON_HOLD, S.CONNECTED, AUDIO),
    ("T19", S.CONNECTED, S.CONSULTING, INBOUND_AUDIO),
    ("T20", S.CONSULTING, S.CONNECTED, INBOUND_AUDIO),
    ("T21", S.CONNECTED, S.TRANSFERRING, INBOUND_AUDIO),
    ("T21", S.ON_HOLD, S.TRANSFERRING, INBOUND_AUDIO),
    ("T21", S.CONSULTING, S.TRANSFERRING, INBOUND_AUDIO),
    ("T22", S.TRANSFERRING, S.CONNECTED, INBOUND_AUDIO),
    ("T23", S.TRANSFERRING, S.IN_WORKFLOW, INBOUND_AUDIO),
    ("T24", S.TRANSFERRING, S.QUEUED, INBOUND_AUDIO),
    ("T26", S.CONNECTED, S.PARKED, ALL),
    ("T27", S.PARKED, S.UNPARKING, AUDIO),
    ("T28", S.UNPARKING, S.CONNECTED, AUDIO),
    ("T29", S.UNPARKING, S.PARKED, AUDIO),
    ("T30", S.PARKED, S.CONNECTED, NON_AUDIO),
    ("T31", S.CONNECTED, S.QUEUED, NON_AUDIO),
    ("T31", S.CONNECTED, S.OFFERED, NON_AUDIO),
    ("T32", S.CONNECTED, S.IN_WORKFLOW, AUDIO_WITH_WORKFLOW),
    ("T34", S.IN_WORKFLOW, S.OFFERED, WITH_WORKFLOW),
    ("T34", S.OFFERED, S.CONNECTED, WITH_WORKFLOW),
    ("T35", S.IN_WORKFLOW, S.CONNECTED, AUDIO_WITH_WORKFLOW),
    *(("T36", s, S.TERMINATED, ALL) for s in TaskState if s is not S.TERMINATED),
)

# Built in reverse so that, where two rules share an edge (T11/T34 offered → connected),
# the first one listed names it.
_TASK_INDEX: Final = MappingProxyType(
    {(frm, to, kind): rule for rule, frm, to, kinds in reversed(TASK_EDGES) for kind in kinds}
)


def task_rule(kind: TaskKind, frm: TaskState, to: TaskState) -> str:
    """Name of the spec rule that allows `frm → to` for `kind`, or raise."""
    rule = _TASK_INDEX.get((frm, to, kind))
    if rule is None:
        raise InvalidTransition(
            f"A {kind.value} task cannot move from '{frm.value}' to '{to.value}'.",
            kind=kind.value,
            from_state=frm.value,
            to_state=to.value,
        )
    return rule


# User-session edges (02 §4 U1–U9); the blocking matrix then rules out n/a cells per kind.
SESSION_EDGES: Final[dict[U, frozenset[U]]] = {
    U.INCOMING: frozenset({U.CONNECTED, U.DIALING_OUT, U.ENDED}),
    U.DIALING_OUT: frozenset({U.CONNECTED, U.ENDED, U.IN_ACW}),
    U.CONNECTED: frozenset({U.ON_HOLD, U.CONSULTING, U.TRANSFERRING, U.PARKED, U.ENDED, U.IN_ACW}),
    U.ON_HOLD: frozenset({U.CONNECTED, U.TRANSFERRING, U.ENDED, U.IN_ACW}),
    U.CONSULTING: frozenset({U.CONNECTED, U.TRANSFERRING, U.ENDED, U.IN_ACW}),
    U.TRANSFERRING: frozenset({U.CONNECTED, U.ENDED, U.IN_ACW}),
    U.PARKED: frozenset({U.UNPARKING, U.CONNECTED, U.ENDED}),
    U.UNPARKING: frozenset({U.CONNECTED, U.PARKED, U.ENDED}),
    U.IN_ACW: frozenset({U.ENDED}),
    U.ENDED: frozenset(),
}


def check_session_move(kind: TaskKind, frm: SessionState, to: SessionState) -> None:
    """Raise `InvalidTransition` unless a user session of `kind` may move `frm → to`."""
    if to not in SESSION_EDGES[frm] or not blocking_matrix.is_reachable(to, kind):
        raise InvalidTransition(
            f"A user session of a {kind.value} task cannot move from '{frm.value}' "
            f"to '{to.value}'.",
            kind=kind.value,
            from_state=frm.value,
            to_state=to.value,
        )
    if frm is U.PARKED and to is U.CONNECTED and kind.is_audio:
        raise InvalidTransition(
            "An audio session must be unparked through 'unparking' before it is connected again.",
            kind=kind.value,
            from_state=frm.value,
            to_state=to.value,
        )
