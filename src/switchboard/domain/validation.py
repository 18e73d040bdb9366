"""Field and cross-entity validation of configuration entities (spec 01).

Every administrator edit passes through here before it is stored. The module is
pure: it reads the entity, an optional stored `previous` version and a read-only
`Catalog` of the tenant's other entities, and returns a list of `Issue`s. It does
no I/O and imports only the standard library and `switchboard.domain`, so the
API, the CLI, the importer and the tests can all share one definition of "valid".

Design choices worth knowing:

* **All problems at once** (01 §1 rule 5). Each `validate_*` function keeps going
  after a failure and returns every issue it finds, so an administrator can fix a
  form in one round trip. `require_valid` turns a non-empty list into the
  `ValidationFailed` exception that the API maps to HTTP 422.
* **Paths are request-body paths.** `Issue.path` is dotted JSON relative to the
  entity (`distribution.acw_duration_s`, `levels[2].time_in_level_s`). Where the
  domain model stores a keyed mapping that the API exchanges as a list
  (`User.memberships`, `User.skills`) the path uses the list position, which is the
  mapping's insertion order; the API layer must build the mapping in request order
  and reject duplicate keys itself, because a dict cannot hold them.
* **Trimming.** Text is compared and measured after `str.strip()`, since 01 §1
  rule 3 says text is trimmed and whitespace-only counts as missing.
* **Uniqueness** ignores the entity's own id, so re-saving an unchanged entity
  that is already in the catalog is valid. Names compare exactly after trimming;
  UPNs and mailboxes compare case-insensitively because directory addresses are.
* **Phone numbers** are checked with the E.164 shape ``+`` and 8–15 digits only.
  The spec asks for `phonenumbers`; that library is not a dependency of the
  domain layer, so the API layer will parse numbers with it (region-aware
  validity) and this module stays a cheap, dependency-free backstop.
* **Runtime types.** Dataclass annotations are not enforced at runtime, and
  `bool` is a subclass of `int`, so integer fields are checked explicitly and a
  wrong type yields `invalid_type` instead of a misleading range message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Final, Protocol, TypeGuard, TypeVar

from switchboard.domain.calendars import Calendar
from switchboard.domain.config import (
    AUDIO_CONTENT_TYPES,
    BUILTIN_PROFILES,
    MAX_AUDIO_BYTES,
    OFF_DUTY_PROFILE_ID,
    ON_DUTY_PROFILE_ID,
    AddressBook,
    AudioResource,
    Code,
    ConcurrencyCaps,
    CustomParameter,
    DistributionPolicy,
    DistributionSettings,
    ErrorPrompt,
    NotAvailableReason,
    OrganisationUnit,
    Parallelization,
    PolicyLevel,
    QueueSettings,
    ReportingSettings,
    Requirement,
    ResponsibilityProfile,
    Service,
    Skill,
    SkillCategory,
    Tag,
    TenantSettings,
    User,
)
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
from switchboard.domain.errors import DomainError
from switchboard.domain.roles import ROLE_SCOPE, SYSTEM_ROLES, RoleAssignment, ScopeType

if TYPE_CHECKING:
    # The workflow package validates with this module; see `config.__getattr__`.
    from switchboard.domain.workflow.document import Workflow

__all__ = [
    "MAX_CUSTOM_PARAMETERS",
    "MAX_OU_DEPTH",
    "Catalog",
    "Issue",
    "ValidationFailed",
    "is_visible",
    "require_valid",
    "validate_address_book",
    "validate_audio_resource",
    "validate_code",
    "validate_not_available_reason",
    "validate_ou",
    "validate_parameter",
    "validate_policy",
    "validate_profile",
    "validate_service",
    "validate_skill",
    "validate_skill_category",
    "validate_tag",
    "validate_tenant_settings",
    "validate_user",
]

#: 01 §12 limits enforced here.
MAX_OU_DEPTH: Final = 10
MAX_POLICY_LEVELS: Final = 10
MAX_CATEGORY_LEVELS: Final = 10
MAX_CUSTOM_PARAMETERS: Final = 1000
MAX_PARALLEL_TASKS: Final = 4

# `local@domain` where the local part is an RFC 5322 dot-atom and the domain has
# at least two DNS labels: directory UPN suffixes are verified DNS domains.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_UPN_RE: Final = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
# `\d` would also accept non-ASCII digits, hence re.ASCII; fullmatch (not `$`)
# so that a trailing newline is rejected.
_E164_RE: Final = re.compile(r"\+[1-9]\d{7,14}", re.ASCII)
_PARAMETER_ID_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)

_BUILTIN_PROFILE_IDS: Final = frozenset({ON_DUTY_PROFILE_ID, OFF_DUTY_PROFILE_ID})
_BUILTIN_ID_BY_KIND: Final = {
    ProfileKind.ON_DUTY: ON_DUTY_PROFILE_ID,
    ProfileKind.OFF_DUTY: OFF_DUTY_PROFILE_ID,
}

# Workflow slots of a service (01 §4.4) and the modality each one needs.
_WORKFLOW_KEYS: Final = {
    "audio_inbound": Modality.AUDIO,
    "chat_inbound": Modality.CHAT,
    "email_inbound": Modality.EMAIL,
    "external_task_inbound": Modality.EXTERNAL_TASK,
    "audio_outbound": Modality.AUDIO,
}

# DistributionSettings fields that only make sense when users receive tasks; a
# service with user_assignment_type `none` must leave them at their defaults.
_ACW_RONA_FIELDS: Final = (
    "acw_enabled",
    "acw_duration_s",
    "acw_allow_early_end",
    "acw_allow_extension",
    "acw_max_extension_s",
    "persistent_rona",
    "rona_reset_s",
)

# Allowed ranges of the per-service concurrency caps (01 §10) and whether the
# cap may be null (= no cap).
_CAP_RANGES: Final = {
    "audio": (1, 1000, True),
    "chat": (1, 50, False),
    "email": (1, 1000, False),
    "external_task": (1, 1000, False),
}

_E = TypeVar("_E", bound=Enum)


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True, slots=True)
class Issue:
    """One validation problem, in the shape the API returns (01 §1 rule 5).

    `code` is one of the error codes of 01 §1 rule 6, `path` a dotted JSON path
    into the entity, `message` one sentence for a person naming the field and
    what was expected.
    """

    code: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


class ValidationFailed(DomainError):
    """An entity failed validation; `issues` lists every problem found."""

    code = "validation_failed"
    issues: tuple[Issue, ...]

    def __init__(self, issues: Iterable[Issue]) -> None:
        found = tuple(issues)
        if not found:
            raise ValueError("ValidationFailed needs at least one issue")
        count = len(found)
        noun = "problem" if count == 1 else "problems"
        message = f"Validation found {count} {noun}; the first: {found[0].message}"
        super().__init__(message, issues=[issue.as_dict() for issue in found])
        self.issues = found


@dataclass(frozen=True, slots=True)
class Catalog:
    """Read-only view of one tenant's stored configuration, keyed by id.

    The cross-entity rules (uniqueness in the tenant, references that must
    exist, OU cycles) need to see other entities, but the domain layer must not
    reach into storage; the caller assembles this snapshot instead. It may
    contain the stored version of the entity being validated: validators skip
    an entity's own id when checking uniqueness. The built-in responsibility
    profiles need not be listed; they are always known.
    """

    ous: Mapping[str, OrganisationUnit] = field(default_factory=dict)
    services: Mapping[str, Service] = field(default_factory=dict)
    users: Mapping[str, User] = field(default_factory=dict)
    skill_categories: Mapping[str, SkillCategory] = field(default_factory=dict)
    skills: Mapping[str, Skill] = field(default_factory=dict)
    profiles: Mapping[str, ResponsibilityProfile] = field(default_factory=dict)
    policies: Mapping[str, DistributionPolicy] = field(default_factory=dict)
    not_available_reasons: Mapping[str, NotAvailableReason] = field(default_factory=dict)
    parameters: Mapping[str, CustomParameter] = field(default_factory=dict)
    codes: Mapping[str, Code] = field(default_factory=dict)
    tags: Mapping[str, Tag] = field(default_factory=dict)
    address_books: Mapping[str, AddressBook] = field(default_factory=dict)
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    audio_resources: Mapping[str, AudioResource] = field(default_factory=dict)
    #: Stored workflows by id: each one's current document (a draft, or its
    #: latest published version when no draft is open).
    workflows: Mapping[str, Workflow] = field(default_factory=dict)
    #: The latest published version of each workflow that has one; services
    #: may refer only to these (04 §1 `status`).
    published_workflows: Mapping[str, Workflow] = field(default_factory=dict)


def require_valid(issues: Sequence[Issue]) -> None:
    """Raise `ValidationFailed` carrying all `issues` unless there are none."""
    if issues:
        raise ValidationFailed(issues)


def is_visible(target_ou: str, from_ou: str, ous: Mapping[str, OrganisationUnit]) -> bool:
    """Whether an entity in `from_ou` may reference one in `target_ou` (01 §2 rule 7).

    Visible means the same OU or one of its ancestors. An OU missing from `ous`
    cannot be judged here; its own unknown reference is reported elsewhere, so
    the answer is then True rather than a second, misleading issue.
    """
    if target_ou == from_ou or from_ou not in ous:
        return True
    seen = {from_ou}
    current = ous[from_ou].parent_id
    while current is not None and current not in seen:
        if current == target_ou:
            return True
        seen.add(current)
        node = ous.get(current)
        current = node.parent_id if node is not None else None
    return False


# --------------------------------------------------------------------------- helpers


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _leaf(path: str) -> str:
    """The field name a person recognises: last path segment without an index."""
    last = path.rsplit(".", 1)[-1]
    return last.split("[", 1)[0]


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def _bounds(low: int, high: int | None, unit: str) -> str:
    suffix = f" {unit}" if unit else ""
    if high is not None:
        return f"between {low} and {high}{suffix}"
    if low == 1 and unit:
        return f"a positive number of {unit}"
    return f"at least {low}{suffix}"


def _name_key(value: str) -> str:
    return value.strip()


def _address_key(value: str) -> str:
    return value.strip().casefold()


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


class _Named(Protocol):
    @property
    def name(self) -> str: ...


def _own_ids(entity_id: str, previous: _HasId | None) -> frozenset[str]:
    """Ids that denote the entity itself, skipped by uniqueness checks.

    The stored version counts too, so that an (illegal) id change is reported
    once as `immutable_field` rather than also as a clash with itself.
    """
    return frozenset({entity_id} if previous is None else {entity_id, previous.id})


def is_int(value: object) -> TypeGuard[int]:
    """JSON integers only: `True` is a bool in JSON, not 1."""
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    """Collects issues; each method checks one field and never stops the run."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, code: str, path: str, message: str) -> None:
        self.issues.append(Issue(code, path, message))

    def has(self, path: str) -> bool:
        return any(issue.path == path for issue in self.issues)

    def text(
        self,
        path: str,
        value: object,
        *,
        max_len: int,
        required: bool = True,
        strip: bool = True,
        expected: str | None = None,
    ) -> str | None:
        """Check a text field; return the trimmed text when it is usable.

        `expected` overrides the "1 to N characters" wording of the `required`
        message where the shape of the value matters more than its length.
        """
        name = _leaf(path)
        if expected is None:
            expected = f"1 to {max_len} characters" if required else f"at most {max_len} characters"
        if value is None:
            if required:
                self.add("required", path, f"{name} is required; expected {expected}.")
            return None
        if not isinstance(value, str):
            self.add("invalid_type", path, f"{name} must be text; got {_describe(value)}.")
            return None
        text = value.strip() if strip else value
        if required and not text.strip():
            self.add("required", path, f"{name} is required; expected {expected}.")
            return None
        if len(text) > max_len:
            self.add(
                "too_long",
                path,
                f"{name} must be at most {max_len} characters; got {len(text)}.",
            )
            return None
        return text

    def integer(
        self,
        path: str,
        value: object,
        low: int,
        high: int | None,
        *,
        unit: str = "",
        required: bool = True,
        label: str | None = None,
    ) -> int | None:
        """Check an integer field against inclusive bounds (`high` None = open).

        `label` replaces the path's last segment in messages where that segment
        alone (a map key such as `chat`) would not tell a person which field.
        """
        name = label or _leaf(path)
        if value is None:
            if required:
                self.add(
                    "required",
                    path,
                    f"{name} is required; expected a whole number {_bounds(low, high, unit)}.",
                )
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(
                "invalid_type", path, f"{name} must be a whole number; got {_describe(value)}."
            )
            return None
        if value < low or (high is not None and value > high):
            self.add(
                "out_of_range", path, f"{name} must be {_bounds(low, high, unit)}; got {value}."
            )
            return None
        return value

    def enum(self, path: str, value: object, enum_type: type[_E]) -> _E | None:
        if isinstance(value, enum_type):
            return value
        allowed = ", ".join(member.name.lower() for member in enum_type)
        self.add(
            "invalid_type",
            path,
            f"{_leaf(path)} must be one of {allowed}; got {value!r}.",
        )
        return None

    def upn(self, path: str, value: object, *, required: bool = True, why: str = "") -> str | None:
        """Check `local@domain.tld` syntax; `why` explains a conditional requirement."""
        text = self.text(
            path,
            value,
            max_len=256,
            required=required,
            expected=f"an address like name@contoso.com{why}",
        )
        if not text:
            return None
        if not _UPN_RE.fullmatch(text):
            self.add(
                "invalid_format",
                path,
                f"{_leaf(path)} must look like local@domain.tld; got {text!r}.",
            )
            return None
        return text

    def e164(self, path: str, value: object) -> str | None:
        if not isinstance(value, str):
            self.add("invalid_type", path, f"{_leaf(path)} must be text; got {_describe(value)}.")
            return None
        if not _E164_RE.fullmatch(value):
            self.add(
                "invalid_format",
                path,
                f"{_leaf(path)} must be an E.164 number, '+' followed by 8 to 15 digits; "
                f"got {value!r}.",
            )
            return None
        return value

    def unique(
        self, path: str, key: str, shown: str, taken: Iterable[tuple[str, str]], scope: str
    ) -> None:
        """Report `not_unique` when `key` equals one of `taken` (key, owner label)."""
        for other_key, owner in taken:
            if other_key == key:
                self.add(
                    "not_unique",
                    path,
                    f"{_leaf(path)} must be unique {scope}; {shown!r} is already used by {owner}.",
                )
                return

    def unique_name(
        self, name: str, others: Iterable[_Named], label: str, scope: str = "in the tenant"
    ) -> None:
        """`unique` for the `name` field: names compare as `_name_key` does, each
        other entity is shown as "<label> '<name>'" (`others` excludes the entity itself)."""
        self.unique(
            "name",
            _name_key(name),
            name,
            ((_name_key(o.name), f"{label} {o.name!r}") for o in others),
            scope,
        )

    def references(
        self,
        path: str,
        ids: Sequence[str],
        known: Mapping[str, object] | frozenset[str],
        what: str,
    ) -> list[str]:
        """Check a list of ids for duplicates and existence; return the known ones."""
        seen: set[str] = set()
        good: list[str] = []
        for index, ref in enumerate(ids):
            item = f"{path}[{index}]"
            if ref in seen:
                self.add(
                    "not_unique",
                    item,
                    f"{_leaf(path)} lists {what} {ref!r} more than once; list each once.",
                )
                continue
            seen.add(ref)
            if ref not in known:
                self.add(
                    "unknown_reference",
                    item,
                    f"{_leaf(path)} refers to {what} {ref!r}, which does not exist.",
                )
                continue
            good.append(ref)
        return good

    def unchanged_id(self, entity_id: str, previous_id: str | None) -> None:
        """Ids are fixed after creation (01 §1 rule 1)."""
        if previous_id is not None and entity_id != previous_id:
            self.add(
                "immutable_field",
                "id",
                f"id cannot be changed after creation; it is {previous_id!r}, got {entity_id!r}.",
            )

    def bounds_order(
        self, path: str, low_name: str, low: int | None, high_name: str, high: int | None
    ) -> None:
        if low is not None and high is not None and low > high:
            self.add(
                "invalid_combination",
                _join(path, low_name),
                f"{low_name} ({low}) must not exceed {high_name} ({high}).",
            )


# --------------------------------------------------------------------------- service


def validate_service(
    service: Service, catalog: Catalog, previous: Service | None = None
) -> list[Issue]:
    """Check a service (01 §4) against its own rules and the tenant's catalog.

    `previous` is the stored version on update; it makes `user_assignment_type`
    immutable, because members, policies and duty semantics all hang off it.
    Workflow existence and the "enabled needs an inbound workflow" rule (§4.4
    rules 2–3) are not checked: workflows (spec 04) are not modelled yet, and a
    service currently runs the minimal accept → queue path without one.
    """
    ch = _Checker()
    ch.unchanged_id(service.id, previous.id if previous else None)
    own = _own_ids(service.id, previous)
    others = [s for s in catalog.services.values() if s.id not in own]

    name = ch.text("name", service.name, max_len=64)
    if name:
        ch.unique_name(name, others, "service")
    # An empty display_name means "same as name" (01 §4.1 default).
    ch.text("display_name", service.display_name, max_len=128, required=False)
    ch.text("description", service.description, max_len=1024, required=False)

    upn = ch.upn("upn", service.upn)
    if upn:
        ch.unique(
            "upn",
            _address_key(upn),
            upn,
            _addresses_in_use(others, catalog.users.values(), skip_users=frozenset()),
            "in the tenant across services and users",
        )
    if service.pstn_number is not None:
        pstn = ch.e164("pstn_number", service.pstn_number)
        if pstn:
            ch.unique(
                "pstn_number",
                pstn,
                pstn,
                ((s.pstn_number, f"service {s.name!r}") for s in others if s.pstn_number),
                "in the tenant",
            )

    kind = ch.enum("user_assignment_type", service.user_assignment_type, AssignmentType)
    if (
        kind is not None
        and previous is not None
        and previous.user_assignment_type is not service.user_assignment_type
    ):
        ch.add(
            "immutable_field",
            "user_assignment_type",
            "user_assignment_type cannot be changed after creation; "
            f"it is {previous.user_assignment_type.value}.",
        )
    if kind is not None:
        _check_assignment_fields(ch, service, kind, catalog)

    modalities = _check_modalities(ch, service)
    _check_mailbox(ch, service, modalities, others)
    _check_outbound(ch, service, kind, modalities)
    _check_calendars(ch, service, catalog)
    _check_workflows(ch, service, modalities, catalog)
    _check_distribution(ch, service.distribution, kind)
    _check_reporting(ch, service.reporting)
    _check_queue(ch, service.queue)
    ch.references("codes", service.codes, catalog.codes, "code")
    ch.references("tags", service.tags, catalog.tags, "tag")
    return ch.issues


def _addresses_in_use(
    services: Iterable[Service], users: Iterable[User], *, skip_users: frozenset[str]
) -> list[tuple[str, str]]:
    """UPNs share one namespace across services and users (01 §4.1, §5.1)."""
    taken = [(_address_key(s.upn), f"service {s.name!r}") for s in services if s.upn]
    taken += [
        (_address_key(u.upn), f"user {u.display_name!r}")
        for u in users
        if u.upn and u.id not in skip_users
    ]
    return taken


def _check_assignment_fields(
    ch: _Checker, service: Service, kind: AssignmentType, catalog: Catalog
) -> None:
    if kind is not AssignmentType.TEAMS_BASED:
        if service.member_group_id is not None:
            ch.add(
                "not_applicable",
                "member_group_id",
                "member_group_id applies only to teams_based services; "
                f"leave it empty for a {kind.value} service.",
            )
        if service.new_members_active is not True:
            ch.add(
                "not_applicable",
                "new_members_active",
                "new_members_active applies only to teams_based services; "
                f"leave it true for a {kind.value} service.",
            )
    if kind is AssignmentType.SKILL_BASED:
        policy_id = service.distribution_policy_id
        if not policy_id:
            ch.add(
                "required",
                "distribution_policy_id",
                "distribution_policy_id is required for a skill_based service.",
            )
        elif policy_id not in catalog.policies:
            ch.add(
                "unknown_reference",
                "distribution_policy_id",
                f"distribution_policy_id refers to policy {policy_id!r}, which does not exist.",
            )
    elif service.distribution_policy_id is not None:
        ch.add(
            "not_applicable",
            "distribution_policy_id",
            "distribution_policy_id applies only to skill_based services; "
            f"leave it empty for a {kind.value} service.",
        )
    if kind is AssignmentType.NONE:
        members = sorted(u.id for u in catalog.users.values() if service.id in u.memberships)
        if members:
            ch.add(
                "invalid_combination",
                "user_assignment_type",
                "user_assignment_type none means the service has no members, "
                f"but {len(members)} user(s) are members: {', '.join(members)}.",
            )


def _check_modalities(ch: _Checker, service: Service) -> frozenset[Modality]:
    modalities = service.enabled_modalities
    if not modalities:
        ch.add(
            "too_short",
            "enabled_modalities",
            "enabled_modalities must contain at least one of audio, chat, email, external_task.",
        )
        return frozenset()
    bad = sorted(repr(m) for m in modalities if not isinstance(m, Modality))
    if bad:
        ch.add(
            "invalid_type",
            "enabled_modalities",
            "enabled_modalities may contain only audio, chat, email and external_task; "
            f"got {', '.join(bad)}.",
        )
    return frozenset(m for m in modalities if isinstance(m, Modality))


def _check_mailbox(
    ch: _Checker, service: Service, modalities: frozenset[Modality], others: list[Service]
) -> None:
    path = "email_mailbox_upn"
    if Modality.EMAIL in modalities:
        mailbox = ch.upn(
            path, service.email_mailbox_upn, why=" because the email modality is enabled"
        )
        if mailbox:
            ch.unique(
                path,
                _address_key(mailbox),
                mailbox,
                (
                    (_address_key(s.email_mailbox_upn), f"service {s.name!r}")
                    for s in others
                    if s.email_mailbox_upn
                ),
                "across services (one mailbox serves one service)",
            )
    elif service.email_mailbox_upn is not None:
        ch.add(
            "not_applicable",
            path,
            "email_mailbox_upn applies only when the email modality is enabled; leave it empty.",
        )


def _check_outbound(
    ch: _Checker,
    service: Service,
    kind: AssignmentType | None,
    modalities: frozenset[Modality],
) -> None:
    has_audio = Modality.AUDIO in modalities
    if service.outbound_conversations_enabled:
        if not has_audio:
            ch.add(
                "invalid_combination",
                "outbound_conversations_enabled",
                "outbound_conversations_enabled needs the audio modality to be enabled.",
            )
        elif kind is AssignmentType.NONE:
            ch.add(
                "invalid_combination",
                "outbound_conversations_enabled",
                "outbound_conversations_enabled needs a service with members; "
                "user_assignment_type none has none.",
            )
    if service.outbound_with_workflow_enabled and not has_audio:
        ch.add(
            "invalid_combination",
            "outbound_with_workflow_enabled",
            "outbound_with_workflow_enabled needs the audio modality to be enabled.",
        )


def _check_calendars(ch: _Checker, service: Service, catalog: Catalog) -> None:
    """Opening-hours calendars (01 §4.1, 04 §5): existing, visible, a sound pair."""
    for path in ("primary_calendar_id", "secondary_calendar_id"):
        calendar_id = getattr(service, path)
        if calendar_id is None:
            continue
        calendar = catalog.calendars.get(calendar_id)
        if calendar is None:
            ch.add(
                "unknown_reference",
                path,
                f"{path} refers to calendar {calendar_id!r}, which does not exist.",
            )
        elif not is_visible(calendar.ou_id, service.ou_id, catalog.ous):
            ch.add(
                "reference_not_visible",
                path,
                f"{path} refers to calendar {calendar.name!r} in OU {calendar.ou_id!r}, which "
                f"the service's OU {service.ou_id!r} cannot see; use a calendar of the "
                "service's OU or one of its ancestors.",
            )
    secondary = service.secondary_calendar_id
    if secondary is None:
        return
    if service.primary_calendar_id is None:
        ch.add(
            "invalid_combination",
            "secondary_calendar_id",
            "secondary_calendar_id needs a primary_calendar_id to be set first.",
        )
    elif secondary == service.primary_calendar_id:
        ch.add(
            "invalid_combination",
            "secondary_calendar_id",
            "secondary_calendar_id must differ from primary_calendar_id.",
        )


def _check_workflows(
    ch: _Checker, service: Service, modalities: frozenset[Modality], catalog: Catalog
) -> None:
    """01 §4.4: each slot's modality is enabled and it names a published workflow of
    the slot's kind that the service's OU can see.

    Rule 3 (every enabled inbound modality needs a workflow before the service may
    be enabled) is not enforced (decision, docs/workflows.md): a kind without a
    workflow runs the built-in "accept, then queue with the service's queue
    settings", which is what every service did before workflows existed.
    """
    # Imported here: the workflow package validates with this module.
    from switchboard.domain.workflow.lifecycle import check_assignment

    for key, workflow_id in service.workflows.items():
        path = f"workflows.{key}"
        needed = _WORKFLOW_KEYS.get(key)
        if needed is None:
            ch.add(
                "invalid_format",
                path,
                f"{key} is not a workflow slot; use one of {', '.join(_WORKFLOW_KEYS)}.",
            )
            continue
        if needed not in modalities:
            ch.add(
                "not_applicable",
                path,
                f"{key} needs the {needed.value} modality to be enabled on the service.",
            )
            continue
        if key == "audio_outbound" and not service.outbound_with_workflow_enabled:
            ch.add(
                "not_applicable",
                path,
                "audio_outbound applies only when outbound_with_workflow_enabled is true.",
            )
            continue
        if not isinstance(workflow_id, str) or not workflow_id.strip():
            ch.add("required", path, f"{key} needs a workflow id; remove the key to unset it.")
            continue
        published = catalog.published_workflows.get(workflow_id)
        found = check_assignment(key, workflow_id, published)
        for issue in found:
            ch.add(issue.code, issue.path, issue.message)
        if (
            not found
            and published is not None
            and not is_visible(published.ou_id, service.ou_id, catalog.ous)
        ):
            ch.add(
                "reference_not_visible",
                path,
                f"{key} refers to workflow {published.name!r} in OU {published.ou_id!r}, "
                f"which the service's OU {service.ou_id!r} cannot see; use a workflow of "
                "the service's OU or one of its ancestors.",
            )
    if (
        service.outbound_with_workflow_enabled
        and Modality.AUDIO in modalities
        and "audio_outbound" not in service.workflows
    ):
        ch.add(
            "required",
            "workflows.audio_outbound",
            "audio_outbound is required when outbound_with_workflow_enabled is true.",
        )


def _check_distribution(
    ch: _Checker, dist: DistributionSettings, kind: AssignmentType | None
) -> None:
    prefix = "distribution"
    defaults = DistributionSettings()
    if kind is AssignmentType.NONE:
        # No users means no after-call work and nobody to flag as RONA; a value
        # here would be a silent no-op that misleads the next administrator.
        for name in _ACW_RONA_FIELDS:
            default = getattr(defaults, name)
            if getattr(dist, name) != default:
                ch.add(
                    "not_applicable",
                    _join(prefix, name),
                    f"{name} does not apply to a service with user_assignment_type none; "
                    f"leave it at {default!r}.",
                )
    _unless_flagged(ch, _join(prefix, "acw_duration_s"), dist.acw_duration_s, 5, 1800, "seconds")
    extension_path = _join(prefix, "acw_max_extension_s")
    if not ch.has(extension_path):
        ch.integer(
            extension_path,
            dist.acw_max_extension_s,
            5,
            1800,
            unit="seconds",
            required=dist.acw_allow_extension is True,
        )
    _unless_flagged(ch, _join(prefix, "rona_reset_s"), dist.rona_reset_s, 10, 19200, "seconds")
    ch.enum(_join(prefix, "default_priority"), dist.default_priority, Priority)
    ordering = ch.enum(_join(prefix, "user_ordering"), dist.user_ordering, UserOrdering)
    seed_path = _join(prefix, "random_seed")
    if dist.random_seed is not None:
        if not is_int(dist.random_seed):
            ch.add(
                "invalid_type",
                seed_path,
                f"random_seed must be a whole number; got {_describe(dist.random_seed)}.",
            )
        elif ordering is not None and ordering is not UserOrdering.RANDOM:
            ch.add(
                "not_applicable",
                seed_path,
                f"random_seed applies only when user_ordering is random, not {ordering.value}.",
            )
    ch.integer(_join(prefix, "preferred_wait_s"), dist.preferred_wait_s, 0, 600, unit="seconds")
    ch.integer(_join(prefix, "max_queue_size"), dist.max_queue_size, 1, 10000, required=False)


def _unless_flagged(ch: _Checker, path: str, value: object, low: int, high: int, unit: str) -> None:
    """Range-check a field unless it already has an issue (one issue per field)."""
    if not ch.has(path):
        ch.integer(path, value, low, high, unit=unit)


def _check_reporting(ch: _Checker, reporting: ReportingSettings) -> None:
    for name in ("sla_acceptance_s", "sla_hangup_s"):
        ch.integer(f"reporting.{name}", getattr(reporting, name), 1, 3600, unit="seconds")


def _check_queue(ch: _Checker, queue: QueueSettings) -> None:
    ch.enum("queue.distribution_type", queue.distribution_type, DistributionType)
    ch.integer("queue.rona_timeout_s", queue.rona_timeout_s, 5, 30, unit="seconds")
    ch.integer(
        "queue.max_queue_time_s", queue.max_queue_time_s, 1, None, unit="seconds", required=False
    )


# --------------------------------------------------------------------------- user


def validate_user(user: User, catalog: Catalog, previous: User | None = None) -> list[Issue]:
    """Check a user (01 §5): identity, memberships, skills, profiles, parallelization."""
    ch = _Checker()
    ch.unchanged_id(user.id, previous.id if previous else None)
    upn = ch.upn("upn", user.upn)
    if upn:
        ch.unique(
            "upn",
            _address_key(upn),
            upn,
            _addresses_in_use(
                catalog.services.values(),
                catalog.users.values(),
                skip_users=_own_ids(user.id, previous),
            ),
            "in the tenant across users and services",
        )
    ch.text("display_name", user.display_name, max_len=256)
    ch.text("email", user.email, max_len=128, required=False)
    directory_id = ch.text(
        "directory_object_id", user.directory_object_id, max_len=64, required=False
    )
    if directory_id and any(
        (u.directory_object_id or "").strip().casefold() == directory_id.casefold()
        for u in catalog.users.values()
        if u.id != user.id
    ):
        ch.add(
            "not_unique",
            "directory_object_id",
            "directory_object_id must be unique in the tenant; another user has it.",
        )

    has_skill_based = _check_memberships(ch, user, catalog)
    _check_user_skills(ch, user, catalog)

    known_profiles = frozenset(catalog.profiles) | _BUILTIN_PROFILE_IDS
    ch.references(
        "responsibility_profile_ids", user.responsibility_profile_ids, known_profiles, "profile"
    )
    active = user.active_profile_id
    if active not in _BUILTIN_PROFILE_IDS and active not in user.responsibility_profile_ids:
        ch.add(
            "invalid_combination",
            "active_profile_id",
            f"active_profile_id must be on_duty, off_duty or one of "
            f"responsibility_profile_ids; got {active!r}.",
        )
    elif active != OFF_DUTY_PROFILE_ID and not has_skill_based:
        # Duty profiles only steer skill-based distribution (01 §6.4).
        ch.add(
            "invalid_combination",
            "active_profile_id",
            "active_profile_id other than off_duty needs a membership of a skill_based service.",
        )
    ch.references(
        "not_available_reason_ids",
        user.not_available_reason_ids,
        catalog.not_available_reasons,
        "not-available reason",
    )
    _check_parallelization(ch, user.parallelization)
    _check_roles(ch, user.roles, catalog)
    return ch.issues


def _check_roles(ch: _Checker, roles: Sequence[RoleAssignment], catalog: Catalog) -> None:
    """Role assignments (01 §3): the right scope object, existing, no duplicates."""
    seen: set[RoleAssignment] = set()
    for index, assignment in enumerate(roles):
        path = f"roles[{index}]"
        role, scope_type, scope_id = assignment.role, assignment.scope_type, assignment.scope_id
        if assignment in seen:
            ch.add("not_unique", path, f"The role {role.value} on this scope is assigned twice.")
            continue
        seen.add(assignment)
        expected = ROLE_SCOPE.get(role)
        if role in SYSTEM_ROLES:
            ch.add(
                "not_applicable",
                f"{path}.role",
                f"{role.value} is not a tenant role: it belongs to a system account "
                "(switchboard admin create), not to a user of a tenant.",
            )
            continue
        if expected is None:
            ch.add(
                "not_applicable",
                f"{path}.role",
                "agent is not assigned: a user is an agent of the services they are a member of.",
            )
            continue
        if scope_type is not expected:
            ch.add(
                "invalid_combination",
                f"{path}.scope_type",
                f"{role.value} is granted on a {expected.value}, not a {scope_type.value}.",
            )
            continue
        if scope_type is ScopeType.TENANT:
            if scope_id is not None:
                ch.add(
                    "not_applicable",
                    f"{path}.scope_id",
                    "scope_id must be null for a tenant-wide role (it is the user's tenant).",
                )
            continue
        known: Mapping[str, object] = (
            catalog.ous if scope_type is ScopeType.OU else catalog.services
        )
        if not scope_id:
            ch.add("required", f"{path}.scope_id", f"scope_id must name the {scope_type.value}.")
        elif scope_id not in known:
            ch.add(
                "unknown_reference",
                f"{path}.scope_id",
                f"No {scope_type.value} with id {scope_id!r}.",
            )


def _check_memberships(ch: _Checker, user: User, catalog: Catalog) -> bool:
    """Check memberships; return whether one is of a skill_based service."""
    has_skill_based = False
    for index, (key, membership) in enumerate(user.memberships.items()):
        path = f"memberships[{index}]"
        if membership.service_id != key:
            ch.add(
                "invalid_combination",
                f"{path}.service_id",
                f"service_id {membership.service_id!r} does not match the membership key {key!r}.",
            )
        ch.enum(f"{path}.role", membership.role, MembershipRole)
        service = catalog.services.get(membership.service_id)
        if service is None:
            ch.add(
                "unknown_reference",
                f"{path}.service_id",
                f"service_id refers to service {membership.service_id!r}, which does not exist.",
            )
            continue
        kind = service.user_assignment_type
        if kind is AssignmentType.NONE:
            ch.add(
                "not_applicable",
                f"{path}.service_id",
                f"service_id refers to service {service.name!r}, "
                "whose user_assignment_type none allows no members.",
            )
        elif kind is AssignmentType.SKILL_BASED:
            has_skill_based = True
            if membership.active is not True:
                ch.add(
                    "not_applicable",
                    f"{path}.active",
                    "active is always true for a skill_based service; "
                    "duty is set by the active profile instead.",
                )
    return has_skill_based


def _check_user_skills(ch: _Checker, user: User, catalog: Catalog) -> None:
    for index, (key, user_skill) in enumerate(user.skills.items()):
        path = f"skills[{index}]"
        if user_skill.skill_id != key:
            ch.add(
                "invalid_combination",
                f"{path}.skill_id",
                f"skill_id {user_skill.skill_id!r} does not match the skill key {key!r}.",
            )
        skill = catalog.skills.get(user_skill.skill_id)
        if skill is None:
            ch.add(
                "unknown_reference",
                f"{path}.skill_id",
                f"skill_id refers to skill {user_skill.skill_id!r}, which does not exist.",
            )
            continue
        category = catalog.skill_categories.get(skill.category_id)
        if category is None:
            continue  # the skill's own problem, reported when the skill is validated
        level_path = f"{path}.level"
        if category.levelled:
            values = [lv.value for lv in category.levels]
            allowed = ", ".join(str(v) for v in values)
            if user_skill.level is None:
                ch.add(
                    "required",
                    level_path,
                    f"level is required for skill {skill.name!r}; expected one of {allowed}.",
                )
            elif not is_int(user_skill.level) or user_skill.level not in values:
                ch.add(
                    "out_of_range",
                    level_path,
                    f"level must be one of {allowed} for skill {skill.name!r}; "
                    f"got {user_skill.level!r}.",
                )
        elif user_skill.level is not None:
            ch.add(
                "not_applicable",
                level_path,
                f"level does not apply to skill {skill.name!r}, whose category has no levels.",
            )
        resp_path = f"{path}.responsibility"
        if category.responsibility_enabled:
            ch.integer(resp_path, user_skill.responsibility, 1, 10)
        elif user_skill.responsibility is not None:
            ch.add(
                "not_applicable",
                resp_path,
                f"responsibility does not apply to skill {skill.name!r}, "
                "whose category has responsibility disabled.",
            )


def _check_parallelization(ch: _Checker, par: Parallelization) -> None:
    prefix = "parallelization"
    total = ch.integer(_join(prefix, "max_total"), par.max_total, 1, MAX_PARALLEL_TASKS)
    ceiling = total if total is not None else MAX_PARALLEL_TASKS
    for modality, limit in par.per_modality.items():
        path = f"{prefix}.per_modality.{modality}"
        if not isinstance(modality, Modality):
            ch.add(
                "invalid_type",
                path,
                f"per_modality keys must be audio, chat, email or external_task; got {modality!r}.",
            )
            continue
        ch.integer(
            path,
            limit,
            0,
            ceiling,
            unit="tasks",
            label=f"per_modality.{modality}",
        )


# --------------------------------------------------------------------------- skills


def validate_skill_category(
    category: SkillCategory, catalog: Catalog, previous: SkillCategory | None = None
) -> list[Issue]:
    """Check a skill category (01 §6.1), including its level scale."""
    ch = _Checker()
    ch.unchanged_id(category.id, previous.id if previous else None)
    name = ch.text("name", category.name, max_len=64)
    if name:
        ch.unique_name(
            name,
            (
                c
                for c in catalog.skill_categories.values()
                if c.id not in _own_ids(category.id, previous)
            ),
            "category",
        )
    levels = category.levels
    if not category.levelled:
        if levels:
            ch.add(
                "not_applicable",
                "levels",
                "levels apply only to a levelled category; set levelled or remove the levels.",
            )
        return ch.issues
    if not levels:
        ch.add("required", "levels", "levels is required for a levelled category; expected 2–10.")
    elif len(levels) < 2:
        ch.add(
            "too_short",
            "levels",
            f"levels must have at least 2 entries in a levelled category; got {len(levels)}.",
        )
    elif len(levels) > MAX_CATEGORY_LEVELS:
        ch.add(
            "limit_exceeded",
            "levels",
            f"levels may have at most {MAX_CATEGORY_LEVELS} entries; got {len(levels)}.",
        )
    last_value: int | None = None
    names: set[str] = set()
    for index, level in enumerate(levels):
        path = f"levels[{index}]"
        value = ch.integer(f"{path}.value", level.value, 1, 10)
        if value is not None:
            if last_value is not None and value <= last_value:
                ch.add(
                    "invalid_combination",
                    f"{path}.value",
                    f"value must be greater than the previous level's value ({last_value}); "
                    f"got {value}.",
                )
            else:
                last_value = value
        level_name = ch.text(f"{path}.name", level.name, max_len=32)
        if level_name:
            if level_name in names:
                ch.add(
                    "not_unique",
                    f"{path}.name",
                    f"name must be unique among the category's levels; {level_name!r} repeats.",
                )
            names.add(level_name)
    return ch.issues


def validate_skill(skill: Skill, catalog: Catalog, previous: Skill | None = None) -> list[Issue]:
    """Check a skill (01 §6.2): name unique within its category, category exists."""
    ch = _Checker()
    ch.unchanged_id(skill.id, previous.id if previous else None)
    if skill.category_id not in catalog.skill_categories:
        ch.add(
            "unknown_reference",
            "category_id",
            f"category_id refers to category {skill.category_id!r}, which does not exist.",
        )
    name = ch.text("name", skill.name, max_len=64)
    if name:
        ch.unique_name(
            name,
            (
                s
                for s in catalog.skills.values()
                if s.id not in _own_ids(skill.id, previous) and s.category_id == skill.category_id
            ),
            "skill",
            "within its category",
        )
    return ch.issues


def validate_profile(
    profile: ResponsibilityProfile,
    catalog: Catalog,
    previous: ResponsibilityProfile | None = None,
) -> list[Issue]:
    """Check a responsibility profile (01 §6.4).

    The built-ins `on_duty` and `off_duty` exist in every tenant and cannot be
    edited: their behaviour is fixed by their kind, so `entries` apply only to
    `custom` profiles, and no other profile may claim a built-in kind.
    """
    ch = _Checker()
    ch.unchanged_id(profile.id, previous.id if previous else None)
    kind = ch.enum("kind", profile.kind, ProfileKind)
    if kind is not None and kind is not ProfileKind.CUSTOM:
        if profile.id != _BUILTIN_ID_BY_KIND[kind]:
            ch.add(
                "not_applicable",
                "kind",
                f"kind must be custom; {kind.value} is reserved for the built-in profile.",
            )
        if profile.entries:
            ch.add(
                "not_applicable",
                "entries",
                f"entries apply only to custom profiles, not to the built-in {kind.value}.",
            )
    if previous is not None and previous.kind is not ProfileKind.CUSTOM:
        for attr in ("name", "kind", "entries"):
            if getattr(profile, attr) != getattr(previous, attr) and not ch.has(attr):
                ch.add(
                    "immutable_field",
                    attr,
                    f"{attr} of the built-in {previous.kind.value} profile cannot be edited.",
                )

    name = ch.text("name", profile.name, max_len=64)
    if name:
        everyone = {p.id: p for p in BUILTIN_PROFILES} | dict(catalog.profiles)
        ch.unique_name(
            name,
            (p for p in everyone.values() if p.id not in _own_ids(profile.id, previous)),
            "profile",
        )

    seen: set[str] = set()
    for index, entry in enumerate(profile.entries):
        path = f"entries[{index}]"
        if entry.skill_id in seen:
            ch.add(
                "not_unique",
                f"{path}.skill_id",
                f"skill_id {entry.skill_id!r} is listed more than once; list each skill once.",
            )
            continue
        seen.add(entry.skill_id)
        category = _skill_category(ch, f"{path}.skill_id", entry.skill_id, catalog)
        low = ch.integer(
            f"{path}.min_responsibility", entry.min_responsibility, 1, 10, required=False
        )
        high = ch.integer(
            f"{path}.max_responsibility", entry.max_responsibility, 1, 10, required=False
        )
        ch.bounds_order(path, "min_responsibility", low, "max_responsibility", high)
        if category is not None and not category.responsibility_enabled:
            _not_applicable_bounds(
                ch,
                path,
                entry.min_responsibility,
                entry.max_responsibility,
                "responsibility",
                "has responsibility disabled",
            )
    return ch.issues


def _skill_category(
    ch: _Checker, path: str, skill_id: str, catalog: Catalog
) -> SkillCategory | None:
    """Resolve a referenced skill's category, reporting an unknown skill."""
    skill = catalog.skills.get(skill_id)
    if skill is None:
        ch.add(
            "unknown_reference",
            path,
            f"skill_id refers to skill {skill_id!r}, which does not exist.",
        )
        return None
    return catalog.skill_categories.get(skill.category_id)


def _not_applicable_bounds(
    ch: _Checker, path: str, low: int | None, high: int | None, what: str, why: str
) -> None:
    for bound, value in (("min", low), ("max", high)):
        name = f"{bound}_{what}"
        field_path = _join(path, name)
        if value is not None and not ch.has(field_path):
            ch.add(
                "not_applicable",
                field_path,
                f"{name} does not apply because the skill's category {why}.",
            )


# --------------------------------------------------------------------------- policies


def validate_policy(
    policy: DistributionPolicy, catalog: Catalog, previous: DistributionPolicy | None = None
) -> list[Issue]:
    """Check a distribution policy (01 §6.5).

    Levels widen the pool over time: every level but the last needs the time a
    task waits before the next level is added, and the last one has no "next",
    so a timer there would be meaningless. An empty requirement list ("anyone")
    would make all later levels unreachable, so it is allowed only last.
    """
    ch = _Checker()
    ch.unchanged_id(policy.id, previous.id if previous else None)
    name = ch.text("name", policy.name, max_len=64)
    if name:
        ch.unique_name(
            name,
            (p for p in catalog.policies.values() if p.id not in _own_ids(policy.id, previous)),
            "policy",
        )
    levels = policy.levels
    if not levels:
        ch.add("too_short", "levels", "levels must have at least 1 entry; got 0.")
    elif len(levels) > MAX_POLICY_LEVELS:
        ch.add(
            "limit_exceeded",
            "levels",
            f"levels may have at most {MAX_POLICY_LEVELS} entries; got {len(levels)}.",
        )
    for index, level in enumerate(levels):
        _check_policy_level(ch, f"levels[{index}]", level, index == len(levels) - 1, catalog)
    return ch.issues


def _check_policy_level(
    ch: _Checker, path: str, level: PolicyLevel, is_last: bool, catalog: Catalog
) -> None:
    ch.enum(f"{path}.match", level.match, Match)
    time_path = f"{path}.time_in_level_s"
    if is_last:
        if level.time_in_level_s is not None:
            ch.add(
                "invalid_combination",
                time_path,
                "time_in_level_s must be empty on the last level, which has no next level.",
            )
    else:
        ch.integer(time_path, level.time_in_level_s, 1, 86400, unit="seconds")
    if not level.requirements and not is_last:
        ch.add(
            "too_short",
            f"{path}.requirements",
            "requirements may be empty only on the last level; add at least one requirement.",
        )
    for index, requirement in enumerate(level.requirements):
        _check_requirement(ch, f"{path}.requirements[{index}]", requirement, catalog)


def _check_requirement(ch: _Checker, path: str, req: Requirement, catalog: Catalog) -> None:
    category = _skill_category(ch, f"{path}.skill_id", req.skill_id, catalog)
    min_level = ch.integer(f"{path}.min_level", req.min_level, 1, 10, required=False)
    max_level = ch.integer(f"{path}.max_level", req.max_level, 1, 10, required=False)
    ch.bounds_order(path, "min_level", min_level, "max_level", max_level)
    low = ch.integer(f"{path}.min_responsibility", req.min_responsibility, 1, 10, required=False)
    high = ch.integer(f"{path}.max_responsibility", req.max_responsibility, 1, 10, required=False)
    ch.bounds_order(path, "min_responsibility", low, "max_responsibility", high)
    if category is None:
        return
    if not category.levelled:
        _not_applicable_bounds(ch, path, req.min_level, req.max_level, "level", "is not levelled")
    if not category.responsibility_enabled:
        _not_applicable_bounds(
            ch,
            path,
            req.min_responsibility,
            req.max_responsibility,
            "responsibility",
            "has responsibility disabled",
        )


# --------------------------------------------------------------------------- small entities


def validate_not_available_reason(
    reason: NotAvailableReason, catalog: Catalog, previous: NotAvailableReason | None = None
) -> list[Issue]:
    """Check a not-available reason (01 §7): name 1–64, unique in the tenant."""
    ch = _Checker()
    ch.unchanged_id(reason.id, previous.id if previous else None)
    name = ch.text("name", reason.name, max_len=64)
    if name:
        ch.unique_name(
            name,
            (
                r
                for r in catalog.not_available_reasons.values()
                if r.id not in _own_ids(reason.id, previous)
            ),
            "reason",
        )
    return ch.issues


def validate_parameter(
    parameter: CustomParameter, catalog: Catalog, previous: CustomParameter | None = None
) -> list[Issue]:
    """Check a custom parameter (01 §8).

    Unlike other entities the id is chosen by the administrator and is what
    workflows and templates refer to, so it has a syntax, must be unique and
    can never change. Without `previous` the parameter is new, so an existing
    parameter with the same id is a clash rather than "itself".
    """
    ch = _Checker()
    ch.unchanged_id(parameter.id, previous.id if previous else None)
    param_id = ch.text("id", parameter.id, max_len=64, strip=False)
    if param_id is not None and not _PARAMETER_ID_RE.fullmatch(param_id):
        ch.add(
            "invalid_format",
            "id",
            "id must start with a letter followed by letters, digits or underscores; "
            f"got {param_id!r}.",
        )
    elif previous is None and param_id is not None and param_id in catalog.parameters:
        ch.add("not_unique", "id", f"id must be unique in the tenant; {param_id!r} exists.")
    if previous is None:
        count = sum(1 for key in catalog.parameters if key != parameter.id)
        if count >= MAX_CUSTOM_PARAMETERS:
            ch.add(
                "limit_exceeded",
                "",
                f"A tenant may have at most {MAX_CUSTOM_PARAMETERS} custom parameters; "
                f"it already has {count}.",
            )
    ch.text("name", parameter.name, max_len=64)
    ch.text("default_value", parameter.default_value, max_len=5120, required=False, strip=False)
    ch.text("description", parameter.description, max_len=1024, required=False)
    return ch.issues


def validate_code(code: Code, catalog: Catalog, previous: Code | None = None) -> list[Issue]:
    """Check a wrap-up code (01 §9): short_code is what users pick, so it is unique."""
    ch = _Checker()
    ch.unchanged_id(code.id, previous.id if previous else None)
    ch.text("name", code.name, max_len=64)
    short = ch.text("short_code", code.short_code, max_len=16)
    if short:
        ch.unique(
            "short_code",
            _name_key(short),
            short,
            (
                (_name_key(c.short_code), f"code {c.name!r}")
                for c in catalog.codes.values()
                if c.id not in _own_ids(code.id, previous)
            ),
            "in the tenant",
        )
    return ch.issues


def validate_tag(tag: Tag, catalog: Catalog, previous: Tag | None = None) -> list[Issue]:
    """Check a tag (01 §9): name 1–32, unique in the tenant."""
    ch = _Checker()
    ch.unchanged_id(tag.id, previous.id if previous else None)
    name = ch.text("name", tag.name, max_len=32)
    if name:
        ch.unique_name(
            name,
            (t for t in catalog.tags.values() if t.id not in _own_ids(tag.id, previous)),
            "tag",
        )
    return ch.issues


def validate_address_book(
    book: AddressBook, catalog: Catalog, previous: AddressBook | None = None
) -> list[Issue]:
    """Check an address book (01 §11): name 1–128, unique in the tenant, in a known OU."""
    ch = _Checker()
    ch.unchanged_id(book.id, previous.id if previous else None)
    name = ch.text("name", book.name, max_len=128)
    if name:
        ch.unique_name(
            name,
            (b for b in catalog.address_books.values() if b.id not in _own_ids(book.id, previous)),
            "address book",
        )
    if catalog.ous and book.ou_id not in catalog.ous:
        ch.add(
            "unknown_reference",
            "ou_id",
            f"ou_id refers to OU {book.ou_id!r}, which does not exist.",
        )
    return ch.issues


# --------------------------------------------------------------------------- tenant and OUs


def validate_tenant_settings(
    settings: TenantSettings, catalog: Catalog | None = None
) -> list[Issue]:
    """Check tenant settings (01 §10); paths are relative to the settings object.

    With a `catalog`, references (the error prompt's audio resource) must exist.
    """
    ch = _Checker()
    caps: ConcurrencyCaps = settings.max_concurrent_tasks_per_service
    for cap in fields(ConcurrencyCaps):
        low, high, nullable = _CAP_RANGES[cap.name]
        ch.integer(
            f"max_concurrent_tasks_per_service.{cap.name}",
            getattr(caps, cap.name),
            low,
            high,
            required=not nullable,
            label=f"max_concurrent_tasks_per_service.{cap.name}",
        )
    ch.integer("context_retention_days", settings.context_retention_days, 1, 730, unit="days")
    ch.integer("sweeper_interval_s", settings.sweeper_interval_s, 1, 60, unit="seconds")
    ch.integer("transfer_ring_timeout_s", settings.transfer_ring_timeout_s, 5, 120, unit="seconds")
    ch.enum("voice_connectivity", settings.voice_connectivity, VoiceConnectivity)
    seen: set[str] = set()
    for index, number in enumerate(settings.rnl_disabled_numbers):
        path = f"rnl_disabled_numbers[{index}]"
        if ch.e164(path, number) is None:
            continue
        if number in seen:
            ch.add("not_unique", path, f"rnl_disabled_numbers lists {number!r} more than once.")
        seen.add(number)
    if settings.error_prompt is not None:
        _check_error_prompt(ch, settings.error_prompt, catalog)
    return ch.issues


_LANGUAGE_TAG: Final = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def _check_error_prompt(ch: _Checker, prompt: ErrorPrompt, catalog: Catalog | None) -> None:
    """04 RT6's tenant-wide error prompt: text or an audio resource, exactly one."""
    if (prompt.text is None) == (prompt.audio_resource_id is None):
        ch.add(
            "invalid_combination",
            "error_prompt",
            "error_prompt needs exactly one of text (spoken) and audio_resource_id (played).",
        )
        return
    if prompt.text is not None:
        ch.text("error_prompt.text", prompt.text, max_len=2000)
    resource = prompt.audio_resource_id
    if resource is not None and catalog is not None and resource not in catalog.audio_resources:
        ch.add(
            "unknown_reference",
            "error_prompt.audio_resource_id",
            f"error_prompt.audio_resource_id names no audio resource '{resource}'.",
        )
    language = prompt.language
    if language is not None and not (
        isinstance(language, str) and len(language) <= 35 and _LANGUAGE_TAG.match(language)
    ):
        ch.add(
            "invalid_format",
            "error_prompt.language",
            f"error_prompt.language must be a BCP 47 language tag such as en-US; got {language!r}.",
        )


def validate_audio_resource(
    resource: AudioResource, catalog: Catalog, previous: AudioResource | None = None
) -> list[Issue]:
    """Check an audio resource (01 §9). The content facts are the server's (set on
    upload); they are checked too, so that a bulk load cannot store impossible ones."""
    ch = _Checker()
    ch.unchanged_id(resource.id, previous.id if previous else None)
    ch.text("name", resource.name, max_len=128)
    if resource.content_type is not None and resource.content_type not in AUDIO_CONTENT_TYPES:
        ch.add(
            "invalid_format",
            "content_type",
            f"content_type must be one of {', '.join(AUDIO_CONTENT_TYPES)}; "
            f"got {resource.content_type!r}.",
        )
    ch.integer("size_bytes", resource.size_bytes, 1, MAX_AUDIO_BYTES, unit="bytes", required=False)
    duration = resource.duration_s
    if duration is not None and (not isinstance(duration, int | float) or duration <= 0):
        ch.add("out_of_range", "duration_s", f"duration_s must be positive; got {duration!r}.")
    return ch.issues


def validate_ou(
    ou: OrganisationUnit, catalog: Catalog, previous: OrganisationUnit | None = None
) -> list[Issue]:
    """Check an organisation unit (01 §2.5) against the tenant's OU tree.

    `catalog.ous` is the stored tree (it may contain `ou`'s old version). The
    checks treat `ou` as already placed under its new parent: the parent must
    exist, must not be `ou` or one of its descendants (a cycle would detach the
    subtree from the root), and the deepest OU of the moved subtree must stay
    within MAX_OU_DEPTH levels, the root being level 1.
    """
    ch = _Checker()
    ch.unchanged_id(ou.id, previous.id if previous else None)
    name = ch.text("name", ou.name, max_len=128)
    if name:
        ch.unique_name(
            name,
            (
                o
                for o in catalog.ous.values()
                if o.id not in _own_ids(ou.id, previous) and o.parent_id == ou.parent_id
            ),
            "OU",
            "among its sibling OUs",
        )
    if ou.parent_id is None:
        was_root = previous is not None and previous.parent_id is None
        own = _own_ids(ou.id, previous)
        other_root = any(o.parent_id is None and o.id not in own for o in catalog.ous.values())
        if not was_root and (previous is not None or other_root):
            ch.add(
                "required",
                "parent_id",
                "parent_id is required; only the root OU, created with the tenant, has none.",
            )
        return ch.issues
    if ou.parent_id not in catalog.ous and ou.parent_id != ou.id:
        ch.add(
            "unknown_reference",
            "parent_id",
            f"parent_id refers to OU {ou.parent_id!r}, which does not exist.",
        )
        return ch.issues
    depth = _depth_under(ou, catalog.ous)
    if depth is None:
        ch.add(
            "invalid_combination",
            "parent_id",
            "parent_id must not be the OU itself or one of its descendants.",
        )
        return ch.issues
    deepest = depth + _subtree_height(ou.id, catalog.ous) - 1
    if deepest > MAX_OU_DEPTH:
        ch.add(
            "limit_exceeded",
            "parent_id",
            f"parent_id would put OUs {deepest} levels deep; "
            f"the OU tree allows at most {MAX_OU_DEPTH}.",
        )
    return ch.issues


def _depth_under(ou: OrganisationUnit, ous: Mapping[str, OrganisationUnit]) -> int | None:
    """Level of `ou` below its new parent (root = 1), or None on a cycle."""
    depth = 1
    seen = {ou.id}
    current = ou.parent_id
    while current is not None:
        if current in seen:
            # Reaching `ou` again means the parent is a descendant; any other
            # repeat is a pre-existing corruption, also not a tree.
            return None
        seen.add(current)
        depth += 1
        node = ous.get(current)
        if node is None:
            break  # a dangling ancestor is that OU's problem; count what we saw
        current = node.parent_id
    return depth


def _subtree_height(root_id: str, ous: Mapping[str, OrganisationUnit]) -> int:
    """Number of levels in the stored subtree rooted at `root_id` (a leaf = 1)."""
    children: dict[str, list[str]] = {}
    for node in ous.values():
        if node.parent_id is not None and node.id != root_id:
            children.setdefault(node.parent_id, []).append(node.id)
    height = 1
    frontier = [root_id]
    seen = {root_id}
    while True:
        nxt = [c for p in frontier for c in children.get(p, ()) if c not in seen]
        if not nxt:
            return height
        seen.update(nxt)
        frontier = nxt
        height += 1
