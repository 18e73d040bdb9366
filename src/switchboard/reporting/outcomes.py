"""Outcome groups and outcomes of service and user sessions (spec 08 §3), as data.

The ids are the spec's (1–7 the reference product's, 8 and up Switchboard's); the
OData dimensions `OutcomeGroups`, `ServiceSessionOutcomes`, `UserSessionOutcomes`
and `UserSessionOutcomeGroups` are these tables. Derivation (08 §3.3) is
`service_outcome`, a pure function of what the projection recorded about a
service session.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final


class OutcomeGroup(IntEnum):
    HANDLED_BY_USER = 1
    HANDLED_BY_SYSTEM = 2
    HANGUP_BY_CUSTOMER = 3
    NOT_HANDLED = 4
    ERROR = 5
    OUTBOUND_ACCEPTED = 6
    OUTBOUND_NOT_ACCEPTED = 7

    @property
    def handled(self) -> bool:
        return self in _HANDLED_GROUPS

    @property
    def code(self) -> str:
        return self.name.lower()


_HANDLED_GROUPS: Final = frozenset(
    {OutcomeGroup.HANDLED_BY_USER, OutcomeGroup.HANDLED_BY_SYSTEM, OutcomeGroup.OUTBOUND_ACCEPTED}
)


class Outcome(IntEnum):
    """Service-session outcomes (08 §3.2)."""

    CUSTOMER_HANGUP_BEFORE_ACCEPT = 1
    CUSTOMER_HANGUP_IN_IVR = 2
    CUSTOMER_HANGUP_IN_IVR_AFTER_QUEUE = 3
    CUSTOMER_HANGUP_IN_QUEUE = 4
    USER_ACCEPTED = 5
    USER_INTERNAL_TRANSFER_SUCCESSFUL = 6
    USER_EXTERNAL_TRANSFER_SUCCESSFUL = 7
    USER_INTERNAL_TRANSFER_FAILED = 8
    USER_EXTERNAL_TRANSFER_FAILED = 9
    TRANSFERRED_BY_SYSTEM = 10
    VOICE_MESSAGE_RECORDED = 11
    CALLBACK_SCHEDULED = 12
    COMPLETED_BY_WORKFLOW = 13
    QUEUE_TIMEOUT = 14
    NO_USERS_AVAILABLE = 15
    QUEUE_FULL = 16
    TASK_CANCELLED = 17
    ABANDONED = 18
    REJECTED_BY_SYSTEM = 19
    TRANSFER_FAILED = 20
    SYSTEM_ERROR = 21
    PROVIDER_ERROR = 22
    OUTBOUND_CONNECTED = 23
    OUTBOUND_WORKFLOW_CONNECTED = 24
    OUTBOUND_NO_ANSWER = 25
    OUTBOUND_BUSY = 26
    OUTBOUND_FAILED = 27
    OUTBOUND_LIMIT_REACHED = 28
    OUTBOUND_CANCELLED = 29

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def group(self) -> OutcomeGroup:
        return OUTCOME_GROUP[self]


#: The first outcome id of each group's range, highest first (08 §3.2: ranges are contiguous).
_GROUP_STARTS: Final = (
    (25, OutcomeGroup.OUTBOUND_NOT_ACCEPTED),
    (23, OutcomeGroup.OUTBOUND_ACCEPTED),
    (20, OutcomeGroup.ERROR),
    (14, OutcomeGroup.NOT_HANDLED),
    (10, OutcomeGroup.HANDLED_BY_SYSTEM),
    (5, OutcomeGroup.HANDLED_BY_USER),
    (1, OutcomeGroup.HANGUP_BY_CUSTOMER),
)


def _group_of(outcome_id: int) -> OutcomeGroup:
    return next(group for first, group in _GROUP_STARTS if outcome_id >= first)


#: Each outcome's group (08 §3.2).
OUTCOME_GROUP: Final[dict[Outcome, OutcomeGroup]] = {o: _group_of(o.value) for o in Outcome}


class UserOutcome(IntEnum):
    """User-session outcomes (08 §3.4)."""

    ACCEPTED = 1
    DECLINED = 2
    RONA = 3
    CANCELLED = 4
    TRANSFERRED_INTERNALLY = 5
    TRANSFERRED_EXTERNALLY = 6
    INTERNAL_TRANSFER_FAILED = 7
    EXTERNAL_TRANSFER_FAILED = 8
    NOT_REACHED = 9

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def group(self) -> UserOutcomeGroup:
        if self in (UserOutcome.DECLINED, UserOutcome.RONA, UserOutcome.CANCELLED):
            return UserOutcomeGroup.MISSED
        if self is UserOutcome.NOT_REACHED:
            return UserOutcomeGroup.NOT_REACHED
        return UserOutcomeGroup.HANDLED


class UserOutcomeGroup(IntEnum):
    HANDLED = 1
    MISSED = 2
    NOT_REACHED = 3

    @property
    def code(self) -> str:
        return self.name.lower()


#: A user session's outcome, by the engine's `SessionOutcome` value.
USER_OUTCOME_BY_CODE: Final[dict[str, UserOutcome]] = {o.code: o for o in UserOutcome}

#: LO3: the deciding user session's outcome -> the service session's (05 §6).
_DECIDING: Final[dict[UserOutcome, Outcome]] = {
    UserOutcome.ACCEPTED: Outcome.USER_ACCEPTED,
    UserOutcome.TRANSFERRED_INTERNALLY: Outcome.USER_INTERNAL_TRANSFER_SUCCESSFUL,
    UserOutcome.TRANSFERRED_EXTERNALLY: Outcome.USER_EXTERNAL_TRANSFER_SUCCESSFUL,
    UserOutcome.INTERNAL_TRANSFER_FAILED: Outcome.USER_INTERNAL_TRANSFER_FAILED,
    UserOutcome.EXTERNAL_TRANSFER_FAILED: Outcome.USER_EXTERNAL_TRANSFER_FAILED,
}

#: `error` end details that are the voice platform's failures (D9: 22, not 21): the call
#: lost (e.g. during a failover, 12) and media the provider could not answer, play or record.
PROVIDER_FAILURES: Final = frozenset(
    {"call_lost", "answer_timeout", "answer_failed", "media_failed", "recording_failed"}
)

#: Queue exits that decide D11.
_QUEUE_EXITS: Final[dict[str, Outcome]] = {
    "timeout": Outcome.QUEUE_TIMEOUT,
    "no_users": Outcome.NO_USERS_AVAILABLE,
    "full": Outcome.QUEUE_FULL,
}


@dataclass(frozen=True, slots=True)
class Facts:
    """What the projection knows about a concluded service session, for 08 §3.3.

    `where_left` says where the customer was when they left (D10): `before_accept`,
    `ivr`, `queue` or `ivr_after_queue`; None when the customer did not leave.
    """

    outbound: bool
    deciding_user_outcome: UserOutcome | None  # D2: None when no user connected
    voice_message: bool
    callback_scheduled: bool
    transfer_succeeded: bool
    transfer_failed: bool
    end_reason: str | None  # 02 §3.3, or "transferred" (left for another service)
    end_detail: str | None
    user_held_at_cancel: bool
    where_left: str | None
    last_queue_exit: str | None


def service_outcome(f: Facts) -> Outcome:
    """08 §3.3, first matching rule wins."""
    if f.outbound:  # D1: outbound kinds do not exist in the engine yet; see docs/reporting.md
        if f.deciding_user_outcome is not None:
            return Outcome.OUTBOUND_CONNECTED
        return (
            Outcome.OUTBOUND_CANCELLED if f.end_reason == "cancelled" else Outcome.OUTBOUND_FAILED
        )
    if f.deciding_user_outcome is not None:  # D2
        return _DECIDING.get(f.deciding_user_outcome, Outcome.USER_ACCEPTED)
    if f.voice_message:  # D3
        return Outcome.VOICE_MESSAGE_RECORDED
    if f.callback_scheduled:  # D4
        return Outcome.CALLBACK_SCHEDULED
    if f.transfer_succeeded:  # D5
        return Outcome.TRANSFERRED_BY_SYSTEM
    if f.transfer_failed:  # D6
        return Outcome.TRANSFER_FAILED
    if f.end_reason == "cancelled":  # D7
        return Outcome.ABANDONED if f.user_held_at_cancel else Outcome.TASK_CANCELLED
    if f.end_reason == "rejected":  # D8
        return Outcome.REJECTED_BY_SYSTEM
    if f.end_reason == "error":  # D9
        detail = f.end_detail or ""
        provider = detail in PROVIDER_FAILURES or detail.startswith("provider")
        return Outcome.PROVIDER_ERROR if provider else Outcome.SYSTEM_ERROR
    if f.where_left is not None:  # D10
        return _LEFT[f.where_left]
    if f.last_queue_exit in _QUEUE_EXITS:  # D11
        return _QUEUE_EXITS[f.last_queue_exit]
    return Outcome.COMPLETED_BY_WORKFLOW  # D12


_LEFT: Final[dict[str, Outcome]] = {
    "before_accept": Outcome.CUSTOMER_HANGUP_BEFORE_ACCEPT,
    "ivr": Outcome.CUSTOMER_HANGUP_IN_IVR,
    "ivr_after_queue": Outcome.CUSTOMER_HANGUP_IN_IVR_AFTER_QUEUE,
    "queue": Outcome.CUSTOMER_HANGUP_IN_QUEUE,
}


class ReportingState(IntEnum):
    """The one reporting state of a user at an instant (08 §2.1), by precedence."""

    OFFLINE = 1
    IN_TASK = 2
    RINGING = 3
    IN_ACW = 4
    RONA = 5
    NOT_AVAILABLE = 6
    PRESENCE_UNAVAILABLE = 7
    OFF_DUTY = 8
    AVAILABLE = 9

    @property
    def code(self) -> str:
        return self.name.lower()
