"""Who is calling: authentication of every API request, in one dependency.

This version authenticates per-tenant API keys (`Authorization: Bearer sbk_…`
or `X-API-Key`, 10 K1–K3). The principal it returns carries the tenant id that
every later step uses; nothing downstream reads a tenant id from the request.
Browser sessions and OIDC bearer tokens plug in here next (the verifier and
password primitives are in `switchboard.api.security`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from fastapi import Request

from switchboard.api.problems import ApiProblem
from switchboard.api.security.api_keys import parse_api_key, verify_secret
from switchboard.api.tenancy import Tenancy
from switchboard.store.repositories import ApiKeyRepository

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="switchboard"'}


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str
    kind: str  # "api_key" (later: "user")
    id: str
    scopes: frozenset[str]
    ou_id: str | None = None
    service_ids: tuple[str, ...] | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-api-key")


#: How long a verified key is trusted without asking the database again. Revoking a
#: key therefore takes effect within this time on every node (10 K2).
AUTH_CACHE_S = 30.0
AUTH_CACHE_MAX = 10_000


async def authenticate(request: Request) -> Principal:
    """Resolve the caller or answer 401 (the same answer for every kind of bad key).

    A verified key is remembered for `AUTH_CACHE_S`, keyed by a hash of the whole
    presented key (never the key itself): the database and the HMAC are consulted
    once per key and interval instead of on every request.
    """
    tenancy: Tenancy = request.app.state.tenancy
    presented = _presented_key(request)
    if not presented:
        raise ApiProblem(401, "unauthenticated", "Send an API key.", headers=CHALLENGE)
    digest = hashlib.sha256(presented.encode()).hexdigest()
    cached = tenancy.auth_cache.get(digest)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        principal: Principal = cached[0]
    else:
        principal = await asyncio.to_thread(_verify, tenancy, presented)
        if len(tenancy.auth_cache) >= AUTH_CACHE_MAX:
            tenancy.auth_cache.clear()
        tenancy.auth_cache[digest] = (principal, now + AUTH_CACHE_S)
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id, key_id=principal.id)
    return principal


def _verify(tenancy: Tenancy, presented: str) -> Principal:
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
