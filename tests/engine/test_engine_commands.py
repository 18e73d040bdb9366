"""Example tests of the routing engine's commands (spec 03 §1–§7, 02 §6–§9).

Each test builds a small tenant on a `VirtualClock`, issues commands and checks the
committed events and the live state. Time is moved like the live runner does: every
timer fires at its own deadline (`Harness.step`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.availability import Reason
from switchboard.domain.enums import (
    AssignmentType,
    DistributionType,
    Match,
    Modality,
    Presence,
    Priority,
    SessionState,
    TaskKind,
    TaskState,
    UserOrdering,
)
from switchboard.domain.errors import DomainError
from switchboard.domain.task import PreferredUser, Task
from switchboard.engine import selection
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event

START = 1_767_225_600.0
SKILL_A, SKILL_B = "skill_a", "skill_b"
BREAK = "break"


# ============================================================================ harness


class Harness:
    """One engine on a virtual clock, with builders and a log of committed events."""

    def __init__(self, tenant: cfg.Tenant | None = None) -> None:
        self.clock = VirtualClock(start=START)
        counter = itertools.count()
        self.engine = Engine(
            tenant or cfg.Tenant(id="tenant", name="Tenant"),
            self.clock,
            ids=lambda: f"id{next(counter)}",
        )
        self.events: list[Event] = []
        self.engine.subscribe(self.events.extend)
        self.engine.upsert(
            "skill_category",
            cfg.SkillCategory(
                id="cat",
                name="Languages",
                levelled=True,
                levels=(
                    cfg.SkillLevel(1, "basic"),
                    cfg.SkillLevel(2, "good"),
                    cfg.SkillLevel(3, "expert"),
                ),
            ),
        )
        self.engine.upsert("skill", cfg.Skill(id=SKILL_A, category_id="cat", name="German"))
        self.engine.upsert("skill", cfg.Skill(id=SKILL_B, category_id="cat", name="French"))
        self.engine.upsert("not_available_reason", cfg.NotAvailableReason(id=BREAK, name="Break"))
        self.engine.upsert(
            "not_available_reason",
            cfg.NotAvailableReason(id="lunch", name="Lunch", enabled=False),
        )
        self.engine.commit()
        self.mark = len(self.events)

    # ------------------------------------------------------------ builders

    def service(
        self,
        service_id: str = "s",
        *,
        skill_based: bool = False,
        levels: Iterable[cfg.PolicyLevel] = (),
        modalities: Iterable[Modality] = (Modality.AUDIO,),
        distribution_type: DistributionType = DistributionType.DIRECT_CONFERENCE,
        rona_timeout_s: int = 20,
        max_queue_time_s: int | None = None,
        exit_when_no_users: bool = False,
        **distribution: Any,
    ) -> cfg.Service:
        policy_id: str | None = None
        if skill_based:
            policy_id = f"pol_{service_id}"
            self.engine.upsert(
                "policy",
                cfg.DistributionPolicy(
                    id=policy_id,
                    name=f"Policy {service_id}",
                    levels=tuple(levels)
                    or (cfg.PolicyLevel(requirements=(cfg.Requirement(SKILL_A),)),),
                ),
            )
        service = cfg.Service(
            id=service_id,
            name=f"Service {service_id}",
            upn=f"{service_id}@example.com",
            user_assignment_type=AssignmentType.SKILL_BASED
            if skill_based
            else AssignmentType.TEAMS_BASED,
            distribution_policy_id=policy_id,
            enabled_modalities=frozenset(modalities),
            distribution=cfg.DistributionSettings(**distribution),
            queue=cfg.QueueSettings(
                distribution_type=distribution_type,
                rona_timeout_s=rona_timeout_s,
                max_queue_time_s=max_queue_time_s,
                exit_when_no_users=exit_when_no_users,
            ),
        )
        self.engine.upsert("service", service)
        self.engine.commit()
        return service

    def user(
        self,
        user_id: str,
        *services: str,
        skills: dict[str, int] | None = None,
        parallel: bool = False,
        max_total: int = 2,
        per_modality: dict[Modality, int] | None = None,
        presence: Presence = Presence.AVAILABLE,
    ) -> cfg.User:
        state = self.engine.state
        skill_based = any(
            state.services[s].user_assignment_type is AssignmentType.SKILL_BASED for s in services
        )
        user = cfg.User(
            id=user_id,
            upn=f"{user_id}@example.com",
            display_name=user_id,
            memberships={s: cfg.Membership(s) for s in services},
            skills={k: cfg.UserSkill(k, level=v) for k, v in (skills or {}).items()},
            active_profile_id=cfg.ON_DUTY_PROFILE_ID if skill_based else cfg.OFF_DUTY_PROFILE_ID,
            not_available_reason_ids=(BREAK, "lunch"),
            parallelization=cfg.Parallelization(
                enabled=parallel, max_total=max_total, per_modality=per_modality or {}
            ),
        )
        self.engine.upsert("user", user)
        if presence is not Presence.OFFLINE:
            self.engine.set_presence(user_id, presence)
        self.engine.commit()
        return user

    def task(self, service_id: str = "s", **kwargs: Any) -> Task:
        task = self.engine.create_task(service_id=service_id, **kwargs)
        self.engine.commit()
        return task

    # ------------------------------------------------------------ time and events

    def step(self, seconds: float) -> None:
        """Advance virtual time, firing every timer at its own deadline."""
        run_clock(self.engine, self.clock, seconds)
        self.engine.commit()

    def log(self, *names: str, since: int | None = None) -> list[Event]:
        """Committed events (after the builders) with one of `names`, oldest first."""
        self.engine.commit()
        start = self.mark if since is None else since
        return [e for e in self.events[start:] if not names or e.name in names]

    def now_mark(self) -> int:
        self.engine.commit()
        return len(self.events)

    # ------------------------------------------------------------ queries

    def offered(self, task: Task | str) -> list[str]:
        task_id = task if isinstance(task, str) else task.id
        live = self.engine.state.tasks.get(task_id)
        return sorted(o.user_id for o in live.offers.values()) if live else []

    def ringing(self, user_id: str) -> str | None:
        ring = self.engine.state.live[user_id].ringing()
        return ring.task_id if ring else None

    def answer(self, user_id: str) -> str:
        """The user accepts the offer ringing for them; returns the task id."""
        task_id = self.ringing(user_id)
        assert task_id is not None, f"{user_id} has no offer"
        self.engine.accept(user_id, task_id)
        self.engine.commit()
        return task_id

    def handle(self, user_id: str) -> str:
        """Accept the ringing offer and hang up at once."""
        task_id = self.answer(user_id)
        self.engine.hang_up(user_id, task_id)
        self.engine.commit()
        return task_id

    def reason(self, user_id: str, service_id: str = "s") -> Reason | None:
        return self.engine.availability(user_id, service_id).reason

    def queue(self, service_id: str = "s") -> list[str]:
        return [t.id for t in self.engine.state.queues.get(service_id, ())]


def run_clock(engine: Engine, clock: VirtualClock, seconds: float) -> None:
    """Move virtual time like the live runner: fire each deadline at its own instant."""
    target = clock.now() + seconds
    while (due := engine.next_deadline()) is not None and due <= target:
        clock.set(max(due, clock.now()))
        engine.advance()
    clock.set(target)
    engine.advance()


def state_of(task: Task) -> TaskState:
    """The task's current state (a call, so that type checkers do not narrow it)."""
    return task.state


def refused(command: Callable[[], object], engine: Engine) -> DomainError:
    """Run a command that must be refused; check that nothing changed."""
    seq = engine.state.seq
    uncommitted = engine.uncommitted
    with pytest.raises(DomainError) as info:
        command()
    assert engine.state.seq == seq
    assert engine.uncommitted == uncommitted
    return info.value


def two_level_policy(time_in_level_s: int = 30) -> tuple[cfg.PolicyLevel, ...]:
    return (
        cfg.PolicyLevel(
            requirements=(cfg.Requirement(SKILL_A, min_level=3),),
            time_in_level_s=time_in_level_s,
        ),
        cfg.PolicyLevel(requirements=(cfg.Requirement(SKILL_A),)),
    )


# ============================================================================ §1 queue order


def test_queue_order_is_priority_then_virtual_enqueue_time_then_sequence() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s", presence=Presence.OFFLINE)
    h.task(task_id="a")
    h.step(5)
    h.task(task_id="b", priority=Priority.HIGH)
    h.task(task_id="c", virtual_enqueue_at=START - 60)  # explicit, earlier position (Q3)
    h.task(task_id="d")
    h.task(task_id="e", virtual_enqueue_at=h.clock.now())  # same time as d: sequence decides
    h.task(task_id="f", priority=Priority.LOW, virtual_enqueue_at=START - 3600)
    assert h.queue() == ["b", "c", "a", "d", "e", "f"]
    queued = {e.data["task_id"]: e.data for e in h.log("task.queued")}
    assert queued["c"]["virtual_enqueue_at"] == START - 60
    assert queued["d"]["virtual_enqueue_at"] == START + 5
    assert queued["d"]["enqueue_seq"] < queued["e"]["enqueue_seq"]

    # The user then receives them in exactly that order.
    h.engine.set_presence("u1", Presence.AVAILABLE)
    served = [h.handle("u1") for _ in range(6)]
    assert served == ["b", "c", "a", "d", "e", "f"]


def test_priority_change_reorders_at_once_and_keeps_the_virtual_enqueue_time() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s", presence=Presence.OFFLINE)
    a = h.task(task_id="a")
    h.step(1)
    b = h.task(task_id="b")
    vea = b.virtual_enqueue_at
    assert h.queue() == ["a", "b"]
    h.engine.set_priority("b", Priority.HIGHEST)
    assert h.queue() == ["b", "a"]
    assert b.virtual_enqueue_at == vea and a.virtual_enqueue_at == START
    h.engine.set_presence("u1", Presence.AVAILABLE)
    assert h.offered("b") == ["u1"]


def test_dispatch_uses_one_global_order_over_all_services_of_the_user() -> None:
    h = Harness()
    h.service("s1")
    h.service("s2")
    h.user("u1", "s1", "s2", presence=Presence.OFFLINE)
    h.task("s1", task_id="old_normal")
    h.step(1)
    h.task("s2", task_id="new_high", priority=Priority.HIGH)
    h.task("s2", task_id="new_normal")
    h.engine.set_presence("u1", Presence.AVAILABLE)
    assert [h.handle("u1") for _ in range(3)] == ["new_high", "old_normal", "new_normal"]


def test_a_task_nobody_may_take_does_not_block_later_tasks() -> None:
    h = Harness()
    h.service("sk", skill_based=True)
    h.service("tb")
    h.user("u1", "sk", "tb", skills={SKILL_B: 1}, presence=Presence.OFFLINE)
    h.task("sk", task_id="needs_skill_a", priority=Priority.HIGHEST)
    h.task("tb", task_id="later")
    h.engine.set_presence("u1", Presence.AVAILABLE)
    assert h.ringing("u1") == "later"
    assert h.engine.state.tasks["needs_skill_a"].state is TaskState.QUEUED


# ============================================================================ §3 ordering


def test_longest_idle_prefers_the_user_selectable_for_the_longest_time() -> None:
    h = Harness()
    h.service(user_ordering=UserOrdering.LONGEST_IDLE)
    for user_id in ("u1", "u2", "u3"):
        h.user(user_id, "s", presence=Presence.OFFLINE)
    for user_id in ("u3", "u1", "u2"):
        h.engine.set_presence(user_id, Presence.AVAILABLE)
        h.step(1)
    h.task(task_id="t1")
    assert h.offered("t1") == ["u3"]
    h.handle("u3")  # u3 becomes idle again now: it is the most recently idle
    served = []
    for i in range(2, 5):
        h.step(1)
        h.task(task_id=f"t{i}")
        served.append(h.handle(h.offered(f"t{i}")[0]))
    offered_to = [e.data["user_id"] for e in h.log("task.offered")]
    assert offered_to == ["u3", "u1", "u2", "u3"]
    assert served == ["t2", "t3", "t4"]


def test_longest_idle_ties_are_broken_by_user_id() -> None:
    h = Harness()
    h.service()
    h.user("b", "s", presence=Presence.AWAY)
    h.user("a", "s", presence=Presence.AWAY)
    # One configuration change makes both selectable at the same instant.
    h.service(available_when_away=True)
    h.task(task_id="t")
    assert h.offered("t") == ["a"]


def test_round_robin_starts_after_the_last_user_offered() -> None:
    h = Harness()
    h.service(user_ordering=UserOrdering.ROUND_ROBIN)
    for user_id in ("u3", "u1", "u2"):  # idle order must not matter
        h.user(user_id, "s")
        h.step(1)
    offered_to = []
    for i in range(5):
        task = h.task(task_id=f"t{i}")
        (user_id,) = h.offered(task)
        offered_to.append(user_id)
        h.handle(user_id)
    assert offered_to == ["u1", "u2", "u3", "u1", "u2"]
    # The cursor also skips users who are not free.
    h.engine.set_presence("u3", Presence.OFFLINE)
    task = h.task(task_id="t5")
    assert h.offered(task) == ["u1"]


def test_most_skilled_prefers_the_highest_level_sum_then_longest_idle() -> None:
    h = Harness()
    levels = (
        cfg.PolicyLevel(
            requirements=(cfg.Requirement(SKILL_A), cfg.Requirement(SKILL_B)), match=Match.ANY
        ),
    )
    h.service(skill_based=True, levels=levels, user_ordering=UserOrdering.MOST_SKILLED)
    h.user("u1", "s", skills={SKILL_A: 1, SKILL_B: 1})  # sum 2, longest idle
    h.step(1)
    h.user("u2", "s", skills={SKILL_A: 3, SKILL_B: 1})  # sum 4
    h.step(1)
    h.user("u3", "s", skills={SKILL_A: 2, SKILL_B: 2})  # sum 4, idle for less time
    h.step(1)
    h.user("u4", "s", skills={SKILL_B: 3})  # sum 3
    order = []
    for i in range(4):
        task = h.task(task_id=f"t{i}")
        (user_id,) = h.offered(task)
        order.append(user_id)
        h.answer(user_id)  # they stay busy, so the next task goes to the next best
    assert order == ["u2", "u3", "u4", "u1"]


def _random_run(seed: int, tasks: int = 12) -> list[str]:
    h = Harness()
    h.service(user_ordering=UserOrdering.RANDOM, random_seed=seed)
    for user_id in ("u1", "u2", "u3", "u4"):
        h.user(user_id, "s")
    offered_to = []
    for i in range(tasks):
        task = h.task(task_id=f"t{i}")
        (user_id,) = h.offered(task)
        offered_to.append(user_id)
        h.handle(user_id)
        h.step(1)
    return offered_to


def test_random_ordering_is_reproducible_from_its_seed() -> None:
    first = _random_run(7)
    assert first == _random_run(7)
    assert len(set(first)) > 1, "a uniform shuffle spreads the work"
    assert any(_random_run(seed) != first for seed in (8, 9, 10))


def test_random_ordering_is_replayed_from_the_journal() -> None:
    h = Harness()
    h.service(user_ordering=UserOrdering.RANDOM, random_seed=3)
    for user_id in ("u1", "u2", "u3"):
        h.user(user_id, "s")
    for i in range(3):
        h.task(task_id=f"t{i}")
    restored = Engine.restore(h.engine.state.tenant, VirtualClock(h.clock.now()), h.log(since=0))
    assert restored.uncommitted == 0
    for i in range(3):
        assert sorted(o.user_id for o in restored.state.tasks[f"t{i}"].offers.values()) == (
            h.offered(f"t{i}")
        )


# ============================================================================ §2.1 broadcast


def test_broadcast_rings_at_most_ten_users_in_candidate_order() -> None:
    h = Harness()
    h.service(distribution_type=DistributionType.BROADCAST)
    users = [f"u{i:02d}" for i in range(12)]
    for user_id in users:
        h.user(user_id, "s")
        h.step(1)
    task = h.task(task_id="t")
    assert h.offered(task) == users[:10]  # the ten longest idle
    assert len({o.generation for o in task.offers.values()}) == 1
    assert task.state is TaskState.OFFERED
    for user_id in users[:10]:
        assert h.reason(user_id) is Reason.RINGING
    for user_id in users[10:]:
        assert h.reason(user_id) is None


def test_broadcast_first_accept_wins_and_the_others_are_withdrawn() -> None:
    h = Harness()
    h.service(distribution_type=DistributionType.BROADCAST)
    for user_id in ("u1", "u2", "u3"):
        h.user(user_id, "s")
    task = h.task(task_id="t")
    assert h.offered(task) == ["u1", "u2", "u3"]
    mark = h.now_mark()
    h.engine.accept("u2", "t")
    batch = h.engine.commit()
    assert [e.name for e in batch[:3]] == [
        "task.connected",
        "task.offer_withdrawn",
        "task.offer_withdrawn",
    ]
    withdrawn = h.log("task.offer_withdrawn", since=mark)
    assert sorted(e.data["user_id"] for e in withdrawn) == ["u1", "u3"]
    assert {e.data["reason"] for e in withdrawn} == {"accepted_elsewhere"}
    assert task.connected_user_id == "u2" and not task.offers
    error = refused(lambda: h.engine.accept("u1", "t"), h.engine)
    assert error.code == "no_offer"
    assert h.reason("u1") is None and h.reason("u3") is None
    assert h.reason("u2") is Reason.IN_TASK


def test_broadcast_decline_leaves_the_batch_without_skip_and_no_refill() -> None:
    h = Harness()
    h.service(distribution_type=DistributionType.BROADCAST)
    for user_id in ("u1", "u2", "u3"):
        h.user(user_id, "s")
    task = h.task(task_id="t")
    mark = h.now_mark()
    h.engine.decline("u1", "t")
    assert h.offered(task) == ["u2", "u3"]  # not refilled with u1
    assert "u1" not in task.skip_until and "u1" not in task.skipped
    assert h.reason("u1") is None and h.ringing("u1") is None
    assert h.log("task.rona", "user.rona_set", since=mark) == []
    # Once every member declined, the task returns to the queue and a fresh batch forms,
    # which may contain the same users (B5).
    h.engine.decline("u2", "t")
    h.engine.decline("u3", "t")
    assert h.offered(task) == ["u1", "u2", "u3"]
    generations = [e.data["generation"] for e in h.log("task.offered")]
    assert generations == [1, 1, 1, 2, 2, 2]


def test_broadcast_ring_timeout_requeues_without_rona() -> None:
    h = Harness()
    h.service(distribution_type=DistributionType.BROADCAST, rona_timeout_s=10, persistent_rona=True)
    h.user("u1", "s")
    h.user("u2", "s")
    task = h.task(task_id="t")
    mark = h.now_mark()
    h.step(10)
    withdrawn = h.log("task.offer_withdrawn", since=mark)
    assert len(withdrawn) == 2
    assert {e.data["reason"] for e in withdrawn} == {"ring_timeout"}
    assert h.log("task.rona", "user.rona_set", since=mark) == []
    for user_id in ("u1", "u2"):
        assert h.engine.state.live[user_id].rona is None
    # Back in the queue, the task is offered afresh at once to the same users.
    assert h.offered(task) == ["u1", "u2"]
    assert {o.generation for o in task.offers.values()} == {2}


def test_broadcast_offers_are_not_preempted_by_higher_priority_work() -> None:
    h = Harness()
    h.service(distribution_type=DistributionType.BROADCAST)
    h.user("u1", "s")
    low = h.task(task_id="low", priority=Priority.LOWEST)
    high = h.task(task_id="high", priority=Priority.HIGHEST)
    assert h.offered(low) == ["u1"] and high.state is TaskState.QUEUED
    h.engine.decline("u1", "low")
    assert h.offered(high) == ["u1"]


# ============================================================================ §2.2 RONA


def test_direct_rona_offers_the_next_candidate_at_once() -> None:
    h = Harness()
    h.service(distribution_type=DistributionType.DIRECT)
    h.user("u1", "s")
    h.step(1)
    h.user("u2", "s")
    task = h.task(task_id="t")
    assert h.offered(task) == ["u1"]
    mark = h.now_mark()
    h.step(20)
    (rona,) = h.log("task.rona", since=mark)
    assert rona.data["user_id"] == "u1" and rona.data["persistent"] is False
    assert h.offered(task) == ["u2"]
    assert task.offers[next(iter(task.offers))].created_at == START + 21
    assert h.log("user.rona_set", since=mark) == []
    assert h.engine.state.live["u1"].rona is None
    assert task.virtual_enqueue_at == START + 1  # R1: position kept


def test_non_persistent_rona_skips_the_user_for_ten_seconds() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s")
    task = h.task(task_id="t")
    h.step(20)
    assert task.state is TaskState.QUEUED
    assert selection.eligibility(h.engine.state, task, "u1", h.clock.now()) == (
        selection.SKIPPED_AFTER_RONA
    )
    h.step(9.5)
    assert task.state is TaskState.QUEUED and h.reason("u1") is None
    h.step(0.5)
    assert h.offered(task) == ["u1"]
    assert h.engine.metrics.sweeper_recoveries == 0


def test_after_the_skip_window_the_missed_user_ranks_last() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s")
    h.user("u2", "s", presence=Presence.AWAY)
    task = h.task(task_id="t")
    assert h.offered(task) == ["u1"]
    h.step(20)  # RONA
    h.engine.set_presence("u1", Presence.AWAY)
    h.step(30)  # the skip window is long over
    assert task.state is TaskState.QUEUED
    # Both become selectable at the same instant; u1 would win the id tie-break.
    h.service(available_when_away=True)
    assert h.offered(task) == ["u2"]


def test_declined_direct_offer_is_handled_like_rona_without_a_flag() -> None:
    h = Harness()
    h.service(persistent_rona=True)
    h.user("u1", "s")
    h.step(1)
    h.user("u2", "s")
    task = h.task(task_id="t")
    mark = h.now_mark()
    h.engine.decline("u1", "t")
    (declined,) = h.log("task.declined", since=mark)
    assert declined.data["user_id"] == "u1"
    assert h.offered(task) == ["u2"]
    assert h.engine.state.live["u1"].rona is None
    assert selection.eligibility(h.engine.state, task, "u1", h.clock.now()) == (
        selection.DECLINED_THIS_TASK
    )


def _persistent_rona_setup() -> tuple[Harness, Task]:
    h = Harness()
    h.service("s", skill_based=True, persistent_rona=True, rona_reset_s=60)
    h.service("other")
    h.user("u1", "s", "other", skills={SKILL_A: 1})
    task = h.task("s", task_id="t")
    h.step(20)
    return h, task


def test_persistent_rona_flags_the_user_in_every_service() -> None:
    h, task = _persistent_rona_setup()
    (rona,) = h.log("task.rona")
    assert rona.data["persistent"] is True
    (flag,) = h.log("user.rona_set")
    assert flag.data["clears_at"] == START + 20 + 60
    assert "u1" not in task.skip_until  # a flag, not a skip list entry
    for service_id in ("s", "other"):
        assert h.reason("u1", service_id) is Reason.RONA
    other = h.task("other", task_id="elsewhere")
    assert other.state is TaskState.QUEUED and task.state is TaskState.QUEUED


@pytest.mark.parametrize(
    ("clear", "reason"),
    [
        ("elapsed", "elapsed"),
        ("user_reset", "user_reset"),
        ("supervisor_reset", "supervisor_reset"),
        ("offline", "presence_offline"),
        ("off_duty", "off_duty"),
    ],
)
def test_persistent_rona_flag_clears(clear: str, reason: str) -> None:
    h, task = _persistent_rona_setup()
    mark = h.now_mark()
    if clear == "elapsed":
        h.step(59.5)
        assert h.engine.state.live["u1"].rona is not None
        h.step(0.5)
    elif clear == "user_reset":
        h.engine.reset_rona("u1")
    elif clear == "supervisor_reset":
        h.engine.reset_rona("u1", by_supervisor=True)
    elif clear == "offline":
        h.engine.set_presence("u1", Presence.OFFLINE)
    else:
        h.engine.set_profile("u1", cfg.OFF_DUTY_PROFILE_ID)
    (cleared,) = h.log("user.rona_cleared", since=mark)
    assert cleared.data["clear_reason"] == reason
    assert h.engine.state.live["u1"].rona is None
    if clear in ("elapsed", "user_reset", "supervisor_reset"):
        assert h.offered(task) == ["u1"]  # work flows again at once
    error = refused(lambda: h.engine.reset_rona("u1"), h.engine)
    assert error.code == "no_rona"


# ============================================================================ ACW


def _connected(h: Harness, user_id: str = "u1", task_id: str = "t", **kwargs: Any) -> Task:
    task = h.task(task_id=task_id, **kwargs)
    assert h.offered(task) == [user_id]
    h.answer(user_id)
    assert task.state is TaskState.CONNECTED
    return task


@pytest.mark.parametrize("who", ["user", "customer"])
def test_acw_starts_when_connected_audio_ends(who: str) -> None:
    h = Harness()
    h.service(acw_enabled=True, acw_duration_s=30)
    h.user("u1", "s")
    _connected(h)
    h.step(5)
    if who == "user":
        h.engine.hang_up("u1", "t")
    else:
        h.engine.customer_hang_up("t")
    (started,) = h.log("user.acw_started")
    assert started.data["task_id"] == "t" and started.data["ends_at"] == START + 35
    assert h.reason("u1") is Reason.IN_ACW
    nxt = h.task(task_id="next")
    assert nxt.state is TaskState.QUEUED
    h.engine.set_presence("u1", Presence.OFFLINE)  # going offline does not end ACW (A8)
    h.engine.set_presence("u1", Presence.AVAILABLE)
    assert h.engine.state.live["u1"].acw is not None
    h.step(29.5)
    assert nxt.state is TaskState.QUEUED
    h.step(0.5)
    (ended,) = h.log("user.acw_ended")
    assert ended.data["end_reason"] == "elapsed" and ended.data["duration_s"] == 30
    assert h.offered(nxt) == ["u1"]


def test_acw_also_follows_a_call_that_ends_on_hold() -> None:
    h = Harness()
    h.service(acw_enabled=True)
    h.user("u1", "s")
    _connected(h)
    h.engine.hold("u1", "t")
    h.engine.customer_hang_up("t")
    assert len(h.log("user.acw_started")) == 1


def test_no_acw_when_disabled_or_for_chat() -> None:
    h = Harness()
    h.service("s", modalities=(Modality.AUDIO, Modality.CHAT), acw_enabled=False)
    h.service("acw", modalities=(Modality.AUDIO, Modality.CHAT), acw_enabled=True)
    h.user("u1", "s")
    h.user("u2", "acw")
    _connected(h)
    h.engine.hang_up("u1", "t")
    chat = h.task("acw", task_id="chat", kind=TaskKind.CHAT_INBOUND)
    assert h.offered(chat) == ["u2"]
    h.answer("u2")
    h.engine.hang_up("u2", "chat")
    assert h.log("user.acw_started") == []
    assert h.reason("u1") is None and h.reason("u2", "acw") is None


@pytest.mark.parametrize("who", ["user", "customer"])
def test_no_acw_after_a_parked_task_ends(who: str) -> None:
    h = Harness()
    h.service(acw_enabled=True)
    h.user("u1", "s")
    _connected(h)
    h.engine.park("u1", "t")
    if who == "user":
        h.engine.hang_up("u1", "t")
    else:
        h.engine.customer_hang_up("t")
    assert h.log("user.acw_started") == []
    assert h.engine.state.live["u1"].acw is None
    assert h.reason("u1") is None


def test_acw_early_end() -> None:
    h = Harness()
    h.service("s", acw_enabled=True, acw_allow_early_end=True)
    h.service("strict", acw_enabled=True, acw_allow_early_end=False)
    h.user("u1", "s")
    h.user("u2", "strict")
    _connected(h)
    h.engine.hang_up("u1", "t")
    h.step(3)
    h.engine.end_acw("u1")
    ended = h.log("user.acw_ended")
    assert [e.data["end_reason"] for e in ended] == ["early_end"]
    assert ended[0].data["duration_s"] == 3
    assert h.reason("u1") is None

    task = h.task("strict", task_id="t2")
    assert h.offered(task) == ["u2"]
    h.answer("u2")
    h.engine.hang_up("u2", "t2")
    error = refused(lambda: h.engine.end_acw("u2"), h.engine)
    assert error.code == "acw_early_end_not_allowed"
    h.engine.end_acw("u2", by_supervisor=True)  # a supervisor may always (A4)
    assert h.log("user.acw_ended")[-1].data["end_reason"] == "supervisor_end"
    error = refused(lambda: h.engine.end_acw("u2"), h.engine)
    assert error.code == "not_in_acw"


def test_acw_extension_replaces_the_remaining_time_once() -> None:
    h = Harness()
    h.service(
        "s", acw_enabled=True, acw_duration_s=30, acw_allow_extension=True, acw_max_extension_s=50
    )
    h.service("fixed", acw_enabled=True, acw_allow_extension=False)
    h.user("u1", "s")
    h.user("u2", "fixed")
    _connected(h)
    h.engine.hang_up("u1", "t")
    h.step(20)
    h.engine.extend_acw("u1")
    (extended,) = h.log("user.acw_extended")
    assert extended.data["ends_at"] == START + 20 + 50
    error = refused(lambda: h.engine.extend_acw("u1"), h.engine)
    assert error.code == "acw_already_extended"
    h.step(30)  # the original end passes without effect
    assert h.engine.state.live["u1"].acw is not None
    h.step(20)
    assert h.engine.state.live["u1"].acw is None
    assert h.log("user.acw_ended")[-1].data["duration_s"] == 70

    task = h.task("fixed", task_id="t2")
    h.answer("u2")
    h.engine.hang_up("u2", task.id)
    error = refused(lambda: h.engine.extend_acw("u2"), h.engine)
    assert error.code == "acw_extension_not_allowed"


# ============================================================================ §4 levels


def test_policy_level_escalation_widens_the_pool_after_time_in_level() -> None:
    h = Harness()
    h.service(skill_based=True, levels=two_level_policy(time_in_level_s=30))
    h.user("basic", "s", skills={SKILL_A: 1})
    task = h.task(task_id="t")
    assert task.state is TaskState.QUEUED and task.policy_level == 1
    assert selection.eligibility(h.engine.state, task, "basic", h.clock.now()) == (
        selection.NOT_MATCHING_LEVEL
    )
    h.step(29.5)
    assert task.state is TaskState.QUEUED
    h.step(0.5)
    (changed,) = h.log("task.policy_level_changed")
    assert changed.data["policy_level"] == 2 and changed.at == START + 30
    assert h.offered(task) == ["basic"]
    assert h.engine.metrics.sweeper_recoveries == 0


def test_level_one_users_are_served_first_and_pools_are_cumulative() -> None:
    h = Harness()
    h.service(skill_based=True, levels=two_level_policy(time_in_level_s=30))
    h.user("expert", "s", skills={SKILL_A: 3}, presence=Presence.OFFLINE)
    h.user("basic", "s", skills={SKILL_A: 1})
    task = h.task(task_id="t")
    h.step(30)
    assert task.policy_level == 2
    h.engine.decline("basic", "t")
    h.engine.set_presence("expert", Presence.AVAILABLE)  # level 1 users stay in the pool
    assert h.offered(task) == ["expert"]


def test_level_survives_a_requeue() -> None:
    h = Harness()
    h.service(skill_based=True, levels=two_level_policy(time_in_level_s=30))
    h.user("basic", "s", skills={SKILL_A: 1})
    task = h.task(task_id="t")
    h.step(30)
    assert h.offered(task) == ["basic"]
    h.engine.decline("basic", "t")
    assert task.state is TaskState.QUEUED and task.policy_level == 2


# ============================================================================ §5 preferred


def test_preferred_users_come_first_by_preferred_priority() -> None:
    h = Harness()
    h.service()
    for user_id in ("u1", "u2", "u3"):
        h.user(user_id, "s")
        h.step(1)
    prefs = [PreferredUser("u3", 5), PreferredUser("u2", None)]
    task = h.task(task_id="t", preferred_users=prefs)
    assert h.offered(task) == ["u2"]  # null priority before 1..99
    h.engine.decline("u2", "t")
    assert h.offered(task) == ["u3"]
    h.engine.decline("u3", "t")
    assert h.offered(task) == ["u1"]


def test_preferred_wait_reserves_the_task_for_preferred_users() -> None:
    h = Harness()
    h.service(preferred_wait_s=30)
    h.user("u1", "s")
    h.user("fav", "s", presence=Presence.OFFLINE)
    task = h.task(task_id="t", preferred_users=[PreferredUser("fav")])
    assert task.state is TaskState.QUEUED
    assert selection.eligibility(h.engine.state, task, "u1", h.clock.now()) == (selection.RESERVED)
    h.step(29.5)
    assert task.state is TaskState.QUEUED
    h.step(0.5)
    assert h.offered(task) == ["u1"]
    assert h.engine.metrics.sweeper_recoveries == 0


def test_preferred_user_receives_the_task_during_the_reservation() -> None:
    h = Harness()
    h.service(preferred_wait_s=30)
    h.user("u1", "s")
    h.user("fav", "s", presence=Presence.OFFLINE)
    task = h.task(task_id="t", preferred_users=[PreferredUser("fav")])
    h.step(10)
    h.engine.set_presence("fav", Presence.AVAILABLE)
    assert h.offered(task) == ["fav"]


def test_preferred_user_bypasses_the_level_filter() -> None:
    h = Harness()
    h.service(skill_based=True, levels=two_level_policy(time_in_level_s=300))
    h.user("basic", "s", skills={SKILL_A: 1})
    task = h.task(task_id="t", preferred_users=[PreferredUser("basic")])
    assert task.policy_level == 1 and h.offered(task) == ["basic"]


def test_setting_preferred_users_triggers_dispatch() -> None:
    h = Harness()
    h.service(preferred_wait_s=60)
    h.user("u1", "s")
    h.user("fav", "s", presence=Presence.OFFLINE)
    task = h.task(task_id="t", preferred_users=[PreferredUser("fav")])
    assert task.state is TaskState.QUEUED
    h.engine.set_preferred_users("t", [PreferredUser("u1")])
    assert h.offered(task) == ["u1"]


# ============================================================================ §7 caps


def test_service_concurrency_cap_rejects_at_creation() -> None:
    tenant = cfg.Tenant(
        id="tenant",
        name="Tenant",
        settings=cfg.TenantSettings(max_concurrent_tasks_per_service=cfg.ConcurrencyCaps(audio=2)),
    )
    h = Harness(tenant)
    h.service()
    h.task(task_id="a")
    h.task(task_id="b")
    rejected = h.task(task_id="c")
    assert rejected.state is TaskState.TERMINATED
    (terminated,) = h.log("task.terminated")
    assert terminated.data["task_id"] == "c"
    assert terminated.data["end_reason"] == "rejected"
    assert terminated.data["detail"] == "service_capacity_reached"
    assert [e.data["task_id"] for e in h.log("task.queued")] == ["a", "b"]
    h.engine.customer_hang_up("a")
    assert h.task(task_id="d").state is TaskState.QUEUED  # admission resumes


def test_task_of_a_modality_the_service_does_not_offer_is_rejected() -> None:
    h = Harness()
    h.service()
    task = h.task(task_id="chat", kind=TaskKind.CHAT_INBOUND)
    assert task.state is TaskState.TERMINATED
    (terminated,) = h.log("task.terminated")
    assert terminated.data["end_reason"] == "rejected"


# ============================================================================ I4 hang-up


@pytest.mark.parametrize("distribution_type", [DistributionType.DIRECT, DistributionType.BROADCAST])
def test_customer_hang_up_withdraws_offers_and_a_late_accept_is_task_gone(
    distribution_type: DistributionType,
) -> None:
    h = Harness()
    h.service(distribution_type=distribution_type, acw_enabled=True)
    h.user("u1", "s")
    h.user("u2", "s")
    task = h.task(task_id="t")
    ringing = h.offered(task)
    assert ringing
    mark = h.now_mark()
    h.engine.customer_hang_up("t")
    batch = h.engine.commit()
    names = [e.name for e in batch]
    assert names.index("task.terminated") > max(
        i for i, n in enumerate(names) if n == "task.offer_withdrawn"
    )
    withdrawn = h.log("task.offer_withdrawn", since=mark)
    assert sorted(e.data["user_id"] for e in withdrawn) == ringing
    assert {e.data["reason"] for e in withdrawn} == {"customer_left"}
    for user_id in ringing:
        error = refused(functools.partial(h.engine.accept, user_id, "t"), h.engine)
        assert error.code == "task_gone"
        assert h.reason(user_id) is None
    assert h.log("user.acw_started") == []
    error = refused(lambda: h.engine.customer_hang_up("t"), h.engine)
    assert error.code == "task_gone"
    assert len(h.log("task.terminated")) == 1


def test_no_offer_is_made_for_a_terminated_task() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s", presence=Presence.OFFLINE)
    h.task(task_id="t")
    h.engine.customer_hang_up("t")
    h.engine.set_presence("u1", Presence.AVAILABLE)
    h.step(60)
    assert h.log("task.offered") == []


# ============================================================================ §8 parallel


def test_only_parked_tasks_run_in_parallel() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s", parallel=True, max_total=2)
    a = _connected(h, task_id="a")
    b = h.task(task_id="b")
    assert b.state is TaskState.QUEUED and h.reason("u1") is Reason.IN_TASK
    h.engine.hold("u1", "a")  # P4: hold does not free the user
    assert b.state is TaskState.QUEUED
    h.engine.resume("u1", "a")
    h.engine.park("u1", "a")
    assert h.offered(b) == ["u1"]
    error = refused(lambda: h.engine.unpark("u1", "a"), h.engine)  # ringing blocks
    assert error.code == "another_task_active"
    h.answer("u1")
    assert state_of(a) is TaskState.PARKED and state_of(b) is TaskState.CONNECTED
    error = refused(lambda: h.engine.unpark("u1", "a"), h.engine)
    assert error.code == "another_task_active"
    # Two live sessions fill max_total = 2 even when both are parked.
    h.engine.park("u1", "b")
    assert h.reason("u1") is Reason.CAPACITY_FULL
    c = h.task(task_id="c")
    assert c.state is TaskState.QUEUED
    h.engine.unpark("u1", "b")
    h.engine.hang_up("u1", "b")
    assert h.offered(c) == ["u1"]  # a parked task leaves room for one more
    h.engine.decline("u1", "c")
    h.engine.unpark("u1", "a")
    assert a.state is TaskState.CONNECTED


def test_without_parallelization_a_parked_task_fills_the_user() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s", parallel=False)
    _connected(h, task_id="a")
    h.engine.park("u1", "a")
    assert h.reason("u1") is Reason.CAPACITY_FULL
    assert h.task(task_id="b").state is TaskState.QUEUED


def test_per_modality_limit_leaves_room_for_other_modalities() -> None:
    h = Harness()
    h.service(modalities=(Modality.AUDIO, Modality.CHAT))
    h.user("u1", "s", parallel=True, max_total=2, per_modality={Modality.AUDIO: 1})
    _connected(h, task_id="a")
    h.engine.park("u1", "a")
    audio = h.task(task_id="audio")
    chat = h.task(task_id="chat", kind=TaskKind.CHAT_INBOUND)
    assert audio.state is TaskState.QUEUED
    assert h.offered(chat) == ["u1"]


def test_unpark_of_a_chat_reconnects_directly() -> None:
    h = Harness()
    h.service(modalities=(Modality.CHAT,))
    h.user("u1", "s", parallel=True)
    task = h.task(task_id="c", kind=TaskKind.CHAT_INBOUND)
    h.answer("u1")
    h.engine.park("u1", "c")
    h.engine.unpark("u1", "c")
    assert task.state is TaskState.CONNECTED
    session = h.engine.state.connected_session(task)
    assert session is not None and session.state is SessionState.CONNECTED


# ============================================================================ pickup


def test_pickup_makes_no_offers_and_is_claimed_atomically() -> None:
    h = Harness()
    h.service(distribution_type=DistributionType.PICKUP)
    h.user("u1", "s")
    h.user("u2", "s")
    h.user("away", "s", presence=Presence.OFFLINE)
    task = h.task(task_id="t")
    h.step(120)  # no offers, so no RONA either
    assert task.state is TaskState.QUEUED
    assert h.log("task.offered", "task.rona") == []
    assert h.engine.check_invariants() == []
    error = refused(lambda: h.engine.pickup("away", "t"), h.engine)
    assert error.code == "task_unavailable"
    assert error.detail["reason"] == "presence_offline"
    h.engine.pickup("u1", "t")
    assert state_of(task) is TaskState.CONNECTED and task.connected_user_id == "u1"
    error = refused(lambda: h.engine.pickup("u2", "t"), h.engine)
    assert error.code == "task_unavailable"


def test_pickup_respects_capacity_and_distribution_type() -> None:
    h = Harness()
    h.service("p", distribution_type=DistributionType.PICKUP)
    h.service("d")
    h.user("u1", "p", "d")
    h.task("p", task_id="first")
    h.task("p", task_id="second")
    h.engine.pickup("u1", "first")
    error = refused(lambda: h.engine.pickup("u1", "second"), h.engine)
    assert error.code == "task_unavailable"
    assert error.detail["reason"] == "in_task"
    h.engine.set_presence("u1", Presence.OFFLINE)
    direct = h.task("d", task_id="direct")
    error = refused(lambda: h.engine.pickup("u1", "direct"), h.engine)
    assert error.code == "task_unavailable" and direct.state is TaskState.QUEUED


# ============================================================================ §6 exits


def test_max_queue_time_ends_the_task_through_the_timeout_exit() -> None:
    h = Harness()
    h.service(max_queue_time_s=60)
    h.user("u1", "s", presence=Presence.OFFLINE)
    task = h.task(task_id="t")
    h.step(50)
    h.engine.set_presence("u1", Presence.AVAILABLE)  # an offer is ringing at expiry
    assert h.offered(task) == ["u1"]
    mark = h.now_mark()
    h.step(9.5)
    assert task.state is TaskState.OFFERED
    h.step(0.5)
    names = [e.name for e in h.log(since=mark) if e.name.startswith("task.")]
    assert names == ["task.offer_withdrawn", "task.queue_exited", "task.terminated"]
    withdrawn, exited, terminated = (e for e in h.log(since=mark) if e.name.startswith("task."))
    assert withdrawn.data["reason"] == "left_queue"
    assert exited.data["reason"] == "timeout"
    assert terminated.data["end_reason"] == "workflow_disconnect"
    assert terminated.at == START + 60
    assert h.reason("u1") is None


def _no_users_setup(*, away: bool = False) -> tuple[Harness, Task]:
    """A task waits with the no_users exit while its only member is online but not free."""
    h = Harness()
    h.service("s", exit_when_no_users=True)
    h.service("other")
    if away:
        h.user("u1", "s", "other", presence=Presence.AWAY)  # away still counts as online
    else:
        h.user("u1", "s", "other")
        h.task("other", task_id="busy")
        h.answer("u1")  # online, but busy elsewhere
    task = h.task("s", task_id="t")
    assert task.state is TaskState.QUEUED
    return h, task


def test_exit_when_no_users_at_enqueue() -> None:
    h = Harness()
    h.service(exit_when_no_users=True)
    h.user("u1", "s", presence=Presence.OFFLINE)
    task = h.task(task_id="t")
    assert task.state is TaskState.TERMINATED
    (exited,) = h.log("task.queue_exited")
    assert exited.data["reason"] == "no_users"


def test_exit_when_the_last_member_goes_offline() -> None:
    h, task = _no_users_setup()
    h.engine.set_presence("u1", Presence.OFFLINE)
    assert task.state is TaskState.TERMINATED
    assert [e.data["reason"] for e in h.log("task.queue_exited")] == ["no_users"]


def test_ringing_offer_is_withdrawn_when_its_user_goes_offline() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s")
    h.step(1)
    h.user("u2", "s")
    task = h.task(task_id="t")
    assert h.offered(task) == ["u1"]
    mark = h.now_mark()
    h.engine.set_presence("u1", Presence.OFFLINE)
    (withdrawn,) = h.log("task.offer_withdrawn", since=mark)
    assert withdrawn.data["reason"] == "user_unselectable"
    assert h.offered(task) == ["u2"]
    assert h.log("task.rona", since=mark) == []


# ============================================================================ presence lag


def test_busy_presence_explained_by_our_own_call_is_ignored_for_fifteen_seconds() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s")
    _connected(h)
    h.engine.set_presence("u1", Presence.BUSY_IN_CALL)  # the directory reports our call
    assert h.reason("u1") is Reason.IN_TASK
    h.step(3)
    h.engine.hang_up("u1", "t")
    assert h.reason("u1") is None  # still explained by the call that just ended (02 §6.1)
    h.step(14.5)
    assert h.reason("u1") is None
    h.step(0.5)
    assert h.reason("u1") is Reason.PRESENCE_BUSY_IN_CALL
    assert h.engine.state.selection[("u1", "s")].reason is Reason.PRESENCE_BUSY_IN_CALL
    assert h.task(task_id="t2").state is TaskState.QUEUED


# ============================================================================ I8 replay


def test_restored_engine_continues_exactly_like_the_live_one() -> None:
    h = Harness()
    h.service(
        "s",
        skill_based=True,
        levels=two_level_policy(time_in_level_s=20),
        acw_enabled=True,
        acw_duration_s=30,
        persistent_rona=True,
        rona_reset_s=40,
        preferred_wait_s=25,
    )
    h.service("b", distribution_type=DistributionType.BROADCAST)
    h.user("expert", "s", "b", skills={SKILL_A: 3})
    h.user("basic", "s", "b", skills={SKILL_A: 1})
    h.user("fav", "s", skills={SKILL_A: 2}, presence=Presence.OFFLINE)
    h.user("idle", "b", presence=Presence.OFFLINE)
    h.task("s", task_id="handled")
    h.answer("expert")
    h.engine.hang_up("expert", "handled")  # expert in ACW
    h.task("s", task_id="levelled")  # waits for level 2
    h.task("s", task_id="reserved", preferred_users=[PreferredUser("fav")])
    h.task("b", task_id="broadcast")  # rings basic
    h.step(7)

    counter = itertools.count(1000)
    h.engine.ids = lambda: f"x{next(counter)}"
    restored_clock = VirtualClock(h.clock.now())
    replay_counter = itertools.count(1000)
    restored = Engine.restore(
        h.engine.state.tenant,
        restored_clock,
        h.log(since=0),
        ids=lambda: f"x{next(replay_counter)}",
    )
    assert restored.uncommitted == 0

    def view(engine: Engine) -> Any:
        st = engine.state
        return (
            {
                t.id: (t.state, t.policy_level, sorted(o.user_id for o in t.offers.values()))
                for t in st.tasks.values()
            },
            {
                u: (live.acw is not None, live.rona is not None, sorted(live.sessions))
                for u, live in st.live.items()
            },
            sorted((k, v.selectable, v.reason) for k, v in st.selection.items()),
        )

    assert view(restored) == view(h.engine)
    for seconds in (5, 10, 10, 20, 30, 60):
        h.step(seconds)
        run_clock(restored, restored_clock, seconds)
        assert view(restored) == view(h.engine), f"diverged after {h.clock.now() - START} s"
    assert restored.metrics.sweeper_recoveries == h.engine.metrics.sweeper_recoveries == 0


# ============================================================================ refusals


def _refusal_cases() -> list[tuple[str, Callable[[Harness], object], str]]:
    return [
        ("unknown task", lambda h: h.engine.accept("u1", "nope"), "task_not_found"),
        ("unknown user", lambda h: h.engine.accept("ghost", "t"), "user_not_found"),
        ("accept without offer", lambda h: h.engine.accept("u3", "t"), "no_offer"),
        ("decline without offer", lambda h: h.engine.decline("u3", "t"), "no_offer"),
        ("hold a queued task", lambda h: h.engine.hold("u1", "t"), "not_your_task"),
        ("park by a stranger", lambda h: h.engine.park("u2", "t"), "not_your_task"),
        ("reset without flag", lambda h: h.engine.reset_rona("u1"), "no_rona"),
        ("end ACW outside ACW", lambda h: h.engine.end_acw("u1"), "not_in_acw"),
        ("extend ACW outside ACW", lambda h: h.engine.extend_acw("u1"), "not_in_acw"),
        (
            "active on skill service",
            lambda h: h.engine.set_active("u1", "sk", True),
            "not_applicable",
        ),
        (
            "active without membership",
            lambda h: h.engine.set_active("u2", "sk", True),
            "not_member",
        ),
        (
            "unassigned reason",
            lambda h: h.engine.set_not_available("u1", "nope"),
            "unknown_reference",
        ),
        ("disabled reason", lambda h: h.engine.set_not_available("u1", "lunch"), "not_applicable"),
        ("unknown profile", lambda h: h.engine.set_profile("u1", "nope"), "profile_not_found"),
        ("unknown service", lambda h: h.engine.create_task(service_id="nope"), "service_not_found"),
        (
            "duplicate task id",
            lambda h: h.engine.create_task(service_id="s", task_id="t"),
            "not_unique",
        ),
        (
            "outbound kind",
            lambda h: h.engine.create_task(
                service_id="s", kind=TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF
            ),
            "kind_not_supported",
        ),
        (
            "future virtual enqueue time",
            lambda h: h.engine.create_task(service_id="s", virtual_enqueue_at=START + 1),
            "out_of_range",
        ),
        (
            "too many preferred users",
            lambda h: h.engine.create_task(
                service_id="s", preferred_users=[PreferredUser("u1")] * 11
            ),
            "limit_exceeded",
        ),
        (
            "repeated preferred user",
            lambda h: h.engine.set_preferred_users("t", [PreferredUser("u1"), PreferredUser("u1")]),
            "not_unique",
        ),
        (
            "unknown preferred user",
            lambda h: h.engine.set_preferred_users("t", [PreferredUser("ghost")]),
            "unknown_reference",
        ),
        (
            "preferred priority out of range",
            lambda h: h.engine.set_preferred_users("t", [PreferredUser("u1", 100)]),
            "out_of_range",
        ),
    ]


@pytest.mark.parametrize(
    ("command", "code"),
    [pytest.param(c, code, id=name) for name, c, code in _refusal_cases()],
)
def test_invalid_commands_are_refused_with_a_code_and_change_nothing(
    command: Callable[[Harness], object], code: str
) -> None:
    h = Harness()
    h.service("s")
    h.service("sk", skill_based=True)
    h.user("u1", "s", "sk", skills={SKILL_A: 1}, presence=Presence.OFFLINE)
    h.user("u2", "s")
    h.user("u3", "s", presence=Presence.OFFLINE)
    h.task(task_id="t")  # offered to u2
    h.engine.set_presence("u2", Presence.OFFLINE)
    h.engine.commit()
    error = refused(lambda: command(h), h.engine)
    assert error.code == code


def test_work_commands_need_the_right_state_and_modality() -> None:
    h = Harness()
    h.service(modalities=(Modality.AUDIO, Modality.CHAT))
    h.user("u1", "s", parallel=True)
    _connected(h, task_id="a")
    h.engine.park("u1", "a")
    assert refused(lambda: h.engine.hold("u1", "a"), h.engine).code == "invalid_state"
    assert refused(lambda: h.engine.resume("u1", "a"), h.engine).code == "invalid_state"
    assert refused(lambda: h.engine.park("u1", "a"), h.engine).code == "invalid_state"
    h.engine.unpark("u1", "a")
    assert refused(lambda: h.engine.unpark("u1", "a"), h.engine).code == "invalid_state"
    h.engine.park("u1", "a")
    chat = h.task(task_id="c", kind=TaskKind.CHAT_INBOUND)
    h.answer("u1")
    assert refused(lambda: h.engine.hold("u1", chat.id), h.engine).code == "not_supported"
    h.engine.hang_up("u1", "a")
    assert refused(lambda: h.engine.hang_up("u1", "a"), h.engine).code == "task_gone"


# ============================================================================ engine bugs
# Reproductions of engine bugs found by these tests and the stateful test: fixed ones
# stay as regression tests; open ones are strict xfails.


def test_simultaneous_reservation_ends_dispatch_in_queue_order() -> None:
    h = Harness()
    h.service(preferred_wait_s=10)
    h.user("u1", "s")
    h.user("fav", "s", presence=Presence.OFFLINE)
    low = h.task(task_id="low", priority=Priority.LOW, preferred_users=[PreferredUser("fav")])
    high = h.task(task_id="high", priority=Priority.HIGH, preferred_users=[PreferredUser("fav")])
    assert low.state is TaskState.QUEUED and high.state is TaskState.QUEUED
    h.step(10)  # both reservations end at this instant
    assert h.offered(high) == ["u1"], "the higher-priority task must be offered first"
    assert low.state is TaskState.QUEUED


def test_simultaneous_skip_window_ends_dispatch_in_queue_order() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s")
    first = h.task(task_id="first")
    second = h.task(task_id="second")
    h.engine.decline("u1", "first")
    assert h.offered(second) == ["u1"]
    h.engine.decline("u1", "second")  # both skip windows now end at the same instant
    h.engine.set_priority("second", Priority.HIGH)
    assert first.state is TaskState.QUEUED and second.state is TaskState.QUEUED
    h.step(10)
    assert h.offered(second) == ["u1"], "the higher-priority task must be offered first"


def test_duty_profile_needs_a_skill_based_membership() -> None:
    h = Harness()
    h.service()
    h.user("u1", "s")
    error = refused(lambda: h.engine.set_profile("u1", cfg.ON_DUTY_PROFILE_ID), h.engine)
    assert error.code == "invalid_combination"


def test_changed_preferred_wait_takes_effect_at_the_new_deadline() -> None:
    h = Harness()
    service = h.service(preferred_wait_s=30)
    h.user("u1", "s")
    h.user("fav", "s", presence=Presence.OFFLINE)
    task = h.task(task_id="t", preferred_users=[PreferredUser("fav")])
    h.step(5)
    shorter = dataclasses.replace(service.distribution, preferred_wait_s=8)
    h.engine.upsert("service", dataclasses.replace(service, distribution=shorter))
    h.step(2.9)
    assert task.state is TaskState.QUEUED
    h.step(0.1)  # the reservation now ends at START + 8
    assert h.offered(task) == ["u1"]
    assert h.engine.metrics.sweeper_recoveries == 0


def test_changed_time_in_level_applies_to_waiting_tasks_like_after_a_restore() -> None:
    h = Harness()
    h.service(skill_based=True, levels=two_level_policy(time_in_level_s=30))
    h.user("basic", "s", skills={SKILL_A: 1})
    task = h.task(task_id="t")
    h.step(10)
    policy = h.engine.state.policies["pol_s"]
    h.engine.upsert("policy", dataclasses.replace(policy, levels=two_level_policy(15)))
    restored_clock = VirtualClock(h.clock.now())
    restored = Engine.restore(h.engine.state.tenant, restored_clock, h.log(since=0))
    h.step(5)
    restored_clock.advance(5)
    restored.advance()
    restored_task = restored.state.tasks["t"]
    assert (task.policy_level, task.state) == (restored_task.policy_level, restored_task.state)
    assert task.policy_level == 2 and h.offered(task) == ["basic"]


def test_sweeper_does_not_count_work_released_by_a_timer_due_at_the_same_instant() -> None:
    h = Harness()
    h.service(preferred_wait_s=5)  # the default sweeper ticks every 5 s from START
    h.user("u1", "s")
    h.user("fav", "s", presence=Presence.OFFLINE)
    h.step(5)
    task = h.task(task_id="t", preferred_users=[PreferredUser("fav")])
    h.step(5)  # the reservation ends on the next sweeper tick
    assert h.offered(task) == ["u1"]
    assert h.engine.metrics.sweeper_recoveries == 0


@pytest.mark.parametrize("preferred", ["outsider", "unskilled"])
def test_ignored_preferred_users_do_not_reserve_the_task(preferred: str) -> None:
    h = Harness()
    h.service("s", skill_based=True, preferred_wait_s=30)
    h.service("other")
    h.user("u1", "s", skills={SKILL_A: 1})
    h.user("outsider", "other")
    h.user("unskilled", "s", skills={SKILL_B: 1})
    task = h.task("s", task_id="t", preferred_users=[PreferredUser(preferred)])
    assert h.offered(task) == ["u1"]


@pytest.mark.parametrize("how", ["membership_removed", "user_removed"])
def test_exit_when_the_last_online_member_leaves_the_service(how: str) -> None:
    h, task = _no_users_setup(away=True)
    if how == "membership_removed":
        user = h.engine.state.users["u1"]
        h.engine.upsert(
            "user", dataclasses.replace(user, memberships={"other": cfg.Membership("other")})
        )
    else:
        h.engine.remove("user", "u1")
    assert task.state is TaskState.TERMINATED
    assert [e.data["reason"] for e in h.log("task.queue_exited")] == ["no_users"]


@pytest.mark.parametrize("how", ["inactive", "off_duty"])
def test_exit_when_an_away_member_stops_being_online(how: str) -> None:
    h = Harness()
    h.service("s", exit_when_no_users=True, skill_based=how == "off_duty")
    h.user("u1", "s", skills={SKILL_A: 1}, presence=Presence.AWAY)  # away is still online
    task = h.task(task_id="t")
    assert task.state is TaskState.QUEUED
    if how == "inactive":
        h.engine.set_active("u1", "s", False)
    else:
        h.engine.set_profile("u1", cfg.OFF_DUTY_PROFILE_ID)
    assert state_of(task) is TaskState.TERMINATED
    assert [e.data["reason"] for e in h.log("task.queue_exited")] == ["no_users"]
