"""The simulation's traffic as telephone calls: `switchboard simulate --voice`.

`engine.simulation.Simulator` creates tasks with `Engine.create_task`; that
measures routing alone. This driver sends the *same callers* (one
`CallerModel`, one seed: same arrival instants, services, handle times and
patience) through the whole voice path instead, so a run also exercises what
production does with a call: the caller dials the service in the
`VoiceSimulator`, `incoming_call` creates the task, the service's published
workflow (the "Queue IVR Voicemail" template) answers, checks the opening
hours, plays its welcome and queues the call; offers ring the agents'
simulated phones, which answer `ring_s` after ringing (the agents' answer
model); the agent hangs up in the client after the caller's handle time,
which sends `hang_up` for the call; a caller whose patience runs out in the
queue hangs up their phone, and the provider's `call_ended` ends the task.
Everything goes through `VirtualVoice`, the journal-first loop of engine and
simulator on one virtual clock, so a run is repeatable for a seed.

Where the clock of a caller's wait starts is a decision (docs/simulation.md,
"Voice runs"): at the call's entry into the queue, as contact centres measure
ASA and service level, and as the plain run measures it (its tasks queue the
instant they arrive). The caller's patience runs from there too. The time the
workflow takes before the queue (answering, the welcome prompt) is reported on
its own as `ivr_seconds`. With that, both drivers' KPIs describe the same
queue and agree within noise; what differs is recorded next to them.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from switchboard.channels.voice.sim_world import Behaviour, Phone, SimulatorConfig
from switchboard.channels.voice.simulator import VoiceSimulator
from switchboard.channels.voice.virtual_time import VirtualVoice
from switchboard.domain import voice as v
from switchboard.domain.enums import Presence
from switchboard.domain.workflow.templates import queue_ivr_voicemail
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.engine.simulation import (
    CallerModel,
    CallRecord,
    RunResult,
    Scenario,
    TrafficParams,
    WorldQueue,
    frozen_gc,
    hang_up_if_connected,
    measure,
    sequential_ids,
)

#: The template's queue may wait this long (the longest the queue activity allows, a
#: week), so no caller times out into voicemail: the plain run's queue has no timeout
#: either, and leaving the queue is the caller's decision (their patience).
QUEUE_LIMIT_S = 604_800
WORKFLOW_TEMPLATE = "Queue IVR Voicemail"


@dataclass(slots=True)
class VoiceRunResult:
    """A voice run: the same KPIs as the plain run, plus what only calls have."""

    run: RunResult
    #: Calls dialled and calls the simulator has ended when the run stops.
    calls_placed: int
    calls_ended: int
    #: Mean time from dialling to entering the queue (answer, opening hours, welcome).
    ivr_seconds: float
    #: Mean time from dialling to talking to an agent, over answered calls.
    answer_from_dial_seconds: float
    voice_commands: int
    voice_events: int
    #: Provider events the engine refused, by name. After an agent's hang-up the
    #: provider's `call_ended` finds no task: one `call_ended` per answered call.
    refused: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, object]:
        return {
            "calls_placed": self.calls_placed,
            "calls_ended": self.calls_ended,
            "ivr_seconds": self.ivr_seconds,
            "answer_from_dial_seconds": self.answer_from_dial_seconds,
            "voice_commands": self.voice_commands,
            "voice_events": self.voice_events,
            "refused": dict(self.refused),
        }


class VoiceTraffic:
    """One run of a scenario's traffic as calls through the voice simulator."""

    def __init__(
        self,
        scenario: Scenario,
        params: TrafficParams,
        *,
        progress: Callable[[int], None] | None = None,
        keep_ended_calls: bool = False,
    ) -> None:
        """`keep_ended_calls`: the simulator keeps every ended call and its transcript
        (for tests that read them all; about 4 KB a call) instead of the recent ones."""
        self.params = params
        self.scenario = scenario
        self.progress = progress
        self.clock = VirtualClock()
        self.engine = Engine(scenario.tenant, self.clock, ids=sequential_ids())
        config = SimulatorConfig(seed=params.seed)
        if keep_ended_calls:
            config = replace(config, ended_calls_kept=params.calls, ended_call_max_age_s=math.inf)
        self.simulator = VoiceSimulator(scenario.tenant.id, self.clock, config)
        self.voice = VirtualVoice(self.engine, self.simulator, self._feed, self.clock)
        self.callers = CallerModel(params, scenario.service_weights, random.Random(params.seed))
        self.records: dict[str, CallRecord] = {}  # by call id
        self.ended = 0
        self._dialled: dict[str, float] = {}
        self._call_of_task: dict[str, str] = {}
        self._patience: dict[str, float] = {}  # by call id, until the call queues
        self._queued: set[str] = set()
        self.world = WorldQueue()
        self._commands = 0
        self._events = 0
        self._refused: Counter[str] = Counter()
        self.engine.subscribe(self._on_committed)
        self._configure()
        self.start = self.clock.now()

    # ---------------------------------------------------------------- set-up

    def _configure(self) -> None:
        engine, scenario = self.engine, self.scenario
        for kind, entity in scenario.entities:
            engine.upsert(kind, entity, validate=False)  # generated, known-good config
        self._numbers: dict[str, str] = {}
        for service_id, _ in scenario.service_weights:
            service = engine.state.services[service_id]
            several = len(scenario.service_weights) > 1  # names are unique in a tenant
            workflow = queue_ivr_voicemail(
                workflow_id=f"wf-voice-{service_id}",
                ou_id=service.ou_id,
                name=f"{WORKFLOW_TEMPLATE} ({service.name})"[:128]
                if several
                else WORKFLOW_TEMPLATE,
                max_queue_time_s=QUEUE_LIMIT_S,
            )
            engine.upsert("workflow", workflow)
            engine.publish_workflow(workflow.id)
            flows = {**service.workflows, "audio_inbound": workflow.id}
            engine.upsert("service", replace(service, workflows=flows), validate=False)
            self._numbers[service_id] = service.upn  # callers dial the service's UPN
        # The agents' answer model: every phone answers `ring_s` after it starts ringing.
        phone = Phone(Behaviour.ANSWER, after_s=self.params.ring_s)
        for user_id in scenario.user_ids:
            self.simulator.set_phone(user_id, phone)
            engine.set_presence(user_id, Presence.AVAILABLE)
        self.voice.settle()

    # ---------------------------------------------------------------- world

    def _feed(self, engine: Engine, event: v.VoiceEvent) -> None:
        self._events += 1
        engine.voice_event(event)

    def _dial(self, index: int) -> None:
        now = self.clock.now()
        caller = self.callers.caller()
        call_id = f"call-{index:08d}"
        self.records[call_id] = CallRecord(arrived=now, index=index, handle_s=caller.handle_s)
        self._dialled[call_id] = now
        party = v.Party(kind=v.PartyKind.PHONE, id=f"+4179{index % 10_000_000:07d}")
        self.simulator.place_call(party, self._numbers[caller.service_id], call_id=call_id)
        if caller.patience_s is not None:
            self._patience[call_id] = caller.patience_s
        if index + 1 < self.params.calls:
            self.world.at(now + self.callers.gap(), partial(self._dial, index + 1))

    def _give_up(self, call_id: str) -> None:
        """The caller hangs up unless an agent is on the line by now."""
        call = self.simulator.calls.get(call_id)
        if (
            call is not None
            and call.live
            and not any(leg.state == "answered" for leg in call.legs.values())
        ):
            self.simulator.caller_hang_up(call_id)

    def _on_committed(self, events: Sequence[Event]) -> None:
        now = self.clock.now()
        for e in events:
            name = e.name
            if name == "voice.command":
                self._commands += 1
            elif name == "task.created":
                call_id = e.data.get("call_id")
                if call_id in self.records:
                    self._call_of_task[e.data["task_id"]] = call_id
            elif name == "task.queued":
                call_id = self._call_of_task.get(e.data["task_id"])
                patience = self._patience.pop(call_id, None) if call_id else None
                if call_id is not None and call_id not in self._queued:
                    self._queued.add(call_id)
                    self.records[call_id].arrived = e.at  # the wait starts in the queue
                    if patience is not None:
                        self.world.at(max(e.at + patience, now), partial(self._give_up, call_id))
            elif name == "task.connected":
                call_id = self._call_of_task.get(e.data["task_id"])
                user_id = e.data.get("user_id")
                if call_id is not None and user_id is not None:
                    record = self.records[call_id]
                    record.answered = e.at
                    when = max(e.at + record.handle_s, now)
                    self.world.at(
                        when, partial(hang_up_if_connected, self.engine, user_id, e.data["task_id"])
                    )
            elif name == "task.terminated":
                call_id = self._call_of_task.pop(e.data["task_id"], None)
                if call_id is not None:
                    self.records[call_id].end(e.at)
                    self.ended += 1
                    if self.progress is not None:
                        self.progress(1)

    # ---------------------------------------------------------------- loop

    def run(self) -> VoiceRunResult:
        with frozen_gc():
            return self._run()

    def _run(self) -> VoiceRunResult:
        engine, simulator, clock, voice = self.engine, self.simulator, self.clock, self.voice
        world = self.world
        world.at(clock.now(), partial(self._dial, 0))
        while True:
            voice.settle()
            if voice.refused:
                self._refused.update(event.name for event, _ in voice.refused)
                voice.refused.clear()
            if not world and self.ended >= self.params.calls:
                break
            due = min(
                (d for d in (engine.next_deadline(), simulator.next_deadline()) if d is not None),
                default=math.inf,
            )
            next_world = world.next_at
            if due == math.inf and next_world == math.inf:
                break  # nothing can happen any more (a defect: some call never ended)
            if due <= next_world:
                clock.set(max(due, clock.now()))
                engine.advance()
                simulator.advance()
                continue
            when, action = world.pop()
            clock.set(max(when, clock.now()))
            action()
        return self._result()

    def _result(self) -> VoiceRunResult:
        run = measure(
            self.records.values(),
            self.params,
            agents=len(self.scenario.user_ids),
            start=self.start,
            end=self.clock.now(),
            metrics=self.engine.metrics,
        )
        measured = [
            (call_id, r)
            for call_id, r in self.records.items()
            if r.index >= self.params.warmup_calls
        ]
        ivr = [r.arrived - self._dialled[call_id] for call_id, r in measured]
        from_dial = [
            r.answered - self._dialled[call_id] for call_id, r in measured if r.answered is not None
        ]
        return VoiceRunResult(
            run=run,
            calls_placed=self.simulator.calls_placed,
            calls_ended=self.simulator.calls_ended,
            ivr_seconds=statistics.fmean(ivr) if ivr else 0.0,
            answer_from_dial_seconds=statistics.fmean(from_dial) if from_dial else 0.0,
            voice_commands=self._commands,
            voice_events=self._events,
            refused=dict(sorted(self._refused.items())),
        )
