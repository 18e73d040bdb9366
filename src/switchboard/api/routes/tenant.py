"""The tenant's own record and settings (01 §2, §10): `GET /tenant`, `PUT /tenant/settings`.

Reading is row 3 of 10 §2 (tenant admins, and OU admins read-only); writing the
settings is row 3 too, and changing one of the privacy toggles (what a partner
may see of the tenant's people and customers) is row 4, tenant admins only.
The tenant is versioned like every configuration entity: `ETag` on reads,
`If-Match` honoured on writes (412 when stale). Validation reports every issue
at once, with paths relative to the settings (`rnl_disabled_numbers[1]`).
"""

# No `from __future__ import annotations`: FastAPI reads the body model from the
# endpoint's annotations at definition time.

import dataclasses
import typing
from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field, TypeAdapter, create_model

from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import READ, WRITE, Actor, require
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input
from switchboard.domain.access import Capability, Target
from switchboard.domain.config import Tenant, TenantSettings
from switchboard.engine.engine import Engine
from switchboard.engine.state import ROOT_OU_ID

router = APIRouter(prefix="/api/v1", responses=RESPONSES, route_class=JsonRoute, tags=["Tenant"])

#: The settings a partner's view of the tenant depends on (10 §6): row 4 guards them.
PRIVACY_TOGGLES = ("partner_may_see_user_identifiers", "partner_may_see_customer_identifiers")

#: The tenant lies above every OU: OU admins read it (row 3, R), nobody writes it by OU.
TENANT_TARGET = Target(ou_id=ROOT_OU_ID)

_TENANT = TypeAdapter(Tenant)
_SETTINGS = TypeAdapter(TenantSettings)


def _settings_model() -> type[BaseModel]:
    """The settings as a body: every field, each defaulting as the dataclass does."""
    hints = typing.get_type_hints(TenantSettings)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(TenantSettings):
        if f.default_factory is not dataclasses.MISSING:
            default: Any = Field(default_factory=f.default_factory)
        else:
            default = f.default
        fields[f.name] = (hints[f.name], default)
    model: type[BaseModel] = create_model("TenantSettingsInput", __base__=Input, **fields)
    return model


SettingsInput = _settings_model()


def _etag(tenant: Tenant) -> str:
    return f'"{tenant.version}"'


def _tenant_json(tenant: Tenant) -> dict[str, Any]:
    data: dict[str, Any] = _TENANT.dump_python(tenant, mode="json")
    # The partner is a system-level fact of the tenant record (row 2, GET /tenants/{id}),
    # kept in the store, not in the tenant's configuration.
    data.pop("partner_id", None)
    return data


@router.get("/tenant", name="get_tenant")
async def get_tenant(
    request: Request,
    response: Response,
    actor: Actor = Depends(require(Capability.TENANT_SETTINGS, READ)),
) -> dict[str, Any]:
    """The tenant's record and its settings (01 §10)."""

    def read(engine: Engine) -> Tenant:
        actor.allow(engine, TENANT_TARGET)
        return engine.state.tenant

    tenant = await actor.run(read)
    response.headers["ETag"] = _etag(tenant)
    return _tenant_json(tenant)


@router.put("/tenant/settings", name="update_tenant_settings")
async def update_tenant_settings(
    body: SettingsInput,  # type: ignore[valid-type]
    request: Request,
    response: Response,
    if_match: str | None = Header(None),
    actor: Actor = Depends(require(Capability.TENANT_SETTINGS, WRITE)),
) -> dict[str, Any]:
    """Replace the tenant settings; changing a privacy toggle needs row 4 (tenant admins)."""
    payload: BaseModel = body
    settings: TenantSettings = _SETTINGS.validate_python(payload.model_dump())

    def update(engine: Engine) -> Tenant:
        actor.allow(engine, TENANT_TARGET)
        current = engine.state.tenant
        if any(
            getattr(settings, name) != getattr(current.settings, name) for name in PRIVACY_TOGGLES
        ):
            decision = actor.access(engine).may_at_all(Capability.PRIVACY_TOGGLES, WRITE)
            if not decision.allowed:
                raise ApiProblem(
                    403,
                    decision.code,
                    "Only a tenant administrator (a person, not an API key) may change "
                    "what partners may see (partner_may_see_user_identifiers, "
                    "partner_may_see_customer_identifiers).",
                )
            actor.allow(engine, TENANT_TARGET, Capability.PRIVACY_TOGGLES)
        if if_match is not None and if_match.strip() not in ("*", _etag(current)):
            raise ApiProblem(
                412,
                "precondition_failed",
                f"The tenant changed since you read it (now version {current.version}).",
            )
        engine.upsert("tenant", dataclasses.replace(current, settings=settings))
        return engine.state.tenant

    tenant = await actor.run(update)
    response.headers["ETag"] = _etag(tenant)
    return _tenant_json(tenant)
