"""Live operations: create tasks, act on them as an agent, change users' state.

Every endpoint is one engine command run on the tenant's writer; the answer is
sent after the command's events are journaled. A refusal comes back as a
problem document with the engine's reason code and sentence, and changes nothing.
A signed-in person acts as themselves; an API key names the user it acts for
(`user_id` in the body). Each route declares its row of the permission table
(10 §2) and checks the task's service or the user it touches (see
`switchboard.api.permissions`).
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import READ, WRITE, Actor, require, task_target
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input
from switchboard.domain.access import Capability, Target
from switchboard.domain.enums import EndReason, Presence, Priority, TaskKind, TaskState
from switchboard.domain.errors import NotFound
from switchboard.domain.live import UserSession
from switchboard.domain.task import PreferredUser, Task
from switchboard.engine.engine import Engine
from switchboard.engine.explain import explain

router = APIRouter(prefix="/api/v1", responses=RESPONSES, route_class=JsonRoute)
_REJECTIONS = {
    "service_disabled": "The service is disabled and takes no new tasks.",
    "modality_not_enabled": "The service does not take this kind of task.",
    "service_capacity_reached": "The service has as many live tasks of this kind as allowed.",
}
PriorityName = Literal["lowest", "low", "normal", "high", "highest"]


Strict = Input  # unknown fields and non-Unicode text are refused


class PreferredUserIn(Strict):
    user_id: str = Field(min_length=1, max_length=128)
    priority: int | None = Field(None, ge=1, le=99)


class TaskIn(Strict):
    service_id: str = Field(min_length=1, max_length=128)
    kind: Literal["audio_inbound", "chat_inbound", "email_inbound", "external_task"] = (
        "external_task"
    )
    priority: PriorityName | None = None
    caller: str | None = Field(None, max_length=256)
    customer_identifier: str | None = Field(None, max_length=256)
    reference_id: str | None = Field(None, max_length=128)
    custom_context: dict[str, str] = Field(default_factory=dict)
    preferred_users: list[PreferredUserIn] = Field(default_factory=list, max_length=10)


class ActingUser(Strict):
    #: Whom an API key acts for; a signed-in person acts as themselves (omit it).
    user_id: str | None = Field(None, min_length=1, max_length=128)


class PriorityIn(Strict):
    priority: PriorityName


class PresenceIn(Strict):
    presence: Presence


class ProfileIn(Strict):
    profile_id: str = Field(min_length=1, max_length=128)


class ActiveIn(Strict):
    active: bool


class NotAvailableIn(Strict):
    reason_id: str | None = Field(None, max_length=128)


class SupervisorFlag(Strict):
    #: For API keys: whether a supervisor asked (a signed-in person's request is a
    #: supervisor's exactly when it concerns someone else).
    by_supervisor: bool = False


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return (
        datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def task_json(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "kind": task.kind.value,
        "modality": task.kind.modality.value,
        "direction": task.kind.direction.value,
        "service_id": task.service_id,
        "state": task.state.value,
        "priority": task.priority.label,
        "created_at": _iso(task.created_at),
        "accepted_at": _iso(task.accepted_at),
        "first_enqueued_at": _iso(task.first_enqueued_at),
        "virtual_enqueue_at": _iso(task.virtual_enqueue_at),
        "terminated_at": _iso(task.terminated_at),
        "end_reason": task.end_reason.value if task.end_reason else None,
        "policy_level": task.policy_level,
        "distribution_type": task.queue.distribution_type.value if task.queue else None,
        "offers": [
            {"offer_id": o.id, "user_id": o.user_id, "expires_at": _iso(o.expires_at)}
            for o in task.offers.values()
        ],
        "connected_user_id": task.connected_user_id,
        "caller": task.caller,
        "customer_identifier": task.customer_identifier,
        "reference_id": task.reference_id,
        "custom_context": dict(task.custom_context),
        "preferred_users": [
            {"user_id": p.user_id, "priority": p.priority} for p in task.preferred_users
        ],
    }


def _answer(actor: Actor, engine: Engine, task: Task) -> dict[str, Any]:
    """The task as this principal may see it: system and partner admins see no customer
    identifiers while the tenant does not allow them (10 PV2)."""
    return actor.masking(engine).task_json(task_json(task))


def _task(engine: Engine, task_id: str) -> Task:
    task = engine.state.task(task_id)
    if task is None:
        raise _task_missing(task_id)
    return task


def _task_missing(task_id: str) -> NotFound:
    return NotFound(f"No task with id '{task_id}'.", code="task_not_found")


def _user_missing(user_id: str) -> NotFound:
    return NotFound(f"No user with id '{user_id}'.", code="user_not_found")


def _seen_task(actor: Actor, engine: Engine, task_id: str, user_id: str | None = None) -> Task:
    """The task, if the actor may do this to it; the same 404 as a missing one if unseen."""
    task = _task(engine, task_id)
    actor.allow(engine, task_target(task, engine.state, user_id), missing=_as_problem(task_id))
    return task


def _as_problem(task_id: str) -> ApiProblem:
    return ApiProblem(404, "task_not_found", f"No task with id '{task_id}'.")


async def _task_command(
    actor: Actor, task_id: str, command: Any, user_id: str | None = None
) -> dict[str, Any]:
    """Run `command(engine)` on a task the actor may act on (as `user_id`, if given) and
    answer the task as it is afterwards; as `_user_command` does for users."""

    def run(engine: Engine) -> dict[str, Any]:
        _seen_task(actor, engine, task_id, user_id)
        command(engine)
        return _answer(actor, engine, _task(engine, task_id))

    return await actor.run(run)


# ------------------------------------------------------------------ tasks


@router.post("/tasks", status_code=201, tags=["Tasks"])
async def create_task(
    body: TaskIn,
    response: Response,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """Create an inbound or external task; it runs its service's workflow and queues."""

    def create(engine: Engine) -> dict[str, Any]:
        service = engine.state.services.get(body.service_id)
        if service is not None:
            actor.allow(
                engine,
                Target(ou_id=service.ou_id, service_ids=frozenset({service.id})),
                missing=ApiProblem(
                    404, "service_not_found", f"No service with id '{body.service_id}'."
                ),
            )
        task = engine.create_task(
            service_id=body.service_id,
            kind=TaskKind(body.kind),
            priority=Priority.parse(body.priority) if body.priority else None,
            caller=body.caller,
            customer_identifier=body.customer_identifier,
            reference_id=body.reference_id,
            custom_context=body.custom_context,
            preferred_users=[PreferredUser(p.user_id, p.priority) for p in body.preferred_users],
        )
        if task.end_reason is EndReason.REJECTED:
            reason = task.end_detail or "rejected"
            raise ApiProblem(
                429 if reason == "service_capacity_reached" else 409,
                reason,
                _REJECTIONS.get(reason, "The service refused the task."),
                extra={"task_id": task.id},
            )
        return _answer(actor, engine, task)

    created = await actor.run(create)
    response.headers["Location"] = f"/api/v1/tasks/{created['id']}"
    return created


@router.get("/tasks", tags=["Tasks"])
async def list_tasks(
    service_id: str | None = Query(None, max_length=128),
    state: TaskState | None = None,
    limit: int = Query(100, ge=1, le=1000),
    actor: Actor = Depends(require(Capability.LIVE_VIEW, READ)),
) -> dict[str, Any]:
    """Live tasks the caller may see, oldest first."""

    def query(engine: Engine) -> list[dict[str, Any]]:
        tasks = sorted(engine.state.tasks.values(), key=lambda t: (t.created_at, t.id))
        chosen = [
            t
            for t in tasks
            if (service_id is None or t.service_id == service_id)
            and (state is None or t.state is state)
            and actor.sees(engine, task_target(t, engine.state))
        ]
        shown = actor.masking(engine)
        return [shown.task_json(task_json(t)) for t in chosen[:limit]]

    return {"items": await actor.run(query)}


@router.get("/tasks/{task_id}", tags=["Tasks"])
async def get_task(
    task_id: str, actor: Actor = Depends(require(Capability.LIVE_VIEW, READ))
) -> dict[str, Any]:
    return await actor.run(lambda e: _answer(actor, e, _seen_task(actor, e, task_id)))


@router.get("/tasks/{task_id}/diagnosis", tags=["Tasks"])
async def diagnose_task(
    task_id: str, actor: Actor = Depends(require(Capability.LIVE_VIEW, READ))
) -> dict[str, Any]:
    """Why this task is (not) being offered, per user (03 §10)."""

    def diagnose(engine: Engine) -> dict[str, Any]:
        _seen_task(actor, engine, task_id)
        return explain(engine, task_id).as_dict()

    return await actor.run(diagnose)


@router.delete("/tasks/{task_id}", status_code=204, tags=["Tasks"])
async def cancel_task(
    task_id: str, actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE))
) -> Response:
    def cancel(engine: Engine) -> None:
        _seen_task(actor, engine, task_id)
        engine.cancel_task(task_id)

    await actor.run(cancel)
    return Response(status_code=204)


@router.post("/tasks/{task_id}/customer-hangup", tags=["Tasks"])
async def customer_hangup(
    task_id: str, actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE))
) -> dict[str, Any]:
    """The customer left (used by channels and the simulator)."""
    return await _task_command(actor, task_id, lambda e: e.customer_hang_up(task_id))


@router.put("/tasks/{task_id}/priority", tags=["Tasks"])
async def set_priority(
    task_id: str,
    body: PriorityIn,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    return await _task_command(
        actor, task_id, lambda e: e.set_priority(task_id, Priority.parse(body.priority))
    )


class ParameterIn(Strict):
    value: str = Field(max_length=5120)


@router.put("/tasks/{task_id}/parameters/{parameter_id}", tags=["Tasks"])
async def set_task_parameter(
    task_id: str,
    parameter_id: str,
    body: ParameterIn,
    actor: Actor = Depends(require(Capability.FLOW_ACTIONS, WRITE)),
) -> dict[str, Any]:
    """Set a custom parameter of a live task; a workflow waiting for it goes on (04 §3.15)."""
    return await _task_command(
        actor, task_id, lambda e: e.set_task_parameter(task_id, parameter_id, body.value)
    )


AgentAction = Literal["accept", "decline", "pickup", "hold", "resume", "park", "unpark", "hangup"]


def _acting_user(actor: Actor, named: str | None) -> str:
    """A person acts as themselves; a key must say whom it acts for."""
    if actor.user_id is not None:
        if named is not None and named != actor.user_id:
            raise ApiProblem(
                403,
                "not_yourself",
                "You can only act as yourself; leave out user_id or give your own.",
            )
        return actor.user_id
    if named is None:
        raise ApiProblem(
            422,
            "required",
            "user_id is required: name the user this API key acts for.",
            errors=[{"code": "required", "path": "user_id", "message": "user_id is required."}],
        )
    return named


@router.post("/tasks/{task_id}/{action}", tags=["Agent actions"])
async def agent_action(
    task_id: str,
    action: AgentAction,
    body: ActingUser,
    actor: Actor = Depends(require(Capability.HANDLE_TASKS, WRITE)),
) -> dict[str, Any]:
    """An agent's action on a task: accept or decline an offer, pick up, hold, park, hang up."""
    user_id = _acting_user(actor, body.user_id)

    def act(engine: Engine) -> None:
        command = {
            "accept": engine.accept,
            "decline": engine.decline,
            "pickup": engine.pickup,
            "hold": engine.hold,
            "resume": engine.resume,
            "park": engine.park,
            "unpark": engine.unpark,
            "hangup": engine.hang_up,
        }[action]
        command(user_id, task_id)

    return await _task_command(actor, task_id, act, user_id)


class CodesIn(Strict):
    #: Whom an API key acts for; a signed-in person sets their own (omit it).
    user_id: str | None = Field(None, min_length=1, max_length=128)
    primary_code_id: str | None = Field(None, min_length=1, max_length=128)
    secondary_code_ids: list[str] = Field(default_factory=list)
    tag_ids: list[str] = Field(default_factory=list)


@router.put("/tasks/{task_id}/codes", tags=["Agent actions"])
async def set_codes(
    task_id: str,
    body: CodesIn,
    actor: Actor = Depends(require(Capability.HANDLE_TASKS, WRITE)),
) -> dict[str, Any]:
    """The codes and tags of your session of a task (01 §9), while you handle it or during
    its after-call work; they replace the ones chosen before."""
    user_id = _acting_user(actor, body.user_id)

    def code(engine: Engine) -> dict[str, Any]:
        _seen_task(actor, engine, task_id, user_id)
        engine.set_codes(
            user_id,
            task_id,
            primary_code_id=body.primary_code_id,
            secondary_code_ids=body.secondary_code_ids,
            tag_ids=body.tag_ids,
        )
        session = next(
            s for s in engine.state.user_live(user_id).sessions.values() if s.task_id == task_id
        )
        return {"task_id": task_id, "user_id": user_id, **_codes_json(session)}

    return await actor.run(code)


def _codes_json(session: UserSession) -> dict[str, Any]:
    return {
        "primary_code_id": session.primary_code_id,
        "secondary_code_ids": list(session.secondary_code_ids),
        "tag_ids": list(session.tag_ids),
    }


# ------------------------------------------------------------------ users


def _user_state(engine: Engine, user_id: str) -> dict[str, Any]:
    user = engine.state.users.get(user_id)
    if user is None:
        raise _user_missing(user_id)
    live = engine.state.user_live(user_id)
    services = []
    for service_id in sorted(user.memberships):
        service = engine.state.services.get(service_id)
        if service is None:
            continue
        per_modality = {
            m.value: engine.availability(user_id, service_id, m).as_dict()
            for m in sorted(service.enabled_modalities, key=lambda m: m.value)
        }
        services.append(
            {
                "service_id": service_id,
                "active": user.memberships[service_id].active,
                **engine.availability(user_id, service_id).as_dict(),
                "modalities": per_modality,
            }
        )
    return {
        "user_id": user_id,
        "presence": live.presence.value,
        "duty_profile_id": user.active_profile_id,
        "not_available_reason_id": live.not_available_reason_id,
        "rona": None
        if live.rona is None
        else {"service_id": live.rona.service_id, "clears_at": _iso(live.rona.clears_at)},
        "acw": None
        if live.acw is None
        else {
            "task_id": live.acw.task_id,
            "ends_at": _iso(live.acw.ends_at),
            "extended": live.acw.extended,
            "can_end_early": live.acw.allow_early_end,
            "can_extend": live.acw.allow_extension and not live.acw.extended,
        },
        "sessions": [
            {
                "task_id": s.task_id,
                "state": s.state.value,
                "service_id": s.service_id,
                **_codes_json(s),
            }
            for s in live.sessions.values()
        ],
        "services": services,
    }


@router.get("/users/{user_id}/availability", tags=["Users (live)"])
async def availability(
    user_id: str, actor: Actor = Depends(require(Capability.LIVE_VIEW, READ))
) -> dict[str, Any]:
    """Per service (and modality): selectable or not, with every reason (02 §6.3)."""

    def read(engine: Engine) -> dict[str, Any]:
        actor.allow_user(engine, user_id)
        return _user_state(engine, user_id)

    return await actor.run(read)


async def _user_command(
    actor: Actor, user_id: str, command: Any, service_id: str | None = None
) -> dict[str, Any]:
    def run(engine: Engine) -> dict[str, Any]:
        actor.allow_user(engine, user_id, service_id)
        command(engine)
        return _user_state(engine, user_id)

    return await actor.run(run)


def _by_supervisor(actor: Actor, user_id: str, flag: bool) -> bool:
    """A person's request is a supervisor's when it is about someone else; keys say so."""
    return flag if actor.user_id is None else actor.user_id != user_id


@router.put("/users/{user_id}/presence", tags=["Users (live)"])
async def set_presence(
    user_id: str,
    body: PresenceIn,
    actor: Actor = Depends(require(Capability.PRESENCE, WRITE)),
) -> dict[str, Any]:
    """Presence as the directory reports it (the Teams adapter calls this too)."""
    return await _user_command(actor, user_id, lambda e: e.set_presence(user_id, body.presence))


@router.put("/users/{user_id}/duty-profile", tags=["Users (live)"])
async def set_duty_profile(
    user_id: str,
    body: ProfileIn,
    actor: Actor = Depends(require(Capability.USER_DUTY, WRITE)),
) -> dict[str, Any]:
    return await _user_command(actor, user_id, lambda e: e.set_profile(user_id, body.profile_id))


@router.put("/users/{user_id}/services/{service_id}/active", tags=["Users (live)"])
async def set_active(
    user_id: str,
    service_id: str,
    body: ActiveIn,
    actor: Actor = Depends(require(Capability.USER_DUTY, WRITE)),
) -> dict[str, Any]:
    return await _user_command(
        actor, user_id, lambda e: e.set_active(user_id, service_id, body.active), service_id
    )


@router.put("/users/{user_id}/not-available", tags=["Users (live)"])
async def set_not_available(
    user_id: str,
    body: NotAvailableIn,
    actor: Actor = Depends(require(Capability.USER_DUTY, WRITE)),
) -> dict[str, Any]:
    return await _user_command(
        actor, user_id, lambda e: e.set_not_available(user_id, body.reason_id)
    )


@router.post("/users/{user_id}/rona/reset", tags=["Users (live)"])
async def reset_rona(
    user_id: str,
    body: SupervisorFlag,
    actor: Actor = Depends(require(Capability.USER_SUPERVISION, WRITE)),
) -> dict[str, Any]:
    by_supervisor = _by_supervisor(actor, user_id, body.by_supervisor)
    return await _user_command(
        actor, user_id, lambda e: e.reset_rona(user_id, by_supervisor=by_supervisor)
    )


@router.post("/users/{user_id}/acw/end", tags=["Users (live)"])
async def end_acw(
    user_id: str,
    body: SupervisorFlag,
    actor: Actor = Depends(require(Capability.USER_SUPERVISION, WRITE)),
) -> dict[str, Any]:
    by_supervisor = _by_supervisor(actor, user_id, body.by_supervisor)
    return await _user_command(
        actor, user_id, lambda e: e.end_acw(user_id, by_supervisor=by_supervisor)
    )


@router.post("/users/{user_id}/acw/extend", tags=["Users (live)"])
async def extend_acw(
    user_id: str, actor: Actor = Depends(require(Capability.USER_SUPERVISION, WRITE))
) -> dict[str, Any]:
    return await _user_command(actor, user_id, lambda e: e.extend_acw(user_id))
