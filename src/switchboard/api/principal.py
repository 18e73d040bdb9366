"""The authenticated caller, as every later step sees it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="switchboard"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller.

    `kind` is "api_key" (then `id` is the key id and `scopes`, `ou_id`,
    `service_ids` restrict it) or "user" (then `id` is the user's id in the
    tenant's configuration; `method` says how they signed in: "session" or
    "oidc"). A session principal carries its CSRF token and session hash.
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

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None
