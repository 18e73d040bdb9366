"""Roles and role assignments (01 §3): the data a user record carries.

Kept apart from `switchboard.domain.access`, which decides with them, because
the configuration model (`User.roles`) needs the types and `access` needs the
configuration model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    #: Above the tenants: held by system accounts, never assigned to a tenant's user.
    SYSTEM_ADMIN = "system_admin"
    PARTNER_ADMIN = "partner_admin"
    TENANT_ADMIN = "tenant_admin"
    OU_ADMIN = "ou_admin"
    LIMITED_ADMIN = "limited_admin"
    SERVICE_OWNER = "service_owner"
    SERVICE_OWNER_LIMITED = "service_owner_limited"
    SERVICE_SUPERVISOR = "service_supervisor"
    USER_SUPERVISOR = "user_supervisor"
    #: Implicit through a service membership; never assigned.
    AGENT = "agent"


class ScopeType(StrEnum):
    SYSTEM = "system"
    PARTNER = "partner"
    TENANT = "tenant"
    OU = "ou"
    SERVICE = "service"


#: The roles of system accounts (01 §3): the system, or one partner and its tenants.
SYSTEM_ROLES: Mapping[Role, ScopeType] = {
    Role.SYSTEM_ADMIN: ScopeType.SYSTEM,
    Role.PARTNER_ADMIN: ScopeType.PARTNER,
}

#: The scope object each role assignable to a tenant's user is granted on (01 §3).
ROLE_SCOPE: Mapping[Role, ScopeType] = {
    Role.TENANT_ADMIN: ScopeType.TENANT,
    Role.OU_ADMIN: ScopeType.OU,
    Role.LIMITED_ADMIN: ScopeType.OU,
    Role.SERVICE_OWNER: ScopeType.SERVICE,
    Role.SERVICE_OWNER_LIMITED: ScopeType.SERVICE,
    Role.SERVICE_SUPERVISOR: ScopeType.OU,
    Role.USER_SUPERVISOR: ScopeType.OU,
}

#: What a role's label reads as in a sentence.
ROLE_LABEL: Mapping[Role, str] = {
    Role.SYSTEM_ADMIN: "system admin",
    Role.PARTNER_ADMIN: "partner admin",
    Role.TENANT_ADMIN: "tenant admin",
    Role.OU_ADMIN: "OU admin",
    Role.LIMITED_ADMIN: "limited admin",
    Role.SERVICE_OWNER: "service owner",
    Role.SERVICE_OWNER_LIMITED: "limited service owner",
    Role.SERVICE_SUPERVISOR: "service supervisor",
    Role.USER_SUPERVISOR: "user supervisor",
    Role.AGENT: "agent",
}


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """A role on a scope object; `scope_id` is None for the tenant and the system scope."""

    role: Role
    scope_type: ScopeType
    scope_id: str | None = None
