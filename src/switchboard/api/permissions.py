"""Every route declares the permission it needs, here, in one place (10 R1).

`require(capability, mode)` is the only way a route gets at a tenant: it
authenticates the caller and hands the route an `Actor`. The route's work runs
through `Actor.run`, which first makes the coarse check (could this principal do
this anywhere?) on the tenant's writer, where the principal's roles are current;
inside the work the route names what it touches with `Actor.allow(engine,
target)`, which answers 403 (visible but not yours to change) or 404 (not
visible at all — exactly like a missing id, 10 TI3/OU2). Lists keep only what
`Actor.sees` allows, before paging (OU5).

The decisions themselves are `switchboard.domain.access`; this module only
connects them to requests. A route without a `require` guard is found by the
route audit test, and one that forgets its target check by the role × endpoint
matrix test.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from fastapi import Request, WebSocket
from starlette.requests import HTTPConnection

from switchboard.api.auth import Principal, authenticate
from switchboard.api.connections import check_origin, fresh_request
from switchboard.api.masking import Masking
from switchboard.api.problems import ApiProblem
from switchboard.api.sessions import chosen_tenant
from switchboard.domain.access import Access, Capability, Decision, Mode, Target, World
from switchboard.domain.config import Service, User
from switchboard.domain.roles import Role
from switchboard.domain.task import Task
from switchboard.engine.engine import Engine
from switchboard.engine.state import TenantState
from switchboard.runtime.host import TenantHost

T = TypeVar("T")

READ, WRITE = Mode.READ, Mode.WRITE


def access_of(principal: Principal, engine: Engine | None = None) -> Access:
    """A principal's rights as of now (a person's roles are configuration and may change,
    so people need the tenant's `engine`; a key's rights are on the key, a system
    account's on the account)."""
    if principal.kind == "api_key":
        return Access.for_api_key(
            principal.scopes,
            principal.ou_id,
            principal.service_ids,
            principal.id,
            tenant_id=principal.tenant_id,
        )
    if principal.is_system:
        return Access.for_system(Role(principal.role or ""), principal.partner_id)
    user = engine.state.users.get(principal.id) if engine is not None else None
    if user is None or not user.enabled:
        raise ApiProblem(
            401, "user_disabled", "Your user is disabled or was removed; ask an administrator."
        )
    return Access.for_user(user, tenant_id=principal.tenant_id)


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated principal about to exercise one declared permission."""

    principal: Principal
    capability: Capability
    mode: Mode
    host: TenantHost
    #: The principal's `Access` while a `run` is under way: computed once per request, not
    #: once per list row (the writer runs one work item at a time, so this is never shared).
    _running: list[Access] = field(default_factory=list, compare=False, repr=False)

    async def run(self, work: Callable[[Engine], T]) -> T:
        """Run `work` on the tenant's writer after the coarse permission check."""

        def guarded(engine: Engine) -> T:
            access = access_of(self.principal, engine)
            _raise(access.may_at_all(self.capability, self.mode))
            self._running.append(access)
            try:
                return work(engine)
            finally:
                self._running.pop()

        return await self.host.run(guarded)

    def access(self, engine: Engine) -> Access:
        return self._running[-1] if self._running else access_of(self.principal, engine)

    def allow(
        self,
        engine: Engine,
        target: Target,
        capability: Capability | None = None,
        *,
        missing: ApiProblem | None = None,
    ) -> None:
        """Refuse (403, or 404) unless the principal may act on `target`.

        `missing` is what the route answers for an id that does not exist; an
        entity the principal may not see gets exactly that answer (10 TI3).
        """
        decision = self.access(engine).decide(
            capability or self.capability, self.mode, target, world(engine.state)
        )
        if not decision.allowed and decision.status == 404 and missing is not None:
            raise missing
        _raise(decision)

    def allow_user(self, engine: Engine, user_id: str, service_id: str | None = None) -> User:
        """The user `user_id`, if the principal may do this to them (as to their
        membership of `service_id`, if given); 404 `user_not_found` otherwise."""
        missing = ApiProblem(404, "user_not_found", f"No user with id '{user_id}'.")
        user = engine.state.users.get(user_id)
        if user is None:
            raise missing
        self.allow(engine, user_target(user, service_id), missing=missing)
        return user

    def sees(self, engine: Engine, target: Target) -> bool:
        return self.access(engine).sees(self.capability, target, world(engine.state))

    def masking(self, engine: Engine) -> Masking:
        """What the principal may not see of the tenant's people and customers (10 PV2)."""
        return Masking.of(self.access(engine), engine.state.tenant)

    @property
    def user_id(self) -> str | None:
        """The person acting, when it is a person (not an API key)."""
        return self.principal.id if self.principal.kind == "user" else None


def _raise(decision: Decision) -> None:
    if decision.allowed:
        return
    if decision.status == 404:
        raise ApiProblem(404, "not_found", "Nothing with this id is visible to you.")
    raise ApiProblem(decision.status, decision.code, decision.message)


def world(state: TenantState) -> World:
    return World(ous=state.ous, services=state.services, users=state.users)


def require(capability: Capability, mode: Mode) -> Callable[[Request], Awaitable[Actor]]:
    """The dependency a route declares: authenticate, then act with this permission."""

    async def guard(request: Request) -> Actor:
        return await _actor(request, await authenticate(request), capability, mode)

    guard.required_permission = (capability, mode)  # type: ignore[attr-defined]  # route audit
    return guard


def require_socket(capability: Capability, mode: Mode) -> Callable[[WebSocket], Awaitable[Actor]]:
    """`require` for a WebSocket route: the same credentials and checks, read from the
    handshake, plus the origin check a cookie-authenticated socket needs
    (`switchboard.api.connections`). A refusal is answered as an HTTP problem document
    instead of accepting the socket."""

    async def guard(websocket: WebSocket) -> Actor:
        request = fresh_request(websocket)
        principal = await authenticate(request)
        check_origin(request, principal)
        return await _actor(request, principal, capability, mode)

    guard.required_permission = (capability, mode)  # type: ignore[attr-defined]  # route audit
    return guard


async def _actor(
    request: Request, principal: Principal, capability: Capability, mode: Mode
) -> Actor:
    if principal.kind == "api_key" or principal.is_system:
        # Cheap and state-free: refuse a key lacking the scope, or a system account
        # lacking the right, before anything else (a system admin is told so before
        # being asked to select a tenant it could not act in anyway).
        _raise(access_of(principal).may_at_all(capability, mode))
    principal = await select_tenant(request, principal, capability, mode)
    host: TenantHost = request.app.state.tenancy.host_for(principal.tenant_id)
    return Actor(principal, capability, mode, host)


# ---------------------------------------------------------------------- 10 R3

#: The header a system or partner admin selects the tenant it acts in with (10 R3).
TENANT_HEADER = "X-Switchboard-Tenant"
audit_log = structlog.get_logger("switchboard.audit")


async def reauthenticate(connection: HTTPConnection, tenant_id: str | None = None) -> Principal:
    """For a long-lived stream: the credential is still valid and, for a system admin,
    the tenant the stream is bound to (`tenant_id`) is still within its reach (a partner
    admin whose tenant moved to another partner loses the stream; choosing another tenant
    in the picker meanwhile does not move the stream)."""
    request = fresh_request(connection)
    return await select_tenant(request, await authenticate(request), chosen=tenant_id, audit=False)


async def select_tenant(
    request: Request,
    principal: Principal,
    capability: Capability | None = None,
    mode: Mode | None = None,
    *,
    chosen: str | None = None,
    audit: bool = True,
) -> Principal:
    """A system principal, bound to the tenant it selected.

    The selection is `chosen` when the caller names it, else the `TENANT_HEADER` of the
    request, else — for a browser session — the tenant picked in the web UI's tenant
    picker (its cookie, `sessions.chosen_tenant`). Other principals belong to their
    tenant and are returned as they are. A system admin may select any tenant, a partner
    admin only the tenants of its partner; any other id is answered like one that does not
    exist (404), checked on every request. Every selection is audited: one
    `switchboard.audit` log line with the principal, the tenant and the route (the
    request's access line, with the same `request_id`, has the outcome).
    """
    if not principal.is_system or principal.tenant_id:
        return principal
    if chosen is None:
        chosen = (request.headers.get(TENANT_HEADER) or "").strip()
        if not chosen and principal.method == "session":
            chosen = chosen_tenant(request) or ""
    if not chosen:
        raise ApiProblem(
            400,
            "tenant_not_selected",
            f"System and partner administrators act inside a tenant only after selecting "
            f"it: send the {TENANT_HEADER} header with the tenant's id (in the web UI, "
            f"choose a tenant).",
            errors=[
                {
                    "code": "required",
                    "path": f"header:{TENANT_HEADER}",
                    "message": "The id of the tenant to act in.",
                }
            ],
        )
    tenancy = request.app.state.tenancy
    record = await asyncio.to_thread(tenancy.tenants.get, chosen[:128])
    if record is None or (
        principal.role == Role.PARTNER_ADMIN.value and record.partner_id != principal.partner_id
    ):
        raise ApiProblem(
            404,
            "tenant_not_found",
            f"No tenant with the id you selected ({TENANT_HEADER} or the tenant picker) "
            f"is visible to you.",
        )
    selected = dataclasses.replace(principal, tenant_id=record.id)
    request.state.principal = selected  # the access line names the tenant
    if not audit:
        return selected
    route = request.scope.get("route")
    structlog.contextvars.bind_contextvars(tenant_id=record.id)
    audit_log.info(
        "system_principal_in_tenant",
        principal=f"system:{principal.id}",
        role=principal.role,
        partner_id=principal.partner_id,
        acting_in_tenant=record.id,
        method=request.method,
        route=getattr(route, "path", request.url.path),
        permission=f"{capability.value}:{mode.value}" if capability and mode else None,
    )
    return selected


@dataclass(frozen=True, slots=True)
class RecordActor:
    """A principal about to read or change records above the tenants (rows 1 and 2):
    partners and tenant records. Not bound to a tenant; a system principal needs no
    tenant selected for these."""

    principal: Principal
    access: Access
    capability: Capability
    mode: Mode

    def allow(self, target: Target, missing: ApiProblem, mode: Mode | None = None) -> None:
        """Refuse unless the principal may act on `target`; an invisible one is `missing`."""
        decision = self.access.decide(self.capability, mode or self.mode, target, _NO_WORLD)
        if not decision.allowed and decision.status == 404:
            raise missing
        _raise(decision)

    def sees(self, target: Target) -> bool:
        return self.access.sees(self.capability, target, _NO_WORLD)


_NO_WORLD = World(ous={}, services={}, users={})


def require_records(
    capability: Capability, mode: Mode
) -> Callable[[Request], Awaitable[RecordActor]]:
    """`require` for the routes of records above the tenants (10 §2 rows 1 and 2)."""

    async def guard(request: Request) -> RecordActor:
        principal = await authenticate(request)
        if principal.kind == "user":
            # A person's roles are configuration of their tenant: read them on its writer.
            host = request.app.state.tenancy.host_for(principal.tenant_id)
            access: Access = await host.run(lambda engine: access_of(principal, engine))
        else:
            access = access_of(principal)
        _raise(access.may_at_all(capability, mode))
        return RecordActor(principal, access, capability, mode)

    guard.required_permission = (capability, mode)  # type: ignore[attr-defined]  # route audit
    return guard


def signed_in() -> Callable[[Request], Awaitable[Principal]]:
    """For routes about the caller themselves (who am I, sign out): any valid credential."""

    async def guard(request: Request) -> Principal:
        return await authenticate(request)

    guard.required_permission = ("signed_in", None)  # type: ignore[attr-defined]
    return guard


# ---------------------------------------------------------------------- targets


CONFIG_CAPABILITY: dict[str, Capability] = {
    "ou": Capability.OUS,
    "user": Capability.USERS,
    "service": Capability.SERVICE_CONFIG,
    "calendar": Capability.CALENDARS_WORKFLOWS,
    "workflow": Capability.CALENDARS_WORKFLOWS,
    # Recordings that workflows play: edited by whoever edits workflows (docs/security.md).
    "audio_resource": Capability.CALENDARS_WORKFLOWS,
    "address_book": Capability.ADDRESS_BOOKS,
}


def config_capability(kind: str) -> Capability:
    """Which table row guards a configuration kind (everything else is row 12)."""
    return CONFIG_CAPABILITY.get(kind, Capability.SHARED_CONFIG)


def config_target(kind: str, entity: Any, state: TenantState, mode: Mode) -> Target:
    """Where a configuration entity lies, for scoping.

    An OU is *written* by whoever administers its parent (an OU admin manages the
    OUs below their own), and *read* by whoever may see the OU itself.
    """
    if kind == "ou":
        return Target(ou_id=entity.parent_id if mode is WRITE else entity.id)
    if kind == "service":
        return Target(ou_id=entity.ou_id, service_ids=frozenset({entity.id}))
    if kind == "user":
        return user_target(entity)
    if kind in ("calendar", "workflow"):
        return Target(ou_id=entity.ou_id, service_ids=_services_using(kind, entity.id, state))
    return Target(ou_id=getattr(entity, "ou_id", None))


def _services_using(kind: str, entity_id: str, state: TenantState) -> frozenset[str]:
    if kind == "calendar":
        return frozenset(
            s.id
            for s in state.services.values()
            if entity_id in (s.primary_calendar_id, s.secondary_calendar_id)
        )
    return frozenset(s.id for s in state.services.values() if entity_id in s.workflows.values())


def user_target(user: Any, service_id: str | None = None) -> Target:
    services = frozenset({service_id}) if service_id else frozenset(user.memberships)
    return Target(ou_id=user.ou_id, service_ids=services, user_id=user.id)


def task_target(task: Task, state: TenantState, user_id: str | None = None) -> Target:
    return service_target(task.service_id, state.services.get(task.service_id), user_id)


def service_target(service_id: str, service: Service | None, user_id: str | None = None) -> Target:
    """Where the work of a service lies: its tasks, live views of it (row 18)."""
    return Target(
        ou_id=service.ou_id if service is not None else None,
        service_ids=frozenset({service_id}),
        user_id=user_id,
    )
