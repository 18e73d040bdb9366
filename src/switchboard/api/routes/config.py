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
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel

from switchboard.api.auth import Principal
from switchboard.api.permissions import CONFIG_READ, CONFIG_WRITE, require
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import INPUT_MODELS, KINDS, Kind, Page, to_entity, to_json
from switchboard.engine.engine import Engine
from switchboard.runtime.host import TenantHost

router = APIRouter(prefix="/api/v1", responses=RESPONSES)


def _host(request: Request, principal: Principal) -> TenantHost:
    host: TenantHost = request.app.state.tenancy.host_for(principal.tenant_id)
    return host


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


def _routes(kind: Kind) -> None:
    model: type[BaseModel] = INPUT_MODELS[kind.name]
    path = f"/{kind.path}"
    tags: list[str | Any] = [kind.tag]

    @router.get(path, response_model=Page, tags=tags, name=f"list_{kind.name}")
    async def list_entities(
        request: Request,
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=500),
        ou_id: str | None = Query(None, max_length=128),
        q: str | None = Query(None, max_length=128, description="name contains (any case)"),
        principal: Principal = Depends(require(CONFIG_READ)),
    ) -> Page:
        def query(engine: Engine) -> tuple[int, list[dict[str, Any]]]:
            rows = list(engine.state.table(kind.name).values())
            if ou_id is not None:
                rows = [r for r in rows if getattr(r, "ou_id", None) == ou_id]
            if q:
                needle = q.casefold()
                rows = [r for r in rows if needle in str(getattr(r, "name", "")).casefold()]
            rows.sort(key=lambda r: (str(getattr(r, "name", "")), r.id))
            return len(rows), [to_json(kind, r) for r in rows[offset : offset + limit]]

        total, items = await _host(request, principal).run(query)
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
        principal: Principal = Depends(require(CONFIG_READ)),
    ) -> dict[str, Any]:
        entity = await _host(request, principal).run(
            lambda e: e.state.table(kind.name).get(entity_id)
        )
        if entity is None:
            raise _not_found(kind, entity_id)
        response.headers["ETag"] = _etag(entity.version)
        return to_json(kind, entity)

    @router.post(path, status_code=201, tags=tags, name=f"create_{kind.name}")
    async def create_entity(
        body: model,  # type: ignore[valid-type]
        request: Request,
        response: Response,
        principal: Principal = Depends(require(CONFIG_WRITE)),
    ) -> dict[str, Any]:
        payload: BaseModel = body
        chosen: Any = payload.model_dump().get("id") if kind.client_chooses_id else None
        entity_id = str(chosen) if chosen is not None else str(uuid.uuid4())
        entity = to_entity(kind, body, entity_id)

        def create(engine: Engine) -> Any:
            if entity_id in engine.state.table(kind.name):
                raise ApiProblem(
                    409, "not_unique", f"A {kind.name} with id '{entity_id}' exists already."
                )
            engine.upsert(kind.name, entity)
            return engine.state.table(kind.name)[entity_id]

        stored = await _host(request, principal).run(create)
        response.headers["ETag"] = _etag(stored.version)
        response.headers["Location"] = f"/api/v1/{kind.path}/{entity_id}"
        return to_json(kind, stored)

    @router.put(path + "/{entity_id}", tags=tags, name=f"update_{kind.name}")
    async def update_entity(
        entity_id: str,
        body: model,  # type: ignore[valid-type]
        request: Request,
        response: Response,
        if_match: str | None = Header(None),
        principal: Principal = Depends(require(CONFIG_WRITE)),
    ) -> dict[str, Any]:
        if kind.client_chooses_id and getattr(body, "id", entity_id) != entity_id:
            raise ApiProblem(
                422,
                "immutable_field",
                "id cannot change; it must equal the id in the URL.",
                errors=[{"code": "immutable_field", "path": "id", "message": "id is fixed."}],
            )
        entity = to_entity(kind, body, entity_id)

        def update(engine: Engine) -> Any:
            current = engine.state.table(kind.name).get(entity_id)
            if current is None:
                raise _not_found(kind, entity_id)
            _check_if_match(if_match, current.version)
            engine.upsert(kind.name, entity)
            return engine.state.table(kind.name)[entity_id]

        stored = await _host(request, principal).run(update)
        response.headers["ETag"] = _etag(stored.version)
        return to_json(kind, stored)

    @router.delete(path + "/{entity_id}", status_code=204, tags=tags, name=f"delete_{kind.name}")
    async def delete_entity(
        entity_id: str,
        request: Request,
        if_match: str | None = Header(None),
        principal: Principal = Depends(require(CONFIG_WRITE)),
    ) -> Response:
        def delete(engine: Engine) -> None:
            current = engine.state.table(kind.name).get(entity_id)
            if current is None:
                raise _not_found(kind, entity_id)
            _check_if_match(if_match, current.version)
            engine.remove(kind.name, entity_id)

        await _host(request, principal).run(delete)
        return Response(status_code=204)


for _kind in KINDS:
    _routes(_kind)
