"""A whole call through the running service: a caller dials a hotline whose published IVR
plays a welcome and a menu, presses 1, waits in the queue, the agent accepts, the call is
hung up, and the outcome is on the task and in the journal — the simulator playing the
telephone network, the HTTP API playing everyone else (Anna accepts in Switchboard)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_harness import ALL_SCOPES, _settings
from fastapi.testclient import TestClient

from switchboard.api.app import create_app
from switchboard.api.keys import issue_api_key
from switchboard.api.tenancy import Tenancy
from switchboard.channels.voice.sim_world import SimulatorConfig

API, SIM = "/api/v1", "/sim/api"
WELCOME = "Welcome to ACME, caller +41791234567."
MENU = "Press 1 for sales, 2 to leave a message."


class Phone:
    """The API as a test sees it: a client with the tenant's key."""

    def __init__(self, client: TestClient, key: str, tenancy: Tenancy) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}
        self.tenancy = tenancy

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def until(self, read: Callable[[], Any], check: Callable[[Any], bool], what: str) -> Any:
        started = time.monotonic()
        while True:
            value = read()
            if check(value):
                return value
            assert time.monotonic() - started < 15, f"timed out waiting for {what}: {value}"
            time.sleep(0.02)


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[Phone]:
    settings = dataclasses.replace(
        _settings(tmp_path),
        simulator=SimulatorConfig(seed=42, seconds_per_word=0.02, min_prompt_s=0.05),
    )
    tenancy = Tenancy(settings)
    tenancy.open()
    tenancy.create_tenant("Tenant A", tenant_id="tenant-a")
    key = issue_api_key(tenancy, "tenant-a", name="a", scopes=ALL_SCOPES, created_by="test")
    with TestClient(create_app(tenancy=tenancy)) as client:
        yield Phone(client, key, tenancy)


def _hotline(p: Phone) -> tuple[str, str]:
    """The hotline with its IVR published and assigned, and Anna available on it."""
    service = p.call(
        "POST",
        f"{API}/services",
        {
            "name": "ACME",
            "upn": "hotline@acme.test",
            "pstn_number": "+41445550000",
            "user_assignment_type": "teams_based",
            "enabled_modalities": ["audio"],
        },
        201,
    )
    anna = p.call(
        "POST",
        f"{API}/users",
        {
            "upn": "anna@acme.test",
            "display_name": "Anna",
            "memberships": {service["id"]: {"service_id": service["id"]}},
        },
        201,
    )
    flow = p.call(
        "POST",
        f"{API}/workflows",
        {
            "name": "Hotline IVR",
            "modality": "audio",
            "nodes": [
                {"id": "start", "type": "start", "exits": {"next": "acc"}},
                {"id": "acc", "type": "accept", "exits": {"next": "hello"}},
                {
                    "id": "hello",
                    "type": "announcement",
                    "settings": {
                        "prompt": {
                            "text": "Welcome to {{system.service.name}}, "
                            "caller {{system.caller.tel_number}}."
                        }
                    },
                    "exits": {"next": "menu"},
                },
                {
                    "id": "menu",
                    "type": "input_customer",
                    "settings": {"prompt": {"text": MENU}, "options": ["1", "2"]},
                    "exits": {
                        "option_1": "queue",
                        "option_2": "bye",
                        "invalid": "bye",
                        "no_input": "bye",
                    },
                },
                {
                    "id": "queue",
                    "type": "queue",
                    "exits": {"timeout": "bye", "no_users": "bye", "full": "bye"},
                },
                {"id": "bye", "type": "disconnect"},
            ],
        },
        201,
    )
    p.call("POST", f"{API}/workflows/{flow['id']}/publish")
    current = p.call("GET", f"{API}/services/{service['id']}")
    body = {k: v for k, v in current.items() if k not in ("id", "version")}
    body["workflows"] = {"audio_inbound": flow["id"]}
    p.call("PUT", f"{API}/services/{service['id']}", body)
    p.call("PUT", f"{API}/users/{anna['id']}/presence", {"presence": "available"})
    return service["id"], anna["id"]


def _prompts(call: dict[str, Any]) -> list[str]:
    return [e["text"] for e in call["transcript"] if e["what"] == "prompt"]


def test_call_menu_queue_agent_hang_up_and_outcome(phone: Phone) -> None:
    p = phone
    service_id, anna = _hotline(p)

    call = p.call("POST", f"{SIM}/calls", {"to": "+41445550000", "caller": "+41791234567"}, 201)
    assert call["service_id"] == service_id
    call_id = call["id"]
    heard = p.until(
        lambda: p.call("GET", f"{SIM}/calls/{call_id}"),
        lambda c: MENU in _prompts(c),
        "the menu",
    )
    assert _prompts(heard) == [WELCOME, MENU]
    assert heard["state"] == "established"

    p.call("POST", f"{SIM}/calls/{call_id}/digits", {"digits": "1"})
    task = p.until(
        lambda: p.call("GET", f"{API}/tasks")["items"],
        lambda items: items and items[0]["state"] == "offered",
        "the offer to Anna",
    )[0]
    assert [o["user_id"] for o in task["offers"]] == [anna]
    assert task["service_id"] == service_id and task["caller"] == "+41791234567"

    accepted = p.call("POST", f"{API}/tasks/{task['id']}/accept", {"user_id": anna})
    assert accepted["state"] == "connected" and accepted["connected_user_id"] == anna

    # They talk; then the caller hangs up, which ends the task (RT2) and reaches Anna.
    gone = p.call("POST", f"{SIM}/calls/{call_id}/hangup")
    assert (gone["state"], gone["ended_by"], gone["end_reason"]) == ("ended", "customer", "hung_up")
    ended = p.call("GET", f"{API}/tasks/{task['id']}")
    assert (ended["state"], ended["end_reason"]) == ("terminated", "customer_hangup")
    assert [e["what"] for e in gone["transcript"]].count("digit") == 1
    state = p.call("GET", f"{API}/users/{anna}/availability")
    assert state["sessions"] == []  # Anna is free again

    # The outcome is journaled: the path through the IVR, the queue, the connection, the end.
    host = p.tenancy.hosts["tenant-a"]
    events = [e for e in host.read_journal(0) if e.data.get("task_id") == task["id"]]
    names = [e.name for e in events]
    for name in ("task.created", "task.accepted", "task.queued", "task.offered", "task.connected"):
        assert name in names, f"{name} missing from {names}"
    path = [
        (e.data["node_id"], e.data["exit"]) for e in events if e.name == "workflow.node_completed"
    ]
    assert path == [("start", "next"), ("acc", "next"), ("hello", "next"), ("menu", "option_1")]
    (terminated,) = [e for e in events if e.name == "task.terminated"]
    assert terminated.data["end_reason"] == "customer_hangup"
    commands = [e.data["command"]["type"] for e in events if e.name == "voice.command"]
    assert commands[:3] == ["answer", "play_prompt", "collect_digits"]


def test_the_caller_hanging_up_in_the_queue_ends_the_task_as_abandoned(phone: Phone) -> None:
    p = phone
    _, anna = _hotline(p)
    p.call("PUT", f"{API}/users/{anna}/presence", {"presence": "offline"})
    call = p.call(
        "POST", f"{SIM}/calls", {"to": "hotline@acme.test", "caller": "+41791234567"}, 201
    )
    p.until(
        lambda: p.call("GET", f"{SIM}/calls/{call['id']}"),
        lambda c: MENU in _prompts(c),
        "the menu",
    )
    p.call("POST", f"{SIM}/calls/{call['id']}/digits", {"digits": "1"})
    task = p.until(
        lambda: p.call("GET", f"{API}/tasks")["items"],
        lambda items: items and items[0]["state"] == "queued",
        "the task to queue",
    )[0]
    p.call("POST", f"{SIM}/calls/{call['id']}/hangup")
    done = p.call("GET", f"{API}/tasks/{task['id']}")
    assert (done["state"], done["end_reason"]) == ("terminated", "customer_hangup")


def _ringing(p: Phone) -> tuple[str, str, str]:
    """A caller presses 1 and Anna's simulated phone rings: (call id, task id, Anna's id)."""
    _, anna = _hotline(p)
    call_id = p.call("POST", f"{SIM}/calls", {"to": "+41445550000", "caller": "+41791234567"}, 201)[
        "id"
    ]
    p.until(lambda: p.call("GET", f"{SIM}/calls/{call_id}"), lambda c: MENU in _prompts(c), "menu")
    p.call("POST", f"{SIM}/calls/{call_id}/digits", {"digits": "1"})
    rings = p.until(
        lambda: p.call("GET", f"{SIM}/calls/{call_id}"),
        lambda c: any(leg["state"] == "ringing" for leg in c["legs"]),
        "Anna's phone to ring",
    )
    (leg,) = rings["legs"]
    assert leg["user_id"] == anna
    (task,) = p.call("GET", f"{API}/tasks")["items"]
    assert task["state"] == "offered"
    assert [o["offer_id"] for o in task["offers"]] == [leg["leg_id"]]
    return call_id, task["id"], anna


def _agent_hangs_up(p: Phone, call_id: str, task_id: str, anna: str) -> list[Any]:
    """Anna ends the task: the call ends in the simulator; the outcome is journaled."""
    p.call("POST", f"{API}/tasks/{task_id}/hangup", {"user_id": anna})
    ended = p.call("GET", f"{API}/tasks/{task_id}")
    assert (ended["state"], ended["end_reason"]) == ("terminated", "user_ended")
    call = p.until(
        lambda: p.call("GET", f"{SIM}/calls/{call_id}"),
        lambda c: c["state"] == "ended",
        "the call to end",
    )
    assert call["ended_by"] == "system"
    last = call["transcript"][-1]
    assert last["who"] == "switchboard", last  # Switchboard hung up on Anna's behalf
    host = p.tenancy.hosts["tenant-a"]
    events = [e for e in host.read_journal(0) if e.data.get("task_id") == task_id]
    (terminated,) = [e for e in events if e.name == "task.terminated"]
    assert terminated.data["end_reason"] == "user_ended"
    return events


def test_the_agent_answers_the_ringing_phone_then_hangs_up(phone: Phone) -> None:
    p = phone
    call_id, task_id, anna = _ringing(p)
    answered = p.call("POST", f"{SIM}/calls/{call_id}/phone/answer", {"user_id": anna})
    assert answered["leg_state"] == "answered"
    task = p.until(
        lambda: p.call("GET", f"{API}/tasks/{task_id}"),
        lambda t: t["state"] == "connected",
        "the answer to connect the task",
    )
    assert task["connected_user_id"] == anna
    events = _agent_hangs_up(p, call_id, task_id, anna)
    commands = [e.data["command"]["type"] for e in events if e.name == "voice.command"]
    assert "ring_user" in commands and commands[-1] == "hang_up"
    assert "bridge" not in commands  # a conference leg joins the call when answered


def test_the_agent_accepts_in_the_client_then_hangs_up(phone: Phone) -> None:
    p = phone
    call_id, task_id, anna = _ringing(p)
    accepted = p.call("POST", f"{API}/tasks/{task_id}/accept", {"user_id": anna})
    assert accepted["state"] == "connected"
    bridged = p.until(
        lambda: p.call("GET", f"{SIM}/calls/{call_id}"),
        lambda c: any(e["what"] == "bridged" for e in c["transcript"]),
        "Anna to be bridged into the call",
    )
    assert [leg["state"] for leg in bridged["legs"]] == ["answered"]
    events = _agent_hangs_up(p, call_id, task_id, anna)
    commands = [e.data["command"]["type"] for e in events if e.name == "voice.command"]
    assert commands[-1] == "hang_up" and "bridge" in commands and "cancel_ring" not in commands
