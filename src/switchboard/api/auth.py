"""Who is calling: authentication of every API request, in one function.

Three kinds of credential, tried in this order (10 §1):

* `Authorization: Bearer sbk_…` or `X-API-Key` — a per-tenant API key (K1–K3);
* `Authorization: Bearer <JWT>` — an OIDC access token from the tenant's linked
  directory (A1–A5, `switchboard.api.oidc_auth`);
* the session cookie a local sign-in set (B2, `switchboard.api.sessions`), with
  the CSRF check of BS1 on every state-changing method.

The principal returned carries the tenant id every later step uses; nothing
downstream reads a tenant id from the request (TI1). Every failure is the same
401 for a given kind of credential, so an answer never tells a prober whether a
key id, user or session exists.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime

import structlog
from fastapi import Request

from switchboard.api.oidc_auth import authenticate_token
from switchboard.api.principal import CHALLENGE, Principal, bearer
from switchboard.api.problems import ApiProblem
from switchboard.api.security.api_keys import parse_api_key, verify_secret
from switchboard.api.sessions import authenticate_session
from switchboard.api.tenancy import Tenancy, tenancy_of
from switchboard.store.repositories import ApiKeyRepository

#: How long a verified key is trusted without asking the database again. Revoking a
#: key therefore takes effect within this time on every node (10 K2).
AUTH_CACHE_S = 30.0
AUTH_CACHE_MAX = 10_000

__all__ = ["CHALLENGE", "Principal", "authenticate", "authenticate_api_key", "bearer"]


async def authenticate(request: Request) -> Principal:
    """Resolve the caller or answer 401; binds tenant and principal to the log context."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer(request)
    key = token if token is not None else request.headers.get("x-api-key")
    if token is not None and not token.startswith("sbk_") and token.count(".") == 2:
        principal = await authenticate_token(request, token)
    elif key is not None:
        # An empty credential ("Bearer " followed by nothing usable) is a wrong key.
        principal = await _authenticate_key(request, key)
    else:
        session_principal = await authenticate_session(request)
        if session_principal is None:
            raise ApiProblem(
                401,
                "unauthenticated",
                "Sign in, or send an API key or a bearer token.",
                headers=CHALLENGE,
            )
        principal = session_principal
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(
        tenant_id=principal.tenant_id, principal=f"{principal.kind}:{principal.id}"
    )
    return principal


async def authenticate_api_key(request: Request, presented: str) -> Principal:
    """A key presented outside the headers — the reporting feed's `api_key` query
    parameter (08 OD11; 10 K3 limits it to that feed, whose routes need
    `reporting:read`). Verified, cached and remembered like a header key."""
    principal = await _authenticate_key(request, presented)
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(
        tenant_id=principal.tenant_id, principal=f"{principal.kind}:{principal.id}"
    )
    return principal


async def _authenticate_key(request: Request, presented: str) -> Principal:
    """A verified key is remembered for `AUTH_CACHE_S`, keyed by a hash of the whole
    presented key (never the key itself): the database and the HMAC are consulted
    once per key and interval instead of on every request."""
    tenancy = tenancy_of(request)
    digest = hashlib.sha256(presented.encode()).hexdigest()
    cached = tenancy.auth_cache.get(digest)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        principal: Principal = cached[0]
        return principal
    principal = await asyncio.to_thread(_verify_key, tenancy, presented)
    if len(tenancy.auth_cache) >= AUTH_CACHE_MAX:
        tenancy.auth_cache.clear()
    tenancy.auth_cache[digest] = (principal, now + AUTH_CACHE_S)
    return principal


def _verify_key(tenancy: Tenancy, presented: str) -> Principal:
    refused = ApiProblem(
        401, "invalid_credentials", "The API key is unknown, expired or revoked.", headers=CHALLENGE
    )
    parsed = parse_api_key(presented)
    if parsed is None:
        raise refused
    key_id, secret = parsed
    tenant_id = tenancy.tenants.tenant_id_for_api_key(key_id)
    if tenant_id is None:
        raise refused
    record = ApiKeyRepository(tenancy.db, tenant_id).get(key_id)
    if (
        record is None
        or not record.is_usable(datetime.now(UTC))
        or not verify_secret(tenancy.settings.pepper(), secret, record.secret_hmac)
    ):
        raise refused
    return Principal(
        tenant_id=tenant_id,
        kind="api_key",
        id=key_id,
        scopes=frozenset(record.scopes),
        ou_id=record.ou_id,
        service_ids=record.service_ids,
    )
