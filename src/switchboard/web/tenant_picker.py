"""The tenant picker (10 R3): where a system or partner admin chooses the tenant to work in.

After signing in at `/sign-in?as=system`, and whenever a page finds no tenant chosen
(or one out of their reach now), a system or partner admin comes here. The list is
the tenant records they may read, exactly as `GET /api/v1/tenants` answers them: every
tenant for a system admin, their partner's for a partner admin. Choosing one is the
API's `PUT /api/v1/auth/system/tenant`, which checks it against their reach, audits it,
and keeps it in a cookie beside the session; from then on every page and every request
of the UI acts in that tenant (the API checks the choice again each time), until they
switch from the top bar or sign out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from switchboard.api.permissions import READ, RecordActor
from switchboard.api.sessions import chosen_tenant
from switchboard.domain.access import Capability, tenant_record
from switchboard.domain.roles import Role
from switchboard.store.repositories import PartnerRepository, Tenant
from switchboard.web.guard import account_frame, system_page
from switchboard.web.pages import safe_next
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
#: The picker's guard: a system or partner admin, before any tenant is chosen.
SYSTEM_ADMIN = system_page()


def _matches(tenant: Tenant, needle: str) -> bool:
    return needle in tenant.name.casefold() or needle in tenant.id.casefold()


@router.get("/choose-tenant")
async def tenant_picker(
    request: Request,
    next: str | None = Query(None),
    q: str = Query("", max_length=128),
    offset: int = Query(0, ge=0),
    again: bool = Query(False),
    actor: RecordActor = Depends(SYSTEM_ADMIN),
) -> Response:
    """The tenants the person may work in, by name; each one a button that chooses it."""
    tenancy = request.app.state.tenancy
    reads_partners = actor.access.may_at_all(Capability.PARTNERS, READ).allowed

    def read() -> tuple[list[Tenant], dict[str, str]]:
        tenants = list(tenancy.tenants.list())
        partners = (
            {p.id: p.name for p in PartnerRepository(tenancy.db).list()} if reads_partners else {}
        )
        return tenants, partners

    tenants, partners = await asyncio.to_thread(read)
    reachable = [t for t in tenants if actor.sees(tenant_record(t.id, t.partner_id))]
    needle = q.strip().casefold()
    shown = [t for t in reachable if _matches(t, needle)] if needle else reachable
    shown.sort(key=lambda t: (t.name.casefold(), t.id))
    current = chosen_tenant(request)
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "name": t.name,
            "partner": partners.get(t.partner_id, ""),
            "current": t.id == current,
        }
        for t in shown[offset : offset + PAGE_SIZE]
    ]
    return render(
        request,
        "tenant_picker.html",
        {
            "viewer": account_frame(actor.principal, request),
            "rows": rows,
            "total": len(shown),
            "reachable": len(reachable),
            "q": q,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "next": safe_next(next),
            "again": again,
            "partner_admin": actor.principal.role == Role.PARTNER_ADMIN.value,
        },
    )
