"""Tests for `explain` ("why is this task not being offered?", spec 03 §10).

Each test builds a tiny engine on a virtual clock, puts one task into the
situation a verdict describes, checks the diagnosis, and where the situation
resolves by itself (timers), that the engine then does offer the task.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.enums import (
    AssignmentType,
    DistributionType,
    Presence,
    TaskState,
)
from switchboard.domain.errors import NotFound
from switchboard.domain.task import PreferredUser, Task
from switchboard.engine import selection
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.explain import ELIGIBILITY_MESSAGES, VERDICT_MESSAGES, Diagnosis, explain
from switchboard.engine.simulation import sequential_ids

START = 1_767_225_600.0
TB = "svc-teams"
SK = "svc-skills"
OTHER = "svc-other"
POLICY = "policy-sk"
SKILL = "skill-billing"
BREAK = "break"

#: The checks of 03 §10 that `explain` runs, in their fixed order.
CHECK_ORDER = [
    "task_live",
    "in_queue",
    "not_pickup",
    "no_offer_outstanding",
    "no_preferred_reservation",
    "has_members",
    "member_online",
    "member_selectable",
    "member_matches_level",
    "eligible_user_free",
]
USER_KEYS = {
    "user_id",
    "selectable",
    "reason",
    "reasons",
    "eligibility_reason",
    "eligibility_message",
    "message",
}


# ============================================================================ builders


def teams_service(
    service_id: str = TB,
    *,
    distribution_type: DistributionType = DistributionType.DIRECT_CONFERENCE,
    acw_s: int | None = None,
    preferred_wait_s: int = 0,
) -> cfg.Service:
    service = cfg.Service(
        id=service_id,
        name=service_id,
        upn=f"{service_id}@example.test",
        user_assignment_type=AssignmentType.TEAMS_BASED,
    )
    service.queue.distribution_type = distribution_type
    if acw_s is not None:
        service.distribution.acw_enabled = True
        service.distribution.acw_duration_s = acw_s
    service.distribution.preferred_wait_s = preferred_wait_s
    return service


def skill_setup(engine: Engine) -> None:
    """A skill-based service: level 1 wants an expert (≥ 4) for 30 s, level 2 anyone skilled."""
    category = cfg.SkillCategory(
        id="cat",
        name="Product",
        levelled=True,
        levels=tuple(cfg.SkillLevel(v, f"L{v}") for v in range(1, 6)),
    )
    engine.upsert("skill_category", category)
    engine.upsert("skill", cfg.Skill(id=SKILL, category_id=category.id, name="Billing"))
    policy = cfg.DistributionPolicy(
        id=POLICY,
        name="Billing",
        levels=(
            cfg.PolicyLevel(
                requirements=(cfg.Requirement(SKILL, min_level=4),), time_in_level_s=30
            ),
            cfg.PolicyLevel(requirements=(cfg.Requirement(SKILL, min_level=1),)),
        ),
    )
    engine.upsert("policy", policy)
    engine.upsert(
        "service",
        cfg.Service(
            id=SK,
            name="Skills",
            upn="skills@example.test",
            user_assignment_type=AssignmentType.SKILL_BASED,
            distribution_policy_id=POLICY,
        ),
    )


def new_engine(*services: cfg.Service) -> Engine:
    engine = Engine(
        cfg.Tenant(id="t-explain", name="Explain"), VirtualClock(START), ids=sequential_ids()
    )
    engine.upsert("not_available_reason", cfg.NotAvailableReason(id=BREAK, name="Break"))
    for service in services:
        engine.upsert("service", service)
    return engine


def add_user(
    engine: Engine,
    user_id: str,
    *service_ids: str,
    skill_level: int | None = None,
    presence: Presence | None = Presence.AVAILABLE,
) -> None:
    skills = {} if skill_level is None else {SKILL: cfg.UserSkill(SKILL, level=skill_level)}
    engine.upsert(
        "user",
        cfg.User(
            id=user_id,
            upn=f"{user_id}@example.test",
            display_name=user_id,
            memberships={s: cfg.Membership(s) for s in service_ids},
            skills=skills,
            # Validation allows an on-duty profile only with a skill-based membership.
            active_profile_id=(
                cfg.ON_DUTY_PROFILE_ID if SK in service_ids else cfg.OFF_DUTY_PROFILE_ID
            ),
            not_available_reason_ids=(BREAK,),
        ),
    )
    if presence is not None:
        engine.set_presence(user_id, presence)


def offered_to(task: Task) -> list[str]:
    return sorted(o.user_id for o in task.offers.values())


def advance(engine: Engine, seconds: float) -> None:
    clock = engine.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(seconds)
    engine.advance()


def diagnose(engine: Engine, task_id: str, verdict: str) -> Diagnosis:
    """explain(), with the checks every diagnosis must satisfy."""
    diagnosis = explain(engine, task_id)
    assert diagnosis.verdict == verdict, diagnosis.as_dict()
    assert diagnosis.task_id == task_id
    assert diagnosis.message == VERDICT_MESSAGES[verdict]
    names = [c.check for c in diagnosis.checks]
    # Checks run in the fixed order; every one passed except the last, which set the verdict.
    assert names == CHECK_ORDER[: len(names)]
    assert all(c.passed for c in diagnosis.checks[:-1])
    assert not diagnosis.checks[-1].passed
    json.dumps(diagnosis.as_dict())  # the API returns it as JSON
    assert engine.check_invariants() == []
    return diagnosis


def by_user(diagnosis: Diagnosis) -> dict[str, dict[str, Any]]:
    return {u["user_id"]: u for u in diagnosis.users}


# ============================================================================ verdicts


def test_terminated() -> None:
    engine = new_engine(teams_service())
    task = engine.create_task(service_id=TB)
    engine.customer_hang_up(task.id)
    d = diagnose(engine, task.id, "terminated")
    assert d.checks[0].check == "task_live"
    assert d.checks[0].detail == {"end_reason": "customer_hangup"}
    assert d.users == []
    assert d.counts == {"members": 0, "online": 0, "selectable": 0, "eligible_now": 0}


def test_not_in_queue_when_connected() -> None:
    engine = new_engine(teams_service())
    add_user(engine, "u1", TB)
    task = engine.create_task(service_id=TB)
    assert offered_to(task) == ["u1"]
    engine.accept("u1", task.id)
    assert task.state is TaskState.CONNECTED
    d = diagnose(engine, task.id, "not_in_queue")
    assert d.checks[-1].detail == {"state": "connected"}


def test_pickup_mode() -> None:
    engine = new_engine(teams_service(distribution_type=DistributionType.PICKUP))
    add_user(engine, "u1", TB)
    task = engine.create_task(service_id=TB)
    assert task.state is TaskState.QUEUED
    assert offered_to(task) == []
    d = diagnose(engine, task.id, "pickup_mode")
    assert d.checks[-1].detail == {"distribution_type": "pickup"}
    engine.pickup("u1", task.id)
    diagnose(engine, task.id, "not_in_queue")


def test_offer_outstanding_with_users_and_ring_time_left() -> None:
    engine = new_engine(teams_service())
    add_user(engine, "u1", TB)
    task = engine.create_task(service_id=TB)
    assert offered_to(task) == ["u1"]
    offered_at = engine.clock.now()
    advance(engine, 5)
    d = diagnose(engine, task.id, "offer_outstanding")
    detail = d.checks[-1].detail
    assert detail["users"] == ["u1"]
    assert detail["since"] == offered_at
    assert detail["ring_time_left_s"] == pytest.approx(20 - 5)
    engine.accept("u1", task.id)


def test_reserved_for_preferred_users_while_the_preferred_user_is_busy() -> None:
    engine = new_engine(teams_service(preferred_wait_s=30))
    add_user(engine, "u1", TB)
    add_user(engine, "u2", TB, presence=None)
    first = engine.create_task(service_id=TB)
    engine.accept("u1", first.id)  # u1 is now busy
    engine.set_presence("u2", Presence.AVAILABLE)
    task = engine.create_task(service_id=TB, preferred_users=[PreferredUser("u1")])
    assert offered_to(task) == []  # u2 is free but the task is held for u1
    d = diagnose(engine, task.id, "reserved_for_preferred_users")
    assert d.checks[-1].detail["until"] == pytest.approx(engine.clock.now() + 30)
    users = by_user(d)
    assert users["u1"]["selectable"] is False
    assert users["u1"]["reason"] == "in_task"
    assert users["u2"]["selectable"] is True
    assert users["u2"]["eligibility_reason"] == selection.RESERVED
    assert d.counts == {"members": 2, "online": 2, "selectable": 1, "eligible_now": 0}
    # The reservation ends after preferred_wait_s: then anyone may take it.
    advance(engine, 30)
    assert offered_to(task) == ["u2"]


def test_no_members() -> None:
    engine = new_engine(teams_service(), teams_service(OTHER))
    add_user(engine, "u1", OTHER)
    task = engine.create_task(service_id=TB)
    d = diagnose(engine, task.id, "no_members")
    assert d.users == []
    assert d.counts["members"] == 0


def test_no_member_online() -> None:
    engine = new_engine(teams_service())
    add_user(engine, "u1", TB, presence=None)  # never signed in: offline
    add_user(engine, "u2", TB, presence=Presence.OFFLINE)
    add_user(engine, "u3", TB)
    engine.set_active("u3", TB, False)  # signed in but switched inactive in the service
    task = engine.create_task(service_id=TB)
    d = diagnose(engine, task.id, "no_member_online")
    assert d.counts == {"members": 3, "online": 0, "selectable": 0, "eligible_now": 0}
    users = by_user(d)
    assert users["u1"]["reason"] == "presence_offline"
    assert users["u2"]["reason"] == "presence_offline"
    assert users["u3"]["reason"] == "inactive_in_service"
    engine.set_presence("u1", Presence.AVAILABLE)
    assert offered_to(task) == ["u1"]


def test_no_member_online_for_skill_based_off_duty_members() -> None:
    engine = new_engine()
    skill_setup(engine)
    add_user(engine, "u1", SK, skill_level=5)
    engine.set_profile("u1", cfg.OFF_DUTY_PROFILE_ID)
    task = engine.create_task(service_id=SK)
    d = diagnose(engine, task.id, "no_member_online")
    assert by_user(d)["u1"]["reason"] == "off_duty"


def test_no_member_selectable_lists_every_users_reasons() -> None:
    engine = new_engine(teams_service(acw_s=60))
    add_user(engine, "u1", TB)
    add_user(engine, "u2", TB, presence=None)
    first = engine.create_task(service_id=TB)
    engine.accept("u1", first.id)
    engine.hang_up("u1", first.id)  # u1 goes into 60 s of after-call work
    engine.set_presence("u2", Presence.AVAILABLE)
    engine.set_not_available("u2", BREAK)
    task = engine.create_task(service_id=TB)
    d = diagnose(engine, task.id, "no_member_selectable")
    assert d.counts == {"members": 2, "online": 2, "selectable": 0, "eligible_now": 0}
    users = by_user(d)
    assert users["u1"]["selectable"] is False
    assert users["u1"]["reason"] == "in_acw"
    assert "in_acw" in users["u1"]["reasons"]
    assert users["u1"]["message"]
    assert users["u1"]["eligibility_reason"] is None
    assert users["u2"]["selectable"] is False
    assert users["u2"]["reason"] == "not_available_reason"
    assert users["u2"]["reasons"] == ["not_available_reason"]
    # Both reasons at once are all listed, in spec order.
    engine.set_not_available("u1", BREAK)
    d = diagnose(engine, task.id, "no_member_selectable")
    assert by_user(d)["u1"]["reasons"] == ["not_available_reason", "in_acw"]
    # When after-call work ends, the task goes out.
    engine.set_not_available("u1", None)
    advance(engine, 60)
    assert offered_to(task) == ["u1"]


def test_no_member_eligible_at_level_with_next_escalation() -> None:
    engine = new_engine()
    skill_setup(engine)
    add_user(engine, "u1", SK, skill_level=2)  # qualifies for level 2 only
    add_user(engine, "u2", SK, skill_level=1)
    task = engine.create_task(service_id=SK)
    queued_at = engine.clock.now()
    assert task.policy_level == 1
    assert offered_to(task) == []
    d = diagnose(engine, task.id, "no_member_eligible_at_level")
    assert d.checks[-1].detail == {"policy_level": 1, "next_level_at": queued_at + 30}
    assert d.counts == {"members": 2, "online": 2, "selectable": 2, "eligible_now": 0}
    for entry in d.users:
        assert entry["selectable"] is True
        assert entry["eligibility_reason"] == selection.NOT_MATCHING_LEVEL
    # At the escalation time the task moves to level 2 and is offered.
    advance(engine, 30)
    assert task.policy_level == 2
    assert len(offered_to(task)) == 1
    diagnose(engine, task.id, "offer_outstanding")


def test_all_eligible_skipped_after_a_decline() -> None:
    engine = new_engine(teams_service())
    add_user(engine, "u1", TB)
    task = engine.create_task(service_id=TB)
    engine.decline("u1", task.id)
    assert task.state is TaskState.QUEUED
    d = diagnose(engine, task.id, "all_eligible_skipped")
    assert d.checks[-1].check == "eligible_user_free"
    assert d.counts == {"members": 1, "online": 1, "selectable": 1, "eligible_now": 0}
    assert by_user(d)["u1"]["eligibility_reason"] == selection.DECLINED_THIS_TASK
    advance(engine, 5)
    diagnose(engine, task.id, "all_eligible_skipped")  # still inside the 10 s window
    advance(engine, 5)
    assert offered_to(task) == ["u1"]


def test_all_eligible_skipped_after_rona() -> None:
    engine = new_engine(teams_service())
    add_user(engine, "u1", TB)
    task = engine.create_task(service_id=TB)
    advance(engine, 20)  # ring timeout
    assert offered_to(task) == []
    d = diagnose(engine, task.id, "all_eligible_skipped")
    assert by_user(d)["u1"]["eligibility_reason"] == selection.SKIPPED_AFTER_RONA


# ============================================================================ shape and errors


def test_as_dict_shape() -> None:
    engine = new_engine(teams_service(acw_s=60))
    add_user(engine, "u1", TB)
    add_user(engine, "u2", TB)
    engine.set_not_available("u2", BREAK)
    first = engine.create_task(service_id=TB)
    engine.accept("u1", first.id)
    task = engine.create_task(service_id=TB)
    data = explain(engine, task.id).as_dict()
    assert set(data) == {"task_id", "verdict", "message", "checks", "counts", "users", "workflow"}
    assert data["workflow"] is None  # the built-in workflow has no run to show
    assert data["task_id"] == task.id
    assert data["verdict"] == "no_member_selectable"
    assert isinstance(data["message"], str) and data["message"]
    assert data["checks"]
    for check in data["checks"]:
        assert set(check) == {"check", "passed", "detail"}
        assert isinstance(check["check"], str)
        assert isinstance(check["passed"], bool)
        assert isinstance(check["detail"], dict)
    assert set(data["counts"]) == {"members", "online", "selectable", "eligible_now"}
    assert all(isinstance(v, int) for v in data["counts"].values())
    assert [u["user_id"] for u in data["users"]] == ["u1", "u2"]
    for entry in data["users"]:
        assert set(entry) >= USER_KEYS
        assert isinstance(entry["reasons"], list)
        assert isinstance(entry["message"], str) and entry["message"]
    assert json.loads(json.dumps(data)) == data


def test_every_verdict_has_a_message() -> None:
    expected = {
        "terminated",
        "in_workflow",
        "not_in_queue",
        "pickup_mode",
        "offer_outstanding",
        "reserved_for_preferred_users",
        "no_members",
        "no_member_online",
        "no_member_selectable",
        "no_member_eligible_at_level",
        "all_eligible_skipped",
        "waiting_behind_earlier_tasks",
        "invariant_violation",
    }
    assert set(VERDICT_MESSAGES) == expected
    for verdict, message in VERDICT_MESSAGES.items():
        assert message.strip(), verdict
        d = Diagnosis("t", verdict, [], {}, [])
        assert d.message == message
    assert Diagnosis("t", None, [], {}, []).message


def test_every_eligibility_reason_has_a_sentence() -> None:
    reasons = {
        value
        for name, value in vars(selection).items()
        if name.isupper() and isinstance(value, str)
    }
    assert set(ELIGIBILITY_MESSAGES) == reasons
    assert all(message.endswith(".") for message in ELIGIBILITY_MESSAGES.values())


def test_unknown_task_raises_not_found() -> None:
    engine = new_engine(teams_service())
    with pytest.raises(NotFound) as caught:
        explain(engine, "no-such-task")
    assert caught.value.code == "task_not_found"
    assert "no-such-task" in caught.value.message


def test_preferred_non_member_entry_has_the_full_user_shape() -> None:
    engine = new_engine(teams_service(), teams_service(OTHER))
    add_user(engine, "u1", TB, presence=None)
    add_user(engine, "outsider", OTHER)
    task = engine.create_task(service_id=TB, preferred_users=[PreferredUser("outsider")])
    d = explain(engine, task.id)
    entry = by_user(d)["outsider"]
    assert entry["eligibility_reason"] == selection.PREFERRED_NOT_MEMBER
    assert set(entry) >= USER_KEYS, sorted(entry)
