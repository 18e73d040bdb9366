"""The voice simulator's control API, `/sim/api` (11 SI4), for development and test mode only.

It plays the outside world of the simulated telephone network: callers who dial
a service, press keys, speak and hang up; users whose phones ring and who answer,
decline or hang up; scripted phones and injected failures. Switchboard's own side
of a call is never driven from here — it reacts to what the simulator reports,
exactly as it will to Microsoft Teams.

The router is mounted only when `Settings.mode` is `development` or `test`
(10 PE2), and `switchboard serve` keeps it on loopback unless told otherwise.
Inside, the rules of the real API hold: every route declares its row of the
permission table through `require`, and acts only within what the caller may
see. Calls belong to the service they dialled: placing, keying and hanging up
are flow actions on that service (row 21, like creating a task), reading calls
is a live view (row 18), and answering, declining or leaving a call is handling
a task (row 17: a person only as themselves, a key for a user it may act for).
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

import re
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import READ, WRITE, Actor, require, user_target
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input
from switchboard.api.voice_channels import VoiceLine
from switchboard.channels.voice.sim_world import (
    Behaviour,
    Call,
    Failure,
    Phone,
    SimulatorError,
    TranscriptEntry,
)
from switchboard.domain import config as cfg
from switchboard.domain.access import Capability, Target
from switchboard.domain.voice import Party, PartyKind
from switchboard.engine.engine import Engine

router = APIRouter(
    prefix="/sim/api", responses=RESPONSES, tags=["Voice simulator"], route_class=JsonRoute
)

E164 = r"^\+[1-9][0-9]{1,14}$"


class CallIn(Input):
    #: The service dialled: its UPN, phone number or id.
    to: str = Field(min_length=1, max_length=256)
    #: Who calls: an E.164 number, a UPN (a Teams user), or nothing for an anonymous caller.
    caller: str | None = Field(None, min_length=1, max_length=256)
    #: The caller gives up after this many seconds if the call is still going.
    hang_up_after_s: float | None = Field(None, ge=0, le=86_400)


class DigitsIn(Input):
    digits: str = Field(min_length=1, max_length=32, pattern=r"^[0-9*#]+$")


class SpeechIn(Input):
    text: str = Field(min_length=1, max_length=2000)
    seconds: float = Field(gt=0, le=600)


class FailureIn(Input):
    #: The command that fails next on this call, e.g. ring_user, transfer_blind, play_prompt.
    command: str = Field(min_length=1, max_length=64)
    #: A normalised reason (busy, no_answer, declined, unreachable, ...) or provider_error.
    reason: str = Field(min_length=1, max_length=64)
    #: Only for this user (ring_user) or transfer target.
    user_id: str | None = Field(None, min_length=1, max_length=128)
    times: int = Field(1, ge=1, le=100)


class ActingUser(Input):
    #: Whose phone, for an API key; a signed-in person uses their own (omit it).
    user_id: str | None = Field(None, min_length=1, max_length=128)


class PhoneIn(Input):
    behaviour: Behaviour = Behaviour.MANUAL
    #: Seconds before a scripted answer or decline (null: drawn from the simulator's range).
    after_s: float | None = Field(None, ge=0, le=600)
    #: Once answered, hang up after talking this long (null: stay until told).
    talk_s: float | None = Field(None, ge=0, le=86_400)


PhoneAction = Literal["answer", "decline", "hangup"]


# ------------------------------------------------------------------ helpers


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return (
        datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _line(request: Request, actor: Actor) -> VoiceLine:
    line: VoiceLine = request.app.state.tenancy.voice.line(actor.host.tenant_id)
    return line


def _service_target(service: cfg.Service, user_id: str | None = None) -> Target:
    return Target(ou_id=service.ou_id, service_ids=frozenset({service.id}), user_id=user_id)


def _no_call(call_id: str) -> ApiProblem:
    return ApiProblem(404, "call_not_found", f"No call with id '{call_id}'.")


def _party(caller: str | None) -> Party:
    if caller is None:
        return Party(kind=PartyKind.ANONYMOUS)
    if re.fullmatch(E164, caller):
        return Party(kind=PartyKind.PHONE, id=caller)
    if "@" in caller.strip("@"):
        return Party(kind=PartyKind.USER, id=caller)
    raise ApiProblem(
        422,
        "invalid_format",
        "caller must be an E.164 number (+41445550101), a UPN (anna@example.com) or omitted.",
        errors=[
            {
                "code": "invalid_format",
                "path": "caller",
                "message": "Expected an E.164 number, a UPN, or nothing (anonymous).",
            }
        ],
    )


def _acting_user(actor: Actor, named: str | None) -> str:
    """A person uses their own phone; a key must say whose phone it works."""
    if actor.user_id is not None:
        if named is not None and named != actor.user_id:
            raise ApiProblem(
                403, "not_yourself", "You can only use your own phone; leave out user_id."
            )
        return actor.user_id
    if named is None:
        raise ApiProblem(
            422,
            "required",
            "user_id is required: name the user whose phone this API key works.",
            errors=[{"code": "required", "path": "user_id", "message": "user_id is required."}],
        )
    return named


def _simulated(action: Any) -> Any:
    """Run a simulator action; its refusals become problem documents."""
    try:
        return action()
    except SimulatorError as error:
        raise ApiProblem(error.status, error.code, str(error)) from None


def _entry_json(entry: TranscriptEntry, started_at: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "at": _iso(entry.at),
        "offset_s": round(entry.at - started_at, 3),
        "who": entry.who,
        "what": entry.what,
        "text": entry.text,
    }
    if entry.user_id is not None:
        out["user_id"] = entry.user_id
    if entry.detail:
        out["detail"] = dict(entry.detail)
    return out


def call_json(call: Call, service_id: str | None) -> dict[str, Any]:
    return {
        "id": call.call_id,
        "to": call.to,
        "service_id": service_id,
        "caller": {"kind": call.caller.kind.value, "id": call.caller.id},
        "state": call.state,
        "on_hold": call.on_hold,
        "started_at": _iso(call.started_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "end_reason": call.end_reason.value if call.end_reason else None,
        "ended_by": call.ended_by,
        "legs": [
            {"leg_id": leg.leg_id, "user_id": leg.user_id, "state": leg.state}
            for leg in call.legs.values()
            if leg.transfer_command_id is None
        ],
        "transcript": [_entry_json(e, call.started_at) for e in call.transcript],
    }


# ------------------------------------------------------------------ calls
#
# Permission checks run on the tenant's writer, like every route's; the simulated
# world then acts on the event loop, outside Switchboard's journal — it is the
# outside world, and Switchboard hears of what it did only through provider events.
# Each action answers once the engine has journaled its reaction to those events.


async def _allowed_call(
    actor: Actor, line: VoiceLine, call_id: str, user_id: str | None = None
) -> tuple[Call, str]:
    def check(engine: Engine) -> tuple[Call, str]:
        """The call, if the actor may do this to its service; otherwise 404 as if missing."""
        call = line.simulator.calls.get(call_id)
        service = engine.dialled_service(call.to) if call is not None else None
        if call is None or service is None:
            raise _no_call(call_id)
        actor.allow(engine, _service_target(service, user_id), missing=_no_call(call_id))
        return call, service.id

    return await actor.run(check)


@router.post("/calls", status_code=201)
async def place_call(
    body: CallIn,
    request: Request,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """A caller dials a service; Switchboard hears of it as an incoming call."""
    line = _line(request, actor)
    caller = _party(body.caller)

    def check(engine: Engine) -> str:
        service = engine.dialled_service(body.to)
        missing = ApiProblem(404, "service_not_found", f"No service answers '{body.to}'.")
        if service is None:
            raise missing
        actor.allow(engine, _service_target(service), missing=missing)
        return service.id

    service_id = await actor.run(check)
    call = _simulated(
        lambda: line.simulator.place_call(caller, body.to, hang_up_after_s=body.hang_up_after_s)
    )
    await line.dispatcher.settled()  # the engine has taken the call in (journaled)
    return call_json(call, service_id)


@router.get("/calls")
async def list_calls(
    request: Request,
    state: Literal["live", "ended"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
    actor: Actor = Depends(require(Capability.LIVE_VIEW, READ)),
) -> dict[str, Any]:
    """Calls of the services the caller may see, newest first, with their transcripts."""
    line = _line(request, actor)

    def query(engine: Engine) -> list[dict[str, Any]]:
        found = []
        calls = sorted(line.simulator.calls.values(), key=lambda c: -c.started_at)
        for call in calls:
            if state is not None and call.live != (state == "live"):
                continue
            service = engine.dialled_service(call.to)
            if service is not None and actor.sees(engine, _service_target(service)):
                found.append(call_json(call, service.id))
                if len(found) >= limit:
                    break
        return found

    return {"items": await actor.run(query)}


@router.get("/calls/{call_id}")
async def get_call(
    call_id: str,
    request: Request,
    actor: Actor = Depends(require(Capability.LIVE_VIEW, READ)),
) -> dict[str, Any]:
    """One call with its transcript."""
    call, service_id = await _allowed_call(actor, _line(request, actor), call_id)
    return call_json(call, service_id)


@router.post("/calls/{call_id}/digits")
async def press_digits(
    call_id: str,
    body: DigitsIn,
    request: Request,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """The caller presses keys (DTMF), one after another."""
    line = _line(request, actor)
    call, service_id = await _allowed_call(actor, line, call_id)
    _simulated(lambda: line.simulator.press(call.call_id, body.digits))
    await line.dispatcher.settled()
    return call_json(call, service_id)


@router.post("/calls/{call_id}/speech")
async def speak(
    call_id: str,
    body: SpeechIn,
    request: Request,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """The caller speaks for a while (what a running recording records)."""
    line = _line(request, actor)
    call, service_id = await _allowed_call(actor, line, call_id)
    _simulated(lambda: line.simulator.say(call.call_id, body.text, body.seconds))
    return call_json(call, service_id)


@router.post("/calls/{call_id}/hangup")
async def caller_hangup(
    call_id: str,
    request: Request,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """The caller hangs up."""
    line = _line(request, actor)
    call, service_id = await _allowed_call(actor, line, call_id)
    _simulated(lambda: line.simulator.caller_hang_up(call.call_id))
    await line.dispatcher.settled()
    return call_json(call, service_id)


@router.post("/calls/{call_id}/failures", status_code=201)
async def inject_failure(
    call_id: str,
    body: FailureIn,
    request: Request,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """The next matching command(s) on this call fail with the given normalised reason."""
    line = _line(request, actor)
    call, _ = await _allowed_call(actor, line, call_id)
    failure = Failure(body.command, body.reason, call.call_id, body.user_id, body.times)
    _simulated(lambda: line.simulator.inject(failure))
    return {
        "call_id": call.call_id,
        "command": failure.command,
        "reason": failure.reason,
        "user_id": failure.user_id,
        "times": failure.times,
    }


# ------------------------------------------------------------------ users' phones


@router.post("/calls/{call_id}/phone/{action}")
async def phone_action(
    call_id: str,
    action: PhoneAction,
    body: ActingUser,
    request: Request,
    actor: Actor = Depends(require(Capability.HANDLE_TASKS, WRITE)),
) -> dict[str, Any]:
    """A user answers or declines their phone ringing for this call, or hangs up on it.

    A signed-in person uses their own phone; an API key names the user (`user_id`).
    """
    user_id = _acting_user(actor, body.user_id)
    line = _line(request, actor)
    sim = line.simulator
    call, service_id = await _allowed_call(actor, line, call_id, user_id)
    command = {"answer": sim.user_answer, "decline": sim.user_decline, "hangup": sim.user_hang_up}
    leg = _simulated(lambda: command[action](user_id, call.call_id))
    await line.dispatcher.settled()
    return {
        "user_id": user_id,
        "leg_id": leg.leg_id,
        "leg_state": leg.state,
        "call": call_json(call, service_id),
    }


@router.put("/users/{user_id}/phone")
async def script_phone(
    user_id: str,
    body: PhoneIn,
    request: Request,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """How the user's phone reacts from the next ring on: manual, answer, decline, ignore,
    busy or offline, after a delay."""
    line = _line(request, actor)

    def check(engine: Engine) -> None:
        user = engine.state.users.get(user_id)
        missing = ApiProblem(404, "user_not_found", f"No user with id '{user_id}'.")
        if user is None:
            raise missing
        actor.allow(engine, user_target(user), missing=missing)

    await actor.run(check)
    phone = Phone(body.behaviour, body.after_s, body.talk_s)
    line.simulator.set_phone(user_id, phone)
    return {
        "user_id": user_id,
        "behaviour": phone.behaviour.value,
        "after_s": phone.after_s,
        "talk_s": phone.talk_s,
    }
