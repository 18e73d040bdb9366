"""Selectability of a user for a service and modality (spec 02 §6, §8)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from switchboard.domain.availability import (
    MESSAGES,
    PRESENCE_LAG_S,
    SELF_MESSAGES,
    Reason,
    Selectability,
    effective_presence,
    evaluate,
)
from switchboard.domain.config import (
    DistributionPolicy,
    Membership,
    Parallelization,
    PolicyLevel,
    Requirement,
    ResponsibilityProfile,
    Service,
    User,
    UserSkill,
)
from switchboard.domain.enums import (
    AssignmentType,
    Modality,
    Presence,
    ProfileKind,
    SessionState,
    TaskKind,
)
from switchboard.domain.live import Acw, RonaFlag, UserLive, UserSession
from switchboard.domain.skills import effective_skills, qualifying_level

SPEC_FILE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "02-tasks-and-states.md"
)

NOW = 1_000.0
SVC = "svc"

# Spec 02 §6.3, in evaluation order.
SPEC_ORDER = (
    "user_disabled",
    "not_member",
    "modality_not_enabled",
    "presence_offline",
    "presence_unknown",
    "presence_do_not_disturb",
    "presence_busy_in_call",
    "presence_busy",
    "presence_away",
    "inactive_in_service",
    "off_duty",
    "no_matching_skills",
    "not_available_reason",
    "rona",
    "ringing",
    "in_task",
    "in_acw",
    "capacity_full",
    "modality_capacity_full",
)


@dataclass
class Setup:
    """A user who is selectable for a teams-based service, until a test spoils it."""

    user: User = field(
        default_factory=lambda: User(
            id="u1",
            upn="ada@example.com",
            display_name="Ada",
            memberships={SVC: Membership(service_id=SVC)},
        )
    )
    live: UserLive = field(
        default_factory=lambda: UserLive(user_id="u1", presence=Presence.AVAILABLE)
    )
    service: Service = field(
        default_factory=lambda: Service(
            id=SVC,
            name="Support",
            upn="support@example.com",
            user_assignment_type=AssignmentType.TEAMS_BASED,
            enabled_modalities=frozenset(Modality),
        )
    )
    on_duty: bool = True
    level: int | None = 1
    modality: Modality | None = Modality.AUDIO
    now: float = NOW

    def add_session(
        self, kind: TaskKind, state: SessionState, *, sid: str | None = None
    ) -> UserSession:
        sid = sid or f"s{len(self.live.sessions) + 1}"
        session = UserSession(
            id=sid,
            task_id=f"task-{sid}",
            user_id=self.user.id,
            service_id=SVC,
            kind=kind,
            started_at=0.0,
            state=state,
        )
        self.live.sessions[sid] = session
        return session

    def parallel(self, max_total: int, **per_modality: int) -> None:
        self.user.parallelization = Parallelization(
            enabled=True,
            max_total=max_total,
            per_modality={Modality(m): n for m, n in per_modality.items()},
        )

    def skill_based(self) -> None:
        self.service.user_assignment_type = AssignmentType.SKILL_BASED

    def evaluate(self) -> Selectability:
        return evaluate(
            self.user,
            self.live,
            self.service,
            on_duty=self.on_duty,
            qualifying_level=self.level,
            now=self.now,
            modality=self.modality,
        )


def test_baseline_is_selectable() -> None:
    result = Setup().evaluate()
    assert result.selectable
    assert result.reasons == ()
    assert result.reason is None


# --- each reason from a minimal setup ------------------------------------------------


def _disabled(s: Setup) -> None:
    s.user.enabled = False


def _not_member(s: Setup) -> None:
    s.user.memberships.clear()


def _modality_off(s: Setup) -> None:
    s.service.enabled_modalities = frozenset({Modality.AUDIO})
    s.modality = Modality.CHAT


def _presence(p: Presence) -> Callable[[Setup], None]:
    def spoil(s: Setup) -> None:
        s.live.presence = p

    return spoil


def _inactive(s: Setup) -> None:
    s.user.memberships[SVC].active = False


def _off_duty(s: Setup) -> None:
    s.skill_based()
    s.on_duty = False
    s.level = None


def _no_skills(s: Setup) -> None:
    s.skill_based()
    s.level = None


def _not_available(s: Setup) -> None:
    s.live.not_available_reason_id = "lunch"


def _rona(s: Setup) -> None:
    s.live.rona = RonaFlag(service_id=SVC, set_at=NOW - 10, clears_at=NOW + 590)


def _ringing(s: Setup) -> None:
    # Parallel work allowed so that the ringing chat costs no capacity for audio.
    s.parallel(2)
    s.add_session(TaskKind.CHAT_INBOUND, SessionState.INCOMING)


def _in_task(s: Setup) -> None:
    s.parallel(2)
    s.add_session(TaskKind.CHAT_INBOUND, SessionState.CONNECTED)


def _in_acw(s: Setup) -> None:
    s.live.acw = Acw(task_id="t0", service_id=SVC, started_at=NOW - 5, ends_at=NOW + 15)


def _capacity(s: Setup) -> None:
    s.add_session(TaskKind.CHAT_INBOUND, SessionState.PARKED)


def _modality_capacity(s: Setup) -> None:
    s.parallel(3, chat=1)
    s.add_session(TaskKind.CHAT_INBOUND, SessionState.PARKED)
    s.modality = Modality.CHAT


SINGLE_REASON: list[tuple[Reason, Callable[[Setup], None]]] = [
    (Reason.USER_DISABLED, _disabled),
    (Reason.NOT_MEMBER, _not_member),
    (Reason.MODALITY_NOT_ENABLED, _modality_off),
    (Reason.PRESENCE_OFFLINE, _presence(Presence.OFFLINE)),
    (Reason.PRESENCE_UNKNOWN, _presence(Presence.UNKNOWN)),
    (Reason.PRESENCE_DO_NOT_DISTURB, _presence(Presence.DO_NOT_DISTURB)),
    (Reason.PRESENCE_BUSY_IN_CALL, _presence(Presence.BUSY_IN_CALL)),
    (Reason.PRESENCE_BUSY, _presence(Presence.BUSY)),
    (Reason.PRESENCE_AWAY, _presence(Presence.AWAY)),
    (Reason.INACTIVE_IN_SERVICE, _inactive),
    (Reason.OFF_DUTY, _off_duty),
    (Reason.NO_MATCHING_SKILLS, _no_skills),
    (Reason.NOT_AVAILABLE_REASON, _not_available),
    (Reason.RONA, _rona),
    (Reason.RINGING, _ringing),
    (Reason.IN_TASK, _in_task),
    (Reason.IN_ACW, _in_acw),
    (Reason.CAPACITY_FULL, _capacity),
    (Reason.MODALITY_CAPACITY_FULL, _modality_capacity),
]


def test_every_reason_has_a_minimal_case() -> None:
    assert [r for r, _ in SINGLE_REASON] == list(Reason)
    assert len(SINGLE_REASON) == 19


@pytest.mark.parametrize(
    ("reason", "spoil"), [pytest.param(r, f, id=r.value) for r, f in SINGLE_REASON]
)
def test_single_reason(reason: Reason, spoil: Callable[[Setup], None]) -> None:
    setup = Setup()
    spoil(setup)
    result = setup.evaluate()
    assert not result.selectable
    assert result.reasons == (reason,)
    assert result.reason is reason
    assert result.message == MESSAGES[reason]


@pytest.mark.parametrize(
    ("presence", "reason"),
    [
        (Presence.BUSY_IN_MEETING, Reason.PRESENCE_BUSY),
        (Presence.BE_RIGHT_BACK, Reason.PRESENCE_AWAY),
    ],
    ids=lambda v: str(v),
)
def test_other_presence_values_map_to_their_reason(presence: Presence, reason: Reason) -> None:
    setup = Setup()
    setup.live.presence = presence
    assert setup.evaluate().reasons == (reason,)


def test_service_without_users_counts_as_not_member() -> None:
    setup = Setup()
    setup.service.user_assignment_type = AssignmentType.NONE
    assert setup.evaluate().reasons == (Reason.NOT_MEMBER,)


def test_detail_carries_the_facts_behind_reasons() -> None:
    setup = Setup()
    setup.parallel(4)
    setup.add_session(TaskKind.CHAT_INBOUND, SessionState.INCOMING, sid="ring")
    setup.add_session(TaskKind.EMAIL_INBOUND, SessionState.CONNECTED, sid="work")
    _not_available(setup)
    _rona(setup)
    _in_acw(setup)
    result = setup.evaluate()
    assert result.detail["ringing_task_id"] == "task-ring"
    assert result.detail["task_id"] == "task-work"
    assert result.detail["task_state"] == "connected"
    assert result.detail["acw_ends_at"] == NOW + 15
    assert result.detail["rona_clears_at"] == NOW + 590
    assert result.detail["not_available_reason_id"] == "lunch"


# --- order and completeness -------------------------------------------------------------


def test_reason_enum_follows_the_spec_order() -> None:
    assert tuple(r.value for r in Reason) == SPEC_ORDER


def test_spec_table_lists_the_reasons_in_this_order() -> None:
    if not SPEC_FILE.is_file():
        pytest.skip(f"spec file not found at {SPEC_FILE}; cannot read the §6.3 table")
    text = SPEC_FILE.read_text(encoding="utf-8")
    section = re.search(r"^### 6\.3.*?(?=^API)", text, flags=re.M | re.S)
    assert section is not None, "section 6.3 (selectability) not found in the spec"
    codes: list[str] = []
    for line in section.group(0).splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            last = line.strip().strip("|").split("|")[-1]
            codes += re.findall(r"`([a-z_]+)`", last)
    assert tuple(codes) == SPEC_ORDER


def test_all_failing_checks_are_listed_in_spec_order() -> None:
    setup = Setup()
    # Spoil several checks at once, in an order unrelated to the spec's.
    _in_acw(setup)
    _capacity(setup)
    _rona(setup)
    _presence(Presence.OFFLINE)(setup)
    _inactive(setup)
    _modality_off(setup)
    _disabled(setup)
    _not_available(setup)
    result = setup.evaluate()
    assert result.reasons == (
        Reason.USER_DISABLED,
        Reason.MODALITY_NOT_ENABLED,
        Reason.PRESENCE_OFFLINE,
        Reason.INACTIVE_IN_SERVICE,
        Reason.NOT_AVAILABLE_REASON,
        Reason.RONA,
        Reason.IN_ACW,
        Reason.CAPACITY_FULL,
    )
    assert result.reason is Reason.USER_DISABLED


def test_reasons_always_come_out_sorted() -> None:
    setup = Setup()
    setup.skill_based()
    setup.on_duty = False
    setup.live.presence = Presence.AWAY
    _ringing(setup)
    _in_task(setup)
    result = setup.evaluate()
    assert result.reasons == (
        Reason.PRESENCE_AWAY,
        Reason.OFF_DUTY,
        Reason.RINGING,
        Reason.IN_TASK,
        Reason.CAPACITY_FULL,  # the two sessions fill max_total = 2
    )
    assert list(result.reasons) == sorted(result.reasons, key=list(Reason).index)


def test_without_modality_the_modality_checks_are_skipped() -> None:
    setup = Setup()
    setup.service.enabled_modalities = frozenset()
    setup.modality = None
    assert setup.evaluate().selectable


# --- presence opt-ins -------------------------------------------------------------------


@pytest.mark.parametrize(
    "presence", [Presence.BUSY, Presence.BUSY_IN_MEETING], ids=lambda p: p.value
)
def test_available_when_busy(presence: Presence) -> None:
    setup = Setup()
    setup.live.presence = presence
    assert setup.evaluate().reasons == (Reason.PRESENCE_BUSY,)
    setup.service.distribution.available_when_busy = True
    assert setup.evaluate().selectable
    # The busy opt-in says nothing about away.
    setup.live.presence = Presence.AWAY
    assert setup.evaluate().reasons == (Reason.PRESENCE_AWAY,)


@pytest.mark.parametrize("presence", [Presence.AWAY, Presence.BE_RIGHT_BACK], ids=lambda p: p.value)
def test_available_when_away(presence: Presence) -> None:
    setup = Setup()
    setup.live.presence = presence
    assert setup.evaluate().reasons == (Reason.PRESENCE_AWAY,)
    setup.service.distribution.available_when_away = True
    assert setup.evaluate().selectable
    setup.live.presence = Presence.BUSY
    assert setup.evaluate().reasons == (Reason.PRESENCE_BUSY,)


@pytest.mark.parametrize(
    ("presence", "reason"),
    [
        (Presence.BUSY_IN_CALL, Reason.PRESENCE_BUSY_IN_CALL),
        (Presence.DO_NOT_DISTURB, Reason.PRESENCE_DO_NOT_DISTURB),
        (Presence.OFFLINE, Reason.PRESENCE_OFFLINE),
        (Presence.UNKNOWN, Reason.PRESENCE_UNKNOWN),
    ],
    ids=lambda v: str(v),
)
def test_opt_ins_do_not_open_other_presences(presence: Presence, reason: Reason) -> None:
    setup = Setup()
    setup.service.distribution.available_when_busy = True
    setup.service.distribution.available_when_away = True
    setup.live.presence = presence
    assert setup.evaluate().reasons == (reason,)


# --- presence lag -----------------------------------------------------------------------


@pytest.mark.parametrize("presence", [Presence.BUSY_IN_CALL, Presence.BUSY], ids=lambda p: p.value)
def test_busy_explained_by_a_live_audio_session_is_ignored(presence: Presence) -> None:
    setup = Setup()
    setup.parallel(2)
    setup.add_session(TaskKind.AUDIO_INBOUND, SessionState.PARKED)
    setup.live.presence = presence
    assert effective_presence(setup.live, NOW) is Presence.AVAILABLE
    assert setup.evaluate().selectable


def test_busy_in_call_during_our_own_connected_call_reports_only_in_task() -> None:
    setup = Setup()
    setup.parallel(2)
    setup.add_session(TaskKind.AUDIO_INBOUND, SessionState.CONNECTED)
    setup.live.presence = Presence.BUSY_IN_CALL
    assert setup.evaluate().reasons == (Reason.IN_TASK,)


@pytest.mark.parametrize("presence", [Presence.BUSY_IN_CALL, Presence.BUSY], ids=lambda p: p.value)
def test_busy_shortly_after_our_own_audio_session_is_ignored(presence: Presence) -> None:
    setup = Setup()
    setup.live.presence = presence
    setup.live.last_audio_end_at = NOW - 14.9
    assert setup.evaluate().selectable
    setup.live.last_audio_end_at = NOW - 1.0
    assert setup.evaluate().selectable


def test_busy_in_call_counts_again_after_the_lag() -> None:
    assert PRESENCE_LAG_S == 15.0
    setup = Setup()
    setup.live.presence = Presence.BUSY_IN_CALL
    for ago in (PRESENCE_LAG_S, 15.1, 60.0):
        setup.live.last_audio_end_at = NOW - ago
        assert setup.evaluate().reasons == (Reason.PRESENCE_BUSY_IN_CALL,), ago


def test_non_audio_work_does_not_explain_busy_in_call() -> None:
    setup = Setup()
    setup.parallel(2)
    setup.add_session(TaskKind.CHAT_INBOUND, SessionState.PARKED)
    setup.live.presence = Presence.BUSY_IN_CALL
    assert setup.evaluate().reasons == (Reason.PRESENCE_BUSY_IN_CALL,)


def test_busy_in_meeting_is_not_discounted() -> None:
    # Only busy / busy_in_call can be explained by our own call (02 §6.1).
    setup = Setup()
    setup.live.presence = Presence.BUSY_IN_MEETING
    setup.live.last_audio_end_at = NOW - 1.0
    assert setup.evaluate().reasons == (Reason.PRESENCE_BUSY,)


def test_other_presences_are_not_discounted_by_audio_work() -> None:
    setup = Setup()
    setup.parallel(2)
    setup.add_session(TaskKind.AUDIO_INBOUND, SessionState.PARKED)
    setup.live.presence = Presence.DO_NOT_DISTURB
    assert setup.evaluate().reasons == (Reason.PRESENCE_DO_NOT_DISTURB,)


# --- parked sessions and parallelization ------------------------------------------------


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
def test_parked_session_does_not_block(kind: TaskKind) -> None:
    setup = Setup()
    setup.parallel(2)
    setup.add_session(kind, SessionState.PARKED)
    result = setup.evaluate()
    assert Reason.IN_TASK not in result.reasons
    assert result.selectable


def test_parked_session_fills_the_single_slot_without_parallelization() -> None:
    setup = Setup()
    setup.add_session(TaskKind.AUDIO_INBOUND, SessionState.PARKED)
    result = setup.evaluate()
    assert Reason.CAPACITY_FULL in result.reasons
    assert Reason.IN_TASK not in result.reasons
    # Same modality: the per-modality slot (1 without parallelization) is full as well.
    assert result.reasons == (Reason.CAPACITY_FULL, Reason.MODALITY_CAPACITY_FULL)


@pytest.mark.parametrize(
    "modality", [Modality.CHAT, Modality.AUDIO, Modality.EMAIL], ids=lambda m: m.value
)
def test_parallelization_allows_a_second_task_next_to_a_parked_chat(modality: Modality) -> None:
    setup = Setup()
    setup.parallel(2)
    setup.add_session(TaskKind.CHAT_INBOUND, SessionState.PARKED)
    setup.modality = modality
    assert setup.evaluate().selectable


def test_parallelization_total_limit_is_enforced() -> None:
    setup = Setup()
    setup.parallel(2)
    setup.add_session(TaskKind.CHAT_INBOUND, SessionState.PARKED)
    setup.add_session(TaskKind.EMAIL_INBOUND, SessionState.PARKED)
    assert setup.evaluate().reasons == (Reason.CAPACITY_FULL,)


def test_per_modality_limit_zero_means_modality_not_enabled() -> None:
    setup = Setup()
    setup.parallel(2, email=0)
    setup.modality = Modality.EMAIL
    assert setup.evaluate().reasons == (Reason.MODALITY_NOT_ENABLED,)
    setup.modality = Modality.CHAT
    assert setup.evaluate().selectable


def test_per_modality_limit_full() -> None:
    setup = Setup()
    setup.parallel(4, chat=2)
    setup.add_session(TaskKind.CHAT_INBOUND, SessionState.PARKED)
    setup.modality = Modality.CHAT
    assert setup.evaluate().selectable
    setup.add_session(TaskKind.CHAT_INBOUND, SessionState.PARKED)
    assert setup.evaluate().reasons == (Reason.MODALITY_CAPACITY_FULL,)
    setup.modality = Modality.AUDIO
    assert setup.evaluate().selectable


def test_incoming_offer_occupies_a_slot() -> None:
    setup = Setup()
    setup.add_session(TaskKind.CHAT_INBOUND, SessionState.INCOMING)
    assert setup.evaluate().reasons == (Reason.RINGING, Reason.CAPACITY_FULL)


def test_acw_session_frees_its_slot_but_acw_is_reported() -> None:
    setup = Setup()
    setup.add_session(TaskKind.AUDIO_INBOUND, SessionState.IN_ACW)
    _in_acw(setup)
    assert setup.evaluate().reasons == (Reason.IN_ACW,)


def test_in_task_is_found_behind_an_acw_session() -> None:
    setup = Setup()
    setup.parallel(4)
    setup.add_session(TaskKind.AUDIO_INBOUND, SessionState.IN_ACW, sid="acw")
    setup.add_session(TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF, SessionState.DIALING_OUT, sid="cob")
    _in_acw(setup)
    result = setup.evaluate()
    assert result.reasons == (Reason.IN_TASK, Reason.IN_ACW)
    assert result.detail["task_id"] == "task-cob"


@pytest.mark.parametrize(
    "state",
    [
        SessionState.DIALING_OUT,
        SessionState.CONNECTED,
        SessionState.TRANSFERRING,
        SessionState.ON_HOLD,
        SessionState.UNPARKING,
        SessionState.CONSULTING,
    ],
    ids=lambda s: s.value,
)
def test_blocking_audio_states_report_in_task(state: SessionState) -> None:
    setup = Setup()
    setup.parallel(4)
    kind = (
        TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF
        if state is SessionState.DIALING_OUT
        else TaskKind.AUDIO_INBOUND
    )
    setup.add_session(kind, state)
    result = setup.evaluate()
    assert result.reasons == (Reason.IN_TASK,)
    assert result.detail["task_state"] == state.value


# --- service layer ----------------------------------------------------------------------


def test_teams_based_inactive_membership() -> None:
    setup = Setup()
    _inactive(setup)
    assert setup.evaluate().reasons == (Reason.INACTIVE_IN_SERVICE,)


def test_duty_does_not_affect_teams_based_services() -> None:
    setup = Setup()
    setup.on_duty = False
    setup.level = None
    assert setup.evaluate().selectable


def test_skill_based_off_duty() -> None:
    setup = Setup()
    _off_duty(setup)
    # Off duty is the headline; skills are not looked at then.
    assert setup.evaluate().reasons == (Reason.OFF_DUTY,)


def test_skill_based_on_duty_without_matching_skill() -> None:
    setup = Setup()
    _no_skills(setup)
    assert setup.evaluate().reasons == (Reason.NO_MATCHING_SKILLS,)


def test_skill_based_on_duty_with_matching_skill() -> None:
    setup = Setup()
    setup.skill_based()
    setup.level = 2
    assert setup.evaluate().selectable


def test_skill_based_ignores_the_active_toggle() -> None:
    setup = Setup()
    setup.skill_based()
    setup.user.memberships[SVC].active = False
    assert setup.evaluate().selectable


def test_skill_based_verdict_from_real_skills() -> None:
    """Feed `evaluate` from the skills module, as the engine will."""
    setup = Setup()
    setup.skill_based()
    setup.user.skills = {"fr": UserSkill("fr", level=3)}
    policy = DistributionPolicy(
        id="p",
        name="French",
        levels=(PolicyLevel(requirements=(Requirement("fr", min_level=2),)),),
    )
    on = ResponsibilityProfile(id="on", name="On", kind=ProfileKind.ON_DUTY)
    off = ResponsibilityProfile(id="off", name="Off", kind=ProfileKind.OFF_DUTY)

    setup.level = qualifying_level(policy, effective_skills(setup.user, on))
    assert setup.level == 1
    assert setup.evaluate().selectable

    setup.on_duty = False
    setup.level = qualifying_level(policy, effective_skills(setup.user, off))
    assert setup.evaluate().reasons == (Reason.OFF_DUTY,)

    setup.on_duty = True
    setup.user.skills = {"fr": UserSkill("fr", level=1)}
    setup.level = qualifying_level(policy, effective_skills(setup.user, on))
    assert setup.evaluate().reasons == (Reason.NO_MATCHING_SKILLS,)


# --- Selectability ----------------------------------------------------------------------


def test_as_dict_when_selectable() -> None:
    data = Setup().evaluate().as_dict()
    assert set(data) == {"selectable", "reason", "reasons", "detail", "message"}
    assert data["selectable"] is True
    assert data["reason"] is None
    assert data["reasons"] == []
    assert data["detail"] == {}
    assert isinstance(data["message"], str) and data["message"]


def test_as_dict_when_not_selectable() -> None:
    setup = Setup()
    _disabled(setup)
    _in_acw(setup)
    data = setup.evaluate().as_dict()
    assert set(data) == {"selectable", "reason", "reasons", "detail", "message"}
    assert data["selectable"] is False
    assert data["reason"] == "user_disabled"
    assert data["reasons"] == ["user_disabled", "in_acw"]
    assert all(type(r) is str for r in data["reasons"])
    assert data["detail"] == {"acw_ends_at": NOW + 15}
    assert data["message"] == MESSAGES[Reason.USER_DISABLED]


@pytest.mark.parametrize("reason", list(Reason), ids=lambda r: r.value)
def test_every_reason_has_a_message(reason: Reason) -> None:
    message = MESSAGES[reason]
    assert message.strip() == message
    assert message[0].isupper() and message.endswith(".")
    assert Selectability(False, (reason,)).message == message


def test_messages_are_distinct() -> None:
    assert set(MESSAGES) == set(Reason)
    assert len(set(MESSAGES.values())) == len(Reason)


@pytest.mark.parametrize("reason", list(Reason), ids=lambda r: r.value)
def test_every_reason_is_also_said_to_the_user_themselves(reason: Reason) -> None:
    message = SELF_MESSAGES[reason]
    assert message[0].isupper() and message.endswith(".")
    assert "the user" not in message.lower() and "you" in message.lower()
    assert Selectability(False, (reason,)).message_to_self == message
    assert Selectability(True).message_to_self == "You can receive tasks of this service."
