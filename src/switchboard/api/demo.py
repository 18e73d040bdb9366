"""The demo tenant that `switchboard serve --demo` (and `make run`) creates once.

A small contact center that shows the main ideas: two organisation units, a
Teams-style front desk, a skill-based support line with a three-level policy,
an IVR-only entry service, and a chat-capable sales service; twelve agents with
skills, duty profiles and not-available reasons; parameters and wrap-up codes;
opening hours: weekday business hours in the tenant's zone (Europe/Zurich) with
the canton of Zurich's public holidays, a Saturday morning line that support
adds as its secondary calendar, and a 24/7 calendar for the main number;
published workflows from the built-in templates: the front desk checks its
opening hours before it queues (closed: an announcement), the main number is a
key menu that sends callers to the front desk or support, support queues with a
voicemail fallback, and sales greets and queues chats. Everything goes through
the engine's validated `upsert`, like any admin change.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from switchboard.api.keys import issue_api_key
from switchboard.api.security.api_keys import SCOPES, parse_api_key
from switchboard.api.security.passwords import hash_password
from switchboard.api.tenancy import Tenancy
from switchboard.domain import config as cfg
from switchboard.domain.calendars import (
    DefaultState,
    OpeningState,
    Period,
    PeriodRule,
    RuleKind,
    Weekday,
)
from switchboard.domain.enums import (
    AssignmentType,
    DistributionType,
    MembershipRole,
    Modality,
    ProfileKind,
    UserOrdering,
)
from switchboard.domain.roles import Role, RoleAssignment, ScopeType
from switchboard.domain.workflow import JsonValue, Workflow, templates
from switchboard.engine.engine import Engine
from switchboard.reporting.rebuild import rebuild
from switchboard.store.repositories import AccountRepository, ApiKeyRepository

if TYPE_CHECKING:  # demo_history builds on this module (its seed and agents)
    from switchboard.api.demo_history import HistoryPlan, HistoryResult

DEMO_TENANT_ID = "00000000-0000-4000-8000-00000000de70"
DEMO_KEY_ENV = "SWITCHBOARD_DEMO_API_KEY"
DEMO_PASSWORD_ENV = "SWITCHBOARD_DEMO_PASSWORD"
#: The demo's shared sign-in password (printed at start; override with the env variable).
DEMO_PASSWORD = "switchboard demo 2026"

AGENTS = (
    ("anna", "Anna Keller", ("front", "support"), {"de": 5, "en": 4, "billing": 3}),
    ("ben", "Ben Ortiz", ("front", "sales"), {"en": 5, "es": 5}),
    ("chloe", "Chloé Martin", ("support",), {"fr": 5, "en": 3, "tech": 4}),
    ("dev", "Dev Patel", ("support", "sales"), {"en": 5, "tech": 5}),
    ("emma", "Emma Schulz", ("support",), {"de": 5, "billing": 5}),
    ("farid", "Farid Haddad", ("front",), {"en": 4, "ar": 5}),
    ("greta", "Greta Nilsson", ("sales",), {"en": 4, "de": 3}),
    ("hugo", "Hugo Rossi", ("support",), {"it": 5, "en": 4, "tech": 2}),
    ("ines", "Inês Costa", ("front", "support"), {"pt": 5, "es": 4, "billing": 2}),
    ("jon", "Jon Berg", ("sales",), {"en": 3}),
    ("kai", "Kai Müller", ("support",), {"de": 4, "tech": 3}),
    ("lena", "Lena Vogel", ("front", "sales"), {"de": 5, "en": 5}),
)
SKILLS = ("de", "en", "es", "fr", "it", "pt", "ar", "billing", "tech")
DEMO_TIME_ZONE = "Europe/Zurich"


@dataclass(frozen=True, slots=True)
class DemoInfo:
    tenant_id: str
    api_key: str
    service_ids: dict[str, str]
    #: username -> what the person may do, for the start-up banner
    logins: dict[str, str]
    password: str
    #: the history simulated by this call (None: none asked for, or there already)
    history: HistoryResult | None = None


def _sid(name: str) -> str:
    return f"svc-{name}"


def _seed_calendars(engine: Engine) -> None:
    """Opening hours; the business calendar has no zone of its own, so it follows the tenant."""
    tenant = engine.state.tenant
    # The demo keeps its agents' state intervals for the reports (08 §2, 01 §10).
    settings = replace(tenant.settings, persist_user_states=True)
    engine.upsert("tenant", replace(tenant, time_zone=DEMO_TIME_ZONE, settings=settings))
    workdays = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
    engine.upsert(
        "calendar",
        cfg.Calendar(
            id="cal-business",
            name="Business hours",
            default_state=DefaultState.CLOSED,
            periods=(
                Period(
                    "weekdays",
                    "Weekdays",
                    OpeningState.OPEN,
                    PeriodRule(RuleKind.WEEKLY, days=workdays, start="08:00", end="18:00"),
                ),
                Period(
                    "holidays-zh",
                    "Public holidays (Zurich)",
                    OpeningState.HOLIDAY,
                    PeriodRule(RuleKind.HOLIDAYS, country="CH", subdivision="ZH"),
                ),
            ),
        ),
    )
    engine.upsert(
        "calendar",
        cfg.Calendar(
            id="cal-saturday",
            name="Saturday support line",
            time_zone=DEMO_TIME_ZONE,
            periods=(
                Period(
                    "saturday",
                    "Saturday mornings",
                    OpeningState.SPECIAL,
                    PeriodRule(RuleKind.WEEKLY, days=(Weekday.SAT,), start="09:00", end="13:00"),
                ),
            ),
        ),
    )
    engine.upsert(
        "calendar",
        cfg.Calendar(id="cal-always", name="Around the clock", default_state=DefaultState.OPEN),
    )


def _publish(engine: Engine, workflow: Workflow) -> str:
    engine.upsert("workflow", workflow)
    engine.publish_workflow(workflow.id)
    return workflow.id


def _with_setting(workflow: Workflow, node_id: str, **settings: JsonValue) -> Workflow:
    """The template with settings of one node changed (what an admin would edit)."""
    nodes = tuple(
        replace(node, settings={**node.settings, **settings}) if node.id == node_id else node
        for node in workflow.document.nodes
    )
    return replace(workflow, document=replace(workflow.document, nodes=nodes))


def _seed_workflows(engine: Engine) -> dict[str, dict[str, str]]:
    """Published workflows from the templates; returns each service's `workflows`."""
    front = _publish(
        engine,
        # The front desk rings everyone at once, as its queue settings always did.
        _with_setting(
            templates.opening_hours_queue(
                workflow_id="wf-front", ou_id="ou-service", name="Front desk hours"
            ),
            "queue",
            distribution_type="broadcast",
        ),
    )
    main = _publish(
        engine,
        # Nobody works the main number itself: a caller who picks nothing is not
        # left waiting in its queue, but told goodbye at once.
        _with_setting(
            templates.ivr_menu(
                workflow_id="wf-main",
                ou_id="ou-service",
                name="Main number menu",
                option_1_service_id=_sid("front"),
                option_2_service_id=_sid("support"),
                menu_text="For the front desk, press 1. For technical support, press 2.",
            ),
            "queue",
            exit_when_no_users=True,
        ),
    )
    support = _publish(
        engine,
        templates.queue_ivr_voicemail(
            workflow_id="wf-support", ou_id="ou-service", name="Support with voicemail"
        ),
    )
    sales_audio = _publish(
        engine,
        templates.menu_with_language_choice(
            workflow_id="wf-sales", ou_id="ou-sales", name="Sales language menu"
        ),
    )
    sales_chat = _publish(
        engine, templates.chat_queue(workflow_id="wf-sales-chat", ou_id="ou-sales")
    )
    return {
        "front": {"audio_inbound": front},
        "ivr": {"audio_inbound": main},
        "support": {"audio_inbound": support},
        "sales": {"audio_inbound": sales_audio, "chat_inbound": sales_chat},
    }


def seed(engine: Engine) -> dict[str, str]:
    """Create the demo configuration in an empty tenant; returns service ids by name."""
    upsert = engine.upsert
    _seed_calendars(engine)
    upsert("ou", cfg.OrganisationUnit(id="ou-service", name="Customer service", parent_id="root"))
    upsert("ou", cfg.OrganisationUnit(id="ou-sales", name="Sales", parent_id="root"))
    upsert(
        "skill_category",
        cfg.SkillCategory(
            id="cat-skills",
            name="Languages and topics",
            levelled=True,
            levels=tuple(
                cfg.SkillLevel(v, n)
                for v, n in enumerate(("basic", "fair", "good", "fluent", "expert"), start=1)
            ),
        ),
    )
    for skill in SKILLS:
        upsert("skill", cfg.Skill(id=f"skill-{skill}", category_id="cat-skills", name=skill))
    upsert(
        "policy",
        cfg.DistributionPolicy(
            id="policy-support",
            name="Support: experts first",
            levels=(
                cfg.PolicyLevel(
                    requirements=(cfg.Requirement("skill-tech", min_level=4),), time_in_level_s=20
                ),
                cfg.PolicyLevel(
                    requirements=(cfg.Requirement("skill-tech", min_level=2),), time_in_level_s=40
                ),
                cfg.PolicyLevel(requirements=()),
            ),
        ),
    )
    upsert(
        "profile",
        cfg.ResponsibilityProfile(
            id="profile-tech-only",
            name="Technical questions only",
            kind=ProfileKind.CUSTOM,
            entries=(cfg.ProfileEntry("skill-tech"),),
        ),
    )
    for reason_id, name in (
        ("na-break", "Break"),
        ("na-training", "Training"),
        ("na-lunch", "Lunch"),
    ):
        upsert("not_available_reason", cfg.NotAvailableReason(id=reason_id, name=name))
    upsert(
        "parameter",
        cfg.CustomParameter(id="CustomerTier", name="Customer tier", default_value="standard"),
    )
    upsert("parameter", cfg.CustomParameter(id="OrderNumber", name="Order number"))
    for code_id, name, short in (
        ("code-solved", "Solved", "OK"),
        ("code-callback", "Callback promised", "CB"),
        ("code-escalated", "Escalated", "ESC"),
    ):
        upsert("code", cfg.Code(id=code_id, name=name, short_code=short))
    upsert("tag", cfg.Tag(id="tag-vip", name="VIP"))
    codes = ("code-solved", "code-callback", "code-escalated")

    front = cfg.Service(
        id=_sid("front"),
        name="Front desk",
        upn="frontdesk@demo.switchboard.test",
        pstn_number="+41445551000",
        user_assignment_type=AssignmentType.TEAMS_BASED,
        ou_id="ou-service",
        codes=codes,
        primary_calendar_id="cal-business",
    )
    front.queue.distribution_type = DistributionType.BROADCAST
    support = cfg.Service(
        id=_sid("support"),
        name="Technical support",
        upn="support@demo.switchboard.test",
        pstn_number="+41445551001",
        user_assignment_type=AssignmentType.SKILL_BASED,
        distribution_policy_id="policy-support",
        ou_id="ou-service",
        codes=codes,
        tags=("tag-vip",),
        primary_calendar_id="cal-business",
        secondary_calendar_id="cal-saturday",
    )
    support.distribution.acw_enabled = True
    support.distribution.acw_duration_s = 30
    support.distribution.acw_allow_extension = True
    support.distribution.persistent_rona = True
    ivr = cfg.Service(
        id=_sid("ivr"),
        name="Main number",
        upn="main@demo.switchboard.test",
        pstn_number="+41445550000",
        user_assignment_type=AssignmentType.NONE,
        # With the services its menu sends callers to: a workflow sees only its OU
        # and the OUs above it (01 §2).
        ou_id="ou-service",
        primary_calendar_id="cal-always",
    )
    sales = cfg.Service(
        id=_sid("sales"),
        name="Sales",
        upn="sales@demo.switchboard.test",
        user_assignment_type=AssignmentType.TEAMS_BASED,
        ou_id="ou-sales",
        enabled_modalities=frozenset({Modality.AUDIO, Modality.CHAT}),
        codes=codes,
        primary_calendar_id="cal-business",
    )
    sales.distribution.user_ordering = UserOrdering.ROUND_ROBIN
    for service in (front, support, ivr, sales):
        upsert("service", service)
    # Workflows may name services (the main menu transfers to two), so they come
    # after the services, which then get their workflows.
    for name, slots in _seed_workflows(engine).items():
        upsert("service", replace(engine.state.services[_sid(name)], workflows=slots))

    for login, name, services, skills in AGENTS:
        memberships = {_sid(s): cfg.Membership(_sid(s)) for s in services}
        skill_based = "support" in services
        user = cfg.User(
            id=f"user-{login}",
            upn=f"{login}@demo.switchboard.test",
            display_name=name,
            email=f"{login}@demo.switchboard.test",
            ou_id="ou-sales" if services == ("sales",) else "ou-service",
            memberships=memberships,
            skills={
                f"skill-{s}": cfg.UserSkill(f"skill-{s}", level=level)
                for s, level in skills.items()
            },
            responsibility_profile_ids=("profile-tech-only",) if skill_based else (),
            active_profile_id=cfg.ON_DUTY_PROFILE_ID if skill_based else cfg.OFF_DUTY_PROFILE_ID,
            not_available_reason_ids=("na-break", "na-training", "na-lunch"),
            parallelization=cfg.Parallelization(enabled="sales" in services, max_total=2),
        )
        upsert("user", user)
    _seed_people(engine)
    return {name: _sid(name) for name in ("front", "support", "ivr", "sales")}


#: People with administrative roles, beside the agents (who sign in with their login).
PEOPLE = (
    ("admin", "Alex Admin", "root", (RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT),)),
    (
        "supervisor",
        "Sam Supervisor",
        "ou-service",
        (
            RoleAssignment(Role.SERVICE_SUPERVISOR, ScopeType.OU, "ou-service"),
            RoleAssignment(Role.USER_SUPERVISOR, ScopeType.OU, "ou-service"),
        ),
    ),
)
#: Lena owns the sales service (a service-owner login for the demo).
SALES_OWNER = "lena"


def _seed_people(engine: Engine) -> None:
    for login, name, ou_id, roles in PEOPLE:
        engine.upsert(
            "user",
            cfg.User(
                id=f"user-{login}",
                upn=f"{login}@demo.switchboard.test",
                display_name=name,
                ou_id=ou_id,
                roles=roles,
            ),
        )
    owner = engine.state.users[f"user-{SALES_OWNER}"]
    memberships = dict(owner.memberships)
    memberships[_sid("sales")] = cfg.Membership(_sid("sales"), role=MembershipRole.OWNER)
    engine.upsert("user", replace(owner, memberships=memberships))


def demo_logins() -> dict[str, str]:
    """Every demo username with a few words on what it shows."""
    logins = {
        "admin": "tenant admin: everything",
        "supervisor": "supervisor of Customer service (live views, agents' duty)",
        SALES_OWNER: "agent, and owner of the Sales service",
    }
    for login, _name, services, _skills in AGENTS:
        logins.setdefault(login, f"agent of {', '.join(services)}")
    return logins


def _ensure_accounts(tenancy: Tenancy, password: str) -> None:
    """One local account per demo person; created once, on the first start."""
    accounts = AccountRepository(tenancy.db, DEMO_TENANT_ID)
    hashed: str | None = None
    for login in demo_logins():
        if accounts.by_username(login) is None:
            hashed = hashed or hash_password(password)  # one hash: argon2 is slow on purpose
            accounts.create(login, hashed, user_id=f"user-{login}")


#: A progress bar: `with bar(description, total) as advance: advance(n)` (cli.progress).
ProgressBar = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]
DEMO_TENANT_NAME = "Demo contact center"


def ensure_demo(
    tenancy: Tenancy,
    *,
    history: HistoryPlan | None = None,
    progress: ProgressBar | None = None,
) -> DemoInfo:
    """Create the demo tenant unless it exists, and hand out an API key for it.

    With `history`, a new demo tenant starts with that many days of simulated
    traffic in its journal and reports (`demo_history`); an existing one is
    left as it is. `progress` shows the simulation and the projection as they go.

    With `SWITCHBOARD_DEMO_API_KEY` set, that key is used (stored on first use);
    otherwise every start issues a fresh key and prints it, so a lost key never
    locks anyone out of the demo.
    """
    services = {name: _sid(name) for name in ("front", "support", "ivr", "sales")}
    host = tenancy.hosts.get(DEMO_TENANT_ID)
    simulated: HistoryResult | None = None
    if host is None or host.engine.state.seq == 0:  # absent, or its creation was cut short
        if history is not None:
            simulated = _with_history(tenancy, history, progress)
        else:
            if host is None:
                host = tenancy.create_tenant(DEMO_TENANT_NAME, tenant_id=DEMO_TENANT_ID)
            seed(host.engine)
            assert host.journal is not None
            host.journal.append(host.engine.drain())
    password = os.environ.get(DEMO_PASSWORD_ENV) or DEMO_PASSWORD
    _ensure_accounts(tenancy, password)
    people = demo_logins()
    pinned = os.environ.get(DEMO_KEY_ENV) or None
    if pinned is not None:
        parsed = parse_api_key(pinned)
        if parsed is None:
            raise ValueError(f"{DEMO_KEY_ENV} must look like sbk_<12-character id>_<secret>")
        if ApiKeyRepository(tenancy.db, DEMO_TENANT_ID).get(parsed[0]) is not None:
            return DemoInfo(DEMO_TENANT_ID, pinned, services, people, password, simulated)
    key = issue_api_key(
        tenancy,
        DEMO_TENANT_ID,
        name="demo",
        scopes=SCOPES,
        created_by="switchboard serve --demo",
        full_key=pinned,
    )
    return DemoInfo(DEMO_TENANT_ID, key, services, people, password, simulated)


def _with_history(
    tenancy: Tenancy, plan: HistoryPlan, progress: ProgressBar | None
) -> HistoryResult:
    """The demo tenant with `plan.days` of simulated history, projected into its reports."""
    from switchboard.api.demo_history import generate_history

    bar = progress or _no_bar
    if tenancy.tenants.get(DEMO_TENANT_ID) is None:
        tenancy.tenants.create(DEMO_TENANT_NAME, id=DEMO_TENANT_ID)
    with bar(f"simulating {plan.days} days of demo history", plan.days * 1440) as advance:
        result = generate_history(
            tenancy.db, DEMO_TENANT_ID, DEMO_TENANT_NAME, plan, end=time.time(), progress=advance
        )
    with bar("projecting it into the reports", result.events) as advance:
        rebuild(tenancy.db, DEMO_TENANT_ID, progress=advance)
    tenancy.restore_tenant(DEMO_TENANT_ID)
    return result


@contextmanager
def _no_bar(_description: str, _total: int) -> Iterator[Callable[[int], None]]:
    yield lambda _n: None
