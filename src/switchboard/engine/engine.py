"""The routing engine: one writer per tenant, commands in, events out.

Each public method is a command. It validates against the live state (raising a
`DomainError` with a code and a sentence, having changed nothing), then emits
events; each event is applied to the state at once. Before returning, the
engine *settles*: it republishes the selectability of every user the command
touched and dispatches waiting work to users who became free, so invariant I1
("no task waits while a free user exists") holds after every command.

Events are kept in an uncommitted buffer until `commit()`, which appends them
to the journal (durably) and only then hands them to listeners — provider
commands, webhooks and UI pushes are listeners, so nothing leaves the process
before it is journaled. Several commands may share one commit (group commit).
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from switchboard.domain import config as cfg
from switchboard.domain import validation
from switchboard.domain import voice as v
from switchboard.domain.availability import (
    ORDER,
    Reason,
    Selectability,
    evaluate,
    service_reasons,
    user_reasons,
)
from switchboard.domain.calendar_validation import validate_calendar
from switchboard.domain.enums import (
    AcwEndReason,
    AssignmentType,
    DistributionType,
    EndReason,
    MembershipRole,
    OfferKind,
    Presence,
    Priority,
    ProfileKind,
    QueueExitReason,
    RonaClearReason,
    SessionState,
    TaskKind,
    TaskState,
    UserOrdering,
    WithdrawReason,
)
from switchboard.domain.errors import DomainError, NotFound, Refused
from switchboard.domain.live import Acw, UserSession
from switchboard.domain.task import PreferredUser, QueueSpec, Task
from switchboard.domain.validation import Catalog, Issue, require_valid
from switchboard.domain.workflow import lifecycle as workflow_lifecycle
from switchboard.domain.workflow.references import references_from_catalog
from switchboard.domain.workflow.runtime import MAX_PARAMETER_LENGTH
from switchboard.domain.wrap_up import check_wrap_up
from switchboard.engine import selection
from switchboard.engine.clock import Clock
from switchboard.engine.events import Event
from switchboard.engine.invariants import violations
from switchboard.engine.state import CONFIG_TYPES, ROOT_OU_ID, TenantState
from switchboard.engine.timers import Timer, TimerHeap
from switchboard.engine.workflows import Runner

log = logging.getLogger(__name__)

BROADCAST_BATCH = 10
MINIMAL_WORKFLOW_ID = "builtin:accept_and_queue"
_SETTLE_GUARD = 100_000


class JournalPort(Protocol):
    """Where events go before anyone else sees them (implemented by the store layer)."""

    def append(self, events: Sequence[Event]) -> None:
        """Durably append `events`; return only once they are committed."""
        ...


Listener = Callable[[Sequence[Event]], None]


@dataclass
class EngineMetrics:
    offers: int = 0
    decisions: int = 0
    sweeper_runs: int = 0
    sweeper_recoveries: int = 0
    events: int = 0
    #: optional sink for the wall time (ns) of each dispatch decision (benchmarks)
    decision_ns: list[int] | None = None
    extra: dict[str, int] = field(default_factory=dict)


def new_id() -> str:
    return str(uuid.uuid4())


class Engine:
    def __init__(
        self,
        tenant: cfg.Tenant,
        clock: Clock,
        *,
        journal: JournalPort | None = None,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self.clock = clock
        self.journal = journal
        self.ids = ids
        self.state = TenantState(tenant)
        self.metrics = EngineMetrics()
        self._timers = TimerHeap()
        self.state.on_arm = self._timers.arm
        self._uncommitted: list[Event] = []
        self._listeners: list[Listener] = []
        #: The workflow interpreter (04 §4): runs the workflows of service sessions.
        self.workflows = Runner(self)
        self._timers.arm(clock.now() + tenant.settings.sweeper_interval_s, "sweeper", "")

    # ================================================================ plumbing

    @classmethod
    def restore(
        cls,
        tenant: cfg.Tenant,
        clock: Clock,
        events: Iterable[Event],
        *,
        journal: JournalPort | None = None,
        ids: Callable[[], str] = new_id,
    ) -> Engine:
        """Rebuild live state by applying journaled events, then re-arm timers."""
        engine = cls(tenant, clock, journal=journal, ids=ids)
        state = engine.state
        state.on_arm = None  # timers are derived once at the end, not per event
        count = 0
        for event in events:
            state.apply(event)
            count += 1
        state.on_arm = engine._timers.arm
        engine._timers.clear()
        state.arm_all(clock.now() + state.tenant.settings.sweeper_interval_s)
        state.touched_users.update(state.users)
        state.full_dispatch = True
        engine.metrics.events = count
        engine._settle()  # timers that fell due while down fire on the next `advance`
        return engine

    def subscribe(self, listener: Listener) -> None:
        """Receive every committed batch of events (after the journal has them)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, name: str, data: dict[str, Any]) -> Event:
        event = Event(name, self.clock.now(), data, self.state.seq + 1)
        self.state.apply(event)
        self._uncommitted.append(event)
        self.metrics.events += 1
        return event

    @property
    def uncommitted(self) -> int:
        return len(self._uncommitted)

    @property
    def oldest_uncommitted_at(self) -> float | None:
        """When the oldest event still waiting for `commit()` happened (drivers batch on it)."""
        return self._uncommitted[0].at if self._uncommitted else None

    def commit(self) -> list[Event]:
        """Journal the buffered events, then release them to listeners."""
        batch = self.drain()
        if batch and self.journal is not None:
            self.journal.append(batch)
        self.publish(batch)
        return batch

    def drain(self) -> list[Event]:
        """Take the uncommitted events, for a driver that journals them itself.

        Such a driver (the service's asynchronous host) must append them durably and
        only then call `publish`; `commit` is the synchronous form of the two.
        """
        batch, self._uncommitted = self._uncommitted, []
        return batch

    def publish(self, batch: Sequence[Event]) -> None:
        """Hand a journaled batch to the listeners."""
        if batch:
            for listener in self._listeners:
                listener(batch)

    def next_deadline(self) -> float | None:
        return self._timers.next_due()

    def advance(self) -> int:
        """Fire every timer that is due at the clock's current time; returns how many.

        Timers due at the same instant are applied together and dispatch runs once
        after them, so simultaneous changes are served in queue order (I5), not in
        the order the timers happened to be armed.
        """
        fired = 0
        now = self.clock.now()
        sweeper: Timer | None = None
        while (timer := self._timers.pop_due(now)) is not None:
            fired += 1
            if timer.kind == "sweeper":
                sweeper = timer  # last: work the other timers release is not a recovery
            else:
                self._fire(timer)
        if fired:
            self._settle()
        if sweeper is not None:
            self._fire(sweeper)
        return fired

    # ================================================================ settle / dispatch

    def _settle(self) -> None:
        st = self.state
        for _ in range(_SETTLE_GUARD):
            if st.touched_users:
                self._publish_users()
                continue
            if st.full_dispatch:
                st.full_dispatch = False
                st.dirty_tasks.clear()
                st.newly_free.clear()
                self._timed(self._full_dispatch)
                continue
            if st.dirty_tasks or st.newly_free:
                self._timed(self._incremental_dispatch)
                continue
            return
        raise RuntimeError("dispatch did not settle")  # pragma: no cover - a bug

    def _timed(self, fn: Callable[[], int]) -> int:
        sink = self.metrics.decision_ns
        if sink is None:
            return fn()
        start = time.perf_counter_ns()
        made = fn()
        sink.append(time.perf_counter_ns() - start)
        return made

    def _publish_users(self) -> None:
        """Recompute selectability of touched users; emit `user.state_changed` for changes."""
        st = self.state
        now = self.clock.now()
        touched = sorted(st.touched_users)
        st.touched_users.clear()
        for user_id in touched:
            user = st.users.get(user_id)
            live = st.user_live(user_id)
            detail: dict[str, Any] = {}
            base = user_reasons(user, live, now, detail) if user is not None else []
            service_ids = set(user.memberships) if user is not None else set()
            service_ids |= st.published.get(user_id, set())
            changes: list[dict[str, Any]] = []
            any_free = False
            on_duty = st.on_duty(user) if user is not None else False
            for service_id in sorted(service_ids):
                service = st.services.get(service_id)
                reason: Reason | None
                if user is None or service is None or service_id not in user.memberships:
                    reason = Reason.NOT_MEMBER
                else:
                    reasons = base + service_reasons(
                        user,
                        live,
                        service,
                        on_duty=on_duty,
                        qualifying_level=st.qlevel.get((user_id, service_id)),
                        now=now,
                    )
                    reason = min(reasons, key=ORDER.__getitem__) if reasons else None
                selectable = reason is None
                any_free = any_free or selectable
                previous = st.selection.get((user_id, service_id))
                if (
                    previous is None
                    or previous.selectable != selectable
                    or (previous.reason != reason)
                ):
                    changes.append(
                        {
                            "service_id": service_id,
                            "selectable": selectable,
                            "reason": reason.value if reason else None,
                            "previous_selectable": previous.selectable if previous else None,
                            "previous_reason": (
                                previous.reason.value if previous and previous.reason else None
                            ),
                        }
                    )
            if changes:
                self._emit(
                    "user.state_changed",
                    {"user_id": user_id, "presence": live.presence.value, "changes": changes},
                )
            # Not only on a published change: a user can stop being "online" (X2) or
            # reachable while the headline reason stays the same (e.g. away, then off duty).
            self._after_user_change(user_id, base)
            if any_free:
                # Capacity may have opened for a modality without a selectability change.
                st.newly_free.add(user_id)

    def _after_user_change(self, user_id: str, reasons: list[Reason]) -> None:
        """Consequences of a user's new verdict for work already under way.

        A ringing offer is withdrawn (`user_unselectable`) when its user can no longer
        take it (offline, disabled, do not disturb, not available); and tasks waiting
        with the `no_users` exit leave once no member of their service is online (X2).
        """
        st = self.state
        if any(r in _WITHDRAW_ON for r in reasons):
            ringing = st.live[user_id].ringing()
            task = st.tasks.get(ringing.task_id) if ringing is not None else None
            if (
                ringing is not None
                and task is not None
                and ringing.offer_id in task.offers
                # A workflow's transfer rings regardless of presence (05 §4 G4) until it
                # is answered or times out.
                and task.offers[ringing.offer_id].kind is not OfferKind.TRANSFER
            ):
                self._withdraw(task, ringing.offer_id, WithdrawReason.USER_UNSELECTABLE)
        if not any(st.exit_when_no_users.values()):
            return  # no task waits with the no-users exit: nothing to re-check (hot path)
        user = st.users.get(user_id)
        services = set(user.memberships) if user is not None else set()
        services |= st.published.get(user_id, set())  # also services the user just left
        for service_id in sorted(services):
            flagged = st.exit_when_no_users.get(service_id)
            service = st.services.get(service_id)
            if flagged and service is not None and not st.service_online(service):
                for task_id in sorted(flagged):
                    self._exit_queue(st.tasks[task_id], QueueExitReason.NO_USERS)

    def _incremental_dispatch(self) -> int:
        st = self.state
        now = self.clock.now()
        tasks = {
            t
            for tid in st.dirty_tasks
            if (t := st.tasks.get(tid)) is not None and t.state is TaskState.QUEUED
        }
        users = set(st.newly_free)
        st.dirty_tasks.clear()
        st.newly_free.clear()
        taken: set[str] = set()
        offers = 0
        while True:
            pool: dict[Task, list[str]] = {t: [] for t in tasks if t.state is TaskState.QUEUED}
            for user_id in sorted(users - taken):
                first = self._first_eligible(user_id, now)
                if first is None:
                    users.discard(user_id)
                else:
                    pool.setdefault(first, []).append(user_id)
            if not pool:
                return offers
            best = min(pool, key=Task.queue_key)
            chosen = self._offer_best(best, taken, now)
            tasks.discard(best)
            if chosen:
                taken.update(chosen)
                offers += len(chosen)
            else:
                users.difference_update(pool[best])  # pragma: no cover - inconsistency guard

    def _first_eligible(self, user_id: str, now: float) -> Task | None:
        """The first waiting task in global queue order that `user_id` may receive."""
        st = self.state
        user = st.users.get(user_id)
        if user is None:
            return None
        best: Task | None = None
        for service_id in user.memberships:
            if user_id not in st.free.get(service_id, ()):
                continue
            queue = st.queues.get(service_id)
            if not queue:
                continue
            for task in queue:
                if best is not None and task.queue_key() >= best.queue_key():
                    break
                if selection.eligibility(st, task, user_id, now) is None:
                    best = task
                    break
        return best

    def _full_dispatch(self) -> int:
        """Greedy pass over every waiting task of the tenant in global queue order."""
        st = self.state
        now = self.clock.now()
        waiting = sorted((t for q in st.queues.values() for t in q), key=Task.queue_key)
        taken: set[str] = set()
        offers = 0
        for task in waiting:
            if task.state is TaskState.QUEUED:
                chosen = self._offer_best(task, taken, now)
                taken.update(chosen)
                offers += len(chosen)
        return offers

    def _offer_best(self, task: Task, taken: set[str], now: float) -> list[str]:
        st = self.state
        assert task.queue is not None
        self.metrics.decisions += 1
        broadcast = task.queue.distribution_type is DistributionType.BROADCAST
        ordering = (
            task.queue.user_ordering or st.services[task.service_id].distribution.user_ordering
        )
        chosen: list[str]
        if not broadcast and ordering is UserOrdering.LONGEST_IDLE:
            best = selection.best_longest_idle(st, task, now, taken)
            chosen = [best] if best is not None else []
        else:
            pool = selection.candidates(st, task, now, exclude=taken)
            chosen = selection.rank(st, task, pool, BROADCAST_BATCH if broadcast else 1)
        if not chosen:
            return []
        generation = task.offer_generation + 1
        expires = now + task.queue.rona_timeout_s
        for user_id in chosen:
            offer_id = self.ids()
            self._emit(
                "task.offered",
                {
                    "task_id": task.id,
                    "offer_id": offer_id,
                    "user_id": user_id,
                    "offer_kind": OfferKind.DISTRIBUTION.value,
                    "timeout_s": task.queue.rona_timeout_s,
                    "expires_at": expires,
                    "generation": generation,
                },
            )
            self._ring(task, offer_id, user_id, task.queue.rona_timeout_s)
        self.metrics.offers += len(chosen)
        return chosen

    def sweep(self) -> int:
        """Safety net: a full dispatch. Offers it makes expose a missing trigger."""
        self.metrics.sweeper_runs += 1
        self._settle()  # work already triggered (e.g. by timers due now) is not a recovery
        made = self._full_dispatch()
        if made:
            self.metrics.sweeper_recoveries += made
            log.warning("sweeper recovered %d offer(s): a dispatch trigger is missing", made)
        self._settle()
        return made

    # ================================================================ timers

    def _fire(self, timer: Timer) -> None:
        """Apply one due timer's consequences; the caller settles afterwards."""
        st = self.state
        now = self.clock.now()
        kind = timer.kind
        if kind == "sweeper":
            self.sweep()
            self._timers.arm(now + st.tenant.settings.sweeper_interval_s, "sweeper", "")
            return
        if kind in ("acw", "rona_reset", "presence_lag"):
            live = st.live.get(timer.ref)
            if live is None:
                return
            if kind == "acw" and live.acw is not None and live.acw.ends_at == timer.token:
                self._end_acw(timer.ref, AcwEndReason.ELAPSED)
            elif (
                kind == "rona_reset"
                and live.rona is not None
                and (live.rona.clears_at == timer.token)
            ):
                self._emit(
                    "user.rona_cleared",
                    {"user_id": timer.ref, "clear_reason": RonaClearReason.ELAPSED.value},
                )
            elif kind == "presence_lag":
                st.touched_users.add(timer.ref)
            return
        if kind == "workflow":
            self.workflows.timer(timer.ref, timer.token)
            return
        task = st.tasks.get(timer.ref)
        if task is None or not task.is_waiting:
            return
        if kind == "offer":
            offer = task.offers.get(str(timer.token))
            if offer is not None:
                self._ring_timeout(task, offer.id)
        elif kind == "queue_timeout" and task.counted_waiting:  # not a workflow's transfer offer
            assert task.queue is not None and task.enqueued_at is not None
            if task.queue.max_queue_time_s is not None and (
                task.enqueued_at + task.queue.max_queue_time_s <= now
            ):
                self._exit_queue(task, QueueExitReason.TIMEOUT)
        elif kind == "level":
            if task.policy_level == timer.token and self._level_due(task, now):
                self._emit(
                    "task.policy_level_changed",
                    {"task_id": task.id, "policy_level": task.policy_level + 1},
                )
        elif kind in ("skip", "preferred"):
            st.dirty_tasks.add(task.id)

    def _level_due(self, task: Task, now: float) -> bool:
        """Whether the task's current level has run its time under the *current* policy.

        A policy edited while tasks wait re-arms their timers; this check makes the
        timers armed under the old values harmless, so live and restored engines agree.
        """
        service = self.state.services.get(task.service_id)
        policy = self.state.policy_of(service) if service is not None else None
        if policy is None or task.policy_level >= len(policy.levels):
            return False
        level = policy.levels[task.policy_level - 1]
        entered = task.level_entered_at
        return (
            level.time_in_level_s is not None
            and entered is not None
            and (entered + level.time_in_level_s <= now)
        )

    def _voice(
        self, task: Task | None, command: v.VoiceCommand, call_id: str | None = None
    ) -> None:
        """Journal a provider command for the task's call, or for `call_id` when the call
        has no task (the outbox sends it). Every `voice.command` is written here."""
        self._emit(
            "voice.command",
            {
                "task_id": task.id if task is not None else None,
                "call_id": task.call_id if task is not None else call_id,
                "command": v.to_json(command),
            },
        )

    def _ring(self, task: Task, offer_id: str, user_id: str, timeout_s: int) -> None:
        """An offer of a call rings the user's phone on a leg named after the offer, for
        the offer's ring time; a task without a call rings nothing."""
        if task.call_id is not None:
            self._voice(
                task,
                v.RingUser(
                    command_id=self.ids(),
                    call_id=task.call_id,
                    leg_id=offer_id,
                    user_id=user_id,
                    mode=v.RingMode.P2P if _rings_p2p(task, offer_id) else v.RingMode.CONFERENCE,
                    timeout_s=timeout_s,
                    presented_service_id=task.service_id,
                ),
            )

    def _stop_ringing(self, task: Task, offer_id: str) -> None:
        """End the phone leg of a closing offer (leg id = offer id); nothing without a call."""
        if task.call_id is not None:
            self._voice(task, v.CancelRing(command_id=self.ids(), leg_id=offer_id))

    def _ring_timeout(self, task: Task, offer_id: str, *, leg_gone: bool = False) -> None:
        """The offer rang out: by the engine's timer, or (`leg_gone`) the phone's own
        `no_answer`. Whichever comes first closes the offer, so RONA counts once."""
        if task.offers[offer_id].kind is OfferKind.TRANSFER:
            # No RONA for transfer offers (R3): the workflow's transfer has failed.
            self._withdraw(task, offer_id, WithdrawReason.RING_TIMEOUT, leg_gone=leg_gone)
            return
        assert task.queue is not None
        if task.queue.distribution_type is DistributionType.BROADCAST:
            generation = task.offers[offer_id].generation
            for offer in list(task.offers.values()):
                if offer.generation == generation:
                    gone = leg_gone and offer.id == offer_id
                    self._withdraw(task, offer.id, WithdrawReason.RING_TIMEOUT, leg_gone=gone)
            return
        if not leg_gone:
            self._stop_ringing(task, offer_id)
        offer = task.offers[offer_id]
        service = self.state.services[task.service_id]
        persistent = service.distribution.persistent_rona
        self._emit(
            "task.rona",
            {
                "task_id": task.id,
                "offer_id": offer_id,
                "user_id": offer.user_id,
                "persistent": persistent,
            },
        )
        if persistent:
            self._emit(
                "user.rona_set",
                {
                    "user_id": offer.user_id,
                    "service_id": service.id,
                    "clears_at": self.clock.now() + service.distribution.rona_reset_s,
                },
            )

    def _withdraw(
        self, task: Task, offer_id: str, reason: WithdrawReason, *, leg_gone: bool = False
    ) -> None:
        offer = task.offers[offer_id]
        if not leg_gone:
            self._stop_ringing(task, offer_id)
        self._emit(
            "task.offer_withdrawn",
            {
                "task_id": task.id,
                "offer_id": offer_id,
                "user_id": offer.user_id,
                "reason": reason.value,
            },
        )
        if offer.kind is OfferKind.TRANSFER:
            self.workflows.offer_closed(task, offer.kind, _TRANSFER_ERRORS.get(reason, "cancelled"))

    def _leave_queue(self, task: Task, reason: QueueExitReason) -> None:
        """Take the task out of its queue: its offers are withdrawn, then it exits."""
        for offer_id in list(task.offers):
            self._withdraw(task, offer_id, WithdrawReason.LEFT_QUEUE)
        self._emit("task.queue_exited", {"task_id": task.id, "reason": reason.value})

    def _exit_queue(self, task: Task, reason: QueueExitReason) -> None:
        self._leave_queue(task, reason)
        if not self.workflows.queue_left(task, reason.value):
            # The minimal workflow has nothing after its queue step: the call ends there.
            self._terminate(task, EndReason.WORKFLOW_DISCONNECT)

    # ================================================================ configuration

    def upsert(self, kind: str, entity: Any, *, validate: bool = True) -> None:
        """Create or replace a configuration entity.

        With `validate` (the default) the entity is checked against 01-model.md and the
        tenant's other entities first; every problem is reported at once in a
        `ValidationFailed` and nothing changes. Bulk loads of generated, known-good
        configuration (simulations, benchmarks) may pass `validate=False`.
        """
        expected = CONFIG_TYPES.get(kind)
        if expected is None:
            raise DomainError(f"Unknown configuration type '{kind}'.", code="unknown_type")
        if not isinstance(entity, expected):
            raise DomainError(
                f"A '{kind}' must be a {expected.__name__}.", code="invalid_type", type=kind
            )
        if kind == "workflow":
            self._upsert_workflow(entity, validate=validate)
            return
        if validate:
            require_valid(self._validate(kind, entity))
        # The event owns a private copy: neither the caller nor later state changes may
        # alter a fact once it is emitted (state replaces config objects, never mutates them).
        stored = copy.deepcopy(entity)
        if hasattr(stored, "version"):
            previous = (
                self.state.tenant if kind == "tenant" else self.state.table(kind).get(stored.id)
            )
            stored.version = previous.version + 1 if previous is not None else 1
        self._emit("config.upserted", {"type": kind, "entity": stored})
        self._settle()

    def _upsert_workflow(self, workflow: cfg.Workflow, *, validate: bool) -> None:
        """Save a workflow: the store numbers it and keeps it a draft (see `lifecycle`).

        Without `validate` (known-good documents loaded in bulk) the workflow is
        stored exactly as given, published or not.
        """
        if validate:
            stored = self.state.workflows.get(workflow.id)
            workflow = workflow_lifecycle.save_draft(workflow, stored)
            require_valid(self._validate("workflow", workflow))
        # Workflows are frozen: the event may share the object with nobody's harm.
        self._emit("config.upserted", {"type": "workflow", "entity": workflow})
        self._settle()

    def publish_workflow(self, workflow_id: str) -> cfg.Workflow:
        """Publish the workflow's draft as its next version (04 §1); every error refuses it."""
        head = self.state.workflows.get(workflow_id)
        if head is None:
            raise NotFound(f"No workflow with id '{workflow_id}'.", code="workflow_not_found")
        published = workflow_lifecycle.publish(head, references_from_catalog(self.catalog()))
        self._emit("config.upserted", {"type": "workflow", "entity": published})
        self._settle()
        return published

    def catalog(self) -> Catalog:
        """The tenant's configuration as the domain validators see it."""
        st = self.state
        return Catalog(
            ous=st.ous,
            services=st.services,
            users=st.users,
            skill_categories=st.categories,
            skills=st.skills,
            profiles=st.profiles,
            policies=st.policies,
            not_available_reasons=st.not_available_reasons,
            parameters=st.parameters,
            codes=st.codes,
            tags=st.tags,
            address_books=st.address_books,
            audio_resources=st.audio_resources,
            calendars=st.calendars,
            workflows=st.workflows,
            published_workflows=st.published_workflows,
        )

    def _validate(self, kind: str, entity: Any) -> list[Issue]:
        st = self.state
        if kind == "tenant":
            return validation.validate_tenant_settings(entity.settings, self.catalog())
        catalog = self.catalog()
        check = _VALIDATORS[kind]
        previous = st.table(kind).get(entity.id)
        return check(entity, catalog, previous)

    def remove(self, kind: str, entity_id: str) -> None:
        if kind == "tenant" or (kind == "ou" and entity_id == ROOT_OU_ID):
            raise Refused(f"The {kind} '{entity_id}' cannot be removed.", code="not_removable")
        table = self.state.table(kind)
        if entity_id not in table:
            raise NotFound(f"No {kind} with id '{entity_id}'.", code=f"{kind}_not_found")
        if kind == "profile" and entity_id in (cfg.ON_DUTY_PROFILE_ID, cfg.OFF_DUTY_PROFILE_ID):
            raise Refused("The built-in duty profiles cannot be removed.", code="not_removable")
        users = self.state.referrers(kind, entity_id)
        if users:
            raise Refused(
                f"The {kind} '{entity_id}' is still used by {len(users)} other entities.",
                code="entity_in_use",
                referrers=", ".join(users[:20]),
            )
        self._emit("config.removed", {"type": kind, "id": entity_id})
        self._settle()

    # ================================================================ task commands

    def create_task(
        self,
        *,
        service_id: str,
        kind: TaskKind = TaskKind.AUDIO_INBOUND,
        task_id: str | None = None,
        priority: Priority | None = None,
        caller: str | None = None,
        customer_identifier: str | None = None,
        reference_id: str | None = None,
        custom_context: dict[str, str] | None = None,
        preferred_users: Sequence[PreferredUser] = (),
        virtual_enqueue_at: float | None = None,
        queue: QueueSpec | None = None,
        auto_queue: bool = True,
        call_id: str | None = None,
    ) -> Task:
        """A contact arrives at a service (T1); with `auto_queue` its service session begins.

        A task whose service assigns a published workflow to its kind runs that
        workflow (RT1, T2). Otherwise it runs the built-in minimal workflow: accept,
        then queue with `queue` or the service's queue settings. `call_id` names the
        provider call of an audio task; without one, the task has no media.
        """
        st = self.state
        now = self.clock.now()
        service = st.services.get(service_id)
        if service is None:
            raise NotFound(f"No service with id '{service_id}'.", code="service_not_found")
        if kind.is_outbound:
            raise Refused(
                "Outbound tasks are created by call-on-behalf and campaigns, not here.",
                code="kind_not_supported",
                kind=kind.value,
            )
        task_id = task_id or self.ids()
        if st.task(task_id) is not None:
            raise Refused(f"A task with id '{task_id}' exists already.", code="not_unique")
        if virtual_enqueue_at is not None and not (now - 86_400 <= virtual_enqueue_at <= now):
            raise DomainError(
                "virtual_enqueue_at must lie within the last 24 hours and not in the future.",
                code="out_of_range",
                field="virtual_enqueue_at",
            )
        self._check_preferred(service, preferred_users)
        if call_id is not None and (call_id in st.calls or call_id in st.ended_calls):
            raise Refused(
                f"The call '{call_id}' belongs to a task already.",
                code="not_unique",
                field="call_id",
            )
        rejection = self._admission(service, kind)
        created: dict[str, Any] = {"call_id": call_id} if call_id is not None else {}
        self._emit(
            "task.created",
            {
                "task_id": task_id,
                "kind": kind.value,
                "service_id": service_id,
                "priority": int(priority or service.distribution.default_priority),
                "caller": caller,
                "customer_identifier": customer_identifier,
                "reference_id": reference_id,
                "custom_context": dict(custom_context or {}),
                "preferred_users": [
                    {"user_id": p.user_id, "priority": p.priority} for p in preferred_users
                ],
                "virtual_enqueue_at": virtual_enqueue_at,
                **created,
            },
        )
        task = st.tasks[task_id]
        if rejection is not None:
            if call_id is not None and kind.is_audio:
                self._voice(
                    task,
                    v.Reject(command_id=self.ids(), call_id=call_id, reason=v.RejectReason.BUSY),
                )
            self._terminate(task, EndReason.REJECTED, detail=rejection)
        elif auto_queue:
            workflow = self.workflows.workflow_for(task)
            if workflow is not None:
                self.workflows.start(task, workflow)
            else:
                self._minimal_workflow(task, queue)
        self._settle()
        return task

    def _minimal_workflow(self, task: Task, queue: QueueSpec | None = None) -> None:
        """The built-in workflow of a service without one for the task's kind."""
        self._emit(
            "task.workflow_started",
            {"task_id": task.id, "workflow_id": MINIMAL_WORKFLOW_ID, "workflow_version": 1},
        )
        if task.accepted_at is None:
            self._emit("task.accepted", {"task_id": task.id})
            if task.call_id is not None:
                # Its accept answers the call like the `accept` activity, so that the
                # agent's phone can be rung into it and the caller is not left ringing.
                self._voice(task, v.Answer(command_id=self.ids(), call_id=task.call_id))
        service = self.state.services[task.service_id]
        if not self._enqueue(task, queue or self._service_queue(service)):
            self._terminate(task, EndReason.WORKFLOW_DISCONNECT)

    def _service_queue(self, service: cfg.Service) -> QueueSpec:
        q = service.queue
        return QueueSpec(
            distribution_type=q.distribution_type,
            rona_timeout_s=q.rona_timeout_s,
            max_queue_time_s=q.max_queue_time_s,
            exit_when_no_users=q.exit_when_no_users,
        )

    def _admission(self, service: cfg.Service, kind: TaskKind) -> str | None:
        """Why a new task must be rejected at creation (T3), or None."""
        if not service.enabled:
            return "service_disabled"
        if kind.modality not in service.enabled_modalities:
            return "modality_not_enabled"
        cap = self.state.tenant.settings.max_concurrent_tasks_per_service.for_modality(
            kind.modality
        )
        if cap is not None and self.state.live_counts.get((service.id, kind.modality), 0) >= cap:
            return "service_capacity_reached"
        return None

    def _check_preferred(self, service: cfg.Service, prefs: Sequence[PreferredUser]) -> None:
        if len(prefs) > 10:
            raise DomainError(
                "preferred_users holds at most 10 users.",
                code="limit_exceeded",
                field="preferred_users",
            )
        seen: set[str] = set()
        for i, p in enumerate(prefs):
            if p.user_id in seen:
                raise DomainError(
                    f"preferred_users[{i}] repeats user '{p.user_id}'.",
                    code="not_unique",
                    field=f"preferred_users[{i}]",
                )
            seen.add(p.user_id)
            if p.user_id not in self.state.users:
                raise DomainError(
                    f"preferred_users[{i}] names unknown user '{p.user_id}'.",
                    code="unknown_reference",
                    field=f"preferred_users[{i}].user_id",
                )
            if p.priority is not None and not 1 <= p.priority <= 99:
                raise DomainError(
                    f"preferred_users[{i}].priority must be between 1 and 99.",
                    code="out_of_range",
                    field=f"preferred_users[{i}].priority",
                )

    def enqueue(self, task_id: str, queue: QueueSpec | None = None) -> None:
        """Queue a task that is in its workflow (T8): used by the workflow interpreter."""
        task = self._live_task(task_id)
        if task.state is not TaskState.IN_WORKFLOW:
            raise Refused(
                f"Only a task in its workflow can be queued; this one is '{task.state.value}'.",
                code="invalid_state",
            )
        if task.queued_once:
            raise Refused(
                "A task enters a service's queue at most once per service session.",
                code="already_queued",
            )
        spec = queue or self._service_queue(self.state.services[task.service_id])
        if not self._enqueue(task, spec) and not self.workflows.queue_left(task, "full"):
            self._terminate(task, EndReason.WORKFLOW_DISCONNECT)
        self._settle()

    def _enqueue(self, task: Task, queue: QueueSpec) -> bool:
        """Queue the task (T8); False, with `task.queue_exited(full)`, when the queue is full."""
        st = self.state
        service = st.services[task.service_id]
        limit = service.distribution.max_queue_size
        if limit is not None and st.waiting_counts.get(service.id, 0) >= limit:
            self._emit("task.queue_exited", {"task_id": task.id, "reason": "full"})
            return False
        if task.virtual_enqueue_at is not None:
            vea = task.virtual_enqueue_at
        elif task.explicit_enqueue_at is not None:
            vea = task.explicit_enqueue_at
        else:
            vea = self.clock.now()
        st.enqueue_seq += 1
        self._emit(
            "task.queued",
            {
                "task_id": task.id,
                "distribution_type": queue.distribution_type.value,
                "rona_timeout_s": queue.rona_timeout_s,
                "max_queue_time_s": queue.max_queue_time_s,
                "user_ordering": queue.user_ordering.value if queue.user_ordering else None,
                "exit_when_no_users": queue.exit_when_no_users,
                "virtual_enqueue_at": vea,
                "enqueue_seq": st.enqueue_seq,
                "policy_level": 1,
            },
        )
        if queue.exit_when_no_users and not st.service_online(service):
            self._exit_queue(task, QueueExitReason.NO_USERS)
        return True

    def _live_task(self, task_id: str) -> Task:
        task = self.state.tasks.get(task_id)
        if task is not None:
            return task
        if task_id in self.state.ended:
            raise Refused("The task has already ended.", code="task_gone", task_id=task_id)
        raise NotFound(f"No task with id '{task_id}'.", code="task_not_found", task_id=task_id)

    def _user(self, user_id: str) -> cfg.User:
        user = self.state.users.get(user_id)
        if user is None:
            raise NotFound(f"No user with id '{user_id}'.", code="user_not_found")
        return user

    def _user_offer(self, task: Task, user_id: str) -> str:
        for offer in task.offers.values():
            if offer.user_id == user_id:
                return offer.id
        raise Refused(
            "This task is not being offered to you (it may have been taken or withdrawn).",
            code="no_offer",
            task_id=task.id,
            user_id=user_id,
        )

    def accept(self, user_id: str, task_id: str) -> None:
        """The user accepts their offer (T11). First accept wins (B3)."""
        self._user(user_id)
        task = self._live_task(task_id)
        offer_id = self._user_offer(task, user_id)
        if task.call_id is not None:
            # Accepted in the client rather than on the ringing phone: the provider joins
            # the user's ringing leg to the call (its ringing ends with that).
            self._voice(
                task, v.Bridge(command_id=self.ids(), call_id=task.call_id, leg_id=offer_id)
            )
        self._connect(task, user_id, offer_id)

    def _connect(self, task: Task, user_id: str, offer_id: str) -> None:
        task_id = task.id
        self._emit("task.connected", {"task_id": task_id, "user_id": user_id, "offer_id": offer_id})
        for other in list(task.offers):
            self._withdraw(task, other, WithdrawReason.ACCEPTED_ELSEWHERE)
        if task.id in self.state.runs:
            self.workflows.handed_over(task)  # RT3: the user has it now
        self._settle()

    def decline(self, user_id: str, task_id: str) -> None:
        self._user(user_id)
        task = self._live_task(task_id)
        offer_id = self._user_offer(task, user_id)
        self._stop_ringing(task, offer_id)
        self._decline(task, user_id, offer_id)

    def _decline(self, task: Task, user_id: str, offer_id: str) -> None:
        task_id = task.id
        kind = task.offers[offer_id].kind
        broadcast = (
            task.queue is not None and task.queue.distribution_type is DistributionType.BROADCAST
        )
        skip = not broadcast and kind is not OfferKind.TRANSFER
        self._emit(
            "task.declined",
            {"task_id": task_id, "offer_id": offer_id, "user_id": user_id, "skip": skip},
        )
        self.workflows.offer_closed(task, kind, "declined")
        self._settle()

    def pickup(self, user_id: str, task_id: str) -> None:
        """Claim a task from the pickup list (K2): same checks as an offer."""
        user = self._user(user_id)
        task = self._live_task(task_id)
        if (
            task.state is not TaskState.QUEUED
            or task.queue is None
            or (task.queue.distribution_type is not DistributionType.PICKUP)
        ):
            raise Refused(
                "This task is not waiting in a pickup list.",
                code="task_unavailable",
                reason="not_pickup",
            )
        verdict = self.availability(user.id, task.service_id, task.kind.modality)
        if not verdict.selectable:
            raise Refused(verdict.message, code="task_unavailable", reason=verdict.reason)
        why = selection.eligibility(self.state, task, user_id, self.clock.now())
        if why is not None:
            raise Refused(
                "You may not take this task right now.", code="task_unavailable", reason=why
            )
        self._emit(
            "task.connected", {"task_id": task_id, "user_id": user_id, "session_id": self.ids()}
        )
        if task.id in self.state.runs:
            self.workflows.handed_over(task)  # RT3
        self._settle()

    def _connected_by(self, user_id: str, task_id: str, states: Iterable[TaskState]) -> Task:
        self._user(user_id)
        task = self._live_task(task_id)
        if task.connected_user_id != user_id:
            raise Refused("You are not handling this task.", code="not_your_task")
        allowed = tuple(states)
        if task.state not in allowed:
            raise Refused(
                f"Not possible while the task is {task.state.value.replace('_', ' ')}.",
                code="invalid_state",
                state=task.state.value,
            )
        return task

    def _check_work(self, action: str, user_id: str, task_id: str) -> Task:
        """The checks of hold, resume, park and unpark (also asked by `refusal`)."""
        task = self._connected_by(user_id, task_id, _WORK_STATES[action])
        if action == "hold" and not task.kind.is_audio:
            raise Refused("Only calls can be put on hold.", code="not_supported")
        if action == "unpark":
            live = self.state.live[user_id]
            other = live.blocking_task() or live.ringing()
            if other is not None or live.acw is not None:
                raise Refused(
                    "Finish your other active task before unparking this one.",
                    code="another_task_active",
                )
        return task

    def hold(self, user_id: str, task_id: str) -> None:
        self._check_work("hold", user_id, task_id)
        self._emit("task.held", {"task_id": task_id, "user_id": user_id})
        self._settle()

    def resume(self, user_id: str, task_id: str) -> None:
        self._check_work("resume", user_id, task_id)
        self._emit("task.resumed", {"task_id": task_id, "user_id": user_id})
        self._settle()

    def park(self, user_id: str, task_id: str) -> None:
        self._check_work("park", user_id, task_id)
        self._emit("task.parked", {"task_id": task_id, "user_id": user_id})
        self._settle()

    def unpark(self, user_id: str, task_id: str) -> None:
        self._check_work("unpark", user_id, task_id)
        self._emit("task.unparked", {"task_id": task_id, "user_id": user_id})
        self._settle()

    def hang_up(self, user_id: str, task_id: str) -> None:
        """The user ends the task (T36, `user_ended`)."""
        self._connected_by(user_id, task_id, _ENDABLE_STATES)
        self._user_ended(self.state.tasks[task_id])
        self._settle()

    def _user_ended(self, task: Task) -> None:
        """The connected user ends the task (T36, `user_ended`; ACW follows per A1).

        A call the user had (the workflow handed it over) is hung up for the
        caller too: nobody is left to talk to them. The provider's `call_ended`
        that follows finds no task and is refused (`unknown_call`).
        """
        if task.call_id is not None and task.id not in self.state.runs:
            self._voice(task, v.HangUp(command_id=self.ids(), call_id=task.call_id))
        self._terminate(task, EndReason.USER_ENDED)

    def customer_hang_up(self, task_id: str) -> None:
        """The customer leaves (T36). Processed before any pending offer or accept (I4)."""
        self._terminate(self._live_task(task_id), EndReason.CUSTOMER_HANGUP)
        self._settle()

    def cancel_task(self, task_id: str) -> None:
        """Remove a task through the API (external tasks, callbacks)."""
        self._terminate(self._live_task(task_id), EndReason.CANCELLED)
        self._settle()

    def _terminate(
        self, task: Task, reason: EndReason, detail: str | None = None, *, call_gone: bool = False
    ) -> None:
        """End the task (T36). `call_gone`: the provider no longer has its call, so
        neither the call nor its ringing legs are sent anything."""
        if task.id in self.state.runs:
            # First: nothing below may resume the workflow.
            self.workflows.stop(task, reason, call_gone=call_gone)
        withdraw = (
            WithdrawReason.CUSTOMER_LEFT
            if reason is EndReason.CUSTOMER_HANGUP
            else WithdrawReason.LEFT_QUEUE
        )
        for offer_id in list(task.offers):
            self._withdraw(task, offer_id, withdraw, leg_gone=call_gone)
        acw: list[tuple[str, cfg.Service]] = []
        service = self.state.services.get(task.service_id)
        for sid in sorted(self.state.task_sessions.get(task.id, ())):
            session = self.state.sessions[sid]
            if (
                service is not None
                and service.distribution.acw_enabled
                and session.kind.is_audio
                and session.reached_work
                and session.state not in (SessionState.PARKED, SessionState.INCOMING)
                and self.state.live[session.user_id].acw is None
            ):
                acw.append((session.user_id, service))
        data: dict[str, Any] = {
            "task_id": task.id,
            "end_reason": reason.value,
            "acw_user_ids": [u for u, _ in acw],
        }
        if detail is not None:
            data["detail"] = detail
        self._emit("task.terminated", data)
        now = self.clock.now()
        for user_id, svc in acw:
            d = svc.distribution
            self._emit(
                "user.acw_started",
                {
                    "user_id": user_id,
                    "task_id": task.id,
                    "service_id": svc.id,
                    "ends_at": now + d.acw_duration_s,
                    "allow_early_end": d.acw_allow_early_end,
                    "allow_extension": d.acw_allow_extension,
                    "max_extension_s": d.acw_max_extension_s,
                },
            )

    def set_task_parameter(self, task_id: str, parameter_id: str, value: str) -> None:
        """Set a custom parameter of a live task (API, integrations); a waiting
        `wait_for_parameter` sees it (04 §3.15)."""
        task = self._live_task(task_id)
        if parameter_id not in self.state.parameters:
            raise DomainError(
                f"parameter_id names no custom parameter '{parameter_id}'.",
                code="unknown_reference",
                field="parameter_id",
            )
        if len(value) > MAX_PARAMETER_LENGTH:
            raise DomainError(
                f"value must be at most {MAX_PARAMETER_LENGTH} characters; got {len(value)}.",
                code="too_long",
                field="value",
            )
        self._emit(
            "task.parameter_updated",
            {"task_id": task.id, "parameter_id": parameter_id, "value": value, "source": "api"},
        )
        self.workflows.parameter_changed(task, parameter_id, value)
        self._settle()

    def voice_event(self, event: v.VoiceEvent) -> None:
        """A provider reports something about a call (11 §1.3); the channel adapter calls this.

        An incoming call to a service's UPN, number or id becomes an audio task
        (calls to nothing known are rejected). A call that ends takes its task
        with it (RT2: the customer left, whatever the workflow was doing). Every
        other report goes to the task's workflow, which ignores what it is not
        waiting for. A report about a call no live task has is refused
        (`unknown_call`), so the adapter can log a late or stray event.
        """
        if isinstance(event, v.IncomingCall):
            self._incoming_call(event)
            self._settle()
            return
        task = self._task_of_event(event)
        if isinstance(event, v.CallEnded):
            run = self.state.runs.get(task.id)
            redirected = event.reason is v.CallEndReason.REDIRECTED
            if run is not None and redirected and run.wait is not None:
                self.workflows.voice(task, event)  # the redirect a transfer waits for
            if task.id in self.state.tasks:
                gone = redirected or event.reason is v.CallEndReason.TRANSFERRED
                self._terminate(
                    task, EndReason.TRANSFERRED_OUT if gone else EndReason.CUSTOMER_HANGUP
                )
        elif isinstance(event, (v.LegAnswered, v.LegEnded)):
            self._leg_event(task, event)
        else:
            self.workflows.voice(task, event)
        self._settle()

    def voice_commands_done(self, through_seq: int) -> None:
        """The voice outbox delivered every `voice.command` journaled up to `through_seq`
        to the provider (acknowledged, refused, or reported as failed): after a restart
        only the later ones are sent again (docs/voice.md, "The outbox")."""
        if through_seq > self.state.seq:
            raise DomainError(
                f"through_seq {through_seq} lies beyond the journal (at {self.state.seq}).",
                code="out_of_range",
                field="through_seq",
            )
        if through_seq > self.state.voice_done_seq:
            self._emit("voice.commands_done", {"through_seq": through_seq})

    def voice_calls_lost(self, live_call_ids: Iterable[str]) -> list[str]:
        """Reconcile with the provider (11 VP3, 12 SN4): every live task whose call the
        provider no longer has — it ended while nobody listened, or the provider died
        with the node (SI6) — ends `error` (`call_lost`), sending the call nothing.
        Returns the ended tasks' ids."""
        live = set(live_call_ids)
        st = self.state
        lost = [
            st.tasks[task_id]
            for call_id, task_id in sorted(st.calls.items())
            if call_id not in live
        ]
        for task in lost:
            log.warning("task %s: its call %s is gone at the provider", task.id, task.call_id)
            self._terminate(task, EndReason.ERROR, detail="call_lost", call_gone=True)
        self._settle()
        return [task.id for task in lost]

    def _leg_event(self, task: Task, event: v.LegAnswered | v.LegEnded) -> None:
        """The phone of an offer (leg id = offer id) was answered or stopped ringing.

        Queue offers and a workflow's transfer offers alike: answering accepts the
        offer. A conference leg joined the call when it was answered; a p2p leg
        (`direct` distribution) is a call of its own, which `bridge` joins to the
        caller's. A leg that rang out is the offer's ring timeout
        (RONA, or for a transfer offer its `no_answer` failure); any other end
        before an answer is a decline. The end of the connected user's leg (its
        offer became their session, same id) is the user leaving the call. A
        leg whose offer is closed already (withdrawn, timed out) is ignored.
        """
        offer = task.offers.get(event.leg_id)
        if offer is None:
            session = self.state.connected_session(task)
            if (
                isinstance(event, v.LegEnded)
                and session is not None
                and session.id == event.leg_id
                and session.user_id == event.user_id
            ):
                # The connected user left the call on their phone: as a hang-up in the
                # client (decision, docs/decisions.md).
                self._user_ended(task)
            return
        if offer.user_id != event.user_id:
            return
        if isinstance(event, v.LegAnswered):
            if task.call_id is not None and _rings_p2p(task, offer.id):
                # `direct` rang the user on a call of their own: join it to the caller's.
                self._voice(
                    task, v.Bridge(command_id=self.ids(), call_id=task.call_id, leg_id=offer.id)
                )
            self._connect(task, offer.user_id, offer.id)
        elif event.reason is v.CallEndReason.NO_ANSWER:
            self._ring_timeout(task, offer.id, leg_gone=True)
        else:
            self._decline(task, offer.user_id, offer.id)

    def dialled_service(self, to: str) -> cfg.Service | None:
        """The service a dialled address names: its id, UPN or number, in any case (the
        lowest id if several match); None for a blank address or no such service."""
        wanted = to.strip().casefold()
        if not wanted:
            return None
        return min(
            (
                s
                for s in self.state.services.values()
                if wanted in (s.id.casefold(), s.upn.casefold(), (s.pstn_number or "").casefold())
            ),
            key=lambda s: s.id,
            default=None,
        )

    def _incoming_call(self, event: v.IncomingCall) -> None:
        if event.call_id in self.state.calls:
            return  # told twice: the task exists already
        ended = self.state.ended_calls.get(event.call_id)
        if ended is not None:
            # Told again after its task ended (a provider re-delivering a notification):
            # the same call must not become a second task.
            raise Refused(
                f"The call '{event.call_id}' was task '{ended}', which has ended.",
                code="call_ended",
                call_id=event.call_id,
                task_id=ended,
            )
        service = self.dialled_service(event.to)
        if service is None:
            log.info("incoming call %s to %r: no such service; rejected", event.call_id, event.to)
            reject = v.Reject(
                command_id=self.ids(), call_id=event.call_id, reason=v.RejectReason.FORBIDDEN
            )
            self._voice(None, reject, call_id=event.call_id)
            return
        self.create_task(
            service_id=service.id,
            kind=TaskKind.AUDIO_INBOUND,
            caller=event.caller.id,
            customer_identifier=event.caller.id,
            call_id=event.call_id,
        )

    def _task_of_event(self, event: v.VoiceEvent) -> Task:
        st = self.state
        call_id = getattr(event, "call_id", None)
        if call_id is None and isinstance(event, v.OperationFailed):
            for run in st.runs.values():
                if run.wait is not None and run.wait.command_id == event.command_id:
                    return st.tasks[run.task_id]
        task_id = st.calls.get(call_id) if isinstance(call_id, str) else None
        if task_id is None:
            raise Refused(
                f"No live task has the call '{call_id}'.",
                code="unknown_call",
                call_id=call_id,
                event=event.name,
            )
        return st.tasks[task_id]

    def set_priority(self, task_id: str, priority: Priority) -> None:
        task = self._live_task(task_id)
        self._emit("task.priority_changed", {"task_id": task.id, "priority": int(priority)})
        self.state.dirty_tasks.add(task.id)
        self._settle()

    def set_preferred_users(self, task_id: str, prefs: Sequence[PreferredUser]) -> None:
        task = self._live_task(task_id)
        self._check_preferred(self.state.services[task.service_id], prefs)
        self._emit(
            "task.preferred_users_changed",
            {
                "task_id": task.id,
                "preferred_users": [{"user_id": p.user_id, "priority": p.priority} for p in prefs],
            },
        )
        self._settle()

    # ================================================================ user commands

    def set_presence(self, user_id: str, presence: Presence) -> None:
        self._user(user_id)
        live = self.state.user_live(user_id)
        if live.presence is presence:
            return
        self._emit("user.presence_changed", {"user_id": user_id, "presence": presence.value})
        if presence is Presence.OFFLINE and live.rona is not None:
            self._emit(
                "user.rona_cleared",
                {"user_id": user_id, "clear_reason": RonaClearReason.PRESENCE_OFFLINE.value},
            )
        self._settle()

    def set_profile(self, user_id: str, profile_id: str) -> None:
        user = self._user(user_id)
        profile = self.state.profiles.get(profile_id)
        if profile is None:
            raise NotFound(f"No duty profile with id '{profile_id}'.", code="profile_not_found")
        if profile.kind is ProfileKind.CUSTOM and profile_id not in user.responsibility_profile_ids:
            raise Refused(
                "This duty profile is not assigned to the user.",
                code="invalid_combination",
                field="profile_id",
            )
        if profile.kind is not ProfileKind.OFF_DUTY and not self._skill_based_member(user):
            raise Refused(
                "Going on duty needs an agent or owner membership of a skill-based service.",
                code="invalid_combination",
                field="profile_id",
            )
        if user.active_profile_id == profile_id:
            return
        self._emit("user.profile_changed", {"user_id": user_id, "profile_id": profile_id})
        live = self.state.live[user_id]
        if profile.kind is ProfileKind.OFF_DUTY and live.rona is not None:
            self._emit(
                "user.rona_cleared",
                {"user_id": user_id, "clear_reason": RonaClearReason.OFF_DUTY.value},
            )
        self._settle()

    def _skill_based_member(self, user: cfg.User) -> bool:
        """Whether duty matters for the user: an agent/owner of some skill-based service."""
        for membership in user.memberships.values():
            service = self.state.services.get(membership.service_id)
            if (
                service is not None
                and service.user_assignment_type is AssignmentType.SKILL_BASED
                and membership.role in (MembershipRole.AGENT, MembershipRole.OWNER)
            ):
                return True
        return False

    def set_active(self, user_id: str, service_id: str, active: bool) -> None:
        user = self._user(user_id)
        membership = user.memberships.get(service_id)
        if membership is None:
            raise Refused("The user is not a member of this service.", code="not_member")
        service = self.state.services[service_id]
        if service.user_assignment_type is not AssignmentType.TEAMS_BASED:
            raise Refused(
                "Only members of teams-based services switch themselves active; "
                "skill-based services follow the duty profile.",
                code="not_applicable",
                field="active",
            )
        if membership.active == active:
            return
        self._emit(
            "user.active_changed", {"user_id": user_id, "service_id": service_id, "active": active}
        )
        self._settle()

    def set_not_available(self, user_id: str, reason_id: str | None) -> None:
        user = self._user(user_id)
        if reason_id is not None:
            reason = self.state.not_available_reasons.get(reason_id)
            if reason is None or reason_id not in user.not_available_reason_ids:
                raise Refused(
                    "This not-available reason is not assigned to the user.",
                    code="unknown_reference",
                    field="reason_id",
                )
            if not reason.enabled:
                raise Refused("This not-available reason is disabled.", code="not_applicable")
        if self.state.live[user_id].not_available_reason_id == reason_id:
            return
        self._emit("user.not_available_changed", {"user_id": user_id, "reason_id": reason_id})
        self._settle()

    def _check_reset_rona(self, user_id: str) -> None:
        self._user(user_id)
        if self.state.user_live(user_id).rona is None:
            raise Refused("The user has no RONA flag to reset.", code="no_rona")

    def reset_rona(self, user_id: str, *, by_supervisor: bool = False) -> None:
        self._check_reset_rona(user_id)
        reason = RonaClearReason.SUPERVISOR_RESET if by_supervisor else RonaClearReason.USER_RESET
        self._emit("user.rona_cleared", {"user_id": user_id, "clear_reason": reason.value})
        self._settle()

    def _check_end_acw(self, user_id: str, *, by_supervisor: bool) -> None:
        self._user(user_id)
        acw = self.state.user_live(user_id).acw
        if acw is None:
            raise Refused("The user is not in after-call work.", code="not_in_acw")
        if not by_supervisor and not acw.allow_early_end:
            raise Refused(
                "This service does not allow ending after-call work early.",
                code="acw_early_end_not_allowed",
            )

    def end_acw(self, user_id: str, *, by_supervisor: bool = False) -> None:
        self._check_end_acw(user_id, by_supervisor=by_supervisor)
        self._end_acw(
            user_id, AcwEndReason.SUPERVISOR_END if by_supervisor else AcwEndReason.EARLY_END
        )
        self._settle()

    def _check_extend_acw(self, user_id: str) -> Acw:
        self._user(user_id)
        acw = self.state.user_live(user_id).acw
        if acw is None:
            raise Refused("The user is not in after-call work.", code="not_in_acw")
        if not acw.allow_extension:
            raise Refused(
                "This service does not allow extending after-call work.",
                code="acw_extension_not_allowed",
            )
        if acw.extended:
            raise Refused("After-call work can be extended once.", code="acw_already_extended")
        return acw

    def extend_acw(self, user_id: str) -> None:
        acw = self._check_extend_acw(user_id)
        self._emit(
            "user.acw_extended",
            {"user_id": user_id, "ends_at": self.clock.now() + acw.max_extension_s},
        )
        self._settle()

    def set_codes(
        self,
        user_id: str,
        task_id: str,
        *,
        primary_code_id: str | None,
        secondary_code_ids: Sequence[str] = (),
        tag_ids: Sequence[str] = (),
    ) -> None:
        """The user's codes and tags for their session of a task (01 §9): while they
        handle it or during its after-call work; they replace any chosen before."""
        self._user(user_id)
        session = self._codable_session(user_id, task_id)
        issues = check_wrap_up(
            self.state.services.get(session.service_id),
            self.state.codes,
            self.state.tags,
            primary_code_id=primary_code_id,
            secondary_code_ids=secondary_code_ids,
            tag_ids=tag_ids,
        )
        if issues:
            raise validation.ValidationFailed(issues)
        chosen = (primary_code_id, tuple(secondary_code_ids), tuple(tag_ids))
        if chosen == (session.primary_code_id, session.secondary_code_ids, session.tag_ids):
            return
        self._emit(
            "task.codes_set",
            {
                "task_id": task_id,
                "user_id": user_id,
                "session_id": session.id,
                "service_id": session.service_id,
                "primary_code_id": primary_code_id,
                "secondary_code_ids": list(secondary_code_ids),
                "tag_ids": list(tag_ids),
            },
        )

    def _codable_session(self, user_id: str, task_id: str) -> UserSession:
        for session in self.state.user_live(user_id).sessions.values():
            if session.task_id == task_id and session.state is not SessionState.INCOMING:
                return session
        if self.state.task(task_id) is None:
            raise NotFound(f"No task with id '{task_id}'.", code="task_not_found")
        raise Refused(
            "Codes and tags can be set only while you handle the task or during its "
            "after-call work.",
            code="no_session",
            task_id=task_id,
        )

    def _end_acw(self, user_id: str, reason: AcwEndReason) -> None:
        acw = self.state.live[user_id].acw
        assert acw is not None
        self._emit(
            "user.acw_ended",
            {
                "user_id": user_id,
                "task_id": acw.task_id,
                "end_reason": reason.value,
                "duration_s": self.clock.now() - acw.started_at,
            },
        )

    # ================================================================ queries

    def availability(self, user_id: str, service_id: str, modality: Any = None) -> Selectability:
        """The full selectability verdict for one user and service (02 §6.3)."""
        st = self.state
        user = self._user(user_id)
        service = st.services.get(service_id)
        if service is None:
            raise NotFound(f"No service with id '{service_id}'.", code="service_not_found")
        return evaluate(
            user,
            st.user_live(user_id),
            service,
            on_duty=st.on_duty(user),
            qualifying_level=st.qlevel.get((user_id, service_id)),
            now=self.clock.now(),
            modality=modality,
        )

    def refusal(self, action: str, user_id: str, task_id: str | None = None) -> DomainError | None:
        """Why the user's `action` would be refused right now, or None if it would run.

        The very checks the command makes, without making it: what a client shows
        beside a button it disables. Actions: `accept`, `decline`, `hold`, `resume`,
        `park`, `unpark`, `hangup` (on `task_id`); `acw_end`, `acw_extend`,
        `rona_reset` (the user's own, not a supervisor's).
        """
        try:
            if action in ("accept", "decline"):
                self._user(user_id)
                self._user_offer(self._live_task(_need(task_id)), user_id)
            elif action in _WORK_STATES:
                self._check_work(action, user_id, _need(task_id))
            elif action == "hangup":
                self._connected_by(user_id, _need(task_id), _ENDABLE_STATES)
            elif action == "acw_end":
                self._check_end_acw(user_id, by_supervisor=False)
            elif action == "acw_extend":
                self._check_extend_acw(user_id)
            elif action == "rona_reset":
                self._check_reset_rona(user_id)
            else:
                raise ValueError(f"unknown action {action!r}")
        except DomainError as refused:
            return refused
        return None

    def check_invariants(self) -> list[str]:
        """Violations of the routing invariants in the current state (for tests)."""
        return violations(self)


#: The task states in which its user may hold, resume, park or unpark it.
_WORK_STATES: dict[str, tuple[TaskState, ...]] = {
    "hold": (TaskState.CONNECTED,),
    "resume": (TaskState.ON_HOLD,),
    "park": (TaskState.CONNECTED,),
    "unpark": (TaskState.PARKED,),
}
#: The task states in which its user may end it (`hang_up`).
_ENDABLE_STATES = (TaskState.CONNECTED, TaskState.ON_HOLD, TaskState.PARKED, TaskState.CONSULTING)


def _need(task_id: str | None) -> str:
    if task_id is None:
        raise ValueError("this action needs a task_id")
    return task_id


_VALIDATORS: dict[str, Callable[[Any, Catalog, Any], list[Issue]]] = {
    "ou": validation.validate_ou,
    "service": validation.validate_service,
    "user": validation.validate_user,
    "skill_category": validation.validate_skill_category,
    "skill": validation.validate_skill,
    "profile": validation.validate_profile,
    "policy": validation.validate_policy,
    "not_available_reason": validation.validate_not_available_reason,
    "parameter": validation.validate_parameter,
    "code": validation.validate_code,
    "tag": validation.validate_tag,
    "address_book": validation.validate_address_book,
    "audio_resource": validation.validate_audio_resource,
    "calendar": validate_calendar,
    "workflow": workflow_lifecycle.validate_save,
}


def _rings_p2p(task: Task, offer_id: str) -> bool:
    """Whether the offer's phone rings peer-to-peer (03 D3, 11 §7): a queue offer of
    `direct` distribution. `direct_conference`, broadcast and a workflow's transfer
    offers invite the user straight into the call."""
    return (
        task.offers[offer_id].kind is OfferKind.DISTRIBUTION
        and task.queue is not None
        and task.queue.distribution_type is DistributionType.DIRECT
    )


#: The transfer error (05 §9) when a workflow's transfer offer is withdrawn.
_TRANSFER_ERRORS = {
    WithdrawReason.RING_TIMEOUT: "no_answer",
    WithdrawReason.USER_UNSELECTABLE: "no_answer",
}

#: User-level reasons that end a ringing offer at once instead of letting it time out.
_WITHDRAW_ON = frozenset(
    {
        Reason.USER_DISABLED,
        Reason.PRESENCE_OFFLINE,
        Reason.PRESENCE_UNKNOWN,
        Reason.PRESENCE_DO_NOT_DISTURB,
        Reason.NOT_AVAILABLE_REASON,
    }
)
