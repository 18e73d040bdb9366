"""Who may see a page: the API's own permission guard, answered the way a browser needs.

`page(capability, mode)` is `switchboard.api.permissions.require` with two
differences that concern only the answer, never the decision: a caller who is
not signed in is sent to the sign-in page (a full page) or told by
`HX-Redirect` to go there (an htmx request for a fragment), and API keys are
turned away, since pages are for people. Everything a page shows is then read
inside `Actor.run` with the same `allow`/`sees` checks as the REST routes.

The navigation is built here too, from the same rights: an entry appears only
if the person may use what it leads to. Features register their entry with
`register_nav` (the admin screens add theirs the same way).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from switchboard.api.permissions import Actor, require, service_target, world
from switchboard.api.problems import ApiProblem
from switchboard.domain.access import Access, Capability, Mode
from switchboard.engine.engine import Engine


class SignInNeeded(Exception):
    """The caller has no (valid) session; `errors` answers with the way to the sign-in page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def page(capability: Capability, mode: Mode) -> Callable[[Request], Awaitable[Actor]]:
    """The dependency of a page or fragment route: a signed-in person with this permission."""
    inner = require(capability, mode)

    async def guard(request: Request) -> Actor:
        try:
            actor = await inner(request)
        except ApiProblem as problem:
            if problem.status == 401:
                raise SignInNeeded(problem.code) from None
            raise
        if actor.user_id is None:
            raise ApiProblem(
                403,
                "person_required",
                "These pages are for people: sign in with your account (API keys work on /api/v1).",
            )
        return actor

    guard.required_permission = (capability, mode)  # type: ignore[attr-defined]  # route audit
    return guard


# ---------------------------------------------------------------------- navigation


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One item of the top navigation, shown when `shown` says the person may use it."""

    key: str
    label: str
    href: str
    shown: Callable[[Engine, Access, Request], bool]
    #: Lower comes first.
    order: int = 100


_NAV: list[NavEntry] = []


def register_nav(entry: NavEntry) -> None:
    """Add (or replace, by key) a navigation entry."""
    _NAV[:] = sorted([e for e in _NAV if e.key != entry.key] + [entry], key=lambda e: e.order)


def sees_any_service(engine: Engine, access: Access, capability: Capability) -> bool:
    """Whether some service lies in the person's scope for `capability` (read)."""
    here = world(engine.state)
    return any(
        access.sees(capability, service_target(sid, service), here)
        for sid, service in engine.state.services.items()
    )


def viewer(engine: Engine, actor: Actor, request: Request, active: str) -> dict[str, Any]:
    """What every page's frame shows: the person, the tenant, the navigation."""
    user_id = actor.user_id
    assert user_id is not None  # `page` admits people only
    user = engine.state.users[user_id]
    access = actor.access(engine)
    return {
        "user_id": user_id,
        "display_name": user.display_name,
        "csrf_token": actor.principal.csrf_token or "",
        "tenant_name": engine.state.tenant.name,
        "time_zone": engine.state.tenant.time_zone,
        "nav": [e for e in _NAV if e.shown(engine, access, request)],
        "active": active,
        "server_now_ms": round(engine.clock.now() * 1000),
    }
