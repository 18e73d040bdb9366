"""The runtime task (spec 02 §2) and its offers.

A `Task` is mutated only by the engine's event application, through `move_to`,
which checks the transition table first so that an impossible state can never
be reached silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.domain.enums import (
    DistributionType,
    EndReason,
    Modality,
    OfferKind,
    Priority,
    TaskKind,
    TaskState,
    UserOrdering,
)
from switchboard.domain.transitions import task_rule


@dataclass(slots=True, frozen=True)
class PreferredUser:
    user_id: str
    priority: int | None = None  # None sorts before 1..99


@dataclass(slots=True, frozen=True)
class QueueSpec:
    """The settings a task is queued with (service defaults, or the queue activity's)."""

    distribution_type: DistributionType = DistributionType.DIRECT_CONFERENCE
    rona_timeout_s: int = 20
    max_queue_time_s: int | None = None
    user_ordering: UserOrdering | None = None  # None: the service's ordering
    exit_when_no_users: bool = False


@dataclass(slots=True)
class Offer:
    id: str
    task_id: str
    user_id: str
    session_id: str
    kind: OfferKind
    created_at: float
    expires_at: float | None
    generation: int


@dataclass(slots=True, eq=False)
class Task:
    id: str
    kind: TaskKind
    service_id: str
    created_at: float
    priority: Priority = Priority.NORMAL
    state: TaskState = TaskState.CREATED
    unified_session_id: str = ""
    origin_service_id: str = ""
    caller: str | None = None
    customer_identifier: str | None = None
    reference_id: str | None = None
    custom_context: dict[str, str] = field(default_factory=dict)
    preferred_users: tuple[PreferredUser, ...] = ()
    accepted_at: float | None = None
    first_enqueued_at: float | None = None
    terminated_at: float | None = None
    end_reason: EndReason | None = None
    end_detail: str | None = None  # e.g. why a task was rejected at creation
    # queue position and distribution
    queue: QueueSpec | None = None
    virtual_enqueue_at: float | None = None
    explicit_enqueue_at: float | None = None
    enqueued_at: float | None = None  # entry into the current service's queue
    enqueue_seq: int = 0
    policy_level: int = 1
    level_entered_at: float | None = None
    offer_generation: int = 0
    offer_round: int = 0
    offers: dict[str, Offer] = field(default_factory=dict)  # outstanding offers by id
    #: user id -> virtual time until which the user is not offered this task (RONA/decline)
    skip_until: dict[str, float] = field(default_factory=dict)
    #: users that missed this task ("rona" or "declined"): they rank behind all others
    skipped: dict[str, str] = field(default_factory=dict)
    connected_user_id: str | None = None
    last_connected_user_id: str | None = None
    queued_once: bool = False
    #: Whether the task is counted among its service's waiting tasks (queue size, X2).
    counted_waiting: bool = False
    #: The provider call of an audio task (None for tasks created without one).
    call_id: str | None = None
    #: Why the task last left a queue without a user (`check_task`, 04 §3.13).
    last_queue_exit: str | None = None
    #: `system.consent.<purpose>` answers recorded by `record_consent` (04 §3.18).
    consents: dict[str, str] = field(default_factory=dict)
    #: Number or UPN a tracked workflow transfer connected the customer to (T35).
    external_party: str | None = None
    #: Transfers to other services so far (each starts a new service session).
    transfer_count: int = 0

    @property
    def modality(self) -> Modality:
        return self.kind.modality

    @property
    def is_live(self) -> bool:
        return self.state is not TaskState.TERMINATED

    @property
    def is_waiting(self) -> bool:
        return self.state in (TaskState.QUEUED, TaskState.OFFERED)

    def move_to(self, state: TaskState) -> str:
        """Move to `state` if the transition table allows it; returns the rule name."""
        rule = task_rule(self.kind, self.state, state)
        self.state = state
        return rule

    def queue_key(self) -> tuple[int, float, int]:
        """Queue order: priority descending, then virtual enqueue time, then sequence."""
        return (-int(self.priority), self.virtual_enqueue_at or 0.0, self.enqueue_seq)
