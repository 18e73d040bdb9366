"""The vocabulary of a running workflow (04 §4): what a node waits for, what happens
to it, what it asks the engine and the provider to do, and the run's state.

The interpreter is split so that every decision is pure: `step` (module `step`)
takes one node, what it is waiting for, one input and a read-only view of the
task (`Facts`), and returns a `Step` — the exit taken or the new wait, the
provider commands to issue and the engine effects to carry out. The engine
journals all of it as events and changes the run only by applying them, so a
replayed journal puts a run back at the same node with the same wait and the
same deadline.

Nothing here does I/O or reads a clock: the time is `Facts.now`, ids come from
`Facts.new_id`, both injected by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from switchboard.domain.enums import Modality
from switchboard.domain.voice import VoiceCommand, VoiceEvent
from switchboard.domain.workflow.document import Workflow

__all__ = [
    "LOOP_LIMIT",
    "MAX_PARAMETER_LENGTH",
    "Accept",
    "ConnectExternal",
    "Effect",
    "Ending",
    "Enqueue",
    "Enter",
    "Facts",
    "Input",
    "LeaveQueue",
    "Note",
    "OfferToUser",
    "ParameterChanged",
    "QueueLeft",
    "Queued",
    "RecordConsent",
    "SendEmail",
    "SendMessage",
    "SetParameter",
    "Step",
    "Timeout",
    "TransferFailed",
    "TransferToService",
    "Voice",
    "VoiceMessage",
    "Wait",
    "WorkflowRun",
]

#: RT7: node executions allowed in one service session before the task ends in error.
LOOP_LIMIT = 10_000
#: Custom parameter values are at most this long (01 §8); longer values are cut (3.9).
MAX_PARAMETER_LENGTH = 5120


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True, slots=True)
class Enter:
    """The node has just been entered."""


@dataclass(frozen=True, slots=True)
class Timeout:
    """The deadline of the node's wait has passed."""


@dataclass(frozen=True, slots=True)
class Voice:
    """A provider event about the task's call."""

    event: VoiceEvent


@dataclass(frozen=True, slots=True)
class Queued:
    """The engine put the task into its service's queue (after `Enqueue`)."""


@dataclass(frozen=True, slots=True)
class QueueLeft:
    """The task left the queue without a user: `timeout`, `no_users` or `full`."""

    reason: str


@dataclass(frozen=True, slots=True)
class TransferFailed:
    """A transfer the engine carries out (to a service or a user) did not happen;
    `error` is a code of 05 §9 (`target_not_found`, `no_answer`, ...)."""

    error: str


@dataclass(frozen=True, slots=True)
class ParameterChanged:
    """A custom parameter of the task got a new value from outside the workflow."""

    parameter_id: str
    value: str


Input = Enter | Timeout | Voice | Queued | QueueLeft | TransferFailed | ParameterChanged


# ------------------------------------------------------------------ waiting


@dataclass(frozen=True, slots=True)
class Wait:
    """What a node waits for: a provider result, the engine, or the clock.

    `phase` names the activity's stage (`collect`, `notice`, `queued`, ...);
    `command_id` the provider command whose result is awaited (a result for any
    other command is stale and ignored); `deadline` when `Timeout` arrives;
    `attempt` the retries used so far; `memo` one value the stage needs later
    (the exit a notice prompt leads back to, the transfer target kind).
    """

    phase: str
    command_id: str | None = None
    deadline: float | None = None
    attempt: int = 0
    memo: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "command_id": self.command_id,
            "deadline": self.deadline,
            "attempt": self.attempt,
            "memo": self.memo,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Wait:
        return cls(
            phase=data["phase"],
            command_id=data.get("command_id"),
            deadline=data.get("deadline"),
            attempt=data.get("attempt", 0),
            memo=data.get("memo"),
        )


# ------------------------------------------------------------------ effects


@dataclass(frozen=True, slots=True)
class Accept:
    """System acceptance (T7): `accepted_at` is set, `task.accepted` emitted."""


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Queue the task (T8); `background` for `queue_task`, whose workflow runs on."""

    distribution_type: str
    rona_timeout_s: int
    max_queue_time_s: int
    exit_when_no_users: bool
    priority: str | None = None
    user_ordering: str | None = None
    background: bool = False


@dataclass(frozen=True, slots=True)
class LeaveQueue:
    """Take the task out of its queue and withdraw its offers (`cancel_task`, RT9)."""


@dataclass(frozen=True, slots=True)
class SetParameter:
    parameter_id: str
    value: str


@dataclass(frozen=True, slots=True)
class RecordConsent:
    """`system.consent.<purpose>` becomes `granted` or `not_granted` (3.18)."""

    purpose: str
    granted: bool


@dataclass(frozen=True, slots=True)
class SendMessage:
    """A chat message to the customer (for the chat channel, through the outbox)."""

    text: str


@dataclass(frozen=True, slots=True)
class SendEmail:
    """A reply to the customer's mail (for the mail channel, through the outbox)."""

    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class TransferToService:
    """Hand the task to another service: a new service session runs its workflow."""

    service_id: str
    keep_queue_position: bool = False


@dataclass(frozen=True, slots=True)
class OfferToUser:
    """Offer the task to one user (offer kind `transfer`, no RONA, 05 §4)."""

    user_id: str
    ring_timeout_s: int


@dataclass(frozen=True, slots=True)
class ConnectExternal:
    """A tracked transfer to a number or UPN was answered: the task is connected (T35)."""

    target: str


@dataclass(frozen=True, slots=True)
class VoiceMessage:
    """A voice message was recorded for a mailbox (`task.voice_message_recorded`)."""

    recording_ref: str
    duration_s: float
    mailbox: str
    notify: tuple[dict[str, str], ...] = ()


Effect = (
    Accept
    | Enqueue
    | LeaveQueue
    | SetParameter
    | RecordConsent
    | SendMessage
    | SendEmail
    | TransferToService
    | OfferToUser
    | ConnectExternal
    | VoiceMessage
)


# ------------------------------------------------------------------ results


class Ending(StrEnum):
    """How a run ends, and what becomes of the task."""

    #: `disconnect`: the task ends `workflow_disconnect`.
    DISCONNECTED = "disconnected"
    #: Accepted by a user, transferred to a service or user, or connected to an
    #: external party: the task lives on without this run.
    HANDED_OVER = "handed_over"
    #: Sent out of Switchboard (a redirect, or a transfer with `leave`): the task
    #: ends `transferred_out`.
    TRANSFERRED_OUT = "transferred_out"
    #: An activity failed (RT6) or the loop guard struck (RT7): the task ends `error`.
    FAILED = "failed"
    #: The customer left (RT2), or the task was ended from outside.
    TASK_ENDED = "task_ended"


@dataclass(frozen=True, slots=True)
class Note:
    """Something worth a warning in the journal (RT4 empty placeholders, RT6 failures)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Step:
    """What one input does to a node.

    Exactly one of `exit` (the node completes through it), `end` (the run ends
    here) and `wait` (the node waits anew) is set when the node moves on; with
    none of them the node keeps waiting as it was (a stale provider result, a
    digit nobody asked for). Effects are carried out first, then the commands
    are issued, then the node moves.
    """

    exit: str | None = None
    wait: Wait | None = None
    end: Ending | None = None
    #: Why the run ended in error, or why a transfer failed.
    error: str | None = None
    commands: tuple[VoiceCommand, ...] = ()
    effects: tuple[Effect, ...] = ()
    notes: tuple[Note, ...] = ()


# ------------------------------------------------------------------ the task, read-only


class Facts(Protocol):
    """What a step may know about its task and tenant; the engine implements it."""

    @property
    def now(self) -> float: ...

    @property
    def modality(self) -> Modality: ...

    @property
    def call_id(self) -> str | None:
        """The provider call of an audio task; None when it has none (no media)."""
        ...

    @property
    def accepted(self) -> bool: ...

    @property
    def queued_in_background(self) -> bool:
        """The task waits in its queue while the workflow runs on (`queue_task`)."""
        ...

    @property
    def queued_this_session(self) -> bool:
        """The task entered its service's queue in this service session already (V6)."""
        ...

    @property
    def queue_status(self) -> str:
        """For `check_task`: `waiting`, `timeout` or `no_users`."""
        ...

    @property
    def language(self) -> str:
        """The tenant's default language, for prompts that name none."""
        ...

    def new_id(self) -> str: ...

    def lookup(self, subject: str) -> str | None:
        """`param.X`, `system.x.y` or `customer.z`; None when unknown or unset."""
        ...

    def parameter_default(self, parameter_id: str) -> str | None: ...

    def opening_state(self, calendar: str) -> str:
        """`open`, `closed`, `holiday` or `special` now, for `service` or a calendar id."""
        ...

    def availability(self, service_id: str | None, modality: str | None) -> str:
        """`available`, `all_busy` or `nobody_online` (3.10); None means the task's own."""
        ...


# ------------------------------------------------------------------ the run


@dataclass(slots=True)
class WorkflowRun:
    """One service session's run of one published version (RT1), in engine state.

    Changed only by applying `workflow.*` events. `node_done` is set between a
    node's completion and the next node's entry, when inputs meant for the old
    node must no longer reach it.
    """

    task_id: str
    workflow: Workflow
    service_id: str
    node_id: str | None = None
    node_entered_at: float | None = None
    node_done: bool = False
    executions: int = 0
    wait: Wait | None = None
    #: Counts waits, so a timer armed for an earlier wait is recognised as stale.
    wait_seq: int = 0
    #: The last exits taken, newest last (for the diagnosis).
    trail: list[tuple[str, str]] = field(default_factory=list)

    @property
    def activity(self) -> str | None:
        node = self.workflow.document.node(self.node_id) if self.node_id else None
        return node.type if node is not None else None
