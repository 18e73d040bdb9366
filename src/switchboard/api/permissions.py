"""Every route declares the permission it needs, here, in one place (10 R1).

`require(scope)` is the only way a route gets a principal: it authenticates and
then refuses with 403 unless the principal holds `scope`. Routes built without
it are found by a test that walks the application's routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from switchboard.api.auth import Principal, authenticate
from switchboard.api.problems import ApiProblem

#: Scopes of 10 K4 that this version's routes use.
CONFIG_READ = "config:read"
CONFIG_WRITE = "config:write"
TASKS_WRITE = "tasks:write"
FLOWS_READ = "flows:read"


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    async def guard(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.allows(scope):
            raise ApiProblem(
                403,
                "missing_scope",
                f"This credential lacks the '{scope}' permission this request needs.",
            )
        return principal

    guard.required_scope = scope  # type: ignore[attr-defined]  # read by the route audit test
    return guard
