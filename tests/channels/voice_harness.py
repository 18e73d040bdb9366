"""A tenant whose hotline runs a small IVR menu, for the voice channel tests.

Shared by tests/channels/test_voice_*.py: service `svc` (UPN hotline@acme.test,
number +41445550000, teams-based) with agent Anna (offline), running
start → accept → welcome → menu (1: queue, 2: goodbye) → disconnect.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from switchboard.channels.voice.sim_world import SimulatorConfig
from switchboard.channels.voice.simulator import VoiceSimulator
from switchboard.channels.voice.virtual_time import VirtualVoice
from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import AssignmentType
from switchboard.engine.clock import Clock, VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from workflow_nodes import node, started

CALLER = v.Party(kind=v.PartyKind.PHONE, id="+41791234567")
WELCOME = "Welcome to Hotline, caller +41791234567."
MENU = "Press 1 for an agent, 2 to leave."
WELCOME_TEMPLATE = "Welcome to {{system.service.name}}, caller {{system.caller.tel_number}}."


def _flow() -> cfg.Workflow:
    return started(
        [
            node("hello", "announcement", {"next": "menu"}, prompt={"text": WELCOME_TEMPLATE}),
            node(
                "menu",
                "input_customer",
                {"option_1": "q", "option_2": "bye", "invalid": "bye", "no_input": "bye"},
                prompt={"text": MENU},
                options=["1", "2"],
            ),
            node("q", "queue", {"timeout": "bye", "no_users": "bye", "full": "bye"}),
            node("bye", "disconnect", final_prompt={"text": "Goodbye."}),
        ],
        workflow_id="wf-hotline",
        name="Hotline menu",
        accept=True,
    )


def hotline(clock: Clock) -> Engine:
    """The engine of the tenant, configured (uncommitted: the caller commits or drains)."""
    counter = itertools.count()
    engine = Engine(cfg.Tenant(id="t", name="T"), clock, ids=lambda: f"id-{next(counter)}")
    engine.upsert(
        "service",
        cfg.Service(
            id="svc",
            name="Hotline",
            upn="hotline@acme.test",
            pstn_number="+41445550000",
            user_assignment_type=AssignmentType.TEAMS_BASED,
        ),
    )
    engine.upsert(
        "user",
        cfg.User(
            id="anna",
            upn="anna@acme.test",
            display_name="Anna",
            memberships={"svc": cfg.Membership("svc")},
        ),
    )
    _install(engine, _flow())
    return engine


def use_workflow(engine: Engine, nodes: list[dict[str, object]], workflow_id: str = "wf-x") -> None:
    """Publish `nodes` (after a start node that leads to the first) as the hotline's workflow."""
    _install(engine, started(nodes, workflow_id=workflow_id, name=f"Workflow {workflow_id}"))


def _install(engine: Engine, workflow: cfg.Workflow) -> None:
    """Publish `workflow` as the hotline's audio inbound workflow."""
    engine.upsert("workflow", workflow)
    engine.publish_workflow(workflow.id)
    service = engine.state.services["svc"]
    engine.upsert(
        "service", replace(service, workflows={**service.workflows, "audio_inbound": workflow.id})
    )


class Line:
    """The hotline's engine and the simulator in virtual time, with the journal kept."""

    def __init__(self, nodes: list[dict[str, object]] | None = None, *, seed: int = 3) -> None:
        self.clock = VirtualClock()
        self.engine = hotline(self.clock)
        if nodes is not None:
            use_workflow(self.engine, nodes)
        self.journal: list[Event] = []
        self.engine.subscribe(self.journal.extend)
        self.engine.commit()
        self.sim = VoiceSimulator("t", self.clock, SimulatorConfig(seed=seed, seconds_per_word=0.5))
        self.voice = VirtualVoice(
            self.engine, self.sim, lambda e, ev: e.voice_event(ev), self.clock
        )

    def commands(self, kind: str) -> list[dict[str, object]]:
        return [
            e.data["command"]
            for e in self.journal
            if e.name == "voice.command" and e.data["command"]["type"] == kind
        ]

    def events(self, name: str) -> list[Event]:
        return [e for e in self.journal if e.name == name]

    def said(self, call_id: str) -> list[str]:
        return [entry.what for entry in self.sim.calls[call_id].transcript]

    def heard(self, call_id: str) -> list[str]:
        return [e.text for e in self.sim.calls[call_id].transcript if e.what == "prompt"]
