"""People with local accounts on the real service, and their browser sessions.

Builds on `api_harness`: users are created through the configuration API with
the tenant's API key, accounts through the admin account route, and sessions
by signing in over HTTP. A session's cookie is sent explicitly per request
(the client's cookie jar is emptied after each sign-in), so one test can hold
several sessions of one person, or none, without them leaking into each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api_harness import Service

ORIGIN = "http://testserver"
#: Meets the policy: long, not common, free of the usernames used here.
PASSWORD = "violet-harbour-lantern-42"
TENANT_ADMIN = [{"role": "tenant_admin", "scope_type": "tenant", "scope_id": None}]


@dataclass(frozen=True)
class Session:
    """What a browser holds after signing in: the cookie's token and the page's CSRF token."""

    cookie_name: str
    token: str
    csrf_token: str

    def headers(self, *, csrf: bool = True, origin: str | None = ORIGIN) -> dict[str, str]:
        """Headers a same-site page sends; drop parts of them to play someone else."""
        sent = {"Cookie": f"{self.cookie_name}={self.token}"}
        if csrf:
            sent["X-CSRF-Token"] = self.csrf_token
        if origin is not None:
            sent["Origin"] = origin
        return sent


def make_user(
    svc: Service,
    upn: str,
    *,
    key: str | None = None,
    roles: list[dict[str, Any]] | None = None,
    directory_object_id: str | None = None,
    enabled: bool = True,
) -> str:
    body: dict[str, Any] = {
        "upn": upn,
        "display_name": upn.split("@", 1)[0].title(),
        "roles": roles or [],
        "directory_object_id": directory_object_id,
        "enabled": enabled,
    }
    created = svc.client.post("/api/v1/users", json=body, headers=svc.auth(key))
    assert created.status_code == 201, created.text
    user_id: str = created.json()["id"]
    return user_id


def give_account(
    svc: Service, user_id: str, username: str, password: str = PASSWORD, key: str | None = None
) -> None:
    answer = svc.client.put(
        f"/api/v1/users/{user_id}/account",
        json={"username": username, "password": password},
        headers=svc.auth(key),
    )
    assert answer.status_code == 200, answer.text


def person(svc: Service, username: str, *, roles: list[dict[str, Any]] | None = None) -> str:
    """A user `username@acme.test` with a local account `username`; returns the user id."""
    user_id = make_user(svc, f"{username}@acme.test", roles=roles)
    give_account(svc, user_id, username)
    return user_id


def sign_in_raw(
    svc: Service, username: str, password: str = PASSWORD, **extra: Any
) -> Any:  # httpx.Response
    answer = svc.client.post(
        "/api/v1/auth/sign-in", json={"username": username, "password": password, **extra}
    )
    svc.client.cookies.clear()
    return answer


def sign_in(svc: Service, username: str, password: str = PASSWORD) -> Session:
    answer = sign_in_raw(svc, username, password)
    assert answer.status_code == 200, answer.text
    name = "sb_session"
    return Session(name, answer.cookies[name], answer.json()["csrf_token"])


def without_instance(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem body minus what differs on every response (the request id)."""
    return {k: v for k, v in problem.items() if k != "instance"}
