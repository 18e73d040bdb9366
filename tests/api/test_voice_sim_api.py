"""The voice simulator's control API, /sim/api (11 SI4; 10 PE2): only in development and
test mode, guarded like every route, and driving the real engine through the simulator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from api_harness import Service, service
from fastapi.testclient import TestClient

from switchboard.api.app import create_app
from switchboard.api.tenancy import Settings, Tenancy

__all__ = ["service"]

SIM = "/sim/api"
API = "/api/v1"


def _service(svc: Service, name: str = "Hotline", upn: str = "hotline@a.test") -> str:
    created = svc.client.post(
        f"{API}/services",
        json={
            "name": name,
            "upn": upn,
            "pstn_number": "+41445550000",
            "user_assignment_type": "teams_based",
            "enabled_modalities": ["audio"],
        },
        headers=svc.auth(),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _wait(svc: Service, call_id: str, check: Any, what: str) -> dict[str, Any]:
    started = time.monotonic()
    while True:
        call = svc.client.get(f"{SIM}/calls/{call_id}", headers=svc.auth()).json()
        if check(call):
            return dict(call)
        assert time.monotonic() - started < 10, f"timed out waiting for {what}: {call}"
        time.sleep(0.02)


def test_the_control_api_exists_only_in_development_and_test_mode(tmp_path: Path) -> None:
    production = Settings(db_url=f"sqlite:///{tmp_path / 'p.sqlite3'}", var_dir=tmp_path)
    assert production.mode == "production" and not production.simulator_enabled
    tenancy = Tenancy(production)
    with TestClient(create_app(tenancy=tenancy)) as client:
        assert client.get(f"{SIM}/calls").status_code == 404
        paths = client.get("/api/openapi.json").json()["paths"]
        assert not [p for p in paths if p.startswith("/sim/")]
    assert tenancy.voice.lines == {}
    with pytest.raises(ValueError, match="mode must be one of production, development, test"):
        Settings(db_url="sqlite://", mode="staging")


def test_a_call_is_placed_taken_in_and_shows_its_transcript(service: Service) -> None:
    service_id = _service(service)
    placed = service.client.post(
        f"{SIM}/calls",
        json={"to": "HOTLINE@a.test", "caller": "+41791234567"},
        headers=service.auth(),
    )
    assert placed.status_code == 201, placed.text
    call = placed.json()
    assert (call["service_id"], call["caller"]) == (
        service_id,
        {"kind": "phone", "id": "+41791234567"},
    )
    assert call["transcript"][0]["text"] == "+41791234567 calls HOTLINE@a.test."
    # Answered once it returns: the engine took the call in and its task exists.
    tasks = service.client.get(f"{API}/tasks", headers=service.auth()).json()["items"]
    assert [t["caller"] for t in tasks] == ["+41791234567"]
    listed = service.client.get(f"{SIM}/calls?state=live", headers=service.auth()).json()
    assert [c["id"] for c in listed["items"]] == [call["id"]]
    hung = service.client.post(f"{SIM}/calls/{call['id']}/hangup", headers=service.auth())
    assert hung.status_code == 200 and hung.json()["ended_by"] == "customer"
    ended = service.client.get(f"{API}/tasks/{tasks[0]['id']}", headers=service.auth()).json()
    assert (ended["state"], ended["end_reason"]) == ("terminated", "customer_hangup")
    assert service.client.get(f"{SIM}/calls?state=live", headers=service.auth()).json() == {
        "items": []
    }


def test_bad_control_requests_name_what_is_wrong(service: Service) -> None:
    _service(service)
    h = service.auth()
    unknown = service.client.post(f"{SIM}/calls", json={"to": "nobody@a.test"}, headers=h)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "service_not_found")
    bad_caller = service.client.post(
        f"{SIM}/calls", json={"to": "hotline@a.test", "caller": "0791234567"}, headers=h
    )
    assert bad_caller.status_code == 422
    assert bad_caller.json()["errors"][0]["path"] == "caller"
    call = service.client.post(f"{SIM}/calls", json={"to": "hotline@a.test"}, headers=h).json()
    assert call["caller"] == {"kind": "anonymous", "id": None}
    keys = service.client.post(f"{SIM}/calls/{call['id']}/digits", json={"digits": "1x"}, headers=h)
    assert keys.status_code == 422
    failure = service.client.post(
        f"{SIM}/calls/{call['id']}/failures",
        json={"command": "hold", "reason": "busy"},
        headers=h,
    )
    assert failure.status_code == 422 and "reason for hold" in failure.json()["detail"]
    nothing = service.client.post(
        f"{SIM}/calls/{call['id']}/phone/answer", json={"user_id": "nobody"}, headers=h
    )
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_such_leg"
    missing = service.client.get(f"{SIM}/calls/no-such-call", headers=h)
    assert (missing.status_code, missing.json()["code"]) == (404, "call_not_found")


def test_keys_need_their_scopes_and_other_tenants_see_nothing(service: Service) -> None:
    _service(service)
    read_only = service.auth(service.read_only_a)
    refused = service.client.post(f"{SIM}/calls", json={"to": "hotline@a.test"}, headers=read_only)
    assert refused.status_code == 403
    call = service.client.post(
        f"{SIM}/calls", json={"to": "hotline@a.test"}, headers=service.auth()
    ).json()
    other = service.auth(service.key_b)
    assert service.client.get(f"{SIM}/calls", headers=other).json() == {"items": []}
    for method, path in (
        ("GET", f"{SIM}/calls/{call['id']}"),
        ("POST", f"{SIM}/calls/{call['id']}/hangup"),
    ):
        response = service.client.request(method, path, headers=other)
        assert response.status_code == 404, response.text
    assert _wait(service, call["id"], lambda c: c["state"] != "ended", "a live call")


def test_a_scripted_phone_is_reported_back(service: Service) -> None:
    service_id = _service(service)
    user = service.client.post(
        f"{API}/users",
        json={
            "upn": "anna@a.test",
            "display_name": "Anna",
            "memberships": {service_id: {"service_id": service_id}},
        },
        headers=service.auth(),
    ).json()
    scripted = service.client.put(
        f"{SIM}/users/{user['id']}/phone",
        json={"behaviour": "answer", "after_s": 0.5},
        headers=service.auth(),
    )
    assert scripted.status_code == 200, scripted.text
    assert scripted.json() == {
        "user_id": user["id"],
        "behaviour": "answer",
        "after_s": 0.5,
        "talk_s": None,
    }
    bad = service.client.put(
        f"{SIM}/users/{user['id']}/phone", json={"behaviour": "dance"}, headers=service.auth()
    )
    assert bad.status_code == 422
    line = service.tenancy.voice.line("tenant-a")
    assert line.simulator.phone(user["id"]).after_s == 0.5
