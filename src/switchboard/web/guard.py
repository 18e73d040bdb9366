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

System and partner administrators (10 §2 SA, PA) use the pages that say they
serve them (`page(..., system=True)`), inside the tenant they chose in the
tenant picker (`web.tenant_picker`; 10 R3): the API's `select_tenant` checks
that choice on every request. A page that does not serve them answers 403,
and without a (reachable) choice they are sent to the picker.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from switchboard.api.auth import authenticate
from switchboard.api.permissions import (
    Actor,
    RecordActor,
    require,
    require_records,
    service_target,
    world,
)
from switchboard.api.principal import Principal
from switchboard.api.problems import ApiProblem
from switchboard.domain.access import Access, Capability, Mode
from switchboard.domain.roles import Role
from switchboard.engine.engine import Engine


class SignInNeeded(Exception):
    """The caller has no (valid) session; `errors` answers with the way to the sign-in page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TenantNeeded(Exception):
    """A system or partner admin has chosen no tenant, or one no longer within reach;
    `errors` sends them to the tenant picker and back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: The API's answers that mean "choose a tenant (again)" to a system principal.
_CHOOSE_AGAIN = frozenset({"tenant_not_selected", "tenant_not_found"})


async def _person_or_system(request: Request, system: bool) -> Principal:
    """The caller, if pages are for them: people, and system principals where `system`."""
    try:
        principal = await authenticate(request)
    except ApiProblem as problem:
        if problem.status == 401:
            raise SignInNeeded(problem.code) from None
        raise
    if principal.kind == "api_key":
        raise ApiProblem(
            403,
            "person_required",
            "These pages are for people: sign in with your account (API keys work on /api/v1).",
        )
    if principal.is_system and not system:
        raise ApiProblem(
            403,
            "not_for_system_accounts",
            "This page is for the tenant's own people; system and partner administrators "
            "use the live view and the admin screens.",
        )
    return principal


def page(
    capability: Capability, mode: Mode, *, system: bool = False
) -> Callable[[Request], Awaitable[Actor]]:
    """The dependency of a page or fragment route: a signed-in person with this permission
    — or, where `system` is true, a system or partner admin with it, acting in the tenant
    chosen in the tenant picker."""
    inner = require(capability, mode)

    async def guard(request: Request) -> Actor:
        principal = await _person_or_system(request, system)
        try:
            return await inner(request)
        except ApiProblem as problem:
            if problem.status == 401:
                raise SignInNeeded(problem.code) from None
            if principal.is_system and problem.code in _CHOOSE_AGAIN:
                raise TenantNeeded(problem.code) from None
            raise

    guard.required_permission = (capability, mode)  # type: ignore[attr-defined]  # route audit
    guard.serves_system = system  # type: ignore[attr-defined]
    return guard


def system_page() -> Callable[[Request], Awaitable[RecordActor]]:
    """The dependency of the tenant picker: a system or partner admin, before any tenant
    is chosen, with the right to read tenant records (10 §2 row 2)."""
    inner = require_records(Capability.TENANT_RECORD, Mode.READ)

    async def guard(request: Request) -> RecordActor:
        principal = await _person_or_system(request, True)
        if not principal.is_system:
            raise ApiProblem(
                403,
                "not_a_system_session",
                "Only system and partner administrators choose a tenant; you work in your own.",
            )
        return await inner(request)

    guard.required_permission = (Capability.TENANT_RECORD, Mode.READ)  # type: ignore[attr-defined]
    guard.serves_system = True  # type: ignore[attr-defined]
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
    #: Shown to system and partner admins too (when `shown` agrees): only for pages whose
    #: guard serves them (`page(..., system=True)`).
    for_system: bool = False


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


def role_label(principal: Principal) -> str:
    """A system account's role in words, for the top bar."""
    return (
        "Partner administrator"
        if principal.role == Role.PARTNER_ADMIN.value
        else "System administrator"
    )


def viewer(engine: Engine, actor: Actor, request: Request, active: str) -> dict[str, Any]:
    """What every page's frame shows: the person, the tenant, the navigation."""
    access = actor.access(engine)
    principal = actor.principal
    nav = [e for e in _NAV if e.shown(engine, access, request)]
    if principal.is_system:
        frame = account_frame(principal, request)
        frame.update(
            tenant_id=principal.tenant_id,
            tenant_name=engine.state.tenant.name,
            time_zone=engine.state.tenant.time_zone,
            nav=[e for e in nav if e.for_system],
            stream=True,
        )
    else:
        user_id = actor.user_id
        assert user_id is not None  # `page` admits people and system principals only
        frame = {
            "user_id": user_id,
            "display_name": engine.state.users[user_id].display_name,
            "csrf_token": principal.csrf_token or "",
            "tenant_id": principal.tenant_id,
            "tenant_name": engine.state.tenant.name,
            "time_zone": engine.state.tenant.time_zone,
            "nav": nav,
            "system": None,
            "stream": True,
        }
    frame.update(active=active, server_now_ms=round(engine.clock.now() * 1000))
    return frame


def account_frame(principal: Principal, request: Request) -> dict[str, Any]:
    """The frame of a system or partner admin's page before a tenant is chosen (the tenant
    picker): who they are, no navigation, no event stream (streams are a tenant's)."""
    # Where switching tenant leads back to: the same section (`/admin/users`, `/live`), not
    # the entity or the filters of this one, which the next tenant does not have.
    here = "/".join(request.url.path.split("/")[:3]) or "/"
    return {
        "user_id": "",
        "display_name": principal.username or principal.id,
        "csrf_token": principal.csrf_token or "",
        "tenant_id": "",
        "tenant_name": "",
        "time_zone": "UTC",
        "nav": [],
        "system": {"role": role_label(principal), "here": here},
        "stream": False,
        "active": "",
        "server_now_ms": round(time.time() * 1000),
    }
