"""Task and user-session state machines (spec 02 §3.2 and §4)."""

from __future__ import annotations

import itertools
import re

import pytest

from switchboard.domain import blocking_matrix
from switchboard.domain.enums import SessionState, TaskKind, TaskState
from switchboard.domain.errors import InvalidTransition
from switchboard.domain.live import UserSession
from switchboard.domain.task import Task
from switchboard.domain.transitions import (
    SESSION_EDGES,
    TASK_EDGES,
    check_session_move,
    task_rule,
)

K = TaskKind
S = TaskState
U = SessionState

AUDIO_KINDS = [k for k in TaskKind if k.is_audio]
NON_AUDIO_KINDS = [k for k in TaskKind if not k.is_audio]

# Every kind allowed to move from one state to another, over all edges of the table.
ALLOWED: dict[tuple[TaskState, TaskState], frozenset[TaskKind]] = {}
RULES: dict[tuple[TaskState, TaskState, TaskKind], set[str]] = {}
for _rule, _frm, _to, _kinds in TASK_EDGES:
    ALLOWED[(_frm, _to)] = ALLOWED.get((_frm, _to), frozenset()) | _kinds
    for _kind in _kinds:
        RULES.setdefault((_frm, _to, _kind), set()).add(_rule)

EDGES = [
    pytest.param(rule, frm, to, kinds, id=f"{rule}:{frm.value}->{to.value}")
    for rule, frm, to, kinds in TASK_EDGES
]


def assert_invalid(exc: InvalidTransition, frm: str, to: str) -> None:
    """The refusal is machine-readable and names both states."""
    assert exc.code == "invalid_transition"
    assert f"'{frm}'" in exc.message
    assert f"'{to}'" in exc.message
    assert exc.detail["from_state"] == frm
    assert exc.detail["to_state"] == to
    assert exc.as_dict()["code"] == "invalid_transition"


# --- the edge table ---------------------------------------------------------------------


def test_edge_table_is_well_formed() -> None:
    for rule, frm, to, kinds in TASK_EDGES:
        assert re.fullmatch(r"T\d+", rule), rule
        assert kinds, f"{rule} applies to no kind"
        assert frm is not S.TERMINATED, f"{rule} leaves the final state"
        assert isinstance(to, TaskState)


@pytest.mark.parametrize(("rule", "frm", "to", "kinds"), EDGES)
def test_edge_is_allowed_for_its_kinds(
    rule: str, frm: TaskState, to: TaskState, kinds: frozenset[TaskKind]
) -> None:
    for kind in kinds:
        found = task_rule(kind, frm, to)
        # Where two rules share an edge (T11 and T34 both end offered → connected) the
        # reported rule may be either; it must still be one the table lists for it.
        assert found in RULES[(frm, to, kind)]
        if RULES[(frm, to, kind)] == {rule}:
            assert found == rule


@pytest.mark.parametrize(("rule", "frm", "to", "kinds"), EDGES)
def test_edge_is_refused_for_other_kinds(
    rule: str, frm: TaskState, to: TaskState, kinds: frozenset[TaskKind]
) -> None:
    others = set(TaskKind) - ALLOWED[(frm, to)]
    for kind in others:
        with pytest.raises(InvalidTransition) as info:
            task_rule(kind, frm, to)
        assert_invalid(info.value, frm.value, to.value)
        assert info.value.detail["kind"] == kind.value


def test_no_move_outside_the_table_is_allowed() -> None:
    """Exhaustive: a (kind, from, to) triple is allowed exactly when the table lists it."""
    wrong: list[str] = []
    for kind, frm, to in itertools.product(TaskKind, TaskState, TaskState):
        listed = kind in ALLOWED.get((frm, to), frozenset())
        try:
            task_rule(kind, frm, to)
            allowed = True
        except InvalidTransition:
            allowed = False
        if allowed != listed:
            wrong.append(f"{kind.value}: {frm.value} -> {to.value}")
    assert wrong == []


def test_accepting_a_distributed_offer_is_reported_as_t11() -> None:
    # T34 shares the offered → connected edge; the ordinary acceptance is still T11.
    for kind in (K.AUDIO_INBOUND, K.CHAT_INBOUND, K.EMAIL_INBOUND, K.EXTERNAL_TASK):
        assert task_rule(kind, S.OFFERED, S.CONNECTED) == "T11"
        assert task_rule(kind, S.QUEUED, S.CONNECTED) == "T11"


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
@pytest.mark.parametrize(
    "frm", [s for s in TaskState if s is not S.TERMINATED], ids=lambda s: s.value
)
def test_t36_any_live_state_may_terminate(kind: TaskKind, frm: TaskState) -> None:
    assert task_rule(kind, frm, S.TERMINATED) == "T36"


# --- clearly illegal moves ------------------------------------------------------------


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
@pytest.mark.parametrize("to", list(TaskState), ids=lambda s: s.value)
def test_terminated_is_final(kind: TaskKind, to: TaskState) -> None:
    with pytest.raises(InvalidTransition) as info:
        task_rule(kind, S.TERMINATED, to)
    assert_invalid(info.value, "terminated", to.value)


ILLEGAL = [
    pytest.param(K.AUDIO_INBOUND, S.CREATED, S.CONNECTED, id="created->connected audio_inbound"),
    pytest.param(K.CHAT_INBOUND, S.CONNECTED, S.ON_HOLD, id="hold for chat"),
    pytest.param(K.EMAIL_INBOUND, S.CONNECTED, S.ON_HOLD, id="hold for email"),
    pytest.param(K.EXTERNAL_TASK, S.CONNECTED, S.ON_HOLD, id="hold for external_task"),
    pytest.param(K.CHAT_INBOUND, S.CONNECTED, S.TRANSFERRING, id="transferring for chat"),
    pytest.param(K.EMAIL_INBOUND, S.PARKED, S.UNPARKING, id="unparking for email"),
    pytest.param(K.AUDIO_INBOUND, S.PARKED, S.CONNECTED, id="audio unpark skips unparking"),
    pytest.param(
        K.AUDIO_OUTBOUND_CALL_ON_BEHALF, S.CONNECTED, S.TRANSFERRING, id="transfer outbound audio"
    ),
    pytest.param(
        K.AUDIO_OUTBOUND_SCHEDULED, S.CONNECTED, S.CONSULTING, id="consult on outbound audio"
    ),
    pytest.param(K.AUDIO_OUTBOUND_SCHEDULED, S.OFFERED, S.CONNECTED, id="scheduled skips dialing"),
    pytest.param(K.AUDIO_OUTBOUND_CALL_ON_BEHALF, S.CREATED, S.IN_WORKFLOW, id="cob workflow"),
    pytest.param(K.AUDIO_INBOUND, S.CONNECTED, S.QUEUED, id="audio has no atomic transfer"),
    pytest.param(K.CHAT_INBOUND, S.CREATED, S.QUEUED, id="chat queued without workflow"),
]


@pytest.mark.parametrize(("kind", "frm", "to"), ILLEGAL)
def test_illegal_task_move(kind: TaskKind, frm: TaskState, to: TaskState) -> None:
    with pytest.raises(InvalidTransition) as info:
        task_rule(kind, frm, to)
    assert_invalid(info.value, frm.value, to.value)


# --- Task.move_to along whole lifecycles ---------------------------------------------

LIFECYCLES = [
    pytest.param(
        K.AUDIO_INBOUND,
        [
            (S.IN_WORKFLOW, "T2"),
            (S.IN_WORKFLOW, "T7"),
            (S.QUEUED, "T8"),
            (S.OFFERED, "T9"),
            (S.QUEUED, "T10"),
            (S.OFFERED, "T9"),
            (S.CONNECTED, "T11"),
            (S.ON_HOLD, "T18"),
            (S.CONNECTED, "T18"),
            (S.CONSULTING, "T19"),
            (S.CONNECTED, "T20"),
            (S.CONSULTING, "T19"),
            (S.TRANSFERRING, "T21"),
            (S.CONNECTED, "T22"),
            (S.PARKED, "T26"),
            (S.UNPARKING, "T27"),
            (S.PARKED, "T29"),
            (S.UNPARKING, "T27"),
            (S.CONNECTED, "T28"),
            (S.TRANSFERRING, "T21"),
            (S.QUEUED, "T24"),
            (S.IN_WORKFLOW, "T13"),
            (S.TERMINATED, "T36"),
        ],
        id="audio_inbound",
    ),
    pytest.param(
        K.AUDIO_OUTBOUND_CALL_ON_BEHALF,
        [(S.OFFERED, "T4"), (S.DIALING_OUT, "T12"), (S.CONNECTED, "T15"), (S.TERMINATED, "T36")],
        id="call_on_behalf",
    ),
    pytest.param(
        K.AUDIO_OUTBOUND_SCHEDULED,
        [
            (S.QUEUED, "T5"),
            (S.OFFERED, "T9"),
            (S.DIALING_OUT, "T12"),
            (S.CONNECTED, "T15"),
            (S.ON_HOLD, "T18"),
            (S.CONNECTED, "T18"),
            (S.TERMINATED, "T36"),
        ],
        id="scheduled",
    ),
    pytest.param(
        K.AUDIO_OUTBOUND_WITH_WORKFLOW,
        [
            (S.DIALING_OUT, "T6"),
            (S.IN_WORKFLOW, "T16"),
            (S.QUEUED, "T8"),
            (S.OFFERED, "T9"),
            (S.CONNECTED, "T11"),
            (S.IN_WORKFLOW, "T32"),
            (S.CONNECTED, "T35"),
            (S.TERMINATED, "T36"),
        ],
        id="with_workflow",
    ),
    pytest.param(
        K.CHAT_INBOUND,
        [
            (S.IN_WORKFLOW, "T2"),
            (S.QUEUED, "T8"),
            (S.OFFERED, "T9"),
            (S.CONNECTED, "T11"),
            (S.PARKED, "T26"),
            (S.CONNECTED, "T30"),
            (S.QUEUED, "T31"),
            (S.CONNECTED, "T11"),
            (S.OFFERED, "T31"),
            (S.CONNECTED, "T11"),
            (S.TERMINATED, "T36"),
        ],
        id="chat",
    ),
    pytest.param(
        K.EMAIL_INBOUND,
        [
            (S.IN_WORKFLOW, "T2"),
            (S.OFFERED, "T34"),
            (S.IN_WORKFLOW, "T13"),
            (S.QUEUED, "T8"),
            (S.CONNECTED, "T11"),
            (S.TERMINATED, "T36"),
        ],
        id="email",
    ),
    pytest.param(K.EXTERNAL_TASK, [(S.TERMINATED, "T36")], id="external_task_rejected"),
]


@pytest.mark.parametrize(("kind", "steps"), LIFECYCLES)
def test_task_move_to_returns_the_rule_name(
    kind: TaskKind, steps: list[tuple[TaskState, str]]
) -> None:
    task = Task(id="t1", kind=kind, service_id="svc", created_at=0.0)
    assert task.state is S.CREATED
    for state, rule in steps:
        assert task.move_to(state) == rule
        assert task.state is state
    assert not task.is_live


def test_task_move_to_refusal_leaves_the_state_unchanged() -> None:
    task = Task(id="t1", kind=K.CHAT_INBOUND, service_id="svc", created_at=0.0)
    task.move_to(S.IN_WORKFLOW)
    with pytest.raises(InvalidTransition) as info:
        task.move_to(S.ON_HOLD)
    assert_invalid(info.value, "in_workflow", "on_hold")
    assert task.state is S.IN_WORKFLOW


# --- user sessions ---------------------------------------------------------------------

SESSION_NA = [
    pytest.param(K.CHAT_INBOUND, U.CONNECTED, U.ON_HOLD, id="on_hold for chat"),
    pytest.param(K.EXTERNAL_TASK, U.CONNECTED, U.ON_HOLD, id="on_hold for external_task"),
    pytest.param(K.EMAIL_INBOUND, U.CONNECTED, U.IN_ACW, id="in_acw for email"),
    pytest.param(K.CHAT_INBOUND, U.CONNECTED, U.IN_ACW, id="in_acw for chat"),
    pytest.param(K.AUDIO_INBOUND, U.INCOMING, U.DIALING_OUT, id="dialing_out for audio_inbound"),
    pytest.param(
        K.AUDIO_OUTBOUND_WITH_WORKFLOW, U.INCOMING, U.DIALING_OUT, id="dialing_out for wfl"
    ),
    pytest.param(K.CHAT_INBOUND, U.CONNECTED, U.TRANSFERRING, id="transferring for chat"),
    pytest.param(
        K.AUDIO_OUTBOUND_SCHEDULED, U.CONNECTED, U.TRANSFERRING, id="transferring for scheduled"
    ),
    pytest.param(K.EMAIL_INBOUND, U.PARKED, U.UNPARKING, id="unparking for email"),
    pytest.param(K.CHAT_INBOUND, U.CONNECTED, U.CONSULTING, id="consulting for chat"),
]


@pytest.mark.parametrize(("kind", "frm", "to"), SESSION_NA)
def test_session_refuses_to_enter_na_cell(kind: TaskKind, frm: U, to: U) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_session_move(kind, frm, to)
    assert_invalid(info.value, frm.value, to.value)


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
def test_no_session_move_enters_any_na_cell(kind: TaskKind) -> None:
    for to in SessionState:
        if blocking_matrix.is_reachable(to, kind):
            continue
        for frm in SessionState:
            with pytest.raises(InvalidTransition):
                check_session_move(kind, frm, to)


@pytest.mark.parametrize("kind", AUDIO_KINDS, ids=lambda k: k.value)
def test_audio_session_cannot_skip_unparking(kind: TaskKind) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_session_move(kind, U.PARKED, U.CONNECTED)
    assert info.value.code == "invalid_transition"
    assert info.value.detail["from_state"] == "parked"
    assert info.value.detail["to_state"] == "connected"
    assert "'unparking'" in info.value.message
    check_session_move(kind, U.PARKED, U.UNPARKING)
    check_session_move(kind, U.UNPARKING, U.CONNECTED)
    check_session_move(kind, U.UNPARKING, U.PARKED)


@pytest.mark.parametrize("kind", NON_AUDIO_KINDS, ids=lambda k: k.value)
def test_non_audio_session_unparks_directly(kind: TaskKind) -> None:
    check_session_move(kind, U.PARKED, U.CONNECTED)


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
def test_ended_session_is_final(kind: TaskKind) -> None:
    assert SESSION_EDGES[U.ENDED] == frozenset()
    for to in SessionState:
        with pytest.raises(InvalidTransition):
            check_session_move(kind, U.ENDED, to)


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
def test_listed_session_edges_are_allowed_where_reachable(kind: TaskKind) -> None:
    for frm, targets in SESSION_EDGES.items():
        if not blocking_matrix.is_reachable(frm, kind):
            continue
        for to in targets:
            if not blocking_matrix.is_reachable(to, kind):
                continue
            if kind.is_audio and (frm, to) == (U.PARKED, U.CONNECTED):
                continue
            check_session_move(kind, frm, to)


def test_session_edges_follow_the_spec() -> None:
    # U2/U3 and U4: an offer is accepted (connected or dialing out) or ends.
    assert {U.CONNECTED, U.DIALING_OUT, U.ENDED} <= SESSION_EDGES[U.INCOMING]
    assert {U.CONNECTED, U.ENDED} <= SESSION_EDGES[U.DIALING_OUT]
    # U5/U6: hold, consult and transfer.
    assert {U.ON_HOLD, U.CONSULTING, U.TRANSFERRING} <= SESSION_EDGES[U.CONNECTED]
    assert U.CONNECTED in SESSION_EDGES[U.ON_HOLD]
    assert U.CONNECTED in SESSION_EDGES[U.CONSULTING]
    assert {U.CONNECTED, U.ENDED} <= SESSION_EDGES[U.TRANSFERRING]
    # U7: park and unpark.
    assert U.PARKED in SESSION_EDGES[U.CONNECTED]
    assert {U.UNPARKING, U.CONNECTED} <= SESSION_EDGES[U.PARKED]
    assert {U.CONNECTED, U.PARKED} <= SESSION_EDGES[U.UNPARKING]
    # U9: ACW only ends; A6: a parked session never goes into ACW.
    assert SESSION_EDGES[U.IN_ACW] == frozenset({U.ENDED})
    assert U.IN_ACW not in SESSION_EDGES[U.PARKED]
    assert U.IN_ACW not in SESSION_EDGES[U.INCOMING]


def _session(kind: TaskKind, state: U = U.INCOMING) -> UserSession:
    return UserSession(
        id="s1",
        task_id="t1",
        user_id="u1",
        service_id="svc",
        kind=kind,
        started_at=0.0,
        state=state,
    )


def test_user_session_move_to_checks_and_records_work() -> None:
    session = _session(K.AUDIO_INBOUND)
    assert not session.reached_work
    session.move_to(U.CONNECTED)
    assert session.reached_work
    session.move_to(U.PARKED)
    with pytest.raises(InvalidTransition):
        session.move_to(U.CONNECTED)
    assert session.state is U.PARKED
    session.move_to(U.UNPARKING)
    session.move_to(U.CONNECTED)
    session.move_to(U.IN_ACW)
    session.move_to(U.ENDED)
    assert session.state is U.ENDED


def test_user_session_dialing_out_counts_as_work() -> None:
    session = _session(K.AUDIO_OUTBOUND_CALL_ON_BEHALF)
    session.move_to(U.DIALING_OUT)
    assert session.reached_work


def test_user_session_refusal_leaves_the_state_unchanged() -> None:
    session = _session(K.CHAT_INBOUND, U.CONNECTED)
    with pytest.raises(InvalidTransition) as info:
        session.move_to(U.ON_HOLD)
    assert_invalid(info.value, "connected", "on_hold")
    assert session.state is U.CONNECTED


def test_declined_offer_never_reached_work() -> None:
    session = _session(K.CHAT_INBOUND)
    session.move_to(U.ENDED)
    assert not session.reached_work
