"""A tenant whose hotline runs a small IVR menu, for the voice channel tests.

Shared by tests/channels/test_voice_*.py: service `svc` (UPN hotline@acme.test,
number +41445550000, teams-based) with agent Anna (offline), running
start → accept → welcome → menu (1: queue, 2: goodbye) → disconnect.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import AssignmentType
from switchboard.domain.workflow import parse_workflow
from switchboard.engine.clock import Clock
from switchboard.engine.engine import Engine

CALLER = v.Party(kind=v.PartyKind.PHONE, id="+41791234567")
WELCOME = "Welcome to Hotline, caller +41791234567."
MENU = "Press 1 for an agent, 2 to leave."
WELCOME_TEMPLATE = "Welcome to {{system.service.name}}, caller {{system.caller.tel_number}}."


def _flow() -> cfg.Workflow:
    def n(
        node_id: str, kind: str, exits: dict[str, str] | None = None, **settings: object
    ) -> dict[str, object]:
        out: dict[str, object] = {"id": node_id, "type": kind}
        if exits:
            out["exits"] = exits
        if settings:
            out["settings"] = settings
        return out

    return parse_workflow(
        {
            "id": "wf-hotline",
            "ou_id": "root",
            "name": "Hotline menu",
            "modality": "audio",
            "direction": "inbound",
            "nodes": [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "hello"}),
                n(
                    "hello",
                    "announcement",
                    {"next": "menu"},
                    prompt={"text": WELCOME_TEMPLATE},
                ),
                n(
                    "menu",
                    "input_customer",
                    {"option_1": "q", "option_2": "bye", "invalid": "bye", "no_input": "bye"},
                    prompt={"text": MENU},
                    options=["1", "2"],
                ),
                n("q", "queue", {"timeout": "bye", "no_users": "bye", "full": "bye"}),
                n("bye", "disconnect", final_prompt={"text": "Goodbye."}),
            ],
        }
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
    workflow = _flow()
    engine.upsert("workflow", workflow)
    engine.publish_workflow(workflow.id)
    service = engine.state.services["svc"]
    engine.upsert(
        "service", replace(service, workflows={**service.workflows, "audio_inbound": workflow.id})
    )
    return engine
