"""Records above the tenants: partners (10 §2 row 1) and tenant records (row 2).

Partners are system-level (01 §2): only system administrators read or change
them. Exactly one partner is the default, which new tenants join; it cannot be
deleted and keeps the flag until another partner takes it. A partner that tenants
or partner administrators still refer to is not deleted either (409
`entity_in_use`, the referrers listed).

A tenant record is the tenant as the system sees it: its name, partner, linked
directory and creation time. System administrators create tenants and move
them between partners; partner administrators read the records of their
partner's tenants, and a tenant admin (or a tenant-wide key with `config:read`)
reads its own. Anything else is answered as missing (404).

None of these routes acts inside a tenant, so a system principal needs no
`X-Switchboard-Tenant` here. Partners carry a version like configuration does
(`ETag`, `If-Match` answered 412 when stale).
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import Field

from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import READ, WRITE, RecordActor, require_records
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input, Page
from switchboard.api.tenancy import Tenancy, tenancy_of
from switchboard.domain.access import Capability, partner_record, tenant_record
from switchboard.store.repositories import (
    AlreadyExistsError,
    InUseError,
    Partner,
    PartnerRepository,
    ReferenceNotFoundError,
    Tenant,
    VersionConflictError,
)

router = APIRouter(prefix="/api/v1", responses=RESPONSES, route_class=JsonRoute)

NAME_MAX = 128


class PartnerIn(Input):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    #: The directory group whose members are the partner's administrators (01 §2).
    admin_group_id: str | None = Field(None, max_length=255)
    is_default: bool = False


class TenantIn(Input):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    #: None: the default partner.
    partner_id: str | None = Field(None, max_length=64)


class PartnerAssignment(Input):
    partner_id: str = Field(min_length=1, max_length=64)


def _name(value: str) -> str:
    """Text is trimmed; nothing left counts as missing (01 §1.3)."""
    name = value.strip()
    if not name:
        raise ApiProblem(
            422,
            "required",
            "The name must contain more than spaces.",
            errors=[{"code": "required", "path": "name", "message": "A name is required."}],
        )
    return name


def _partner_json(partner: Partner) -> dict[str, Any]:
    return {
        "id": partner.id,
        "name": partner.name,
        "admin_group_id": partner.admin_group_id,
        "is_default": partner.is_default,
        "version": partner.version,
        "created_at": partner.created_at.isoformat(),
    }


def _tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "partner_id": tenant.partner_id,
        "directory_tenant_id": tenant.directory_tenant_id,
        "created_at": tenant.created_at.isoformat(),
    }


def _etag(version: int) -> str:
    return f'"{version}"'


def _expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` names (None: any); one that names none matches none."""
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().strip('"')
    return int(text) if text.isdigit() else -1


def _stale(current: int) -> ApiProblem:
    return ApiProblem(
        412,
        "precondition_failed",
        f"The partner changed since you read it (now version {current}).",
    )


def _partner_missing(partner_id: str) -> ApiProblem:
    return ApiProblem(404, "partner_not_found", f"No partner with id '{partner_id}'.")


def _tenant_missing(tenant_id: str) -> ApiProblem:
    return ApiProblem(404, "tenant_not_found", f"No tenant with id '{tenant_id}'.")


def _name_taken(name: str) -> ApiProblem:
    return ApiProblem(
        409,
        "not_unique",
        f"A partner named '{name}' exists already.",
        errors=[{"code": "not_unique", "path": "name", "message": "Taken by another partner."}],
    )


def _unknown_partner(partner_id: str) -> ApiProblem:
    return ApiProblem(
        422,
        "unknown_reference",
        f"No partner with id '{partner_id}'.",
        errors=[{"code": "unknown_reference", "path": "partner_id", "message": "No such partner."}],
    )


def _page(items: list[dict[str, Any]], offset: int, limit: int) -> Page:
    following = offset + limit
    return Page(
        items=items[offset:following],
        total=len(items),
        offset=offset,
        limit=limit,
        next_offset=following if following < len(items) else None,
    )


# ---------------------------------------------------------------------- partners (row 1)


@router.get("/partners", response_model=Page, tags=["Partners"], name="list_partners")
async def list_partners(
    request: Request,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    actor: RecordActor = Depends(require_records(Capability.PARTNERS, READ)),
) -> Page:
    """Every partner, by name (system administrators)."""
    partners = await asyncio.to_thread(PartnerRepository(tenancy_of(request).db).list)
    shown = [_partner_json(p) for p in partners if actor.sees(partner_record(p.id))]
    return _page(shown, offset, limit)


@router.post("/partners", status_code=201, tags=["Partners"], name="create_partner")
async def create_partner(
    body: PartnerIn,
    request: Request,
    response: Response,
    actor: RecordActor = Depends(require_records(Capability.PARTNERS, WRITE)),
) -> dict[str, Any]:
    """A new partner; `is_default: true` makes it the default in place of the current one."""
    name = _name(body.name)
    repository = PartnerRepository(tenancy_of(request).db)
    try:
        partner = await asyncio.to_thread(
            repository.create, name, admin_group_id=body.admin_group_id, is_default=body.is_default
        )
    except AlreadyExistsError:
        raise _name_taken(name) from None
    response.headers["ETag"] = _etag(partner.version)
    response.headers["Location"] = f"/api/v1/partners/{partner.id}"
    return _partner_json(partner)


@router.get("/partners/{partner_id}", tags=["Partners"], name="get_partner")
async def get_partner(
    partner_id: str,
    request: Request,
    response: Response,
    actor: RecordActor = Depends(require_records(Capability.PARTNERS, READ)),
) -> dict[str, Any]:
    partner = await asyncio.to_thread(PartnerRepository(tenancy_of(request).db).get, partner_id)
    if partner is None:
        raise _partner_missing(partner_id)
    actor.allow(partner_record(partner.id), _partner_missing(partner_id))
    response.headers["ETag"] = _etag(partner.version)
    return _partner_json(partner)


@router.put("/partners/{partner_id}", tags=["Partners"], name="update_partner")
async def update_partner(
    partner_id: str,
    body: PartnerIn,
    request: Request,
    response: Response,
    if_match: str | None = Header(None),
    actor: RecordActor = Depends(require_records(Capability.PARTNERS, WRITE)),
) -> dict[str, Any]:
    """Replace the partner's fields. The default partner keeps `is_default` until another
    partner is made the default (422 `invalid_combination` otherwise)."""
    name = _name(body.name)
    actor.allow(partner_record(partner_id), _partner_missing(partner_id))
    repository = PartnerRepository(tenancy_of(request).db)
    try:
        partner = await asyncio.to_thread(
            repository.update,
            partner_id,
            name=name,
            admin_group_id=body.admin_group_id,
            is_default=body.is_default,
            expected_version=_expected_version(if_match),
        )
    except VersionConflictError as conflict:
        raise _stale(conflict.current) from None
    except AlreadyExistsError:
        raise _name_taken(name) from None
    except InUseError:
        raise ApiProblem(
            422,
            "invalid_combination",
            "Exactly one partner is the default: make another partner the default instead.",
            errors=[
                {
                    "code": "invalid_combination",
                    "path": "is_default",
                    "message": "The default partner stays the default until another takes over.",
                }
            ],
        ) from None
    if partner is None:
        raise _partner_missing(partner_id)
    response.headers["ETag"] = _etag(partner.version)
    return _partner_json(partner)


@router.delete("/partners/{partner_id}", status_code=204, tags=["Partners"], name="delete_partner")
async def delete_partner(
    partner_id: str,
    request: Request,
    if_match: str | None = Header(None),
    actor: RecordActor = Depends(require_records(Capability.PARTNERS, WRITE)),
) -> Response:
    """Delete a partner that is not the default and that nothing refers to."""
    actor.allow(partner_record(partner_id), _partner_missing(partner_id))
    repository = PartnerRepository(tenancy_of(request).db)
    try:
        deleted = await asyncio.to_thread(
            repository.delete, partner_id, expected_version=_expected_version(if_match)
        )
    except VersionConflictError as conflict:
        raise _stale(conflict.current) from None
    except InUseError as in_use:
        if not in_use.referrers:
            detail = "The default partner cannot be deleted; make another partner the default."
        else:
            detail = "Tenants or partner administrators still belong to this partner."
        raise ApiProblem(
            409,
            "entity_in_use",
            detail,
            errors=[
                {"code": "entity_in_use", "path": "", "message": f"Referred to by {referrer}."}
                for referrer in in_use.referrers or ("the system: it is the default partner",)
            ],
        ) from None
    if not deleted:
        raise _partner_missing(partner_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------- tenant records (row 2)


async def _visible_tenant(tenancy: Tenancy, actor: RecordActor, tenant_id: str) -> Tenant:
    """The tenant record, if it exists and the actor may see it; else 404 either way."""
    tenant = await asyncio.to_thread(tenancy.tenants.get, tenant_id)
    if tenant is None:
        raise _tenant_missing(tenant_id)
    actor.allow(tenant_record(tenant.id, tenant.partner_id), _tenant_missing(tenant_id))
    return tenant


@router.get("/tenants", response_model=Page, tags=["Tenants"], name="list_tenants")
async def list_tenants(
    request: Request,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    partner_id: str | None = Query(None, max_length=64),
    actor: RecordActor = Depends(require_records(Capability.TENANT_RECORD, READ)),
) -> Page:
    """The tenant records you may see, oldest first: all (system admins), your partner's
    (partner admins), your own (tenant admins)."""
    tenants = await asyncio.to_thread(tenancy_of(request).tenants.list, partner_id=partner_id)
    shown = [_tenant_json(t) for t in tenants if actor.sees(tenant_record(t.id, t.partner_id))]
    return _page(shown, offset, limit)


@router.get("/tenants/{tenant_id}", tags=["Tenants"], name="get_tenant_record")
async def get_tenant_record(
    tenant_id: str,
    request: Request,
    actor: RecordActor = Depends(require_records(Capability.TENANT_RECORD, READ)),
) -> dict[str, Any]:
    return _tenant_json(await _visible_tenant(tenancy_of(request), actor, tenant_id))


@router.post("/tenants", status_code=201, tags=["Tenants"], name="create_tenant")
async def create_tenant(
    body: TenantIn,
    request: Request,
    response: Response,
    actor: RecordActor = Depends(require_records(Capability.TENANT_RECORD, WRITE)),
) -> dict[str, Any]:
    """A new tenant (with its root OU), of `partner_id` or the default partner.

    It has no users yet: a system administrator selects it (`X-Switchboard-Tenant`)
    and creates its first administrator.
    """
    name = _name(body.name)
    tenancy = tenancy_of(request)
    if body.partner_id is not None:
        partner = await asyncio.to_thread(PartnerRepository(tenancy.db).get, body.partner_id)
        if partner is None:
            raise _unknown_partner(body.partner_id)
        actor.allow(tenant_record("", partner.id), _unknown_partner(body.partner_id))
    try:
        # On this event loop: the tenant's host starts here (a short, rare write).
        host = tenancy.create_tenant(name, partner_id=body.partner_id)
    except ReferenceNotFoundError:  # the partner went in the meantime
        raise _unknown_partner(str(body.partner_id)) from None
    record = await asyncio.to_thread(tenancy.tenants.get, host.tenant_id)
    assert record is not None
    response.headers["Location"] = f"/api/v1/tenants/{record.id}"
    return _tenant_json(record)


@router.put("/tenants/{tenant_id}/partner", tags=["Tenants"], name="assign_tenant_partner")
async def assign_tenant_partner(
    tenant_id: str,
    body: PartnerAssignment,
    request: Request,
    actor: RecordActor = Depends(require_records(Capability.TENANT_RECORD, WRITE)),
) -> dict[str, Any]:
    """Move the tenant to another partner: from now on that partner's administrators may
    select it, and the previous partner's may not."""
    tenancy = tenancy_of(request)
    current = await _visible_tenant(tenancy, actor, tenant_id)
    actor.allow(tenant_record(current.id, body.partner_id), _unknown_partner(body.partner_id))
    try:
        moved = await asyncio.to_thread(tenancy.tenants.set_partner, tenant_id, body.partner_id)
    except ReferenceNotFoundError:
        raise _unknown_partner(body.partner_id) from None
    if moved is None:
        raise _tenant_missing(tenant_id)
    return _tenant_json(moved)
