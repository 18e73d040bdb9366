"""Sample workflow documents shared by the tests/domain/test_workflow_*.py modules.

`hotline()` is a valid audio inbound workflow that uses most activities;
`chat()` a valid chat one. Tests copy one, change one thing and compare the
issues. `flow()` builds small documents for the path and loop rules.
"""

from __future__ import annotations

import copy
from typing import Any

from switchboard.domain.workflow import References, ServiceRef
from workflow_nodes import node as n

PROMPT: dict[str, Any] = {"text": "Hello."}

_HOTLINE: dict[str, Any] = {
    "id": "wf-hotline",
    "ou_id": "root",
    "name": "Hotline",
    "modality": "audio",
    "direction": "inbound",
    "version": 1,
    "status": "draft",
    "nodes": [
        {"id": "start", "type": "start", "exits": {"next": "acc"}},
        {"id": "acc", "type": "accept", "exits": {"next": "hours"}},
        {
            "id": "hours",
            "type": "check_opening_hours",
            "settings": {"calendar": "service"},
            "exits": {"open": "menu", "special": "menu", "closed": "closed", "holiday": "closed"},
        },
        {
            "id": "menu",
            "type": "input_customer",
            "name": "Main menu",
            "settings": {
                "prompt": {"text": "For sales press 1, to give your case number press 2."},
                "options": ["1", "2"],
                "timeout_s": 8,
            },
            "exits": {"option_1": "q", "option_2": "info", "invalid": "q", "no_input": "q"},
        },
        {
            "id": "info",
            "type": "collect_information",
            "settings": {
                "prompt": {"text": "Please enter your case number."},
                "parameter_id": "CaseId",
                "min_digits": 4,
                "max_digits": 8,
            },
            "exits": {"collected": "note", "invalid": "q", "no_input": "q"},
        },
        {
            "id": "note",
            "type": "set_parameter",
            "settings": {"parameter_id": "Topic", "value": "case {{param.CaseId}}"},
            "exits": {"next": "q"},
        },
        {
            "id": "q",
            "type": "queue",
            "settings": {"max_queue_time_s": 600, "priority": None},
            "exits": {"timeout": "vm", "no_users": "vm", "full": "vm"},
        },
        {
            "id": "closed",
            "type": "announcement",
            "settings": {"prompt": {"text": "We are closed.", "language": "en-GB"}},
            "exits": {"next": "vm"},
        },
        {
            "id": "vm",
            "type": "voice_message",
            "settings": {
                "prompt": {"text": "Please leave a message."},
                "notify": [{"type": "email", "address": "team@contoso.com"}],
            },
            "exits": {"recorded": "bye", "no_recording": "bye"},
        },
        {"id": "bye", "type": "disconnect"},
    ],
}


def hotline() -> dict[str, Any]:
    """A fresh copy of the valid audio inbound sample."""
    return copy.deepcopy(_HOTLINE)


def node(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The node with this id in a document (for editing in place)."""
    found: dict[str, Any] = next(n for n in document["nodes"] if n["id"] == node_id)
    return found


def flow(
    nodes: list[dict[str, Any]], modality: str = "audio", direction: str = "inbound"
) -> dict[str, Any]:
    """A document around the given nodes."""
    return {
        "id": "wf-1",
        "ou_id": "root",
        "name": "Flow",
        "modality": modality,
        "direction": direction,
        "nodes": nodes,
    }


def chat() -> dict[str, Any]:
    """A valid chat inbound sample: greet, queue, apologise, close."""
    return flow(
        [
            n("start", "start", {"next": "acc"}),
            n("acc", "accept", {"next": "hi"}),
            n("hi", "message", {"next": "q"}, text="Hi {{customer.first_name}}"),
            n("q", "queue", {"timeout": "sorry", "no_users": "sorry", "full": "sorry"}),
            n("sorry", "message", {"next": "bye"}, text="Sorry, nobody is free."),
            n("bye", "disconnect", final_message="Goodbye."),
        ],
        modality="chat",
    )


#: A tenant: root OU with a Sales OU below it; entities in both.
REFS = References(
    ous={"root": None, "ou-sales": "root"},
    parameters={"CaseId": "root", "Topic": "root", "SalesOnly": "ou-sales"},
    calendars={"cal-root": "root", "cal-sales": "ou-sales"},
    services={
        "svc-a": ServiceRef("root", has_calendar=True, workflow_ids=frozenset({"wf-hotline"})),
        "svc-sales": ServiceRef("ou-sales"),
    },
    users={"user-anna": "root", "user-bob": "ou-sales"},
    audio_resources={"music": "root"},
    workflow_names={"wf-other": "Other flow"},
)
