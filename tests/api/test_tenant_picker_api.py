"""The web UI's tenant picker on the API (10 R3): `PUT /api/v1/auth/system/tenant` and the
cookie it sets, which stands in for `X-Switchboard-Tenant` on a system session's requests —
checked against the account's reach on every request, like the header."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from api_harness import Service, service
from sign_in_harness import Session, person, sign_in
from system_harness import TENANT_HEADER, partner_for, system_account, system_sign_in

from switchboard.api.observability import configure_logging

__all__ = ["service"]

CHOOSE = "/api/v1/auth/system/tenant"


def _with_choice(session: Session, tenant_id: str) -> dict[str, str]:
    """The session's headers with the picker's cookie, as the browser sends them."""
    sent = session.headers()
    sent["Cookie"] += f"; sb_tenant={tenant_id}"
    return sent


def _choose(svc: Service, session: Session, tenant_id: str) -> tuple[int, dict[str, object]]:
    answer = svc.client.put(CHOOSE, json={"tenant_id": tenant_id}, headers=session.headers())
    svc.client.cookies.clear()
    body: dict[str, object] = answer.json() if answer.content else {}
    if answer.status_code == 200:
        assert answer.cookies.get("sb_tenant") == tenant_id
        set_cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie
    return answer.status_code, body


def _tag_names(svc: Service, headers: dict[str, str]) -> tuple[int, set[str]]:
    answer = svc.client.get("/api/v1/tags", headers=headers)
    if answer.status_code != 200:
        return answer.status_code, set()
    return 200, {t["name"] for t in answer.json()["items"]}


@pytest.fixture
def tagged(service: Service) -> Service:
    """One tag in each tenant, to tell which tenant answered."""
    for key, name in ((service.key_a, "Tag of A"), (service.key_b, "Tag of B")):
        made = service.client.post("/api/v1/tags", json={"name": name}, headers=service.auth(key))
        assert made.status_code == 201, made.text
    return service


def test_a_system_admin_picks_a_tenant_and_its_requests_act_there(tagged: Service) -> None:
    svc = tagged
    system_account(svc, "root", "system_admin")
    root = system_sign_in(svc, "root")
    status, body = _choose(svc, root, "tenant-b")
    assert status == 200
    assert body["tenant_id"] == "tenant-b" and body["name"]
    assert _tag_names(svc, _with_choice(root, "tenant-b")) == (200, {"Tag of B"})
    # The header, when a request sends one, names the tenant instead of the cookie.
    both = {**_with_choice(root, "tenant-b"), TENANT_HEADER: "tenant-a"}
    assert _tag_names(svc, both) == (200, {"Tag of A"})
    # Writes follow the choice too (and still need the CSRF token).
    made = svc.client.post(
        "/api/v1/tags", json={"name": "Made by root"}, headers=_with_choice(root, "tenant-a")
    )
    assert made.status_code == 201, made.text
    assert "Made by root" in _tag_names(svc, svc.auth(svc.key_a))[1]
    me = svc.client.get("/api/v1/auth/me", headers=_with_choice(root, "tenant-a")).json()
    assert me["tenant_id"] == "tenant-a"
    # Without a choice nothing has changed: the tenant must be named.
    unselected = svc.client.get("/api/v1/tags", headers=root.headers())
    assert (unselected.status_code, unselected.json()["code"]) == (400, "tenant_not_selected")


def test_a_partner_admin_cannot_pick_another_partners_tenant(tagged: Service) -> None:
    svc = tagged
    partner = partner_for(svc, "Partner A", "tenant-a")
    system_account(svc, "pa", "partner_admin", partner)
    pa = system_sign_in(svc, "pa")
    status, body = _choose(svc, pa, "tenant-b")
    assert (status, body["code"]) == (404, "tenant_not_found")
    status, body = _choose(svc, pa, "no-such-tenant")
    assert (status, body["code"]) == (404, "tenant_not_found")
    assert _choose(svc, pa, "tenant-a")[0] == 200
    # A cookie the picker never set is checked all the same: another partner's tenant is
    # answered as missing, on every request.
    foreign = svc.client.get("/api/v1/tags", headers=_with_choice(pa, "tenant-b"))
    assert (foreign.status_code, foreign.json()["code"]) == (404, "tenant_not_found")
    assert _tag_names(svc, _with_choice(pa, "tenant-a")) == (200, {"Tag of A"})
    # Moved to another partner, the chosen tenant is out of reach at once.
    assert svc.tenancy.tenants.set_partner("tenant-a", partner_for(svc, "Partner Z")) is not None
    gone = svc.client.get("/api/v1/tags", headers=_with_choice(pa, "tenant-a"))
    assert (gone.status_code, gone.json()["code"]) == (404, "tenant_not_found")


def test_only_system_sessions_pick_and_a_person_ignores_the_cookie(tagged: Service) -> None:
    svc = tagged
    person(svc, "alice", roles=[{"role": "tenant_admin", "scope_type": "tenant"}])
    alice = sign_in(svc, "alice")
    refused = svc.client.put(CHOOSE, json={"tenant_id": "tenant-b"}, headers=alice.headers())
    assert (refused.status_code, refused.json()["code"]) == (403, "not_a_system_session")
    # A tenant's person stays in their tenant whatever the cookie says.
    assert _tag_names(svc, _with_choice(alice, "tenant-b")) == (200, {"Tag of A"})
    # API keys have no session to keep a choice in.
    key = svc.client.put(CHOOSE, json={"tenant_id": "tenant-b"}, headers=svc.auth())
    assert key.status_code == 403


def test_the_choice_is_validated_and_ends_with_the_session(tagged: Service) -> None:
    svc = tagged
    system_account(svc, "root", "system_admin")
    root = system_sign_in(svc, "root")
    empty = svc.client.put(CHOOSE, json={"tenant_id": ""}, headers=root.headers())
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["path"] == "tenant_id"
    no_csrf = svc.client.put(
        CHOOSE, json={"tenant_id": "tenant-a"}, headers=root.headers(csrf=False)
    )
    assert (no_csrf.status_code, no_csrf.json()["code"]) == (403, "csrf_token_invalid")
    out = svc.client.post("/api/v1/auth/sign-out", headers=_with_choice(root, "tenant-a"))
    assert out.status_code == 204
    cleared = [c for c in out.headers.get_list("set-cookie") if c.startswith("sb_tenant=")]
    assert cleared and "Max-Age=0" in cleared[0]
    again = svc.client.post(
        "/api/v1/auth/system/sign-in",
        json={"username": "root", "password": "violet-harbour-lantern-42"},
    )
    svc.client.cookies.clear()
    assert any(c.startswith("sb_tenant=") for c in again.headers.get_list("set-cookie"))


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


def test_choosing_and_acting_through_the_choice_are_audited(
    tagged: Service, json_logs: io.StringIO
) -> None:
    svc = tagged
    system_account(svc, "root", "system_admin")
    root = system_sign_in(svc, "root")
    assert _choose(svc, root, "tenant-b")[0] == 200
    assert _tag_names(svc, _with_choice(root, "tenant-b"))[0] == 200
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    audited = [line for line in lines if line.get("event") == "system_principal_in_tenant"]
    assert [(a["route"], a["acting_in_tenant"]) for a in audited] == [
        (CHOOSE, "tenant-b"),
        ("/api/v1/tags", "tenant-b"),
    ]
