"""Tenant settings over HTTP (01 §10; 10 §2 rows 3 and 4): read, ETag/If-Match,
every validation issue with its path, and who may change what."""

from __future__ import annotations

from typing import Any

from api_harness import Service, service

from switchboard.api.keys import issue_api_key

__all__ = ["service"]


def _tenant(svc: Service, key: str | None = None) -> Any:
    response = svc.client.get("/api/v1/tenant", headers=svc.auth(key))
    assert response.status_code == 200, response.text
    return response


def _settings(svc: Service) -> dict[str, Any]:
    settings: dict[str, Any] = _tenant(svc).json()["settings"]
    return settings


def test_read_and_update_with_etag(service: Service) -> None:
    read = _tenant(service)
    assert read.json()["id"] == "tenant-a" and read.json()["name"] == "Tenant A"
    settings = read.json()["settings"]
    assert settings["voice_connectivity"] == "none" and settings["rnl_disabled_numbers"] == []
    etag = read.headers["etag"]
    changed = {
        **settings,
        "sweeper_interval_s": 7,
        "voice_connectivity": "direct_routing",
        "rnl_disabled_numbers": ["+4930123456789"],
    }
    put = service.client.put(
        "/api/v1/tenant/settings", json=changed, headers={**service.auth(), "If-Match": etag}
    )
    assert put.status_code == 200, put.text
    assert put.headers["etag"] != etag
    assert put.json()["settings"]["sweeper_interval_s"] == 7
    assert _settings(service)["rnl_disabled_numbers"] == ["+4930123456789"]
    stale = service.client.put(
        "/api/v1/tenant/settings", json=settings, headers={**service.auth(), "If-Match": etag}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    # The other tenant is untouched.
    assert _tenant(service, service.key_b).json()["settings"]["sweeper_interval_s"] == 5


def test_every_issue_is_reported_with_its_path_and_nothing_changes(service: Service) -> None:
    before = _settings(service)
    bad = {
        **before,
        "max_concurrent_tasks_per_service": {"chat": 51, "email": 0, "external_task": 5},
        "context_retention_days": 731,
        "transfer_ring_timeout_s": 4,
        "rnl_disabled_numbers": ["+4930123456789", "0301234", "+4930123456789"],
    }
    response = service.client.put("/api/v1/tenant/settings", json=bad, headers=service.auth())
    assert response.status_code == 422, response.text
    found = {(e["path"], e["code"]) for e in response.json()["errors"]}
    assert found == {
        ("max_concurrent_tasks_per_service.chat", "out_of_range"),
        ("max_concurrent_tasks_per_service.email", "out_of_range"),
        ("context_retention_days", "out_of_range"),
        ("transfer_ring_timeout_s", "out_of_range"),
        ("rnl_disabled_numbers[1]", "invalid_format"),
        ("rnl_disabled_numbers[2]", "not_unique"),
    }
    assert all(e["message"] for e in response.json()["errors"])
    unknown = service.client.put(
        "/api/v1/tenant/settings",
        json={**before, "voice_connectivity": "carrier_pigeon", "colour": "red"},
        headers=service.auth(),
    )
    assert unknown.status_code == 422
    paths = {e["path"] for e in unknown.json()["errors"]}
    assert {"voice_connectivity", "colour"} <= paths
    assert _settings(service) == before


def test_ou_admins_read_but_do_not_write(service: Service) -> None:
    created = service.client.post(
        "/api/v1/ous", json={"name": "A", "parent_id": "root"}, headers=service.auth()
    ).json()
    ou_key = issue_api_key(
        service.tenancy,
        "tenant-a",
        name="ou",
        scopes=["config:read", "config:write"],
        created_by="test",
        ou_id=created["id"],
    )
    settings = _tenant(service, ou_key).json()["settings"]
    refused = service.client.put(
        "/api/v1/tenant/settings", json=settings, headers=service.auth(ou_key)
    )
    assert refused.status_code == 403, refused.text


def test_privacy_toggles_need_a_tenant_admin_person(service: Service) -> None:
    settings = _settings(service)
    # A tenant-wide key may change other settings ...
    other = service.client.put(
        "/api/v1/tenant/settings",
        json={**settings, "persist_user_states": True},
        headers=service.auth(),
    )
    assert other.status_code == 200, other.text
    # ... but not what partners may see.
    toggled = service.client.put(
        "/api/v1/tenant/settings",
        json={**other.json()["settings"], "partner_may_see_user_identifiers": True},
        headers=service.auth(),
    )
    assert toggled.status_code == 403, toggled.text
    assert "partner_may_see" in toggled.json()["detail"]
    assert _settings(service)["partner_may_see_user_identifiers"] is False
    read_only = service.client.put(
        "/api/v1/tenant/settings", json=settings, headers=service.auth(service.read_only_a)
    )
    assert read_only.status_code == 403
