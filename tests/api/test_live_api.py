"""Live operations over HTTP: a task from creation to ACW, refusals, and the diagnosis."""

from __future__ import annotations

from typing import Any

from api_harness import Service, service

__all__ = ["service"]  # the fixture, imported for pytest


def _setup(svc: Service) -> tuple[str, str]:
    body = {
        "name": "Support",
        "upn": "support@acme.test",
        "user_assignment_type": "teams_based",
        "distribution": {"acw_enabled": True, "acw_duration_s": 30, "acw_allow_extension": True},
    }
    created = svc.client.post("/api/v1/services", json=body, headers=svc.auth())
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    user = {
        "upn": "anna@acme.test",
        "display_name": "Anna",
        "memberships": {sid: {"service_id": sid}},
    }
    created_user = svc.client.post("/api/v1/users", json=user, headers=svc.auth())
    assert created_user.status_code == 201, created_user.text
    return sid, created_user.json()["id"]


def _post(svc: Service, path: str, body: dict[str, Any] | None = None) -> Any:
    return svc.client.post(path, json=body or {}, headers=svc.auth())


def test_a_task_from_arrival_to_after_call_work(service: Service) -> None:
    sid, uid = _setup(service)
    task = _post(service, "/api/v1/tasks", {"service_id": sid, "kind": "audio_inbound"})
    assert task.status_code == 201, task.text
    tid = task.json()["id"]
    assert task.json()["state"] == "queued"  # Anna is offline

    why = service.client.get(f"/api/v1/tasks/{tid}/diagnosis", headers=service.auth()).json()
    assert why["verdict"] == "no_member_online"
    assert why["users"][0]["reason"] == "presence_offline"

    presence = service.client.put(
        f"/api/v1/users/{uid}/presence", json={"presence": "available"}, headers=service.auth()
    )
    assert presence.status_code == 200
    offered = service.client.get(f"/api/v1/tasks/{tid}", headers=service.auth()).json()
    assert offered["state"] == "offered" and offered["offers"][0]["user_id"] == uid

    for action, state in (("accept", "connected"), ("hold", "on_hold"), ("resume", "connected")):
        step = _post(service, f"/api/v1/tasks/{tid}/{action}", {"user_id": uid})
        assert step.status_code == 200, step.text
        assert step.json()["state"] == state
    ended = _post(service, f"/api/v1/tasks/{tid}/hangup", {"user_id": uid})
    assert ended.json()["state"] == "terminated" and ended.json()["end_reason"] == "user_ended"

    anna = service.client.get(f"/api/v1/users/{uid}/availability", headers=service.auth()).json()
    assert anna["acw"]["can_extend"] is True
    assert anna["services"][0]["reason"] == "in_acw"
    extended = _post(service, f"/api/v1/users/{uid}/acw/extend")
    assert extended.status_code == 200 and extended.json()["acw"]["extended"] is True
    done = _post(service, f"/api/v1/users/{uid}/acw/end", {"by_supervisor": False})
    assert done.status_code == 200 and done.json()["acw"] is None
    assert done.json()["services"][0]["selectable"] is True


def test_refusals_carry_the_engines_reason(service: Service) -> None:
    sid, uid = _setup(service)
    wrong_kind = _post(service, "/api/v1/tasks", {"service_id": sid, "kind": "chat_inbound"})
    assert wrong_kind.status_code == 409 and wrong_kind.json()["code"] == "modality_not_enabled"
    assert wrong_kind.json()["task_id"]  # journaled as a rejected task
    tid = _post(service, "/api/v1/tasks", {"service_id": sid, "kind": "audio_inbound"}).json()["id"]
    no_offer = _post(service, f"/api/v1/tasks/{tid}/accept", {"user_id": uid})
    assert no_offer.status_code == 409 and no_offer.json()["code"] == "no_offer"
    assert "not being offered" in no_offer.json()["detail"]
    hold_chat = _post(service, f"/api/v1/tasks/{tid}/hold", {"user_id": uid})
    assert hold_chat.status_code == 409 and hold_chat.json()["code"] == "not_your_task"
    unknown = _post(service, "/api/v1/tasks/nope/accept", {"user_id": uid})
    assert unknown.status_code == 404 and unknown.json()["code"] == "task_not_found"
    bad_action = _post(service, f"/api/v1/tasks/{tid}/teleport", {"user_id": uid})
    assert bad_action.status_code == 422
    bad_service = _post(service, "/api/v1/tasks", {"service_id": "missing"})
    assert bad_service.status_code == 404 and bad_service.json()["code"] == "service_not_found"
    gone = service.client.delete(f"/api/v1/tasks/{tid}", headers=service.auth())
    assert gone.status_code == 204
    late = _post(service, f"/api/v1/tasks/{tid}/accept", {"user_id": uid})
    assert late.status_code == 409 and late.json()["code"] == "task_gone"


def test_live_data_of_another_tenant_is_invisible(service: Service) -> None:
    sid, uid = _setup(service)
    tid = _post(service, "/api/v1/tasks", {"service_id": sid, "kind": "audio_inbound"}).json()["id"]
    other = service.auth(service.key_b)
    assert service.client.get(f"/api/v1/tasks/{tid}", headers=other).status_code == 404
    assert service.client.get("/api/v1/tasks", headers=other).json()["items"] == []
    sneaky = service.client.post(
        f"/api/v1/tasks/{tid}/accept", json={"user_id": uid}, headers=other
    )
    assert sneaky.status_code == 404
    assert service.client.get(f"/api/v1/users/{uid}/availability", headers=other).status_code == 404
