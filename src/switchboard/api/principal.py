"""The authenticated caller, as every later step sees it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="switchboard"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller.

    `kind` is "api_key" (then `id` is the key id and `scopes`, `ou_id`,
    `service_ids` restrict it), "user" (then `id` is the user's id in the
    tenant's configuration; `method` says how they signed in: "session" or
    "oidc") or "system" (a system account: `id` is the account's id, `role`
    system_admin or partner_admin, `partner_id` the latter's partner, `username`
    the account's name). A session principal carries its CSRF token and session
    hash.

    A system principal belongs to no tenant: `tenant_id` is empty until a request
    selects one (10 R3, `switchboard.api.permissions.select_tenant`).
    """

    tenant_id: str
    kind: str
    id: str
    scopes: frozenset[str] = frozenset()
    ou_id: str | None = None
    service_ids: tuple[str, ...] | None = None
    method: str = "api_key"
    csrf_token: str | None = None
    session_hash: str | None = None
    role: str | None = None
    partner_id: str | None = None
    username: str | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_system(self) -> bool:
        return self.kind == "system"


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None
