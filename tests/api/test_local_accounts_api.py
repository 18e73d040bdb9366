"""Administrators give users local accounts and take them away (10 §1.3, L2)."""

from __future__ import annotations

from typing import Any

from api_harness import Service, service
from sign_in_harness import PASSWORD, TENANT_ADMIN, make_user, person, sign_in, sign_in_raw

from switchboard.api.security.passwords import verify_password
from switchboard.store.repositories import AccountRepository

__all__ = ["service"]


def _put(svc: Service, user_id: str, username: str, password: str, **headers: Any) -> Any:
    return svc.client.put(
        f"/api/v1/users/{user_id}/account",
        json={"username": username, "password": password},
        headers=headers or svc.auth(),
    )


def test_an_admin_creates_an_account_with_a_normalised_username(service: Service) -> None:
    user_id = make_user(service, "anna@acme.test")
    created = _put(service, user_id, "  Anna.Smith ", PASSWORD)
    assert created.status_code == 200, created.text
    assert created.json() == {"user_id": user_id, "username": "anna.smith"}
    assert PASSWORD not in created.text
    stored = AccountRepository(service.tenancy.db, "tenant-a").by_user(user_id)
    assert stored is not None and stored.username == "anna.smith"
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert verify_password(stored.password_hash, PASSWORD)
    assert sign_in_raw(service, "ANNA.SMITH").status_code == 200


def test_a_taken_username_is_a_conflict_and_costs_nobody_their_account(service: Service) -> None:
    person(service, "anna")
    bert = person(service, "bert")
    taken = _put(service, bert, "anna", "another-violet-harbour-7")
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "not_unique"
    assert taken.json()["errors"][0]["path"] == "username"
    # Both people still sign in as before.
    assert sign_in_raw(service, "bert").status_code == 200
    assert sign_in_raw(service, "anna").status_code == 200
    assert sign_in_raw(service, "anna", "another-violet-harbour-7").status_code == 401


def test_the_same_username_is_free_in_another_tenant(service: Service) -> None:
    person(service, "anna")
    other = make_user(service, "anna@beta.test", key=service.key_b)
    created = _put(
        service, other, "anna", "another-violet-harbour-7", **service.auth(service.key_b)
    )
    assert created.status_code == 200, created.text


def test_weak_passwords_are_refused_naming_the_field(service: Service) -> None:
    user_id = make_user(service, "anna@acme.test")
    cases = {
        "short-pw": "too_short",
        "password123!": "too_common",
        "my-name-is-anna-ok": "contains_username",
        "x" * 300: "too_long",
    }
    for password, code in cases.items():
        refused = _put(service, user_id, "anna", password)
        assert refused.status_code == 422, (password, refused.text)
        problem = refused.json()
        assert problem["code"] == "weak_password"
        assert {e["path"] for e in problem["errors"]} == {"password"}
        assert code in {e["code"] for e in problem["errors"]}, problem
        assert password not in refused.text
    assert AccountRepository(service.tenancy.db, "tenant-a").by_user(user_id) is None


def test_a_blank_username_is_refused_naming_the_field(service: Service) -> None:
    user_id = make_user(service, "anna@acme.test")
    for username in ("", "   "):
        refused = _put(service, user_id, username, PASSWORD)
        assert refused.status_code == 422, refused.text
        assert [e["path"] for e in refused.json()["errors"]] == ["username"]
    assert AccountRepository(service.tenancy.db, "tenant-a").by_user(user_id) is None


def test_resetting_an_account_ends_its_sessions(service: Service) -> None:
    user_id = person(service, "anna")
    session = sign_in(service, "anna")
    reset = _put(service, user_id, "anna", "brand-new-harbour-lamp-9")
    assert reset.status_code == 200
    me = service.client.get("/api/v1/auth/me", headers=session.headers())
    assert me.status_code == 401
    assert sign_in_raw(service, "anna").status_code == 401
    assert sign_in_raw(service, "anna", "brand-new-harbour-lamp-9").status_code == 200


def test_deleting_an_account_ends_its_sessions(service: Service) -> None:
    user_id = person(service, "anna")
    session = sign_in(service, "anna")
    assert service.client.get("/api/v1/auth/me", headers=session.headers()).status_code == 200
    gone = service.client.delete(f"/api/v1/users/{user_id}/account", headers=service.auth())
    assert gone.status_code == 204
    me = service.client.get("/api/v1/auth/me", headers=session.headers())
    assert me.status_code == 401
    assert sign_in_raw(service, "anna").status_code == 401
    again = service.client.delete(f"/api/v1/users/{user_id}/account", headers=service.auth())
    assert again.status_code == 404 and again.json()["code"] == "account_not_found"


def test_accounts_need_the_users_write_permission(service: Service) -> None:
    admin = person(service, "admin", roles=TENANT_ADMIN)
    agent = person(service, "bert")
    target = make_user(service, "carl@acme.test")
    read_only = _put(service, target, "carl", PASSWORD, **service.auth(service.read_only_a))
    assert read_only.status_code == 403
    as_agent = sign_in(service, "bert")
    refused = _put(service, target, "carl", PASSWORD, **as_agent.headers())
    assert refused.status_code == 403
    own = _put(service, agent, "bert2", PASSWORD, **as_agent.headers())
    assert own.status_code == 403  # not even for oneself: that is /auth/password
    as_admin = sign_in(service, "admin")
    assert _put(service, target, "carl", PASSWORD, **as_admin.headers()).status_code == 200
    removed = service.client.delete(f"/api/v1/users/{admin}/account", headers=as_agent.headers())
    assert removed.status_code == 403


def test_another_tenants_user_is_not_found(service: Service) -> None:
    other = make_user(service, "anna@beta.test", key=service.key_b)
    assert _put(service, other, "anna", PASSWORD).status_code == 404
    assert _put(service, "no-such-user", "anna", PASSWORD).status_code == 404
    deleted = service.client.delete(f"/api/v1/users/{other}/account", headers=service.auth())
    assert deleted.status_code == 404
    assert AccountRepository(service.tenancy.db, "tenant-b").by_user(other) is None
