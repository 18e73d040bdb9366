"""The permission decisions of `domain.access`, case by case (the API's matrix test
covers every route; these pin the scoping rules themselves)."""

from __future__ import annotations

import pytest

from switchboard.domain.access import (
    Access,
    Capability,
    Mode,
    Target,
    World,
    partner_record,
    tenant_record,
)
from switchboard.domain.config import Membership, OrganisationUnit, Service, User
from switchboard.domain.enums import AssignmentType, MembershipRole
from switchboard.domain.roles import Role, RoleAssignment, ScopeType

R, W = Mode.READ, Mode.WRITE
ABOVE_THE_TENANT = (Capability.PARTNERS, Capability.TENANT_RECORD)
REPORTING = (Capability.REPORTS, Capability.REPORT_USER_STATES, Capability.REPORT_DIMENSIONS)

OUS = {
    "root": OrganisationUnit("root", "Root"),
    "a": OrganisationUnit("a", "A", parent_id="root"),
    "a1": OrganisationUnit("a1", "A1", parent_id="a"),
    "b": OrganisationUnit("b", "B", parent_id="root"),
}
SERVICES = {
    "svc-a": Service(
        id="svc-a",
        name="A",
        upn="a@x.test",
        ou_id="a",
        user_assignment_type=AssignmentType.TEAMS_BASED,
    ),
    "svc-b": Service(
        id="svc-b",
        name="B",
        upn="b@x.test",
        ou_id="b",
        user_assignment_type=AssignmentType.TEAMS_BASED,
    ),
}
WORLD = World(ous=OUS, services=SERVICES, users={})


def person(*roles: RoleAssignment, member_of: dict[str, MembershipRole] | None = None) -> Access:
    memberships = {s: Membership(s, role=r) for s, r in (member_of or {}).items()}
    user = User(id="me", upn="me@x.test", display_name="Me", roles=roles, memberships=memberships)
    return Access.for_user(user)


def status(access: Access, capability: Capability, mode: Mode, target: Target) -> int:
    decision = access.decide(capability, mode, target, WORLD)
    return 200 if decision.allowed else decision.status


def test_the_ou_tree_answers_ancestry_without_looping() -> None:
    assert WORLD.ancestors("a1") == ["a", "root"]
    assert WORLD.within("a1", "a") and not WORLD.within("b", "a")
    assert WORLD.above_or_at("root", "a1") and not WORLD.above_or_at("a1", "a")
    looped = World(
        ous={"x": OrganisationUnit("x", "X", parent_id="y"), "y": OrganisationUnit("y", "Y", "x")},
        services={},
        users={},
    )
    assert looped.ancestors("x") == ["y", "x"]  # stops instead of spinning


def test_an_ou_admin_writes_below_reads_above_and_cannot_see_siblings() -> None:
    admin = person(RoleAssignment(Role.OU_ADMIN, ScopeType.OU, "a"))
    shared = Capability.SHARED_CONFIG
    assert status(admin, shared, W, Target(ou_id="a1")) == 200
    assert status(admin, shared, R, Target(ou_id="root")) == 200  # ancestors: to reference them
    assert status(admin, shared, W, Target(ou_id="root")) == 403  # …but not to change them
    assert status(admin, shared, R, Target(ou_id="b")) == 404  # a sibling subtree is invisible
    assert status(admin, Capability.USERS, W, Target()) == 404  # tenant-wide: not theirs


def test_a_limited_admin_has_calendars_only() -> None:
    limited = person(RoleAssignment(Role.LIMITED_ADMIN, ScopeType.OU, "a"))
    assert status(limited, Capability.CALENDARS_WORKFLOWS, W, Target(ou_id="a")) == 200
    refused = limited.decide(Capability.SHARED_CONFIG, R, Target(ou_id="a"), WORLD)
    assert (refused.status, refused.code) == (403, "missing_permission")
    assert "that needs" in refused.message  # names the roles that would do


def test_service_roles_cover_their_service_and_read_what_it_may_reference() -> None:
    owner = person(member_of={"svc-a": MembershipRole.OWNER})
    own, other = frozenset({"svc-a"}), frozenset({"svc-b"})
    assert status(owner, Capability.SERVICE_CONFIG, W, Target("a", own)) == 200
    assert status(owner, Capability.SERVICE_CONFIG, R, Target("b", other)) == 404
    assert status(owner, Capability.SHARED_CONFIG, R, Target(ou_id="root")) == 200
    assert status(owner, Capability.SHARED_CONFIG, R, Target(ou_id="a1")) == 404  # below: no
    assert status(owner, Capability.SHARED_CONFIG, W, Target(ou_id="a")) == 403


def test_an_owner_edits_a_calendar_only_while_only_their_services_use_it() -> None:
    owner = person(member_of={"svc-a": MembershipRole.OWNER_LIMITED})
    cal = Capability.CALENDARS_WORKFLOWS
    assert status(owner, cal, W, Target("a", frozenset({"svc-a"}))) == 200
    assert status(owner, cal, W, Target("a", frozenset({"svc-a", "svc-b"}))) != 200
    assert status(owner, cal, W, Target("a")) == 200  # a new one in their service's OU
    assert status(owner, cal, W, Target("root")) != 200  # …not elsewhere


def test_people_act_on_tasks_as_themselves_on_their_services_only() -> None:
    agent = person(member_of={"svc-a": MembershipRole.AGENT})
    handle = Capability.HANDLE_TASKS
    assert status(agent, handle, W, Target("a", frozenset({"svc-a"}), user_id="me")) == 200
    assert status(agent, handle, W, Target("b", frozenset({"svc-b"}), user_id="me")) == 403
    assert status(agent, handle, W, Target("a", frozenset({"svc-a"}), user_id="other")) == 403
    # …and change their own state, which row 20 restricts only for others
    assert status(agent, Capability.USER_SUPERVISION, W, Target("a", user_id="me")) == 200
    # another user's state is not theirs even to see through this capability
    assert status(agent, Capability.USER_SUPERVISION, W, Target("a", user_id="other")) == 404


def test_a_key_is_its_scope_admin_intersected_with_its_scopes() -> None:
    key = Access.for_api_key(["config:read", "tasks:write"], ou_id="a", key_id="k1")
    assert status(key, Capability.SHARED_CONFIG, R, Target(ou_id="a1")) == 200
    missing = key.decide(Capability.SHARED_CONFIG, W, Target(ou_id="a1"), WORLD)
    assert (missing.status, missing.code) == (403, "missing_scope")
    assert key.decide(Capability.API_KEYS, R, Target(), WORLD).code == "not_for_api_keys"
    # it may act for users inside its scope (an integration), not outside
    assert status(key, Capability.PRESENCE, W, Target("a1", user_id="u")) == 200
    assert status(key, Capability.PRESENCE, W, Target("b", user_id="u")) == 404


def test_an_address_book_connector_key_reads_the_books_it_writes_and_nothing_else() -> None:
    connector = Access.for_api_key(["addressbooks:write"], ou_id="a", key_id="k2")
    assert status(connector, Capability.ADDRESS_BOOKS, R, Target(ou_id="a1")) == 200
    assert status(connector, Capability.ADDRESS_BOOKS, W, Target(ou_id="a1")) == 200
    other = connector.decide(Capability.SHARED_CONFIG, R, Target(ou_id="a1"), WORLD)
    assert (other.status, other.code) == (403, "missing_scope")
    # reading does not imply writing: a config:read key still cannot fill a book
    reader = Access.for_api_key(["config:read"], ou_id="a", key_id="k3")
    assert reader.decide(Capability.ADDRESS_BOOKS, W, Target(ou_id="a1"), WORLD).code == (
        "missing_scope"
    )


def test_a_tenant_admin_reaches_everything_but_presence_of_others() -> None:
    admin = person(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT))
    for capability in Capability:
        if capability in (Capability.PRESENCE, Capability.HANDLE_TASKS, *ABOVE_THE_TENANT):
            continue
        if capability in REPORTING:
            continue  # 08 §7: read-only rows, tested in test_report_access.py
        assert status(admin, capability, W, Target(ou_id="b")) == 200, capability
    assert status(admin, Capability.PRESENCE, W, Target("b", user_id="other")) == 404


# ---------------------------------------------------------------------- above the tenants

SA = Access.for_system(Role.SYSTEM_ADMIN)
PA = Access.for_system(Role.PARTNER_ADMIN, "partner-1")
OWN_TENANT = tenant_record("tenant-1", "partner-1")
OTHER_PARTNERS_TENANT = tenant_record("tenant-9", "partner-9")


def test_a_system_admin_reaches_partners_every_tenant_record_and_a_selected_tenant() -> None:
    assert status(SA, Capability.PARTNERS, W, partner_record("partner-9")) == 200
    assert status(SA, Capability.TENANT_RECORD, W, OTHER_PARTNERS_TENANT) == 200
    for capability in (Capability.USERS, Capability.SERVICES, Capability.FLOW_ACTIONS):
        assert status(SA, capability, W, Target(ou_id="b")) == 200, capability
    assert SA.is_system and PA.is_system


def test_system_and_partner_admins_have_no_tenant_only_rights() -> None:
    """Row 4 (a partner must not unlock itself), rows 17, 20, 22: none for SA and PA."""
    for admin in (SA, PA):
        for capability in (
            Capability.PRIVACY_TOGGLES,
            Capability.HANDLE_TASKS,
            Capability.USER_DUTY,
            Capability.USER_SUPERVISION,
            Capability.API_KEYS,
        ):
            refused = admin.decide(capability, W, Target(ou_id="a"), WORLD)
            assert (refused.status, refused.code) == (403, "missing_permission"), capability


def test_a_partner_admin_reads_its_partners_tenant_records_only() -> None:
    assert status(PA, Capability.TENANT_RECORD, R, OWN_TENANT) == 200
    assert status(PA, Capability.TENANT_RECORD, W, OWN_TENANT) == 403  # row 2: R
    assert status(PA, Capability.TENANT_RECORD, R, OTHER_PARTNERS_TENANT) == 404
    assert status(PA, Capability.PARTNERS, R, partner_record("partner-1")) == 403  # row 1: –
    # inside the tenant it selected, its role covers the tenant
    assert status(PA, Capability.SHARED_CONFIG, W, Target(ou_id="a1")) == 200


def test_a_tenant_admin_reads_its_own_tenant_record_and_no_other() -> None:
    admin = Access.for_user(
        User(
            id="me",
            upn="me@x.test",
            display_name="Me",
            roles=(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT),),
        ),
        tenant_id="tenant-1",
    )
    assert status(admin, Capability.TENANT_RECORD, R, OWN_TENANT) == 200
    assert status(admin, Capability.TENANT_RECORD, W, OWN_TENANT) == 403
    assert status(admin, Capability.TENANT_RECORD, R, OTHER_PARTNERS_TENANT) == 404
    assert status(admin, Capability.PARTNERS, R, partner_record("partner-1")) == 403
    key = Access.for_api_key(["config:read"], key_id="k", tenant_id="tenant-1")
    assert status(key, Capability.TENANT_RECORD, R, OWN_TENANT) == 200
    assert status(key, Capability.TENANT_RECORD, R, OTHER_PARTNERS_TENANT) == 404
    ou_admin = person(RoleAssignment(Role.OU_ADMIN, ScopeType.OU, "a"))
    assert status(ou_admin, Capability.TENANT_RECORD, R, OWN_TENANT) == 403  # row 2: –


def test_only_roles_within_ones_own_rights_are_granted() -> None:
    """10 R2: a partner admin cannot make a tenant admin, who could unlock the privacy
    toggles for it (PV1); a system admin may name any tenant role (decision)."""
    tenant_roles = [r for r in Role if r not in (Role.SYSTEM_ADMIN, Role.PARTNER_ADMIN)]
    assert all(SA.may_grant(role) for role in tenant_roles)
    assert {r for r in tenant_roles if PA.may_grant(r)} == {
        Role.LIMITED_ADMIN,
        Role.SERVICE_SUPERVISOR,
        Role.AGENT,
    }
    tenant_admin = person(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT))
    assert all(tenant_admin.may_grant(role) for role in tenant_roles)
    ou_admin = person(RoleAssignment(Role.OU_ADMIN, ScopeType.OU, "a"))
    assert not ou_admin.may_grant(Role.TENANT_ADMIN)
    assert ou_admin.may_grant(Role.USER_SUPERVISOR) and ou_admin.may_grant(Role.OU_ADMIN)


def test_a_system_access_needs_its_scope() -> None:
    with pytest.raises(ValueError, match="not a system role"):
        Access.for_system(Role.PARTNER_ADMIN)
    with pytest.raises(ValueError, match="not a system role"):
        Access.for_system(Role.TENANT_ADMIN)
