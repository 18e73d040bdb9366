"""Tests of `switchboard.domain.validation` against the rules of spec 01.

Each entity has a valid baseline that must produce no issues; every bad case
changes one thing and must produce exactly one issue with the expected code and
path, whose message names the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from switchboard.domain.calendars import Calendar
from switchboard.domain.config import (
    BUILTIN_PROFILES,
    OFF_DUTY_PROFILE_ID,
    ON_DUTY_PROFILE_ID,
    Code,
    ConcurrencyCaps,
    CustomParameter,
    DistributionPolicy,
    Membership,
    NotAvailableReason,
    OrganisationUnit,
    Parallelization,
    PolicyLevel,
    ProfileEntry,
    Requirement,
    ResponsibilityProfile,
    Service,
    Skill,
    SkillCategory,
    SkillLevel,
    Tag,
    TenantSettings,
    User,
    UserSkill,
)
from switchboard.domain.enums import (
    AssignmentType,
    Match,
    Modality,
    ProfileKind,
    UserOrdering,
)
from switchboard.domain.errors import DomainError
from switchboard.domain.roles import Role, RoleAssignment, ScopeType
from switchboard.domain.validation import (
    MAX_CUSTOM_PARAMETERS,
    Catalog,
    Issue,
    ValidationFailed,
    require_valid,
    validate_code,
    validate_not_available_reason,
    validate_ou,
    validate_parameter,
    validate_policy,
    validate_profile,
    validate_service,
    validate_skill,
    validate_skill_category,
    validate_tag,
    validate_tenant_settings,
    validate_user,
)
from switchboard.domain.workflow import Workflow, WorkflowStatus
from switchboard.domain.workflow.templates import (
    chat_queue,
    outbound_with_workflow,
    simple_queue,
)

AUDIO, CHAT, EMAIL = Modality.AUDIO, Modality.CHAT, Modality.EMAIL
TEAMS, SKILLS, NONE = (
    AssignmentType.TEAMS_BASED,
    AssignmentType.SKILL_BASED,
    AssignmentType.NONE,
)

# --------------------------------------------------------------------------- stored catalog

ROOT = OrganisationUnit(id="root", name="Contoso")
OU_SALES = OrganisationUnit(id="ou-sales", name="Sales", parent_id="root")

CAT_LANG = SkillCategory(
    id="cat-lang",
    name="Languages",
    levelled=True,
    levels=(SkillLevel(1, "Basic"), SkillLevel(2, "Good"), SkillLevel(3, "Native")),
)
CAT_PROD = SkillCategory(id="cat-prod", name="Products", responsibility_enabled=True)
SK_EN = Skill(id="sk-en", category_id="cat-lang", name="English")
SK_FR = Skill(id="sk-fr", category_id="cat-lang", name="French")
SK_BILL = Skill(id="sk-bill", category_id="cat-prod", name="Billing")

PR_DAY = ResponsibilityProfile(id="pr-day", name="Day shift", entries=(ProfileEntry("sk-en"),))
POL = DistributionPolicy(
    id="pol-1",
    name="Languages first",
    levels=(
        PolicyLevel(requirements=(Requirement("sk-en", min_level=2),), time_in_level_s=30),
        PolicyLevel(),
    ),
)
SVC_TEAMS = Service(
    id="svc-teams",
    name="Helpdesk",
    upn="helpdesk@contoso.com",
    user_assignment_type=TEAMS,
    pstn_number="+4930111111",
)
SVC_SKILL = Service(
    id="svc-skill",
    name="Sales",
    upn="sales@contoso.com",
    user_assignment_type=SKILLS,
    distribution_policy_id="pol-1",
    enabled_modalities=frozenset({AUDIO, EMAIL}),
    email_mailbox_upn="sales-mail@contoso.com",
)
SVC_NONE = Service(
    id="svc-none", name="Announcements", upn="announce@contoso.com", user_assignment_type=NONE
)
U_ALICE = User(
    id="u-alice",
    upn="alice@contoso.com",
    display_name="Alice",
    memberships={"svc-skill": Membership("svc-skill")},
    skills={"sk-en": UserSkill("sk-en", level=3)},
    responsibility_profile_ids=("pr-day",),
    active_profile_id="pr-day",
)
NAR_LUNCH = NotAvailableReason(id="nar-lunch", name="Lunch")
PARAM = CustomParameter(id="customerId", name="Customer id")
CODE = Code(id="code-sale", name="Sale", short_code="S1")
TAG = Tag(id="tag-vip", name="VIP")
CAL_1 = Calendar(id="cal-1", name="Office hours")
CAL_2 = Calendar(id="cal-2", name="Partner hours")


def published(workflow: Workflow) -> Workflow:
    return replace(workflow, status=WorkflowStatus.PUBLISHED)


WF_AUDIO = published(simple_queue(workflow_id="wf-1", ou_id="root"))
WF_CHAT = published(chat_queue(workflow_id="wf-2", ou_id="root"))
WF_OUT = published(outbound_with_workflow(workflow_id="wf-out", ou_id="root"))
#: A draft only: services cannot use it yet.
WF_DRAFT = simple_queue(workflow_id="wf-draft", ou_id="root", name="Draft")
#: Published in the Sales OU, which services in the root OU cannot see.
WF_SALES = published(simple_queue(workflow_id="wf-sales", ou_id="ou-sales", name="Sales"))


def by_id(*entities: Any) -> dict[str, Any]:
    return {e.id: e for e in entities}


def make_catalog(**overrides: Any) -> Catalog:
    base: dict[str, Any] = {
        "ous": by_id(ROOT, OU_SALES),
        "services": by_id(SVC_TEAMS, SVC_SKILL, SVC_NONE),
        "users": by_id(U_ALICE),
        "skill_categories": by_id(CAT_LANG, CAT_PROD),
        "skills": by_id(SK_EN, SK_FR, SK_BILL),
        "profiles": by_id(PR_DAY),
        "policies": by_id(POL),
        "not_available_reasons": by_id(NAR_LUNCH),
        "parameters": by_id(PARAM),
        "codes": by_id(CODE),
        "tags": by_id(TAG),
        "calendars": by_id(CAL_1, CAL_2),
        "workflows": by_id(WF_AUDIO, WF_CHAT, WF_OUT, WF_DRAFT, WF_SALES),
        "published_workflows": by_id(WF_AUDIO, WF_CHAT, WF_OUT, WF_SALES),
    }
    base.update(overrides)
    return Catalog(**base)


CATALOG = make_catalog()

# --------------------------------------------------------------------------- helpers

Mutation = Callable[[Any], Any]


def upd(**changes: Any) -> Mutation:
    return lambda entity: replace(entity, **changes)


def leaf(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])


def pairs(issues: list[Issue]) -> list[tuple[str, str]]:
    return [(issue.code, issue.path) for issue in issues]


def assert_single(issues: list[Issue], code: str, path: str) -> None:
    assert pairs(issues) == [(code, path)], issues
    message = issues[0].message
    if path:
        assert leaf(path) in message, message
    assert message.endswith("."), message
    assert message[0].isalpha(), message


# --------------------------------------------------------------------------- service


def new_service() -> Service:
    return Service(
        id="svc-new",
        name="Support",
        upn="support@contoso.com",
        user_assignment_type=SKILLS,
        display_name="Contoso Support",
        description="First-line support",
        pstn_number="+4930123456",
        distribution_policy_id="pol-1",
        enabled_modalities=frozenset({AUDIO, CHAT}),
        primary_calendar_id="cal-1",
        secondary_calendar_id="cal-2",
        workflows={"audio_inbound": "wf-1", "chat_inbound": "wf-2"},
        codes=("code-sale",),
        tags=("tag-vip",),
    )


def dist(**changes: Any) -> Mutation:
    return lambda s: replace(s, distribution=replace(s.distribution, **changes))


def reporting(**changes: Any) -> Mutation:
    return lambda s: replace(s, reporting=replace(s.reporting, **changes))


def queue(**changes: Any) -> Mutation:
    return lambda s: replace(s, queue=replace(s.queue, **changes))


def test_service_baseline_is_valid() -> None:
    assert validate_service(new_service(), CATALOG) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(upd(display_name=""), id="display-name-defaults-to-name"),
        pytest.param(upd(pstn_number=None), id="no-pstn"),
        pytest.param(upd(pstn_number="+12025550123"), id="us-number"),
        pytest.param(upd(pstn_number="+123456789012345"), id="pstn-15-digits"),
        pytest.param(
            upd(
                enabled_modalities=frozenset({AUDIO, EMAIL}),
                email_mailbox_upn="support-mail@contoso.com",
                workflows={},
            ),
            id="email-with-mailbox",
        ),
        pytest.param(dist(user_ordering=UserOrdering.RANDOM, random_seed=7), id="seed-with-random"),
        pytest.param(
            upd(
                outbound_with_workflow_enabled=True,
                outbound_conversations_enabled=True,
                workflows={"audio_outbound": "wf-out"},
            ),
            id="outbound-with-workflow",
        ),
        pytest.param(dist(acw_allow_extension=True, acw_max_extension_s=120), id="acw-ext"),
        pytest.param(dist(max_queue_size=10000, preferred_wait_s=600), id="upper-bounds"),
        pytest.param(queue(max_queue_time_s=1), id="max-queue-time-1"),
        pytest.param(upd(name="x" * 64, display_name="y" * 128), id="max-lengths"),
    ],
)
def test_service_valid_variants(mutate: Mutation) -> None:
    assert validate_service(mutate(new_service()), CATALOG) == []


def test_teams_and_none_baselines_are_valid() -> None:
    teams = replace(
        new_service(),
        user_assignment_type=TEAMS,
        distribution_policy_id=None,
        member_group_id="grp-1",
        new_members_active=False,
    )
    assert validate_service(teams, CATALOG) == []
    none = replace(new_service(), user_assignment_type=NONE, distribution_policy_id=None)
    assert validate_service(none, CATALOG) == []


SERVICE_CASES = [
    pytest.param(upd(name=""), "required", "name", id="name-empty"),
    pytest.param(upd(name="   "), "required", "name", id="name-blank"),
    pytest.param(upd(name="x" * 65), "too_long", "name", id="name-too-long"),
    pytest.param(upd(name="Sales"), "not_unique", "name", id="name-taken"),
    pytest.param(upd(name="  Sales "), "not_unique", "name", id="name-taken-untrimmed"),
    pytest.param(upd(display_name="x" * 129), "too_long", "display_name", id="display-long"),
    pytest.param(upd(description="x" * 1025), "too_long", "description", id="desc-long"),
    pytest.param(upd(upn=""), "required", "upn", id="upn-empty"),
    pytest.param(upd(upn="support"), "invalid_format", "upn", id="upn-no-at"),
    pytest.param(upd(upn="support@contoso"), "invalid_format", "upn", id="upn-one-label"),
    pytest.param(upd(upn="sup port@contoso.com"), "invalid_format", "upn", id="upn-space"),
    pytest.param(upd(upn="a@@contoso.com"), "invalid_format", "upn", id="upn-double-at"),
    pytest.param(upd(upn=".a@contoso.com"), "invalid_format", "upn", id="upn-leading-dot"),
    pytest.param(upd(upn="SALES@Contoso.com"), "not_unique", "upn", id="upn-of-service"),
    pytest.param(upd(upn="alice@contoso.com"), "not_unique", "upn", id="upn-of-user"),
    pytest.param(upd(pstn_number="+49301"), "invalid_format", "pstn_number", id="pstn-short"),
    pytest.param(
        upd(pstn_number="+1234567890123456"), "invalid_format", "pstn_number", id="pstn-16"
    ),
    pytest.param(
        upd(pstn_number="004930123456"), "invalid_format", "pstn_number", id="pstn-no-plus"
    ),
    pytest.param(
        upd(pstn_number="+04930123456"), "invalid_format", "pstn_number", id="pstn-leading-0"
    ),
    pytest.param(
        upd(pstn_number="+49 30 123456"), "invalid_format", "pstn_number", id="pstn-spaces"
    ),
    pytest.param(
        upd(pstn_number="+4930123456\n"), "invalid_format", "pstn_number", id="pstn-newline"
    ),
    pytest.param(
        upd(pstn_number="+٤٩٣٠١٢٣٤٥٦"), "invalid_format", "pstn_number", id="pstn-non-ascii"
    ),
    pytest.param(upd(pstn_number="+4930111111"), "not_unique", "pstn_number", id="pstn-taken"),
    pytest.param(
        upd(user_assignment_type="queue"), "invalid_type", "user_assignment_type", id="type-bad"
    ),
    pytest.param(
        upd(distribution_policy_id=None), "required", "distribution_policy_id", id="policy-none"
    ),
    pytest.param(
        upd(distribution_policy_id="pol-x"),
        "unknown_reference",
        "distribution_policy_id",
        id="policy-unknown",
    ),
    pytest.param(
        upd(member_group_id="grp"), "not_applicable", "member_group_id", id="group-skill-based"
    ),
    pytest.param(
        upd(new_members_active=False),
        "not_applicable",
        "new_members_active",
        id="new-members-active-skill-based",
    ),
    pytest.param(
        upd(enabled_modalities=frozenset(), workflows={}),
        "too_short",
        "enabled_modalities",
        id="no-modality",
    ),
    pytest.param(
        upd(enabled_modalities=frozenset({AUDIO, "fax"}), workflows={}),
        "invalid_type",
        "enabled_modalities",
        id="modality-bad",
    ),
    pytest.param(
        upd(enabled_modalities=frozenset({AUDIO, EMAIL}), workflows={}),
        "required",
        "email_mailbox_upn",
        id="mailbox-missing",
    ),
    pytest.param(
        upd(
            enabled_modalities=frozenset({AUDIO, EMAIL}),
            workflows={},
            email_mailbox_upn="Sales-Mail@contoso.com",
        ),
        "not_unique",
        "email_mailbox_upn",
        id="mailbox-taken",
    ),
    pytest.param(
        upd(enabled_modalities=frozenset({AUDIO, EMAIL}), workflows={}, email_mailbox_upn="x"),
        "invalid_format",
        "email_mailbox_upn",
        id="mailbox-format",
    ),
    pytest.param(
        upd(email_mailbox_upn="mail@contoso.com"),
        "not_applicable",
        "email_mailbox_upn",
        id="mailbox-without-email",
    ),
    pytest.param(
        upd(
            enabled_modalities=frozenset({CHAT}), workflows={}, outbound_conversations_enabled=True
        ),
        "invalid_combination",
        "outbound_conversations_enabled",
        id="outbound-no-audio",
    ),
    pytest.param(
        upd(
            enabled_modalities=frozenset({CHAT}), workflows={}, outbound_with_workflow_enabled=True
        ),
        "invalid_combination",
        "outbound_with_workflow_enabled",
        id="outbound-workflow-no-audio",
    ),
    pytest.param(
        upd(outbound_with_workflow_enabled=True),
        "required",
        "workflows.audio_outbound",
        id="outbound-workflow-missing",
    ),
    pytest.param(
        upd(primary_calendar_id=None),
        "invalid_combination",
        "secondary_calendar_id",
        id="secondary-without-primary",
    ),
    pytest.param(
        upd(secondary_calendar_id="cal-1"),
        "invalid_combination",
        "secondary_calendar_id",
        id="secondary-same-as-primary",
    ),
    pytest.param(
        upd(workflows={"email_inbound": "wf"}),
        "not_applicable",
        "workflows.email_inbound",
        id="workflow-modality-off",
    ),
    pytest.param(
        upd(workflows={"fax_inbound": "wf"}),
        "invalid_format",
        "workflows.fax_inbound",
        id="workflow-unknown-slot",
    ),
    pytest.param(
        upd(workflows={"audio_outbound": "wf"}),
        "not_applicable",
        "workflows.audio_outbound",
        id="workflow-outbound-without-toggle",
    ),
    pytest.param(
        upd(workflows={"audio_inbound": " "}),
        "required",
        "workflows.audio_inbound",
        id="workflow-blank-id",
    ),
    pytest.param(
        upd(workflows={"audio_inbound": "wf-nope"}),
        "unknown_reference",
        "workflows.audio_inbound",
        id="workflow-unknown",
    ),
    pytest.param(
        upd(workflows={"audio_inbound": "wf-draft"}),
        "unknown_reference",
        "workflows.audio_inbound",
        id="workflow-draft-only",
    ),
    pytest.param(
        upd(workflows={"audio_inbound": "wf-2"}),
        "invalid_combination",
        "workflows.audio_inbound",
        id="workflow-wrong-kind",
    ),
    pytest.param(
        upd(workflows={"audio_inbound": "wf-sales"}),
        "reference_not_visible",
        "workflows.audio_inbound",
        id="workflow-not-visible",
    ),
    pytest.param(
        dist(acw_duration_s=4), "out_of_range", "distribution.acw_duration_s", id="acw-low"
    ),
    pytest.param(
        dist(acw_duration_s=1801), "out_of_range", "distribution.acw_duration_s", id="acw-high"
    ),
    pytest.param(
        dist(acw_duration_s=True), "invalid_type", "distribution.acw_duration_s", id="acw-bool"
    ),
    pytest.param(
        dist(acw_duration_s=None), "required", "distribution.acw_duration_s", id="acw-none"
    ),
    pytest.param(
        dist(acw_max_extension_s=4),
        "out_of_range",
        "distribution.acw_max_extension_s",
        id="acw-ext-low",
    ),
    pytest.param(
        dist(acw_allow_extension=True, acw_max_extension_s=None),
        "required",
        "distribution.acw_max_extension_s",
        id="acw-ext-required",
    ),
    pytest.param(
        dist(rona_reset_s=9), "out_of_range", "distribution.rona_reset_s", id="rona-reset-low"
    ),
    pytest.param(
        dist(rona_reset_s=19201),
        "out_of_range",
        "distribution.rona_reset_s",
        id="rona-reset-high",
    ),
    pytest.param(
        dist(random_seed=42),
        "not_applicable",
        "distribution.random_seed",
        id="seed-without-random",
    ),
    pytest.param(
        dist(preferred_wait_s=-1),
        "out_of_range",
        "distribution.preferred_wait_s",
        id="preferred-wait-low",
    ),
    pytest.param(
        dist(preferred_wait_s=601),
        "out_of_range",
        "distribution.preferred_wait_s",
        id="preferred-wait-high",
    ),
    pytest.param(
        dist(max_queue_size=0), "out_of_range", "distribution.max_queue_size", id="queue-size-0"
    ),
    pytest.param(
        dist(max_queue_size=10001),
        "out_of_range",
        "distribution.max_queue_size",
        id="queue-size-high",
    ),
    pytest.param(
        dist(default_priority="urgent"),
        "invalid_type",
        "distribution.default_priority",
        id="priority-bad",
    ),
    pytest.param(
        dist(user_ordering="fastest"),
        "invalid_type",
        "distribution.user_ordering",
        id="ordering-bad",
    ),
    pytest.param(
        reporting(sla_acceptance_s=0),
        "out_of_range",
        "reporting.sla_acceptance_s",
        id="sla-acceptance-low",
    ),
    pytest.param(
        reporting(sla_hangup_s=3601),
        "out_of_range",
        "reporting.sla_hangup_s",
        id="sla-hangup-high",
    ),
    pytest.param(
        queue(rona_timeout_s=4), "out_of_range", "queue.rona_timeout_s", id="rona-timeout-low"
    ),
    pytest.param(
        queue(rona_timeout_s=31), "out_of_range", "queue.rona_timeout_s", id="rona-timeout-high"
    ),
    pytest.param(
        queue(max_queue_time_s=0), "out_of_range", "queue.max_queue_time_s", id="queue-time-0"
    ),
    pytest.param(
        queue(distribution_type="shout"),
        "invalid_type",
        "queue.distribution_type",
        id="distribution-type-bad",
    ),
    pytest.param(upd(codes=("code-x",)), "unknown_reference", "codes[0]", id="code-unknown"),
    pytest.param(upd(codes=("code-sale", "code-sale")), "not_unique", "codes[1]", id="code-twice"),
    pytest.param(upd(tags=("tag-vip", "tag-x")), "unknown_reference", "tags[1]", id="tag-unknown"),
]


@pytest.mark.parametrize(("mutate", "code", "path"), SERVICE_CASES)
def test_service_rejects(mutate: Mutation, code: str, path: str) -> None:
    assert_single(validate_service(mutate(new_service()), CATALOG), code, path)


def teams_service() -> Service:
    return replace(new_service(), user_assignment_type=TEAMS, distribution_policy_id=None)


def none_service() -> Service:
    return replace(new_service(), user_assignment_type=NONE, distribution_policy_id=None)


@pytest.mark.parametrize(
    ("make", "mutate", "code", "path"),
    [
        pytest.param(
            teams_service,
            upd(distribution_policy_id="pol-1"),
            "not_applicable",
            "distribution_policy_id",
            id="teams-policy",
        ),
        pytest.param(
            none_service,
            upd(distribution_policy_id="pol-1"),
            "not_applicable",
            "distribution_policy_id",
            id="none-policy",
        ),
        pytest.param(
            none_service,
            upd(member_group_id="grp"),
            "not_applicable",
            "member_group_id",
            id="none-group",
        ),
        pytest.param(
            none_service,
            dist(acw_enabled=True),
            "not_applicable",
            "distribution.acw_enabled",
            id="none-acw-enabled",
        ),
        pytest.param(
            none_service,
            dist(acw_duration_s=30),
            "not_applicable",
            "distribution.acw_duration_s",
            id="none-acw-duration",
        ),
        pytest.param(
            none_service,
            dist(acw_duration_s=2),
            "not_applicable",
            "distribution.acw_duration_s",
            id="none-acw-duration-out-of-range-reported-once",
        ),
        pytest.param(
            none_service,
            dist(acw_allow_early_end=False),
            "not_applicable",
            "distribution.acw_allow_early_end",
            id="none-acw-early-end",
        ),
        pytest.param(
            none_service,
            dist(acw_max_extension_s=90),
            "not_applicable",
            "distribution.acw_max_extension_s",
            id="none-acw-extension",
        ),
        pytest.param(
            none_service,
            dist(persistent_rona=True),
            "not_applicable",
            "distribution.persistent_rona",
            id="none-persistent-rona",
        ),
        pytest.param(
            none_service,
            dist(rona_reset_s=60),
            "not_applicable",
            "distribution.rona_reset_s",
            id="none-rona-reset",
        ),
        pytest.param(
            none_service,
            upd(outbound_conversations_enabled=True),
            "invalid_combination",
            "outbound_conversations_enabled",
            id="none-outbound",
        ),
    ],
)
def test_service_type_specific_rules(
    make: Callable[[], Service], mutate: Mutation, code: str, path: str
) -> None:
    assert_single(validate_service(mutate(make()), CATALOG), code, path)


def test_none_service_with_members_is_rejected() -> None:
    member = replace(U_ALICE, id="u-x", memberships={"svc-none": Membership("svc-none")})
    catalog = make_catalog(users=by_id(U_ALICE, member))
    assert_single(
        validate_service(SVC_NONE, catalog, previous=SVC_NONE),
        "invalid_combination",
        "user_assignment_type",
    )


def test_service_update_excludes_itself_from_uniqueness() -> None:
    edited = replace(SVC_SKILL, description="Renamed nothing", version=2)
    assert validate_service(edited, CATALOG, previous=SVC_SKILL) == []


def test_service_assignment_type_is_immutable() -> None:
    changed = replace(SVC_TEAMS, user_assignment_type=SKILLS, distribution_policy_id="pol-1")
    issues = validate_service(changed, CATALOG, previous=SVC_TEAMS)
    assert_single(issues, "immutable_field", "user_assignment_type")
    assert "teams_based" in issues[0].message


def test_service_id_is_immutable() -> None:
    changed = replace(SVC_TEAMS, id="svc-other")
    assert_single(validate_service(changed, CATALOG, previous=SVC_TEAMS), "immutable_field", "id")


def test_service_reports_all_problems_at_once() -> None:
    bad = replace(
        new_service(),
        name="",
        upn="nope",
        pstn_number="12",
        distribution_policy_id=None,
        enabled_modalities=frozenset({CHAT, EMAIL}),
        outbound_conversations_enabled=True,
        workflows={},
        codes=("code-x",),
    )
    bad = dist(acw_duration_s=2, rona_reset_s=5)(bad)
    bad = reporting(sla_hangup_s=0)(bad)
    assert sorted(pairs(validate_service(bad, CATALOG))) == sorted(
        [
            ("required", "name"),
            ("invalid_format", "upn"),
            ("invalid_format", "pstn_number"),
            ("required", "distribution_policy_id"),
            ("required", "email_mailbox_upn"),
            ("invalid_combination", "outbound_conversations_enabled"),
            ("out_of_range", "distribution.acw_duration_s"),
            ("out_of_range", "distribution.rona_reset_s"),
            ("out_of_range", "reporting.sla_hangup_s"),
            ("unknown_reference", "codes[0]"),
        ]
    )


# --------------------------------------------------------------------------- user


def new_user() -> User:
    return User(
        id="u-bob",
        upn="bob@contoso.com",
        display_name="Bob Builder",
        email="bob@contoso.com",
        memberships={
            "svc-skill": Membership("svc-skill"),
            "svc-teams": Membership("svc-teams", active=False),
        },
        skills={
            "sk-en": UserSkill("sk-en", level=2),
            "sk-bill": UserSkill("sk-bill", responsibility=5),
        },
        responsibility_profile_ids=("pr-day",),
        active_profile_id="pr-day",
        not_available_reason_ids=("nar-lunch",),
        parallelization=Parallelization(enabled=True, max_total=3, per_modality={CHAT: 2}),
    )


def add_membership(service_id: str, **kw: Any) -> Mutation:
    return lambda u: replace(
        u, memberships={**u.memberships, service_id: Membership(service_id, **kw)}
    )


def set_skill(skill_id: str, level: Any = None, responsibility: Any = None) -> Mutation:
    return lambda u: replace(
        u, skills={**u.skills, skill_id: UserSkill(skill_id, level, responsibility)}
    )


def par(**changes: Any) -> Mutation:
    return lambda u: replace(u, parallelization=replace(u.parallelization, **changes))


def test_user_baseline_is_valid() -> None:
    assert validate_user(new_user(), CATALOG) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(upd(active_profile_id=ON_DUTY_PROFILE_ID), id="on-duty"),
        pytest.param(upd(active_profile_id=OFF_DUTY_PROFILE_ID), id="off-duty"),
        pytest.param(
            upd(
                memberships={},
                skills={},
                responsibility_profile_ids=(),
                active_profile_id=OFF_DUTY_PROFILE_ID,
                email=None,
            ),
            id="minimal",
        ),
        pytest.param(
            upd(responsibility_profile_ids=("pr-day", ON_DUTY_PROFILE_ID)),
            id="builtin-listed",
        ),
        pytest.param(par(max_total=4, per_modality={AUDIO: 0, CHAT: 4}), id="par-bounds"),
        pytest.param(set_skill("sk-fr", level=1), id="levelled-skill"),
    ],
)
def test_user_valid_variants(mutate: Mutation) -> None:
    assert validate_user(mutate(new_user()), CATALOG) == []


USER_CASES = [
    pytest.param(upd(upn=""), "required", "upn", id="upn-empty"),
    pytest.param(upd(upn="bob"), "invalid_format", "upn", id="upn-format"),
    pytest.param(upd(upn="Sales@contoso.com"), "not_unique", "upn", id="upn-of-service"),
    pytest.param(upd(upn="ALICE@contoso.com"), "not_unique", "upn", id="upn-of-user"),
    pytest.param(upd(display_name=" "), "required", "display_name", id="display-blank"),
    pytest.param(upd(display_name="x" * 257), "too_long", "display_name", id="display-long"),
    pytest.param(upd(email="x" * 129), "too_long", "email", id="email-long"),
    pytest.param(
        add_membership("svc-x"),
        "unknown_reference",
        "memberships[2].service_id",
        id="membership-unknown",
    ),
    pytest.param(
        add_membership("svc-none"),
        "not_applicable",
        "memberships[2].service_id",
        id="membership-of-none-service",
    ),
    pytest.param(
        lambda u: replace(
            u,
            memberships={
                "svc-skill": Membership("svc-skill"),
                "svc-teams": Membership("svc-skill"),
            },
        ),
        "invalid_combination",
        "memberships[1].service_id",
        id="membership-key-mismatch",
    ),
    pytest.param(
        add_membership("svc-skill", active=False),
        "not_applicable",
        "memberships[0].active",
        id="skill-based-inactive",
    ),
    pytest.param(
        add_membership("svc-teams", role="boss"),
        "invalid_type",
        "memberships[1].role",
        id="membership-role",
    ),
    pytest.param(
        set_skill("sk-x", level=1), "unknown_reference", "skills[2].skill_id", id="skill-unknown"
    ),
    pytest.param(set_skill("sk-en"), "required", "skills[0].level", id="level-missing"),
    pytest.param(
        set_skill("sk-en", level=4), "out_of_range", "skills[0].level", id="level-not-in-scale"
    ),
    pytest.param(
        set_skill("sk-en", level="2"), "out_of_range", "skills[0].level", id="level-not-int"
    ),
    pytest.param(
        set_skill("sk-bill", level=1, responsibility=5),
        "not_applicable",
        "skills[1].level",
        id="level-unlevelled",
    ),
    pytest.param(
        set_skill("sk-bill"), "required", "skills[1].responsibility", id="responsibility-missing"
    ),
    pytest.param(
        set_skill("sk-bill", responsibility=11),
        "out_of_range",
        "skills[1].responsibility",
        id="responsibility-high",
    ),
    pytest.param(
        set_skill("sk-en", level=2, responsibility=3),
        "not_applicable",
        "skills[0].responsibility",
        id="responsibility-disabled",
    ),
    pytest.param(
        upd(responsibility_profile_ids=("pr-day", "pr-x")),
        "unknown_reference",
        "responsibility_profile_ids[1]",
        id="profile-unknown",
    ),
    pytest.param(
        upd(responsibility_profile_ids=("pr-day", "pr-day")),
        "not_unique",
        "responsibility_profile_ids[1]",
        id="profile-twice",
    ),
    pytest.param(
        upd(active_profile_id="pr-night"),
        "invalid_combination",
        "active_profile_id",
        id="active-not-assigned",
    ),
    pytest.param(
        upd(memberships={"svc-teams": Membership("svc-teams")}),
        "invalid_combination",
        "active_profile_id",
        id="profile-without-skill-based-membership",
    ),
    pytest.param(
        upd(not_available_reason_ids=("nar-x",)),
        "unknown_reference",
        "not_available_reason_ids[0]",
        id="reason-unknown",
    ),
    pytest.param(
        par(max_total=0, per_modality={}),
        "out_of_range",
        "parallelization.max_total",
        id="max-total-0",
    ),
    pytest.param(
        par(max_total=5, per_modality={}),
        "out_of_range",
        "parallelization.max_total",
        id="max-total-5",
    ),
    pytest.param(
        par(per_modality={CHAT: 4}),
        "out_of_range",
        "parallelization.per_modality.chat",
        id="per-modality-above-total",
    ),
    pytest.param(
        par(per_modality={AUDIO: -1}),
        "out_of_range",
        "parallelization.per_modality.audio",
        id="per-modality-negative",
    ),
]


@pytest.mark.parametrize(("mutate", "code", "path"), USER_CASES)
def test_user_rejects(mutate: Mutation, code: str, path: str) -> None:
    assert_single(validate_user(mutate(new_user()), CATALOG), code, path)


def test_user_update_keeps_own_upn() -> None:
    assert validate_user(replace(U_ALICE, display_name="Alice A."), CATALOG, U_ALICE) == []


def test_user_reports_all_problems_at_once() -> None:
    bad = replace(
        new_user(),
        upn="sales@contoso.com",
        display_name="",
        skills={"sk-en": UserSkill("sk-en"), "sk-bill": UserSkill("sk-bill", responsibility=0)},
        not_available_reason_ids=("nar-lunch", "nar-lunch"),
    )
    bad = par(max_total=9)(bad)
    assert sorted(pairs(validate_user(bad, CATALOG))) == sorted(
        [
            ("not_unique", "upn"),
            ("required", "display_name"),
            ("required", "skills[0].level"),
            ("out_of_range", "skills[1].responsibility"),
            ("not_unique", "not_available_reason_ids[1]"),
            ("out_of_range", "parallelization.max_total"),
        ]
    )


# --------------------------------------------------------------------------- skill category


def new_category() -> SkillCategory:
    return SkillCategory(
        id="cat-new",
        name="Seniority",
        levelled=True,
        levels=(SkillLevel(1, "Junior"), SkillLevel(5, "Senior"), SkillLevel(10, "Expert")),
        responsibility_enabled=True,
    )


def levels(*values: int) -> Mutation:
    return upd(levels=tuple(SkillLevel(v, f"L{i}") for i, v in enumerate(values)))


def test_category_baselines_are_valid() -> None:
    assert validate_skill_category(new_category(), CATALOG) == []
    flat = SkillCategory(id="cat-flat", name="Regions")
    assert validate_skill_category(flat, CATALOG) == []
    assert validate_skill_category(levels(*range(1, 11))(new_category()), CATALOG) == []
    assert validate_skill_category(CAT_LANG, CATALOG, previous=CAT_LANG) == []


@pytest.mark.parametrize(
    ("mutate", "code", "path"),
    [
        pytest.param(upd(name=""), "required", "name", id="name-empty"),
        pytest.param(upd(name="x" * 65), "too_long", "name", id="name-long"),
        pytest.param(upd(name="Languages"), "not_unique", "name", id="name-taken"),
        pytest.param(upd(levels=()), "required", "levels", id="levels-missing"),
        pytest.param(levels(1), "too_short", "levels", id="one-level"),
        pytest.param(levels(0, 2), "out_of_range", "levels[0].value", id="value-0"),
        pytest.param(levels(1, 2, 11), "out_of_range", "levels[2].value", id="value-11"),
        pytest.param(levels(1, 5, 5), "invalid_combination", "levels[2].value", id="value-repeats"),
        pytest.param(
            levels(1, 5, 3), "invalid_combination", "levels[2].value", id="value-decreases"
        ),
        pytest.param(
            upd(levels=(SkillLevel(1, "A"), SkillLevel(2, " "))),
            "required",
            "levels[1].name",
            id="level-name-blank",
        ),
        pytest.param(
            upd(levels=(SkillLevel(1, "A"), SkillLevel(2, "x" * 33))),
            "too_long",
            "levels[1].name",
            id="level-name-long",
        ),
        pytest.param(
            upd(levels=(SkillLevel(1, "A"), SkillLevel(2, "B"), SkillLevel(3, "A"))),
            "not_unique",
            "levels[2].name",
            id="level-name-twice",
        ),
        pytest.param(upd(levelled=False), "not_applicable", "levels", id="levels-on-unlevelled"),
    ],
)
def test_category_rejects(mutate: Mutation, code: str, path: str) -> None:
    assert_single(validate_skill_category(mutate(new_category()), CATALOG), code, path)


def test_category_with_eleven_levels_exceeds_the_limit() -> None:
    many = levels(*range(1, 11), 10)(new_category())
    assert ("limit_exceeded", "levels") in pairs(validate_skill_category(many, CATALOG))


# --------------------------------------------------------------------------- skill


def test_skill_checks() -> None:
    german = Skill(id="sk-de", category_id="cat-lang", name="German")
    assert validate_skill(german, CATALOG) == []
    # Names are unique per category only.
    assert validate_skill(replace(german, category_id="cat-prod", name="English"), CATALOG) == []
    assert validate_skill(SK_EN, CATALOG, previous=SK_EN) == []
    assert_single(validate_skill(replace(german, name="English"), CATALOG), "not_unique", "name")
    assert_single(validate_skill(replace(german, name=""), CATALOG), "required", "name")
    assert_single(validate_skill(replace(german, name="x" * 65), CATALOG), "too_long", "name")
    assert_single(
        validate_skill(replace(german, category_id="cat-x"), CATALOG),
        "unknown_reference",
        "category_id",
    )


# --------------------------------------------------------------------------- profile


def new_profile() -> ResponsibilityProfile:
    return ResponsibilityProfile(
        id="pr-new",
        name="Billing seniors",
        entries=(ProfileEntry("sk-bill", 3, 8), ProfileEntry("sk-en")),
    )


def add_entry(*args: Any) -> Mutation:
    return lambda p: replace(p, entries=(*p.entries, ProfileEntry(*args)))


def test_profile_baseline_is_valid() -> None:
    assert validate_profile(new_profile(), CATALOG) == []
    for builtin in BUILTIN_PROFILES:
        assert validate_profile(builtin, CATALOG, previous=builtin) == []


@pytest.mark.parametrize(
    ("mutate", "code", "path"),
    [
        pytest.param(upd(name=""), "required", "name", id="name-empty"),
        pytest.param(upd(name="x" * 65), "too_long", "name", id="name-long"),
        pytest.param(upd(name="Day shift"), "not_unique", "name", id="name-taken"),
        pytest.param(upd(name="On duty"), "not_unique", "name", id="name-of-builtin"),
        pytest.param(
            add_entry("sk-x"), "unknown_reference", "entries[2].skill_id", id="skill-unknown"
        ),
        pytest.param(add_entry("sk-en"), "not_unique", "entries[2].skill_id", id="skill-twice"),
        pytest.param(
            upd(entries=(ProfileEntry("sk-bill", 0, 8),)),
            "out_of_range",
            "entries[0].min_responsibility",
            id="min-0",
        ),
        pytest.param(
            upd(entries=(ProfileEntry("sk-bill", None, 11),)),
            "out_of_range",
            "entries[0].max_responsibility",
            id="max-11",
        ),
        pytest.param(
            upd(entries=(ProfileEntry("sk-bill", 8, 3),)),
            "invalid_combination",
            "entries[0].min_responsibility",
            id="min-above-max",
        ),
        pytest.param(
            add_entry("sk-fr", 2),
            "not_applicable",
            "entries[2].min_responsibility",
            id="band-without-responsibility",
        ),
        pytest.param(
            upd(kind=ProfileKind.ON_DUTY, entries=()),
            "not_applicable",
            "kind",
            id="custom-claims-builtin-kind",
        ),
        pytest.param(upd(kind="night"), "invalid_type", "kind", id="kind-bad"),
    ],
)
def test_profile_rejects(mutate: Mutation, code: str, path: str) -> None:
    assert_single(validate_profile(mutate(new_profile()), CATALOG), code, path)


@pytest.mark.parametrize("builtin", BUILTIN_PROFILES, ids=lambda p: p.id)
def test_builtin_profiles_cannot_be_edited(builtin: ResponsibilityProfile) -> None:
    renamed = replace(builtin, name="Renamed")
    assert_single(validate_profile(renamed, CATALOG, previous=builtin), "immutable_field", "name")
    with_entries = replace(builtin, entries=(ProfileEntry("sk-en"),))
    assert_single(
        validate_profile(with_entries, CATALOG, previous=builtin), "not_applicable", "entries"
    )


# --------------------------------------------------------------------------- policy


def new_policy() -> DistributionPolicy:
    return DistributionPolicy(
        id="pol-new",
        name="Escalating",
        levels=(
            PolicyLevel(
                requirements=(Requirement("sk-en", min_level=2, max_level=3),),
                time_in_level_s=30,
            ),
            PolicyLevel(
                requirements=(
                    Requirement("sk-bill", min_responsibility=3, max_responsibility=3),
                    Requirement("sk-fr"),
                ),
                match=Match.ANY,
                time_in_level_s=86400,
            ),
            PolicyLevel(),
        ),
    )


def level(index: int, **changes: Any) -> Mutation:
    return lambda p: replace(
        p,
        levels=tuple(replace(lv, **changes) if i == index else lv for i, lv in enumerate(p.levels)),
    )


def req(index: int, **changes: Any) -> Mutation:
    """Replace requirement 0 of level `index`."""
    return lambda p: level(
        index,
        requirements=(
            replace(p.levels[index].requirements[0], **changes),
            *p.levels[index].requirements[1:],
        ),
    )(p)


def test_policy_baseline_is_valid() -> None:
    assert validate_policy(new_policy(), CATALOG) == []
    single = DistributionPolicy(id="pol-any", name="Anyone", levels=(PolicyLevel(),))
    assert validate_policy(single, CATALOG) == []
    assert validate_policy(POL, CATALOG, previous=POL) == []


def ten_levels_plus(extra: int) -> Mutation:
    step = PolicyLevel(requirements=(Requirement("sk-en"),), time_in_level_s=10)
    return upd(levels=(*([step] * (9 + extra)), PolicyLevel()))


@pytest.mark.parametrize(
    ("mutate", "code", "path"),
    [
        pytest.param(upd(name=""), "required", "name", id="name-empty"),
        pytest.param(upd(name="Languages first"), "not_unique", "name", id="name-taken"),
        pytest.param(upd(levels=()), "too_short", "levels", id="no-levels"),
        pytest.param(ten_levels_plus(1), "limit_exceeded", "levels", id="eleven-levels"),
        pytest.param(
            level(0, time_in_level_s=None),
            "required",
            "levels[0].time_in_level_s",
            id="time-missing",
        ),
        pytest.param(
            level(0, time_in_level_s=0), "out_of_range", "levels[0].time_in_level_s", id="time-0"
        ),
        pytest.param(
            level(1, time_in_level_s=86401),
            "out_of_range",
            "levels[1].time_in_level_s",
            id="time-high",
        ),
        pytest.param(
            level(2, time_in_level_s=10),
            "invalid_combination",
            "levels[2].time_in_level_s",
            id="time-on-last",
        ),
        pytest.param(
            level(1, requirements=()),
            "too_short",
            "levels[1].requirements",
            id="empty-requirements-not-last",
        ),
        pytest.param(level(0, match="most"), "invalid_type", "levels[0].match", id="match-bad"),
        pytest.param(
            req(0, skill_id="sk-x"),
            "unknown_reference",
            "levels[0].requirements[0].skill_id",
            id="skill-unknown",
        ),
        pytest.param(
            req(0, min_level=3, max_level=2),
            "invalid_combination",
            "levels[0].requirements[0].min_level",
            id="min-level-above-max",
        ),
        pytest.param(
            req(0, min_level=0),
            "out_of_range",
            "levels[0].requirements[0].min_level",
            id="min-level-0",
        ),
        pytest.param(
            req(0, max_level=11),
            "out_of_range",
            "levels[0].requirements[0].max_level",
            id="max-level-11",
        ),
        pytest.param(
            req(0, max_responsibility=4),
            "not_applicable",
            "levels[0].requirements[0].max_responsibility",
            id="responsibility-on-levelled-only",
        ),
        pytest.param(
            req(1, min_level=1),
            "not_applicable",
            "levels[1].requirements[0].min_level",
            id="level-on-unlevelled",
        ),
        pytest.param(
            req(1, min_responsibility=5, max_responsibility=4),
            "invalid_combination",
            "levels[1].requirements[0].min_responsibility",
            id="min-responsibility-above-max",
        ),
        pytest.param(
            req(1, max_responsibility=11),
            "out_of_range",
            "levels[1].requirements[0].max_responsibility",
            id="max-responsibility-11",
        ),
    ],
)
def test_policy_rejects(mutate: Mutation, code: str, path: str) -> None:
    assert_single(validate_policy(mutate(new_policy()), CATALOG), code, path)


def test_policy_with_ten_levels_is_allowed() -> None:
    assert validate_policy(ten_levels_plus(0)(new_policy()), CATALOG) == []


# --------------------------------------------------------------------------- small entities


@pytest.mark.parametrize(
    ("entity", "validate", "code", "path"),
    [
        pytest.param(
            NotAvailableReason("nar-x", ""),
            validate_not_available_reason,
            "required",
            "name",
            id="reason-name-empty",
        ),
        pytest.param(
            NotAvailableReason("nar-x", "x" * 65),
            validate_not_available_reason,
            "too_long",
            "name",
            id="reason-name-long",
        ),
        pytest.param(
            NotAvailableReason("nar-x", "Lunch"),
            validate_not_available_reason,
            "not_unique",
            "name",
            id="reason-name-taken",
        ),
        pytest.param(Code("c", "", "L1"), validate_code, "required", "name", id="code-name"),
        pytest.param(
            Code("c", "x" * 65, "L1"), validate_code, "too_long", "name", id="code-name-long"
        ),
        pytest.param(
            Code("c", "Lost", ""), validate_code, "required", "short_code", id="short-empty"
        ),
        pytest.param(
            Code("c", "Lost", "x" * 17),
            validate_code,
            "too_long",
            "short_code",
            id="short-long",
        ),
        pytest.param(
            Code("c", "Lost", "S1"), validate_code, "not_unique", "short_code", id="short-taken"
        ),
        pytest.param(Tag("t", ""), validate_tag, "required", "name", id="tag-name-empty"),
        pytest.param(Tag("t", "x" * 33), validate_tag, "too_long", "name", id="tag-name-long"),
        pytest.param(Tag("t", "VIP"), validate_tag, "not_unique", "name", id="tag-name-taken"),
    ],
)
def test_small_entities_reject(
    entity: Any, validate: Callable[[Any, Catalog], list[Issue]], code: str, path: str
) -> None:
    assert_single(validate(entity, CATALOG), code, path)


def test_small_entity_baselines_are_valid() -> None:
    assert validate_not_available_reason(NotAvailableReason("nar-x", "Training"), CATALOG) == []
    assert validate_not_available_reason(NAR_LUNCH, CATALOG, previous=NAR_LUNCH) == []
    assert validate_code(Code("c", "Lost", "x" * 16), CATALOG) == []
    assert validate_code(CODE, CATALOG, previous=CODE) == []
    assert validate_tag(Tag("t", "x" * 32), CATALOG) == []
    assert validate_tag(TAG, CATALOG, previous=TAG) == []


# --------------------------------------------------------------------------- custom parameter


def new_parameter() -> CustomParameter:
    return CustomParameter(
        id="order_Number2", name="Order number", default_value="n/a", description="ERP order"
    )


def test_parameter_baseline_is_valid() -> None:
    assert validate_parameter(new_parameter(), CATALOG) == []
    assert validate_parameter(replace(new_parameter(), default_value="x" * 5120), CATALOG) == []
    assert validate_parameter(replace(PARAM, name="Customer"), CATALOG, previous=PARAM) == []


@pytest.mark.parametrize(
    ("mutate", "code", "path"),
    [
        pytest.param(upd(id=""), "required", "id", id="id-empty"),
        pytest.param(upd(id="9lives"), "invalid_format", "id", id="id-digit-first"),
        pytest.param(upd(id="_x"), "invalid_format", "id", id="id-underscore-first"),
        pytest.param(upd(id="order-number"), "invalid_format", "id", id="id-dash"),
        pytest.param(upd(id="Bestellnr_ä"), "invalid_format", "id", id="id-non-ascii"),
        pytest.param(upd(id=" order"), "invalid_format", "id", id="id-space"),
        pytest.param(upd(id="x" * 65), "too_long", "id", id="id-long"),
        pytest.param(upd(id="customerId"), "not_unique", "id", id="id-taken"),
        pytest.param(upd(name=""), "required", "name", id="name-empty"),
        pytest.param(upd(name="x" * 65), "too_long", "name", id="name-long"),
        pytest.param(upd(default_value="x" * 5121), "too_long", "default_value", id="default-long"),
        pytest.param(upd(description="x" * 1025), "too_long", "description", id="desc-long"),
    ],
)
def test_parameter_rejects(mutate: Mutation, code: str, path: str) -> None:
    assert_single(validate_parameter(mutate(new_parameter()), CATALOG), code, path)


def test_parameter_id_is_immutable() -> None:
    renamed = replace(PARAM, id="customerRef")
    assert_single(validate_parameter(renamed, CATALOG, previous=PARAM), "immutable_field", "id")


def test_parameter_count_is_limited() -> None:
    full = {f"p{i}": CustomParameter(f"p{i}", "P") for i in range(MAX_CUSTOM_PARAMETERS)}
    assert_single(
        validate_parameter(new_parameter(), make_catalog(parameters=full)), "limit_exceeded", ""
    )
    # Editing an existing parameter of a full tenant is fine.
    assert validate_parameter(full["p1"], make_catalog(parameters=full), previous=full["p1"]) == []


# --------------------------------------------------------------------------- tenant settings


def caps(**changes: Any) -> TenantSettings:
    return TenantSettings(max_concurrent_tasks_per_service=ConcurrencyCaps(**changes))


def test_tenant_settings_baseline_is_valid() -> None:
    assert validate_tenant_settings(TenantSettings()) == []
    edge = TenantSettings(
        max_concurrent_tasks_per_service=ConcurrencyCaps(
            audio=1000, chat=50, email=1, external_task=1000
        ),
        context_retention_days=730,
        sweeper_interval_s=60,
        transfer_ring_timeout_s=5,
    )
    assert validate_tenant_settings(edge) == []


@pytest.mark.parametrize(
    ("settings", "code", "path"),
    [
        pytest.param(
            caps(chat=0), "out_of_range", "max_concurrent_tasks_per_service.chat", id="chat-0"
        ),
        pytest.param(
            caps(chat=51), "out_of_range", "max_concurrent_tasks_per_service.chat", id="chat-51"
        ),
        pytest.param(
            caps(chat=None), "required", "max_concurrent_tasks_per_service.chat", id="chat-none"
        ),
        pytest.param(
            caps(email=1001),
            "out_of_range",
            "max_concurrent_tasks_per_service.email",
            id="email-1001",
        ),
        pytest.param(
            caps(external_task=0),
            "out_of_range",
            "max_concurrent_tasks_per_service.external_task",
            id="external-0",
        ),
        pytest.param(
            caps(audio=0), "out_of_range", "max_concurrent_tasks_per_service.audio", id="audio-0"
        ),
        pytest.param(
            TenantSettings(context_retention_days=0),
            "out_of_range",
            "context_retention_days",
            id="retention-0",
        ),
        pytest.param(
            TenantSettings(context_retention_days=731),
            "out_of_range",
            "context_retention_days",
            id="retention-731",
        ),
        pytest.param(
            TenantSettings(sweeper_interval_s=0),
            "out_of_range",
            "sweeper_interval_s",
            id="sweeper-0",
        ),
        pytest.param(
            TenantSettings(sweeper_interval_s=61),
            "out_of_range",
            "sweeper_interval_s",
            id="sweeper-61",
        ),
        pytest.param(
            TenantSettings(transfer_ring_timeout_s=4),
            "out_of_range",
            "transfer_ring_timeout_s",
            id="ring-4",
        ),
        pytest.param(
            TenantSettings(transfer_ring_timeout_s=121),
            "out_of_range",
            "transfer_ring_timeout_s",
            id="ring-121",
        ),
    ],
)
def test_tenant_settings_reject(settings: TenantSettings, code: str, path: str) -> None:
    assert_single(validate_tenant_settings(settings), code, path)


# --------------------------------------------------------------------------- organisation units


def chain(length: int) -> dict[str, OrganisationUnit]:
    """A root with a single line of descendants: level i is `ou-<i>` (root = level 1)."""
    ous = {"root": ROOT}
    for depth in range(2, length + 1):
        parent = "root" if depth == 2 else f"ou-{depth - 1}"
        ous[f"ou-{depth}"] = OrganisationUnit(f"ou-{depth}", f"Level {depth}", parent)
    return ous


def test_ou_baselines_are_valid() -> None:
    marketing = OrganisationUnit("ou-new", "Marketing", parent_id="root")
    assert validate_ou(marketing, CATALOG) == []
    # Same name is fine under another parent.
    assert validate_ou(replace(marketing, name="Sales", parent_id="ou-sales"), CATALOG) == []
    assert validate_ou(replace(ROOT, name="Contoso Ltd"), CATALOG, previous=ROOT) == []
    assert validate_ou(ROOT, Catalog()) == []  # the root, created with the tenant
    ten = chain(10)
    assert validate_ou(OrganisationUnit("x", "X", parent_id="ou-9"), Catalog(ous=ten)) == []


@pytest.mark.parametrize(
    ("ou", "code", "path"),
    [
        pytest.param(OrganisationUnit("ou-new", "", "root"), "required", "name", id="name-empty"),
        pytest.param(
            OrganisationUnit("ou-new", "x" * 129, "root"), "too_long", "name", id="name-long"
        ),
        pytest.param(
            OrganisationUnit("ou-new", "Sales", "root"), "not_unique", "name", id="sibling-name"
        ),
        pytest.param(
            OrganisationUnit("ou-new", "Second root"), "required", "parent_id", id="second-root"
        ),
        pytest.param(
            OrganisationUnit("ou-new", "Lost", "ou-x"),
            "unknown_reference",
            "parent_id",
            id="parent-unknown",
        ),
        pytest.param(
            OrganisationUnit("ou-sales", "Sales", "ou-sales"),
            "invalid_combination",
            "parent_id",
            id="own-parent",
        ),
        pytest.param(
            OrganisationUnit("root", "Contoso", "ou-sales"),
            "invalid_combination",
            "parent_id",
            id="root-under-child",
        ),
    ],
)
def test_ou_rejects(ou: OrganisationUnit, code: str, path: str) -> None:
    assert_single(validate_ou(ou, CATALOG), code, path)


def test_ou_cannot_move_under_its_descendant() -> None:
    ous = chain(5)
    moved = replace(ous["ou-3"], parent_id="ou-5")
    assert_single(
        validate_ou(moved, Catalog(ous=ous), previous=ous["ou-3"]),
        "invalid_combination",
        "parent_id",
    )


def test_ou_depth_is_limited() -> None:
    ous = chain(10)
    assert_single(
        validate_ou(OrganisationUnit("x", "X", parent_id="ou-10"), Catalog(ous=ous)),
        "limit_exceeded",
        "parent_id",
    )


def test_moving_a_subtree_counts_its_descendants() -> None:
    ous = chain(10)
    ous["a"] = OrganisationUnit("a", "A", parent_id="root")  # level 2
    ous["b"] = OrganisationUnit("b", "B", parent_id="a")  # level 3
    ous["c"] = OrganisationUnit("c", "C", parent_id="b")  # level 4
    catalog = Catalog(ous=ous)
    # Under ou-7, `a` becomes level 8 and `c` level 10: allowed.
    assert validate_ou(replace(ous["a"], parent_id="ou-7"), catalog, previous=ous["a"]) == []
    # Under ou-8, `c` would be level 11.
    assert_single(
        validate_ou(replace(ous["a"], parent_id="ou-8"), catalog, previous=ous["a"]),
        "limit_exceeded",
        "parent_id",
    )


def test_non_root_ou_cannot_become_a_root() -> None:
    assert_single(
        validate_ou(replace(OU_SALES, parent_id=None), CATALOG, previous=OU_SALES),
        "required",
        "parent_id",
    )


# --------------------------------------------------------------------------- require_valid


def test_require_valid_passes_without_issues() -> None:
    require_valid([])


def test_require_valid_raises_with_every_issue() -> None:
    bad = replace(new_service(), name="", upn="x")
    issues = validate_service(bad, CATALOG)
    with pytest.raises(ValidationFailed) as caught:
        require_valid(issues)
    error = caught.value
    assert isinstance(error, DomainError)
    assert error.code == "validation_failed"
    assert error.issues == tuple(issues)
    assert len(error.issues) == 2
    assert error.as_dict()["detail"]["issues"] == [
        {"code": i.code, "path": i.path, "message": i.message} for i in issues
    ]
    assert "2 problems" in error.message


def test_issue_is_immutable() -> None:
    issue = Issue("required", "name", "name is required.")
    with pytest.raises(AttributeError):
        issue.code = "other"  # type: ignore[misc]


def test_system_roles_are_not_given_to_a_tenants_users() -> None:
    """System and partner admins are system accounts (01 §3), never a tenant's users."""
    for role, scope in (
        (Role.SYSTEM_ADMIN, ScopeType.SYSTEM),
        (Role.PARTNER_ADMIN, ScopeType.PARTNER),
    ):
        user = replace(new_user(), roles=(RoleAssignment(role, scope, None),))
        issues = validate_user(user, CATALOG)
        assert pairs(issues) == [("not_applicable", "roles[0].role")]
        assert "system account" in issues[0].message
