"""The workflow interpreter's engine side: runs `step` and journals what it decides.

The decisions are pure (`switchboard.domain.workflow.step`); this module feeds
them their inputs and turns their results into events, which the state applies
like any other: `workflow.started`, `workflow.node_entered`,
`workflow.node_waiting` (with the deadline the timer heap arms),
`workflow.node_completed` (the exit taken, with the node's entry and completion
times), `workflow.warning`, `workflow.ended`, and the outbox events
`voice.command` (a provider command, sent only once journaled), `chat.message`
and `email.reply`. Task facts the workflow changes are the task's own events
(`task.accepted`, `task.queued`, `task.parameter_updated`, ...).

Inputs for a run — a node entered, a timer, a provider event, the queue's
answer — go through one inbox per engine and are handled one after another.
An effect may produce the next input (enqueueing may find the queue full at
once): it waits its turn instead of re-entering the step that caused it, so
every step sees the node exactly as its events left it. Between a node's
completion and the next node's entry, inputs meant for the old node are
dropped.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import (
    DistributionType,
    EndReason,
    Modality,
    OfferKind,
    Priority,
    QueueExitReason,
    TaskKind,
    TaskState,
    UserOrdering,
)
from switchboard.domain.opening_hours import OpeningHours
from switchboard.domain.task import QueueSpec, Task
from switchboard.domain.workflow import runtime as rt
from switchboard.domain.workflow.document import Node, Workflow
from switchboard.domain.workflow.rendering import AUDIO_RESOURCE_URI
from switchboard.domain.workflow.step import step

if TYPE_CHECKING:
    from switchboard.engine.engine import Engine
    from switchboard.engine.state import TenantState

__all__ = ["ERROR_PROMPT", "ERROR_PROMPT_LIMIT_S", "SLOTS", "TRANSFER_LIMIT", "Runner"]

log = logging.getLogger(__name__)

#: The service slot each task kind's workflow sits in (01 §4.4).
SLOTS: dict[TaskKind, str] = {
    TaskKind.AUDIO_INBOUND: "audio_inbound",
    TaskKind.CHAT_INBOUND: "chat_inbound",
    TaskKind.EMAIL_INBOUND: "email_inbound",
    TaskKind.EXTERNAL_TASK: "external_task_inbound",
}
#: Workflow transfers one task may make between services (decision: a guard against
#: services that send a caller back and forth without end; RT7 counts per session).
TRANSFER_LIMIT = 50
_QUEUE_NODES = frozenset({"queue", "queue_task"})
#: The wait of a failed run while the caller hears the tenant's error prompt (RT6).
ERROR_PROMPT = "error_prompt"
#: The longest the engine waits for the error prompt to end before it hangs up anyway.
ERROR_PROMPT_LIMIT_S = 60.0
#: Ends after which the provider call is gone already: nothing to hang up.
_CALL_GONE = frozenset({EndReason.CUSTOMER_HANGUP, EndReason.TRANSFERRED_OUT})


class _Next:
    """Input: enter this node (the previous one completed towards it)."""

    __slots__ = ("node_id",)

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id


class Runner:
    """Drives every workflow run of one engine; the engine owns it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inbox: deque[tuple[str, rt.Input | _Next]] = deque()
        self._draining = False

    @property
    def state(self) -> TenantState:
        return self.engine.state

    # ------------------------------------------------------------------ lookups

    def workflow_for(self, task: Task) -> Workflow | None:
        """The published workflow the task's service assigns to its kind (RT1), if any."""
        slot = SLOTS.get(task.kind)
        service = self.state.services.get(task.service_id)
        if slot is None or service is None or not service.workflows:
            return None
        workflow_id = service.workflows.get(slot)
        return self.state.published_workflows.get(workflow_id) if workflow_id else None

    def running(self, task_id: str) -> rt.WorkflowRun | None:
        return self.state.runs.get(task_id)

    # ------------------------------------------------------------------ entry points

    def start(self, task: Task, workflow: Workflow) -> None:
        """A service session begins with `workflow` (T2): run it from its start node."""
        self.engine._emit(
            "task.workflow_started",
            {"task_id": task.id, "workflow_id": workflow.id, "workflow_version": workflow.version},
        )
        self.engine._emit(
            "workflow.started",
            {
                "task_id": task.id,
                "workflow_id": workflow.id,
                "workflow_version": workflow.version,
                "service_id": task.service_id,
            },
        )
        start = workflow.document.starts[0]
        self.feed(task.id, _Next(start.id))

    def feed(self, task_id: str, given: rt.Input | _Next) -> None:
        """Hand a run an input; it is handled now, or after the one being handled."""
        self._inbox.append((task_id, given))
        if self._draining:
            return
        self._draining = True
        try:
            while self._inbox:
                next_task, next_input = self._inbox.popleft()
                self._handle(next_task, next_input)
        finally:
            self._draining = False
            self._inbox.clear()

    def timer(self, task_id: str, token: object) -> None:
        run = self.running(task_id)
        if run is None or run.wait_seq != token or run.wait is None or run.wait.deadline is None:
            return  # armed for an earlier wait
        if run.wait.deadline <= self.engine.clock.now():
            self.feed(task_id, rt.Timeout())

    def queue_left(self, task: Task, reason: str) -> bool:
        """The queue gave up on the task; False when no workflow runs (minimal path).

        A `queue` node waiting for it takes the matching exit; a task queued by
        `queue_task` just records why (for `check_task`) and its workflow runs on.
        """
        run = self.running(task.id)
        if run is None:
            return False
        if not run.node_done and run.activity in _QUEUE_NODES:
            self.feed(task.id, rt.QueueLeft(reason))
        return True

    def offer_closed(self, task: Task, kind: OfferKind, error: str) -> None:
        """An offer ended unaccepted; a workflow's transfer offer takes `failed`."""
        if (
            kind is OfferKind.TRANSFER
            and task.state is TaskState.IN_WORKFLOW
            and (self.running(task.id) is not None)
        ):
            self.feed(task.id, rt.TransferFailed(error))

    def parameter_changed(self, task: Task, parameter_id: str, value: str) -> None:
        run = self.running(task.id)
        if run is not None and not run.node_done and run.activity == "wait_for_parameter":
            self.feed(task.id, rt.ParameterChanged(parameter_id, value))

    def voice(self, task: Task, event: v.VoiceEvent) -> None:
        run = self.running(task.id)
        if run is not None and (not run.node_done or _announcing_error(run)):
            self.feed(task.id, rt.Voice(event))

    def handed_over(self, task: Task) -> None:
        """A user took the task (RT3): the workflow stops, its prompt is cancelled."""
        run = self.running(task.id)
        if run is None:
            return
        if run.wait is not None and run.wait.command_id is not None and task.call_id:
            self.engine._voice(
                task, v.CancelMedia(command_id=self.engine.ids(), call_id=task.call_id)
            )
        self._ended(run, rt.Ending.HANDED_OVER, None)

    def stop(self, task: Task, end_reason: EndReason, *, call_gone: bool = False) -> None:
        """The task ends from outside the workflow (RT2 hang-up, the API, an error).

        Pending media end with the call; a call the customer has not left (and the
        provider still has: not `call_gone`) is hung up, since no workflow is there
        any more to talk to the caller.
        """
        run = self.running(task.id)
        if run is None:
            return
        self._ended(run, rt.Ending.TASK_ENDED, end_reason.value)
        if task.call_id is not None and not call_gone and end_reason not in _CALL_GONE:
            self.engine._voice(task, v.HangUp(command_id=self.engine.ids(), call_id=task.call_id))

    # ------------------------------------------------------------------ the loop

    def _handle(self, task_id: str, given: rt.Input | _Next) -> None:
        run = self.running(task_id)
        task = self.state.tasks.get(task_id)
        if run is None or task is None:
            return  # the run ended meanwhile: the input is moot
        if _announcing_error(run):
            self._error_prompt_input(run, given)
            return
        if isinstance(given, _Next):
            self._enter(task, run, given.node_id)
            return
        if run.node_done or run.node_id is None:
            return  # meant for the node that just completed
        node = run.workflow.document.node(run.node_id)
        assert node is not None
        self._apply(task, run, node, step(node, task.modality, run.wait, given, self._facts(task)))

    def _enter(self, task: Task, run: rt.WorkflowRun, node_id: str) -> None:
        node = run.workflow.document.node(node_id)
        if node is None:  # pragma: no cover - published documents are validated
            self._fail(task, run, "unknown_node", f"The workflow has no node {node_id!r}.")
            return
        execution = run.executions + 1
        if execution > rt.LOOP_LIMIT:
            self._fail(
                task,
                run,
                "loop_guard",
                f"More than {rt.LOOP_LIMIT} node executions in one service session (RT7).",
            )
            return
        self.engine._emit(
            "workflow.node_entered",
            {"task_id": task.id, "node_id": node.id, "activity": node.type, "execution": execution},
        )
        self._apply(task, run, node, step(node, task.modality, None, rt.Enter(), self._facts(task)))

    def _apply(self, task: Task, run: rt.WorkflowRun, node: Node, result: rt.Step) -> None:
        emit = self.engine._emit
        for note in result.notes:
            emit(
                "workflow.warning",
                {
                    "task_id": task.id,
                    "node_id": node.id,
                    "code": note.code,
                    "message": note.message,
                },
            )
        for effect in result.effects:
            self._effect(task, run, effect)
            if self.running(task.id) is not run:
                return  # the effect handed the task on (a transfer) or ended it
        for command in result.commands:
            self.engine._voice(task, command)
        if result.end is not None:
            self._ended(run, result.end, result.error)
            return
        if result.exit is not None:
            emit(
                "workflow.node_completed",
                {
                    "task_id": task.id,
                    "node_id": node.id,
                    "activity": node.type,
                    "exit": result.exit,
                    "error": result.error,
                    "entered_at": run.node_entered_at,
                    "completed_at": self.engine.clock.now(),
                },
            )
            target = node.exits.get(result.exit)
            if target is None:  # pragma: no cover - published documents are validated
                self._fail(task, run, "exit_not_connected", f"Exit {result.exit!r} leads nowhere.")
                return
            self.feed(task.id, _Next(target))
            return
        if result.wait is not None:
            emit(
                "workflow.node_waiting",
                {"task_id": task.id, "node_id": node.id, "wait": result.wait.to_json()},
            )

    def _fail(self, task: Task, run: rt.WorkflowRun, error: str, message: str) -> None:
        self.engine._emit(
            "workflow.warning",
            {"task_id": task.id, "node_id": run.node_id, "code": error, "message": message},
        )
        self._ended(run, rt.Ending.FAILED, error)

    def _ended(self, run: rt.WorkflowRun, ending: rt.Ending, error: str | None) -> None:
        """End the run; what becomes of the task follows from how it ended."""
        engine = self.engine
        task = self.state.tasks[run.task_id]
        if ending is rt.Ending.FAILED and self._announce_error(task, run, error):
            return  # the run ends once the caller has heard the error prompt
        engine._emit("workflow.ended", _ended_data(task, run, ending, error))
        if ending is rt.Ending.DISCONNECTED:
            engine._terminate(task, EndReason.WORKFLOW_DISCONNECT)
        elif ending is rt.Ending.TRANSFERRED_OUT:
            engine._terminate(task, EndReason.TRANSFERRED_OUT)
        elif ending is rt.Ending.FAILED:
            if task.call_id is not None and task.kind.is_audio:
                engine._voice(task, v.HangUp(command_id=engine.ids(), call_id=task.call_id))
            engine._terminate(task, EndReason.ERROR, detail=error)

    def _announce_error(self, task: Task, run: rt.WorkflowRun, error: str | None) -> bool:
        """RT6: before a failed run ends the task in error, the caller hears the tenant's
        error prompt, if there is one and the call is up; False when nothing is played.

        The run waits in the `error_prompt` phase (journaled as `workflow.node_waiting`
        with the error as memo) until the playback ends, fails, or `ERROR_PROMPT_LIMIT_S`
        passes; then it ends `failed` as it would have at once. A task queued by
        `queue_task` leaves its queue first, so nobody is offered a call about to end.
        """
        prompt = _error_prompt(self.state.tenant)
        if (
            prompt is None
            or task.call_id is None
            or not task.kind.is_audio
            or task.accepted_at is None
            or (run.wait is not None and run.wait.phase in ("answering", ERROR_PROMPT))
        ):
            return False  # no prompt, no call, not answered (yet), or the prompt itself failed
        engine = self.engine
        if task.is_waiting:
            engine._leave_queue(task, QueueExitReason.CANCELLED)
        play = v.PlayPrompt(command_id=engine.ids(), call_id=task.call_id, prompts=(prompt,))
        engine._voice(task, play)
        wait = rt.Wait(
            ERROR_PROMPT,
            play.command_id,
            engine.clock.now() + ERROR_PROMPT_LIMIT_S,
            memo=error,
        )
        engine._emit(
            "workflow.node_waiting",
            {"task_id": task.id, "node_id": run.node_id, "wait": wait.to_json()},
        )
        return True

    def _error_prompt_input(self, run: rt.WorkflowRun, given: rt.Input | _Next) -> None:
        """While the error prompt plays, only its end (or the time limit) matters."""
        wait = run.wait
        assert wait is not None
        over = isinstance(given, rt.Timeout)
        if isinstance(given, rt.Voice):
            event = given.event
            over = isinstance(event, (v.MediaCompleted, v.OperationFailed)) and (
                event.command_id == wait.command_id
            )
        if over:
            self._ended(run, rt.Ending.FAILED, wait.memo)

    # ------------------------------------------------------------------ effects

    def _effect(self, task: Task, run: rt.WorkflowRun, effect: rt.Effect) -> None:
        engine = self.engine
        emit = engine._emit
        if isinstance(effect, rt.Accept):
            if task.accepted_at is None:
                emit("task.accepted", {"task_id": task.id})
        elif isinstance(effect, rt.Enqueue):
            self._enqueue(task, effect)
        elif isinstance(effect, rt.LeaveQueue):
            if task.is_waiting:
                engine._leave_queue(task, QueueExitReason.CANCELLED)
        elif isinstance(effect, rt.SetParameter):
            emit(
                "task.parameter_updated",
                {
                    "task_id": task.id,
                    "parameter_id": effect.parameter_id,
                    "value": effect.value,
                    "source": "workflow",
                },
            )
        elif isinstance(effect, rt.RecordConsent):
            emit(
                "task.consent_recorded",
                {
                    "task_id": task.id,
                    "purpose": effect.purpose,
                    "value": "granted" if effect.granted else "not_granted",
                },
            )
        elif isinstance(effect, rt.SendMessage):
            emit("chat.message", {"task_id": task.id, "text": effect.text})
        elif isinstance(effect, rt.SendEmail):
            emit(
                "email.reply",
                {"task_id": task.id, "subject": effect.subject, "body": effect.body},
            )
        elif isinstance(effect, rt.VoiceMessage):
            emit(
                "task.voice_message_recorded",
                {
                    "task_id": task.id,
                    "service_id": task.service_id,
                    "recording_ref": effect.recording_ref,
                    "duration_s": effect.duration_s,
                    "mailbox": effect.mailbox,
                    "notify": [dict(n) for n in effect.notify],
                },
            )
        elif isinstance(effect, rt.ConnectExternal):
            emit("workflow.ended", _ended_data(task, run, rt.Ending.HANDED_OVER))
            emit("task.connected", {"task_id": task.id, "external_party": effect.target})
        elif isinstance(effect, rt.TransferToService):
            self._to_service(task, run, effect)
        elif isinstance(effect, rt.OfferToUser):
            self._to_user(task, effect)

    def _enqueue(self, task: Task, effect: rt.Enqueue) -> None:
        engine = self.engine
        if effect.priority is not None:
            priority = Priority.parse(effect.priority)
            if priority is not task.priority:
                engine._emit(
                    "task.priority_changed", {"task_id": task.id, "priority": int(priority)}
                )
        spec = QueueSpec(
            distribution_type=DistributionType(effect.distribution_type),
            rona_timeout_s=effect.rona_timeout_s,
            max_queue_time_s=effect.max_queue_time_s,
            user_ordering=UserOrdering(effect.user_ordering) if effect.user_ordering else None,
            exit_when_no_users=effect.exit_when_no_users,
        )
        if engine._enqueue(task, spec):
            self.feed(task.id, rt.Queued())
        else:
            self.feed(task.id, rt.QueueLeft("full"))

    def _to_service(self, task: Task, run: rt.WorkflowRun, effect: rt.TransferToService) -> None:
        """05 §4 "to service": only existence and `enabled` are checked."""
        target = self.state.services.get(effect.service_id)
        error = None
        if target is None:
            error = "target_not_found"
        elif not target.enabled:
            error = "service_disabled"
        elif task.transfer_count >= TRANSFER_LIMIT:
            error = "transfer_limit"
        if error is not None:
            self.feed(task.id, rt.TransferFailed(error))
            return
        assert target is not None
        engine = self.engine
        engine._emit(
            "task.transfer_started",
            {
                "task_id": task.id,
                "transfer_type": "workflow",
                "target_type": "service",
                "target": target.id,
                "initiated_by": "workflow",
            },
        )
        engine._emit("workflow.ended", _ended_data(task, run, rt.Ending.HANDED_OVER))
        engine._emit(
            "task.transferred",
            {
                "task_id": task.id,
                "target_type": "service",
                "service_id": target.id,
                "from_service_id": task.service_id,
                "keep_queue_position": effect.keep_queue_position,
                "new_service_session_id": engine.ids(),
            },
        )
        workflow = self.workflow_for(task)
        if workflow is not None:
            self.start(task, workflow)
        else:
            engine._minimal_workflow(task)

    def _to_user(self, task: Task, effect: rt.OfferToUser) -> None:
        """05 §4 G4: the target exists, is enabled and is free; presence is not checked."""
        st = self.state
        user = st.users.get(effect.user_id)
        live = st.live.get(effect.user_id)
        error = None
        if user is None:
            error = "target_not_found"
        elif not user.enabled:
            error = "target_disabled"
        elif live is not None and (
            live.rona is not None or live.blocking_task() is not None or live.ringing() is not None
        ):
            error = "target_in_task"
        if error is not None:
            self.feed(task.id, rt.TransferFailed(error))
            return
        engine = self.engine
        now = engine.clock.now()
        engine._emit(
            "task.transfer_started",
            {
                "task_id": task.id,
                "transfer_type": "workflow",
                "target_type": "user",
                "target": effect.user_id,
                "initiated_by": "workflow",
            },
        )
        offer_id = engine.ids()
        engine._emit(
            "task.offered",
            {
                "task_id": task.id,
                "offer_id": offer_id,
                "user_id": effect.user_id,
                "offer_kind": OfferKind.TRANSFER.value,
                "timeout_s": effect.ring_timeout_s,
                "expires_at": now + effect.ring_timeout_s,
                "generation": task.offer_generation + 1,
            },
        )
        # The target's phone rings into the answered call, as a queue offer's does.
        engine._ring(task, offer_id, effect.user_id, effect.ring_timeout_s)

    # ------------------------------------------------------------------ facts

    def _facts(self, task: Task) -> _Facts:
        return _Facts(self.engine, task)


def _announcing_error(run: rt.WorkflowRun) -> bool:
    return run.wait is not None and run.wait.phase == ERROR_PROMPT


def _error_prompt(tenant: cfg.Tenant) -> v.Prompt | None:
    """The tenant's error prompt as the provider plays it (text escaped for speech)."""
    setting = tenant.settings.error_prompt
    if setting is None:
        return None
    language = setting.language or tenant.default_language
    if setting.audio_resource_id is not None:
        uri = AUDIO_RESOURCE_URI.format(setting.audio_resource_id)
        return v.Prompt(audio_uri=uri, language=language)
    return v.Prompt(tts=escape(setting.text or ""), language=language)


def _ended_data(
    task: Task, run: rt.WorkflowRun, ending: rt.Ending, error: str | None = None
) -> dict[str, Any]:
    return {"task_id": task.id, "node_id": run.node_id, "reason": ending.value, "error": error}


class _Facts:
    """The task and tenant as a step may see them (`runtime.Facts`)."""

    def __init__(self, engine: Engine, task: Task) -> None:
        self._engine = engine
        self._task = task
        self.now = engine.clock.now()

    @property
    def modality(self) -> Modality:
        return self._task.kind.modality

    @property
    def call_id(self) -> str | None:
        return self._task.call_id

    @property
    def accepted(self) -> bool:
        return self._task.accepted_at is not None

    @property
    def queued_in_background(self) -> bool:
        return self._task.is_waiting

    @property
    def queued_this_session(self) -> bool:
        return self._task.queued_once

    @property
    def queue_status(self) -> str:
        task = self._task
        if task.is_waiting:
            return "waiting"
        if task.last_queue_exit == QueueExitReason.NO_USERS.value:
            return "no_users"
        return "timeout"

    @property
    def language(self) -> str:
        return self._engine.state.tenant.default_language

    def new_id(self) -> str:
        return self._engine.ids()

    def lookup(self, subject: str) -> str | None:
        namespace, _, name = subject.strip().partition(".")
        if namespace == "param":
            value = self._task.custom_context.get(name)
            return value if value is not None else self.parameter_default(name)
        if namespace == "system":
            return self._system(name)
        return None  # customer data arrives with the channels and integrations

    def parameter_default(self, parameter_id: str) -> str | None:
        parameter = self._engine.state.parameters.get(parameter_id)
        return parameter.default_value if parameter is not None else None

    def _system(self, name: str) -> str | None:
        task = self._task
        st = self._engine.state
        if name.startswith("consent."):
            return task.consents.get(name.removeprefix("consent."), "not_granted")
        service = st.services.get(task.service_id)
        origin = st.services.get(task.origin_service_id)
        caller = task.caller or ""
        values: dict[str, str | None] = {
            "task.id": task.id,
            "task.kind": task.kind.value,
            "task.created": datetime.fromtimestamp(task.created_at, UTC).isoformat(),
            "task.transfer_count": str(task.transfer_count),
            "service.id": task.service_id,
            "service.name": service.name if service else None,
            "service.display_name": (service.display_name or service.name) if service else None,
            "service.upn": service.upn if service else None,
            "service.tel_number": service.pstn_number if service else None,
            "origin_service.id": task.origin_service_id,
            "origin_service.name": origin.name if origin else None,
            "caller.id": caller or None,
            "caller.tel_number": caller if caller.startswith("+") else None,
            "caller.upn": caller if "@" in caller else None,
            "caller.is_anonymous": "false" if caller else "true",
            "destination.tel_number": service.pstn_number if service else None,
            "destination.upn": service.upn if service else None,
        }
        return values.get(name)

    def opening_state(self, calendar: str) -> str:
        st = self._engine.state
        at = datetime.fromtimestamp(self.now, UTC)
        zone = st.tenant.time_zone
        if calendar == "service":
            service = st.services[self._task.service_id]
            hours = OpeningHours.of_service(
                service.name,
                st.calendars.get(service.primary_calendar_id or ""),
                st.calendars.get(service.secondary_calendar_id or ""),
                tenant_zone=zone,
            )
        else:
            found = st.calendars.get(calendar)
            if found is None:
                return "open"  # pragma: no cover - a calendar in use cannot be removed
            hours = OpeningHours.of_calendar(found, tenant_zone=zone)
        return hours.resolve(at).state.value

    def availability(self, service_id: str | None, modality: str | None) -> str:
        """3.10 over the service's members, with 02 §6.3 and 03 §6 X2's "online"."""
        engine = self._engine
        st = engine.state
        service = st.services.get(service_id or self._task.service_id)
        if service is None:
            return "nobody_online"
        wanted = Modality(modality) if modality else self._task.kind.modality
        online = False
        for user_id in sorted(st.members.get(service.id, ())):
            if not st.member_online(user_id, service):
                continue
            online = True
            if engine.availability(user_id, service.id, wanted).selectable:
                return "available"
        return "all_busy" if online else "nobody_online"
