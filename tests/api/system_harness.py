"""System and partner administrators on the real service: partners, accounts, sessions.

Builds on `api_harness` and `sign_in_harness`. System accounts are made with the
store's repository (as `switchboard admin create` does: there is no API route
for them), their sessions by signing in over HTTP at `/api/v1/auth/system/sign-in`.
"""

from __future__ import annotations

from api_harness import Service
from sign_in_harness import PASSWORD, Session

from switchboard.api.security.passwords import hash_password
from switchboard.store.repositories import PartnerRepository, SystemAccountRepository

TENANT_HEADER = "X-Switchboard-Tenant"


def partner_for(svc: Service, name: str, *tenant_ids: str) -> str:
    """A new partner that the given tenants are moved to; its id."""
    partner = PartnerRepository(svc.tenancy.db).create(name)
    for tenant_id in tenant_ids:
        assert svc.tenancy.tenants.set_partner(tenant_id, partner.id) is not None
    return partner.id


def system_account(svc: Service, username: str, role: str, partner_id: str | None = None) -> str:
    account = SystemAccountRepository(svc.tenancy.db).create(
        username, hash_password(PASSWORD), role=role, partner_id=partner_id
    )
    return account.id


def system_sign_in(svc: Service, username: str, password: str = PASSWORD) -> Session:
    answer = svc.client.post(
        "/api/v1/auth/system/sign-in", json={"username": username, "password": password}
    )
    svc.client.cookies.clear()
    assert answer.status_code == 200, answer.text
    name = "sb_session"
    return Session(name, answer.cookies[name], answer.json()["csrf_token"])


def in_tenant(session: Session, tenant_id: str) -> dict[str, str]:
    """The session's headers, acting inside `tenant_id` (10 R3)."""
    return {**session.headers(), TENANT_HEADER: tenant_id}
