"""Errors on the UI's own routes as HTML, everywhere else as the API's problem documents.

The API's handlers (`switchboard.api.problems.install`) stay in charge of
`/api/…` and `/sim/api/…`. For a page, a refusal is a page that says what
happened in a sentence; for an htmx fragment, a short HTML message that the
page's script shows in its message area. A missing session sends the browser
to the sign-in page and back to where it was afterwards; a system or partner
admin without a (reachable) tenant goes to the tenant picker the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from switchboard.api.problems import ApiProblem, status_for
from switchboard.domain.errors import DomainError
from switchboard.web.guard import SignInNeeded, TenantNeeded
from switchboard.web.templating import render

#: Paths the UI does not own: their errors stay problem documents.
NOT_WEB = ("/api/", "/sim/api/", "/static/", "/healthz", "/readyz", "/metrics")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def is_web(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(NOT_WEB)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def return_target(request: Request) -> str:
    """The page the person was on (for a fragment, the page that asked for it)."""
    if is_htmx(request):
        target = request.headers.get("hx-current-url", "/")
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return target.removeprefix(origin) if target.startswith(origin) else "/"
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def sign_in_url(request: Request) -> str:
    """The sign-in page, returning to the page the person was on (never to a fragment)."""
    target = return_target(request)
    return "/sign-in" if target in ("", "/") else f"/sign-in?next={quote(target, safe='/')}"


def picker_url(request: Request, reason: str) -> str:
    """The tenant picker, returning to the page afterwards; `again` when the tenant chosen
    before is out of reach now (the picker says so)."""
    target = return_target(request)
    query = [] if target in ("", "/") else [f"next={quote(target, safe='/')}"]
    if reason == "tenant_not_found":
        query.append("again=1")
    return "/choose-tenant" + (f"?{'&'.join(query)}" if query else "")


def _go(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    if is_htmx(request):
        return render(
            request,
            "_error_fragment.html",
            {"status": status, "code": code, "message": message},
            status=status,
        )
    return render(
        request,
        "error.html",
        {"status": status, "code": code, "message": message},
        status=status,
    )


def install(app: FastAPI) -> None:
    """Route the UI's errors to HTML; leave the API's handlers in place for the rest."""

    async def sign_in_needed(request: Request, error: SignInNeeded) -> Response:
        return _go(request, sign_in_url(request))

    async def tenant_needed(request: Request, error: TenantNeeded) -> Response:
        return _go(request, picker_url(request, error.reason))

    app.add_exception_handler(SignInNeeded, sign_in_needed)  # type: ignore[arg-type]
    app.add_exception_handler(TenantNeeded, tenant_needed)  # type: ignore[arg-type]

    def html_first(
        previous: Handler, describe: Callable[[Any], tuple[int, str, str]]
    ) -> Callable[[Request, Any], Awaitable[Response]]:
        async def handler(request: Request, error: Any) -> Response:
            if not is_web(request):
                answer = previous(request, error)
                return await answer if isinstance(answer, Awaitable) else answer
            return error_page(request, *describe(error))

        return handler

    def problem(error: ApiProblem) -> tuple[int, str, str]:
        return error.status, error.code, error.detail

    def domain(error: DomainError) -> tuple[int, str, str]:
        return status_for(error), error.code, error.message

    def http(error: StarletteHTTPException) -> tuple[int, str, str]:
        if error.status_code == 404:
            return 404, "not_found", "There is no page at this address."
        return error.status_code, "http_error", str(error.detail)

    for kind, describe in (
        (ApiProblem, problem),
        (DomainError, domain),
        (StarletteHTTPException, http),
    ):
        previous: Handler = app.exception_handlers[kind]
        app.add_exception_handler(kind, html_first(previous, describe))
