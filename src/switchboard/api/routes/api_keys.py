"""API keys of a tenant: issue (the key is shown once), list, revoke (10 §1.4, row 22).

Only people manage keys — a key cannot mint keys. A tenant admin issues keys for
the whole tenant, an OU admin only keys scoped to OUs inside their subtree, and a
key's rights are its scope's admin rights intersected with its scopes (K5).
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from switchboard.api.json_body import JsonRoute
from switchboard.api.keys import issue_api_key
from switchboard.api.permissions import READ, WRITE, Actor, require
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input
from switchboard.api.security.api_keys import validate_scopes
from switchboard.api.tenancy import tenancy_of
from switchboard.domain.access import Capability, Target
from switchboard.engine.engine import Engine
from switchboard.store.repositories import ApiKey, ApiKeyRepository

router = APIRouter(prefix="/api/v1", responses=RESPONSES, tags=["API keys"], route_class=JsonRoute)


class ApiKeyIn(Input):
    name: str = Field(min_length=1, max_length=128)
    scopes: list[str] = Field(min_length=1, max_length=16)
    ou_id: str | None = Field(None, max_length=64)
    service_ids: list[str] | None = Field(None, min_length=1, max_length=100)
    #: Default one year, at most two (10 K2).
    expires_in_days: int = Field(365, ge=1, le=730)


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scopes": list(key.scopes),
        "ou_id": key.ou_id,
        "service_ids": None if key.service_ids is None else list(key.service_ids),
        "created_by": key.created_by,
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def key_target(engine: Engine, ou_id: str | None, service_ids: Any) -> Target:
    """Where a key's rights lie: its OU, its services' OU, or the whole tenant."""
    if service_ids:
        ous = {s.ou_id for s in engine.state.services.values() if s.id in service_ids}
        return Target(ou_id=ous.pop() if len(ous) == 1 else None)
    return Target(ou_id=ou_id)


@router.post("/api-keys", status_code=201)
async def create_api_key(
    body: ApiKeyIn, request: Request, actor: Actor = Depends(require(Capability.API_KEYS, WRITE))
) -> dict[str, Any]:
    """Issue a key; the answer's `api_key` is the only time the secret is shown."""
    errors = []
    unknown = validate_scopes(body.scopes)
    if unknown:
        errors.append(
            {
                "code": "invalid_format",
                "path": "scopes",
                "message": f"Unknown scopes: {', '.join(unknown)}.",
            }
        )
    if body.ou_id is not None and body.service_ids is not None:
        errors.append(
            {
                "code": "invalid_combination",
                "path": "service_ids",
                "message": "A key is scoped to an OU or to services, not both.",
            }
        )
    if errors:
        raise ApiProblem(422, "validation_failed", errors[0]["message"], errors=errors)

    def check(engine: Engine) -> None:
        state = engine.state
        if body.ou_id is not None and body.ou_id not in state.ous:
            raise _unknown("ou_id", f"No OU with id '{body.ou_id}'.")
        for index, service_id in enumerate(body.service_ids or ()):
            if service_id not in state.services:
                raise _unknown(f"service_ids[{index}]", f"No service with id '{service_id}'.")
        actor.allow(
            engine,
            key_target(engine, body.ou_id, body.service_ids),
            missing=_unknown("ou_id", "No such OU that you can use."),
        )

    await actor.run(check)
    tenancy = tenancy_of(request)
    tenant_id = actor.principal.tenant_id
    full_key = await asyncio.to_thread(
        issue_api_key,
        tenancy,
        tenant_id,
        name=body.name.strip(),
        scopes=body.scopes,
        created_by=f"{actor.principal.kind}:{actor.principal.id}",
        lifetime=timedelta(days=body.expires_in_days),
        ou_id=body.ou_id,
        service_ids=body.service_ids,
    )
    key_id = full_key.split("_")[1]
    record = ApiKeyRepository(tenancy.db, tenant_id).get(key_id)
    assert record is not None
    return {**key_json(record), "api_key": full_key}


def _unknown(path: str, message: str) -> ApiProblem:
    return ApiProblem(
        422,
        "unknown_reference",
        message,
        errors=[{"code": "unknown_reference", "path": path, "message": message}],
    )


@router.get("/api-keys")
async def list_api_keys(
    request: Request, actor: Actor = Depends(require(Capability.API_KEYS, READ))
) -> dict[str, Any]:
    """The tenant's keys that lie inside the caller's scope, revoked ones included."""
    tenancy = tenancy_of(request)
    keys = await asyncio.to_thread(ApiKeyRepository(tenancy.db, actor.principal.tenant_id).list)

    def visible(engine: Engine) -> list[dict[str, Any]]:
        return [
            key_json(k)
            for k in sorted(keys, key=lambda k: k.created_at)
            if actor.sees(engine, key_target(engine, k.ou_id, k.service_ids))
        ]

    return {"items": await actor.run(visible)}


@router.delete("/api-keys/{key_id}", status_code=204)
async def revoke_api_key(
    key_id: str, request: Request, actor: Actor = Depends(require(Capability.API_KEYS, WRITE))
) -> Response:
    """Revoke a key: refused from now on (other nodes within 30 s, their cache time)."""
    tenancy = tenancy_of(request)
    repo = ApiKeyRepository(tenancy.db, actor.principal.tenant_id)
    key = await asyncio.to_thread(repo.get, key_id)
    missing = ApiProblem(404, "api_key_not_found", f"No API key with id '{key_id}'.")
    if key is None:
        raise missing
    await actor.run(
        lambda e: actor.allow(e, key_target(e, key.ou_id, key.service_ids), missing=missing)
    )
    await asyncio.to_thread(repo.revoke, key_id)
    tenancy.auth_cache.clear()
    return Response(status_code=204)
