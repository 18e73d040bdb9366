"""The journal folded into reporting rows: a pure function of the events, in order.

`Projector.apply(event)` takes the tenant's events one by one (seq order, as the
journal holds them) and produces the rows of concluded sessions (RP2) and closed
user-state intervals; `take()` hands over what was produced since the last call.
Nothing here reads a clock, a database or configuration from outside the events,
so the service's incremental projection and `switchboard reports rebuild` — the
same fold over the same events — produce the same rows (RP1).

What is in flight (live tasks, users' current states, the configuration the
projection needs) is `ProjectionState`: plain data that `to_json`/`from_json`
turn into JSON and back exactly, so a restarted service can resume from a saved
state instead of folding the whole journal again.

How the facts of 08 §2 are read from the events, and the decisions where 08 is
silent, are in docs/reporting.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import TypeAdapter

from switchboard.domain.availability import PRESENCE_REASONS
from switchboard.domain.enums import TaskKind
from switchboard.engine.events import Event
from switchboard.reporting.outcomes import (
    USER_OUTCOME_BY_CODE,
    Facts,
    ReportingState,
    service_outcome,
)
from switchboard.reporting.rows import (
    ServiceSessionRow,
    TransferSessionRow,
    UnifiedSessionRow,
    UserSessionRow,
    UserStateRow,
    as_guid,
    derived_id,
    opt_dt,
    to_dt,
    to_ms,
)

__all__ = ["Output", "ProjectionState", "Projector"]

#: Voice target types (a `transfer_blind` or `redirect` command) -> 08 TransferSession target_type.
_VOICE_TARGETS: Final = {
    "phone": "external_number",
    "upn": "upn",
    "user": "user",
    "service": "service",
    "voicemail": "voicemail",
}
#: Target types whose target is an id (the rest are a number or a UPN: `target_value`).
_ID_TARGETS: Final = frozenset({"user", "service", "voicemail"})


# ---------------------------------------------------------------------- in-flight state


@dataclass(slots=True)
class ServiceConfig:
    """What a service session snapshots of its service when it starts (RP4)."""

    ou_id: str
    sla_acceptance_s: int
    sla_hangup_s: int


@dataclass(slots=True)
class Transfer:
    id: str
    service_session_id: str
    started_ms: int
    target_type: str
    target: str
    offer_id: str | None = None
    result: str | None = None
    error: str | None = None
    ended_ms: int | None = None
    to_service_session_id: str | None = None
    to_user_session_id: str | None = None


@dataclass(slots=True)
class Engagement:
    """One user session (02 §4) while it is open."""

    id: str
    service_session_id: str
    user_id: str
    service_id: str
    offer_kind: str
    offered_ms: int
    #: incoming, connected, on_hold, parked, acw_due (task ended, ACW starts), in_acw, ended
    state: str = "incoming"
    answered_ms: int | None = None
    connection_ended_ms: int | None = None
    ended_ms: int | None = None
    outcome: str | None = None
    hold_since: int | None = None
    hold_ms: int = 0
    park_since: int | None = None
    parked_ms: int = 0
    acw_since: int | None = None
    acw_ms: int = 0
    acw_end_reason: str | None = None
    primary_code: str | None = None
    secondary_codes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ServiceSession:
    """One service session (task × service visited) while it is open."""

    id: str
    sequence: int
    service_id: str
    ou_id: str | None
    sla_acceptance_s: int
    sla_hangup_s: int
    started_ms: int
    transferred_from: str | None = None
    accepted_ms: int | None = None
    first_enqueued_ms: int | None = None
    first_offered_ms: int | None = None
    user_connected_ms: int | None = None
    queue_left_ms: int | None = None
    customer_left_ms: int | None = None
    ended_ms: int | None = None
    in_queue: bool = False
    queue_exit_reason: str | None = None
    max_policy_level: int | None = None
    offer_count: int = 0
    rona_count: int = 0
    first_accepting_user_id: str | None = None
    last_user_id: str | None = None
    voice_message: bool = False
    transfer_succeeded: bool = False
    transfer_failed: bool = False
    user_held_at_cancel: bool = False
    where_left: str | None = None
    end_reason: str | None = None
    end_detail: str | None = None
    #: workflow, queue, user, external or ended: ivr time accrues in `workflow`
    phase: str = "workflow"
    phase_since: int = 0
    ivr_ms: int = 0
    offers_out: int = 0
    ring_since: int | None = None
    ring_ms: int = 0
    engagements: list[str] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)


@dataclass(slots=True)
class TaskTrack:
    id: str
    unified_id: str
    kind: str
    priority: int
    created_ms: int
    caller: str | None
    customer_identifier: str | None
    reference_id: str | None
    sessions: list[ServiceSession] = field(default_factory=list)
    engagements: dict[str, Engagement] = field(default_factory=dict)
    open_transfer: Transfer | None = None
    run: str | None = None  # "workflow id@version" of the running workflow
    terminated: bool = False
    accepted: bool = False
    # the unified session, accumulated as service sessions conclude
    first_service_id: str | None = None
    last_service_id: str | None = None
    ended_ms: int | None = None
    service_session_count: int = 0
    user_session_count: int = 0
    transfer_session_count: int = 0
    last_outcome: int | None = None
    last_group: int | None = None
    handled: bool = False
    connected_ms: int = 0
    first_accepting_user_id: str | None = None


@dataclass(slots=True)
class Interval:
    state: str
    reason: str | None
    presence: str
    started_ms: int
    ended_ms: int | None = None

    def key(self) -> tuple[str, str | None, str]:
        return (self.state, self.reason, self.presence)


@dataclass(slots=True)
class UserTrack:
    """What decides a user's reporting state (08 §2.1), and their open interval."""

    id: str
    tracked: bool = False  # a member of at least one service
    presence: str = "offline"
    reason_id: str | None = None
    rona: bool = False
    acw: bool = False
    #: open user sessions -> ringing, busy (a blocking state) or parked
    sessions: dict[str, str] = field(default_factory=dict)
    #: service id -> [selectable, first reason] as last published (user.state_changed)
    selection: dict[str, tuple[bool, str | None]] = field(default_factory=dict)
    current: Interval | None = None
    #: closed but not yet written: a change at the same instant may still extend it
    held: Interval | None = None


@dataclass(slots=True)
class ProjectionState:
    seq: int = 0
    last_ms: int = 0
    persist_user_states: bool = False
    services: dict[str, ServiceConfig] = field(default_factory=dict)
    #: "workflow id@version" -> node id -> [target_type, target] of its transfer nodes
    transfer_nodes: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    tasks: dict[str, TaskTrack] = field(default_factory=dict)
    users: dict[str, UserTrack] = field(default_factory=dict)
    #: users whose `held` interval waits to be written
    held_users: list[str] = field(default_factory=list)


_STATE_ADAPTER: TypeAdapter[ProjectionState] | None = None


def _adapter() -> TypeAdapter[ProjectionState]:
    global _STATE_ADAPTER
    if _STATE_ADAPTER is None:
        _STATE_ADAPTER = TypeAdapter(ProjectionState)
    return _STATE_ADAPTER


def state_to_json(state: ProjectionState) -> bytes:
    return _adapter().dump_json(state)


def state_from_json(data: bytes | str) -> ProjectionState:
    return _adapter().validate_json(data)


# ---------------------------------------------------------------------- output


@dataclass(slots=True)
class Output:
    """Rows produced by the fold, in the order they concluded."""

    unified: list[UnifiedSessionRow] = field(default_factory=list)
    service: list[ServiceSessionRow] = field(default_factory=list)
    user: list[UserSessionRow] = field(default_factory=list)
    transfer: list[TransferSessionRow] = field(default_factory=list)
    states: list[UserStateRow] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.unified)
            + len(self.service)
            + len(self.user)
            + len(self.transfer)
            + len(self.states)
        )

    def extend(self, other: Output) -> None:
        self.unified += other.unified
        self.service += other.service
        self.user += other.user
        self.transfer += other.transfer
        self.states += other.states


# ---------------------------------------------------------------------- the fold


class Projector:
    """Folds a tenant's events into reporting rows (see the module docstring)."""

    def __init__(self, state: ProjectionState | None = None) -> None:
        self.state = state or ProjectionState()
        self.out = Output()

    @property
    def seq(self) -> int:
        return self.state.seq

    def take(self) -> Output:
        """The rows produced since the last call."""
        out, self.out = self.out, Output()
        return out

    def snapshot(self) -> bytes:
        """The in-flight state as JSON (`Projector(state_from_json(...))` resumes it)."""
        return state_to_json(self.state)

    def apply(self, event: Event) -> None:
        st = self.state
        if event.seq <= st.seq:
            raise ValueError(f"event {event.seq} is not after the projection's seq {st.seq}")
        st.seq = event.seq
        ms = to_ms(event.at)
        if ms > st.last_ms:
            if st.held_users:
                self._write_held()
            st.last_ms = ms
        handler = _HANDLERS.get(event.name)
        if handler is not None:
            handler(self, event.data, max(ms, st.last_ms))

    # ------------------------------------------------------------------ configuration

    def _config_upserted(self, d: dict[str, Any], ms: int) -> None:
        kind, entity = d["type"], d["entity"]
        st = self.state
        if kind == "tenant":
            persist = bool(entity.settings.persist_user_states)
            if persist != st.persist_user_states:
                st.persist_user_states = persist
                for user_id in list(st.users):
                    self._refresh_user(user_id, ms)
        elif kind == "service":
            st.services[entity.id] = ServiceConfig(
                ou_id=entity.ou_id,
                sla_acceptance_s=entity.reporting.sla_acceptance_s,
                sla_hangup_s=entity.reporting.sla_hangup_s,
            )
        elif kind == "user":
            user = self._user(entity.id)
            user.tracked = bool(entity.memberships)
            self._refresh_user(entity.id, ms)
        elif kind == "workflow" and entity.status.value == "published":
            nodes = {
                n.id: (str(n.settings.get("target_type", "")), str(n.settings.get("target", "")))
                for n in entity.document.nodes
                if n.type == "transfer"
            }
            if nodes:
                st.transfer_nodes[f"{entity.id}@{entity.version}"] = nodes

    def _config_removed(self, d: dict[str, Any], ms: int) -> None:
        if d["type"] == "user":
            user = self.state.users.get(d["id"])
            if user is not None:
                user.tracked = False
                self._refresh_user(d["id"], ms)
                if not user.sessions:
                    del self.state.users[d["id"]]

    # ------------------------------------------------------------------ tasks

    def _task_created(self, d: dict[str, Any], ms: int) -> None:
        task_id = d["task_id"]
        task = TaskTrack(
            id=task_id,
            unified_id=as_guid(d.get("unified_session_id") or task_id),
            kind=d["kind"],
            priority=int(d["priority"]),
            created_ms=ms,
            caller=d.get("caller"),
            customer_identifier=d.get("customer_identifier"),
            reference_id=d.get("reference_id"),
        )
        self.state.tasks[task_id] = task
        self._open_session(task, derived_id("service-session", task_id, 1), d["service_id"], ms)

    def _open_session(
        self,
        task: TaskTrack,
        session_id: str,
        service_id: str,
        ms: int,
        *,
        after: str | None = None,
    ) -> None:
        cfg = self.state.services.get(service_id)
        session = ServiceSession(
            id=session_id,
            sequence=len(task.sessions) + task.service_session_count + 1,
            service_id=service_id,
            ou_id=cfg.ou_id if cfg else None,
            sla_acceptance_s=cfg.sla_acceptance_s if cfg else 20,
            sla_hangup_s=cfg.sla_hangup_s if cfg else 20,
            started_ms=ms,
            transferred_from=after,
            phase_since=ms,
            # A task that was answered in an earlier session arrives answered (decision).
            accepted_ms=ms if task.accepted else None,
        )
        task.sessions.append(session)

    def _task(self, d: dict[str, Any]) -> TaskTrack | None:
        return self.state.tasks.get(d["task_id"])

    def _task_accepted(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is not None:
            task.accepted = True
            session = task.sessions[-1]
            if session.accepted_ms is None:
                session.accepted_ms = ms

    def _workflow_started(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is not None:
            task.run = f"{d['workflow_id']}@{d['workflow_version']}"

    def _task_queued(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is None:
            return
        s = task.sessions[-1]
        if s.first_enqueued_ms is None:
            s.first_enqueued_ms = ms
        s.in_queue = True
        _phase(s, "queue", ms)
        _level(s, d.get("policy_level"))

    def _task_policy_level_changed(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is not None:
            _level(task.sessions[-1], d.get("policy_level"))

    def _task_priority_changed(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is not None:
            task.priority = int(d["priority"])

    def _task_queue_exited(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is None:
            return
        s = task.sessions[-1]
        s.queue_exit_reason = d["reason"]
        if s.in_queue:
            s.in_queue = False
            s.queue_left_ms = ms
            _phase(s, "workflow", ms)

    def _task_offered(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is None:
            return
        s = task.sessions[-1]
        offer_id, user_id = d["offer_id"], d["user_id"]
        kind = d["offer_kind"]
        _engage(task, s, offer_id, user_id, kind, ms)
        s.offer_count += 1
        if s.first_offered_ms is None:
            s.first_offered_ms = ms
        if s.offers_out == 0:
            s.ring_since = ms
        s.offers_out += 1
        if kind == "transfer" and task.open_transfer is not None:
            task.open_transfer.offer_id = offer_id
        self._user_session(user_id, offer_id, "ringing", ms)

    def _close_offer(self, d: dict[str, Any], ms: int, outcome: str) -> None:
        task = self._task(d)
        if task is None:
            return
        e = task.engagements.get(d["offer_id"])
        if e is None or e.state != "incoming":
            return
        e.state, e.outcome, e.ended_ms = "ended", outcome, ms
        s = _session_of(task, e)
        _offer_gone(s, ms)
        if outcome == "rona":
            s.rona_count += 1
        self._user_session(e.user_id, d["offer_id"], None, ms)

    def _task_offer_withdrawn(self, d: dict[str, Any], ms: int) -> None:
        self._close_offer(d, ms, "cancelled")

    def _task_declined(self, d: dict[str, Any], ms: int) -> None:
        self._close_offer(d, ms, "declined")

    def _task_rona(self, d: dict[str, Any], ms: int) -> None:
        self._close_offer(d, ms, "rona")

    def _task_connected(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is None:
            return
        s = task.sessions[-1]
        if "external_party" in d:  # T35: a tracked workflow transfer was answered
            self._transfer_done(task, ms, "succeeded")
            _phase(s, "external", ms)
            return
        user_id = d["user_id"]
        offer_id = d.get("offer_id")
        if offer_id is None:  # a pickup: a session without an offer
            offer_id = d["session_id"]
            _engage(task, s, offer_id, user_id, "pickup", ms)
        else:
            _offer_gone(s, ms)
        e = task.engagements[offer_id]
        e.state, e.answered_ms = "connected", ms
        if s.in_queue:
            s.in_queue = False
            s.queue_left_ms = ms
            s.queue_exit_reason = "accepted"
        if s.user_connected_ms is None:
            s.user_connected_ms = ms
            s.first_accepting_user_id = user_id
        s.last_user_id = user_id
        _phase(s, "user", ms)
        transfer = task.open_transfer
        if transfer is not None and transfer.offer_id == offer_id:
            transfer.to_user_session_id = e.id
            self._transfer_done(task, ms, "succeeded")
        self._user_session(user_id, offer_id, "busy", ms)

    def _connected_engagement(self, d: dict[str, Any]) -> tuple[TaskTrack, Engagement] | None:
        task = self._task(d)
        if task is None:
            return None
        for e in task.engagements.values():
            if e.user_id == d["user_id"] and e.state in ("connected", "on_hold", "parked"):
                return task, e
        return None

    def _task_held(self, d: dict[str, Any], ms: int) -> None:
        found = self._connected_engagement(d)
        if found is not None:
            _, e = found
            e.state, e.hold_since = "on_hold", ms

    def _task_resumed(self, d: dict[str, Any], ms: int) -> None:
        found = self._connected_engagement(d)
        if found is not None:
            _, e = found
            _end_hold(e, ms)
            e.state = "connected"

    def _task_parked(self, d: dict[str, Any], ms: int) -> None:
        found = self._connected_engagement(d)
        if found is not None:
            task, e = found
            e.state, e.park_since = "parked", ms
            self._user_session(e.user_id, _offer_key(task, e), "parked", ms)

    def _task_unparked(self, d: dict[str, Any], ms: int) -> None:
        found = self._connected_engagement(d)
        if found is not None:
            task, e = found
            _end_park(e, ms)
            e.state = "connected"
            self._user_session(e.user_id, _offer_key(task, e), "busy", ms)

    def _task_codes_set(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        e = task.engagements.get(d["session_id"]) if task is not None else None
        if e is not None:  # the user's latest choice replaces the earlier one (01 §9)
            e.primary_code = d.get("primary_code_id")
            e.secondary_codes = list(d.get("secondary_code_ids") or ())
            e.tags = list(d.get("tag_ids") or ())

    def _task_voice_message_recorded(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is not None:
            task.sessions[-1].voice_message = True

    # ------------------------------------------------------------------ transfers

    def _open_transfer(
        self, task: TaskTrack, ms: int, seq: int, target_type: str, target: str
    ) -> Transfer:
        if task.open_transfer is not None:  # a new attempt ends the one nobody closed
            self._transfer_done(task, ms, "cancelled")
        s = task.sessions[-1]
        transfer = Transfer(
            id=derived_id("transfer", task.id, seq),
            service_session_id=s.id,
            started_ms=ms,
            target_type=target_type,
            target=target,
        )
        s.transfers.append(transfer)
        task.open_transfer = transfer
        return transfer

    def _transfer_done(
        self, task: TaskTrack, ms: int, result: str, error: str | None = None
    ) -> None:
        transfer = task.open_transfer
        if transfer is None:
            return
        transfer.result, transfer.error, transfer.ended_ms = result, error, ms
        task.open_transfer = None
        for s in task.sessions:
            if s.id == transfer.service_session_id:
                if result == "succeeded":
                    s.transfer_succeeded = True
                elif result == "failed":
                    s.transfer_failed = True

    def _task_transfer_started(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is not None:
            self._open_transfer(task, ms, self.state.seq, d["target_type"], d["target"])

    def _voice_command(self, d: dict[str, Any], ms: int) -> None:
        command = d.get("command") or {}
        kind = command.get("type")
        if kind not in ("transfer_blind", "redirect") or d.get("task_id") is None:
            return
        task = self._task(d)
        if task is None:
            return
        target = command.get("target") or (command.get("targets") or [{}])[0]
        target_type = _VOICE_TARGETS.get(str(target.get("type")), str(target.get("type")))
        self._open_transfer(task, ms, self.state.seq, target_type, str(target.get("value", "")))

    def _workflow_node_completed(self, d: dict[str, Any], ms: int) -> None:
        if d.get("activity") != "transfer" or d.get("exit") != "failed":
            return
        task = self._task(d)
        if task is None:
            return
        error = d.get("error")
        if task.open_transfer is None:  # refused before it began (05 RI2): still a record
            node = self.state.transfer_nodes.get(task.run or "", {}).get(d["node_id"])
            target_type, target = node if node is not None else ("unknown", "")
            self._open_transfer(task, ms, self.state.seq, target_type, target)
        self._transfer_done(task, ms, "failed", error)

    def _workflow_ended(self, d: dict[str, Any], ms: int) -> None:
        if d.get("reason") == "transferred_out":
            task = self._task(d)
            if task is not None:
                self._transfer_done(task, ms, "succeeded")

    def _task_transferred(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is None:
            return
        old = task.sessions[-1]
        new_id = as_guid(d["new_service_session_id"])
        transfer = task.open_transfer
        if transfer is not None:
            transfer.to_service_session_id = new_id
        self._transfer_done(task, ms, "succeeded")
        _leave(old, ms)
        old.end_reason = "transferred"
        self._open_session(task, new_id, d["service_id"], ms, after=old.id)
        self._conclude(task)

    # ------------------------------------------------------------------ the end of a task

    def _task_terminated(self, d: dict[str, Any], ms: int) -> None:
        task = self._task(d)
        if task is None:
            return
        s = task.sessions[-1]
        reason = d["end_reason"]
        # D7: the engine withdraws open offers just before it ends the task, so an
        # offer cancelled at this very instant was still ringing "at that moment".
        s.user_held_at_cancel = any(
            e.state in ("connected", "on_hold", "parked")
            or (e.state == "ended" and e.outcome == "cancelled" and e.ended_ms == ms)
            for e in task.engagements.values()
        )
        if reason == "customer_hangup":
            s.customer_left_ms = ms
            if s.accepted_ms is None:
                s.where_left = "before_accept"
            elif s.in_queue:
                s.where_left = "queue"
            elif s.queue_left_ms is not None:
                s.where_left = "ivr_after_queue"
            else:
                s.where_left = "ivr"
        if task.open_transfer is not None:
            result = "succeeded" if reason == "transferred_out" else "cancelled"
            self._transfer_done(task, ms, result)
        _leave(s, ms)
        s.end_reason = reason
        s.end_detail = d.get("detail")
        acw = set(d.get("acw_user_ids") or ())
        for key, e in task.engagements.items():
            if e.state == "incoming":
                e.state, e.outcome, e.ended_ms = "ended", "cancelled", ms
                self._user_session(e.user_id, key, None, ms)
            elif e.state in ("connected", "on_hold", "parked"):
                _end_hold(e, ms)
                _end_park(e, ms)
                e.connection_ended_ms = ms
                e.outcome = "accepted"
                if e.user_id in acw:
                    e.state = "acw_due"
                else:
                    e.state, e.ended_ms = "ended", ms
                self._user_session(e.user_id, key, None, ms)
        task.terminated = True
        task.ended_ms = ms
        self._conclude(task)

    def _user_acw_started(self, d: dict[str, Any], ms: int) -> None:
        user = self._user(d["user_id"])
        user.acw = True
        task = self._task(d)
        if task is not None:
            for e in task.engagements.values():
                if e.user_id == d["user_id"] and e.state == "acw_due":
                    e.state, e.acw_since = "in_acw", ms
        self._refresh_user(d["user_id"], ms)

    def _user_acw_ended(self, d: dict[str, Any], ms: int) -> None:
        user = self._user(d["user_id"])
        user.acw = False
        task = self._task(d)
        if task is not None:
            for e in task.engagements.values():
                if e.user_id == d["user_id"] and e.state in ("in_acw", "acw_due"):
                    since = e.acw_since if e.acw_since is not None else ms
                    e.acw_ms += ms - since
                    e.acw_end_reason = d.get("end_reason")
                    e.state, e.ended_ms = "ended", ms
            self._conclude(task)
        self._refresh_user(d["user_id"], ms)

    def _conclude(self, task: TaskTrack) -> None:
        """Write every service session that is over, with its user and transfer sessions."""
        while task.sessions:
            s = task.sessions[0]
            if s.ended_ms is None:
                return
            engagements = [task.engagements[k] for k in s.engagements]
            if any(e.state != "ended" for e in engagements):
                return
            task.sessions.pop(0)
            for key in s.engagements:
                del task.engagements[key]
            self._write_session(task, s, engagements)
        if task.terminated:
            self._write_unified(task)
            del self.state.tasks[task.id]

    def _write_session(
        self, task: TaskTrack, s: ServiceSession, engagements: list[Engagement]
    ) -> None:
        assert s.ended_ms is not None
        kind = TaskKind(task.kind)
        connected = [e for e in engagements if e.answered_ms is not None]
        deciding = max(connected, key=lambda e: e.answered_ms or 0, default=None)
        deciding_outcome = (
            USER_OUTCOME_BY_CODE[deciding.outcome or "accepted"] if deciding else None
        )
        outbound = kind.is_outbound
        outcome = service_outcome(
            Facts(
                outbound=outbound,
                deciding_user_outcome=deciding_outcome,
                voice_message=s.voice_message,
                callback_scheduled=False,
                transfer_succeeded=s.transfer_succeeded,
                transfer_failed=s.transfer_failed,
                end_reason=s.end_reason,
                end_detail=s.end_detail,
                user_held_at_cancel=s.user_held_at_cancel,
                where_left=s.where_left,
                last_queue_exit=s.queue_exit_reason,
            )
        )
        group = outcome.group
        user_rows = [self._user_row(task, s, e) for e in engagements]
        # 05 C6: a service session shows the first codes and tags a user chose for it.
        coded = next(
            (e for e in sorted(connected, key=lambda e: e.answered_ms or 0) if _has_codes(e)),
            None,
        )
        connected_ms = sum(r.connected_ms for r in user_rows)
        row = ServiceSessionRow(
            id=s.id,
            unified_session_id=task.unified_id,
            task_id=task.id,
            service_id=s.service_id,
            ou_id=s.ou_id,
            modality=kind.modality.value,
            direction=kind.direction.value,
            task_kind=kind.value,
            sequence=s.sequence,
            started_at=to_dt(s.started_ms),
            accepted_at=opt_dt(s.accepted_ms),
            first_enqueued_at=opt_dt(s.first_enqueued_ms),
            first_offered_at=opt_dt(s.first_offered_ms),
            user_connected_at=opt_dt(s.user_connected_ms),
            queue_left_at=opt_dt(s.queue_left_ms),
            customer_left_at=opt_dt(s.customer_left_ms),
            ended_at=to_dt(s.ended_ms),
            ivr_ms=s.ivr_ms,
            queue_ms=_since_enqueued(s, s.queue_left_ms),
            ring_ms=s.ring_ms,
            connected_ms=connected_ms,
            hold_ms=sum(r.hold_ms for r in user_rows),
            acw_ms=sum(r.acw_ms for r in user_rows),
            answer_wait_ms=_since_enqueued(s, s.user_connected_ms),
            hangup_wait_ms=_since_enqueued(s, s.customer_left_ms),
            outcome_id=int(outcome),
            outcome_group_id=int(group),
            handled=group.handled,
            kpi_excluded=outbound and deciding is None,
            end_reason=s.end_reason or "transferred",
            queue_exit_reason=s.queue_exit_reason,
            max_policy_level=s.max_policy_level,
            offer_count=s.offer_count,
            rona_count=s.rona_count,
            priority=task.priority,
            first_accepting_user_id=s.first_accepting_user_id,
            last_user_id=s.last_user_id,
            primary_code=coded.primary_code if coded else None,
            secondary_codes=_joined(coded.secondary_codes) if coded else None,
            tags=_joined(coded.tags) if coded else None,
            result_detail_id=None,
            reference_id=task.reference_id,
            outbound_call_id=None,
            outbound_attempt=None,
            transferred_from_service_session_id=s.transferred_from,
            sla_acceptance_s=s.sla_acceptance_s,
            sla_hangup_s=s.sla_hangup_s,
        )
        out = self.out
        out.service.append(row)
        out.user += user_rows
        for t in s.transfers:
            out.transfer.append(self._transfer_row(task, t))
        # the unified session (08 §2): counts and sums over its service sessions
        if task.first_service_id is None:
            task.first_service_id = s.service_id
        task.last_service_id = s.service_id
        task.service_session_count += 1
        task.user_session_count += len(user_rows)
        task.transfer_session_count += len(s.transfers)
        task.last_outcome, task.last_group = int(outcome), int(group)
        task.handled = task.handled or group.handled
        task.connected_ms += connected_ms
        if task.first_accepting_user_id is None:
            task.first_accepting_user_id = s.first_accepting_user_id

    def _user_row(self, task: TaskTrack, s: ServiceSession, e: Engagement) -> UserSessionRow:
        assert e.ended_ms is not None
        outcome = USER_OUTCOME_BY_CODE[e.outcome or "cancelled"]
        answered = e.answered_ms
        ring_end = answered if answered is not None else e.ended_ms
        connected = 0
        if answered is not None:
            end = e.connection_ended_ms if e.connection_ended_ms is not None else e.ended_ms
            connected = end - answered - e.parked_ms
        return UserSessionRow(
            id=e.id,
            service_session_id=s.id,
            unified_session_id=task.unified_id,
            task_id=task.id,
            user_id=e.user_id,
            service_id=e.service_id,
            offer_kind=e.offer_kind,
            offered_at=to_dt(e.offered_ms),
            answered_at=opt_dt(answered),
            ended_at=to_dt(e.ended_ms),
            ring_ms=ring_end - e.offered_ms,
            connected_ms=connected,
            hold_ms=e.hold_ms,
            parked_ms=e.parked_ms,
            acw_ms=e.acw_ms,
            acw_end_reason=e.acw_end_reason,
            outcome_id=int(outcome),
            outcome_group_id=int(outcome.group),
            is_transfer_target=e.offer_kind == "transfer",
            primary_code=e.primary_code,
            secondary_codes=_joined(e.secondary_codes),
            tags=_joined(e.tags),
            result_detail_id=None,
        )

    def _transfer_row(self, task: TaskTrack, t: Transfer) -> TransferSessionRow:
        by_id = t.target_type in _ID_TARGETS
        ended = t.ended_ms if t.ended_ms is not None else t.started_ms
        return TransferSessionRow(
            id=t.id,
            service_session_id=t.service_session_id,
            unified_session_id=task.unified_id,
            task_id=task.id,
            from_user_session_id=None,
            initiated_by="workflow",
            transfer_type="workflow",
            target_type=t.target_type,
            target_id=t.target if by_id else None,
            target_value=None if by_id else t.target,
            started_at=to_dt(t.started_ms),
            ended_at=to_dt(ended),
            result=t.result or "cancelled",
            error=t.error,
            to_service_session_id=t.to_service_session_id,
            to_user_session_id=t.to_user_session_id,
        )

    def _write_unified(self, task: TaskTrack) -> None:
        assert task.ended_ms is not None and task.last_outcome is not None
        assert task.first_service_id is not None and task.last_service_id is not None
        kind = TaskKind(task.kind)
        self.out.unified.append(
            UnifiedSessionRow(
                id=task.unified_id,
                task_id=task.id,
                first_service_id=task.first_service_id,
                last_service_id=task.last_service_id,
                modality=kind.modality.value,
                direction=kind.direction.value,
                task_kind=kind.value,
                customer_identifier=task.customer_identifier,
                caller_id=task.caller,
                started_at=to_dt(task.created_ms),
                ended_at=to_dt(task.ended_ms),
                service_session_count=task.service_session_count,
                user_session_count=task.user_session_count,
                transfer_session_count=task.transfer_session_count,
                outcome_id=task.last_outcome,
                outcome_group_id=task.last_group or 0,
                handled=task.handled,
                connected_ms=task.connected_ms,
                first_accepting_user_id=task.first_accepting_user_id,
            )
        )

    # ------------------------------------------------------------------ users

    def _user(self, user_id: str) -> UserTrack:
        user = self.state.users.get(user_id)
        if user is None:
            user = self.state.users[user_id] = UserTrack(user_id)
        return user

    def _user_session(self, user_id: str, key: str, kind: str | None, ms: int) -> None:
        user = self._user(user_id)
        if kind is None:
            user.sessions.pop(key, None)
        else:
            user.sessions[key] = kind
        self._refresh_user(user_id, ms)

    def _user_presence_changed(self, d: dict[str, Any], ms: int) -> None:
        self._user(d["user_id"]).presence = d["presence"]
        self._refresh_user(d["user_id"], ms)

    def _user_state_changed(self, d: dict[str, Any], ms: int) -> None:
        user = self._user(d["user_id"])
        for change in d["changes"]:
            user.selection[change["service_id"]] = (bool(change["selectable"]), change["reason"])
        self._refresh_user(d["user_id"], ms)

    def _user_not_available_changed(self, d: dict[str, Any], ms: int) -> None:
        self._user(d["user_id"]).reason_id = d.get("reason_id")
        self._refresh_user(d["user_id"], ms)

    def _user_rona_set(self, d: dict[str, Any], ms: int) -> None:
        self._user(d["user_id"]).rona = True
        self._refresh_user(d["user_id"], ms)

    def _user_rona_cleared(self, d: dict[str, Any], ms: int) -> None:
        self._user(d["user_id"]).rona = False
        self._refresh_user(d["user_id"], ms)

    def _refresh_user(self, user_id: str, ms: int) -> None:
        """Close and open the user's interval if their reporting state changed at `ms`."""
        user = self.state.users[user_id]
        wanted = _reporting_state(user) if user.tracked and self.state.persist_user_states else None
        current = user.current
        if current is not None and wanted == current.key():
            return
        if current is not None and ms > current.started_ms:
            self._write_interval(user, user.held)
            current.ended_ms = ms
            user.held = current
            self.state.held_users.append(user_id)
        elif wanted is not None and user.held is not None and user.held.key() == wanted:
            # A change back at the instant the held interval ended: it simply goes on.
            user.current, user.held = user.held, None
            user.current.ended_ms = None
            return
        user.current = None
        if wanted is not None:
            state, reason, presence = wanted
            user.current = Interval(state, reason, presence, ms)

    def _write_held(self) -> None:
        st = self.state
        for user_id in st.held_users:
            user = st.users.get(user_id)
            if user is not None and user.held is not None:
                self._write_interval(user, user.held)
                user.held = None
        st.held_users.clear()

    def _write_interval(self, user: UserTrack, interval: Interval | None) -> None:
        if (
            interval is None
            or interval.ended_ms is None
            or interval.ended_ms <= interval.started_ms
        ):
            return
        self.out.states.append(
            UserStateRow(
                id=derived_id("user-state", user.id, interval.started_ms),
                user_id=user.id,
                state=interval.state,
                not_available_reason_id=interval.reason,
                presence=interval.presence,
                started_at=to_dt(interval.started_ms),
                ended_at=to_dt(interval.ended_ms),
                duration_ms=interval.ended_ms - interval.started_ms,
            )
        )


def _reporting_state(user: UserTrack) -> tuple[str, str | None, str]:
    """08 §2.1: one state by precedence; (state, not-available reason, presence)."""
    presence = user.presence
    kinds = user.sessions.values()
    if presence in ("offline", "unknown"):
        state = ReportingState.OFFLINE
    elif "busy" in kinds:
        state = ReportingState.IN_TASK
    elif "ringing" in kinds:
        state = ReportingState.RINGING
    elif user.acw:
        state = ReportingState.IN_ACW
    elif user.rona:
        state = ReportingState.RONA
    elif user.reason_id is not None:
        return (ReportingState.NOT_AVAILABLE.code, user.reason_id, presence)
    elif any(selectable for selectable, _ in user.selection.values()):
        state = ReportingState.AVAILABLE
    elif any(reason in PRESENCE_REASONS for _, reason in user.selection.values()):
        state = ReportingState.PRESENCE_UNAVAILABLE
    else:
        state = ReportingState.OFF_DUTY
    return (state.code, None, presence)


# ---------------------------------------------------------------------- helpers


def _engage(
    task: TaskTrack, s: ServiceSession, key: str, user_id: str, offer_kind: str, ms: int
) -> None:
    """Open a user session of `s` under `key` (the offer id, or the session id of a pickup)."""
    task.engagements[key] = Engagement(
        id=as_guid(key),
        service_session_id=s.id,
        user_id=user_id,
        service_id=s.service_id,
        offer_kind=offer_kind,
        offered_ms=ms,
    )
    s.engagements.append(key)


def _since_enqueued(s: ServiceSession, until_ms: int | None) -> int | None:
    """Milliseconds from the first enqueue to `until_ms`; None unless the session queued
    and `until_ms` happened (queue time, answer wait and hang-up wait alike)."""
    if s.first_enqueued_ms is None or until_ms is None:
        return None
    return until_ms - s.first_enqueued_ms


def _phase(s: ServiceSession, phase: str, ms: int) -> None:
    if s.phase == "workflow":
        s.ivr_ms += ms - s.phase_since
    s.phase, s.phase_since = phase, ms


def _leave(s: ServiceSession, ms: int) -> None:
    """The task leaves the service session (transferred on, or ended) at `ms`."""
    if s.in_queue:
        s.in_queue = False
        s.queue_left_ms = ms
    if s.offers_out:
        s.offers_out = 1
        _offer_gone(s, ms)
    _phase(s, "ended", ms)
    s.ended_ms = ms


def _offer_gone(s: ServiceSession, ms: int) -> None:
    if s.offers_out > 0:
        s.offers_out -= 1
        if s.offers_out == 0 and s.ring_since is not None:
            s.ring_ms += ms - s.ring_since
            s.ring_since = None


def _level(s: ServiceSession, level: Any) -> None:
    if isinstance(level, int) and (s.max_policy_level is None or level > s.max_policy_level):
        s.max_policy_level = level


def _end_hold(e: Engagement, ms: int) -> None:
    if e.hold_since is not None:
        e.hold_ms += ms - e.hold_since
        e.hold_since = None


def _end_park(e: Engagement, ms: int) -> None:
    if e.park_since is not None:
        e.parked_ms += ms - e.park_since
        e.park_since = None


def _session_of(task: TaskTrack, e: Engagement) -> ServiceSession:
    for s in task.sessions:
        if s.id == e.service_session_id:
            return s
    return task.sessions[-1]


def _has_codes(e: Engagement) -> bool:
    return e.primary_code is not None or bool(e.secondary_codes) or bool(e.tags)


def _joined(values: list[str]) -> str | None:
    """A list column as 08 OD4 exposes it: `;`-joined, None when empty."""
    return ";".join(values) if values else None


def _offer_key(task: TaskTrack, e: Engagement) -> str:
    for key, other in task.engagements.items():
        if other is e:
            return key
    raise KeyError(e.id)


_HANDLERS: Final = {
    "config.upserted": Projector._config_upserted,
    "config.removed": Projector._config_removed,
    "task.created": Projector._task_created,
    "task.accepted": Projector._task_accepted,
    "workflow.started": Projector._workflow_started,
    "task.queued": Projector._task_queued,
    "task.policy_level_changed": Projector._task_policy_level_changed,
    "task.priority_changed": Projector._task_priority_changed,
    "task.queue_exited": Projector._task_queue_exited,
    "task.offered": Projector._task_offered,
    "task.offer_withdrawn": Projector._task_offer_withdrawn,
    "task.declined": Projector._task_declined,
    "task.rona": Projector._task_rona,
    "task.connected": Projector._task_connected,
    "task.held": Projector._task_held,
    "task.resumed": Projector._task_resumed,
    "task.parked": Projector._task_parked,
    "task.unparked": Projector._task_unparked,
    "task.voice_message_recorded": Projector._task_voice_message_recorded,
    "task.codes_set": Projector._task_codes_set,
    "task.transfer_started": Projector._task_transfer_started,
    "voice.command": Projector._voice_command,
    "workflow.node_completed": Projector._workflow_node_completed,
    "workflow.ended": Projector._workflow_ended,
    "task.transferred": Projector._task_transferred,
    "task.terminated": Projector._task_terminated,
    "user.acw_started": Projector._user_acw_started,
    "user.acw_ended": Projector._user_acw_ended,
    "user.presence_changed": Projector._user_presence_changed,
    "user.state_changed": Projector._user_state_changed,
    "user.not_available_changed": Projector._user_not_available_changed,
    "user.rona_set": Projector._user_rona_set,
    "user.rona_cleared": Projector._user_rona_cleared,
}
