"""The UI's frame: every route guarded, sign-in redirects, HTML errors, offline assets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from web_harness import Demo, demo

from switchboard.api.tenancy import Settings, Tenancy
from switchboard.web.app import create_app
from switchboard.web.pages import safe_next

__all__ = ["demo"]

#: Pages anyone may open: the sign-in form (its credential is in the body it posts).
PUBLIC = {"/sign-in"}


def _flatten(routes: list[Any]) -> list[APIRoute]:
    """Routes, also those inside included routers (FastAPI keeps them nested)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _flatten(list(route.original_router.routes))
    return found


def _web_routes() -> list[APIRoute]:
    app = create_app(tenancy=Tenancy(Settings(db_url="sqlite://", mode="test")))
    return [
        r
        for r in _flatten(list(app.routes))
        if not r.path.startswith(("/api/", "/sim/api/"))
        and r.path not in ("/healthz", "/readyz", "/metrics")
    ]


def test_the_ui_has_routes() -> None:
    paths = {r.path for r in _web_routes()}
    assert {"/", "/sign-in"} <= paths


@pytest.mark.parametrize("route", _web_routes(), ids=lambda r: r.path)
def test_every_page_declares_its_permission(route: APIRoute) -> None:
    if route.path in PUBLIC:
        return
    guards = [
        getattr(d.call, "required_permission", None)
        for d in route.dependant.dependencies
        if getattr(d.call, "required_permission", None)
    ]
    assert len(guards) == 1, f"{route.path} must depend on exactly one web.guard.page(...)"
    assert not route.include_in_schema, "UI routes stay out of the API's OpenAPI document"


def test_pages_send_a_stranger_to_sign_in_and_back(demo: Demo) -> None:
    answer = demo.get("/?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/%3Fx%3D1"
    form = demo.get("/sign-in?next=/my")
    assert form.status_code == 200
    assert 'hx-post="/api/v1/auth/sign-in"' in form.text
    assert 'data-then-go="/my"' in form.text
    assert 'autocomplete="current-password"' in form.text


def test_a_fragment_asks_htmx_to_go_to_sign_in(demo: Demo) -> None:
    answer = demo.client.get(
        "/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/live"},
        follow_redirects=False,
    )
    assert answer.status_code == 204
    assert answer.headers["HX-Redirect"] == "/sign-in?next=/live"


def test_sign_in_never_sends_anyone_to_another_site() -> None:
    for evil in ("https://evil.test/", "//evil.test", "/\\evil.test", "javascript:alert(1)", ""):
        assert safe_next(evil) == "/"
    assert safe_next("/live?service=a") == "/live?service=a"


def test_a_signed_in_person_skips_the_form(demo: Demo) -> None:
    anna = demo.sign_in("anna")
    assert demo.get("/sign-in?next=/live", anna).headers["location"] == "/live"


def test_api_keys_get_no_pages(demo: Demo) -> None:
    answer = demo.client.get(
        "/", headers={"Authorization": f"Bearer {demo.info.api_key}"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]
    assert "These pages are for people" in answer.text


def test_errors_are_html_on_pages_and_problem_documents_on_the_api(demo: Demo) -> None:
    anna = demo.sign_in("anna")
    page = demo.get("/no-such-page", anna)
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "There is no page at this address." in page.text
    api = demo.get("/api/v1/no-such-thing", anna)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


def test_every_asset_a_page_names_is_served_from_here(demo: Demo) -> None:
    """Offline: the page loads nothing from another host, and every asset it names exists."""
    page = demo.get("/sign-in").text
    sources = [s for s in re.findall(r'(?:src|href)="([^"]+)"', page) if not s.startswith("#")]
    assert sources
    for source in sources:
        assert source.startswith("/"), f"{source} is not served by Switchboard"
        if source.startswith("/static/"):
            asset = demo.get(source)
            assert asset.status_code == 200, source
            assert re.search(r"\?v=[0-9a-f]{12}$", source), "static URLs carry a content hash"
    for vendored in ("htmx-2.0.11.min.js", "htmx-ext-sse-2.2.4.js"):
        assert f"/static/{vendored}?v=" in page
