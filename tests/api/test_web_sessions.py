"""Browser sessions after sign-in: sign-out, timeouts, password changes, disabled users (10 B2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_harness import Service, service
from sign_in_harness import PASSWORD, TENANT_ADMIN, Session, person, sign_in, sign_in_raw

from switchboard.api import sessions
from switchboard.store.repositories import AccountRepository, WebSessionRepository

__all__ = ["service"]

NEW_PASSWORD = "copper-meadow-whistle-77"


def _me(svc: Service, session: Session) -> Any:  # httpx.Response
    return svc.client.get("/api/v1/auth/me", headers=session.headers(csrf=False, origin=None))


def _drop_cache(svc: Service) -> None:
    """What 30 s (`sessions.CHECK_EVERY_S`) would do: the next request asks the database."""
    for key, (principal, _until) in list(svc.tenancy.auth_cache.items()):
        svc.tenancy.auth_cache[key] = (principal, 0.0)


def _sessions(svc: Service) -> WebSessionRepository:
    return WebSessionRepository(svc.tenancy.db, "tenant-a")


def _disable(svc: Service, user_id: str, enabled: bool = False) -> None:
    current = svc.client.get(f"/api/v1/users/{user_id}", headers=svc.auth()).json()
    body = {k: v for k, v in current.items() if k not in ("id", "version")}
    answer = svc.client.put(
        f"/api/v1/users/{user_id}", json={**body, "enabled": enabled}, headers=svc.auth()
    )
    assert answer.status_code == 200, answer.text


def test_sign_out_revokes_the_session_at_once_and_for_good(service: Service) -> None:
    person(service, "anna")
    session, other = sign_in(service, "anna"), sign_in(service, "anna")
    assert _me(service, session).status_code == 200  # now cached on this node
    out = service.client.post("/api/v1/auth/sign-out", headers=session.headers())
    assert out.status_code == 204
    cleared = out.headers["set-cookie"].lower()
    assert cleared.startswith("sb_session=") and "max-age=0" in cleared
    gone = _me(service, session)  # not from the cache: sign-out evicted it
    assert gone.status_code == 401 and gone.json()["code"] == "session_expired"
    assert gone.headers["www-authenticate"].startswith("Bearer")
    _drop_cache(service)
    assert _me(service, session).status_code == 401
    stored = _sessions(service).get(sessions.token_hash(session.token))
    assert stored is not None and stored.revoked_at is not None
    # Signing out one browser leaves the person's other sessions alone.
    assert _me(service, other).status_code == 200


def test_sign_out_needs_the_csrf_token(service: Service) -> None:
    """Otherwise any page could sign a person out."""
    person(service, "anna")
    session = sign_in(service, "anna")
    forged = service.client.post("/api/v1/auth/sign-out", headers=session.headers(csrf=False))
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_token_invalid"
    assert _me(service, session).status_code == 200


def test_a_revoked_session_is_trusted_only_until_its_cached_check_runs_out(
    service: Service,
) -> None:
    """Another node's sign-out reaches this one within `CHECK_EVERY_S`."""
    person(service, "anna")
    session = sign_in(service, "anna")
    assert _me(service, session).status_code == 200
    assert _sessions(service).revoke(sessions.token_hash(session.token))  # "another node"
    assert _me(service, session).status_code == 200
    _drop_cache(service)
    assert _me(service, session).status_code == 401


def test_an_unknown_or_garbled_cookie_is_refused(service: Service) -> None:
    for token in ("not-a-session", "x" * 43, ""):
        answer = service.client.get("/api/v1/auth/me", headers={"Cookie": f"sb_session={token}"})
        assert answer.status_code == 401
    assert service.client.get("/api/v1/auth/me").json()["code"] == "unauthenticated"


def test_an_idle_session_expires_and_activity_moves_the_deadline(service: Service) -> None:
    person(service, "anna")
    session = sign_in(service, "anna")
    id_hash = sessions.token_hash(session.token)
    started = _sessions(service).get(id_hash)
    assert started is not None
    assert started.expires_at - started.created_at == sessions.IDLE

    # An hour of silence, then a request: the idle deadline moves to two hours from now.
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert _sessions(service).touch(id_hash, now=hour_ago, expires_at=hour_ago + sessions.IDLE)
    before = datetime.now(UTC)
    assert _me(service, session).status_code == 200
    moved = _sessions(service).get(id_hash)
    assert moved is not None and moved.expires_at >= before + sessions.IDLE
    assert moved.last_seen_at >= before

    # Two hours of silence: the session is over.
    _sessions(service).touch(
        id_hash, now=before, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    _drop_cache(service)
    expired = _me(service, session)
    assert expired.status_code == 401 and expired.json()["code"] == "session_expired"


def test_activity_never_extends_a_session_beyond_twelve_hours(service: Service) -> None:
    person(service, "anna")
    account = AccountRepository(service.tenancy.db, "tenant-a").by_username("anna")
    assert account is not None
    started = datetime.now(UTC) - timedelta(hours=11, minutes=30)
    token = "a-session-started-long-ago"
    _sessions(service).create(
        sessions.token_hash(token),
        account_id=account.id,
        csrf_token="csrf-long-ago",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        now=started,
    )
    old = Session("sb_session", token, "csrf-long-ago")
    assert _me(service, old).status_code == 200
    capped = _sessions(service).get(sessions.token_hash(token))
    assert capped is not None and capped.expires_at == started + sessions.ABSOLUTE


def test_changing_the_password_ends_the_other_sessions(service: Service) -> None:
    person(service, "anna")
    here, elsewhere = sign_in(service, "anna"), sign_in(service, "anna")
    assert _me(service, elsewhere).status_code == 200  # cached
    changed = service.client.put(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here.headers(),
    )
    assert changed.status_code == 204, changed.text
    assert _me(service, elsewhere).status_code == 401
    # The browser that changed it stays signed in (on a fresh session token).
    renewed = changed.cookies.get("sb_session")
    assert renewed and renewed != here.token
    kept = Session("sb_session", renewed, here.csrf_token)
    assert _me(service, kept).status_code == 200
    assert _me(service, here).status_code == 401  # the old token is as dead as the others
    again = service.client.put(
        "/api/v1/auth/password",
        json={"current_password": NEW_PASSWORD, "new_password": PASSWORD},
        headers=kept.headers(),
    )
    assert again.status_code == 204, again.text
    assert sign_in_raw(service, "anna", NEW_PASSWORD).status_code == 401
    assert sign_in_raw(service, "anna", PASSWORD).status_code == 200


def test_a_password_change_checks_the_current_password_and_the_policy(service: Service) -> None:
    person(service, "anna")
    session = sign_in(service, "anna")
    wrong = service.client.put(
        "/api/v1/auth/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=session.headers(),
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_credentials"
    weak = service.client.put(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "annaanna-2024-pw"},
        headers=session.headers(),
    )
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    assert [e["path"] for e in weak.json()["errors"]] == ["password"]
    assert weak.json()["errors"][0]["code"] == "contains_username"
    assert _me(service, session).status_code == 200  # nothing changed
    assert sign_in_raw(service, "anna").status_code == 200


def test_guessing_the_current_password_is_throttled_like_sign_in(service: Service) -> None:
    """A stolen session must not become an unthrottled password oracle (L3)."""
    person(service, "anna")
    session = sign_in(service, "anna")
    for attempt in range(5):
        wrong = service.client.put(
            "/api/v1/auth/password",
            json={"current_password": f"guess-number-{attempt}", "new_password": NEW_PASSWORD},
            headers=session.headers(),
        )
        assert wrong.status_code == 403
    account = AccountRepository(service.tenancy.db, "tenant-a").by_username("anna")
    assert account is not None and account.failed_count == 5
    assert account.delay_until is not None


def test_api_keys_have_no_password_to_change(service: Service) -> None:
    answer = service.client.put(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=service.auth(),
    )
    assert answer.status_code == 403 and answer.json()["code"] == "not_a_person"


def test_a_disabled_user_cannot_use_an_existing_session(service: Service) -> None:
    person(service, "admin", roles=TENANT_ADMIN)
    user_id = person(service, "anna", roles=TENANT_ADMIN)
    session = sign_in(service, "anna")
    assert service.client.get("/api/v1/services", headers=session.headers()).status_code == 200
    _disable(service, user_id)
    for answer in (
        _me(service, session),
        service.client.get("/api/v1/services", headers=session.headers()),
        service.client.put(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=session.headers(),
        ),
    ):
        assert answer.status_code in (401, 403), answer.text
    assert sign_in_raw(service, "anna", NEW_PASSWORD).status_code == 401  # unchanged
    _disable(service, user_id, enabled=True)
    assert _me(service, session).status_code == 200  # a pause, not a revocation


def test_a_removed_user_cannot_use_an_existing_session(service: Service) -> None:
    user_id = person(service, "anna", roles=TENANT_ADMIN)
    session = sign_in(service, "anna")
    removed = service.client.delete(f"/api/v1/users/{user_id}", headers=service.auth())
    assert removed.status_code == 204, removed.text
    assert _me(service, session).status_code == 401
    assert service.client.get("/api/v1/services", headers=session.headers()).status_code == 401
    assert sign_in_raw(service, "anna").status_code == 401
