"""Tenant isolation when the other tenant's principal is a signed-in person (10 TI5).

`test_route_audit` walks every route with tenant B's API key; this walks them
again as B's tenant admin *person* (session cookie, with a valid CSRF token),
whose rights come from roles rather than key scopes — a different code path to
the same answer: B never reaches, changes or learns anything of A.
"""

from __future__ import annotations

import json

from api_harness import Service, service
from test_route_audit import PUBLIC, _api_routes, _body, _path, _seed_tenant_a

__all__ = ["service"]


def _sign_in_admin_of_b(svc: Service) -> dict[str, str]:
    key_b = svc.auth(svc.key_b)
    user = svc.client.post(
        "/api/v1/users",
        json={
            "upn": "boss@b.test",
            "display_name": "Boss of B",
            "roles": [{"role": "tenant_admin", "scope_type": "tenant"}],
        },
        headers=key_b,
    )
    assert user.status_code == 201, user.text
    password = "tenant b boss password 42"
    account = svc.client.put(
        f"/api/v1/users/{user.json()['id']}/account",
        json={"username": "boss-b", "password": password},
        headers=key_b,
    )
    assert account.status_code == 200, account.text
    signed = svc.client.post(
        "/api/v1/auth/sign-in", json={"username": "boss-b", "password": password}
    )
    assert signed.status_code == 200, signed.text
    token = signed.cookies.get("sb_session")
    svc.client.cookies.clear()
    return {
        "Cookie": f"sb_session={token}",
        "X-CSRF-Token": signed.json()["csrf_token"],
        "Origin": "http://testserver",
    }


def test_a_person_of_tenant_b_cannot_reach_tenant_a(service: Service) -> None:
    ids = _seed_tenant_a(service)
    host_a = service.tenancy.hosts["tenant-a"]
    seq_before = host_a.engine.state.seq
    person_b = _sign_in_admin_of_b(service)
    tried = 0
    for route in _api_routes():
        if route.path in PUBLIC or route.path == "/api/v1/auth/sign-out":
            continue  # signing out would end the session this test walks with
        if route.path == "/api/v1/events/stream":
            continue  # endless; its scoping is tested in test_event_stream_scope
        for method in sorted(route.methods or ()):
            tried += 1
            url = _path(route, ids)
            response = service.client.request(method, url, json=_body(ids), headers=person_b)
            text = response.text
            assert response.status_code < 500, f"{method} {url} crashed: {text[:200]}"
            assert "MARKER-A" not in text, f"{method} {url} leaked A's data"
            for value in ids.values():
                assert value not in text or response.status_code >= 400, (
                    f"{method} {url} answered {response.status_code} mentioning A's id"
                )
    assert tried > 40
    assert host_a.engine.state.seq == seq_before, "a request from B changed A's journal"
    listed = service.client.get("/api/v1/services", headers=service.auth()).json()
    assert json.dumps(listed).count("MARKER-A") == 1
