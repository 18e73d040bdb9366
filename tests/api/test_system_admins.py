"""System and partner administrators (10 §2 SA/PA, R2, R3; 01 §2–§3): signing in,
selecting a tenant, partners, tenant records, and what they may not grant."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from api_harness import Service, service
from sign_in_harness import PASSWORD, Session, person, sign_in
from system_harness import (
    TENANT_HEADER,
    in_tenant,
    partner_for,
    system_account,
    system_sign_in,
)

from switchboard.api.observability import configure_logging
from switchboard.store.repositories import PartnerRepository, SystemAccountRepository

__all__ = ["service"]


@pytest.fixture
def root(service: Service) -> Session:
    system_account(service, "root", "system_admin")
    return system_sign_in(service, "root")


@pytest.fixture
def partner_a(service: Service) -> str:
    """Partner A, which tenant A belongs to; tenant B stays with the default partner."""
    return partner_for(service, "Partner A", "tenant-a")


@pytest.fixture
def pa(service: Service, partner_a: str) -> Session:
    system_account(service, "pa", "partner_admin", partner_a)
    return system_sign_in(service, "pa")


def test_a_system_admin_signs_in_and_acts_in_a_tenant_only_once_selected(
    service: Service,
) -> None:
    system_account(service, "root", "system_admin")
    answer = service.client.post(
        "/api/v1/auth/system/sign-in", json={"username": " ROOT ", "password": PASSWORD}
    )
    service.client.cookies.clear()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["kind"], body["role"], body["partner_id"]) == ("system", "system_admin", None)
    session = Session("sb_session", answer.cookies["sb_session"], body["csrf_token"])

    unselected = service.client.get("/api/v1/services", headers=session.headers())
    assert unselected.status_code == 400
    problem = unselected.json()
    assert problem["code"] == "tenant_not_selected"
    assert TENANT_HEADER in problem["detail"]
    assert problem["errors"][0]["path"] == f"header:{TENANT_HEADER}"
    inside = service.client.get("/api/v1/services", headers=in_tenant(session, "tenant-a"))
    assert inside.status_code == 200, inside.text
    missing = service.client.get("/api/v1/services", headers=in_tenant(session, "no-tenant"))
    assert (missing.status_code, missing.json()["code"]) == (404, "tenant_not_found")

    me = service.client.get("/api/v1/auth/me", headers=session.headers()).json()
    assert me["kind"] == "system" and me["username"] == "root" and me["tenant_id"] is None
    assert me["roles"] == [{"role": "system_admin", "scope_type": "system", "scope_id": None}]
    assert me["may"]["partners"] == ["read", "write"] and me["may"]["api_keys"] == []
    me_in_a = service.client.get("/api/v1/auth/me", headers=in_tenant(session, "tenant-a"))
    assert me_in_a.json()["tenant_id"] == "tenant-a"


def test_wrong_passwords_and_unknown_names_get_the_same_answer(service: Service) -> None:
    system_account(service, "root", "system_admin")
    wrong = service.client.post(
        "/api/v1/auth/system/sign-in", json={"username": "root", "password": "not it at all"}
    )
    unknown = service.client.post(
        "/api/v1/auth/system/sign-in", json={"username": "nobody", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    # a tenant's account is not a system account, nor the other way round
    person(service, "alice")
    tenant_user = service.client.post(
        "/api/v1/auth/system/sign-in", json={"username": "alice", "password": PASSWORD}
    )
    assert tenant_user.status_code == 401
    as_tenant_user = service.client.post(
        "/api/v1/auth/sign-in", json={"username": "root", "password": PASSWORD}
    )
    assert as_tenant_user.status_code == 401


def test_a_partner_admin_selects_only_its_partners_tenants(
    service: Service, root: Session, pa: Session, partner_a: str
) -> None:
    assert service.client.get("/api/v1/ous", headers=in_tenant(pa, "tenant-a")).status_code == 200
    foreign = service.client.get("/api/v1/ous", headers=in_tenant(pa, "tenant-b"))
    assert (foreign.status_code, foreign.json()["code"]) == (404, "tenant_not_found")
    # Moved to another partner, tenant A is out of reach at once.
    other = service.client.post(
        "/api/v1/partners", json={"name": "Partner Z"}, headers=root.headers()
    ).json()["id"]
    moved = service.client.put(
        "/api/v1/tenants/tenant-a/partner", json={"partner_id": other}, headers=root.headers()
    )
    assert moved.status_code == 200 and moved.json()["partner_id"] == other
    gone = service.client.get("/api/v1/ous", headers=in_tenant(pa, "tenant-a"))
    assert gone.status_code == 404


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    root_logger = logging.getLogger()
    saved = (list(root_logger.handlers), root_logger.level)
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    try:
        yield buffer
    finally:
        root_logger.handlers, level = saved
        root_logger.setLevel(level)
        structlog.reset_defaults()


def test_every_action_inside_a_tenant_is_audited(
    service: Service, root: Session, json_logs: io.StringIO
) -> None:
    created = service.client.post(
        "/api/v1/tags",
        json={"name": "Audited"},
        headers={**in_tenant(root, "tenant-a"), "X-Request-ID": "req-audit"},
    )
    assert created.status_code == 201, created.text
    lines = [json.loads(x) for x in json_logs.getvalue().splitlines() if x.startswith("{")]
    audit = [x for x in lines if x.get("event") == "system_principal_in_tenant"]
    assert len(audit) == 1
    entry = audit[0]
    assert entry["logger"] == "switchboard.audit"
    assert entry["acting_in_tenant"] == "tenant-a" and entry["role"] == "system_admin"
    assert entry["principal"].startswith("system:") and entry["route"] == "/api/v1/tags"
    assert entry["method"] == "POST" and entry["permission"] == "shared_config:write"
    assert entry["request_id"] == "req-audit"
    access = next(x for x in lines if x.get("event") == "request")
    assert access["request_id"] == "req-audit" and access["tenant_id"] == "tenant-a"
    assert access["status"] == 201


# ---------------------------------------------------------------------- partners (row 1)


def test_system_admins_manage_partners(service: Service, root: Session) -> None:
    h = root.headers()
    c = service.client
    created = c.post(
        "/api/v1/partners", json={"name": " Acme ", "admin_group_id": "g-1"}, headers=h
    )
    assert created.status_code == 201, created.text
    acme = created.json()
    assert (acme["name"], acme["admin_group_id"], acme["is_default"]) == ("Acme", "g-1", False)
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"/api/v1/partners/{acme['id']}"
    taken = c.post("/api/v1/partners", json={"name": "Acme"}, headers=h)
    assert (taken.status_code, taken.json()["errors"][0]["path"]) == (409, "name")
    blank = c.post("/api/v1/partners", json={"name": "   "}, headers=h)
    assert (blank.status_code, blank.json()["errors"][0]["path"]) == (422, "name")
    listed = c.get("/api/v1/partners", headers=h).json()
    assert [p["name"] for p in listed["items"]] == ["Acme", "Default partner"]
    assert c.get(f"/api/v1/partners/{acme['id']}", headers=h).json() == acme
    assert c.get("/api/v1/partners/nope", headers=h).json()["code"] == "partner_not_found"

    stale = c.put(
        f"/api/v1/partners/{acme['id']}",
        json={"name": "Acme AG"},
        headers={**h, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    renamed = c.put(
        f"/api/v1/partners/{acme['id']}",
        json={"name": "Acme AG", "is_default": True},
        headers={**h, "If-Match": '"1"'},
    )
    assert renamed.status_code == 200 and renamed.json()["is_default"] is True
    default = PartnerRepository(service.tenancy.db).default()
    assert default.id == acme["id"]
    given_up = c.put(f"/api/v1/partners/{acme['id']}", json={"name": "Acme AG"}, headers=h)
    assert (given_up.status_code, given_up.json()["errors"][0]["path"]) == (422, "is_default")

    # The default partner, and one that tenants belong to, are in use.
    refused = c.delete(f"/api/v1/partners/{acme['id']}", headers=h)
    assert (refused.status_code, refused.json()["code"]) == (409, "entity_in_use")
    old_default = next(p for p in listed["items"] if p["name"] == "Default partner")
    in_use = c.delete(f"/api/v1/partners/{old_default['id']}", headers=h)
    assert in_use.status_code == 409
    assert {e["message"] for e in in_use.json()["errors"]} == {
        "Referred to by tenant:tenant-a.",
        "Referred to by tenant:tenant-b.",
    }
    empty = c.post("/api/v1/partners", json={"name": "Empty"}, headers=h).json()
    assert c.delete(f"/api/v1/partners/{empty['id']}", headers=h).status_code == 204
    assert c.get(f"/api/v1/partners/{empty['id']}", headers=h).status_code == 404


def test_nobody_but_system_admins_sees_partners(service: Service, pa: Session) -> None:
    for headers in (pa.headers(), in_tenant(pa, "tenant-a")):
        refused = service.client.get("/api/v1/partners", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "missing_permission")
    admin = person(service, "ta", roles=[{"role": "tenant_admin", "scope_type": "tenant"}])
    assert admin
    tenant_admin = sign_in(service, "ta")
    assert service.client.get("/api/v1/partners", headers=tenant_admin.headers()).status_code == 403
    keyed = service.client.post("/api/v1/partners", json={"name": "X"}, headers=service.auth())
    assert (keyed.status_code, keyed.json()["code"]) == (403, "not_for_api_keys")


# ---------------------------------------------------------------------- tenant records (row 2)


def _tenant_ids(service: Service, headers: dict[str, str]) -> list[str]:
    answer = service.client.get("/api/v1/tenants", headers=headers)
    assert answer.status_code == 200, answer.text
    return [t["id"] for t in answer.json()["items"]]


def test_tenant_records_are_read_in_each_ones_scope(
    service: Service, root: Session, pa: Session, partner_a: str
) -> None:
    assert _tenant_ids(service, root.headers()) == ["tenant-a", "tenant-b"]
    assert _tenant_ids(service, pa.headers()) == ["tenant-a"]
    person(service, "ta", roles=[{"role": "tenant_admin", "scope_type": "tenant"}])
    tenant_admin = sign_in(service, "ta").headers()
    assert _tenant_ids(service, tenant_admin) == ["tenant-a"]
    assert _tenant_ids(service, service.auth(service.read_only_a)) == ["tenant-a"]
    record = service.client.get("/api/v1/tenants/tenant-a", headers=tenant_admin).json()
    assert record["partner_id"] == partner_a and record["name"] == "Tenant A"
    for headers in (tenant_admin, pa.headers(), service.auth()):
        other = service.client.get("/api/v1/tenants/tenant-b", headers=headers)
        assert (other.status_code, other.json()["code"]) == (404, "tenant_not_found")
    # Read only, except for system admins (row 2).
    for headers in (tenant_admin, pa.headers()):
        moved = service.client.put(
            "/api/v1/tenants/tenant-a/partner", json={"partner_id": partner_a}, headers=headers
        )
        assert moved.status_code == 403, moved.text
    person(service, "oa", roles=[{"role": "ou_admin", "scope_type": "ou", "scope_id": "root"}])
    ou_admin = sign_in(service, "oa").headers()
    assert service.client.get("/api/v1/tenants", headers=ou_admin).status_code == 403
    # The tenant settings (row 3) no longer pretend to hold the partner.
    assert "partner_id" not in service.client.get("/api/v1/tenant", headers=service.auth()).json()


def test_a_system_admin_creates_a_tenant_and_its_first_administrator(
    service: Service, root: Session, partner_a: str
) -> None:
    created = service.client.post(
        "/api/v1/tenants", json={"name": "Newco", "partner_id": partner_a}, headers=root.headers()
    )
    assert created.status_code == 201, created.text
    tenant = created.json()
    assert tenant["partner_id"] == partner_a and created.headers["Location"].endswith(tenant["id"])
    unknown = service.client.post(
        "/api/v1/tenants", json={"name": "Lost", "partner_id": "nope"}, headers=root.headers()
    )
    assert (unknown.status_code, unknown.json()["errors"][0]["path"]) == (422, "partner_id")
    inside = in_tenant(root, tenant["id"])
    admin = service.client.post(
        "/api/v1/users",
        json={
            "upn": "boss@newco.test",
            "display_name": "Boss",
            "roles": [{"role": "tenant_admin", "scope_type": "tenant"}],
        },
        headers=inside,
    )
    assert admin.status_code == 201, admin.text
    account = service.client.put(
        f"/api/v1/users/{admin.json()['id']}/account",
        json={"username": "boss", "password": PASSWORD},
        headers=inside,
    )
    assert account.status_code == 200, account.text
    boss = service.client.post(
        "/api/v1/auth/sign-in", json={"username": "boss", "password": PASSWORD}
    )
    assert boss.status_code == 200 and boss.json()["tenant_id"] == tenant["id"]


def test_a_partner_admin_grants_only_roles_within_its_own_rights(
    service: Service, pa: Session
) -> None:
    """10 R2: no tenant admin (who could unlock the privacy toggles for the partner)."""
    inside = in_tenant(pa, "tenant-a")

    def user(upn: str, roles: list[dict[str, Any]]) -> Any:
        return service.client.post(
            "/api/v1/users",
            json={"upn": upn, "display_name": upn, "roles": roles},
            headers=inside,
        )

    refused = user("boss@acme.test", [{"role": "tenant_admin", "scope_type": "tenant"}])
    assert (refused.status_code, refused.json()["code"]) == (403, "cannot_grant_role")
    ou_admin = user("oa@acme.test", [{"role": "ou_admin", "scope_type": "ou", "scope_id": "root"}])
    assert ou_admin.status_code == 403
    limited = user(
        "la@acme.test", [{"role": "limited_admin", "scope_type": "ou", "scope_id": "root"}]
    )
    assert limited.status_code == 201, limited.text
    # …nor withdraw a role it could not grant
    boss = service.client.post(
        "/api/v1/users",
        json={
            "upn": "ta@acme.test",
            "display_name": "TA",
            "roles": [{"role": "tenant_admin", "scope_type": "tenant"}],
        },
        headers=service.auth(),
    ).json()
    demoted = service.client.put(
        f"/api/v1/users/{boss['id']}",
        json={"upn": "ta@acme.test", "display_name": "TA", "roles": []},
        headers=inside,
    )
    assert demoted.status_code == 403


def test_system_and_partner_admins_change_settings_but_not_the_privacy_toggles(
    service: Service, root: Session, pa: Session
) -> None:
    for session in (root, pa):
        inside = in_tenant(session, "tenant-a")
        settings = service.client.get("/api/v1/tenant", headers=inside).json()["settings"]
        kept = service.client.put(
            "/api/v1/tenant/settings",
            json={**settings, "context_retention_days": 60},
            headers=inside,
        )
        assert kept.status_code == 200, kept.text
        unlocked = service.client.put(
            "/api/v1/tenant/settings",
            json={**settings, "partner_may_see_user_identifiers": True},
            headers=inside,
        )
        assert unlocked.status_code == 403, unlocked.text


# ---------------------------------------------------------------------- sessions


def test_a_system_session_signs_out_changes_its_password_and_ends_with_its_account(
    service: Service,
) -> None:
    account_id = system_account(service, "root", "system_admin")
    first = system_sign_in(service, "root")
    second = system_sign_in(service, "root")
    changed = service.client.put(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "amber-quarry-window-77"},
        headers=first.headers(),
    )
    assert changed.status_code == 204, changed.text
    renewed = Session("sb_session", changed.cookies["sb_session"], first.csrf_token)
    assert service.client.get("/api/v1/partners", headers=renewed.headers()).status_code == 200
    # the other session ended with the password change
    service.tenancy.auth_cache.clear()
    ended = service.client.get("/api/v1/partners", headers=second.headers())
    assert ended.status_code == 401
    out = service.client.post("/api/v1/auth/sign-out", headers=renewed.headers())
    assert out.status_code == 204
    assert service.client.get("/api/v1/partners", headers=renewed.headers()).status_code == 401
    third = system_sign_in(service, "root", "amber-quarry-window-77")
    assert SystemAccountRepository(service.tenancy.db).delete(account_id)
    service.tenancy.auth_cache.clear()
    assert service.client.get("/api/v1/partners", headers=third.headers()).status_code == 401
