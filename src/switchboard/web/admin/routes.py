"""The admin screens of the configuration kinds: a list with search, a form to create one,
a form to edit one (docs/web.md, "Admin screens").

Pages read with the API's rights (`page(capability, READ)` and `Actor.allow`
inside `actor.run`); every change is a request to `/api/v1/<kind>` sent by
the page (admin.js), so the API's validation, scoping and ETags apply as they
are. A person who may read an entity but not change it gets the same form,
disabled, with the API's sentence saying why. System and partner admins use them
in the tenant they chose, and see users as the API shows them to them: `***` for
names, sign-in addresses and e-mail while the tenant does not let partners see its
people's identifiers (10 PV2; a form saved with `***` keeps the stored values).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from switchboard.api.masking import MASK
from switchboard.api.permissions import READ, WRITE, Actor, config_target
from switchboard.api.problems import ApiProblem
from switchboard.api.schemas import to_json
from switchboard.domain.access import Access, Capability
from switchboard.domain.enums import (
    AssignmentType,
    DistributionType,
    Match,
    MembershipRole,
    Modality,
    Priority,
    UserOrdering,
)
from switchboard.domain.roles import ROLE_LABEL, ROLE_SCOPE
from switchboard.engine.engine import Engine
from switchboard.store.repositories import AccountRepository
from switchboard.web.admin.calendar_view import calendar_now
from switchboard.web.admin.core import (
    AdminKind,
    Form,
    blank,
    body_of,
    entity_writable,
    enum_choices,
    may_read_others,
    may_write,
    names,
    options,
)
from switchboard.web.admin.kinds import ADMIN_KINDS, GROUPS
from switchboard.web.guard import NavEntry, page, register_nav, viewer
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


# ---------------------------------------------------------------------- the admin menu


def admin_menu(access: Access) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The admin menu: `[(group, [(key, label, href)])]`, only what the person may use."""
    groups: dict[str, list[tuple[str, str, str]]] = {g: [] for g in GROUPS}
    for kind in ADMIN_KINDS:
        if may_write(access, kind.capability) or may_read_others(access, kind.capability):
            groups[kind.group].append((kind.key, kind.plural, f"/admin/{kind.key}"))
    if may_write(access, Capability.API_KEYS):
        groups["Access"].append(("api-keys", "API keys", "/admin/api-keys"))
    return [(g, items) for g, items in groups.items() if items]


def administers(access: Access) -> bool:
    """Whether the person may change any configuration (then "Admin" is in the menu)."""
    return any(may_write(access, k.capability) for k in ADMIN_KINDS) or may_write(
        access, Capability.API_KEYS
    )


register_nav(
    NavEntry(
        "admin",
        "Admin",
        "/admin",
        lambda engine, access, request: administers(access),
        40,
        for_system=True,
    )
)


def frame(engine: Engine, actor: Actor, request: Request, active: str) -> dict[str, Any]:
    """`viewer` plus the admin menu, for every admin page."""
    context = viewer(engine, actor, request, active="admin")
    context["admin_menu"] = admin_menu(actor.access(engine))
    context["admin_active"] = active
    return context


# ---------------------------------------------------------------------- home


@router.get("/admin")
async def admin_home(
    request: Request,
    # Everybody reads their own user record: the page then shows only what the person's
    # roles let them administer, and refuses those with none.
    actor: Actor = Depends(page(Capability.USERS, READ, system=True)),
) -> Response:
    def read(engine: Engine) -> dict[str, Any]:
        context = frame(engine, actor, request, active="")
        if not context["admin_menu"]:
            raise ApiProblem(
                403,
                "missing_permission",
                "You have no administrative role: ask a tenant admin if you need one.",
            )
        return context

    context = await actor.run(read)
    cards = []
    by_key = {k.key: k for k in ADMIN_KINDS}
    for group, items in context["admin_menu"]:
        cards.append(
            (
                group,
                [
                    (
                        label,
                        href,
                        by_key[key].description
                        if key in by_key
                        else "Keys for programs that use the API, with their scopes.",
                    )
                    for key, label, href in items
                ],
            )
        )
    return render(request, "admin/home.html", {"viewer": context, "cards": cards})


# ---------------------------------------------------------------------- per kind


def _matches(row: dict[str, Any], needle: str) -> bool:
    for key in ("name", "display_name", "upn", "short_code", "id", "email"):
        value = row.get(key)
        if isinstance(value, str) and needle in value.casefold():
            return True
    return False


def _label(row: dict[str, Any]) -> str:
    label = str(row.get("name") or row.get("display_name") or row.get("id"))
    # A hidden name (10 PV2) with the id beside it, which is not hidden: rows stay apart.
    return f"{MASK} ({row.get('id')})" if label == MASK else label


def _as_json(actor: Actor, engine: Engine, kind: AdminKind, entity: Any) -> dict[str, Any]:
    """An entity as the API answers it to this person: a user's identifiers `***` for a
    system or partner admin while the tenant hides them (10 PV2)."""
    data = to_json(kind.api, entity)
    return actor.masking(engine).user_json(data) if kind.name == "user" else data


def _missing(kind: AdminKind, entity_id: str) -> ApiProblem:
    return ApiProblem(404, f"{kind.name}_not_found", f"No {kind.singular} with id '{entity_id}'.")


def _choices() -> dict[str, Any]:
    """Enumerations the specific forms offer."""
    return {
        "assignment_types": enum_choices(
            [a.value for a in AssignmentType],
            {
                "teams_based": "Team based (a directory group)",
                "skill_based": "Skill based (a distribution policy)",
                "none": "No agents (a menu, an IVR)",
            },
        ),
        "modalities": enum_choices(
            [m.value for m in Modality], {"audio": "Calls", "external_task": "External tasks"}
        ),
        "distribution_types": enum_choices(
            [d.value for d in DistributionType],
            {
                "broadcast": "Broadcast: all at once",
                "direct": "Direct: one at a time",
                "direct_conference": "Direct, by conference",
                "pickup": "Pick-up: agents choose",
            },
        ),
        "priorities": [(str(p.value), p.name.capitalize()) for p in Priority],
        "orderings": enum_choices(
            [o.value for o in UserOrdering],
            {
                "longest_idle": "Longest idle first",
                "round_robin": "Round robin",
                "most_skilled": "Most skilled first",
                "random": "Random",
            },
        ),
        "membership_roles": enum_choices(
            [r.value for r in MembershipRole], {"owner_limited": "Owner (limited)"}
        ),
        "matches": [(Match.ALL.value, "all requirements"), (Match.ANY.value, "any requirement")],
        "workflow_slots": [
            ("audio_inbound", "Incoming calls"),
            ("chat_inbound", "Chats"),
            ("email_inbound", "E-mails"),
            ("external_task_inbound", "External tasks"),
            ("audio_outbound", "Outgoing calls (with workflow)"),
        ],
    }


def _roles(access: Access, engine: Engine) -> dict[str, Any]:
    """Roles the person may grant (10 R2), and the scopes a role can be granted on."""
    state = engine.state
    roles = [
        (r.value, ROLE_LABEL[r].capitalize(), ROLE_SCOPE[r].value)
        for r in ROLE_SCOPE
        if access.may_grant(r)
    ]
    all_roles = [(r.value, ROLE_LABEL[r].capitalize(), ROLE_SCOPE[r].value) for r in ROLE_SCOPE]
    return {
        "grantable_roles": roles,
        "all_roles": all_roles,
        "role_scopes": {
            "services": sorted(
                ((s.id, s.name) for s in state.services.values()), key=lambda p: p[1].casefold()
            ),
        },
    }


def _install(kind: AdminKind) -> None:
    base = f"/admin/{kind.key}"

    @router.get(base, name=f"admin_list_{kind.name}")
    async def list_page(
        request: Request,
        q: str = Query("", max_length=128),
        offset: int = Query(0, ge=0),
        actor: Actor = Depends(page(kind.capability, READ, system=True)),
    ) -> Response:
        def read(engine: Engine) -> dict[str, Any]:
            state = engine.state
            # Masked before the search, so that a hidden name cannot be found by typing it.
            rows = [
                _as_json(actor, engine, kind, e)
                for e in state.table(kind.name).values()
                if actor.sees(engine, config_target(kind.name, e, state, READ))
            ]
            needle = q.strip().casefold()
            if needle:
                rows = [r for r in rows if _matches(r, needle)]
            rows.sort(key=lambda r: (_label(r).casefold(), str(r.get("id"))))
            shown = names(state)
            access = actor.access(engine)
            return {
                "viewer": frame(engine, actor, request, active=kind.key),
                "total": len(rows),
                "rows": [
                    {
                        "id": r["id"],
                        "label": _label(r),
                        "cells": [c.show(r, shown) for c in kind.columns[1:]],
                    }
                    for r in rows[offset : offset + PAGE_SIZE]
                ],
                "may_create": may_write(access, kind.lifecycle),
                "names_hidden": kind.name == "user" and actor.masking(engine).users,
            }

        context = await actor.run(read)
        context.update(
            kind=kind,
            q=q,
            offset=offset,
            page_size=PAGE_SIZE,
            flags=[c.style == "flag" for c in kind.columns[1:]],
        )
        return render(request, "admin/list.html", context)

    if kind.name == "workflow":
        return  # the workflow editor has pages of its own (`workflows`)

    @router.get(base + "/new", name=f"admin_new_{kind.name}")
    async def new_page(
        request: Request, actor: Actor = Depends(page(kind.lifecycle, WRITE, system=True))
    ) -> Response:
        def read(engine: Engine) -> dict[str, Any]:
            access = actor.access(engine)
            data = blank(kind)
            found = options(engine, access, kind, kind.needs)
            if kind.ou_field in data and data[kind.ou_field] not in dict(found.get("ous", [])):
                first = found.get("ous") or [("", "")]
                data[kind.ou_field] = first[0][0]
            return {
                "viewer": frame(engine, actor, request, active=kind.key),
                "opts": found,
                "data": data,
                **(_roles(access, engine) if kind.name == "user" else {}),
            }

        context = await actor.run(read)
        return _form(request, kind, context, entity_id=None, etag=None, writable=True, why="")

    @router.get(base + "/{entity_id}", name=f"admin_edit_{kind.name}")
    async def edit_page(
        entity_id: str,
        request: Request,
        actor: Actor = Depends(page(kind.capability, READ, system=True)),
    ) -> Response:
        def read(engine: Engine) -> tuple[dict[str, Any], Any]:
            state = engine.state
            entity = state.table(kind.name).get(entity_id)
            missing = _missing(kind, entity_id)
            if entity is None:
                raise missing
            actor.allow(engine, config_target(kind.name, entity, state, READ), missing=missing)
            access = actor.access(engine)
            writable, why = entity_writable(access, kind, entity, state)
            if kind.name == "profile" and entity.kind.value != "custom":
                writable, why = False, "Built-in duty profiles cannot be changed."
            data = _as_json(actor, engine, kind, entity)
            context = {
                "viewer": frame(engine, actor, request, active=kind.key),
                "opts": options(
                    engine, access, kind, kind.needs, getattr(entity, kind.ou_field, None)
                ),
                "data": data,
                "writable": writable,
                "why": why,
                "may_delete": writable and may_write(access, kind.lifecycle),
                **(_roles(access, engine) if kind.name == "user" else {}),
            }
            if kind.name == "calendar":
                context["calendar_hours"] = (entity, state.tenant.time_zone, engine.clock.now())
            context["account_hidden"] = actor.masking(engine).users
            return context, entity

        context, entity = await actor.run(read)
        if kind.name == "user":
            account = await _account(request, actor, entity_id)
            # The sign-in name is a user identifier too (10 PV2).
            context["account"] = MASK if account and context["account_hidden"] else account
        if kind.name == "calendar":
            calendar, zone, now = context.pop("calendar_hours")
            context["now"] = await asyncio.to_thread(calendar_now, calendar, zone, now)
        return _form(
            request,
            kind,
            context,
            entity_id=entity_id,
            etag=f'"{entity.version}"',
            writable=context.pop("writable"),
            why=context.pop("why"),
        )


async def _account(request: Request, actor: Actor, user_id: str) -> str | None:
    """The user's local sign-in name, if they have an account."""
    tenancy = request.app.state.tenancy

    def find() -> str | None:
        account = AccountRepository(tenancy.db, actor.principal.tenant_id).by_user(user_id)
        return account.username if account is not None else None

    return await asyncio.to_thread(find)


def _title(kind: AdminKind, data: dict[str, Any], entity_id: str | None) -> str:
    """The form's heading: the entity's name, or what it is and its id when the name is
    hidden from the viewer (10 PV2)."""
    if entity_id is None:
        return f"New {kind.singular}"
    name = str(data.get("name") or data.get("display_name") or entity_id)
    return f"{kind.singular.capitalize()} {entity_id}" if name == MASK else name


def _form(
    request: Request,
    kind: AdminKind,
    context: dict[str, Any],
    *,
    entity_id: str | None,
    etag: str | None,
    writable: bool,
    why: str,
) -> Response:
    data = context["data"]
    context.update(
        kind=kind,
        entity_id=entity_id,
        is_new=entity_id is None,
        etag=etag,
        base=body_of(kind, data),
        f=Form(data, readonly=not writable, keyed_rows=kind.keyed_rows),
        writable=writable,
        why=why,
        choices=_choices(),
        title=_title(kind, data, entity_id),
        api_path=f"/api/v1/{kind.api.path}",
        server_owned=" ".join(("version", *kind.api.server_owned))
        + ("" if kind.api.client_chooses_id else " id"),
    )
    context.setdefault("may_delete", False)
    context.setdefault("account_hidden", False)
    return render(request, kind.template, context)


for _kind in ADMIN_KINDS:
    _install(_kind)
