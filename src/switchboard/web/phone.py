"""The simulator's phone (issue 5 §5): call a service as a customer, hear it, press keys.

Only where the voice simulator runs (development and test mode, 10 PE2). The
page is a client of the simulator's control API: placing a call, pressing
digits and hanging up are `POST /sim/api/calls…` with the session cookie, so
they need what that API needs (row 21, flow actions on the dialled service).
The calls shown are those of the services the person may watch, as
`GET /sim/api/calls` lists them, with their transcripts; several calls can run
at once. The list refreshes when the event stream reports something about one
of the calls' tasks (the workflow playing a prompt, an agent answering).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from switchboard.api.permissions import WRITE, Actor, service_target, world
from switchboard.api.routes.simulator import call_json
from switchboard.api.voice_channels import VoiceLine
from switchboard.domain.access import Access, Capability
from switchboard.engine.engine import Engine
from switchboard.web.guard import NavEntry, page, register_nav, viewer
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)

#: How many ended calls stay on the page below the live ones.
ENDED_SHOWN = 5


def _places_calls(engine: Engine, access: Access, request: Request) -> bool:
    if not request.app.state.tenancy.settings.simulator_enabled:
        return False
    here = world(engine.state)
    return any(
        access.decide(Capability.FLOW_ACTIONS, WRITE, service_target(sid, s), here).allowed
        for sid, s in engine.state.services.items()
        if s.pstn_number or s.upn
    )


register_nav(NavEntry("phone", "Phone", "/phone", _places_calls, order=30))


def _line(request: Request, actor: Actor) -> VoiceLine:
    line: VoiceLine = request.app.state.tenancy.voice.line(actor.host.tenant_id)
    return line


def _dialable(actor: Actor, engine: Engine) -> list[dict[str, str]]:
    """The services the person may call: their number (or UPN) and name."""
    here = world(engine.state)
    access = actor.access(engine)
    found = []
    for sid, service in engine.state.services.items():
        address = service.pstn_number or service.upn
        if not address:
            continue
        if access.decide(
            Capability.FLOW_ACTIONS, WRITE, service_target(sid, service), here
        ).allowed:
            found.append({"address": address, "name": service.name, "id": sid})
    return sorted(found, key=lambda s: s["name"].casefold())


def calls_view(actor: Actor, engine: Engine, line: VoiceLine) -> dict[str, Any]:
    """Live calls first (newest first), then the last few ended ones, as /sim/api/calls."""
    live: list[dict[str, Any]] = []
    ended: list[dict[str, Any]] = []
    for call in sorted(line.simulator.calls.values(), key=lambda c: -c.started_at):
        service = engine.dialled_service(call.to)
        if service is None or not actor.sees(engine, service_target(service.id, service)):
            continue
        shown = call_json(call, service.id)
        shown["service_name"] = service.name
        for entry in shown["transcript"]:  # people by name, not by id
            user = engine.state.users.get(entry.get("user_id") or "")
            if user is not None:
                entry["text"] = entry["text"].replace(user.id, user.display_name)
        task_id = engine.state.calls.get(call.call_id) or engine.state.ended_calls.get(call.call_id)
        shown["task_id"] = task_id
        shown["progress"] = _progress(engine, task_id, call.live)
        if call.live:
            live.append(shown)
        elif len(ended) < ENDED_SHOWN:
            ended.append(shown)
    return {
        "live": live,
        "ended": ended,
        "task_ids": [c["task_id"] for c in live if c["task_id"]],
    }


#: Where the caller is, as they would put it, by the state of the call's task.
_PROGRESS = {
    "created": "Calling…",
    "in_workflow": "In the menu",
    "queued": "Waiting in the queue",
    "offered": "Waiting (an agent's phone rings)",
    "on_hold": "On hold",
    "parked": "On hold (parked)",
    "unparking": "On hold (parked)",
    "transferring": "Being transferred",
}


def _progress(engine: Engine, task_id: str | None, live: bool) -> str:
    if not live:
        return "Ended"
    task = engine.state.task(task_id) if task_id is not None else None
    if task is None:
        return "Calling…"
    if task.state.value == "connected":
        user = engine.state.users.get(task.connected_user_id or "")
        return f"Talking to {user.display_name}" if user is not None else "Talking"
    return _PROGRESS.get(task.state.value, task.state.value.replace("_", " "))


def _suggested_caller() -> str:
    """A Swiss mobile number for the next call, different each time (several callers)."""
    return "+4179" + "".join(secrets.choice("0123456789") for _ in range(7))


@router.get("/phone")
async def phone_page(
    request: Request, actor: Actor = Depends(page(Capability.FLOW_ACTIONS, WRITE))
) -> Response:
    line = _line(request, actor)

    def read(engine: Engine) -> dict[str, Any]:
        return {
            "viewer": viewer(engine, actor, request, active="phone"),
            "services": _dialable(actor, engine),
            "calls": calls_view(actor, engine, line),
            "caller": _suggested_caller(),
        }

    return render(request, "phone/page.html", await actor.run(read))


@router.get("/ui/phone/calls")
async def phone_calls(
    request: Request, actor: Actor = Depends(page(Capability.FLOW_ACTIONS, WRITE))
) -> Response:
    line = _line(request, actor)
    calls = await actor.run(lambda engine: calls_view(actor, engine, line))
    return render(request, "phone/_calls.html", {"calls": calls})
