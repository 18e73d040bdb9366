"""`Engine.refusal` says what a command would refuse, and codes/tags on a session (01 §9)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import pytest
from test_engine_commands import Harness, refused

from switchboard.domain import config as cfg
from switchboard.domain.enums import Modality, TaskKind
from switchboard.domain.errors import DomainError
from switchboard.domain.validation import ValidationFailed
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine

TASK_ACTIONS = ("accept", "decline", "hold", "resume", "park", "unpark", "hangup")
USER_ACTIONS = ("acw_end", "acw_extend", "rona_reset")


def _command(engine: Engine, action: str, user_id: str, task_id: str) -> Callable[[], None]:
    return {
        "accept": lambda: engine.accept(user_id, task_id),
        "decline": lambda: engine.decline(user_id, task_id),
        "hold": lambda: engine.hold(user_id, task_id),
        "resume": lambda: engine.resume(user_id, task_id),
        "park": lambda: engine.park(user_id, task_id),
        "unpark": lambda: engine.unpark(user_id, task_id),
        "hangup": lambda: engine.hang_up(user_id, task_id),
        "acw_end": lambda: engine.end_acw(user_id),
        "acw_extend": lambda: engine.extend_acw(user_id),
        "rona_reset": lambda: engine.reset_rona(user_id),
    }[action]


def _agrees(h: Harness, user_id: str, task_id: str) -> dict[str, str | None]:
    """For every action: the refusal's code, checked against running the command on a copy."""
    found: dict[str, str | None] = {}
    for action in TASK_ACTIONS + USER_ACTIONS:
        said = h.engine.refusal(action, user_id, task_id)
        trial = copy.deepcopy(h.engine)
        try:
            _command(trial, action, user_id, task_id)()
        except DomainError as error:
            assert said is not None, f"{action}: refusal said yes, the command refused"
            assert (said.code, said.message) == (error.code, error.message), action
        else:
            assert said is None, f"{action}: refusal said {said.code}, the command ran"
        found[action] = None if said is None else said.code
    return found


def test_refusal_is_what_the_command_would_say_in_every_state() -> None:
    h = Harness()
    h.service(acw_enabled=True, acw_allow_extension=True, persistent_rona=True, rona_timeout_s=10)
    h.user("u1", "s", parallel=True)
    task = h.task(task_id="t")
    ringing = _agrees(h, "u1", "t")
    assert ringing["accept"] is None and ringing["decline"] is None
    assert ringing["hold"] == "not_your_task"
    h.engine.accept("u1", "t")
    talking = _agrees(h, "u1", "t")
    assert talking["hold"] is None and talking["park"] is None and talking["hangup"] is None
    assert talking["resume"] == "invalid_state" and talking["accept"] == "no_offer"
    assert talking["acw_end"] == "not_in_acw" and talking["rona_reset"] == "no_rona"
    h.engine.hold("u1", "t")
    held = _agrees(h, "u1", "t")
    assert held["resume"] is None and held["hold"] == "invalid_state"
    h.engine.resume("u1", "t")
    h.engine.park("u1", "t")
    second = h.task(task_id="t2")
    assert h.ringing("u1") == second.id  # a parked task frees the user
    parked = _agrees(h, "u1", "t")
    assert parked["unpark"] == "another_task_active"
    h.engine.decline("u1", "t2")
    assert _agrees(h, "u1", "t")["unpark"] is None
    h.engine.unpark("u1", "t")
    h.engine.hang_up("u1", task.id)
    in_acw = _agrees(h, "u1", "t")
    assert in_acw["acw_end"] is None and in_acw["acw_extend"] is None
    assert in_acw["hangup"] == "task_gone"
    h.engine.extend_acw("u1")
    assert _agrees(h, "u1", "t")["acw_extend"] == "acw_already_extended"


def test_refusal_of_hold_for_a_chat_and_of_a_rona_reset() -> None:
    h = Harness()
    h.service(modalities=(Modality.AUDIO, Modality.CHAT), persistent_rona=True, rona_timeout_s=5)
    h.user("u1", "s")
    h.task(task_id="c", kind=TaskKind.CHAT_INBOUND)
    h.engine.accept("u1", "c")
    assert _agrees(h, "u1", "c")["hold"] == "not_supported"
    h.engine.hang_up("u1", "c")
    h.task(task_id="r")
    h.step(5)  # rings out: RONA, the flag persists
    assert h.engine.state.live["u1"].rona is not None
    assert _agrees(h, "u1", "r")["rona_reset"] is None


# ---------------------------------------------------------------------- codes and tags


def _coded_harness() -> Harness:
    h = Harness()
    for code_id, name, enabled in (
        ("solved", "Solved", True),
        ("callback", "Callback", True),
        ("old", "Old", False),
        ("elsewhere", "Elsewhere", True),
    ):
        h.engine.upsert(
            "code", cfg.Code(id=code_id, name=name, short_code=code_id, enabled=enabled)
        )
    h.engine.upsert("tag", cfg.Tag(id="vip", name="VIP"))
    h.engine.upsert("tag", cfg.Tag(id="angry", name="Angry"))
    service = h.service(acw_enabled=True, acw_duration_s=30)
    h.engine.upsert(
        "service", dataclasses.replace(service, codes=("solved", "callback", "old"), tags=("vip",))
    )
    h.user("u1", "s")
    h.user("u2", "s")
    h.engine.commit()
    return h


def test_codes_and_tags_are_set_while_handling_and_in_acw_and_survive_a_restart() -> None:
    h = _coded_harness()
    h.task(task_id="t")
    handler = h.offered("t")[0]
    h.engine.accept(handler, "t")
    h.engine.set_codes(handler, "t", primary_code_id="callback", tag_ids=["vip"])
    h.engine.hang_up(handler, "t")
    assert h.engine.state.live[handler].acw is not None
    h.engine.set_codes(
        handler, "t", primary_code_id="solved", secondary_code_ids=["callback"], tag_ids=["vip"]
    )
    mark = h.now_mark()
    h.engine.set_codes(  # the same again: nothing to record
        handler, "t", primary_code_id="solved", secondary_code_ids=["callback"], tag_ids=["vip"]
    )
    assert h.log("task.codes_set", since=mark) == []
    (session,) = h.engine.state.live[handler].sessions.values()
    assert (session.primary_code_id, session.secondary_code_ids, session.tag_ids) == (
        "solved",
        ("callback",),
        ("vip",),
    )
    events = h.log("task.codes_set", since=0)
    assert [e.data["primary_code_id"] for e in events] == ["callback", "solved"]
    assert events[-1].data["service_id"] == "s" and events[-1].data["user_id"] == handler

    restored = Engine.restore(
        h.engine.state.tenant, VirtualClock(start=h.clock.now()), list(h.events)
    )
    (again,) = restored.state.live[handler].sessions.values()
    assert (again.primary_code_id, again.secondary_code_ids, again.tag_ids) == (
        "solved",
        ("callback",),
        ("vip",),
    )

    h.step(30)  # ACW over: the session has ended, codes can no longer change
    error = refused(lambda: h.engine.set_codes(handler, "t", primary_code_id=None), h.engine)
    assert error.code == "no_session"


def test_every_wrong_code_or_tag_is_reported_at_once_and_nothing_changes() -> None:
    h = _coded_harness()
    h.task(task_id="t")
    handler = h.offered("t")[0]
    other = "u2" if handler == "u1" else "u1"
    h.engine.accept(handler, "t")
    error = refused(
        lambda: h.engine.set_codes(
            handler,
            "t",
            primary_code_id="nope",
            secondary_code_ids=["old", "elsewhere", "solved", "solved"],
            tag_ids=["angry", "vip", "vip"],
        ),
        h.engine,
    )
    assert isinstance(error, ValidationFailed)
    assert [(i.code, i.path) for i in error.issues] == [
        ("unknown_reference", "primary_code_id"),
        ("not_applicable", "secondary_code_ids[0]"),
        ("not_applicable", "secondary_code_ids[1]"),
        ("not_unique", "secondary_code_ids[3]"),
        ("not_applicable", "tag_ids[0]"),
        ("not_unique", "tag_ids[2]"),
    ]
    assert "does not offer the code 'Elsewhere'" in error.issues[2].message
    too_many = refused(
        lambda: h.engine.set_codes(
            handler, "t", primary_code_id=None, secondary_code_ids=["solved"] * 6
        ),
        h.engine,
    )
    assert isinstance(too_many, ValidationFailed)
    assert too_many.issues[0].code == "limit_exceeded"
    assert (
        refused(lambda: h.engine.set_codes(other, "t", primary_code_id="solved"), h.engine).code
        == "no_session"
    )
    assert (
        refused(
            lambda: h.engine.set_codes(handler, "missing", primary_code_id="solved"), h.engine
        ).code
        == "task_not_found"
    )


@pytest.mark.parametrize("action", ["hold", "acw_end"])
def test_refusal_needs_a_known_action_and_a_task_where_one_is_acted_on(action: str) -> None:
    h = Harness()
    h.service()
    h.user("u1", "s")
    with pytest.raises(ValueError):
        h.engine.refusal("dance", "u1", "t")
    if action == "hold":
        with pytest.raises(ValueError):
            h.engine.refusal(action, "u1")
    else:
        assert h.engine.refusal(action, "u1") is not None
