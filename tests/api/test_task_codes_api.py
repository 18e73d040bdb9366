"""Codes and tags of a session over HTTP (PUT /tasks/{id}/codes): in ACW, refusals, state."""

from __future__ import annotations

from typing import Any

from api_harness import Service, service

__all__ = ["service"]  # the fixture, imported for pytest


def _call(svc: Service, method: str, path: str, body: Any = None) -> Any:
    answer = svc.client.request(method, path, json=body, headers=svc.auth())
    assert answer.status_code < 300, answer.text
    return answer.json()


def _coded_task_in_acw(svc: Service) -> tuple[str, str]:
    solved = _call(svc, "POST", "/api/v1/codes", {"name": "Solved", "short_code": "OK"})["id"]
    _call(svc, "POST", "/api/v1/codes", {"name": "Not offered", "short_code": "NO"})
    vip = _call(svc, "POST", "/api/v1/tags", {"name": "VIP"})["id"]
    sid = _call(
        svc,
        "POST",
        "/api/v1/services",
        {
            "name": "Support",
            "upn": "support@acme.test",
            "user_assignment_type": "teams_based",
            "distribution": {"acw_enabled": True, "acw_duration_s": 60},
            "codes": [solved],
            "tags": [vip],
        },
    )["id"]
    uid = _call(
        svc,
        "POST",
        "/api/v1/users",
        {
            "upn": "anna@acme.test",
            "display_name": "Anna",
            "memberships": {sid: {"service_id": sid}},
        },
    )["id"]
    _call(svc, "PUT", f"/api/v1/users/{uid}/presence", {"presence": "available"})
    tid = _call(svc, "POST", "/api/v1/tasks", {"service_id": sid, "kind": "audio_inbound"})["id"]
    _call(svc, "POST", f"/api/v1/tasks/{tid}/accept", {"user_id": uid})
    _call(svc, "POST", f"/api/v1/tasks/{tid}/hangup", {"user_id": uid})
    return tid, uid


def test_codes_during_after_call_work_show_in_the_users_state(service: Service) -> None:
    tid, uid = _coded_task_in_acw(service)
    solved = _call(service, "GET", "/api/v1/codes")["items"]
    solved_id = next(c["id"] for c in solved if c["name"] == "Solved")
    vip_id = _call(service, "GET", "/api/v1/tags")["items"][0]["id"]
    answer = _call(
        service,
        "PUT",
        f"/api/v1/tasks/{tid}/codes",
        {"user_id": uid, "primary_code_id": solved_id, "tag_ids": [vip_id]},
    )
    assert answer == {
        "task_id": tid,
        "user_id": uid,
        "primary_code_id": solved_id,
        "secondary_code_ids": [],
        "tag_ids": [vip_id],
    }
    state = _call(service, "GET", f"/api/v1/users/{uid}/availability")
    (session,) = state["sessions"]
    assert session["state"] == "in_acw" and session["primary_code_id"] == solved_id
    assert session["tag_ids"] == [vip_id]


def test_a_code_the_service_does_not_offer_is_refused_with_its_path(service: Service) -> None:
    tid, uid = _coded_task_in_acw(service)
    other = next(
        c["id"] for c in _call(service, "GET", "/api/v1/codes")["items"] if c["name"] != "Solved"
    )
    refused = service.client.put(
        f"/api/v1/tasks/{tid}/codes",
        json={"user_id": uid, "primary_code_id": other, "secondary_code_ids": ["missing"]},
        headers=service.auth(),
    )
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [(e["code"], e["path"]) for e in errors] == [
        ("not_applicable", "primary_code_id"),
        ("unknown_reference", "secondary_code_ids[0]"),
    ]
    assert "does not offer the code 'Not offered'" in errors[0]["message"]
    state = _call(service, "GET", f"/api/v1/users/{uid}/availability")
    assert state["sessions"][0]["primary_code_id"] is None  # nothing half-changed
    without_user = service.client.put(
        f"/api/v1/tasks/{tid}/codes", json={"primary_code_id": None}, headers=service.auth()
    )
    assert without_user.status_code == 422
    assert without_user.json()["errors"][0]["path"] == "user_id"
