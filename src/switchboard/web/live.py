"""The supervisor's live view (issue 5 §3): per service, its queue, its agents and today's KPIs.

For every service the person may watch (row 18 of 10 §2: supervisors, owners,
admins; agents their own services): the waiting tasks with their wait, priority
and distribution level, and "why is this task waiting" from `explain`; the
agents with their state (08 §2.1), its reason, the time in it and their current
task; and the KPIs: waiting now and the longest wait from the engine, service
level and ASA of today from the reporting tables (08 §5, concluded sessions).
Each service's panel refreshes itself when the event stream names the service,
one of its tasks or one of its agents. System and partner admins see it too, in the
tenant they chose, with `***` for the names and callers PV2 hides from them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from switchboard.api.masking import NOTHING, Masking
from switchboard.api.permissions import READ, Actor, service_target, task_target
from switchboard.api.problems import ApiProblem
from switchboard.domain.access import Access, Capability
from switchboard.domain.enums import TaskState
from switchboard.domain.task import Task
from switchboard.engine.engine import Engine
from switchboard.engine.explain import explain
from switchboard.reporting.kpis import Period, service_kpis
from switchboard.web.board import (
    STATE_LABELS,
    agent_state,
    caller_of,
    service_name,
    task_facts,
    user_name,
)
from switchboard.web.guard import NavEntry, page, register_nav, sees_any_service, viewer
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)

#: The order agents are listed in: who needs attention first.
STATE_ORDER = (
    "ringing",
    "in_task",
    "in_acw",
    "rona",
    "available",
    "not_available",
    "presence_unavailable",
    "off_duty",
    "offline",
)


def _watches_services(engine: Engine, access: Access, request: Request) -> bool:
    return sees_any_service(engine, access, Capability.LIVE_VIEW)


register_nav(NavEntry("live", "Live view", "/live", _watches_services, order=20, for_system=True))


def _services_seen(actor: Actor, engine: Engine) -> list[str]:
    st = engine.state
    seen = [
        sid
        for sid, service in st.services.items()
        if actor.sees(engine, service_target(sid, service))
    ]
    return sorted(seen, key=lambda sid: st.services[sid].name.casefold())


def _check_service(actor: Actor, engine: Engine, service_id: str) -> None:
    """404 unless the service exists and the actor may see it (the same answer either way)."""
    service = engine.state.services.get(service_id)
    if service is None:
        raise _missing_service(service_id)
    actor.allow(engine, service_target(service_id, service), missing=_missing_service(service_id))


def _missing_service(service_id: str) -> ApiProblem:
    return ApiProblem(404, "service_not_found", f"No service with id '{service_id}'.")


def waiting_tasks(
    engine: Engine, service_id: str, masking: Masking = NOTHING
) -> list[dict[str, Any]]:
    """The service's waiting tasks in queue order (priority, then time)."""
    st = engine.state
    service = st.services[service_id]
    policy = st.policy_of(service)
    levels = len(policy.levels) if policy is not None else 1
    now = engine.clock.now()
    tasks = sorted(
        (t for t in st.tasks.values() if t.service_id == service_id and t.is_waiting),
        key=Task.queue_key,
    )
    rows = []
    for task in tasks:
        since = task.enqueued_at or task.first_enqueued_at or task.created_at
        rows.append(
            {
                "task_id": task.id,
                "caller": caller_of(task, masking),
                "kind": task.kind.value,
                "since": since,
                "wait_s": now - since,
                "priority": task.priority.label,
                "level": task.policy_level,
                "levels": levels,
                "offered_to": [user_name(engine, o.user_id, masking) for o in task.offers.values()],
                "state": task.state.value,
            }
        )
    return rows


def agents_of(engine: Engine, service_id: str, masking: Masking = NOTHING) -> list[dict[str, Any]]:
    st = engine.state
    rows: list[dict[str, Any]] = []
    for user_id in st.members.get(service_id, set()):
        user = st.users.get(user_id)
        if user is None:
            continue
        state = agent_state(engine, user_id)
        verdict = engine.availability(user_id, service_id)
        current = None
        if state.task_id is not None:
            task = st.task(state.task_id)
            if task is not None:
                current = {
                    "task_id": task.id,
                    "caller": caller_of(task, masking),
                    "service": service_name(engine, task.service_id),
                    "state": task.state.value,
                }
        rows.append(
            {
                "user_id": user_id,
                "name": user_name(engine, user_id, masking),
                "state": state,
                "here": verdict.selectable,
                "why_not_here": None if verdict.selectable else verdict.message,
                "current": current,
            }
        )
    rows.sort(key=lambda r: (STATE_ORDER.index(r["state"].state), str(r["name"]).casefold()))
    return rows


def panel(engine: Engine, service_id: str, masking: Masking = NOTHING) -> dict[str, Any]:
    """Everything the live view shows of one service, from the engine's live state."""
    service = engine.state.services[service_id]
    waiting = waiting_tasks(engine, service_id, masking)
    agents = agents_of(engine, service_id, masking)
    counts = {state: 0 for state in STATE_ORDER}
    for agent in agents:
        counts[agent["state"].state] += 1
    # Tasks still in the workflow (IVR): not waiting yet, but their queueing must refresh
    # the panel, so the panel listens for their events too.
    in_workflow = [
        t.id
        for t in engine.state.tasks.values()
        if t.service_id == service_id and t.state in (TaskState.CREATED, TaskState.IN_WORKFLOW)
    ]
    task_ids = (
        [w["task_id"] for w in waiting]
        + in_workflow
        + [a["current"]["task_id"] for a in agents if a["current"] is not None]
    )
    return {
        "service_id": service_id,
        "name": service.name,
        # Offline agents are named in one line, not a table row each: a wallboard shows
        # the people at work.
        "present": [a for a in agents if a["state"].state != "offline"],
        "offline": [a["name"] for a in agents if a["state"].state == "offline"],
        # A row of *** says nothing: the offline line then only counts them.
        "names_hidden": masking.users,
        "number": service.pstn_number,
        "waiting": waiting,
        "in_workflow": len(in_workflow),
        "longest_wait_s": max((w["wait_s"] for w in waiting), default=None),
        "agents": agents,
        "counts": [
            {"state": s, "label": STATE_LABELS[s], "count": counts[s]}
            for s in STATE_ORDER
            if counts[s]
        ],
        "task_ids": task_ids,
        "user_ids": [a["user_id"] for a in agents],
        "sla_s": service.reporting.sla_acceptance_s,
    }


def _kpis_today(tenancy: Any, tenant_id: str, service_id: str, zone: str) -> dict[str, Any]:
    """Today's service level and ASA of the service (08 §5, from concluded sessions)."""
    figures = service_kpis(
        tenancy.db,
        tenant_id,
        Period.today(datetime.now(UTC), zone),
        service_ids=[service_id],
        direction=None,
    )
    return {
        "service_level": figures.service_level,
        "asa_s": figures.asa_s,
        "handled": figures.handled_by_user,
        "queued": figures.queued,
        "abandoned": figures.queue_hangups,
    }


# ---------------------------------------------------------------------- routes


@router.get("/live")
async def live_view(
    request: Request, actor: Actor = Depends(page(Capability.LIVE_VIEW, READ, system=True))
) -> Response:
    def read(engine: Engine) -> dict[str, Any]:
        return {
            "viewer": viewer(engine, actor, request, active="live"),
            "panels": [
                panel(engine, sid, actor.masking(engine)) for sid in _services_seen(actor, engine)
            ],
            "now": engine.clock.now(),
        }

    context = await actor.run(read)
    tenancy = request.app.state.tenancy
    zone = context["viewer"]["time_zone"]
    for item in context["panels"]:
        item["kpis"] = await asyncio.to_thread(
            _kpis_today, tenancy, actor.principal.tenant_id, item["service_id"], zone
        )
    return render(request, "live/page.html", context)


@router.get("/ui/live/services/{service_id}")
async def live_panel(
    service_id: str,
    request: Request,
    actor: Actor = Depends(page(Capability.LIVE_VIEW, READ, system=True)),
) -> Response:
    """One service's panel (refreshed by the page when its events arrive)."""

    def read(engine: Engine) -> dict[str, Any]:
        _check_service(actor, engine, service_id)
        return {
            "panel": panel(engine, service_id, actor.masking(engine)),
            "now": engine.clock.now(),
            "time_zone": engine.state.tenant.time_zone,
        }

    context = await actor.run(read)
    context["panel"]["kpis"] = await asyncio.to_thread(
        _kpis_today,
        request.app.state.tenancy,
        actor.principal.tenant_id,
        service_id,
        context["time_zone"],
    )
    return render(request, "live/_panel.html", context)


@router.get("/ui/live/services/{service_id}/kpis")
async def live_kpis(
    service_id: str,
    request: Request,
    actor: Actor = Depends(page(Capability.LIVE_VIEW, READ, system=True)),
) -> Response:
    """Today's KPIs of one service (refreshed a moment after tasks end)."""

    def read(engine: Engine) -> str:
        _check_service(actor, engine, service_id)
        return engine.state.tenant.time_zone

    zone = await actor.run(read)
    kpis = await asyncio.to_thread(
        _kpis_today, request.app.state.tenancy, actor.principal.tenant_id, service_id, zone
    )
    return render(request, "live/_kpis.html", {"kpis": kpis, "service_id": service_id})


@router.get("/ui/live/tasks/{task_id}/why")
async def why_waiting(
    task_id: str,
    request: Request,
    actor: Actor = Depends(page(Capability.LIVE_VIEW, READ, system=True)),
) -> Response:
    """ "Why is this task waiting?": the diagnosis of 03 §10, as the API's `/diagnosis`."""

    def read(engine: Engine) -> dict[str, Any]:
        task = engine.state.task(task_id)
        missing = ApiProblem(404, "task_not_found", f"No task with id '{task_id}'.")
        if task is None:
            raise missing
        actor.allow(engine, task_target(task, engine.state), missing=missing)
        diagnosis = explain(engine, task_id).as_dict()
        masking = actor.masking(engine)
        for entry in diagnosis["users"]:
            entry["name"] = user_name(engine, entry["user_id"], masking)
        return {
            "diagnosis": diagnosis,
            "facts": task_facts(engine, task, masking=masking),
            "live": task.state is not TaskState.TERMINATED,
            "now": engine.clock.now(),
            "time_zone": engine.state.tenant.time_zone,
        }

    return render(request, "live/_why.html", await actor.run(read))
