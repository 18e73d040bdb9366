"""The kinds the admin screens edit: labels, list columns, and the generic forms' fields."""

from __future__ import annotations

from typing import Any

from switchboard.web.admin.core import AdminKind, Column, Field, Names


def _text(path: str) -> Any:
    def show(row: dict[str, Any], names: Names) -> str:
        value = row.get(path)
        return "" if value is None else str(value)

    return show


def _ou(row: dict[str, Any], names: Names) -> str:
    return names.ous.get(row.get("ou_id") or row.get("parent_id") or "", "")


def _flag(path: str) -> Any:
    def show(row: dict[str, Any], names: Names) -> str:
        return "yes" if row.get(path) else "no"

    return show


def _ref(kind: str, path: str) -> Any:
    def show(row: dict[str, Any], names: Names) -> str:
        return names.of(kind, row.get(path))

    return show


def _count(path: str, one: str, many: str) -> Any:
    def show(row: dict[str, Any], names: Names) -> str:
        n = len(row.get(path) or ())
        return f"{n} {one if n == 1 else many}"

    return show


def _modalities(row: dict[str, Any], names: Names) -> str:
    return ", ".join(m.replace("_", " ") for m in row.get("enabled_modalities") or ())


def _roles(row: dict[str, Any], names: Names) -> str:
    return ", ".join(str(r.get("role", "")).replace("_", " ") for r in row.get("roles") or ())


def _services_of(row: dict[str, Any], names: Names) -> str:
    return ", ".join(names.of("service", s) for s in (row.get("memberships") or {}))


def _workflow_kind(row: dict[str, Any], names: Names) -> str:
    return f"{row.get('modality', '')} {row.get('direction', '')}".replace("_", " ")


def _workflow_status(row: dict[str, Any], names: Names) -> str:
    return f"{row.get('status', '')}, version {row.get('version', '')}"


#: The columns and fields most kinds share.
OU = Column("OU", _ou)
NAMED = Column("Name", _text("name"))
ON_OFF = Column("Enabled", _flag("enabled"), "flag")
NAME = Field("name", "Name", required=True)
IN_OU = Field(
    "ou_id",
    "Organisation unit",
    widget="select",
    options="ous",
    hint="Who may see and change it follows the OU: its admins and those above.",
)
ENABLED = Field(
    "enabled", "Enabled", widget="check", type="bool", hint="Disabled ones cannot be picked."
)

SERVICES = AdminKind(
    key="services",
    name="service",
    singular="service",
    plural="Services",
    group="Services",
    description="Numbers and addresses callers reach, who answers them and how.",
    columns=(
        NAMED,
        Column("Address", _text("upn")),
        Column("Phone number", _text("pstn_number")),
        Column("Channels", _modalities),
        ON_OFF,
        OU,
    ),
    template="admin/service.html",
    needs=("ous", "policies", "calendars", "workflows", "codes", "tags"),
)

WORKFLOWS = AdminKind(
    key="workflows",
    name="workflow",
    singular="workflow",
    plural="Workflows",
    group="Services",
    description="What a call or chat goes through before an agent: menus, messages, queues.",
    columns=(
        NAMED,
        Column("Kind", _workflow_kind),
        Column("Status", _workflow_status),
        OU,
    ),
    template="admin/workflow.html",
)

CALENDARS = AdminKind(
    key="calendars",
    name="calendar",
    singular="opening-hours calendar",
    plural="Opening hours",
    group="Services",
    description="When services are open: weekly hours, date ranges, public holidays.",
    columns=(
        NAMED,
        Column("Time zone", lambda row, n: row.get("time_zone") or "the tenant's"),
        Column("When no period applies", lambda row, n: str(row.get("default_state", ""))),
        Column("Periods", _count("periods", "period", "periods")),
        OU,
    ),
    template="admin/calendar.html",
)

POLICIES = AdminKind(
    key="distribution-policies",
    name="policy",
    singular="distribution policy",
    plural="Distribution policies",
    group="Routing",
    description="Which skills a task needs, level by level, the longer it waits.",
    columns=(
        NAMED,
        Column("Levels", _count("levels", "level", "levels")),
        OU,
    ),
    template="admin/policy.html",
    needs=("ous", "skills"),
)

SKILLS = AdminKind(
    key="skills",
    name="skill",
    singular="skill",
    plural="Skills",
    group="Routing",
    description="What agents can do (a language, a product); each belongs to a category.",
    columns=(
        NAMED,
        Column("Category", _ref("skill_category", "category_id")),
        OU,
    ),
    fields=(
        NAME,
        Field(
            "category_id",
            "Category",
            widget="select",
            options="categories",
            required=True,
            hint="The category decides whether the skill has levels and responsibility.",
        ),
        IN_OU,
    ),
    needs=("ous", "categories"),
)

CATEGORIES = AdminKind(
    key="skill-categories",
    name="skill_category",
    singular="skill category",
    plural="Skill categories",
    group="Routing",
    description="Groups of skills, with the levels their skills are graded in.",
    columns=(
        NAMED,
        Column("Levels", _flag("levelled"), "flag"),
        Column("Responsibility", _flag("responsibility_enabled"), "flag"),
        OU,
    ),
    template="admin/category.html",
)

PROFILES = AdminKind(
    key="duty-profiles",
    name="profile",
    singular="duty profile",
    plural="Duty profiles",
    group="Routing",
    description="Which of their skills agents work with while the profile is on.",
    columns=(
        NAMED,
        Column("Kind", lambda row, n: str(row.get("kind", "")).replace("_", " ")),
        Column("Skills", _count("entries", "skill", "skills")),
        OU,
    ),
    template="admin/profile.html",
    needs=("ous", "skills"),
)

USERS = AdminKind(
    key="users",
    name="user",
    singular="user",
    plural="Users",
    group="People",
    description="Agents and administrators: their services, skills and roles.",
    columns=(
        Column("Name", _text("display_name")),
        Column("Sign-in name", _text("upn")),
        Column("Services", _services_of),
        Column("Roles", _roles),
        ON_OFF,
        OU,
    ),
    template="admin/user.html",
    needs=("ous", "all_ous", "services", "skills", "profiles", "reasons"),
    keyed_rows=("memberships", "skills"),
)

REASONS = AdminKind(
    key="not-available-reasons",
    name="not_available_reason",
    singular="not-available reason",
    plural="Not-available reasons",
    group="People",
    description="What agents pick when they step away: break, training, lunch.",
    columns=(NAMED, ON_OFF, OU),
    fields=(NAME, ENABLED, IN_OU),
)

OUS = AdminKind(
    key="ous",
    name="ou",
    singular="organisation unit",
    plural="Organisation units",
    group="People",
    description="The tree that decides who administers what.",
    columns=(NAMED, Column("Inside", _ou)),
    fields=(
        NAME,
        Field(
            "parent_id",
            "Inside",
            widget="select",
            options="ous",
            required=True,
            hint="The OU above this one; its admins administer this one too.",
        ),
    ),
)

CODES = AdminKind(
    key="codes",
    name="code",
    singular="code",
    plural="Codes",
    group="Work data",
    description="Outcomes agents record for a session (solved, call back, …).",
    columns=(
        NAMED,
        Column("Short code", _text("short_code")),
        ON_OFF,
        OU,
    ),
    fields=(
        NAME,
        Field(
            "short_code",
            "Short code",
            required=True,
            hint="Up to 16 characters, unique; shown in reports.",
        ),
        ENABLED,
        IN_OU,
    ),
)

TAGS = AdminKind(
    key="tags",
    name="tag",
    singular="tag",
    plural="Tags",
    group="Work data",
    description="Labels agents add to a session (complaint, VIP, …).",
    columns=(NAMED, ON_OFF, OU),
    fields=(NAME, ENABLED, IN_OU),
)

PARAMETERS = AdminKind(
    key="parameters",
    name="parameter",
    singular="parameter",
    plural="Parameters",
    group="Work data",
    description="Named values workflows set and read, shown to agents if you wish.",
    columns=(
        Column("Id", _text("id")),
        NAMED,
        Column("Default value", _text("default_value")),
        Column("Shown to agents", _flag("show_to_users"), "flag"),
        OU,
    ),
    fields=(
        Field(
            "id",
            "Id",
            required=True,
            create_only=True,
            hint="How workflows name it, e.g. customer_tier: a letter, then letters, digits "
            "or _. It cannot change later.",
        ),
        NAME,
        Field("default_value", "Default value", widget="textarea", wide=True),
        Field("description", "Description", widget="textarea", wide=True),
        Field(
            "show_to_users",
            "Show to agents",
            widget="check",
            type="bool",
            hint="Agents see its value in the session details.",
        ),
        IN_OU,
    ),
)

#: Every kind with admin screens, in the order of the admin menu.
ADMIN_KINDS: tuple[AdminKind, ...] = (
    SERVICES,
    WORKFLOWS,
    CALENDARS,
    POLICIES,
    SKILLS,
    CATEGORIES,
    PROFILES,
    USERS,
    REASONS,
    OUS,
    CODES,
    TAGS,
    PARAMETERS,
)
BY_KEY = {k.key: k for k in ADMIN_KINDS}
GROUPS = ("Services", "Routing", "People", "Work data", "Access")
