"""Signing in with a local account: the cookie, identical refusals, and throttling (10 B2, L3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from api_harness import Service, service
from sign_in_harness import (
    PASSWORD,
    TENANT_ADMIN,
    make_user,
    person,
    sign_in,
    sign_in_raw,
    without_instance,
)

from switchboard.api.routes.auth import FAILURE_WINDOW, unknown_name_throttle
from switchboard.api.security.passwords import login_delay
from switchboard.store.repositories import Account, AccountRepository

__all__ = ["service"]


def _account(svc: Service, username: str, tenant_id: str = "tenant-a") -> Account:
    account = AccountRepository(svc.tenancy.db, tenant_id).by_username(username)
    assert account is not None
    return account


def _fail_in_store(svc: Service, username: str, *, at: datetime) -> Account:
    """One more failed attempt recorded at `at`, with the service's own policy."""
    updated = AccountRepository(svc.tenancy.db, "tenant-a").record_failure(
        _account(svc, username).id,
        window=FAILURE_WINDOW,
        delay_for=lambda failures: timedelta(seconds=login_delay(failures)),
        now=at,
    )
    assert updated is not None
    return updated


def test_sign_in_sets_a_host_only_http_only_lax_cookie(service: Service) -> None:
    user_id = person(service, "anna", roles=TENANT_ADMIN)
    answer = sign_in_raw(service, "anna")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user_id"] == user_id and body["tenant_id"] == "tenant-a"
    assert len(body["csrf_token"]) >= 32
    header = answer.headers["set-cookie"]
    attributes = [part.strip().lower() for part in header.split(";")]
    assert attributes[0].startswith("sb_session=")
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # plain-HTTP development: a browser would drop it
    assert not any(a.startswith("domain=") for a in attributes)
    token = answer.cookies["sb_session"]
    assert token not in answer.text  # only the cookie carries the session


def test_over_https_the_cookie_is_secure_and_host_prefixed(service: Service) -> None:
    person(service, "anna")
    answer = service.client.post(
        "https://testserver/api/v1/auth/sign-in", json={"username": "anna", "password": PASSWORD}
    )
    service.client.cookies.clear()
    assert answer.status_code == 200, answer.text
    attributes = [part.strip().lower() for part in answer.headers["set-cookie"].split(";")]
    assert attributes[0].startswith("__host-sb_session=")
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
    token = answer.cookies["__Host-sb_session"]
    me = service.client.get(
        "https://testserver/api/v1/auth/me", headers={"Cookie": f"__Host-sb_session={token}"}
    )
    assert me.status_code == 200 and me.json()["method"] == "session"
    # A cookie without the prefix may have been planted by a sibling subdomain over plain
    # HTTP; over https only the host-bound name counts.
    tossed = service.client.get(
        "https://testserver/api/v1/auth/me", headers={"Cookie": f"sb_session={token}"}
    )
    assert tossed.status_code == 401


def test_me_answers_who_is_signed_in_and_what_they_may_do(service: Service) -> None:
    admin_id = person(service, "anna", roles=TENANT_ADMIN)
    agent_id = person(service, "bert")
    anna, bert = sign_in(service, "anna"), sign_in(service, "bert")

    me = service.client.get("/api/v1/auth/me", headers=anna.headers(csrf=False, origin=None))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["user_id"] == admin_id and body["kind"] == "user" and body["method"] == "session"
    assert body["upn"] == "anna@acme.test" and body["tenant_id"] == "tenant-a"
    assert body["roles"] == [{"role": "tenant_admin", "scope_type": "tenant", "scope_id": None}]
    assert body["csrf_token"] == anna.csrf_token
    assert body["may"]["users"] == ["read", "write"]

    plain = service.client.get("/api/v1/auth/me", headers=bert.headers(csrf=False)).json()
    assert plain["user_id"] == agent_id and plain["roles"] == []
    assert plain["may"]["users"] == ["read"]  # about themselves only
    assert plain["may"]["ous"] == [] and plain["may"]["api_keys"] == []
    # The session's rights are the user's roles: an agent cannot list services' settings.
    denied = service.client.post(
        "/api/v1/services",
        json={"name": "X", "upn": "x@acme.test", "user_assignment_type": "teams_based"},
        headers=bert.headers(),
    )
    assert denied.status_code == 403
    allowed = service.client.post(
        "/api/v1/services",
        json={"name": "X", "upn": "x@acme.test", "user_assignment_type": "teams_based"},
        headers=anna.headers(),
    )
    assert allowed.status_code == 201, allowed.text


def test_usernames_compare_without_case_or_spaces(service: Service) -> None:
    person(service, "anna")
    assert sign_in_raw(service, "  ANNA ").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_refusal(service: Service) -> None:
    person(service, "anna")
    wrong = sign_in_raw(service, "anna", "not-the-password-at-all")
    unknown = sign_in_raw(service, "nobody-here", "not-the-password-at-all")
    other_tenant = sign_in_raw(service, "anna", PASSWORD, tenant_id="tenant-b")
    assert wrong.status_code == unknown.status_code == other_tenant.status_code == 401
    assert (
        without_instance(wrong.json())
        == without_instance(unknown.json())
        == without_instance(other_tenant.json())
    )
    assert wrong.json()["code"] == "invalid_credentials"
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
    assert "not-the-password" not in wrong.text


def test_five_failures_delay_the_account_even_for_the_right_password(service: Service) -> None:
    person(service, "anna")
    for attempt in range(4):
        refused = sign_in_raw(service, "anna", f"wrong-password-{attempt}")
        assert refused.status_code == 401
    assert _account(service, "anna").delay_until is None  # four typing mistakes are free
    before = datetime.now(UTC)
    assert sign_in_raw(service, "anna", "wrong-password-4").status_code == 401
    after = datetime.now(UTC)
    fifth = _account(service, "anna")
    assert fifth.failed_count == 5 and fifth.delay_until is not None
    assert before + timedelta(seconds=1) <= fifth.delay_until <= after + timedelta(seconds=1)

    # Three more failures (recorded in the store, so the test does not race a 1 s delay):
    # the delay doubles with each, to 8 s.
    now = datetime.now(UTC)
    for _ in range(3):
        delayed = _fail_in_store(service, "anna", at=now)
    assert delayed.delay_until == now + timedelta(seconds=8)

    for password in ("still-wrong-password", PASSWORD):
        refused = sign_in_raw(service, "anna", password)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "sign_in_delayed"
        assert 1 <= int(refused.headers["retry-after"]) <= 8
        assert "set-cookie" not in refused.headers
    assert _account(service, "anna").failed_count == 8  # a refused attempt is not checked

    # Once the delay has passed the next failure doubles it again (count 9 -> 16 s) ...
    _fail_in_store(service, "anna", at=now - timedelta(minutes=1))  # expired delay
    assert not _account(service, "anna").is_delayed(datetime.now(UTC))
    assert sign_in_raw(service, "anna", "wrong-again-password").status_code == 401
    assert _account(service, "anna").failed_count == 10
    retry = sign_in_raw(service, "anna", PASSWORD)
    assert retry.status_code == 429 and 16 < int(retry.headers["retry-after"]) <= 32


def test_the_right_password_after_the_delay_signs_in_and_clears_the_count(
    service: Service,
) -> None:
    person(service, "anna")
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    for _ in range(6):
        _fail_in_store(service, "anna", at=long_ago)
    assert _account(service, "anna").delay_until == long_ago + timedelta(seconds=2)
    assert sign_in_raw(service, "anna").status_code == 200
    cleared = _account(service, "anna")
    assert (cleared.failed_count, cleared.failed_since, cleared.delay_until) == (0, None, None)


def test_failures_older_than_the_window_start_a_new_count(service: Service) -> None:
    person(service, "anna")
    old = datetime.now(UTC) - FAILURE_WINDOW - timedelta(minutes=1)
    for _ in range(4):
        _fail_in_store(service, "anna", at=old)
    assert sign_in_raw(service, "anna", "wrong-password-x").status_code == 401
    fresh = _account(service, "anna")
    assert fresh.failed_count == 1 and fresh.delay_until is None


def test_unknown_usernames_are_delayed_like_real_ones(service: Service) -> None:
    """Otherwise the sixth wrong guess would tell whether an account exists (L3)."""
    person(service, "anna")
    throttle = unknown_name_throttle(service.tenancy)
    ghost = ("", "ghost")
    for username in ("anna", "ghost"):
        for attempt in range(4):
            assert sign_in_raw(service, username, f"guess-{attempt}").status_code == 401
    assert throttle.delay_until(ghost, datetime.now(UTC)) is None
    before = datetime.now(UTC)
    assert sign_in_raw(service, "ghost", "guess-4").status_code == 401
    after = datetime.now(UTC)
    until = throttle.delay_until(ghost, before)
    assert until is not None
    assert before + timedelta(seconds=1) <= until <= after + timedelta(seconds=1)
    assert sign_in_raw(service, "anna", "guess-4").status_code == 401

    # Three more each, counted the service's way at one instant: 8 s, so no race below.
    now = datetime.now(UTC)
    for _ in range(3):
        _fail_in_store(service, "anna", at=now)
        throttle.record_failure(ghost, now)
    answers = {name: sign_in_raw(service, name, "guess-5") for name in ("anna", "ghost")}
    for answer in answers.values():
        assert answer.status_code == 429, answer.text
        assert 1 <= int(answer.headers["retry-after"]) <= 8
    known, unknown = (without_instance(a.json()) for a in answers.values())
    assert known["code"] == unknown["code"] == "sign_in_delayed"
    assert re.sub(r"\d+", "N", known["detail"]) == re.sub(r"\d+", "N", unknown["detail"])
    assert {**known, "detail": ""} == {**unknown, "detail": ""}

    # After the delay both answer 401 again, alike.
    _fail_in_store(service, "anna", at=now - timedelta(minutes=1))
    throttle.record_failure(ghost, now - timedelta(minutes=1))
    late = {name: sign_in_raw(service, name, "guess-6") for name in ("anna", "ghost")}
    assert [a.status_code for a in late.values()] == [401, 401]
    assert without_instance(late["anna"].json()) == without_instance(late["ghost"].json())


def test_the_unknown_name_throttle_stays_bounded(service: Service) -> None:
    throttle = unknown_name_throttle(service.tenancy)
    now = datetime.now(UTC)
    old = now - FAILURE_WINDOW - timedelta(minutes=1)
    throttle.MAX_NAMES = 3
    for name in ("a", "b"):
        throttle.record_failure(("", name), old)
    for _ in range(5):
        throttle.record_failure(("", "c"), now)
    throttle.record_failure(("", "d"), now)  # full: the two stale names make room
    assert throttle.delay_until(("", "c"), now) is not None
    for name in ("e", "f", "g"):
        throttle.record_failure(("", name), now)  # full of fresh names: start over
    assert throttle.delay_until(("", "c"), now) is None


def test_an_account_in_several_tenants_needs_the_tenant_named(service: Service) -> None:
    person(service, "anna")
    other = make_user(service, "anna@beta.test", key=service.key_b)
    answer = service.client.put(
        f"/api/v1/users/{other}/account",
        json={"username": "anna", "password": "another-violet-harbour-7"},
        headers=service.auth(service.key_b),
    )
    assert answer.status_code == 200, answer.text
    ambiguous = sign_in_raw(service, "anna")
    assert ambiguous.status_code == 422
    assert ambiguous.json()["errors"][0]["path"] == "tenant_id"
    chosen = sign_in_raw(service, "anna", "another-violet-harbour-7", tenant_id="tenant-b")
    assert chosen.status_code == 200 and chosen.json()["user_id"] == other
    assert chosen.json()["tenant_id"] == "tenant-b"
    # tenant-a's password does not open tenant-b's account.
    assert sign_in_raw(service, "anna", PASSWORD, tenant_id="tenant-b").status_code == 401


def test_sign_in_from_a_foreign_page_is_refused(service: Service) -> None:
    person(service, "anna")
    answer = service.client.post(
        "/api/v1/auth/sign-in",
        json={"username": "anna", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    service.client.cookies.clear()
    assert answer.status_code == 403 and answer.json()["code"] == "cross_origin_request"
    assert "set-cookie" not in answer.headers


def test_sign_in_refuses_malformed_bodies_naming_the_field(service: Service) -> None:
    answer = service.client.post("/api/v1/auth/sign-in", json={"username": "anna"})
    assert answer.status_code == 422
    assert any(e["path"] == "password" for e in answer.json()["errors"])
    empty = service.client.post("/api/v1/auth/sign-in", json={"username": "", "password": "x"})
    assert empty.status_code == 422
    assert any(e["path"] == "username" for e in empty.json()["errors"])


def test_a_disabled_user_cannot_sign_in(service: Service) -> None:
    user_id = person(service, "anna")
    current = service.client.get(f"/api/v1/users/{user_id}", headers=service.auth()).json()
    update = {k: v for k, v in current.items() if k not in ("id", "version")}
    disabled = service.client.put(
        f"/api/v1/users/{user_id}", json={**update, "enabled": False}, headers=service.auth()
    )
    assert disabled.status_code == 200, disabled.text
    refused = sign_in_raw(service, "anna")
    wrong = sign_in_raw(service, "anna", "wrong-password-1")
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
    assert without_instance(refused.json()) == without_instance(wrong.json())


def test_without_a_cookie_nobody_is_signed_in(service: Service) -> None:
    person(service, "anna")
    sign_in(service, "anna")  # the harness keeps the cookie out of the client's jar
    assert not service.client.cookies
    answer = service.client.get("/api/v1/auth/me")
    assert answer.status_code == 401 and answer.json()["code"] == "unauthenticated"
    assert answer.headers["www-authenticate"].startswith("Bearer")
