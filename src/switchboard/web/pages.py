"""The frame of the UI: the start page, sign-in, and where a signed-in person lands.

Signing in and out are the API's own routes (`POST /api/v1/auth/sign-in`,
`/sign-out`); the sign-in page is a form that posts to it with htmx and then
goes where the person was headed. `/sign-in?as=system` is the same form for
system and partner administrators: it posts to `/api/v1/auth/system/sign-in`
and goes on to the tenant picker (`web.tenant_picker`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from switchboard.api.auth import authenticate
from switchboard.api.permissions import READ, Actor
from switchboard.api.problems import ApiProblem
from switchboard.domain.access import Capability
from switchboard.engine.engine import Engine
from switchboard.web.guard import page, viewer
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path of this application: never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/sign-in")
async def sign_in_page(
    request: Request,
    next: str | None = Query(None),
    as_: str | None = Query(None, alias="as", max_length=16),
) -> Response:
    """The sign-in form (`as=system`: for a system account); a person already signed in
    goes straight on."""
    target = safe_next(next)
    try:
        principal = await authenticate(request)
    except ApiProblem:
        principal = None
    if principal is not None and principal.kind in ("user", "system"):
        return RedirectResponse(target, status_code=303)
    system = as_ == "system"
    here = "" if target == "/" else f"next={quote(target, safe='/')}"
    return render(
        request,
        "sign_in.html",
        {
            "next": target,
            "system": system,
            # where the form goes on to, and the link to the other kind of account
            "then": "/choose-tenant" + (f"?{here}" if here else "") if system else target,
            "other": "/sign-in" + (f"?{here}" if here else "")
            if system
            else "/sign-in?as=system" + (f"&{here}" if here else ""),
        },
    )


@router.get("/")
async def home(
    request: Request, actor: Actor = Depends(page(Capability.LIVE_VIEW, READ, system=True))
) -> Response:
    """The first page the person may use (their sessions, the live view, ...)."""

    def frame(engine: Engine) -> dict[str, Any]:
        return viewer(engine, actor, request, active="home")

    context = await actor.run(frame)
    if context["nav"]:
        return RedirectResponse(context["nav"][0].href, status_code=303)
    return render(request, "home.html", {"viewer": context})
