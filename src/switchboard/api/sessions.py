"""Browser sessions of local accounts: the cookie, its lifetime, and CSRF (10 B2, BS1).

A session is a random token in a cookie; the server keeps only its SHA-256
(`web_sessions.id_hash`), so a database leak yields no usable cookies. It ends
after 2 hours without activity or 12 hours after sign-in, whichever is first,
or at sign-out. Activity moves the idle deadline; to keep that from costing a
database write per request, a verified session is trusted for `CHECK_EVERY_S`
and its `last_seen_at` is written when it is checked again. System and partner
administrators' accounts keep their sessions in a table of their own
(`system_sessions`), under the same cookie; the tenant they chose in the web
UI's tenant picker is a second cookie (`TENANT_COOKIE`), read only for them and
checked against their reach on every request (10 R3,
`switchboard.api.permissions.select_tenant`).

Cookie-authenticated requests that change state (POST, PUT, PATCH, DELETE) must
carry `X-CSRF-Token` equal to the session's token, and an `Origin` (or
`Referer`) of this application: a page on another site can make the browser
send the cookie, but it can neither read the token nor fake the origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fastapi import Request, Response

from switchboard.api.principal import CHALLENGE, Principal
from switchboard.api.problems import ApiProblem
from switchboard.api.tenancy import Tenancy, tenancy_of
from switchboard.store.repositories import (
    Account,
    AccountRepository,
    SystemAccount,
    SystemAccountRepository,
    SystemSession,
    SystemSessionRepository,
    WebSession,
    WebSessionRepository,
)

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
CHECK_EVERY_S = 30.0
SECURE_COOKIE = "__Host-sb_session"
PLAIN_COOKIE = "sb_session"
SECURE_TENANT_COOKIE = "__Host-sb_tenant"
PLAIN_TENANT_COOKIE = "sb_tenant"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request) -> str:
    """`__Host-` needs `Secure`, which a browser refuses on plain-HTTP loopback, so
    development over http uses the plain name (decision, 10 B2)."""
    return SECURE_COOKIE if is_secure(request) else PLAIN_COOKIE


def presented_token(request: Request) -> str | None:
    """Only the cookie name this scheme sets: over https a plain `sb_session` could have
    been planted by a sibling subdomain or over plain HTTP (cookie tossing), which the
    `__Host-` prefix exists to rule out."""
    return request.cookies.get(cookie_name(request))


def tenant_cookie_name(request: Request) -> str:
    """The tenant picker's cookie, named like the session's (`__Host-` over https)."""
    return SECURE_TENANT_COOKIE if is_secure(request) else PLAIN_TENANT_COOKIE


def chosen_tenant(request: Request) -> str | None:
    """The tenant a system or partner admin chose in the UI's tenant picker, if any: an id
    to check, never a grant (`select_tenant` checks it against their reach each time)."""
    value = (request.cookies.get(tenant_cookie_name(request)) or "").strip()
    return value or None


def set_tenant_cookie(request: Request, response: Response, tenant_id: str) -> None:
    """Remember the picker's choice for as long as a session can last."""
    response.set_cookie(
        tenant_cookie_name(request),
        tenant_id,
        max_age=int(ABSOLUTE.total_seconds()),
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


def clear_tenant_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        tenant_cookie_name(request),
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


def session_repository(
    tenancy: Tenancy, principal: Principal
) -> WebSessionRepository | SystemSessionRepository:
    """Where the principal's sessions are kept: its tenant's, or the system accounts'."""
    if principal.is_system:
        return SystemSessionRepository(tenancy.db)
    return WebSessionRepository(tenancy.db, principal.tenant_id)


def start(
    tenancy: Tenancy,
    account: Account | SystemAccount,
    now: datetime,
    *,
    continues: WebSession | SystemSession | None = None,
) -> tuple[str, WebSession | SystemSession]:
    """Create a session for `account` (a tenant's or a system account); return the
    cookie's token and the record.

    `continues` is a session this one replaces under a new token (after a password
    change): it keeps that session's CSRF token, so the open page goes on working,
    and its start, so the absolute timeout is not extended.
    """
    token = secrets.token_urlsafe(32)
    started = now if continues is None else continues.created_at
    repository: WebSessionRepository | SystemSessionRepository = (
        WebSessionRepository(tenancy.db, account.tenant_id)
        if isinstance(account, Account)
        else SystemSessionRepository(tenancy.db)
    )
    session = repository.create(
        token_hash(token),
        account_id=account.id,
        csrf_token=secrets.token_urlsafe(32) if continues is None else continues.csrf_token,
        expires_at=min(now + IDLE, started + ABSOLUTE),
        now=started,
    )
    return token, session


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=int(ABSOLUTE.total_seconds()),
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookie_name(request), path="/", secure=is_secure(request), httponly=True, samesite="lax"
    )


def forget(tenancy: Tenancy, id_hash: str) -> None:
    """Drop a session from this node's cache (sign-out takes effect at once here)."""
    tenancy.auth_cache.pop("session:" + id_hash, None)


async def authenticate_session(request: Request) -> Principal | None:
    """The session's principal, None without a cookie; 401 for a dead session."""
    token = presented_token(request)
    if token is None:
        return None
    tenancy = tenancy_of(request)
    id_hash = token_hash(token)
    key = "session:" + id_hash
    now = time.monotonic()
    cached = tenancy.auth_cache.get(key)
    if cached is not None and cached[1] > now:
        principal: Principal = cached[0]
    else:
        found = await asyncio.to_thread(_check, tenancy, id_hash)
        if found is None:
            tenancy.auth_cache.pop(key, None)
            raise ApiProblem(
                401,
                "session_expired",
                "Your session ended (signed out or inactive); sign in again.",
                headers=CHALLENGE,
            )
        principal = found
        tenancy.auth_cache[key] = (principal, now + CHECK_EVERY_S)
    # Checked on every request, cache or not: disabling a user takes effect at once, on
    # every route (a session outlives neither its user nor the user's `enabled` flag).
    # A system account has no user; removing the account ends its sessions.
    user = (
        None
        if principal.is_system
        else tenancy.host_for(principal.tenant_id).engine.state.users.get(principal.id)
    )
    if not principal.is_system and (user is None or not user.enabled):
        raise ApiProblem(
            401,
            "user_disabled",
            "Your user is disabled or was removed; ask an administrator.",
            headers=CHALLENGE,
        )
    if request.method in UNSAFE_METHODS:
        check_csrf(request, principal)
    return principal


def _check(tenancy: Tenancy, id_hash: str) -> Principal | None:
    tenant_id = tenancy.tenants.tenant_id_for_web_session(id_hash)
    if tenant_id is None:
        return _check_system(tenancy, id_hash)
    sessions = WebSessionRepository(tenancy.db, tenant_id)
    session = sessions.get(id_hash)
    now = datetime.now(UTC)
    if session is None or not session.is_active(now):
        return None
    account = AccountRepository(tenancy.db, tenant_id).get(session.account_id)
    if account is None:
        return None
    # Activity moves the idle deadline, never beyond the absolute one.
    sessions.touch(id_hash, now=now, expires_at=min(now + IDLE, session.created_at + ABSOLUTE))
    return Principal(
        tenant_id=tenant_id,
        kind="user",
        id=account.user_id,
        method="session",
        csrf_token=session.csrf_token,
        session_hash=id_hash,
    )


def _check_system(tenancy: Tenancy, id_hash: str) -> Principal | None:
    """A session of a system account: its principal, bound to no tenant yet."""
    sessions = SystemSessionRepository(tenancy.db)
    session = sessions.get(id_hash)
    now = datetime.now(UTC)
    if session is None or not session.is_active(now):
        return None
    account = SystemAccountRepository(tenancy.db).get(session.account_id)
    if account is None:
        return None
    sessions.touch(id_hash, now=now, expires_at=min(now + IDLE, session.created_at + ABSOLUTE))
    return Principal(
        tenant_id="",
        kind="system",
        id=account.id,
        method="session",
        csrf_token=session.csrf_token,
        session_hash=id_hash,
        role=account.role,
        partner_id=account.partner_id,
        username=account.username,
    )


def check_csrf(request: Request, principal: Principal) -> None:
    """BS1: the token from the page, and a request that comes from our own origin."""
    sent = request.headers.get(CSRF_HEADER, "")
    expected = principal.csrf_token or ""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiProblem(
            403,
            "csrf_token_invalid",
            "This request needs the X-CSRF-Token header of your session "
            "(the page sends it; reload the page if it is missing).",
        )
    if not same_origin(request):
        raise ApiProblem(
            403,
            "cross_origin_request",
            "This request came from another site's page; it was refused to protect your session.",
        )


def same_origin(request: Request) -> bool:
    """Origin (or, lacking it, Referer) names this application; one of them is required."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)
