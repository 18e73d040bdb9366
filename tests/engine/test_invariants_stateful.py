"""Property-based test of the routing engine's invariants (spec 03 §8).

A hypothesis `RuleBasedStateMachine` drives one `Engine` on a `VirtualClock` with a
small random tenant and random sequences of arrivals, hang-ups, accepts, declines,
hold/park, presence/duty/active/not-available changes, RONA resets, ACW commands,
priority changes and clock ticks. After every step it checks I1–I7 (the engine's own
`check_invariants` plus independent checks derived from the spec); at teardown it
drives every task to termination and checks I8 by replaying the committed journal
into `Engine.restore` (and by running the restored engine in lockstep with the live one).

"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from switchboard.domain import config as cfg
from switchboard.domain.blocking_matrix import is_blocking
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
from switchboard.engine.engine import BROADCAST_BATCH, Engine
from switchboard.engine.events import Event
from switchboard.engine.state import TenantState

START = 1_767_225_600.0
BREAK = "break"
DISABLED_REASON = "lunch_disabled"
TB, TB2, SK = "svc_tb", "svc_tb2", "svc_sk"
SKILL_A, SKILL_B = "skill_a", "skill_b"
DIST_TYPES = (
    DistributionType.DIRECT_CONFERENCE,
    DistributionType.DIRECT,
    DistributionType.BROADCAST,
)
PRESENCES = (
    Presence.AVAILABLE,
    Presence.AVAILABLE,
    Presence.AVAILABLE,
    Presence.AWAY,
    Presence.BUSY,
    Presence.BUSY_IN_CALL,
    Presence.DO_NOT_DISTURB,
    Presence.OFFLINE,
)
WORK_STATES = (TaskState.CONNECTED, TaskState.ON_HOLD, TaskState.PARKED)


# ============================================================================ tenant


@dataclass
class Setup:
    tenant: cfg.Tenant
    category: cfg.SkillCategory
    skills: list[cfg.Skill]
    policy: cfg.DistributionPolicy
    reasons: list[cfg.NotAvailableReason]
    services: list[cfg.Service]
    users: list[cfg.User]


@st.composite
def distribution_settings(draw: st.DrawFn, skill_based: bool) -> cfg.DistributionSettings:
    orderings = (
        list(UserOrdering)
        if skill_based
        else [
            UserOrdering.LONGEST_IDLE,
            UserOrdering.ROUND_ROBIN,
            UserOrdering.RANDOM,
        ]
    )
    ordering = draw(st.sampled_from(orderings))
    return cfg.DistributionSettings(
        available_when_busy=draw(st.booleans()),
        available_when_away=draw(st.booleans()),
        acw_enabled=draw(st.booleans()),
        acw_duration_s=draw(st.integers(5, 40)),
        acw_allow_early_end=draw(st.booleans()),
        acw_allow_extension=draw(st.booleans()),
        acw_max_extension_s=draw(st.integers(5, 40)),
        persistent_rona=draw(st.booleans()),
        rona_reset_s=draw(st.integers(10, 90)),
        default_priority=draw(st.sampled_from(list(Priority))),
        user_ordering=ordering,
        random_seed=draw(st.none() | st.integers(0, 1000))
        if ordering is UserOrdering.RANDOM
        else None,
        preferred_wait_s=draw(st.sampled_from([0, 0, 5, 8, 25])),
    )


@st.composite
def queue_settings(draw: st.DrawFn) -> cfg.QueueSettings:
    return cfg.QueueSettings(
        distribution_type=draw(st.sampled_from(DIST_TYPES)),
        rona_timeout_s=draw(st.integers(5, 30)),
        max_queue_time_s=draw(st.none() | st.integers(30, 200)),
        exit_when_no_users=draw(st.sampled_from([False, False, False, True])),
    )


@st.composite
def setups(draw: st.DrawFn) -> Setup:
    category = cfg.SkillCategory(
        id="cat",
        name="Languages",
        levelled=True,
        levels=(cfg.SkillLevel(1, "basic"), cfg.SkillLevel(2, "good"), cfg.SkillLevel(3, "expert")),
    )
    skills = [
        cfg.Skill(id=SKILL_A, category_id="cat", name="German"),
        cfg.Skill(id=SKILL_B, category_id="cat", name="French"),
    ]
    n_levels = draw(st.integers(2, 3))
    levels = [
        cfg.PolicyLevel(
            requirements=(cfg.Requirement(SKILL_A, min_level=3),),
            time_in_level_s=draw(st.integers(5, 40)),
        )
    ]
    if n_levels == 3:
        levels.append(
            cfg.PolicyLevel(
                requirements=(cfg.Requirement(SKILL_A, min_level=2),),
                time_in_level_s=draw(st.integers(5, 40)),
            )
        )
    last_any = draw(st.booleans())
    levels.append(
        cfg.PolicyLevel(
            requirements=() if last_any else (cfg.Requirement(SKILL_A), cfg.Requirement(SKILL_B)),
            match=Match.ANY,
        )
    )
    policy = cfg.DistributionPolicy(id="pol", name="Escalate", levels=tuple(levels))
    reasons = [
        cfg.NotAvailableReason(id=BREAK, name="Break"),
        cfg.NotAvailableReason(id=DISABLED_REASON, name="Lunch", enabled=False),
    ]
    chat_tb = draw(st.booleans())
    services = [
        cfg.Service(
            id=TB,
            name="Teams",
            upn="teams@example.com",
            user_assignment_type=AssignmentType.TEAMS_BASED,
            enabled_modalities=frozenset({Modality.AUDIO, Modality.CHAT})
            if chat_tb
            else frozenset({Modality.AUDIO}),
            distribution=draw(distribution_settings(False)),
            queue=draw(queue_settings()),
        ),
        cfg.Service(
            id=SK,
            name="Skills",
            upn="skills@example.com",
            user_assignment_type=AssignmentType.SKILL_BASED,
            distribution_policy_id="pol",
            enabled_modalities=frozenset({Modality.AUDIO, Modality.CHAT}),
            distribution=draw(distribution_settings(True)),
            queue=draw(queue_settings()),
        ),
    ]
    if draw(st.booleans()):
        services.append(
            cfg.Service(
                id=TB2,
                name="Teams 2",
                upn="teams2@example.com",
                user_assignment_type=AssignmentType.TEAMS_BASED,
                distribution=draw(distribution_settings(False)),
                queue=draw(queue_settings()),
            )
        )
    service_ids = [s.id for s in services]
    users: list[cfg.User] = []
    for i in range(draw(st.integers(3, 6))):
        member_of = draw(
            st.lists(st.sampled_from(service_ids), min_size=1, max_size=2, unique=True)
        )
        user_skills: dict[str, cfg.UserSkill] = {}
        for skill_id in (SKILL_A, SKILL_B):
            level = draw(st.none() | st.integers(1, 3))
            if level is not None:
                user_skills[skill_id] = cfg.UserSkill(skill_id, level=level)
        parallel = draw(st.booleans())
        max_total = draw(st.integers(2, 3))
        per_modality = (
            {Modality.AUDIO: draw(st.integers(1, max_total))} if draw(st.booleans()) else {}
        )
        skill_member = SK in member_of
        users.append(
            cfg.User(
                id=f"u{i}",
                upn=f"u{i}@example.com",
                display_name=f"User {i}",
                memberships={
                    s: cfg.Membership(s, active=True if s == SK else draw(st.booleans()))
                    for s in member_of
                },
                skills=user_skills,
                active_profile_id=cfg.ON_DUTY_PROFILE_ID
                if skill_member
                else cfg.OFF_DUTY_PROFILE_ID,
                not_available_reason_ids=(BREAK, DISABLED_REASON),
                parallelization=cfg.Parallelization(
                    enabled=parallel, max_total=max_total, per_modality=per_modality
                ),
            )
        )
    return Setup(
        tenant=cfg.Tenant(id="tenant", name="Tenant"),
        category=category,
        skills=skills,
        policy=policy,
        reasons=reasons,
        services=services,
        users=users,
    )


# ============================================================================ snapshots


def _freeze_with(value: Any, rename: dict[str, str]) -> Any:
    """A comparable plain-data copy of state objects (dataclasses, enums, containers)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(
                (f.name, _freeze_with(getattr(value, f.name), rename))
                for f in dataclasses.fields(value)
            ),
        )
    if isinstance(value, dict):
        return tuple(
            sorted(
                (repr(_freeze_with(k, rename)), _freeze_with(v, rename)) for k, v in value.items()
            )
        )
    if isinstance(value, set | frozenset):
        return tuple(sorted(repr(_freeze_with(v, rename)) for v in value))
    if isinstance(value, list | tuple):
        return tuple(_freeze_with(v, rename) for v in value)
    if isinstance(value, str):
        return rename.get(value, value)
    return value


def snapshot(state: TenantState, *, canonical_ids: bool = False) -> dict[str, Any]:
    """Everything the replay must reproduce (03 §8 I8), normalised for comparison.

    With `canonical_ids`, offer/session ids are replaced by what they stand for (task,
    user, start), for engines whose id generators were called in a different order.
    """
    rename = (
        {sid: f"{s.task_id}|{s.user_id}|{s.started_at}" for sid, s in state.sessions.items()}
        if canonical_ids
        else {}
    )

    def _freeze(value: Any) -> Any:
        return _freeze_with(value, rename)

    return {
        "seq": state.seq,
        "enqueue_seq": state.enqueue_seq,
        "tasks": _freeze(state.tasks),
        "ended": tuple((tid, _freeze(t)) for tid, t in state.ended.items()),
        "sessions": _freeze(state.sessions),
        "task_sessions": _freeze({k: v for k, v in state.task_sessions.items() if v}),
        "live": _freeze(state.live),
        "users": _freeze(state.users),
        "selection": _freeze(state.selection),
        "published": _freeze({k: v for k, v in state.published.items() if v}),
        "free": _freeze({k: v for k, v in state.free.items() if v}),
        "queues": {s: [t.id for t in q] for s, q in state.queues.items() if q},
        "qlevel": _freeze(state.qlevel),
        "live_counts": _freeze({k: v for k, v in state.live_counts.items() if v}),
        "waiting_counts": _freeze({k: v for k, v in state.waiting_counts.items() if v}),
        "rr_cursor": _freeze(state.rr_cursor),
    }


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [key for key in a if a[key] != b.get(key)]


# ============================================================================ engine hook


class CheckedEngine(Engine):
    """An engine that checks every offer at the moment it is made (I4, I5, I6, I3)."""

    offer_problems: list[str]
    offer_types: dict[str, DistributionType]

    def _emit(self, name: str, data: dict[str, Any]) -> Event:
        if name == "task.offered":
            self._check_offer(data)
        return super()._emit(name, data)

    def _check_offer(self, data: dict[str, Any]) -> None:
        problems = self.offer_problems
        st_ = self.state
        now = self.clock.now()
        task = st_.tasks.get(data["task_id"])
        user_id: str = data["user_id"]
        if task is None or not task.is_waiting or task.queue is None:
            problems.append(f"I4: offer for task {data['task_id']} that is not waiting")
            return
        self.offer_types[data["offer_id"]] = task.queue.distribution_type
        verdict = self.availability(user_id, task.service_id, task.kind.modality)
        if not verdict.selectable:
            problems.append(f"offer of {task.id} to unselectable {user_id}: {verdict.reason}")
        live = st_.live[user_id]
        if any(s.is_blocking for s in live.sessions.values()):
            problems.append(f"I6: offer of {task.id} to {user_id} who holds a blocking session")
        why = selection.eligibility(st_, task, user_id, now)
        if why is not None:
            problems.append(f"offer of {task.id} to {user_id} who is not eligible: {why}")
        key = task.queue_key()
        for queue in st_.queues.values():
            for other in queue:
                if other.queue_key() >= key:
                    break
                if other.state is not TaskState.QUEUED or other is task:
                    continue
                if user_id in st_.free.get(other.service_id, ()) and (
                    selection.eligibility(st_, other, user_id, now) is None
                ):
                    problems.append(
                        f"I5: {user_id} offered {task.id} {key} while free for the earlier "
                        f"queued task {other.id} {other.queue_key()}"
                    )


# ============================================================================ machine


@dataclass
class Journal:
    events: list[Event] = field(default_factory=list)
    terminated: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock(start=START)
        self.counter = itertools.count()
        self.setup: Setup | None = None
        self.journal = Journal()
        self.created: list[str] = []
        self.engine = self._new_engine()

    def _new_engine(self, tenant: cfg.Tenant | None = None) -> CheckedEngine:
        engine = CheckedEngine(
            tenant or cfg.Tenant(id="tenant", name="Tenant"),
            self.clock,
            ids=lambda: f"id{next(self.counter)}",
        )
        engine.offer_problems = []
        engine.offer_types = {}
        engine.subscribe(self._on_commit)
        return engine

    # ------------------------------------------------------------ journal listener

    def _on_commit(self, batch: Sequence[Event]) -> None:
        j = self.journal
        # Copy, as a serialising journal would: later commands must not rewrite history.
        j.events.extend(copy.deepcopy(list(batch)))
        previous: Event | None = None
        for event in batch:
            task_id = event.task_id
            if event.name == "task.terminated":
                assert task_id is not None
                j.terminated[task_id] += 1
                if j.terminated[task_id] > 1:
                    j.problems.append(f"task {task_id} terminated twice")
            elif event.name.startswith("task.") and task_id is not None and j.terminated[task_id]:
                j.problems.append(f"I4: {event.name} for task {task_id} after it terminated")
            if event.name == "task.rona":
                kind = self.engine.offer_types.get(event.data["offer_id"])
                if kind not in (DistributionType.DIRECT, DistributionType.DIRECT_CONFERENCE):
                    j.problems.append(f"I7: RONA from a {kind} offer {event.data['offer_id']}")
            # R5: a RONA flag only follows the RONA of a direct offer to the same user.
            follows_rona = (
                previous is not None
                and previous.name == "task.rona"
                and previous.data["user_id"] == event.data.get("user_id")
            )
            if event.name == "user.rona_set" and not follows_rona:
                j.problems.append(f"I7: RONA flag for {event.user_id} without a RONA")
            previous = event

    # ------------------------------------------------------------ helpers

    @property
    def ts(self) -> TenantState:
        return self.engine.state

    def _attempt(self, command: Callable[[], object], *, expect_ok: bool | None) -> bool:
        """Run a command; a refusal must be a DomainError that changed nothing."""
        before_seq = self.ts.seq
        before_uncommitted = self.engine.uncommitted
        before = snapshot(self.ts)
        try:
            command()
        except DomainError as error:
            assert self.ts.seq == before_seq, f"refused command changed seq ({error.code})"
            assert self.engine.uncommitted == before_uncommitted
            changed = diff(before, snapshot(self.ts))
            assert not changed, f"refused command ({error.code}) changed {changed}"
            assert expect_ok is not True, f"valid command refused: {error.code}: {error}"
            return False
        assert expect_ok is not False, "invalid command was accepted"
        return True

    def _live_tasks(self, states: Sequence[TaskState] | None = None) -> list[Task]:
        tasks = sorted(self.ts.tasks.values(), key=lambda t: t.id)
        if states is None:
            return tasks
        return [t for t in tasks if t.state in states]

    def _offers(self) -> list[tuple[str, str]]:
        return sorted((t.id, o.user_id) for t in self.ts.tasks.values() for o in t.offers.values())

    def _service_online(self, service_id: str) -> bool:
        """03 §6 X2: a member enabled, present, and active (teams) or on duty (skills)."""
        service = self.ts.services[service_id]
        for user_id, user in self.ts.users.items():
            membership = user.memberships.get(service_id)
            presence = self.ts.live[user_id].presence
            if membership is None or not user.enabled:
                continue
            if presence in (Presence.OFFLINE, Presence.UNKNOWN):
                continue
            if service.user_assignment_type is AssignmentType.TEAMS_BASED:
                if membership.active:
                    return True
            elif user.active_profile_id != cfg.OFF_DUTY_PROFILE_ID:
                return True
        return False

    def _users(self) -> list[str]:
        return sorted(self.ts.users)

    def _pick(self, items: Sequence[Any], index: int) -> Any:
        return items[index % len(items)]

    def _step_clock(self, seconds: float) -> None:
        run_clock(self.engine, self.clock, seconds)

    # ------------------------------------------------------------ setup

    @initialize(setup=setups())
    def build(self, setup: Setup) -> None:
        self.setup = setup
        engine = self.engine
        engine.upsert("tenant", setup.tenant)
        engine.upsert("skill_category", setup.category)
        for skill in setup.skills:
            engine.upsert("skill", skill)
        engine.upsert("policy", setup.policy)
        for reason in setup.reasons:
            engine.upsert("not_available_reason", reason)
        for service in setup.services:
            engine.upsert("service", service)
        for user in setup.users:
            engine.upsert("user", user)
            engine.set_presence(user.id, Presence.AVAILABLE)
        engine.commit()

    # ------------------------------------------------------------ task rules

    @rule(
        service=st.sampled_from([TB, SK, TB2]),
        chat=st.sampled_from([False, False, False, True]),
        priority=st.none() | st.sampled_from(list(Priority)),
        preferred=st.lists(st.integers(0, 5), max_size=2, unique=True),
        preferred_priority=st.none() | st.integers(1, 99),
        answer=st.booleans(),
    )
    def arrive(
        self,
        service: str,
        chat: bool,
        priority: Priority | None,
        preferred: list[int],
        preferred_priority: int | None,
        answer: bool,
    ) -> None:
        users = self._users()
        prefs = [
            PreferredUser(users[i % len(users)], preferred_priority)
            for i in dict.fromkeys(i % len(users) for i in preferred)
        ]
        kind = TaskKind.CHAT_INBOUND if chat else TaskKind.AUDIO_INBOUND
        known = service in self.ts.services
        task_id = f"task{len(self.created)}"

        def create() -> None:
            self.engine.create_task(
                service_id=service,
                kind=kind,
                task_id=task_id,
                priority=priority,
                preferred_users=prefs,
            )

        if self._attempt(create, expect_ok=known):
            self.created.append(task_id)
            task = self.ts.task(task_id)
            assert task is not None
            if kind.modality not in self.ts.services[service].enabled_modalities:
                assert task.state is TaskState.TERMINATED
                assert task.end_reason is not None and task.end_reason.value == "rejected"
            else:
                assert task.queued_once and task.policy_level >= 1
            offers = sorted(o.user_id for o in task.offers.values())
            if answer and offers:  # a user answers at once
                self._attempt(
                    functools.partial(self.engine.accept, offers[0], task_id), expect_ok=True
                )

    @precondition(lambda self: bool(self.ts.tasks))
    @rule(pick=st.integers(0, 10_000), cancel=st.sampled_from([False, False, True]))
    def customer_hangs_up(self, pick: int, cancel: bool) -> None:
        """The customer leaves (or the task is cancelled through the API)."""
        task: Task = self._pick(self._live_tasks(), pick)
        if cancel:
            self._attempt(lambda: self.engine.cancel_task(task.id), expect_ok=True)
        else:
            self._attempt(lambda: self.engine.customer_hang_up(task.id), expect_ok=True)
        assert task.id not in self.ts.tasks
        assert all(
            s.state is SessionState.IN_ACW
            for s in self.ts.sessions.values()
            if s.task_id == task.id
        )

    def _accept(self, pick: int) -> None:
        task_id, user_id = self._pick(self._offers(), pick)
        task = self.ts.tasks[task_id]
        others = [o.user_id for o in task.offers.values() if o.user_id != user_id]
        self._attempt(lambda: self.engine.accept(user_id, task_id), expect_ok=True)
        assert task.state is TaskState.CONNECTED and task.connected_user_id == user_id
        assert not task.offers
        for other in others:  # B3: the others were withdrawn in the same step
            live = self.ts.live[other]
            assert all(s.task_id != task_id for s in live.sessions.values())
            self._attempt(functools.partial(self.engine.accept, other, task_id), expect_ok=False)

    @precondition(lambda self: bool(self._offers()))
    @rule(pick=st.integers(0, 10_000))
    def accept_offer(self, pick: int) -> None:
        self._accept(pick)

    @precondition(lambda self: bool(self._offers()))
    @rule(pick=st.integers(0, 10_000))
    def accept_another_offer(self, pick: int) -> None:
        self._accept(pick)

    @precondition(lambda self: bool(self._offers()))
    @rule(pick=st.integers(0, 10_000))
    def decline_offer(self, pick: int) -> None:
        task_id, user_id = self._pick(self._offers(), pick)
        task = self.ts.tasks[task_id]
        assert task.queue is not None
        broadcast = task.queue.distribution_type is DistributionType.BROADCAST
        self._attempt(lambda: self.engine.decline(user_id, task_id), expect_ok=True)
        if broadcast:
            # B4: no skip list and no RONA; a re-formed batch may contain the user (B5).
            assert user_id not in task.skipped and user_id not in task.skip_until
        else:
            # R2/R4: the decliner is skipped for 10 s.
            assert all(o.user_id != user_id for o in task.offers.values())
            assert task.skip_until.get(user_id, 0.0) > self.clock.now()

    @precondition(lambda self: bool(self._live_tasks(WORK_STATES)))
    @rule(pick=st.integers(0, 10_000))
    def user_hangs_up(self, pick: int) -> None:
        task: Task = self._pick(self._live_tasks(WORK_STATES), pick)
        user_id = task.connected_user_id
        assert user_id is not None
        was_parked = task.state is TaskState.PARKED
        acw_before = self.ts.live[user_id].acw
        service = self.ts.services[task.service_id]
        self._attempt(lambda: self.engine.hang_up(user_id, task.id), expect_ok=True)
        acw = self.ts.live[user_id].acw
        if was_parked or not service.distribution.acw_enabled or not task.kind.is_audio:
            assert acw is acw_before, "A6: ACW must not start for a parked or non-audio task"
        else:
            assert acw is not None and acw.task_id == task.id, "A1: ACW did not start"

    @precondition(lambda self: bool(self._live_tasks(WORK_STATES)))
    @rule(
        pick=st.integers(0, 10_000),
        op=st.sampled_from(["hold", "resume", "park", "park", "unpark", "unpark"]),
        fitting=st.booleans(),
    )
    def work_command(self, pick: int, op: str, fitting: bool) -> None:
        wanted = {
            "hold": TaskState.CONNECTED,
            "resume": TaskState.ON_HOLD,
            "park": TaskState.CONNECTED,
            "unpark": TaskState.PARKED,
        }[op]
        tasks = self._live_tasks(WORK_STATES)
        # Mostly aim at a task in the state the command needs; sometimes at any task.
        fit = [t for t in tasks if t.state is wanted] if fitting else []
        task: Task = self._pick(fit or tasks, pick)
        user_id = task.connected_user_id
        assert user_id is not None
        engine = self.engine
        if op == "hold":
            ok = task.state is TaskState.CONNECTED and task.kind.is_audio
            self._attempt(lambda: engine.hold(user_id, task.id), expect_ok=ok)
        elif op == "resume":
            ok = task.state is TaskState.ON_HOLD
            self._attempt(lambda: engine.resume(user_id, task.id), expect_ok=ok)
        elif op == "park":
            ok = task.state is TaskState.CONNECTED
            self._attempt(lambda: engine.park(user_id, task.id), expect_ok=ok)
        else:
            live = self.ts.live[user_id]
            # P3/P5: only parked sessions run in parallel; another blocking session refuses.
            other_blocking = any(
                is_blocking(s.state, s.kind) for s in live.sessions.values() if s.task_id != task.id
            )
            ok = task.state is TaskState.PARKED and not other_blocking
            self._attempt(lambda: engine.unpark(user_id, task.id), expect_ok=ok)

    @precondition(lambda self: bool(self.ts.tasks))
    @rule(
        pick=st.integers(0, 10_000),
        priority=st.none() | st.sampled_from(list(Priority)),
        users=st.lists(st.integers(0, 5), max_size=2),
    )
    def update_task(self, pick: int, priority: Priority | None, users: list[int]) -> None:
        task: Task = self._pick(self._live_tasks(), pick)
        if priority is not None:
            vea = task.virtual_enqueue_at
            self._attempt(lambda: self.engine.set_priority(task.id, priority), expect_ok=True)
            assert task.priority is priority
            assert task.virtual_enqueue_at == vea, "Q4: priority changes keep the position time"
        else:
            ids = self._users()
            prefs = [PreferredUser(ids[i % len(ids)]) for i in users]
            unique = len({p.user_id for p in prefs}) == len(prefs)
            self._attempt(lambda: self.engine.set_preferred_users(task.id, prefs), expect_ok=unique)

    # ------------------------------------------------------------ user rules

    @rule(
        user=st.integers(0, 5),
        op=st.sampled_from(["presence", "presence", "duty", "active", "not_available"]),
        presence=st.sampled_from(PRESENCES),
        flag=st.booleans(),
        service=st.sampled_from([TB, SK, TB2]),
        reason=st.sampled_from([BREAK, None, None, DISABLED_REASON, "unknown"]),
    )
    def update_user(
        self,
        user: int,
        op: str,
        presence: Presence,
        flag: bool,
        service: str,
        reason: str | None,
    ) -> None:
        user_id = self._pick(self._users(), user)
        engine = self.engine
        member = self.ts.users[user_id]
        if op == "presence":
            self._attempt(lambda: engine.set_presence(user_id, presence), expect_ok=True)
            if presence is Presence.OFFLINE:
                assert self.ts.live[user_id].rona is None, "R6: going offline clears RONA"
        elif op == "duty":
            skill_based = any(
                self.ts.services[s].user_assignment_type is AssignmentType.SKILL_BASED
                for s in member.memberships
            )
            profile = cfg.ON_DUTY_PROFILE_ID if flag else cfg.OFF_DUTY_PROFILE_ID
            switching = member.active_profile_id != profile
            # 01 §6.4: going on duty needs a skill_based membership (invalid_combination).
            ok = skill_based or not flag
            self._attempt(lambda: engine.set_profile(user_id, profile), expect_ok=ok)
            if not flag and switching:
                assert self.ts.live[user_id].rona is None, "R6: going off duty clears RONA"
        elif op == "active":
            ok = (
                service in member.memberships
                and self.ts.services[service].user_assignment_type is AssignmentType.TEAMS_BASED
            )
            self._attempt(lambda: engine.set_active(user_id, service, flag), expect_ok=ok)
        else:
            ok = reason in (BREAK, None)
            self._attempt(lambda: engine.set_not_available(user_id, reason), expect_ok=ok)

    def _flagged_users(self) -> list[str]:
        return [u for u, live in sorted(self.ts.live.items()) if live.rona or live.acw]

    @precondition(lambda self: bool(self._flagged_users()))
    @rule(
        user=st.integers(0, 5),
        op=st.sampled_from(["reset_rona", "end_acw", "end_acw", "extend_acw"]),
        supervisor=st.booleans(),
    )
    def user_flags(self, user: int, op: str, supervisor: bool) -> None:
        flagged = self._flagged_users()
        user_id = self._pick(flagged, user)
        live = self.ts.live[user_id]
        engine = self.engine
        acw = live.acw
        if op == "reset_rona":
            ok = live.rona is not None
            self._attempt(
                lambda: engine.reset_rona(user_id, by_supervisor=supervisor), expect_ok=ok
            )
            assert live.rona is None
        elif op == "end_acw":
            ok = acw is not None and (supervisor or acw.allow_early_end)
            self._attempt(lambda: engine.end_acw(user_id, by_supervisor=supervisor), expect_ok=ok)
            if ok:
                assert live.acw is None
        else:
            ok = acw is not None and acw.allow_extension and not acw.extended
            self._attempt(lambda: engine.extend_acw(user_id), expect_ok=ok)
            if ok:
                assert live.acw is not None and live.acw.extended

    @rule(
        op=st.sampled_from(["ended", "no_offer", "stranger", "flags"]),
        pick=st.integers(0, 10_000),
        user=st.integers(0, 5),
    )
    def refused_commands(self, op: str, pick: int, user: int) -> None:
        """Commands that must be refused with a DomainError and change nothing."""
        engine = self.engine
        user_id = self._pick(self._users(), user)
        if op == "flags":
            live = self.ts.live[user_id]
            if live.rona is None:
                self._attempt(lambda: engine.reset_rona(user_id), expect_ok=False)
            if live.acw is None:
                self._attempt(lambda: engine.end_acw(user_id), expect_ok=False)
                self._attempt(lambda: engine.extend_acw(user_id), expect_ok=False)
            return
        if op == "ended":
            ended = [t for t in self.created if t not in self.ts.tasks]
            if not ended:
                return
            task_id = self._pick(ended, pick)
            for command in (
                lambda: engine.accept(user_id, task_id),
                lambda: engine.decline(user_id, task_id),
                lambda: engine.customer_hang_up(task_id),
                lambda: engine.hang_up(user_id, task_id),
                lambda: engine.set_priority(task_id, Priority.HIGH),
            ):
                self._attempt(command, expect_ok=False)
            return
        tasks = self._live_tasks()
        if not tasks:
            return
        task: Task = self._pick(tasks, pick)
        if op == "no_offer":
            if all(o.user_id != user_id for o in task.offers.values()):
                self._attempt(lambda: engine.accept(user_id, task.id), expect_ok=False)
                self._attempt(lambda: engine.decline(user_id, task.id), expect_ok=False)
        elif user_id != task.connected_user_id:
            for command in (
                lambda: engine.hang_up(user_id, task.id),
                lambda: engine.park(user_id, task.id),
                lambda: engine.unpark(user_id, task.id),
                lambda: engine.hold(user_id, task.id),
            ):
                self._attempt(command, expect_ok=False)

    @rule(
        what=st.sampled_from(["service", "service", "user", "policy"]),
        pick=st.integers(0, 10_000),
        flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
        number=st.integers(5, 40),
        distribution_type=st.sampled_from(DIST_TYPES),
    )
    def reconfigure(
        self,
        what: str,
        pick: int,
        flags: tuple[bool, bool, bool, bool],
        number: int,
        distribution_type: DistributionType,
    ) -> None:
        """Configuration changes while work is live (re-evaluation rule 1, 03 §8)."""
        busy, away, acw, persistent = flags
        engine = self.engine
        if what == "service":
            service: cfg.Service = self._pick(sorted(self.ts.services.values(), key=str), pick)
            changed = dataclasses.replace(
                service,
                distribution=dataclasses.replace(
                    service.distribution,
                    available_when_busy=busy,
                    available_when_away=away,
                    acw_enabled=acw,
                    persistent_rona=persistent,
                    preferred_wait_s=(0, 5, 8, 25)[number % 4],
                ),
                queue=dataclasses.replace(
                    service.queue,
                    distribution_type=distribution_type,
                    rona_timeout_s=min(number, 30),
                ),
            )
            self._attempt(lambda: engine.upsert("service", changed), expect_ok=True)
        elif what == "user":
            user: cfg.User = self._pick([self.ts.users[u] for u in self._users()], pick)
            skills = {SKILL_A: cfg.UserSkill(SKILL_A, level=1 + number % 3)} if busy else {}
            if away:
                skills[SKILL_B] = cfg.UserSkill(SKILL_B, level=1 + pick % 3)
            memberships = dict(user.memberships)
            profile = user.active_profile_id
            service_id = self._pick(sorted(self.ts.services), number)
            if persistent and service_id not in memberships:
                memberships[service_id] = cfg.Membership(service_id)
            elif persistent and len(memberships) > 1:
                del memberships[service_id]
                if service_id == SK:
                    profile = cfg.OFF_DUTY_PROFILE_ID  # duty needs a skill_based membership
            changed_user = dataclasses.replace(
                user, skills=skills, memberships=memberships, active_profile_id=profile
            )
            self._attempt(lambda: engine.upsert("user", changed_user), expect_ok=True)
        else:
            policy = self.ts.policies["pol"]
            levels = list(policy.levels)
            first = levels[0]
            levels[0] = dataclasses.replace(
                first,
                requirements=(cfg.Requirement(SKILL_A, min_level=2 if busy else 3),),
                time_in_level_s=number,
            )
            changed_policy = dataclasses.replace(policy, levels=tuple(levels))
            self._attempt(lambda: engine.upsert("policy", changed_policy), expect_ok=True)

    # ------------------------------------------------------------ time and commits

    @rule(seconds=st.sampled_from([0.5, 1, 2, 3, 5, 5, 8, 10, 10, 15, 20, 30, 60, 400]))
    def tick(self, seconds: float) -> None:
        self._step_clock(seconds)

    @rule()
    def commit(self) -> None:
        self.engine.commit()

    # ------------------------------------------------------------ invariants

    @invariant()
    def engine_invariants(self) -> None:
        assert self.engine.check_invariants() == []
        assert self.engine.offer_problems == []
        assert self.journal.problems == []
        assert self.engine.metrics.sweeper_recoveries == 0, "the sweeper found work (I1)"

    @invariant()
    def published_selectability_is_current(self) -> None:
        """The selection index equals a fresh evaluation (no missing republish trigger)."""
        st_ = self.ts
        for user_id, user in st_.users.items():
            for service_id in user.memberships:
                verdict = self.engine.availability(user_id, service_id)
                published = st_.selection.get((user_id, service_id))
                assert published is not None, (user_id, service_id)
                assert (published.selectable, published.reason) == (
                    verdict.selectable,
                    verdict.reason,
                ), f"{user_id}@{service_id}: published {published}, now {verdict.reasons}"
                assert (user_id in st_.free.get(service_id, set())) == verdict.selectable

    @invariant()
    def no_free_user_for_queued_work(self) -> None:
        """I1 with a fresh selectability evaluation instead of the published index."""
        st_ = self.ts
        now = self.clock.now()
        for task in st_.tasks.values():
            if task.state is not TaskState.QUEUED or task.queue is None:
                continue
            for user_id, user in st_.users.items():
                if task.service_id not in user.memberships:
                    continue
                verdict = self.engine.availability(user_id, task.service_id, task.modality)
                if verdict.selectable:
                    why = selection.eligibility(st_, task, user_id, now)
                    assert why is not None, f"I1: {task.id} queued while {user_id} is free"

    @invariant()
    def task_and_queue_consistency(self) -> None:
        st_ = self.ts
        queued = {t.id for t in st_.tasks.values() if t.state is TaskState.QUEUED}
        in_queues = [t.id for q in st_.queues.values() for t in q]
        assert len(in_queues) == len(set(in_queues)), "a task is queued twice"
        assert set(in_queues) == queued
        for service_id, queue in st_.queues.items():
            keys = [t.queue_key() for t in queue]
            assert keys == sorted(keys), "Q2: queue out of order"
            assert all(t.service_id == service_id for t in queue)
        waiting: Counter[str] = Counter(t.service_id for t in st_.tasks.values() if t.is_waiting)
        for service_id in st_.services:
            assert st_.waiting_counts.get(service_id, 0) == waiting[service_id]
        for task in st_.tasks.values():
            assert (task.state is TaskState.OFFERED) == bool(task.offers), task.id
            assert task.queue is None or task.queue.distribution_type in DIST_TYPES
            if task.queue is not None and task.queue.distribution_type is (
                DistributionType.BROADCAST
            ):
                assert len(task.offers) <= BROADCAST_BATCH
                assert len({o.generation for o in task.offers.values()}) <= 1
            if task.state in WORK_STATES:
                assert task.connected_user_id is not None
                session = st_.connected_session(task)
                assert session is not None and session.state.value == task.state.value
        now = self.clock.now()
        policy = st_.policies["pol"]
        for task in st_.tasks.values():
            if not task.is_waiting or task.queue is None:
                continue
            if task.queue.exit_when_no_users:
                assert self._service_online(task.service_id), f"X2: {task.id} should have left"
            if task.queue.max_queue_time_s is not None:
                assert task.enqueued_at is not None
                due = task.enqueued_at + task.queue.max_queue_time_s
                assert due > now, f"X1: {task.id} overstayed max_queue_time_s"
            if task.service_id == SK and task.policy_level < len(policy.levels):
                level = policy.levels[task.policy_level - 1]
                assert level.time_in_level_s is not None and task.level_entered_at is not None
                due = task.level_entered_at + level.time_in_level_s
                # A policy change can move the deadline into the past: it then fires on the
                # next `advance()`, like any timer that fell due between two calls.
                pending = (self.engine.next_deadline() or now + 1) <= now
                assert due > now or pending, f"L2: {task.id} overstayed level {task.policy_level}"
        for task_id in st_.ended:
            assert task_id not in st_.tasks
            assert not st_.ended[task_id].offers, f"I4: ended task {task_id} has offers"

    @invariant()
    def user_capacity(self) -> None:
        """I3/I6 and parallelization (02 §8), evaluated from the sessions themselves."""
        st_ = self.ts
        for user_id, live in st_.live.items():
            user = st_.users.get(user_id)
            if user is None:
                continue
            par = user.parallelization
            occupying = [s for s in live.sessions.values() if s.occupies_slot]
            assert len(occupying) <= par.total_limit(), f"I3: {user_id} over capacity"
            for modality in Modality:
                count = sum(1 for s in occupying if s.modality is modality)
                assert count <= max(par.modality_limit(modality), 0), (user_id, modality)
            blocking = [s for s in live.sessions.values() if is_blocking(s.state, s.kind)]
            in_acw = [s for s in blocking if s.state is SessionState.IN_ACW]
            assert len(blocking) - len(in_acw) <= 1, f"I3/I6: {user_id} {blocking}"
            if not par.enabled:
                assert len(occupying) <= 1, f"P1: {user_id} holds {len(occupying)} sessions"
            for session in live.sessions.values():
                task = st_.tasks.get(session.task_id)
                if session.state is SessionState.IN_ACW:
                    assert live.acw is not None and live.acw.task_id == session.task_id
                else:
                    assert task is not None, f"session of ended task {session.task_id}"
            if live.acw is not None:
                assert any(s.state is SessionState.IN_ACW for s in live.sessions.values())

    # ------------------------------------------------------------ teardown

    def _restore(self) -> tuple[Engine, VirtualClock]:
        """I8: replay the committed journal; the restored state must equal the live one."""
        self.engine.commit()
        clock = VirtualClock(start=self.clock.now())
        # Both engines draw the same ids from here on, so that they can run in lockstep.
        position = next(self.counter)
        self.counter = itertools.count(position)
        replay_ids = itertools.count(position)
        restored = Engine.restore(
            self.ts.tenant,
            clock,
            copy.deepcopy(self.journal.events),
            ids=lambda: f"id{next(replay_ids)}",
        )
        assert restored.uncommitted == 0, "restore had to emit events to reach a settled state"
        self._compare(restored, "replay")
        return restored, clock

    def _compare(self, restored: Engine, when: str, *, canonical_ids: bool = False) -> None:
        live = snapshot(self.ts, canonical_ids=canonical_ids)
        replayed = snapshot(restored.state, canonical_ids=canonical_ids)
        assert diff(live, replayed) == [], f"I8 ({when}): state differs in {diff(live, replayed)}"

    def teardown(self) -> None:
        if self.setup is None:
            return
        restored, restored_clock = self._restore()
        # The restored engine must also carry on exactly like the live one (timers re-armed).
        # Ids are compared canonically: which offers are made matters, not the order in
        # which offers of one instant drew their ids (timers are re-armed in another order).
        for seconds in (1, 9, 20, 45):
            self._step_clock(seconds)
            run_clock(restored, restored_clock, seconds)
            self._compare(restored, f"after {seconds} s more", canonical_ids=True)
        for engine in (self.engine, restored):
            for task_id in sorted(engine.state.tasks):
                engine.customer_hang_up(task_id)
            assert not engine.state.tasks
            for user_id in sorted(engine.state.users):
                engine.set_presence(user_id, Presence.AVAILABLE)
        self._step_clock(3600)
        run_clock(restored, restored_clock, 3600)
        self._compare(restored, "after the teardown", canonical_ids=True)
        self.engine.commit()
        assert self.journal.problems == []
        assert self.engine.offer_problems == []
        for task_id in self.created:
            assert self.journal.terminated[task_id] == 1, f"{task_id} not terminated once"
        assert set(self.journal.terminated) == set(self.created)
        for user_id, live in self.ts.live.items():
            assert live.acw is None, f"{user_id} still in ACW"
            assert live.rona is None, f"{user_id} still flagged RONA"
            assert not live.sessions, f"{user_id} still has sessions"
        assert self.engine.metrics.sweeper_recoveries == 0
        assert restored.metrics.sweeper_recoveries == 0
        assert self.engine.check_invariants() == []
        self._restore()


def run_clock(engine: Engine, clock: VirtualClock, seconds: float) -> None:
    """Move virtual time like the live runner: fire each deadline at its own instant."""
    target = clock.now() + seconds
    while (due := engine.next_deadline()) is not None and due <= target:
        clock.set(max(due, clock.now()))
        engine.advance()
    clock.set(target)
    engine.advance()


EngineMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestEngineInvariants = EngineMachine.TestCase
