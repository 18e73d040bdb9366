"""Who may do what, and where: the roles of spec 10 §2 and the OU scoping of §3.

The permission table of the spec is kept here as data (`MATRIX`), one row per
capability that Switchboard has an endpoint for, and one function decides every
request against it (`Access.decide`). Keeping the table as data is what lets the
role × endpoint test compare the running service with a separate copy of the
spec's table cell by cell (10 R5).

Scoping rules, in short:

* A role granted on an OU covers that OU and its descendants (OU1). Inside that
  subtree the role writes; it also *reads* the entities of the ancestor OUs, so
  its people can reference them (OU2). Anything else is invisible — the API
  answers 404 exactly as for a missing id, so a sibling subtree cannot even be
  probed.
* Service roles (owner, limited owner, and the implicit agent role of every
  member) cover their services, and read what those services may reference:
  entities in the service's OU or its ancestors (OU3; the visibility rule of
  01 §2.7 guarantees every reference lies there, so this is a superset of the
  referenced entities that needs no reference walk).
* Everyone acts on tasks only as themselves ("member", row 17), and everyone may
  change their own state (presence, duty, RONA reset, ACW) — decision: the
  agent workspace needs it and the spec's row 20 only restricts *other* users.
* API keys act as a tenant admin, or an OU admin of their `ou_id`, or an owner
  of their `service_ids`, intersected with their scopes (10 K5). A key with
  `tasks:write` may act for the users inside its scope (decision: a CTI or
  presence integration drives agents' clients; a person can only act as
  themselves).

* System and partner administrators (SA, PA) stand above the tenants. Inside a
  tenant they act only once they selected it (10 R3; the API checks that a
  partner admin selects only tenants of their partner), and there their role
  covers the whole tenant. The records above the tenants — partners (row 1) and
  tenant records (row 2) — are targets with a `partner_id` and `tenant_id`: a
  system admin reaches all of them, a partner admin those of their partner, a
  tenant admin (or a tenant-wide key) only their own tenant's record.
* Granting roles (10 R2): only roles inside one's scope (the API checks the
  scope like any write) and whose rights, row by row, one holds oneself
  (`Access.may_grant`). The one exception is the system admin, who may name
  any tenant role — someone must give a new tenant its first administrator
  (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum

from switchboard.domain.config import OrganisationUnit, Service, User
from switchboard.domain.enums import MembershipRole
from switchboard.domain.roles import ROLE_LABEL, Role, RoleAssignment, ScopeType


class Capability(StrEnum):
    """The rows of 10 §2 that have endpoints, named for what they guard."""

    PARTNERS = "partners"  # row 1
    TENANT_RECORD = "tenant_record"  # row 2: the record above the tenant, its partner
    TENANT_SETTINGS = "tenant_settings"  # row 3
    PRIVACY_TOGGLES = "privacy_toggles"  # row 4: partner_may_see_* of the tenant settings
    OUS = "ous"  # row 5
    USERS = "users"  # row 6
    SERVICES = "services"  # row 8: create and delete services
    SERVICE_CONFIG = "service_config"  # row 9
    CALENDARS_WORKFLOWS = "calendars_workflows"  # row 11
    SHARED_CONFIG = "shared_config"  # row 12: skills, policies, profiles, reasons, …
    ADDRESS_BOOKS = "address_books"  # row 12 too, but keys write them with their own scope (K4)
    HANDLE_TASKS = "handle_tasks"  # row 17
    LIVE_VIEW = "live_view"  # row 18
    USER_DUTY = "user_duty"  # row 20: duty profile, active toggle, not-available
    USER_SUPERVISION = "user_supervision"  # row 20: end ACW, clear RONA
    PRESENCE = "presence"  # not in the table: the directory's feed (self or key)
    FLOW_ACTIONS = "flow_actions"  # row 21: create and steer tasks
    API_KEYS = "api_keys"  # row 22
    # Historical reporting and its OData feed follow 08 §7, not 10 §2 (10 §2 "Not in the table").
    REPORTS = "reports"  # 08 §7 row 1: sessions, session aggregates
    REPORT_USER_STATES = "report_user_states"  # 08 §7 row 2: user-state intervals, aggregates
    REPORT_DIMENSIONS = "report_dimensions"  # 08 §7 row 3: services, users, OUs, codes, …


class Mode(StrEnum):
    READ = "read"
    WRITE = "write"


class Grant(Enum):
    """A cell of the table."""

    NONE = "–"
    READ = "R"
    WRITE = "✔"
    OWN = "O"  # write, own services only
    OWN_READ = "R (own)"  # read, own services only
    MEMBER = "member"  # only as oneself


_ = Grant.NONE
R, W, OW, OR_, M = Grant.READ, Grant.WRITE, Grant.OWN, Grant.OWN_READ, Grant.MEMBER
_ROLES = (
    Role.SYSTEM_ADMIN,
    Role.PARTNER_ADMIN,
    Role.TENANT_ADMIN,
    Role.OU_ADMIN,
    Role.LIMITED_ADMIN,
    Role.SERVICE_OWNER,
    Role.SERVICE_OWNER_LIMITED,
    Role.SERVICE_SUPERVISOR,
    Role.USER_SUPERVISOR,
    Role.AGENT,
)


def _row(*cells: Grant) -> Mapping[Role, Grant]:
    return dict(zip(_ROLES, cells, strict=True))


#: 10 §2, columns SA PA TA OA LA SO SL SS US AG.
MATRIX: Mapping[Capability, Mapping[Role, Grant]] = {
    Capability.PARTNERS: _row(W, _, _, _, _, _, _, _, _, _),
    Capability.TENANT_RECORD: _row(W, R, R, _, _, _, _, _, _, _),
    Capability.TENANT_SETTINGS: _row(W, W, W, R, _, _, _, _, _, _),
    Capability.PRIVACY_TOGGLES: _row(_, _, W, _, _, _, _, _, _, _),
    Capability.OUS: _row(W, W, W, W, _, _, _, _, _, _),
    Capability.USERS: _row(W, W, W, W, _, _, _, _, _, _),
    Capability.SERVICES: _row(W, W, W, W, _, _, _, _, _, _),
    Capability.SERVICE_CONFIG: _row(W, W, W, W, _, OW, OW, R, _, OR_),
    Capability.CALENDARS_WORKFLOWS: _row(W, W, W, W, W, OW, OW, R, _, _),
    Capability.SHARED_CONFIG: _row(W, W, W, W, _, R, R, R, R, _),
    Capability.ADDRESS_BOOKS: _row(W, W, W, W, _, R, R, R, R, _),
    Capability.HANDLE_TASKS: _row(_, _, M, M, M, M, M, M, M, M),
    Capability.LIVE_VIEW: _row(W, W, W, W, _, OW, OW, W, _, OR_),
    Capability.USER_DUTY: _row(_, _, W, W, _, OW, OW, _, W, _),
    Capability.USER_SUPERVISION: _row(_, _, W, W, _, _, _, _, W, _),
    Capability.PRESENCE: _row(_, _, _, _, _, _, _, _, _, _),
    Capability.FLOW_ACTIONS: _row(W, W, W, W, _, OW, OW, _, _, _),
    Capability.API_KEYS: _row(_, _, W, W, _, _, _, _, _, _),
    # 08 §7, read only. PM4: a tenant admin reads user states only as a user supervisor.
    # SA and PA: "–" until PM2 (the tenant-admin rows while a privacy toggle is on) is built.
    Capability.REPORTS: _row(_, _, R, R, _, OR_, OR_, R, _, _),
    Capability.REPORT_USER_STATES: _row(_, _, _, _, _, _, _, _, R, _),
    Capability.REPORT_DIMENSIONS: _row(_, _, R, R, _, R, R, R, R, _),
}

#: The rows of 08 §7 (historical reporting), read only and scoped by `report_scope`.
REPORTING: frozenset[Capability] = frozenset(
    {Capability.REPORTS, Capability.REPORT_USER_STATES, Capability.REPORT_DIMENSIONS}
)

#: What a person may always do to themselves (see the module docstring).
SELF_SERVICE: frozenset[Capability] = frozenset(
    {
        Capability.HANDLE_TASKS,
        Capability.PRESENCE,
        Capability.USER_DUTY,
        Capability.USER_SUPERVISION,
    }
)
#: …and read about themselves.
SELF_READ: frozenset[Capability] = frozenset({Capability.USERS, Capability.LIVE_VIEW})

#: Write scopes that also read what they write: a connector holding only
#: `addressbooks:write` lists the books and contacts it fills (09 FA5, the
#: reference connector's "List address books" needs no other permission).
WRITE_SCOPE_ALSO_READS: Mapping[str, Capability] = {
    "addressbooks:write": Capability.ADDRESS_BOOKS,
}

#: The API-key scope (10 K4) a capability needs, per mode; None: keys never may.
KEY_SCOPES: Mapping[tuple[Capability, Mode], str | None] = {
    **{
        (cap, mode): f"config:{mode.value}"
        for cap in (
            Capability.TENANT_SETTINGS,
            Capability.OUS,
            Capability.USERS,
            Capability.SERVICES,
            Capability.SERVICE_CONFIG,
            Capability.CALENDARS_WORKFLOWS,
            Capability.SHARED_CONFIG,
        )
        for mode in Mode
    },
    (Capability.ADDRESS_BOOKS, Mode.READ): "config:read",
    (Capability.ADDRESS_BOOKS, Mode.WRITE): "addressbooks:write",
    (Capability.LIVE_VIEW, Mode.READ): "flows:read",
    (Capability.LIVE_VIEW, Mode.WRITE): None,
    **{
        (cap, mode): "tasks:write"
        for cap in (
            Capability.HANDLE_TASKS,
            Capability.PRESENCE,
            Capability.USER_DUTY,
            Capability.USER_SUPERVISION,
            Capability.FLOW_ACTIONS,
        )
        for mode in Mode
    },
    (Capability.API_KEYS, Mode.READ): None,
    (Capability.API_KEYS, Mode.WRITE): None,
    # Above the tenant: a key belongs to its tenant and reads at most its record.
    (Capability.PARTNERS, Mode.READ): None,
    (Capability.PARTNERS, Mode.WRITE): None,
    (Capability.TENANT_RECORD, Mode.READ): "config:read",
    (Capability.TENANT_RECORD, Mode.WRITE): None,
    # What partners may see of the tenant's people is a person's decision (decision).
    (Capability.PRIVACY_TOGGLES, Mode.READ): "config:read",
    (Capability.PRIVACY_TOGGLES, Mode.WRITE): None,
    **{
        (cap, mode): "reporting:read" if mode is Mode.READ else None
        for cap in (
            Capability.REPORTS,
            Capability.REPORT_USER_STATES,
            Capability.REPORT_DIMENSIONS,
        )
        for mode in Mode
    },
}


@dataclass(frozen=True, slots=True)
class Target:
    """What a request touches, as far as scoping cares.

    `ou_id` is the OU the entity lives in (for an OU being written: its parent,
    so that an OU admin manages the OUs *below* their own); `service_ids` the
    services it belongs to (a task's service, a user's memberships); `user_id`
    the person it concerns, for the self-service rules.
    """

    ou_id: str | None = None
    service_ids: frozenset[str] = frozenset()
    user_id: str | None = None
    #: A record above the tenants: the tenant it is (row 2) and the partner it belongs
    #: to (rows 1 and 2). None for what lies inside the tenant the request acts in.
    tenant_id: str | None = None
    partner_id: str | None = None


TENANT_WIDE = Target()


def tenant_record(tenant_id: str, partner_id: str) -> Target:
    """A tenant's record (row 2), as a target."""
    return Target(tenant_id=tenant_id, partner_id=partner_id)


def partner_record(partner_id: str) -> Target:
    """A partner (row 1), as a target."""
    return Target(partner_id=partner_id)


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed, or why not: `status` 403 (may not) or 404 (may not even see it)."""

    allowed: bool
    status: int = 200
    code: str = "ok"
    message: str = ""


ALLOWED = Decision(True)


@dataclass(frozen=True, slots=True)
class World:
    """The parts of the tenant's configuration that scoping reads."""

    ous: Mapping[str, OrganisationUnit]
    services: Mapping[str, Service]
    users: Mapping[str, User]

    def ancestors(self, ou_id: str) -> list[str]:
        """`ou_id`'s parents up to the root, nearest first (cycle-safe)."""
        found: list[str] = []
        current = self.ous.get(ou_id)
        while current is not None and current.parent_id and current.parent_id not in found:
            found.append(current.parent_id)
            current = self.ous.get(current.parent_id)
        return found

    def within(self, ou_id: str | None, root: str) -> bool:
        """Whether `ou_id` is `root` or below it."""
        return ou_id is not None and (ou_id == root or root in self.ancestors(ou_id))

    def above_or_at(self, ou_id: str | None, below: str) -> bool:
        """Whether `ou_id` is `below` or one of its ancestors."""
        return ou_id is not None and (ou_id == below or ou_id in self.ancestors(below))


#: A membership's owner roles are the service-owner roles on that service (01 §3, §5.3).
_OWNER_ROLES: Mapping[MembershipRole, Role] = {
    MembershipRole.OWNER: Role.SERVICE_OWNER,
    MembershipRole.OWNER_LIMITED: Role.SERVICE_OWNER_LIMITED,
}


@dataclass(frozen=True, slots=True)
class Access:
    """One principal's rights in one tenant: role assignments, self, key scopes.

    `key_scopes` is None for people; for an API key it holds the key's scopes,
    and `assignments` the role the key stands in for (10 K5).
    """

    assignments: tuple[RoleAssignment, ...]
    user_id: str | None = None
    key_scopes: frozenset[str] | None = None
    description: str = "you"
    #: The tenant the principal belongs to (tenant records: which one is "own").
    tenant_id: str | None = None

    @classmethod
    def for_system(cls, role: Role, partner_id: str | None = None) -> Access:
        """A system account: a system admin, or a partner admin of `partner_id`."""
        if role is Role.SYSTEM_ADMIN:
            assignment = RoleAssignment(Role.SYSTEM_ADMIN, ScopeType.SYSTEM)
        elif role is Role.PARTNER_ADMIN and partner_id is not None:
            assignment = RoleAssignment(Role.PARTNER_ADMIN, ScopeType.PARTNER, partner_id)
        else:
            raise ValueError(f"not a system role with its scope: {role!r}, {partner_id!r}")
        return cls(assignments=(assignment,), description=ROLE_LABEL[role])

    @classmethod
    def for_user(cls, user: User, tenant_id: str | None = None) -> Access:
        owned = tuple(
            RoleAssignment(_OWNER_ROLES[m.role], ScopeType.SERVICE, m.service_id)
            for m in user.memberships.values()
            if m.role in _OWNER_ROLES
        )
        member = tuple(
            RoleAssignment(Role.AGENT, ScopeType.SERVICE, service_id)
            for service_id in user.memberships
        )
        return cls(
            assignments=tuple(user.roles) + owned + member,
            user_id=user.id,
            description=f"user {user.display_name}",
            tenant_id=tenant_id,
        )

    @classmethod
    def for_api_key(
        cls,
        scopes: Iterable[str],
        ou_id: str | None = None,
        service_ids: Iterable[str] | None = None,
        key_id: str = "",
        tenant_id: str | None = None,
    ) -> Access:
        if service_ids is not None:
            stands_for = tuple(
                RoleAssignment(Role.SERVICE_OWNER, ScopeType.SERVICE, s) for s in service_ids
            )
        elif ou_id is not None:
            stands_for = (RoleAssignment(Role.OU_ADMIN, ScopeType.OU, ou_id),)
        else:
            stands_for = (RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT),)
        return cls(
            assignments=stands_for,
            key_scopes=frozenset(scopes),
            description=f"API key {key_id}".strip(),
            tenant_id=tenant_id,
        )

    # ------------------------------------------------------------------ decisions

    def _reads_what_it_writes(self, capability: Capability, mode: Mode) -> bool:
        return mode is Mode.READ and any(
            WRITE_SCOPE_ALSO_READS.get(scope) is capability for scope in self.key_scopes or ()
        )

    def may_at_all(self, capability: Capability, mode: Mode) -> Decision:
        """The coarse check: could this principal do `capability` anywhere?"""
        if self.key_scopes is not None:
            scope = KEY_SCOPES[(capability, mode)]
            if scope is None:
                return Decision(
                    False,
                    403,
                    "not_for_api_keys",
                    "API keys cannot do this; sign in as a person with the right role.",
                )
            if scope not in self.key_scopes and not self._reads_what_it_writes(capability, mode):
                return Decision(
                    False,
                    403,
                    "missing_scope",
                    f"This credential lacks the '{scope}' permission this request needs.",
                )
            return ALLOWED
        if self.user_id is not None and (
            capability in SELF_SERVICE or (mode is Mode.READ and capability in SELF_READ)
        ):
            return ALLOWED  # the target decides whether it is oneself
        grants = {self._grant(a, capability) for a in self.assignments}
        writes = bool(grants & {Grant.WRITE, Grant.OWN})
        reads = writes or bool(grants & {Grant.READ, Grant.OWN_READ})
        if writes or (mode is Mode.READ and reads):
            return ALLOWED
        return Decision(False, 403, "missing_permission", _no_role(capability, mode))

    def decide(self, capability: Capability, mode: Mode, target: Target, world: World) -> Decision:
        """Allowed, 403 (visible but not permitted) or 404 (not visible)."""
        coarse = self.may_at_all(capability, mode)
        if not coarse.allowed:
            return coarse
        if self._covers(capability, mode, target, world):
            return ALLOWED
        if mode is Mode.WRITE and self._covers(capability, Mode.READ, target, world):
            return Decision(
                False,
                403,
                "outside_scope",
                f"{self.description.capitalize()} may see this but not change it: "
                "it lies outside the OUs or services your roles cover.",
            )
        if capability is Capability.HANDLE_TASKS and self.key_scopes is None:
            return Decision(
                False,
                403,
                "not_a_member",
                "You can only act on tasks as yourself, and only on tasks of services "
                "you are a member of.",
            )
        return Decision(False, 404, "not_visible", "Not found.")

    def sees(self, capability: Capability, target: Target, world: World) -> bool:
        """For lists: whether an item belongs in this principal's answer (OU5)."""
        return self.decide(capability, Mode.READ, target, world).allowed

    @property
    def is_system(self) -> bool:
        """A system or partner admin (10 §6: what they see of people is masked)."""
        return any(a.scope_type in _ABOVE_TENANTS for a in self.assignments)

    def may_grant(self, role: Role) -> bool:
        """10 R2, the rights half: whether `role`'s rights are, row by row, a subset of
        this principal's (acting as oneself, "member", is no right over others and is
        left out). The system admin may grant every tenant role (decision)."""
        if any(a.role is Role.SYSTEM_ADMIN for a in self.assignments):
            return True
        for capability, grants in MATRIX.items():
            if capability in REPORTING:
                continue  # 08 §7 rights follow the role granted; PM4: TA may grant US
            wanted = grants[role]
            if wanted in (Grant.NONE, Grant.MEMBER):
                continue
            held = {self._grant(a, capability) for a in self.assignments}
            if not any(wanted in _COVERS[h] for h in held):
                return False
        return True

    def may_read_reports(self, capability: Capability) -> Decision:
        """Whether this principal reads any rows of a reporting row of 08 §7.

        Stricter than `may_at_all` for keys: a key stands for a tenant admin (K5),
        and a tenant admin reads no user states (PM4), whatever the key's scopes.
        """
        coarse = self.may_at_all(capability, Mode.READ)
        if not coarse.allowed:
            return coarse
        if any(self._grant(a, capability) is not Grant.NONE for a in self.assignments):
            return ALLOWED
        if self.key_scopes is not None:
            return Decision(
                False,
                403,
                "missing_permission",
                "API keys act as a tenant admin, who reads user states only with the "
                "user supervisor role (08 §7); sign in as a user supervisor instead.",
            )
        return Decision(False, 403, "missing_permission", _no_role(capability, Mode.READ))

    def report_scope(self, capability: Capability, world: World) -> frozenset[str] | None:
        """The rows of historical reporting this principal reads (08 §7, PM1; 10 OU5).

        For `REPORTS` the ids of the services whose sessions and aggregates are in
        scope, for `REPORT_USER_STATES` the ids of the users whose state rows are;
        None means the whole tenant. Reporting rows follow the OU *subtree* of an OU
        role (08 §7 "OU subtree"), not the ancestor reads of configuration (OU2):
        an OU admin does not read the sessions of the services above their OU. Only
        current services and users are placed; rows of removed ones are read
        tenant-wide only. The coarse check (`may_at_all`) comes first.
        """
        if capability not in (Capability.REPORTS, Capability.REPORT_USER_STATES):
            raise ValueError(f"{capability} is not scoped by report_scope")
        users = capability is Capability.REPORT_USER_STATES
        found: set[str] = set()
        for assignment in self.assignments:
            if self._grant(assignment, capability) in (Grant.NONE, Grant.MEMBER):
                continue
            scope = assignment.scope_id
            if assignment.scope_type is ScopeType.TENANT:
                return None
            if assignment.scope_type is ScopeType.OU and scope is not None:
                placed: Mapping[str, User | Service] = world.users if users else world.services
                found.update(i for i, e in placed.items() if world.within(e.ou_id, scope))
            elif assignment.scope_type is ScopeType.SERVICE and scope is not None and not users:
                found.add(scope)
        return frozenset(found)

    # ------------------------------------------------------------------ scoping

    def _grant(self, assignment: RoleAssignment, capability: Capability) -> Grant:
        grant = MATRIX[capability][assignment.role]
        if self.key_scopes is not None and capability in (
            Capability.HANDLE_TASKS,
            Capability.PRESENCE,
        ):
            return Grant.WRITE  # a key acts for the users in its scope (decision)
        return grant

    def _covers(self, capability: Capability, mode: Mode, target: Target, world: World) -> bool:
        if self.user_id is not None and target.user_id == self.user_id:
            if capability is Capability.HANDLE_TASKS:
                # "member" (row 17): as oneself, on tasks of one's own services.
                members_of = {a.scope_id for a in self.assignments if a.role is Role.AGENT}
                return not target.service_ids or bool(target.service_ids & members_of)
            if capability in SELF_SERVICE or (mode is Mode.READ and capability in SELF_READ):
                return True
        if capability is Capability.CALENDARS_WORKFLOWS and mode is Mode.WRITE:
            # An owner edits a calendar or workflow only while *only* their services use it.
            own = {
                a.scope_id
                for a in self.assignments
                if a.scope_type is ScopeType.SERVICE and self._grant(a, capability) is Grant.OWN
            }
            if target.service_ids and target.service_ids <= own:
                return True
            # An unused one (a new calendar, say) in the OU of one of their services.
            own_ous = {
                world.services[s].ou_id for s in own if s is not None and s in world.services
            }
            if not target.service_ids and target.ou_id in own_ous:
                return True
            return any(
                self._assignment_covers(a, self._grant(a, capability), mode, target, world)
                for a in self.assignments
                if a.scope_type is not ScopeType.SERVICE
            )
        return any(
            self._assignment_covers(a, self._grant(a, capability), mode, target, world)
            for a in self.assignments
        )

    def _assignment_covers(
        self,
        assignment: RoleAssignment,
        grant: Grant,
        mode: Mode,
        target: Target,
        world: World,
    ) -> bool:
        if grant is Grant.NONE or grant is Grant.MEMBER:
            return False
        if mode is Mode.WRITE and grant not in (Grant.WRITE, Grant.OWN):
            return False
        scope = assignment.scope_id
        if assignment.scope_type is ScopeType.SYSTEM:
            return True
        if assignment.scope_type is ScopeType.PARTNER:
            # Inside a tenant it selected (checked against the partner when selected),
            # or a record of its partner.
            return target.partner_id is None or target.partner_id == scope
        if target.tenant_id is not None or target.partner_id is not None:
            # A record above the tenants: a tenant-wide role reaches its own tenant's.
            return (
                assignment.scope_type is ScopeType.TENANT
                and target.tenant_id is not None
                and target.tenant_id == self.tenant_id
            )
        if assignment.scope_type is ScopeType.TENANT:
            return True
        if assignment.scope_type is ScopeType.OU:
            assert scope is not None
            if world.within(target.ou_id, scope):
                return True
            return mode is Mode.READ and world.above_or_at(target.ou_id, scope)
        # A service scope: the service itself, and for reading, what it may reference.
        assert scope is not None
        if scope in target.service_ids:
            return True
        if mode is Mode.WRITE or target.service_ids:
            return False  # another service's entity, or not one this service may reference
        service = world.services.get(scope)
        return service is not None and world.above_or_at(target.ou_id, service.ou_id)


_ABOVE_TENANTS = frozenset({ScopeType.SYSTEM, ScopeType.PARTNER})

#: Which cells a cell includes, for comparing rights (`Access.may_grant`).
_COVERS: Mapping[Grant, frozenset[Grant]] = {
    Grant.WRITE: frozenset({Grant.WRITE, Grant.OWN, Grant.READ, Grant.OWN_READ}),
    Grant.OWN: frozenset({Grant.OWN, Grant.OWN_READ}),
    Grant.READ: frozenset({Grant.READ, Grant.OWN_READ}),
    Grant.OWN_READ: frozenset({Grant.OWN_READ}),
    Grant.MEMBER: frozenset(),
    Grant.NONE: frozenset(),
}


def _no_role(capability: Capability, mode: Mode) -> str:
    allowed = [
        ROLE_LABEL[role]
        for role, grant in MATRIX[capability].items()
        if grant is not Grant.NONE
        and (mode is Mode.READ or grant in (Grant.WRITE, Grant.OWN))
        and role is not Role.AGENT
    ]
    what = capability.value.replace("_", " ")
    verb = "read" if mode is Mode.READ else "change"
    if not allowed:
        return f"None of your roles lets you {verb} {what}."
    return f"None of your roles lets you {verb} {what}; that needs: {', '.join(allowed)}."
