"""Closed vocabularies shared by every layer.

They are `StrEnum`s so that their values are exactly the strings that appear in
events, the journal and the API; nothing needs a translation table.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Modality(StrEnum):
    AUDIO = "audio"
    CHAT = "chat"
    EMAIL = "email"
    EXTERNAL_TASK = "external_task"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NONE = "none"


class TaskKind(StrEnum):
    """The column key of the blocking matrix: modality, direction and outbound variant."""

    AUDIO_INBOUND = "audio_inbound"
    AUDIO_OUTBOUND_CALL_ON_BEHALF = "audio_outbound_call_on_behalf"
    AUDIO_OUTBOUND_SCHEDULED = "audio_outbound_scheduled"
    AUDIO_OUTBOUND_WITH_WORKFLOW = "audio_outbound_with_workflow"
    EXTERNAL_TASK = "external_task"
    CHAT_INBOUND = "chat_inbound"
    EMAIL_INBOUND = "email_inbound"

    @property
    def modality(self) -> Modality:
        return _KIND_MODALITY[self]

    @property
    def direction(self) -> Direction:
        return _KIND_DIRECTION[self]

    @property
    def is_audio(self) -> bool:
        return self.modality is Modality.AUDIO

    @property
    def is_outbound(self) -> bool:
        return self.direction is Direction.OUTBOUND


_KIND_MODALITY = {
    TaskKind.AUDIO_INBOUND: Modality.AUDIO,
    TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF: Modality.AUDIO,
    TaskKind.AUDIO_OUTBOUND_SCHEDULED: Modality.AUDIO,
    TaskKind.AUDIO_OUTBOUND_WITH_WORKFLOW: Modality.AUDIO,
    TaskKind.EXTERNAL_TASK: Modality.EXTERNAL_TASK,
    TaskKind.CHAT_INBOUND: Modality.CHAT,
    TaskKind.EMAIL_INBOUND: Modality.EMAIL,
}
_KIND_DIRECTION = {
    TaskKind.AUDIO_INBOUND: Direction.INBOUND,
    TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF: Direction.OUTBOUND,
    TaskKind.AUDIO_OUTBOUND_SCHEDULED: Direction.OUTBOUND,
    TaskKind.AUDIO_OUTBOUND_WITH_WORKFLOW: Direction.OUTBOUND,
    TaskKind.EXTERNAL_TASK: Direction.NONE,
    TaskKind.CHAT_INBOUND: Direction.INBOUND,
    TaskKind.EMAIL_INBOUND: Direction.INBOUND,
}


class TaskState(StrEnum):
    CREATED = "created"
    IN_WORKFLOW = "in_workflow"
    QUEUED = "queued"
    OFFERED = "offered"
    DIALING_OUT = "dialing_out"
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    CONSULTING = "consulting"
    PARKED = "parked"
    UNPARKING = "unparking"
    TRANSFERRING = "transferring"
    TERMINATED = "terminated"


class SessionState(StrEnum):
    """States of one user's participation in one task (rows of the blocking matrix)."""

    INCOMING = "incoming"
    DIALING_OUT = "dialing_out"
    CONNECTED = "connected"
    TRANSFERRING = "transferring"
    ON_HOLD = "on_hold"
    PARKED = "parked"
    UNPARKING = "unparking"
    IN_ACW = "in_acw"
    CONSULTING = "consulting"
    ENDED = "ended"


class SessionOutcome(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    RONA = "rona"
    CANCELLED = "cancelled"
    TRANSFERRED_INTERNALLY = "transferred_internally"
    TRANSFERRED_EXTERNALLY = "transferred_externally"
    INTERNAL_TRANSFER_FAILED = "internal_transfer_failed"
    EXTERNAL_TRANSFER_FAILED = "external_transfer_failed"
    NOT_REACHED = "not_reached"


class EndReason(StrEnum):
    CUSTOMER_HANGUP = "customer_hangup"
    USER_ENDED = "user_ended"
    WORKFLOW_DISCONNECT = "workflow_disconnect"
    TRANSFERRED_OUT = "transferred_out"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    NOT_REACHED = "not_reached"
    LIMIT_REACHED = "limit_reached"
    ERROR = "error"


class WithdrawReason(StrEnum):
    ACCEPTED_ELSEWHERE = "accepted_elsewhere"
    CUSTOMER_LEFT = "customer_left"
    LEFT_QUEUE = "left_queue"
    USER_UNSELECTABLE = "user_unselectable"
    RING_TIMEOUT = "ring_timeout"


class QueueExitReason(StrEnum):
    TIMEOUT = "timeout"
    NO_USERS = "no_users"
    CANCELLED = "cancelled"
    LIMIT_REACHED = "limit_reached"


class AcwEndReason(StrEnum):
    ELAPSED = "elapsed"
    EARLY_END = "early_end"
    SUPERVISOR_END = "supervisor_end"
    OUTBOUND_STARTED = "outbound_started"


class RonaClearReason(StrEnum):
    ELAPSED = "elapsed"
    USER_RESET = "user_reset"
    PRESENCE_OFFLINE = "presence_offline"
    OFF_DUTY = "off_duty"
    SUPERVISOR_RESET = "supervisor_reset"


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY_IN_CALL = "busy_in_call"
    BUSY_IN_MEETING = "busy_in_meeting"
    BUSY = "busy"
    DO_NOT_DISTURB = "do_not_disturb"
    BE_RIGHT_BACK = "be_right_back"
    AWAY = "away"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


class DistributionType(StrEnum):
    BROADCAST = "broadcast"
    DIRECT = "direct"
    DIRECT_CONFERENCE = "direct_conference"
    PICKUP = "pickup"


class UserOrdering(StrEnum):
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    MOST_SKILLED = "most_skilled"
    RANDOM = "random"


class Priority(IntEnum):
    """Task priority; the integer is the ordinal used by queue ordering (higher first)."""

    LOWEST = 1
    LOW = 2
    NORMAL = 3
    HIGH = 4
    HIGHEST = 5

    @classmethod
    def parse(cls, value: str | int) -> Priority:
        if isinstance(value, int):
            return cls(value)
        return cls[value.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


class AssignmentType(StrEnum):
    TEAMS_BASED = "teams_based"
    SKILL_BASED = "skill_based"
    NONE = "none"


class MembershipRole(StrEnum):
    AGENT = "agent"
    OWNER = "owner"
    OWNER_LIMITED = "owner_limited"


class ProfileKind(StrEnum):
    ON_DUTY = "on_duty"
    OFF_DUTY = "off_duty"
    CUSTOM = "custom"


class Match(StrEnum):
    ALL = "all"
    ANY = "any"


class OfferKind(StrEnum):
    DISTRIBUTION = "distribution"
    TRANSFER = "transfer"
    INVITATION = "invitation"


class VoiceConnectivity(StrEnum):
    """How the tenant's phone numbers reach Teams (01 §10, 05 §9)."""

    NONE = "none"
    DIRECT_ROUTING = "direct_routing"
    CALLING_PLAN = "calling_plan"
    OPERATOR_CONNECT = "operator_connect"
