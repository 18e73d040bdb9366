"""Queue exits and offer withdrawal driven by users' availability (03 §6 X2, 02 §12)."""

from __future__ import annotations

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, DistributionType, Presence, TaskState
from switchboard.domain.task import Task
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event


def _engine(*, exit_when_no_users: bool) -> tuple[Engine, list[Event]]:
    engine = Engine(cfg.Tenant(id="t", name="T"), VirtualClock())
    service = cfg.Service(
        id="s",
        name="Support",
        upn="support@t.test",
        user_assignment_type=AssignmentType.TEAMS_BASED,
    )
    service.queue.distribution_type = DistributionType.DIRECT
    service.queue.exit_when_no_users = exit_when_no_users
    engine.upsert("service", service)
    for uid in ("u1", "u2"):
        engine.upsert(
            "user",
            cfg.User(
                id=uid,
                upn=f"{uid}@t.test",
                display_name=uid,
                memberships={"s": cfg.Membership("s")},
            ),
        )
    seen: list[Event] = []
    engine.subscribe(seen.extend)
    return engine, seen


def _state(task: Task) -> TaskState:
    """Read the state afresh (the engine changes it between two asserts)."""
    return task.state


def _names(events: list[Event], task_id: str) -> list[str]:
    return [e.name for e in events if e.data.get("task_id") == task_id]


def test_no_users_exit_at_enqueue_when_nobody_is_online() -> None:
    engine, seen = _engine(exit_when_no_users=True)
    task = engine.create_task(service_id="s")
    engine.commit()
    assert task.state is TaskState.TERMINATED
    exits = [e for e in seen if e.name == "task.queue_exited"]
    assert [e.data["reason"] for e in exits] == ["no_users"]
    assert _names(seen, task.id)[-2:] == ["task.queue_exited", "task.terminated"]


def test_without_the_flag_the_task_waits_for_someone_to_come_online() -> None:
    engine, _ = _engine(exit_when_no_users=False)
    task = engine.create_task(service_id="s")
    assert _state(task) is TaskState.QUEUED
    engine.set_presence("u1", Presence.AVAILABLE)
    assert _state(task) is TaskState.OFFERED


def test_no_users_exit_when_the_last_online_member_leaves() -> None:
    engine, seen = _engine(exit_when_no_users=True)
    engine.set_presence("u1", Presence.AVAILABLE)
    first = engine.create_task(service_id="s")
    engine.accept("u1", first.id)  # u1 busy: the next task waits, u1 is still online
    waiting = engine.create_task(service_id="s")
    assert _state(waiting) is TaskState.QUEUED
    engine.set_active("u1", "s", False)  # the only online member switches inactive
    engine.commit()
    assert _state(waiting) is TaskState.TERMINATED
    assert "task.queue_exited" in _names(seen, waiting.id)
    assert first.state is TaskState.CONNECTED  # work in progress is untouched
    assert engine.check_invariants() == []


def test_ringing_offer_is_withdrawn_when_the_user_goes_offline() -> None:
    engine, seen = _engine(exit_when_no_users=False)
    engine.set_presence("u1", Presence.AVAILABLE)
    task = engine.create_task(service_id="s")
    assert [o.user_id for o in task.offers.values()] == ["u1"]
    engine.set_presence("u2", Presence.AVAILABLE)
    engine.set_presence("u1", Presence.OFFLINE)
    engine.commit()
    withdrawn = [e for e in seen if e.name == "task.offer_withdrawn"]
    assert [(e.data["user_id"], e.data["reason"]) for e in withdrawn] == [
        ("u1", "user_unselectable")
    ]
    assert [o.user_id for o in task.offers.values()] == ["u2"]  # re-dispatched at once
    assert not [e for e in seen if e.name == "task.rona"]
    assert engine.check_invariants() == []


def test_ringing_offer_survives_a_change_that_does_not_make_the_user_unreachable() -> None:
    engine, seen = _engine(exit_when_no_users=False)
    engine.set_presence("u1", Presence.AVAILABLE)
    task = engine.create_task(service_id="s")
    engine.set_presence("u1", Presence.AWAY)  # away: not routable for new work, but it rings on
    engine.commit()
    assert [o.user_id for o in task.offers.values()] == ["u1"]
    assert not [e for e in seen if e.name == "task.offer_withdrawn"]
