"""API keys: issue one (its secret is shown once), see them all, revoke (10 §1.4, row 22).

Issuing and revoking are the API's `POST /api/v1/api-keys` and `DELETE
/api/v1/api-keys/{key_id}`; the page lists what `GET /api/v1/api-keys`
would answer the person: the keys whose scope lies inside their own.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from switchboard.api.permissions import READ, Actor, world
from switchboard.api.routes.api_keys import key_json, key_target
from switchboard.api.security.api_keys import SCOPES
from switchboard.domain.access import Capability, Mode, Target
from switchboard.engine.engine import Engine
from switchboard.store.repositories import ApiKey, ApiKeyRepository
from switchboard.web.admin.core import ou_paths
from switchboard.web.admin.routes import frame
from switchboard.web.guard import page
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)

#: What each scope lets a program do (10 K4), in words for whoever issues a key.
SCOPE_WORDS: dict[str, str] = {
    "config:read": "Read the configuration: services, users, skills, calendars, workflows.",
    "config:write": "Change the configuration.",
    "tasks:write": "Create and steer tasks; set agents' presence and duty.",
    "flows:read": "Read live tasks and the event stream.",
    "flows:write": "Act on running workflows.",
    "reporting:read": "Read historical reports and the OData feed.",
    "addressbooks:write": "Fill address books with contacts (a directory connector).",
    "outbound:write": "Start outbound calls.",
    "triggers:manage": "Manage triggers.",
    "audit:read": "Read the audit log.",
}


async def _keys(request: Request, actor: Actor) -> tuple[ApiKey, ...]:
    tenancy = request.app.state.tenancy
    repo = ApiKeyRepository(tenancy.db, actor.principal.tenant_id)
    return await asyncio.to_thread(repo.list)


def _status(key: dict[str, Any], now: datetime) -> str:
    if key["revoked_at"]:
        return "revoked"
    if datetime.fromisoformat(key["expires_at"]) <= now:
        return "expired"
    return "active"


def _listed(actor: Actor, engine: Engine, keys: tuple[ApiKey, ...]) -> list[dict[str, Any]]:
    now = datetime.fromtimestamp(engine.clock.now(), UTC)
    paths = ou_paths(engine.state)
    services = engine.state.services
    shown = []
    for key in sorted(keys, key=lambda k: k.created_at, reverse=True):
        if not actor.sees(engine, key_target(engine, key.ou_id, key.service_ids)):
            continue
        data = key_json(key)
        data["status"] = _status(data, now)
        if key.service_ids:
            data["scope_text"] = ", ".join(
                services[s].name if s in services else s for s in key.service_ids
            )
        elif key.ou_id:
            data["scope_text"] = paths.get(key.ou_id, key.ou_id)
        else:
            data["scope_text"] = "Whole tenant"
        shown.append(data)
    return shown


@router.get("/admin/api-keys")
async def api_keys_page(
    request: Request, actor: Actor = Depends(page(Capability.API_KEYS, READ))
) -> Response:
    keys = await _keys(request, actor)

    def read(engine: Engine) -> dict[str, Any]:
        state = engine.state
        access = actor.access(engine)
        here = world(state)
        paths = ou_paths(state)
        ous = sorted(
            (
                (o, paths[o])
                for o in state.ous
                if access.decide(Capability.API_KEYS, Mode.WRITE, Target(ou_id=o), here).allowed
            ),
            key=lambda p: p[1].casefold(),
        )
        services = sorted(
            (
                (s.id, s.name)
                for s in state.services.values()
                if access.decide(
                    Capability.API_KEYS, Mode.WRITE, Target(ou_id=s.ou_id), here
                ).allowed
            ),
            key=lambda p: p[1].casefold(),
        )
        tenant_wide = access.decide(Capability.API_KEYS, Mode.WRITE, Target(), here).allowed
        return {
            "viewer": frame(engine, actor, request, active="api-keys"),
            "keys": _listed(actor, engine, keys),
            "ous": ous,
            "services": services,
            "tenant_wide": tenant_wide,
        }

    context = await actor.run(read)
    context.update(scopes=[(s, SCOPE_WORDS.get(s, "")) for s in SCOPES])
    return render(request, "admin/api_keys.html", context)


@router.get("/ui/admin/api-keys/list")
async def api_keys_list(
    request: Request, actor: Actor = Depends(page(Capability.API_KEYS, READ))
) -> Response:
    """The list of keys alone (refreshed after a key is issued or revoked)."""
    keys = await _keys(request, actor)
    shown = await actor.run(lambda engine: _listed(actor, engine, keys))
    return render(request, "admin/_api_keys_list.html", {"keys": shown})
