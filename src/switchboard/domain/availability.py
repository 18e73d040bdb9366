"""Is a user selectable for a service (and modality) right now, and if not, why (02 §6.3)?

Every check that fails is reported, in the spec's order, so the first one is the
headline reason and the rest explain what would still be in the way after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from switchboard.domain.config import Service, User
from switchboard.domain.enums import AssignmentType, Modality, Presence
from switchboard.domain.live import UserLive

#: Presence lags up to ~10 s behind; a busy value explained by our own audio session
#: (live, or ended less than this long ago) is ignored (02 §6.1).
PRESENCE_LAG_S: Final = 15.0


class Reason(StrEnum):
    USER_DISABLED = "user_disabled"
    NOT_MEMBER = "not_member"
    MODALITY_NOT_ENABLED = "modality_not_enabled"
    PRESENCE_OFFLINE = "presence_offline"
    PRESENCE_UNKNOWN = "presence_unknown"
    PRESENCE_DO_NOT_DISTURB = "presence_do_not_disturb"
    PRESENCE_BUSY_IN_CALL = "presence_busy_in_call"
    PRESENCE_BUSY = "presence_busy"
    PRESENCE_AWAY = "presence_away"
    INACTIVE_IN_SERVICE = "inactive_in_service"
    OFF_DUTY = "off_duty"
    NO_MATCHING_SKILLS = "no_matching_skills"
    NOT_AVAILABLE_REASON = "not_available_reason"
    RONA = "rona"
    RINGING = "ringing"
    IN_TASK = "in_task"
    IN_ACW = "in_acw"
    CAPACITY_FULL = "capacity_full"
    MODALITY_CAPACITY_FULL = "modality_capacity_full"


#: The reasons that come from the user's presence: a user held back by nothing else is
#: "presence unavailable" on the board and in reporting (08 §2.1), not off duty.
PRESENCE_REASONS: Final = frozenset(
    {
        Reason.PRESENCE_OFFLINE,
        Reason.PRESENCE_UNKNOWN,
        Reason.PRESENCE_DO_NOT_DISTURB,
        Reason.PRESENCE_BUSY_IN_CALL,
        Reason.PRESENCE_BUSY,
        Reason.PRESENCE_AWAY,
    }
)

#: The evaluation order of the spec table; reasons are always reported in this order.
ORDER: Final = {reason: index for index, reason in enumerate(Reason)}

MESSAGES: Final[dict[Reason, str]] = {
    Reason.USER_DISABLED: "The user account is disabled.",
    Reason.NOT_MEMBER: "The user is not a member of this service.",
    Reason.MODALITY_NOT_ENABLED: "This kind of task is not enabled for the service or the user.",
    Reason.PRESENCE_OFFLINE: "The user is offline.",
    Reason.PRESENCE_UNKNOWN: "The user's presence is unknown.",
    Reason.PRESENCE_DO_NOT_DISTURB: "The user is set to Do not disturb.",
    Reason.PRESENCE_BUSY_IN_CALL: "The user is in a call outside Switchboard.",
    Reason.PRESENCE_BUSY: "The user is busy and the service does not route to busy users.",
    Reason.PRESENCE_AWAY: "The user is away and the service does not route to away users.",
    Reason.INACTIVE_IN_SERVICE: "The user has switched themselves inactive in this service.",
    Reason.OFF_DUTY: "The user is off duty.",
    Reason.NO_MATCHING_SKILLS: "The user's active skills match no level of the service's policy.",
    Reason.NOT_AVAILABLE_REASON: "The user has set themselves not available.",
    Reason.RONA: "The user missed an offer (RONA) and must be reset before receiving more.",
    Reason.RINGING: "The user is being offered another task right now.",
    Reason.IN_TASK: "The user is working on another task.",
    Reason.IN_ACW: "The user is in after-call work.",
    Reason.CAPACITY_FULL: "The user already holds as many tasks as allowed.",
    Reason.MODALITY_CAPACITY_FULL: "The user already holds as many tasks of this kind as allowed.",
}

#: The same reasons said to the person themselves (their own workspace).
SELF_MESSAGES: Final[dict[Reason, str]] = {
    Reason.USER_DISABLED: "Your account is disabled.",
    Reason.NOT_MEMBER: "You are not a member of this service.",
    Reason.MODALITY_NOT_ENABLED: "This kind of task is not enabled for the service or for you.",
    Reason.PRESENCE_OFFLINE: "You are offline: set your presence to Available.",
    Reason.PRESENCE_UNKNOWN: "Your presence is unknown.",
    Reason.PRESENCE_DO_NOT_DISTURB: "You are set to Do not disturb.",
    Reason.PRESENCE_BUSY_IN_CALL: "You are in a call outside Switchboard.",
    Reason.PRESENCE_BUSY: "You are busy, and this service does not route to busy people.",
    Reason.PRESENCE_AWAY: "You are away, and this service does not route to people away.",
    Reason.INACTIVE_IN_SERVICE: "You have switched yourself inactive in this service.",
    Reason.OFF_DUTY: "You are off duty.",
    Reason.NO_MATCHING_SKILLS: "Your active skills match no level of this service's policy.",
    Reason.NOT_AVAILABLE_REASON: "You have set yourself not available.",
    Reason.RONA: "You missed an offer (RONA): reset it to receive tasks again.",
    Reason.RINGING: "A task is being offered to you right now.",
    Reason.IN_TASK: "You are working on a task.",
    Reason.IN_ACW: "You are in after-call work.",
    Reason.CAPACITY_FULL: "You hold as many tasks as allowed.",
    Reason.MODALITY_CAPACITY_FULL: "You hold as many tasks of this kind as allowed.",
}


@dataclass(slots=True, frozen=True)
class Selectability:
    selectable: bool
    reasons: tuple[Reason, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> Reason | None:
        return self.reasons[0] if self.reasons else None

    @property
    def message(self) -> str:
        if self.reason is None:
            return "The user can receive tasks of this service."
        return MESSAGES[self.reason]

    @property
    def message_to_self(self) -> str:
        """`message`, said to the user themselves."""
        if self.reason is None:
            return "You can receive tasks of this service."
        return SELF_MESSAGES[self.reason]

    def as_dict(self) -> dict[str, Any]:
        return {
            "selectable": self.selectable,
            "reason": self.reason.value if self.reason else None,
            "reasons": [r.value for r in self.reasons],
            "detail": self.detail,
            "message": self.message,
        }


def effective_presence(live: UserLive, now: float) -> Presence:
    """Presence with our own audio work discounted (the directory lags behind us)."""
    p = live.presence
    if p in (Presence.BUSY, Presence.BUSY_IN_CALL) and (
        live.has_live_audio()
        or (live.last_audio_end_at is not None and now - live.last_audio_end_at < PRESENCE_LAG_S)
    ):
        return Presence.AVAILABLE
    return p


def user_reasons(user: User, live: UserLive, now: float, detail: dict[str, Any]) -> list[Reason]:
    """Checks that do not depend on the service (same verdict in every service)."""
    reasons: list[Reason] = []
    if not user.enabled:
        reasons.append(Reason.USER_DISABLED)
    presence = effective_presence(live, now)
    if presence is Presence.OFFLINE:
        reasons.append(Reason.PRESENCE_OFFLINE)
    elif presence is Presence.UNKNOWN:
        reasons.append(Reason.PRESENCE_UNKNOWN)
    elif presence is Presence.DO_NOT_DISTURB:
        reasons.append(Reason.PRESENCE_DO_NOT_DISTURB)
    elif presence is Presence.BUSY_IN_CALL:
        reasons.append(Reason.PRESENCE_BUSY_IN_CALL)
    if live.not_available_reason_id is not None:
        reasons.append(Reason.NOT_AVAILABLE_REASON)
        detail["not_available_reason_id"] = live.not_available_reason_id
    if live.rona is not None:
        reasons.append(Reason.RONA)
        detail["rona_clears_at"] = live.rona.clears_at
    ringing = live.ringing()
    if ringing is not None:
        reasons.append(Reason.RINGING)
        detail["ringing_task_id"] = ringing.task_id
    busy = live.blocking_task()
    if busy is not None:
        reasons.append(Reason.IN_TASK)
        detail["task_id"] = busy.task_id
        detail["task_state"] = busy.state.value
    if live.acw is not None:
        reasons.append(Reason.IN_ACW)
        detail["acw_ends_at"] = live.acw.ends_at
    if live.slot_count() >= user.parallelization.total_limit():
        reasons.append(Reason.CAPACITY_FULL)
    return reasons


def service_reasons(
    user: User,
    live: UserLive,
    service: Service,
    *,
    on_duty: bool,
    qualifying_level: int | None,
    now: float,
) -> list[Reason]:
    """Checks that depend on the service (membership, opt-ins, duty, skills)."""
    reasons: list[Reason] = []
    membership = user.memberships.get(service.id)
    if membership is None or not service.has_members:
        reasons.append(Reason.NOT_MEMBER)
    presence = effective_presence(live, now)
    if presence in (Presence.BUSY, Presence.BUSY_IN_MEETING) and not (
        service.distribution.available_when_busy
    ):
        reasons.append(Reason.PRESENCE_BUSY)
    elif presence in (Presence.AWAY, Presence.BE_RIGHT_BACK) and not (
        service.distribution.available_when_away
    ):
        reasons.append(Reason.PRESENCE_AWAY)
    if membership is not None:
        if service.user_assignment_type is AssignmentType.TEAMS_BASED and not membership.active:
            reasons.append(Reason.INACTIVE_IN_SERVICE)
        elif service.user_assignment_type is AssignmentType.SKILL_BASED:
            if not on_duty:
                reasons.append(Reason.OFF_DUTY)
            elif qualifying_level is None:
                reasons.append(Reason.NO_MATCHING_SKILLS)
    return reasons


def modality_reasons(
    user: User, live: UserLive, service: Service, modality: Modality
) -> list[Reason]:
    reasons: list[Reason] = []
    limit = user.parallelization.modality_limit(modality)
    if modality not in service.enabled_modalities or limit == 0:
        reasons.append(Reason.MODALITY_NOT_ENABLED)
    elif live.slot_count(modality) >= limit:
        reasons.append(Reason.MODALITY_CAPACITY_FULL)
    return reasons


def evaluate(
    user: User,
    live: UserLive,
    service: Service,
    *,
    on_duty: bool,
    qualifying_level: int | None,
    now: float,
    modality: Modality | None = None,
) -> Selectability:
    """Full verdict with every failing check, in spec order."""
    detail: dict[str, Any] = {}
    reasons = user_reasons(user, live, now, detail)
    reasons += service_reasons(
        user, live, service, on_duty=on_duty, qualifying_level=qualifying_level, now=now
    )
    if modality is not None:
        reasons += modality_reasons(user, live, service, modality)
    reasons.sort(key=ORDER.__getitem__)
    return Selectability(not reasons, tuple(reasons), detail)
