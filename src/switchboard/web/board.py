"""What a person sees about agents and tasks at a glance, read from the engine's live state.

`agent_state` condenses a user into one state by the precedence of 08 §2.1
(offline > in task > ringing > in ACW > RONA > not available > presence
unavailable > off duty > available), with the reason behind it and since when;
`task_facts` describes a task for a person (caller, service, wait, context).
Both read state only; they are called inside `Actor.run`, after the caller's
permission to see the user or task has been checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.api.masking import MASK, NOTHING, Masking
from switchboard.domain.availability import PRESENCE_REASONS, effective_presence
from switchboard.domain.enums import AssignmentType, Presence, SessionState
from switchboard.domain.live import UserSession
from switchboard.domain.task import Task
from switchboard.engine.engine import Engine

STATE_LABELS = {
    "offline": "Offline",
    "in_task": "In a task",
    "ringing": "Ringing",
    "in_acw": "After-call work",
    "rona": "RONA",
    "not_available": "Not available",
    "presence_unavailable": "Unavailable",
    "off_duty": "Off duty",
    "available": "Available",
}
SESSION_LABELS = {
    SessionState.INCOMING: "Ringing",
    SessionState.DIALING_OUT: "Dialling out",
    SessionState.CONNECTED: "Talking",
    SessionState.TRANSFERRING: "Transferring",
    SessionState.ON_HOLD: "On hold",
    SessionState.PARKED: "Parked",
    SessionState.UNPARKING: "Unparking",
    SessionState.IN_ACW: "After-call work",
    SessionState.CONSULTING: "Consulting",
    SessionState.ENDED: "Ended",
}
PRESENCE_LABELS = {
    Presence.AVAILABLE: "Available",
    Presence.BUSY_IN_CALL: "Busy (in a call)",
    Presence.BUSY_IN_MEETING: "Busy (in a meeting)",
    Presence.BUSY: "Busy",
    Presence.DO_NOT_DISTURB: "Do not disturb",
    Presence.BE_RIGHT_BACK: "Be right back",
    Presence.AWAY: "Away",
    Presence.OFFLINE: "Offline",
    Presence.UNKNOWN: "Unknown",
}
#: The events of the live stream that live regions listen for, by name (an EventSource
#: listens per name); `tests/web` checks the list against the engine's event handlers.
LIVE_EVENTS = (
    "task.created",
    "task.workflow_started",
    "task.accepted",
    "task.queued",
    "task.policy_level_changed",
    "task.priority_changed",
    "task.preferred_users_changed",
    "task.offered",
    "task.offer_withdrawn",
    "task.declined",
    "task.rona",
    "task.queue_exited",
    "task.connected",
    "task.held",
    "task.resumed",
    "task.parked",
    "task.unparked",
    "task.terminated",
    "task.transferred",
    "task.parameter_updated",
    "task.consent_recorded",
    "task.codes_set",
    "user.state_changed",
    "user.presence_changed",
    "user.profile_changed",
    "user.active_changed",
    "user.not_available_changed",
    "user.acw_started",
    "user.acw_extended",
    "user.acw_ended",
    "user.rona_set",
    "user.rona_cleared",
    "workflow.node_entered",
    "workflow.ended",
)


def events(*prefixes: str) -> str:
    """The live events whose names start with one of `prefixes`, for `data-live`."""
    return " ".join(name for name in LIVE_EVENTS if name.startswith(prefixes))


@dataclass(frozen=True, slots=True)
class AgentState:
    """One agent as a wallboard shows them."""

    state: str
    #: What lies behind the state, in words ("On hold · Technical support", "Break").
    detail: str
    #: Since when (epoch seconds), when known.
    since: float | None
    #: The task they are busy with (in a task, ringing, after-call work).
    task_id: str | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def agent_state(engine: Engine, user_id: str) -> AgentState:
    st = engine.state
    user = st.users[user_id]
    live = st.user_live(user_id)
    now = engine.clock.now()
    presence = effective_presence(live, now)
    if presence in (Presence.OFFLINE, Presence.UNKNOWN) or not user.enabled:
        detail = "Disabled" if not user.enabled else ""
        return AgentState("offline", detail, live.presence_at or None)
    busy = live.blocking_task()
    if busy is not None:
        return AgentState(
            "in_task",
            f"{SESSION_LABELS[busy.state]} · {_service_name(engine, busy.service_id)}",
            busy.in_state_since,
            busy.task_id,
        )
    ringing = live.ringing()
    if ringing is not None:
        return AgentState(
            "ringing",
            _service_name(engine, ringing.service_id),
            ringing.started_at,
            ringing.task_id,
        )
    if live.acw is not None:
        return AgentState(
            "in_acw",
            _service_name(engine, live.acw.service_id),
            live.acw.started_at,
            live.acw.task_id,
        )
    if live.rona is not None:
        return AgentState(
            "rona",
            f"Missed a task of {_service_name(engine, live.rona.service_id)}",
            live.rona.set_at,
        )
    if live.not_available_reason_id is not None:
        reason = st.not_available_reasons.get(live.not_available_reason_id)
        name = reason.name if reason is not None else live.not_available_reason_id
        return AgentState("not_available", name, live.not_available_since)
    verdicts = [
        engine.availability(user_id, service_id)
        for service_id in sorted(user.memberships)
        if service_id in st.services
    ]
    if any(v.selectable for v in verdicts):
        since = min(
            (t for sid, t in live.idle_since.items() if sid in user.memberships), default=None
        )
        return AgentState("available", "Can take tasks", since)
    if any(v.reason in PRESENCE_REASONS for v in verdicts):
        return AgentState("presence_unavailable", PRESENCE_LABELS[presence], live.presence_at)
    first = next((v for v in verdicts if v.reason is not None), None)
    detail = first.message if first is not None else "Not a member of any service."
    return AgentState("off_duty", detail, None)


def _service_name(engine: Engine, service_id: str) -> str:
    service = engine.state.services.get(service_id)
    return service.name if service is not None else service_id


def service_name(engine: Engine, service_id: str) -> str:
    return _service_name(engine, service_id)


def is_teams_based(engine: Engine, service_id: str) -> bool:
    service = engine.state.services.get(service_id)
    return service is not None and service.user_assignment_type is AssignmentType.TEAMS_BASED


def caller_of(task: Task, masking: Masking = NOTHING) -> str:
    """Who the customer is, as a person would name them; `***` while the viewer may not
    see customers' identifiers (a system or partner admin, 10 PV2)."""
    shown = task.caller or task.customer_identifier
    if shown and masking.customers:
        return MASK
    return shown or "Anonymous caller"


def user_name(engine: Engine, user_id: str, masking: Masking = NOTHING) -> str:
    """A user's display name (their id if they are gone); `***` while the viewer may not
    see users' identifiers (10 PV2)."""
    user = engine.state.users.get(user_id)
    if user is None:
        return user_id
    return MASK if masking.users else user.display_name


KIND_LABELS = {
    "audio_inbound": "Call",
    "audio_outbound_call_on_behalf": "Outbound call",
    "audio_outbound_scheduled": "Scheduled call",
    "audio_outbound_with_workflow": "Outbound call",
    "external_task": "Task",
    "chat_inbound": "Chat",
    "email_inbound": "Email",
}


def task_facts(
    engine: Engine,
    task: Task,
    session: UserSession | None = None,
    masking: Masking = NOTHING,
) -> dict[str, Any]:
    """A task as the agent's session details show it: customer, system fields, context.

    Custom parameters are listed by name when `show_to_users` allows (01 §8). The
    customer's identifiers are `***` where `masking` hides them (10 PV2).
    """
    st = engine.state
    parameters = []
    for parameter_id, value in sorted(task.custom_context.items()):
        parameter = st.parameters.get(parameter_id)
        if parameter is not None and not parameter.show_to_users:
            continue
        parameters.append(
            {"name": parameter.name if parameter is not None else parameter_id, "value": value}
        )
    waited = None
    connected_at = (
        session.state_since
        if session is not None and session.state is not SessionState.INCOMING
        else None
    )
    if task.first_enqueued_at is not None:
        waited = (connected_at or engine.clock.now()) - task.first_enqueued_at
    return {
        "task_id": task.id,
        "kind": task.kind.value,
        "kind_label": KIND_LABELS.get(task.kind.value, task.kind.value),
        "caller": caller_of(task, masking),
        "customer_identifier": (
            MASK if masking.customers and task.customer_identifier else task.customer_identifier
        ),
        "reference_id": task.reference_id,
        "service": _service_name(engine, task.service_id),
        "origin_service": _service_name(engine, task.origin_service_id or task.service_id),
        "priority": task.priority.label,
        "created_at": task.created_at,
        "first_enqueued_at": task.first_enqueued_at,
        "waited_s": waited,
        "transfer_count": task.transfer_count,
        "state": task.state.value,
        "end_reason": task.end_reason.value if task.end_reason else None,
        "consents": dict(task.consents),
        "parameters": parameters,
    }
