"""Sign-in with a local account, sign-out, "who am I", and local accounts' passwords.

Sign-in answers the same 401 for an unknown username and a wrong password, and
spends the same time on both (a dummy hash is verified, 10 L3). After five
failures within 15 minutes an account waits 1 s, doubling up to 15 minutes,
before the next attempt is even checked (429 with `Retry-After`); there is no
permanent lock-out, so nobody can lock a colleague out by guessing. Usernames
without an account are delayed the same way (`UnknownNameThrottle`), or the
sixth guess would tell whether an account exists. A wrong current password in
a password change counts as a failed sign-in too: a stolen session must not be
an unthrottled way to test passwords.
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

import asyncio
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from switchboard.api import sessions
from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import (
    TENANT_HEADER,
    WRITE,
    Actor,
    access_of,
    require,
    select_tenant,
    signed_in,
)
from switchboard.api.principal import CHALLENGE, Principal
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input
from switchboard.api.security.passwords import (
    check_password_policy,
    hash_password,
    login_delay,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)
from switchboard.api.tenancy import Tenancy, tenancy_of
from switchboard.domain.access import MATRIX, Capability, Mode
from switchboard.engine.engine import Engine
from switchboard.store.repositories import (
    Account,
    AccountRepository,
    AlreadyExistsError,
    SystemAccount,
    SystemAccountRepository,
)

router = APIRouter(prefix="/api/v1", responses=RESPONSES, tags=["Sign-in"], route_class=JsonRoute)
FAILURE_WINDOW = timedelta(minutes=15)


class SignIn(Input):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
    #: Needed only when the same username exists in several tenants.
    tenant_id: str | None = Field(None, max_length=64)


class SystemSignIn(Input):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)


class TenantChoice(Input):
    tenant_id: str = Field(min_length=1, max_length=128)


#: The unknown-name throttle's key for system accounts (tenant ids are never this).
SYSTEM_NAMESPACE = "system:"


class AccountIn(Input):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChange(Input):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


def normalise(username: str) -> str:
    """Usernames compare without case and surrounding spaces, as people type them."""
    return username.strip().casefold()


_REFUSED = ApiProblem(
    401, "invalid_credentials", "The username or password is wrong.", headers=CHALLENGE
)


def _delay_for(failures: int) -> timedelta:
    return timedelta(seconds=login_delay(failures))


def _delayed(delay_until: datetime, now: datetime) -> ApiProblem:
    wait = max(1, int((delay_until - now).total_seconds() + 0.999))
    return ApiProblem(
        429,
        "sign_in_delayed",
        f"Too many failed sign-ins for this account; try again in {wait} s.",
        headers={"Retry-After": str(wait)},
    )


@dataclass(slots=True)
class _Failures:
    count: int
    since: datetime
    delay_until: datetime | None


class UnknownNameThrottle:
    """Failed sign-ins of usernames that have no account, counted as an account's are.

    Kept in this node's memory, not in the database: there is no account row to
    hold them, and storing every guessed name would let anyone fill the database.
    The table is bounded; when it is full, entries whose window has passed go
    first, then everything (which only forgets delays, never refuses anyone).
    On several nodes each counts on its own, so a prober behind a load balancer
    sees delays later than for a real account; that is the price of not sharing
    guessed names between nodes (decision).
    """

    MAX_NAMES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[tuple[str, str], _Failures] = {}

    def delay_until(self, key: tuple[str, str], now: datetime) -> datetime | None:
        """Until when attempts for `key` are refused, if they are at `now`."""
        with self._lock:
            found = self._names.get(key)
        if found is None or found.delay_until is None or now >= found.delay_until:
            return None
        return found.delay_until

    def record_failure(self, key: tuple[str, str], now: datetime) -> None:
        """The same counting as `AccountRepository.record_failure` with `_delay_for`."""
        with self._lock:
            found = self._names.get(key)
            if found is None or now - found.since > FAILURE_WINDOW:
                if found is None and len(self._names) >= self.MAX_NAMES:
                    self._make_room(now)
                found = self._names[key] = _Failures(0, now, None)
            found.count += 1
            pause = _delay_for(found.count)
            found.delay_until = now + pause if pause > timedelta(0) else None

    def _make_room(self, now: datetime) -> None:
        stale = [
            key
            for key, failures in self._names.items()
            if now - failures.since > FAILURE_WINDOW
            and (failures.delay_until is None or failures.delay_until <= now)
        ]
        for key in stale:
            del self._names[key]
        if len(self._names) >= self.MAX_NAMES:
            self._names.clear()


_UNKNOWN_NAMES: weakref.WeakKeyDictionary[Tenancy, UnknownNameThrottle] = (
    weakref.WeakKeyDictionary()
)
_UNKNOWN_NAMES_LOCK = threading.Lock()


def unknown_name_throttle(tenancy: Tenancy) -> UnknownNameThrottle:
    """This node's throttle of unknown usernames (one per served `Tenancy`)."""
    with _UNKNOWN_NAMES_LOCK:
        throttle = _UNKNOWN_NAMES.get(tenancy)
        if throttle is None:
            throttle = _UNKNOWN_NAMES[tenancy] = UnknownNameThrottle()
        return throttle


@router.post("/auth/sign-in")
async def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
    """Start a browser session: sets the session cookie and returns the CSRF token."""
    if (request.headers.get("origin") or request.headers.get("referer")) and not (
        sessions.same_origin(request)
    ):
        raise ApiProblem(403, "cross_origin_request", "Sign in from Switchboard's own page.")
    tenancy = tenancy_of(request)
    username = normalise(body.username)
    account, tenant_id = await asyncio.to_thread(
        _check_password, tenancy, username, body.password, body.tenant_id
    )
    host = tenancy.host_for(tenant_id)
    user = host.engine.state.users.get(account.user_id)
    if user is None or not user.enabled:
        raise _REFUSED
    token, session = await asyncio.to_thread(sessions.start, tenancy, account, datetime.now(UTC))
    sessions.set_cookie(request, response, token)
    sessions.clear_tenant_cookie(request, response)  # a previous system session's choice
    return {
        "tenant_id": tenant_id,
        "user_id": user.id,
        "display_name": user.display_name,
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at.isoformat(),
    }


def _check_password(
    tenancy: Tenancy, username: str, password: str, tenant_id: str | None
) -> tuple[Account, str]:
    candidates = tenancy.tenants.tenant_ids_for_username(username)
    if tenant_id is not None:
        candidates = tuple(t for t in candidates if t == tenant_id)
    if len(candidates) > 1:
        raise ApiProblem(
            422,
            "tenant_required",
            "This username exists in several tenants; say which one with tenant_id.",
            errors=[{"code": "required", "path": "tenant_id", "message": "Name the tenant."}],
        )
    now = datetime.now(UTC)
    account = (
        AccountRepository(tenancy.db, candidates[0]).by_username(username) if candidates else None
    )
    if account is None:
        _refuse_unknown(tenancy, (tenant_id or "", username), password, now)
    _check_account_password(tenancy, account, password, now, refused=_REFUSED)
    chosen = account.tenant_id
    accounts = AccountRepository(tenancy.db, chosen)
    if needs_rehash(account.password_hash):
        accounts.set_password_hash(account.id, hash_password(password))
    return account, chosen


@router.post("/auth/system/sign-in")
async def system_sign_in(
    body: SystemSignIn, request: Request, response: Response
) -> dict[str, Any]:
    """Start a browser session of a system or partner administrator (a system account).

    Such a session belongs to no tenant: requests inside a tenant select it with the
    `X-Switchboard-Tenant` header (10 R3); partners and tenant records need none.
    """
    if (request.headers.get("origin") or request.headers.get("referer")) and not (
        sessions.same_origin(request)
    ):
        raise ApiProblem(403, "cross_origin_request", "Sign in from Switchboard's own page.")
    tenancy = tenancy_of(request)
    username = normalise(body.username)

    def check() -> SystemAccount:
        now = datetime.now(UTC)
        accounts = SystemAccountRepository(tenancy.db)
        account = accounts.by_username(username)
        if account is None:
            _refuse_unknown(tenancy, (SYSTEM_NAMESPACE, username), body.password, now)
        _check_account_password(tenancy, account, body.password, now, refused=_REFUSED)
        if needs_rehash(account.password_hash):
            accounts.set_password_hash(account.id, hash_password(body.password))
        return account

    account = await asyncio.to_thread(check)
    token, session = await asyncio.to_thread(sessions.start, tenancy, account, datetime.now(UTC))
    sessions.set_cookie(request, response, token)
    # A new session starts without a tenant: nobody inherits the previous person's choice.
    sessions.clear_tenant_cookie(request, response)
    return {
        "kind": "system",
        "account_id": account.id,
        "username": account.username,
        "role": account.role,
        "partner_id": account.partner_id,
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at.isoformat(),
    }


@router.put("/auth/system/tenant")
async def choose_tenant(
    body: TenantChoice,
    request: Request,
    response: Response,
    principal: Principal = Depends(signed_in()),
) -> dict[str, Any]:
    """The web UI's tenant picker (10 R3): a system or partner admin's browser session acts
    in this tenant from now on, on requests that name none in `X-Switchboard-Tenant`.

    The choice is checked like the header (404 `tenant_not_found` outside the account's
    reach, audited) and kept in a cookie beside the session's; every later request checks
    it again, so a tenant that leaves a partner admin's reach is out of it at once.
    """
    if not principal.is_system or principal.method != "session":
        raise ApiProblem(
            403,
            "not_a_system_session",
            "Only a signed-in system or partner administrator chooses a tenant; "
            "everyone else acts in their own.",
        )
    selected = await select_tenant(request, principal, chosen=body.tenant_id.strip())
    record = await asyncio.to_thread(tenancy_of(request).tenants.get, selected.tenant_id)
    assert record is not None  # select_tenant found it
    sessions.set_tenant_cookie(request, response, record.id)
    return {"tenant_id": record.id, "name": record.name, "partner_id": record.partner_id}


def _refuse_unknown(
    tenancy: Tenancy, key: tuple[str, str], password: str, now: datetime
) -> NoReturn:
    """Answer for a username without an account exactly as for a wrong password."""
    throttle = unknown_name_throttle(tenancy)
    delay_until = throttle.delay_until(key, now)
    if delay_until is not None:
        raise _delayed(delay_until, now)
    verify_against_dummy(password)
    throttle.record_failure(key, now)
    raise _REFUSED


def _check_account_password(
    tenancy: Tenancy,
    account: Account | SystemAccount,
    password: str,
    now: datetime,
    *,
    refused: ApiProblem,
) -> None:
    """The throttled password check (L3): 429 while delayed, `refused` for a wrong one."""
    accounts: AccountRepository | SystemAccountRepository = (
        AccountRepository(tenancy.db, account.tenant_id)
        if isinstance(account, Account)
        else SystemAccountRepository(tenancy.db)
    )
    if account.is_delayed(now):
        assert account.delay_until is not None
        raise _delayed(account.delay_until, now)
    if not verify_password(account.password_hash, password):
        accounts.record_failure(account.id, window=FAILURE_WINDOW, delay_for=_delay_for, now=now)
        raise refused
    accounts.record_success(account.id)


@router.post("/auth/sign-out", status_code=204)
async def sign_out(request: Request, principal: Principal = Depends(signed_in())) -> Response:
    """End this browser session (other credentials have nothing to end)."""
    response = Response(status_code=204)
    if principal.session_hash is not None:
        tenancy = tenancy_of(request)
        await asyncio.to_thread(
            sessions.session_repository(tenancy, principal).revoke, principal.session_hash
        )
        sessions.forget(tenancy, principal.session_hash)
        sessions.clear_cookie(request, response)
        sessions.clear_tenant_cookie(request, response)
    return response


@router.get("/auth/me")
async def me(request: Request, principal: Principal = Depends(signed_in())) -> dict[str, Any]:
    """Who is signed in, their roles, and what they may do (for role-aware navigation)."""
    if principal.is_system:
        return await _describe_system(request, principal)
    host = tenancy_of(request).host_for(principal.tenant_id)

    def describe(engine: Engine) -> dict[str, Any]:
        access = access_of(principal, engine)
        if principal.kind == "api_key":
            who: dict[str, Any] = {"kind": "api_key", "key_id": principal.id}
        else:
            user = engine.state.users[principal.id]  # access_of checked it exists
            who = {
                "kind": "user",
                "user_id": user.id,
                "display_name": user.display_name,
                "upn": user.upn,
                "method": principal.method,
                "roles": [
                    {"role": a.role.value, "scope_type": a.scope_type.value, "scope_id": a.scope_id}
                    for a in access.assignments
                ],
            }
        may = {
            capability.value: [
                mode.value for mode in Mode if access.may_at_all(capability, mode).allowed
            ]
            for capability in MATRIX
        }
        return {
            **who,
            "tenant_id": principal.tenant_id,
            "csrf_token": principal.csrf_token,
            "may": may,
        }

    result: dict[str, Any] = await host.run(describe)
    return result


async def _describe_system(request: Request, principal: Principal) -> dict[str, Any]:
    """/auth/me of a system account: its role, its partner, and the tenant it selected
    (`X-Switchboard-Tenant`, or the UI's tenant picker), if it selected one."""
    tenancy = tenancy_of(request)
    account = await asyncio.to_thread(SystemAccountRepository(tenancy.db).get, principal.id)
    if account is None:
        raise ApiProblem(401, "session_expired", "Your account was removed.", headers=CHALLENGE)
    selected = principal
    if request.headers.get(TENANT_HEADER) or sessions.chosen_tenant(request):
        selected = await select_tenant(request, principal)
    access = access_of(principal)
    return {
        "kind": "system",
        "account_id": account.id,
        "username": account.username,
        "method": principal.method,
        "roles": [
            {"role": a.role.value, "scope_type": a.scope_type.value, "scope_id": a.scope_id}
            for a in access.assignments
        ],
        "partner_id": account.partner_id,
        "tenant_id": selected.tenant_id or None,
        "csrf_token": principal.csrf_token,
        "may": {
            capability.value: [
                mode.value for mode in Mode if access.may_at_all(capability, mode).allowed
            ]
            for capability in MATRIX
        },
    }


@router.put("/auth/password", status_code=204)
async def change_password(
    body: PasswordChange, request: Request, principal: Principal = Depends(signed_in())
) -> Response:
    """A signed-in person changes their own password; their other sessions end.

    Every session of the account is revoked, the caller's too, and the caller gets
    a fresh session token in its place (same CSRF token, same absolute end): a
    thief holding the old cookie is out, the person who changed it is not.
    """
    if principal.kind not in ("user", "system"):
        raise ApiProblem(403, "not_a_person", "Only a signed-in person has a password.")
    tenancy = tenancy_of(request)
    response = Response(status_code=204)

    def change() -> str | None:
        accounts: AccountRepository | SystemAccountRepository
        account: Account | SystemAccount | None
        if principal.is_system:
            accounts = SystemAccountRepository(tenancy.db)
            account = accounts.get(principal.id)
        else:
            accounts = AccountRepository(tenancy.db, principal.tenant_id)
            account = accounts.by_user(principal.id)
        if account is None:
            raise ApiProblem(404, "account_not_found", "You have no local account.")
        now = datetime.now(UTC)
        wrong = ApiProblem(403, "invalid_credentials", "The current password is wrong.")
        _check_account_password(tenancy, account, body.current_password, now, refused=wrong)
        _check_policy(body.new_password, account.username)
        accounts.set_password_hash(account.id, hash_password(body.new_password))
        sessions_repo = sessions.session_repository(tenancy, principal)
        current = sessions_repo.get(principal.session_hash) if principal.session_hash else None
        sessions_repo.revoke_all(account.id)
        if current is None:
            return None
        token, _ = sessions.start(tenancy, account, now, continues=current)
        return token

    token = await asyncio.to_thread(change)
    tenancy.auth_cache.clear()
    if token is not None:
        sessions.set_cookie(request, response, token)
    return response


_POLICY_MESSAGES = {
    "too_short": "must be at least 12 characters",
    "too_long": "must be at most 256 characters",
    "contains_username": "must not contain the username",
    "too_common": "is too common (it is in the list of frequently used passwords)",
}


def _check_policy(password: str, username: str) -> None:
    problems = check_password_policy(password, username)
    if problems:
        raise ApiProblem(
            422,
            "weak_password",
            "The password " + "; it ".join(_POLICY_MESSAGES[p] for p in problems) + ".",
            errors=[
                {"code": p, "path": "password", "message": f"The password {_POLICY_MESSAGES[p]}."}
                for p in problems
            ],
        )


# ---------------------------------------------------------------------- accounts (admin)


@router.put("/users/{user_id}/account", tags=["Users"])
async def set_account(
    user_id: str,
    body: AccountIn,
    request: Request,
    actor: Actor = Depends(require(Capability.USERS, WRITE)),
) -> dict[str, Any]:
    """Give a user a local account, or set a new username/password (their sessions end)."""

    await actor.run(lambda engine: actor.allow_user(engine, user_id))
    username = normalise(body.username)
    if not username:
        raise ApiProblem(
            422,
            "invalid_format",
            "The username must contain more than spaces.",
            errors=[{"code": "invalid_format", "path": "username", "message": "Only spaces."}],
        )
    _check_policy(body.password, username)
    tenancy = tenancy_of(request)
    tenant_id = actor.principal.tenant_id
    taken = ApiProblem(
        409,
        "not_unique",
        f"The username '{username}' is taken in this tenant.",
        errors=[{"code": "not_unique", "path": "username", "message": "Taken."}],
    )

    def store() -> dict[str, Any]:
        accounts = AccountRepository(tenancy.db, tenant_id)
        holder = accounts.by_username(username)
        # Refuse before touching the user's current account: replacing it is delete
        # then create, and a refused create must not leave them without one.
        if holder is not None and holder.user_id != user_id:
            raise taken
        hashed = hash_password(body.password)
        existing = accounts.by_user(user_id)
        if existing is not None:
            accounts.delete(existing.id)
        try:
            account = accounts.create(username, hashed, user_id=user_id)
        except AlreadyExistsError:
            # Taken between the check and here; restore what the user had.
            if existing is not None:
                accounts.create(
                    existing.username,
                    existing.password_hash,
                    user_id=user_id,
                    id=existing.id,
                    now=existing.created_at,
                )
            raise taken from None
        return {"user_id": user_id, "username": account.username}

    result = await asyncio.to_thread(store)
    tenancy.auth_cache.clear()
    return result


@router.delete("/users/{user_id}/account", status_code=204, tags=["Users"])
async def delete_account(
    user_id: str, request: Request, actor: Actor = Depends(require(Capability.USERS, WRITE))
) -> Response:
    """Remove a user's local account; their sessions end at once."""

    await actor.run(lambda engine: actor.allow_user(engine, user_id))
    tenancy = tenancy_of(request)

    def remove() -> bool:
        accounts = AccountRepository(tenancy.db, actor.principal.tenant_id)
        account = accounts.by_user(user_id)
        return account is not None and accounts.delete(account.id)

    if not await asyncio.to_thread(remove):
        raise ApiProblem(404, "account_not_found", "This user has no local account.")
    tenancy.auth_cache.clear()
    return Response(status_code=204)
