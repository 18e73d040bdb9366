"""OIDC bearer tokens from a tenant's linked directory, mapped to a Switchboard user.

A token is accepted when (10 A1–A5): its signature verifies with a key from the
JWKS of its issuer; the issuer is that of a directory tenant linked to exactly
one Switchboard tenant (`tenants.directory_tenant_id`, Entra v2 form
`{authority}/{tid}/v2.0`); `aud` is one of `Settings.oidc_audiences`; the time
claims hold; and the `tid` claim names the same directory tenant as the issuer.
The user is found by `oid` = `User.directory_object_id`, falling back to
`preferred_username` = `User.upn`. Rights come from the user's role assignments
in Switchboard, never from the token.

The verifier (`switchboard.api.security.oidc.OidcVerifier`) holds the issuers'
key sets; it is rebuilt when the set of linked tenants changes, checked at most
every `RELOAD_S` seconds, so a newly linked tenant works within that time.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass

from fastapi import Request

from switchboard.api.principal import CHALLENGE, Principal
from switchboard.api.problems import ApiProblem
from switchboard.api.security.oidc import Claims, JwksUnavailable, OidcVerifier, TokenRejected
from switchboard.api.tenancy import Tenancy, tenancy_of
from switchboard.domain.config import User

log = logging.getLogger(__name__)
RELOAD_S = 60.0


@dataclass(slots=True)
class _Loaded:
    links: dict[str, str]  # directory tenant id -> tenant id
    verifier: OidcVerifier | None
    checked_at: float


def issuer_for(authority: str, tid: str) -> str:
    return f"{authority}/{tid}/v2.0"


def jwks_url_for(authority: str, tid: str) -> str:
    return f"{authority}/{tid}/discovery/v2.0/keys"


def _load(tenancy: Tenancy, previous: _Loaded | None) -> _Loaded:
    links = {t.directory_tenant_id: t.id for t in tenancy.tenants.list() if t.directory_tenant_id}
    if previous is not None and previous.links == links:
        previous.checked_at = time.monotonic()
        return previous
    settings = tenancy.settings
    verifier = None
    if links and settings.oidc_audiences:
        authority = settings.oidc_authority
        verifier = OidcVerifier(
            issuers=[issuer_for(authority, tid) for tid in links],
            audiences=settings.oidc_audiences,
            jwks_urls={issuer_for(authority, tid): jwks_url_for(authority, tid) for tid in links},
        )
    return _Loaded(links, verifier, time.monotonic())


_LOADED: weakref.WeakKeyDictionary[Tenancy, _Loaded] = weakref.WeakKeyDictionary()


def _current(tenancy: Tenancy) -> _Loaded:
    loaded = _LOADED.get(tenancy)
    if loaded is None or time.monotonic() - loaded.checked_at > RELOAD_S:
        loaded = _LOADED[tenancy] = _load(tenancy, loaded)
    return loaded


def reload(tenancy: Tenancy) -> None:
    """Pick up a changed directory link now (after `link_directory`)."""
    _LOADED.pop(tenancy, None)


def _refused(code: str, message: str) -> ApiProblem:
    return ApiProblem(401, code, message, headers=CHALLENGE)


def _verify(tenancy: Tenancy, token: str) -> tuple[str, Claims]:
    loaded = _current(tenancy)
    if loaded.verifier is None:
        raise _refused(
            "oidc_not_configured",
            "Bearer tokens are not accepted here: no tenant is linked to a directory, "
            "or SWITCHBOARD_OIDC_AUDIENCE is not set.",
        )
    try:
        claims = loaded.verifier.verify(token)
    except JwksUnavailable as error:
        log.warning("oidc keys unavailable: %s", error.message)
        raise ApiProblem(
            503,
            "identity_provider_unavailable",
            "The identity provider's signing keys could not be fetched; try again shortly.",
            headers={"Retry-After": "10"},
        ) from None
    except TokenRejected as error:
        log.info("oidc token refused: %s", error.reason_code)
        raise _refused("invalid_token", "The bearer token is not valid here.") from None
    tenant_id = loaded.links.get(claims.tid)
    if tenant_id is None or claims.iss != issuer_for(tenancy.settings.oidc_authority, claims.tid):
        raise _refused("invalid_token", "The bearer token is not valid here.")
    return tenant_id, claims


def find_user(users: dict[str, User], claims: Claims) -> User | None:
    """A4: the user with this directory object id, else the one with this UPN.

    The UPN fallback only reaches users who have no directory object id: a UPN
    can be renamed or handed to someone new, an object id cannot, so a user who
    is bound to one directory object is never matched by name for another.
    """
    if claims.oid:
        for user in users.values():
            if user.directory_object_id and user.directory_object_id == claims.oid:
                return user
    if claims.preferred_username:
        wanted = claims.preferred_username.casefold()
        for user in users.values():
            if not user.directory_object_id and user.upn.casefold() == wanted:
                return user
    return None


async def authenticate_token(request: Request, token: str) -> Principal:
    tenancy = tenancy_of(request)
    tenant_id, claims = await asyncio.to_thread(_verify, tenancy, token)
    host = tenancy.host_for(tenant_id)
    user = find_user(host.engine.state.users, claims)
    if user is None or not user.enabled:
        raise _refused(
            "unknown_user",
            "The token is valid, but no enabled Switchboard user matches it; "
            "ask an administrator to add you.",
        )
    return Principal(tenant_id=tenant_id, kind="user", id=user.id, method="oidc")
