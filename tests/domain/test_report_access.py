"""Who reads which rows of historical reporting (08 §7, PM1, PM4; 10 OU5, K3-K5)."""

from __future__ import annotations

from switchboard.domain.access import Access, Capability, Mode, World
from switchboard.domain.config import Membership, OrganisationUnit, Service, User
from switchboard.domain.enums import AssignmentType, MembershipRole
from switchboard.domain.roles import Role, RoleAssignment, ScopeType

OUS = {
    "root": OrganisationUnit("root", "Root"),
    "a": OrganisationUnit("a", "A", parent_id="root"),
    "a1": OrganisationUnit("a1", "A1", parent_id="a"),
    "b": OrganisationUnit("b", "B", parent_id="root"),
}


def _service(sid: str, ou: str) -> Service:
    return Service(
        id=sid, name=sid, upn=f"{sid}@x.test", ou_id=ou,
        user_assignment_type=AssignmentType.TEAMS_BASED,
    )  # fmt: skip


SERVICES = {
    s.id: s
    for s in (
        _service("svc-root", "root"),
        _service("svc-a", "a"),
        _service("svc-a1", "a1"),
        _service("svc-b", "b"),
    )
}
USERS = {
    u: User(id=u, upn=f"{u}@x.test", display_name=u, ou_id=ou)
    for u, ou in (("u-root", "root"), ("u-a1", "a1"), ("u-b", "b"))
}
WORLD = World(ous=OUS, services=SERVICES, users=USERS)
SESSIONS, STATES, DIMENSIONS = (
    Capability.REPORTS,
    Capability.REPORT_USER_STATES,
    Capability.REPORT_DIMENSIONS,
)


def person(*roles: RoleAssignment, member_of: dict[str, MembershipRole] | None = None) -> Access:
    memberships = {s: Membership(s, role=r) for s, r in (member_of or {}).items()}
    user = User(id="me", upn="me@x.test", display_name="Me", roles=roles, memberships=memberships)
    return Access.for_user(user)


def on_ou(role: Role, ou: str = "a") -> Access:
    return person(RoleAssignment(role, ScopeType.OU, ou))


def reads(access: Access, capability: Capability) -> bool:
    return access.may_read_reports(capability).allowed


def test_granting_roles_ignores_the_reporting_rows() -> None:
    """PM4: a tenant admin may make anyone (themselves too) a user supervisor, although
    the user supervisor reads user states and the tenant admin does not."""
    tenant_admin = person(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT))
    assert tenant_admin.may_grant(Role.USER_SUPERVISOR)
    assert on_ou(Role.OU_ADMIN).may_grant(Role.USER_SUPERVISOR)


def test_the_rows_of_the_matrix_per_role() -> None:
    tenant_admin = person(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT))
    owner = person(member_of={"svc-a": MembershipRole.OWNER})
    agent = person(member_of={"svc-a": MembershipRole.AGENT})
    table = {
        "TA": tenant_admin,
        "OA": on_ou(Role.OU_ADMIN),
        "LA": on_ou(Role.LIMITED_ADMIN),
        "SO": owner,
        "SS": on_ou(Role.SERVICE_SUPERVISOR),
        "US": on_ou(Role.USER_SUPERVISOR),
        "AG": agent,
    }
    got = {
        name: tuple(reads(a, c) for c in (SESSIONS, STATES, DIMENSIONS))
        for name, a in table.items()
    }
    assert got == {
        "TA": (True, False, True),  # PM4: user states only as a user supervisor
        "OA": (True, False, True),
        "LA": (False, False, False),
        "SO": (True, False, True),
        "SS": (True, False, True),
        "US": (False, True, True),
        "AG": (False, False, False),
    }
    for access in table.values():
        for capability in (SESSIONS, STATES, DIMENSIONS):
            assert not access.may_at_all(capability, Mode.WRITE).allowed


def test_session_rows_follow_the_ou_subtree_not_its_ancestors() -> None:
    assert (
        person(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT)).report_scope(SESSIONS, WORLD)
        is None
    )
    # Configuration of the root OU is readable to an OU admin of "a" (OU2); its sessions not.
    assert on_ou(Role.OU_ADMIN).report_scope(SESSIONS, WORLD) == frozenset({"svc-a", "svc-a1"})
    assert on_ou(Role.SERVICE_SUPERVISOR, "a1").report_scope(SESSIONS, WORLD) == frozenset(
        {"svc-a1"}
    )
    owner = person(member_of={"svc-b": MembershipRole.OWNER_LIMITED, "svc-a": MembershipRole.AGENT})
    assert owner.report_scope(SESSIONS, WORLD) == frozenset({"svc-b"})  # membership alone: nothing


def test_user_state_rows_follow_the_user_supervisors_subtree() -> None:
    assert on_ou(Role.USER_SUPERVISOR).report_scope(STATES, WORLD) == frozenset({"u-a1"})
    assert on_ou(Role.USER_SUPERVISOR, "root").report_scope(STATES, WORLD) == frozenset(
        {"u-root", "u-a1", "u-b"}
    )
    assert on_ou(Role.OU_ADMIN).report_scope(STATES, WORLD) == frozenset()


def test_keys_need_reporting_read_and_stand_for_their_scope() -> None:
    tenant_key = Access.for_api_key(["reporting:read"], key_id="k1")
    assert reads(tenant_key, SESSIONS) and reads(tenant_key, DIMENSIONS)
    assert tenant_key.report_scope(SESSIONS, WORLD) is None
    # A key stands for a tenant admin (K5), who reads no user states (PM4).
    refused = tenant_key.may_read_reports(STATES)
    assert (refused.status, refused.code) == (403, "missing_permission")
    ou_key = Access.for_api_key(["reporting:read"], ou_id="a", key_id="k2")
    assert ou_key.report_scope(SESSIONS, WORLD) == frozenset({"svc-a", "svc-a1"})
    service_key = Access.for_api_key(["reporting:read"], service_ids=["svc-b"], key_id="k3")
    assert service_key.report_scope(SESSIONS, WORLD) == frozenset({"svc-b"})
    config_key = Access.for_api_key(["config:read", "flows:read"], key_id="k4")
    refused = config_key.may_read_reports(SESSIONS)
    assert (refused.status, refused.code) == (403, "missing_scope")
    assert "reporting:read" in refused.message
