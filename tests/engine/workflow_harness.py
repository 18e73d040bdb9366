"""A tenant with one service running a given workflow, and the test as the provider.

Shared by tests/engine/test_workflow_*.py. The engine is real and runs in
virtual time; the test plays the voice provider: it reads the `voice.command`
events the engine commits (exactly what a channel adapter receives) and answers
with provider events through `Engine.voice_event` (exactly what an adapter
calls). Ids are counted, so runs are repeatable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import AssignmentType, Modality, Presence, TaskKind
from switchboard.domain.task import Task
from switchboard.domain.workflow import Workflow
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine, JournalPort
from switchboard.engine.events import Event
from workflow_nodes import started

C = TypeVar("C", bound=v.VoiceCommand)

SERVICE = "svc"
SERVICE_UPN = "hotline@acme.test"


def document(
    nodes: Sequence[dict[str, Any]],
    *,
    modality: str = "audio",
    workflow_id: str = "wf",
    name: str = "Test flow",
    accept: bool = True,
) -> Workflow:
    """start (→ accept) → the given nodes; the first given node follows."""
    return started(nodes, workflow_id=workflow_id, name=name, modality=modality, accept=accept)


@dataclass
class World:
    engine: Engine
    clock: VirtualClock
    events: list[Event] = field(default_factory=list)
    commands: list[v.VoiceCommand] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def _on_batch(self, batch: Sequence[Event]) -> None:
        self.events.extend(batch)
        for event in batch:
            if event.name == "voice.command":
                self.commands.append(v.from_json(event.data["command"], v.VoiceCommand))

    # ------------------------------------------------------------------ setup

    def publish(
        self, workflow: Workflow, *, slot: str = "audio_inbound", service: str = SERVICE
    ) -> None:
        self.engine.upsert("workflow", workflow)
        self.engine.publish_workflow(workflow.id)
        current = self.engine.state.services[service]
        self.engine.upsert(
            "service", replace(current, workflows={**current.workflows, slot: workflow.id})
        )
        self.commit()

    def commit(self) -> None:
        self.engine.commit()

    def crash_and_restore(self, journal: Any) -> Engine:
        """Lose the engine (and whatever it had not committed); rebuild it from the journal."""
        old = self.engine
        old.unsubscribe(self._on_batch)
        restored = Engine.restore(
            old.state.tenant, self.clock, journal.read(), journal=journal, ids=counting_ids("r")
        )
        restored.subscribe(self._on_batch)
        self.engine = restored
        return restored

    # ------------------------------------------------------------------ the provider

    def envelope(self) -> dict[str, Any]:
        return {
            "tenant_id": "t",
            "provider_event_id": f"pe-{next(self._counter)}",
            "received_at": self.clock.now(),
        }

    def send(self, cls: type[v.VoiceEvent], **fields: Any) -> None:
        self.engine.voice_event(cls(**self.envelope(), **fields))
        self.commit()

    def call(
        self, call_id: str = "call-1", to: str = SERVICE_UPN, caller: str = "+41790000001"
    ) -> Task:
        """A call arrives; the engine answers (when the workflow accepts) and is told so."""
        self.send(
            v.IncomingCall,
            call_id=call_id,
            to=to,
            caller=v.Party(kind=v.PartyKind.PHONE, id=caller),
        )
        task_id = self.engine.state.calls[call_id]
        answer = self.pending(v.Answer)
        if answer is not None and answer.call_id == call_id:
            self.send(v.CallStateChanged, call_id=call_id, state=v.CallState.ESTABLISHED)
        return self.engine.state.task(task_id)  # type: ignore[return-value]

    def last(self, cls: type[C]) -> C:
        found = self.pending(cls)
        assert found is not None, f"no {cls.name} among {[c.name for c in self.commands]}"
        return found

    def pending(self, cls: type[C]) -> C | None:
        for command in reversed(self.commands):
            if isinstance(command, cls):
                return command
        return None

    def played(
        self, command: v.VoiceCommand, status: v.MediaStatus = v.MediaStatus.COMPLETED
    ) -> None:
        self.send(
            v.MediaCompleted, call_id=_call(command), command_id=command.command_id, status=status
        )

    def keys(self, digits: str, reason: v.CollectReason = v.CollectReason.MAX) -> None:
        collect = self.last(v.CollectDigits)
        self.send(
            v.DigitsCollected,
            call_id=collect.call_id,
            command_id=collect.command_id,
            digits=digits,
            reason=reason if digits else v.CollectReason.TIMEOUT,
        )

    def hang_up(self, call_id: str = "call-1") -> None:
        self.send(
            v.CallEnded,
            call_id=call_id,
            reason=v.CallEndReason.HUNG_UP,
            ended_by=v.EndedBy.CUSTOMER,
        )

    def advance(self, seconds: float) -> None:
        target = self.clock.now() + seconds
        while (due := self.engine.next_deadline()) is not None and due <= target:
            self.clock.set(max(due, self.clock.now()))
            self.engine.advance()
            self.commit()
        self.clock.set(target)
        self.engine.advance()
        self.commit()

    # ------------------------------------------------------------------ reading the journal

    def named(self, name: str, task_id: str | None = None) -> list[dict[str, Any]]:
        return [
            e.data
            for e in self.events
            if e.name == name and (task_id is None or e.data.get("task_id") == task_id)
        ]

    def path(self, task_id: str) -> list[tuple[str, str]]:
        """(node, exit) of every completed node, in order."""
        return [(d["node_id"], d["exit"]) for d in self.named("workflow.node_completed", task_id)]

    def warnings(self, task_id: str) -> list[str]:
        return [d["code"] for d in self.named("workflow.warning", task_id)]

    def ended(self, task_id: str) -> dict[str, Any]:
        (data,) = self.named("workflow.ended", task_id)
        return data

    def task(self, task_id: str) -> Task:
        found = self.engine.state.task(task_id)
        assert found is not None
        return found

    def set_presence(self, user_id: str, presence: Presence) -> None:
        self.engine.set_presence(user_id, presence)
        self.commit()


def _call(command: v.VoiceCommand) -> str:
    call_id = getattr(command, "call_id", None)
    assert isinstance(call_id, str)
    return call_id


def counting_ids(prefix: str = "id") -> Any:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def world(
    *,
    modalities: Iterable[Modality] = (Modality.AUDIO,),
    members: Sequence[str] = ("anna",),
    tenant: cfg.Tenant | None = None,
    journal: JournalPort | None = None,
    **service: Any,
) -> World:
    """A tenant with service `svc` (teams-based) and its members, all offline."""
    clock = VirtualClock()
    engine = Engine(
        tenant or cfg.Tenant(id="t", name="T"), clock, journal=journal, ids=counting_ids()
    )
    w = World(engine, clock)
    engine.subscribe(w._on_batch)
    engine.upsert(
        "service",
        cfg.Service(
            id=SERVICE,
            name="Hotline",
            upn=SERVICE_UPN,
            pstn_number="+41445550000",
            user_assignment_type=AssignmentType.TEAMS_BASED,
            enabled_modalities=frozenset(modalities),
            **service,
        ),
    )
    for user_id in members:
        engine.upsert(
            "user",
            cfg.User(
                id=user_id,
                upn=f"{user_id}@acme.test",
                display_name=user_id.title(),
                memberships={SERVICE: cfg.Membership(SERVICE)},
            ),
        )
    w.commit()
    return w


def api_task(w: World, kind: TaskKind = TaskKind.AUDIO_INBOUND, **fields: Any) -> Task:
    """A task created over the API: no provider call behind it."""
    task = w.engine.create_task(service_id=SERVICE, kind=kind, **fields)
    w.commit()
    return task
