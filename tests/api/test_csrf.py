"""CSRF: a cookie alone never changes state; the page's token and our origin must come too (BS1)."""

from __future__ import annotations

from typing import Any

import pytest
from api_harness import Service, service
from sign_in_harness import ORIGIN, TENANT_ADMIN, Session, person, sign_in

__all__ = ["service"]

SERVICE_BODY = {"name": "Sales", "upn": "sales@acme.test", "user_assignment_type": "teams_based"}


def _admin(svc: Service) -> Session:
    person(svc, "anna", roles=TENANT_ADMIN)
    return sign_in(svc, "anna")


def _create(svc: Service, headers: dict[str, str]) -> Any:
    """Create a service (each with its own name and UPN, which must be unique)."""
    n = _count(svc)
    body = {**SERVICE_BODY, "name": f"Sales {n}", "upn": f"sales{n}@acme.test"}
    return svc.client.post("/api/v1/services", json=body, headers=headers)


def _count(svc: Service) -> int:
    total: int = svc.client.get("/api/v1/services", headers=svc.auth()).json()["total"]
    return total


def test_a_cookie_without_the_token_changes_nothing(service: Service) -> None:
    session = _admin(service)
    refused = _create(service, session.headers(csrf=False))
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_token_invalid"
    assert "X-CSRF-Token" in refused.json()["detail"]
    wrong = _create(service, {**session.headers(), "X-CSRF-Token": session.csrf_token + "x"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "csrf_token_invalid"
    assert _count(service) == 0


def test_every_state_changing_method_is_checked(service: Service) -> None:
    session = _admin(service)
    created = _create(service, session.headers())
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    update = {**SERVICE_BODY, "name": "Sales 2"}
    put = service.client.put(
        f"/api/v1/services/{sid}", json=update, headers=session.headers(csrf=False)
    )
    delete = service.client.delete(f"/api/v1/services/{sid}", headers=session.headers(csrf=False))
    patch = service.client.patch(
        f"/api/v1/services/{sid}", json=update, headers=session.headers(csrf=False)
    )
    for answer in (put, delete):
        assert answer.status_code == 403 and answer.json()["code"] == "csrf_token_invalid"
    assert patch.status_code in (403, 405)  # no PATCH route; never a change
    current = service.client.get(f"/api/v1/services/{sid}", headers=service.auth()).json()
    assert current["name"] == "Sales 0"
    ok = service.client.put(f"/api/v1/services/{sid}", json=update, headers=session.headers())
    assert ok.status_code == 200 and ok.json()["name"] == "Sales 2"
    gone = service.client.delete(f"/api/v1/services/{sid}", headers=session.headers())
    assert gone.status_code == 204


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://testserver.evil.example",
        "https://testserver",  # another scheme is another origin
        "http://testserver:8080",
        "null",  # sandboxed frames and some redirects
    ],
)
def test_the_token_from_a_foreign_origin_is_refused(service: Service, origin: str) -> None:
    session = _admin(service)
    refused = _create(service, session.headers(origin=origin))
    assert refused.status_code == 403 and refused.json()["code"] == "cross_origin_request"
    assert _count(service) == 0


def test_referer_stands_in_for_a_missing_origin(service: Service) -> None:
    session = _admin(service)
    foreign = _create(
        service, {**session.headers(origin=None), "Referer": "https://evil.example/page"}
    )
    assert foreign.status_code == 403 and foreign.json()["code"] == "cross_origin_request"
    neither = _create(service, session.headers(origin=None))
    assert neither.status_code == 403 and neither.json()["code"] == "cross_origin_request"
    ours = _create(service, {**session.headers(origin=None), "Referer": f"{ORIGIN}/app/services"})
    assert ours.status_code == 201, ours.text


def test_the_token_from_our_own_origin_is_accepted(service: Service) -> None:
    session = _admin(service)
    created = _create(service, session.headers())
    assert created.status_code == 201, created.text
    assert _count(service) == 1


def test_one_sessions_token_does_not_fit_another_session(service: Service) -> None:
    session = _admin(service)
    person(service, "bert", roles=TENANT_ADMIN)
    bert = sign_in(service, "bert")
    mixed = _create(service, {**session.headers(), "X-CSRF-Token": bert.csrf_token})
    assert mixed.status_code == 403 and mixed.json()["code"] == "csrf_token_invalid"


def test_reading_needs_neither_token_nor_origin(service: Service) -> None:
    session = _admin(service)
    for path in ("/api/v1/services", "/api/v1/auth/me", "/api/v1/users"):
        answer = service.client.get(path, headers=session.headers(csrf=False, origin=None))
        assert answer.status_code == 200, (path, answer.text)
    # Not even with a foreign origin: a GET changes nothing.
    foreign = service.client.get(
        "/api/v1/services", headers=session.headers(csrf=False, origin="https://evil.example")
    )
    assert foreign.status_code == 200


def test_api_key_requests_are_exempt(service: Service) -> None:
    created = _create(service, {**service.auth(), "Origin": "https://evil.example"})
    assert created.status_code == 201, created.text
    by_header = _create(service, {"X-API-Key": service.key_a})
    assert by_header.status_code == 201, by_header.text
    assert _count(service) == 2


def test_a_key_beside_a_cookie_acts_as_the_key(service: Service) -> None:
    """The key decides who acts, so the exemption cannot lend the cookie its rights."""
    person(service, "anna", roles=TENANT_ADMIN)
    session = sign_in(service, "anna")
    headers = {**session.headers(csrf=False), **service.auth(service.read_only_a)}
    refused = _create(service, headers)
    assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
    me = service.client.get("/api/v1/auth/me", headers=headers).json()
    assert me["kind"] == "api_key"
