"""CRUD for every configuration entity of 01-model.md, generated from `schemas.KINDS`.

Lists page with `offset`/`limit` and filter by `ou_id` and a name substring `q`;
reads return an `ETag` (the entity's version); updates and deletes honour
`If-Match` (412 when stale). All writes go through the tenant's engine, which
validates (422 with every issue), versions and journals them; nothing changes
when a request is refused.
"""

# No `from __future__ import annotations`: FastAPI reads the generated body models
# from the endpoint functions' annotations at definition time.

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel

from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import (
    READ,
    WRITE,
    Actor,
    config_capability,
    config_target,
    require,
)
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.routes.audio_content import drop_audio_content
from switchboard.api.routes.contacts import drop_contacts
from switchboard.api.schemas import (
    INPUT_MODELS,
    KINDS,
    Kind,
    Page,
    keep_server_owned,
    to_entity,
    to_json,
)
from switchboard.domain.access import Capability, Target
from switchboard.domain.roles import RoleAssignment, ScopeType
from switchboard.engine.engine import Engine

router = APIRouter(prefix="/api/v1", responses=RESPONSES, route_class=JsonRoute)


def _etag(version: int) -> str:
    return f'"{version}"'


def _check_if_match(if_match: str | None, current_version: int) -> None:
    if if_match is not None and if_match.strip() not in ("*", _etag(current_version)):
        raise ApiProblem(
            412,
            "precondition_failed",
            f"The entity changed since you read it (now version {current_version}).",
        )


def _not_found(kind: Kind, entity_id: str) -> ApiProblem:
    return ApiProblem(404, f"{kind.name}_not_found", f"No {kind.name} with id '{entity_id}'.")


def _invisible_ou(entity: Any) -> ApiProblem:
    """Writing into an OU the caller cannot see reads as naming an unknown OU."""
    field = "parent_id" if hasattr(entity, "parent_id") else "ou_id"
    return ApiProblem(
        422,
        "unknown_reference",
        f"No OU with id '{getattr(entity, field, None)}' that you can use.",
        errors=[{"code": "unknown_reference", "path": field, "message": "No such OU."}],
    )


def _check_role_grants(actor: Actor, engine: Engine, before: Any, after: Any) -> None:
    """10 R2: a principal grants or withdraws only roles inside its own scope and rights."""
    old: set[RoleAssignment] = set(getattr(before, "roles", ()) or ())
    new: set[RoleAssignment] = set(getattr(after, "roles", ()) or ())
    access = actor.access(engine)
    for assignment in old ^ new:
        if not access.may_grant(assignment.role):
            raise ApiProblem(
                403,
                "cannot_grant_role",
                f"You cannot grant or withdraw the role {assignment.role.value}: it carries "
                "rights your own roles do not have.",
            )
        if assignment.scope_type is ScopeType.TENANT:
            target = Target()
        elif assignment.scope_type is ScopeType.OU:
            target = Target(ou_id=assignment.scope_id)
        else:
            service = engine.state.services.get(assignment.scope_id or "")
            target = Target(ou_id=service.ou_id if service else None)
        try:
            actor.allow(engine, target, Capability.USERS)
        except ApiProblem as refused:
            raise ApiProblem(
                403,
                "cannot_grant_role",
                f"You cannot grant or withdraw the role {assignment.role.value} on this scope: "
                "it lies outside what your own roles cover.",
            ) from refused


def _shown(actor: Actor, engine: Engine, kind: Kind) -> Callable[[Any], dict[str, Any]]:
    """How entities of `kind` are answered to this principal: users' identifiers masked
    for system and partner admins while the tenant does not allow them (10 PV2)."""
    masking = actor.masking(engine)
    if kind.name != "user" or not masking.users:
        return lambda entity: to_json(kind, entity)
    return lambda entity: masking.user_json(to_json(kind, entity))


def _routes(kind: Kind) -> None:
    model: type[BaseModel] = INPUT_MODELS[kind.name]
    path = f"/{kind.path}"
    tags: list[str | Any] = [kind.tag]
    capability = config_capability(kind.name)
    # Creating and deleting services is its own row of the table (10 §2 row 8).
    lifecycle = Capability.SERVICES if kind.name == "service" else capability

    @router.get(path, response_model=Page, tags=tags, name=f"list_{kind.name}")
    async def list_entities(
        request: Request,
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=500),
        ou_id: str | None = Query(None, max_length=128),
        q: str | None = Query(None, max_length=128, description="name contains (any case)"),
        actor: Actor = Depends(require(capability, READ)),
    ) -> Page:
        def query(engine: Engine) -> tuple[int, list[dict[str, Any]]]:
            state = engine.state
            rows = [
                r
                for r in state.table(kind.name).values()
                if actor.sees(engine, config_target(kind.name, r, state, READ))
            ]
            if ou_id is not None:
                rows = [r for r in rows if getattr(r, "ou_id", None) == ou_id]
            if q:
                needle = q.casefold()
                rows = [r for r in rows if needle in str(getattr(r, "name", "")).casefold()]
            rows.sort(key=lambda r: (str(getattr(r, "name", "")), r.id))
            shown = _shown(actor, engine, kind)
            return len(rows), [shown(r) for r in rows[offset : offset + limit]]

        total, items = await actor.run(query)
        following = offset + limit
        return Page(
            items=items,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=following if following < total else None,
        )

    @router.get(path + "/{entity_id}", tags=tags, name=f"get_{kind.name}")
    async def get_entity(
        entity_id: str,
        request: Request,
        response: Response,
        actor: Actor = Depends(require(capability, READ)),
    ) -> dict[str, Any]:
        def read(engine: Engine) -> tuple[int, dict[str, Any]]:
            entity = engine.state.table(kind.name).get(entity_id)
            if entity is None:
                raise _not_found(kind, entity_id)
            actor.allow(
                engine,
                config_target(kind.name, entity, engine.state, READ),
                missing=_not_found(kind, entity_id),
            )
            return entity.version, _shown(actor, engine, kind)(entity)

        version, shown = await actor.run(read)
        response.headers["ETag"] = _etag(version)
        return shown

    @router.post(path, status_code=201, tags=tags, name=f"create_{kind.name}")
    async def create_entity(
        body: model,  # type: ignore[valid-type]
        request: Request,
        response: Response,
        actor: Actor = Depends(require(lifecycle, WRITE)),
    ) -> dict[str, Any]:
        payload: BaseModel = body
        chosen: Any = payload.model_dump().get("id") if kind.client_chooses_id else None
        entity_id = str(chosen) if chosen is not None else str(uuid.uuid4())
        entity = to_entity(kind, body, entity_id)

        def create(engine: Engine) -> tuple[int, dict[str, Any]]:
            if entity_id in engine.state.table(kind.name):
                raise ApiProblem(
                    409, "not_unique", f"A {kind.name} with id '{entity_id}' exists already."
                )
            actor.allow(
                engine,
                config_target(kind.name, entity, engine.state, WRITE),
                missing=_invisible_ou(entity),
            )
            _check_role_grants(actor, engine, None, entity)
            engine.upsert(kind.name, entity)
            stored = engine.state.table(kind.name)[entity_id]
            return stored.version, _shown(actor, engine, kind)(stored)

        version, shown = await actor.run(create)
        response.headers["ETag"] = _etag(version)
        response.headers["Location"] = f"/api/v1/{kind.path}/{entity_id}"
        return shown

    @router.put(path + "/{entity_id}", tags=tags, name=f"update_{kind.name}")
    async def update_entity(
        entity_id: str,
        body: model,  # type: ignore[valid-type]
        request: Request,
        response: Response,
        if_match: str | None = Header(None),
        actor: Actor = Depends(require(capability, WRITE)),
    ) -> dict[str, Any]:
        if kind.client_chooses_id and getattr(body, "id", entity_id) != entity_id:
            raise ApiProblem(
                422,
                "immutable_field",
                "id cannot change; it must equal the id in the URL.",
                errors=[{"code": "immutable_field", "path": "id", "message": "id is fixed."}],
            )
        sent = to_entity(kind, body, entity_id)

        def update(engine: Engine) -> tuple[int, dict[str, Any]]:
            current = engine.state.table(kind.name).get(entity_id)
            if current is None:
                raise _not_found(kind, entity_id)
            entity = sent
            if kind.name == "user":
                # What a masked principal read as *** and sent back is left as it is (PV2).
                entity = actor.masking(engine).keep_masked(sent, current)
            # Both where it is and where it goes must be inside the caller's scope (OU4).
            actor.allow(
                engine,
                config_target(kind.name, current, engine.state, WRITE),
                missing=_not_found(kind, entity_id),
            )
            actor.allow(
                engine,
                config_target(kind.name, entity, engine.state, WRITE),
                missing=_invisible_ou(entity),
            )
            _check_role_grants(actor, engine, current, entity)
            _check_if_match(if_match, current.version)
            engine.upsert(kind.name, keep_server_owned(kind, entity, current))
            stored = engine.state.table(kind.name)[entity_id]
            return stored.version, _shown(actor, engine, kind)(stored)

        version, shown = await actor.run(update)
        response.headers["ETag"] = _etag(version)
        return shown

    @router.delete(path + "/{entity_id}", status_code=204, tags=tags, name=f"delete_{kind.name}")
    async def delete_entity(
        entity_id: str,
        request: Request,
        if_match: str | None = Header(None),
        actor: Actor = Depends(require(lifecycle, WRITE)),
    ) -> Response:
        def delete(engine: Engine) -> None:
            current = engine.state.table(kind.name).get(entity_id)
            if current is None:
                raise _not_found(kind, entity_id)
            actor.allow(
                engine,
                config_target(kind.name, current, engine.state, WRITE),
                missing=_not_found(kind, entity_id),
            )
            _check_if_match(if_match, current.version)
            engine.remove(kind.name, entity_id)

        await actor.run(delete)
        if kind.name == "address_book":
            await drop_contacts(request, actor.principal.tenant_id, entity_id)
        elif kind.name == "audio_resource":
            await drop_audio_content(request, actor.principal.tenant_id, entity_id)
        return Response(status_code=204)


for _kind in KINDS:
    _routes(_kind)
