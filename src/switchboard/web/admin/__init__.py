"""The admin screens (issue 5 §4): configuration kinds, workflows, API keys.

`router` holds every admin page; `switchboard.web.app.install` includes it.
The workflow and API-key routers come before the generic one, whose
`/admin/{kind}/{id}` would otherwise also match their fixed paths.
"""

from __future__ import annotations

from fastapi import APIRouter

from switchboard.web.admin import api_keys, routes, workflows

router = APIRouter(include_in_schema=False)
router.include_router(api_keys.router)
router.include_router(workflows.router)
router.include_router(routes.router)

__all__ = ["router"]
