"""My sessions: the agent's workspace (issue 5 §2).

Presence and not-available reason, the services with their active toggles and
the duty profile, RONA with its reset, incoming offers with a ring countdown,
the sessions in hand with hold/resume/park/unpark/hang-up, their details, ACW
with its countdown, early end and extension, codes and tags, and today's
sessions. Every region is a fragment that refreshes itself when the event
stream names the person or one of their tasks. Every button posts to the REST
API; a button the engine would refuse is disabled with the engine's sentence
(`Engine.refusal`).

Reads are the API's: the person reads their own live state (`LIVE_VIEW`,
`Actor.allow_user`, as `GET /users/{id}/availability`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import and_, select

from switchboard.api.permissions import READ, Actor
from switchboard.domain import config as cfg
from switchboard.domain.access import Access, Capability
from switchboard.domain.enums import Presence, ProfileKind, SessionState
from switchboard.domain.live import UserSession
from switchboard.engine.engine import Engine
from switchboard.reporting.kpis import Period
from switchboard.reporting.outcomes import UserOutcome
from switchboard.store.database import transaction
from switchboard.store.schema import report_user_sessions
from switchboard.web.board import (
    PRESENCE_LABELS,
    SESSION_LABELS,
    agent_state,
    service_name,
    task_facts,
)
from switchboard.web.guard import NavEntry, page, register_nav, viewer
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)

#: Presence values a person picks by hand (the others come from a directory or a call).
CHOOSABLE_PRESENCE = (
    Presence.AVAILABLE,
    Presence.BUSY,
    Presence.DO_NOT_DISTURB,
    Presence.BE_RIGHT_BACK,
    Presence.AWAY,
    Presence.OFFLINE,
)
#: How many of today's sessions the list shows (newest first).
TODAY_SHOWN = 50


def _has_services(engine: Engine, access: Access, request: Request) -> bool:
    user = engine.state.users.get(access.user_id or "")
    return user is not None and bool(user.memberships)


register_nav(NavEntry("my", "My sessions", "/my", _has_services, order=10))


def _me(actor: Actor, engine: Engine) -> str:
    user_id = actor.user_id
    assert user_id is not None  # `page` admits people only
    actor.allow_user(engine, user_id)
    return user_id


def _action(
    engine: Engine, action: str, user_id: str, task_id: str | None = None
) -> dict[str, Any]:
    """A button's state: usable, or disabled with the engine's reason."""
    refused = engine.refusal(action, user_id, task_id)
    return {
        "ok": refused is None,
        "code": refused.code if refused is not None else "",
        "reason": refused.message if refused is not None else "",
    }


# ---------------------------------------------------------------------- regions


def status_view(engine: Engine, user_id: str) -> dict[str, Any]:
    st = engine.state
    user = st.users[user_id]
    live = st.user_live(user_id)
    reasons = [
        {"id": rid, "name": st.not_available_reasons[rid].name}
        for rid in user.not_available_reason_ids
        if rid in st.not_available_reasons and st.not_available_reasons[rid].enabled
    ]
    acw = None
    if live.acw is not None:
        acw = {
            "task_id": live.acw.task_id,
            "service": service_name(engine, live.acw.service_id),
            "started_at": live.acw.started_at,
            "ends_at": live.acw.ends_at,
            "extended": live.acw.extended,
            "end": _action(engine, "acw_end", user_id),
            "extend": _action(engine, "acw_extend", user_id),
        }
    rona = None
    if live.rona is not None:
        rona = {
            "service": service_name(engine, live.rona.service_id),
            "set_at": live.rona.set_at,
            "clears_at": live.rona.clears_at,
            "reset": _action(engine, "rona_reset", user_id),
        }
    return {
        "user_id": user_id,
        "state": agent_state(engine, user_id),
        "presence": live.presence.value,
        "presence_label": PRESENCE_LABELS[live.presence],
        "presence_options": [
            {"value": p.value, "label": PRESENCE_LABELS[p]} for p in CHOOSABLE_PRESENCE
        ],
        "not_available_reason_id": live.not_available_reason_id,
        "reasons": reasons,
        "acw": acw,
        "rona": rona,
    }


def services_view(engine: Engine, user_id: str) -> dict[str, Any]:
    st = engine.state
    user = st.users[user_id]
    rows = []
    skill_based = False
    for service_id, membership in sorted(
        user.memberships.items(), key=lambda item: service_name(engine, item[0]).casefold()
    ):
        service = st.services.get(service_id)
        if service is None:
            continue
        teams = service.user_assignment_type.value == "teams_based"
        skill_based = skill_based or service.user_assignment_type.value == "skill_based"
        verdict = engine.availability(user_id, service_id)
        rows.append(
            {
                "id": service_id,
                "name": service.name,
                "role": membership.role.value,
                "teams_based": teams,
                "active": membership.active,
                "selectable": verdict.selectable,
                "message": verdict.message_to_self,
            }
        )
    profiles = [cfg.BUILTIN_PROFILES[0], cfg.BUILTIN_PROFILES[1]] + [
        st.profiles[pid]
        for pid in user.responsibility_profile_ids
        if pid in st.profiles and st.profiles[pid].kind is ProfileKind.CUSTOM
    ]
    return {
        "user_id": user_id,
        "services": rows,
        "duty": skill_based,
        "profile_id": user.active_profile_id,
        "profiles": [{"id": p.id, "name": p.name} for p in profiles],
    }


def _codes_of(engine: Engine, session: UserSession) -> dict[str, Any] | None:
    st = engine.state
    service = st.services.get(session.service_id)
    if service is None:
        return None
    codes = [
        {"id": cid, "name": st.codes[cid].name, "short": st.codes[cid].short_code}
        for cid in service.codes
        if cid in st.codes and st.codes[cid].enabled
    ]
    tags = [
        {"id": tid, "name": st.tags[tid].name}
        for tid in service.tags
        if tid in st.tags and st.tags[tid].enabled
    ]
    if not codes and not tags:
        return None
    return {
        "codes": codes,
        "tags": tags,
        "primary": session.primary_code_id,
        "secondary": list(session.secondary_code_ids),
        "chosen_tags": list(session.tag_ids),
    }


def work_view(engine: Engine, user_id: str) -> dict[str, Any]:
    """The offers ringing for the person, and the sessions they hold."""
    st = engine.state
    live = st.user_live(user_id)
    offers = []
    sessions = []
    for session in sorted(live.sessions.values(), key=lambda s: (s.started_at, s.id)):
        task = st.task(session.task_id)
        if task is None:
            continue
        facts = task_facts(engine, task, session)
        if session.state is SessionState.INCOMING:
            offer = task.offers.get(session.offer_id or "")
            offers.append(
                {
                    "task_id": task.id,
                    "facts": facts,
                    "since": session.started_at,
                    "expires_at": offer.expires_at if offer is not None else None,
                    "accept": _action(engine, "accept", user_id, task.id),
                    "decline": _action(engine, "decline", user_id, task.id),
                }
            )
            continue
        acw = live.acw if live.acw is not None and live.acw.task_id == task.id else None
        held = session.state is SessionState.ON_HOLD
        parked = session.state is SessionState.PARKED
        sessions.append(
            {
                "task_id": task.id,
                "facts": facts,
                "state": session.state.value,
                "state_label": SESSION_LABELS[session.state],
                "since": session.in_state_since,
                "in_acw": session.state is SessionState.IN_ACW,
                "acw": None
                if acw is None
                else {
                    "ends_at": acw.ends_at,
                    "started_at": acw.started_at,
                    "extended": acw.extended,
                    "end": _action(engine, "acw_end", user_id),
                    "extend": _action(engine, "acw_extend", user_id),
                },
                "hold": None if held else _action(engine, "hold", user_id, task.id),
                "resume": _action(engine, "resume", user_id, task.id) if held else None,
                "park": None if parked else _action(engine, "park", user_id, task.id),
                "unpark": _action(engine, "unpark", user_id, task.id) if parked else None,
                "hangup": _action(engine, "hangup", user_id, task.id),
                "codes": _codes_of(engine, session),
            }
        )
    task_ids = [o["task_id"] for o in offers] + [s["task_id"] for s in sessions]
    return {"user_id": user_id, "offers": offers, "sessions": sessions, "task_ids": task_ids}


def _today(
    tenancy: Any, tenant_id: str, user_id: str, zone: str, names: dict[str, str]
) -> list[dict[str, Any]]:
    """The person's concluded sessions of today (tenant time zone), newest first, from
    the reporting tables (08 RP2: reporting holds concluded sessions)."""
    period = Period.today(datetime.now(UTC), zone)
    c = report_user_sessions.c
    query = (
        select(
            c.task_id,
            c.service_id,
            c.offered_at,
            c.answered_at,
            c.ended_at,
            c.connected_ms,
            c.acw_ms,
            c.outcome_id,
            c.primary_code,
        )
        .where(
            and_(
                c.tenant_id == tenant_id,
                c.user_id == user_id,
                c.offered_at >= period.start,
                c.offered_at < period.end,
            )
        )
        .order_by(c.offered_at.desc())
        .limit(TODAY_SHOWN)
    )
    with transaction(tenancy.db, tenant_id) as connection:
        rows = connection.execute(query).mappings().all()
    found = []
    for row in rows:
        outcome = UserOutcome(row["outcome_id"])
        offered = row["offered_at"]
        found.append(
            {
                "task_id": row["task_id"],
                "service": names.get(row["service_id"], row["service_id"]),
                "offered_at": _epoch(offered),
                "answered": row["answered_at"] is not None,
                "talk_s": row["connected_ms"] / 1000,
                "acw_s": row["acw_ms"] / 1000,
                "outcome": outcome.code,
                "code": names.get(row["primary_code"] or "", row["primary_code"] or ""),
            }
        )
    return found


def _epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


# ---------------------------------------------------------------------- routes


async def _render_region(
    request: Request, actor: Actor, template: str, build: Any, **extra: Any
) -> Response:
    def read(engine: Engine) -> dict[str, Any]:
        user_id = _me(actor, engine)
        return {
            "region": build(engine, user_id),
            "time_zone": engine.state.tenant.time_zone,
            "now": engine.clock.now(),
        }

    context = await actor.run(read)
    return render(request, template, {**context, **extra})


@router.get("/my")
async def my_sessions(
    request: Request, actor: Actor = Depends(page(Capability.LIVE_VIEW, READ))
) -> Response:
    """The workspace page: every region rendered once, then kept live by the event stream."""

    def read(engine: Engine) -> dict[str, Any]:
        user_id = _me(actor, engine)
        return {
            "viewer": viewer(engine, actor, request, active="my"),
            "status": status_view(engine, user_id),
            "services": services_view(engine, user_id),
            "work": work_view(engine, user_id),
            "names": _names(engine),
        }

    context = await actor.run(read)
    frame = context["viewer"]
    context["today"] = await asyncio.to_thread(
        _today,
        request.app.state.tenancy,
        actor.principal.tenant_id,
        frame["user_id"],
        frame["time_zone"],
        context.pop("names"),
    )
    return render(request, "agent/page.html", context)


def _names(engine: Engine) -> dict[str, str]:
    """Names of services and codes, for the list of today's sessions."""
    st = engine.state
    return {sid: s.name for sid, s in st.services.items()} | {
        cid: f"{c.name} ({c.short_code})" for cid, c in st.codes.items()
    }


@router.get("/ui/my/status")
async def my_status(
    request: Request, actor: Actor = Depends(page(Capability.LIVE_VIEW, READ))
) -> Response:
    return await _render_region(request, actor, "agent/_status.html", status_view)


@router.get("/ui/my/services")
async def my_services(
    request: Request, actor: Actor = Depends(page(Capability.LIVE_VIEW, READ))
) -> Response:
    return await _render_region(request, actor, "agent/_services.html", services_view)


@router.get("/ui/my/work")
async def my_work(
    request: Request, actor: Actor = Depends(page(Capability.LIVE_VIEW, READ))
) -> Response:
    return await _render_region(request, actor, "agent/_work.html", work_view)


@router.get("/ui/my/today")
async def my_today(
    request: Request, actor: Actor = Depends(page(Capability.LIVE_VIEW, READ))
) -> Response:
    def read(engine: Engine) -> dict[str, Any]:
        user_id = _me(actor, engine)
        return {
            "user_id": user_id,
            "time_zone": engine.state.tenant.time_zone,
            "names": _names(engine),
        }

    found = await actor.run(read)
    rows = await asyncio.to_thread(
        _today,
        request.app.state.tenancy,
        actor.principal.tenant_id,
        found["user_id"],
        found["time_zone"],
        found["names"],
    )
    return render(
        request,
        "agent/_today.html",
        {"today": rows, "time_zone": found["time_zone"], "user_id": found["user_id"]},
    )
