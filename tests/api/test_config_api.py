"""Configuration over HTTP: CRUD, ETags, problem documents, scopes and tenant isolation."""

from __future__ import annotations

from typing import Any

from api_harness import Service, service
from fastapi.testclient import TestClient

from switchboard.api.app import create_app
from switchboard.api.tenancy import Tenancy

__all__ = ["service"]  # the fixture, imported for pytest

SERVICE = {"name": "Sales", "upn": "sales@acme.test", "user_assignment_type": "teams_based"}


def _create_service(svc: Service, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = svc.client.post("/api/v1/services", json=body or SERVICE, headers=svc.auth())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_requests_without_a_valid_key_are_refused(service: Service) -> None:
    missing = service.client.get("/api/v1/services")
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["code"] == "unauthenticated"
    wrong = service.client.get("/api/v1/services", headers={"X-API-Key": "sbk_nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"


def test_create_read_list_update_delete(service: Service) -> None:
    created = _create_service(service)
    sid = created["id"]
    assert created["version"] == 1 and created["distribution"]["acw_duration_s"] == 20
    read = service.client.get(f"/api/v1/services/{sid}", headers=service.auth())
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    listed = service.client.get("/api/v1/services?q=sal", headers=service.auth()).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == sid
    assert listed["next_offset"] is None

    stale = service.client.put(
        f"/api/v1/services/{sid}",
        json={**SERVICE, "description": "x"},
        headers={**service.auth(), "If-Match": '"7"'},
    )
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    updated = service.client.put(
        f"/api/v1/services/{sid}",
        json={**SERVICE, "description": "Inbound sales"},
        headers={**service.auth(), "If-Match": '"1"'},
    )
    assert updated.status_code == 200 and updated.headers["etag"] == '"2"'
    assert updated.json()["description"] == "Inbound sales"

    gone = service.client.delete(f"/api/v1/services/{sid}", headers=service.auth())
    assert gone.status_code == 204
    missing = service.client.get(f"/api/v1/services/{sid}", headers=service.auth())
    assert missing.status_code == 404 and missing.json()["code"] == "service_not_found"


def test_structural_errors_name_the_field(service: Service) -> None:
    response = service.client.post(
        "/api/v1/services",
        json={**SERVICE, "user_assignment_type": "sometimes", "colour": "red"},
        headers=service.auth(),
    )
    assert response.status_code == 422
    problem = response.json()
    paths = {(e["code"], e["path"]) for e in problem["errors"]}
    assert ("unknown_field", "colour") in paths
    assert ("invalid_format", "user_assignment_type") in paths
    assert problem["instance"]  # the request id


def test_domain_validation_reports_every_issue_and_changes_nothing(service: Service) -> None:
    response = service.client.post(
        "/api/v1/services",
        json={"name": "", "upn": "nope", "user_assignment_type": "skill_based"},
        headers=service.auth(),
    )
    assert response.status_code == 422
    paths = {(e["code"], e["path"]) for e in response.json()["errors"]}
    assert {("required", "name"), ("invalid_format", "upn")} <= paths
    assert ("required", "distribution_policy_id") in paths
    listed = service.client.get("/api/v1/services", headers=service.auth()).json()
    assert listed["total"] == 0


def test_deleting_a_used_entity_is_a_conflict(service: Service) -> None:
    sid = _create_service(service)["id"]
    user = {
        "upn": "anna@acme.test",
        "display_name": "Anna",
        "memberships": {sid: {"service_id": sid}},
    }
    assert (
        service.client.post("/api/v1/users", json=user, headers=service.auth()).status_code == 201
    )
    refused = service.client.delete(f"/api/v1/services/{sid}", headers=service.auth())
    assert refused.status_code == 409 and refused.json()["code"] == "entity_in_use"


def test_a_read_only_key_cannot_write(service: Service) -> None:
    response = service.client.post(
        "/api/v1/services", json=SERVICE, headers=service.auth(service.read_only_a)
    )
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    listed = service.client.get("/api/v1/services", headers=service.auth(service.read_only_a))
    assert listed.status_code == 200


def test_another_tenants_ids_are_not_found(service: Service) -> None:
    sid = _create_service(service)["id"]
    other = service.auth(service.key_b)
    assert service.client.get(f"/api/v1/services/{sid}", headers=other).status_code == 404
    assert (
        service.client.put(f"/api/v1/services/{sid}", json=SERVICE, headers=other).status_code
        == 404
    )
    assert service.client.delete(f"/api/v1/services/{sid}", headers=other).status_code == 404
    assert service.client.get("/api/v1/services", headers=other).json()["total"] == 0
    still = service.client.get(f"/api/v1/services/{sid}", headers=service.auth())
    assert still.status_code == 200 and still.json()["version"] == 1


def test_configuration_survives_a_restart(service: Service) -> None:
    sid = _create_service(service)["id"]
    service.client.__exit__(None, None, None)  # graceful shutdown of the first process
    tenancy = Tenancy(service.settings)
    with TestClient(create_app(tenancy=tenancy)) as client:
        again = client.get(f"/api/v1/services/{sid}", headers=service.auth())
        assert again.status_code == 200 and again.json()["name"] == "Sales"


def test_health_readiness_metrics_and_openapi(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["tenants"] == 2
    metrics = service.client.get("/metrics").text
    assert 'switchboard_tasks_waiting{tenant="tenant-a"}' in metrics
    spec = service.client.get("/api/openapi.json").json()
    assert "/api/v1/services/{entity_id}" in spec["paths"]
    assert "ServiceInput" in spec["components"]["schemas"]
