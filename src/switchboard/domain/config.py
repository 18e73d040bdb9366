"""Configuration entities of a tenant (spec 01): plain dataclasses, no I/O.

These are what administrators create and edit. Runtime facts (tasks, offers,
presence, ACW...) live in `switchboard.domain.live` and `switchboard.domain.task`.
Field validation with path-precise errors is in `switchboard.domain.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# Opening-hours calendars (04 §5) live with their periods and rules in
# `calendars`; re-exported so that every configuration entity is `config.<Name>`.
from switchboard.domain.calendars import Calendar as Calendar
from switchboard.domain.enums import (
    AssignmentType,
    DistributionType,
    Match,
    MembershipRole,
    Modality,
    Priority,
    ProfileKind,
    UserOrdering,
    VoiceConnectivity,
)
from switchboard.domain.roles import RoleAssignment

# Workflows (04 §1) live with their documents in `switchboard.domain.workflow`
# and are `config.Workflow` like every other entity. That package validates with
# `switchboard.domain.validation`, which imports this module, so the name is
# bound on first use (PEP 562) instead of at import time, where it would close
# an import cycle. Type checkers see an ordinary import.
if TYPE_CHECKING:
    from switchboard.domain.workflow.document import Workflow as Workflow


def __getattr__(name: str) -> Any:
    if name == "Workflow":
        from switchboard.domain.workflow.document import Workflow

        return Workflow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Ids of the two built-in responsibility profiles present in every tenant.
ON_DUTY_PROFILE_ID = "on_duty"
OFF_DUTY_PROFILE_ID = "off_duty"


@dataclass(slots=True)
class ConcurrencyCaps:
    """Per-service live-task caps by modality (None = no cap)."""

    audio: int | None = None
    chat: int | None = 20
    email: int | None = 100
    external_task: int | None = 100

    def for_modality(self, modality: Modality) -> int | None:
        value: int | None = getattr(self, modality.value)
        return value


@dataclass(slots=True)
class ErrorPrompt:
    """What a caller hears before Switchboard hangs up on a workflow that failed at run
    time (04 RT6): spoken text or an audio resource, exactly one of them."""

    #: Spoken by speech synthesis (1–2000 characters, no placeholders).
    text: str | None = None
    #: An audio resource of the tenant to play instead.
    audio_resource_id: str | None = None
    #: BCP 47 language of the text; None: the tenant's default language.
    language: str | None = None


@dataclass(slots=True)
class TenantSettings:
    max_concurrent_tasks_per_service: ConcurrencyCaps = field(default_factory=ConcurrencyCaps)
    persist_user_states: bool = False
    context_retention_days: int = 30
    partner_may_see_user_identifiers: bool = False
    partner_may_see_customer_identifiers: bool = False
    sweeper_interval_s: int = 5
    transfer_ring_timeout_s: int = 30
    voice_connectivity: VoiceConnectivity = VoiceConnectivity.NONE
    #: E.164 numbers of Teams voice apps whose reverse number lookup is off (05 §9).
    rnl_disabled_numbers: tuple[str, ...] = ()
    #: The tenant-wide error prompt (04 RT6); None: a failed workflow hangs up at once.
    error_prompt: ErrorPrompt | None = None


@dataclass(slots=True)
class Tenant:
    id: str
    name: str
    partner_id: str | None = None
    time_zone: str = "UTC"
    default_language: str = "en-US"
    settings: TenantSettings = field(default_factory=TenantSettings)
    #: Counts changes of the record and its settings: the ETag of `GET /tenant`.
    version: int = 1


@dataclass(slots=True)
class OrganisationUnit:
    id: str
    name: str
    parent_id: str | None = None
    version: int = 1


@dataclass(slots=True)
class DistributionSettings:
    available_when_busy: bool = False
    available_when_away: bool = False
    acw_enabled: bool = False
    acw_duration_s: int = 20
    acw_allow_early_end: bool = True
    acw_allow_extension: bool = False
    acw_max_extension_s: int = 60
    persistent_rona: bool = False
    rona_reset_s: int = 600
    default_priority: Priority = Priority.NORMAL
    user_ordering: UserOrdering = UserOrdering.LONGEST_IDLE
    random_seed: int | None = None
    preferred_wait_s: int = 0
    keep_custom_context_on_transfer_to_users: bool = True
    max_queue_size: int | None = None


@dataclass(slots=True)
class ReportingSettings:
    sla_acceptance_s: int = 20
    sla_hangup_s: int = 20
    store_context_data: bool = False


@dataclass(slots=True)
class QueueSettings:
    """How a service queues work when its workflow reaches a queue step.

    The workflow's queue activity (issue "Workflows") may override each value;
    until then these are the service's defaults for the minimal accept → queue path.
    """

    distribution_type: DistributionType = DistributionType.DIRECT_CONFERENCE
    rona_timeout_s: int = 20
    max_queue_time_s: int | None = None
    exit_when_no_users: bool = False


@dataclass(slots=True)
class Service:
    id: str
    name: str
    upn: str
    user_assignment_type: AssignmentType
    ou_id: str = "root"
    display_name: str = ""
    description: str = ""
    enabled: bool = True
    pstn_number: str | None = None
    member_group_id: str | None = None
    new_members_active: bool = True
    distribution_policy_id: str | None = None
    enabled_modalities: frozenset[Modality] = frozenset({Modality.AUDIO})
    email_mailbox_upn: str | None = None
    outbound_conversations_enabled: bool = False
    outbound_with_workflow_enabled: bool = False
    primary_calendar_id: str | None = None
    secondary_calendar_id: str | None = None
    distribution: DistributionSettings = field(default_factory=DistributionSettings)
    reporting: ReportingSettings = field(default_factory=ReportingSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    workflows: dict[str, str] = field(default_factory=dict)
    codes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    version: int = 1

    @property
    def has_members(self) -> bool:
        return self.user_assignment_type is not AssignmentType.NONE


@dataclass(slots=True)
class Parallelization:
    enabled: bool = False
    max_total: int = 2
    per_modality: dict[Modality, int] = field(default_factory=dict)

    def total_limit(self) -> int:
        return self.max_total if self.enabled else 1

    def modality_limit(self, modality: Modality) -> int:
        if not self.enabled:
            return 1
        return self.per_modality.get(modality, self.max_total)


@dataclass(slots=True)
class Membership:
    service_id: str
    role: MembershipRole = MembershipRole.AGENT
    active: bool = True


@dataclass(slots=True, frozen=True)
class UserSkill:
    skill_id: str
    level: int | None = None
    responsibility: int | None = None


@dataclass(slots=True)
class User:
    id: str
    upn: str
    display_name: str
    ou_id: str = "root"
    email: str | None = None
    #: The user's id in the linked directory (Entra `oid`); OIDC sign-in matches on it.
    directory_object_id: str | None = None
    enabled: bool = True
    voice_licensed: bool = True
    memberships: dict[str, Membership] = field(default_factory=dict)
    skills: dict[str, UserSkill] = field(default_factory=dict)
    responsibility_profile_ids: tuple[str, ...] = ()
    active_profile_id: str = OFF_DUTY_PROFILE_ID
    not_available_reason_ids: tuple[str, ...] = ()
    parallelization: Parallelization = field(default_factory=Parallelization)
    #: Administrative roles (01 §3); the agent role is implicit in `memberships`.
    roles: tuple[RoleAssignment, ...] = ()
    version: int = 1


@dataclass(slots=True, frozen=True)
class SkillLevel:
    value: int
    name: str


@dataclass(slots=True)
class SkillCategory:
    id: str
    name: str
    ou_id: str = "root"
    levelled: bool = False
    levels: tuple[SkillLevel, ...] = ()
    responsibility_enabled: bool = False
    version: int = 1


@dataclass(slots=True)
class Skill:
    id: str
    category_id: str
    name: str
    ou_id: str = "root"
    version: int = 1


@dataclass(slots=True, frozen=True)
class ProfileEntry:
    skill_id: str
    min_responsibility: int | None = None
    max_responsibility: int | None = None


@dataclass(slots=True)
class ResponsibilityProfile:
    id: str
    name: str
    kind: ProfileKind = ProfileKind.CUSTOM
    ou_id: str = "root"
    entries: tuple[ProfileEntry, ...] = ()
    version: int = 1


BUILTIN_PROFILES = (
    ResponsibilityProfile(id=ON_DUTY_PROFILE_ID, name="On duty", kind=ProfileKind.ON_DUTY),
    ResponsibilityProfile(id=OFF_DUTY_PROFILE_ID, name="Off duty", kind=ProfileKind.OFF_DUTY),
)


@dataclass(slots=True, frozen=True)
class Requirement:
    skill_id: str
    min_level: int | None = None
    max_level: int | None = None
    min_responsibility: int | None = None
    max_responsibility: int | None = None


@dataclass(slots=True)
class PolicyLevel:
    requirements: tuple[Requirement, ...] = ()
    match: Match = Match.ALL
    time_in_level_s: int | None = None


@dataclass(slots=True)
class DistributionPolicy:
    id: str
    name: str
    levels: tuple[PolicyLevel, ...]
    ou_id: str = "root"
    version: int = 1


@dataclass(slots=True)
class NotAvailableReason:
    id: str
    name: str
    ou_id: str = "root"
    enabled: bool = True
    version: int = 1


@dataclass(slots=True)
class CustomParameter:
    id: str
    name: str
    ou_id: str = "root"
    default_value: str = ""
    description: str = ""
    show_to_users: bool = True
    version: int = 1


@dataclass(slots=True)
class Code:
    id: str
    name: str
    short_code: str
    ou_id: str = "root"
    enabled: bool = True
    version: int = 1


@dataclass(slots=True)
class Tag:
    id: str
    name: str
    ou_id: str = "root"
    enabled: bool = True
    version: int = 1


#: The media types an audio resource may hold (01 §9), and its size limit.
AUDIO_CONTENT_TYPES = ("audio/wav", "audio/mpeg")
MAX_AUDIO_BYTES = 10 * 1024 * 1024


@dataclass(slots=True)
class AudioResource:
    """A recording workflow prompts play (01 §9).

    The three facts about the content are the server's: they are filled when
    the bytes are uploaded (and None until then), never written by a client.
    """

    id: str
    name: str
    ou_id: str = "root"
    content_type: str | None = None
    duration_s: float | None = None
    size_bytes: int | None = None
    version: int = 1


@dataclass(slots=True)
class AddressBook:
    """A shared list of contacts (01 §11). The contacts themselves are not
    configuration: there may be 100 000 per book, so they live in the store
    (`switchboard.store.contacts`), not in the engine's state."""

    id: str
    name: str
    ou_id: str = "root"
    version: int = 1
