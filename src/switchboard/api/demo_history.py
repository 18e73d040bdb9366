"""Thirty days of simulated history for the demo tenant, so reports have something real.

Nothing here writes a report row. The demo's configuration (`demo.seed`) runs
in the real engine on a virtual clock, with the telephone simulator as the
provider (`VirtualVoice`, as `simulate --voice` does): callers dial the main
number, the front desk, support and sales, hear the IVR, press keys in the
menus, wait, give up, leave voicemails; agents work shifts in the tenant's time
zone, take breaks with not-available reasons, answer, sometimes let it ring or
decline, talk and do their after-call work; a few sales chats arrive through the
engine. Every event goes to the tenant's journal, in one database transaction,
so the history is there completely or not at all; reports are then projected
from the journal like any other (`reporting.rebuild`).

The traffic is a plan (`HistoryPlan`): calls per weekday spread over the day
by an hourly profile, fewer on Saturdays and Sundays, a seed for repeatability.
It ends a little before `end` (the caller passes "now"), once every call and
after-call work is over and the agents have gone offline, as the demo promises.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert

from switchboard.api import demo
from switchboard.channels.voice.sim_world import Behaviour, Phone, SimulatorConfig
from switchboard.channels.voice.simulator import VoiceSimulator
from switchboard.channels.voice.virtual_time import VirtualVoice
from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.calendars import OpeningState
from switchboard.domain.enums import Presence, TaskKind
from switchboard.domain.errors import DomainError
from switchboard.domain.opening_hours import OpeningHours
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine as RoutingEngine
from switchboard.engine.events import Event
from switchboard.engine.simulation import WorldQueue, frozen_gc, hang_up_if_connected
from switchboard.store.codec import encode_event
from switchboard.store.database import transaction
from switchboard.store.schema import journal as journal_table
from switchboard.store.sql_journal import SqlJournal

__all__ = ["HistoryPlan", "HistoryResult", "generate_history"]

#: Relative call volume per local hour of a working day (0–23).
HOURLY: tuple[float, ...] = (
    *(0.03,) * 7,
    0.25,  # 07
    0.9,
    1.35,
    1.45,
    1.3,
    0.85,  # 12
    1.0,
    1.25,
    1.15,
    1.0,
    0.75,
    0.2,  # 18
    0.1,
    *(0.05,) * 4,
)
#: Where callers go: (dialled address, share). Sales chats arrive beside these.
ENTRIES: tuple[tuple[str, float], ...] = (
    ("+41445550000", 0.36),  # the main number's menu
    ("+41445551000", 0.30),  # front desk
    ("+41445551001", 0.27),  # support
    ("sales@demo.switchboard.test", 0.07),  # sales, with a language menu
)
#: Mean talk time per service, seconds (lognormal, coefficient of variation 0.8).
TALK_S = {"svc-front": 150.0, "svc-support": 330.0, "svc-sales": 270.0, "svc-ivr": 120.0}
SAY = (
    "Hello, please call me back about my invoice.",
    "It is about my order from last week.",
    "My internet has been down since this morning.",
    "Could someone call me back, thank you.",
)


@dataclass(frozen=True, slots=True)
class HistoryPlan:
    days: int = 30
    #: calls on an ordinary working day (Saturday about a sixth, Sunday a twentieth)
    calls_per_weekday: int = 420
    #: share of sales contacts that come as chats rather than calls
    chats_per_weekday: int = 18
    seed: int = 2026

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 366:
            raise ValueError(f"days must be between 1 and 366; got {self.days}")
        if self.calls_per_weekday < 1 or self.chats_per_weekday < 0:
            raise ValueError("calls_per_weekday must be ≥ 1 and chats_per_weekday ≥ 0")


@dataclass(frozen=True, slots=True)
class HistoryResult:
    events: int
    calls: int
    chats: int
    start: float
    end: float
    seconds: float  # wall time the generation took


class _TransactionJournal:
    """The engine's journal for the history: rows into the journal table on one open
    connection (one transaction for the whole history), a few thousand per insert."""

    def __init__(self, connection: Connection, tenant_id: str, flush_rows: int = 5_000) -> None:
        self.connection = connection
        self.tenant_id = tenant_id
        self.flush_rows = flush_rows
        self.rows: list[dict[str, object]] = []
        self.events = 0

    def append(self, events: Sequence[Event]) -> None:
        tenant = self.tenant_id
        self.rows += [
            {"tenant_id": tenant, "seq": e.seq, "name": e.name, "at": e.at, "data": encode_event(e)}
            for e in events
        ]
        self.events += len(events)
        if len(self.rows) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.connection.execute(insert(journal_table), self.rows)
            self.rows = []


def _seeded_ids(rng: random.Random) -> Callable[[], str]:
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate_history(
    db: Engine,
    tenant_id: str,
    tenant_name: str,
    plan: HistoryPlan,
    *,
    end: float,
    progress: Callable[[int], None] | None = None,
) -> HistoryResult:
    """Journal `plan.days` days of demo traffic before `end` into the tenant's empty journal.

    The tenant's row must exist and its journal must be empty (ValueError
    otherwise). `progress(n)` reports simulated minutes as they pass (the total
    is `plan.days * 1440`).
    """
    if SqlJournal(db, tenant_id).last_seq() != 0:
        raise ValueError(f"tenant {tenant_id}'s journal is not empty: history goes first")
    started = time.perf_counter()
    zone = ZoneInfo(demo.DEMO_TIME_ZONE)
    last_day = datetime.fromtimestamp(end, zone).date() - timedelta(days=1)
    first_day = last_day - timedelta(days=plan.days - 1)
    begin = _midnight(first_day, zone)
    stop_at = min(_midnight(last_day + timedelta(days=1), zone), end - 600)
    with transaction(db, tenant_id, write=True) as connection:
        journal = _TransactionJournal(connection, tenant_id)
        run = _History(tenant_id, tenant_name, plan, journal, begin, stop_at, zone, progress)
        with frozen_gc():
            run.run()
        journal.flush()
    return HistoryResult(
        events=journal.events,
        calls=run.calls,
        chats=run.chats,
        start=begin,
        end=run.clock.now(),
        seconds=time.perf_counter() - started,
    )


@dataclass(slots=True)
class _Call:
    entry: str
    digits: str | None  # the key pressed at a menu (None: none)
    patience_s: float
    message: bool  # leaves a voicemail when asked
    task_id: str | None = None
    answered: bool = False


@dataclass(slots=True)
class _Shift:
    user_id: str
    start: float
    end: float
    breaks: list[tuple[float, float, str]] = field(default_factory=list)


class _History:
    def __init__(
        self,
        tenant_id: str,
        tenant_name: str,
        plan: HistoryPlan,
        journal: _TransactionJournal,
        begin: float,
        stop_at: float,
        zone: ZoneInfo,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.zone = zone
        self.stop_at = stop_at
        self.progress = progress
        self.clock = VirtualClock(begin)
        tenant = cfg.Tenant(id=tenant_id, name=tenant_name)
        engine = RoutingEngine(tenant, self.clock, journal=journal, ids=_seeded_ids(self.rng))
        self.engine = engine
        engine.upsert("tenant", tenant)  # what `Tenancy.create_tenant` journals first
        demo.seed(engine)
        engine.commit()
        self.simulator = VoiceSimulator(tenant_id, self.clock, SimulatorConfig(seed=plan.seed))
        self.voice = VirtualVoice(engine, self.simulator, _feed, self.clock)
        engine.subscribe(self._on_committed)
        self.world = WorldQueue()
        self.calls_by_id: dict[str, _Call] = {}
        self.call_of_task: dict[str, str] = {}
        self.calls = 0
        self.chats = 0
        self.minutes = 0
        self.begin = begin
        self.agents = [f"user-{login}" for login, *_ in demo.AGENTS]
        self.support = [f"user-{login}" for login, _, s, _ in demo.AGENTS if "support" in s]
        state = engine.state
        self.business = OpeningHours.of_calendar(
            state.calendars["cal-business"], tenant_zone=state.tenant.time_zone
        )

    # ------------------------------------------------------------------ the plan of a day

    def _plan_day(self, day: date) -> None:
        rng = self.rng
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=self.zone)
        noon = midnight + timedelta(hours=12)
        holiday = self.business.resolve(noon).state is OpeningState.HOLIDAY
        weekday = day.weekday()
        scale = (1.0, 1.0, 1.0, 1.0, 1.0, 0.16, 0.05)[weekday] * rng.uniform(0.9, 1.1)
        if holiday:
            scale *= 0.15
        for hour, weight in enumerate(HOURLY):
            at = midnight + timedelta(hours=hour)
            calls = _poisson(rng, self.plan.calls_per_weekday * scale * weight / sum(HOURLY))
            for _ in range(calls):
                self.world.at(at.timestamp() + rng.uniform(0, 3600), self._dial)
            if weekday < 5 and not holiday and 8 <= hour < 18:
                chats = _poisson(rng, self.plan.chats_per_weekday * scale / 10)
                for _ in range(chats):
                    self.world.at(at.timestamp() + rng.uniform(0, 3600), self._chat)
        for shift in self._shifts(day, midnight, weekday, holiday):
            self.world.at(shift.start, partial(self._presence, shift.user_id, Presence.AVAILABLE))
            for start, stop, reason in shift.breaks:
                self.world.at(start, partial(self._not_available, shift.user_id, reason))
                self.world.at(stop, partial(self._not_available, shift.user_id, None))
            self.world.at(shift.end, partial(self._leave, shift.user_id))

    def _shifts(self, day: date, midnight: datetime, weekday: int, holiday: bool) -> list[_Shift]:
        rng = self.rng
        if holiday or weekday == 6:
            return []
        if weekday == 5:  # Saturday: a few support agents for the morning line
            team = rng.sample(self.support, 3)
            start = midnight + timedelta(hours=8, minutes=45)
            return [_Shift(u, start.timestamp(), start.timestamp() + 4.5 * 3600) for u in team]
        shifts = []
        for user_id in self.agents:
            if rng.random() < 0.1:  # a day off
                continue
            start = midnight + timedelta(hours=7.5, minutes=rng.uniform(0, 90))
            length = timedelta(hours=8.5, minutes=rng.uniform(0, 45))
            lunch = midnight + timedelta(hours=11.5, minutes=rng.uniform(0, 90))
            lunch_s = rng.uniform(30, 50) * 60
            shift = _Shift(user_id, start.timestamp(), (start + length).timestamp())
            shift.breaks.append((lunch.timestamp(), lunch.timestamp() + lunch_s, "na-lunch"))
            for hour in (10, 15):
                at = midnight + timedelta(hours=hour, minutes=rng.uniform(0, 50))
                shift.breaks.append(
                    (at.timestamp(), at.timestamp() + rng.uniform(5, 15) * 60, "na-break")
                )
            if rng.random() < 0.15:
                at = midnight + timedelta(hours=13.75, minutes=rng.uniform(0, 60))
                shift.breaks.append((at.timestamp(), at.timestamp() + 3600, "na-training"))
            shifts.append(shift)
        return shifts

    # ------------------------------------------------------------------ the world's actions

    def _dial(self) -> None:
        if self.clock.now() >= self.stop_at:
            return  # nobody new after the end
        rng = self.rng
        pick = rng.random()
        entry = ENTRIES[-1][0]
        for address, share in ENTRIES:
            pick -= share
            if pick < 0:
                entry = address
                break
        digits: str | None = None
        if entry == ENTRIES[0][0]:  # the main menu: front desk, support, or nothing
            digits = rng.choices(["1", "2", None], weights=[0.46, 0.46, 0.08])[0]
        elif entry.startswith("sales"):  # the language menu: English, French
            digits = rng.choices(["1", "2", None], weights=[0.7, 0.25, 0.05])[0]
        self.calls += 1
        call_id = f"demo-call-{self.calls:06d}"
        self.calls_by_id[call_id] = _Call(
            entry=entry,
            digits=digits,
            patience_s=rng.expovariate(1 / 110),
            message=rng.random() < 0.7,
        )
        number = f"+4179{rng.randrange(10_000_000):07d}"
        self.simulator.place_call(
            v.Party(kind=v.PartyKind.PHONE, id=number), entry, call_id=call_id
        )
        if rng.random() < 0.03:  # hangs up in the IVR
            self.world.at(self.clock.now() + rng.uniform(2, 8), partial(self._hang_up, call_id))

    def _chat(self) -> None:
        if self.clock.now() >= self.stop_at:
            return
        self.chats += 1
        customer = f"chat-{self.rng.randrange(100_000):05d}@customer.test"
        with suppress(DomainError):
            task = self.engine.create_task(
                service_id="svc-sales",
                kind=TaskKind.CHAT_INBOUND,
                caller=customer,
                customer_identifier=customer,
            )
            patience = self.rng.expovariate(1 / 240)
            self.world.at(self.clock.now() + patience, partial(self._chat_gives_up, task.id))

    def _chat_gives_up(self, task_id: str) -> None:
        task = self.engine.state.tasks.get(task_id)
        if task is not None and task.is_waiting:
            self.engine.customer_hang_up(task_id)

    def _hang_up(self, call_id: str) -> None:
        call = self.simulator.calls.get(call_id)
        if call is not None and call.live:
            self.simulator.caller_hang_up(call_id)

    def _gives_up(self, call_id: str) -> None:
        """Patience ran out in the queue: hang up unless someone answered meanwhile."""
        call = self.calls_by_id.get(call_id)
        task = self.engine.state.tasks.get(call.task_id or "") if call is not None else None
        if task is not None and task.is_waiting:
            self._hang_up(call_id)

    def _press(self, call_id: str, digits: str) -> None:
        with suppress(ValueError):  # the caller may have hung up, or the menu moved on
            self.simulator.press(call_id, digits)

    def _say(self, call_id: str) -> None:
        with suppress(ValueError):
            self.simulator.say(call_id, self.rng.choice(SAY), self.rng.uniform(4, 14))

    def _presence(self, user_id: str, presence: Presence) -> None:
        with suppress(DomainError):
            self.engine.set_presence(user_id, presence)

    def _not_available(self, user_id: str, reason: str | None) -> None:
        with suppress(DomainError):
            self.engine.set_not_available(user_id, reason)

    def _leave(self, user_id: str) -> None:
        """The end of a shift: offline, once the agent is free (checked every minute)."""
        live = self.engine.state.live.get(user_id)
        if live is not None and (live.sessions or live.acw is not None):
            self.world.at(self.clock.now() + 60, partial(self._leave, user_id))
            return
        self._not_available(user_id, None)
        self._presence(user_id, Presence.OFFLINE)

    def _accept(self, user_id: str, task_id: str) -> None:
        with suppress(DomainError):
            self.engine.accept(user_id, task_id)

    # ------------------------------------------------------------------ what Switchboard did

    def _on_committed(self, events: Sequence[Event]) -> None:
        now = self.clock.now()
        rng = self.rng
        for e in events:
            name, data = e.name, e.data
            if name == "voice.command":
                command = data["command"]
                call = self.calls_by_id.get(data.get("call_id") or "")
                if call is None:
                    continue
                kind = command.get("type")
                if kind == "collect_digits" and call.digits is not None:
                    when = now + rng.uniform(4.5, 7)
                    self.world.at(when, partial(self._press, data["call_id"], call.digits))
                elif kind == "record":
                    action = self._say if call.message else self._hang_up
                    self.world.at(now + rng.uniform(3, 5), partial(action, data["call_id"]))
            elif name == "task.created":
                call_id = data.get("call_id")
                if call_id in self.calls_by_id:
                    self.calls_by_id[call_id].task_id = data["task_id"]
                    self.call_of_task[data["task_id"]] = call_id
            elif name == "task.queued":
                call_id = self.call_of_task.get(data["task_id"])
                if call_id is not None:
                    patience = self.calls_by_id[call_id].patience_s
                    self.world.at(now + patience, partial(self._gives_up, call_id))
            elif name == "task.offered":
                self._offered(data["user_id"], data["task_id"], now)
            elif name == "task.connected" and data.get("user_id"):
                task = self.engine.state.tasks.get(data["task_id"])
                talk = _lognormal(rng, TALK_S.get(task.service_id if task else "", 200.0))
                action = partial(
                    hang_up_if_connected, self.engine, data["user_id"], data["task_id"]
                )
                self.world.at(now + talk, action)
            elif name == "task.terminated":
                call_id = self.call_of_task.pop(data["task_id"], None)
                if call_id is not None:
                    self.calls_by_id.pop(call_id, None)

    def _offered(self, user_id: str, task_id: str, now: float) -> None:
        rng = self.rng
        if task_id not in self.call_of_task:  # a chat: the agent takes it in the client
            if rng.random() < 0.95:
                self.world.at(now + rng.uniform(3, 15), partial(self._accept, user_id, task_id))
            return
        roll = rng.random()
        if roll < 0.04:
            phone = Phone(Behaviour.IGNORE)
        elif roll < 0.07:
            phone = Phone(Behaviour.DECLINE, after_s=rng.uniform(1, 4))
        else:
            phone = Phone(Behaviour.ANSWER, after_s=rng.uniform(2, 9))
        self.simulator.set_phone(user_id, phone)

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        engine, simulator, voice, world = self.engine, self.simulator, self.voice, self.world
        day = datetime.fromtimestamp(self.begin, self.zone).date()
        while (midnight := _midnight(day, self.zone)) < self.stop_at:
            world.at(max(midnight, self.begin), partial(self._plan_day, day))
            day += timedelta(days=1)
        while True:
            voice.settle()
            if not world and self._quiet():
                break
            due = min(
                (d for d in (engine.next_deadline(), simulator.next_deadline()) if d is not None),
                default=math.inf,
            )
            if due <= world.next_at:
                self._tick(due)
                engine.advance()
                simulator.advance()
                continue
            when, action = world.pop()
            self._tick(when)
            action()
        self._finish()

    def _quiet(self) -> bool:
        state = self.engine.state
        return not state.tasks and all(live.acw is None for live in state.live.values())

    def _finish(self) -> None:
        """Every agent offline and free of reasons: the demo's agents start offline."""
        for user_id in self.agents:
            self._not_available(user_id, None)
            self._presence(user_id, Presence.OFFLINE)
        self.voice.settle()

    def _tick(self, when: float) -> None:
        self.clock.set(max(when, self.clock.now()))
        if self.progress is not None:
            minutes = int((self.clock.now() - self.begin) // 60)
            if minutes > self.minutes:
                self.progress(minutes - self.minutes)
                self.minutes = minutes


def _feed(engine: RoutingEngine, event: v.VoiceEvent) -> None:
    engine.voice_event(event)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth's method; the means here are small)."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _lognormal(rng: random.Random, mean: float, cv: float = 0.8) -> float:
    sigma2 = math.log(1 + cv * cv)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


def _midnight(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).timestamp()
