"""System and partner administrators in the web UI (10 §2 SA/PA, R3, PV2): their sign-in
form, the tenant picker, the pages they may use in the chosen tenant, the navigation they
get, and `***` where the tenant hides its people's and customers' identifiers."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

import pytest
from web_harness import ORIGIN, Demo, demo

from switchboard.api.demo import DEMO_TENANT_ID
from switchboard.api.security.passwords import hash_password
from switchboard.store.repositories import SystemAccountRepository

__all__ = ["demo"]

PASSWORD = "quiet-meadow-signal-2718"
CHOOSE = "/api/v1/auth/system/tenant"


@dataclass(frozen=True)
class Admin:
    """A system account's browser: its session cookie, CSRF token and the picked tenant."""

    cookie: str
    csrf_token: str
    tenant: str | None = None

    def headers(self, *, htmx: bool = False, unsafe: bool = False) -> dict[str, str]:
        cookie = f"sb_session={self.cookie}"
        if self.tenant is not None:
            cookie += f"; sb_tenant={self.tenant}"
        sent = {"Cookie": cookie}
        if htmx:
            sent["HX-Request"] = "true"
        if unsafe:
            sent.update({"X-CSRF-Token": self.csrf_token, "Origin": ORIGIN})
        return sent


@dataclass(frozen=True)
class World:
    root: Admin  # a system admin
    north: Admin  # a partner admin of "North partner"
    north_tenants: tuple[str, ...]
    other_tenant: str  # the default partner's, beside the demo


def _account(demo: Demo, username: str, role: str, partner_id: str | None = None) -> Admin:
    SystemAccountRepository(demo.tenancy.db).create(
        username, hash_password(PASSWORD), role=role, partner_id=partner_id
    )
    answer = demo.client.post(
        "/api/v1/auth/system/sign-in", json={"username": username, "password": PASSWORD}
    )
    demo.client.cookies.clear()
    assert answer.status_code == 200, answer.text
    return Admin(answer.cookies["sb_session"], answer.json()["csrf_token"])


def _post(demo: Demo, admin: Admin, path: str, body: object) -> dict[str, str]:
    answer = demo.client.post(path, json=body, headers=admin.headers(unsafe=True))
    assert answer.status_code == 201, answer.text
    created: dict[str, str] = answer.json()
    return created


@pytest.fixture
def world(demo: Demo) -> World:
    """The demo tenant and one more of the default partner; two tenants of another partner
    with its partner admin — made through the API, as a system admin would."""
    root = _account(demo, "root", "system_admin")
    partner = _post(demo, root, "/api/v1/partners", {"name": "North partner"})["id"]
    north_tenants = tuple(
        _post(demo, root, "/api/v1/tenants", {"name": name, "partner_id": partner})["id"]
        for name in ("North Shipping", "North Bakery")
    )
    other = _post(demo, root, "/api/v1/tenants", {"name": "Other Company"})["id"]
    return World(root, _account(demo, "north", "partner_admin", partner), north_tenants, other)


def _pick(demo: Demo, admin: Admin, tenant_id: str) -> Admin:
    answer = demo.client.put(
        CHOOSE, json={"tenant_id": tenant_id}, headers=admin.headers(unsafe=True)
    )
    demo.client.cookies.clear()
    assert answer.status_code == 200, answer.text
    assert answer.cookies.get("sb_tenant") == tenant_id
    return dataclasses.replace(admin, tenant=tenant_id)


def _get(demo: Demo, path: str, admin: Admin, *, htmx: bool = False) -> tuple[int, str, str]:
    answer = demo.client.get(path, headers=admin.headers(htmx=htmx), follow_redirects=False)
    return answer.status_code, answer.headers.get("location", ""), answer.text


def _choices(html: str) -> set[str]:
    """The tenant ids the picker offers (each button's body)."""
    return set(re.findall(r"""hx-vals='\{"tenant_id": "([^"]+)"\}'""", html))


def _nav(html: str) -> list[str]:
    block = re.search(r'<nav class="mainnav".*?</nav>', html, re.S)
    assert block is not None
    return re.findall(r'href="([^"]+)"', block.group(0))


def test_the_sign_in_page_has_a_form_for_system_accounts(demo: Demo, world: World) -> None:
    ordinary = demo.get("/sign-in?next=/live").text
    assert 'href="/sign-in?as=system&amp;next=/live"' in ordinary
    assert "System or partner administrator?" in ordinary
    page = demo.get("/sign-in?as=system&next=/live")
    assert page.status_code == 200
    html = page.text
    assert 'hx-post="/api/v1/auth/system/sign-in"' in html
    assert 'data-then-go="/choose-tenant?next=/live"' in html  # the picker comes first
    assert "Sign in as an administrator" in html and 'name="tenant_id"' not in html
    assert 'href="/sign-in?next=/live"' in html  # back to the ordinary form
    # The form shows the API's sentence for a refusal (app.js puts it into .form-error).
    refused = demo.client.post(
        "/api/v1/auth/system/sign-in", json={"username": "root", "password": "not the one"}
    )
    assert refused.json()["detail"] == "The username or password is wrong."
    assert 'class="form-error"' in html
    # Once signed in, the form is skipped; without a tenant, pages send them to the picker.
    assert _get(demo, "/sign-in?as=system&next=/live", world.root)[:2] == (303, "/live")
    assert _get(demo, "/live", world.root)[:2] == (303, "/choose-tenant?next=/live")
    assert _get(demo, "/", world.root)[:2] == (303, "/choose-tenant")
    fragment = demo.client.get(
        "/ui/live/services/svc-support",
        headers={
            **world.root.headers(htmx=True),
            "HX-Current-URL": "http://testserver/admin/services?q=x",
        },
        follow_redirects=False,
    )
    assert fragment.status_code == 204
    assert fragment.headers["HX-Redirect"] == "/choose-tenant?next=/admin/services%3Fq%3Dx"


def test_the_picker_lists_exactly_the_tenants_within_reach(demo: Demo, world: World) -> None:
    everything = {t.id for t in demo.tenancy.tenants.list()}
    assert len(everything) == 4
    status, _, html = _get(demo, "/choose-tenant?next=/admin", world.root)
    assert status == 200
    assert _choices(html) == everything
    assert "Partner North partner" in html  # a system admin reads partners
    assert 'data-then-go="/admin"' in html
    assert "System administrator" in html and 'name="switchboard-tenant"' not in html
    assert "sse-connect" not in html  # no tenant, no event stream
    status, _, html = _get(demo, "/choose-tenant", world.north)
    assert status == 200
    assert _choices(html) == set(world.north_tenants)
    assert "Partner North" not in html  # partner admins do not read partner records
    assert "Partner administrator" in html and "the tenants of your partner" in html
    # The search narrows the list, by name or id.
    assert _choices(_get(demo, "/choose-tenant?q=bakery", world.root)[2]) == {
        world.north_tenants[1]
    }
    # The current choice is marked.
    root = _pick(demo, world.root, world.other_tenant)
    assert re.search(r"Other Company.*?Current", _get(demo, "/choose-tenant", root)[2], re.S)
    # People of a tenant have nothing to choose.
    admin = demo.sign_in("admin")
    refused = demo.get("/choose-tenant", admin)
    assert refused.status_code == 403 and "not_a_system_session" in refused.text
    assert demo.get("/choose-tenant").status_code == 303  # strangers sign in first


def test_a_partner_admin_cannot_pick_another_partners_tenant(demo: Demo, world: World) -> None:
    for foreign in (DEMO_TENANT_ID, world.other_tenant, "no-such-tenant"):
        answer = demo.client.put(
            CHOOSE, json={"tenant_id": foreign}, headers=world.north.headers(unsafe=True)
        )
        assert (answer.status_code, answer.json()["code"]) == (404, "tenant_not_found")
    # A cookie the picker did not set is checked all the same, on every page: back to the
    # picker, which says why.
    forged = dataclasses.replace(world.north, tenant=DEMO_TENANT_ID)
    status, location, _ = _get(demo, "/admin/users", forged)
    assert (status, location) == (303, "/choose-tenant?next=/admin/users&again=1")
    assert "not within your reach any more" in _get(demo, location, forged)[2]
    assert _get(demo, "/ui/live/services/svc-support", forged, htmx=True)[0] == 204
    # Its own partner's tenant opens.
    north = _pick(demo, world.north, world.north_tenants[0])
    status, _, html = _get(demo, "/admin", north)
    assert status == 200 and "North Shipping" in html


def test_pages_work_with_a_system_admins_rights_after_picking(demo: Demo, world: World) -> None:
    root = _pick(demo, world.root, DEMO_TENANT_ID)
    tenant_name = demo.engine.state.tenant.name
    assert _get(demo, "/", root)[:2] == (303, "/live")  # the first page of the navigation
    status, _, html = _get(demo, "/live", root)
    assert status == 200
    assert f'<meta name="switchboard-tenant" content="{DEMO_TENANT_ID}">' in html
    assert 'sse-connect="/api/v1/events/stream"' in html
    assert tenant_name in html and 'href="/choose-tenant?next=/live"' in html  # switch
    assert "root" in html and "System administrator" in html
    for service in ("Front desk", "Technical support", "Main number", "Sales"):
        assert service in html  # the whole tenant
    # What they may do in the tenant, and nothing that is not for them (MATRIX; the agent's
    # pages are a person's own, reports are closed to them until 08 PM2 is built).
    assert _nav(html) == ["/live", "/admin"]
    assert _get(demo, "/ui/live/services/svc-support", root, htmx=True)[0] == 200
    status, _, html = _get(demo, "/admin", root)
    assert status == 200 and 'href="/admin/services"' in html and "/admin/api-keys" not in html
    status, _, html = _get(demo, "/admin/services/svc-support", root)
    assert status == 200 and "Technical support" in html and "<fieldset disabled" not in html
    assert _get(demo, "/admin/workflows", root)[0] == 200
    for closed in ("/my", "/reports", "/reports/users/user-anna", "/phone", "/admin/api-keys"):
        status, _, html = _get(demo, closed, root)
        assert status == 403 and "not_for_system_accounts" in html, closed
    # The page's own requests name its tenant in the header, which wins over the cookie:
    # the demo's service is not in the other tenant.
    elsewhere = demo.client.get(
        "/ui/live/services/svc-support",
        headers={**root.headers(htmx=True), "X-Switchboard-Tenant": world.other_tenant},
    )
    assert elsewhere.status_code == 404
    # An empty tenant: the admin screens, and no live view until it has services.
    other = _pick(demo, world.root, world.other_tenant)
    assert _get(demo, "/", other)[:2] == (303, "/admin")
    assert "Other Company" in _get(demo, "/admin/users", other)[2]


def test_identifiers_show_as_stars_until_the_tenant_allows_them(demo: Demo, world: World) -> None:
    demo.open_all_hours()
    root = _pick(demo, world.root, DEMO_TENANT_ID)
    chloe = demo.sign_in("chloe")
    demo.api("PUT", "/api/v1/users/user-chloe/presence", chloe, {"presence": "available"})
    task = demo.key(
        "POST",
        "/api/v1/tasks",
        {"service_id": "svc-support", "kind": "audio_inbound", "caller": "+41791112233"},
    )["id"]
    demo.wait_for_state(task, "offered")
    panel = _get(demo, "/ui/live/services/svc-support", root, htmx=True)[2]
    assert "***" in panel
    for hidden in ("Chloé Martin", "Emma Schulz", "+41791112233"):
        assert hidden not in panel, hidden
    why = _get(demo, f"/ui/live/tasks/{task}/why", root, htmx=True)[2]
    assert "***" in why and "Chloé Martin" not in why and "+41791112233" not in why
    users = _get(demo, "/admin/users", root)[2]
    assert "***" in users and "Anna Keller" not in users and "@demo.switchboard.test" not in users
    # A hidden name cannot be found by searching for it.
    assert "Anna" not in _get(demo, "/admin/users?q=keller", root)[2]
    assert "user-anna" not in _get(demo, "/admin/users?q=keller", root)[2]
    form = _get(demo, "/admin/users/user-anna", root)[2]
    assert "Anna Keller" not in form and "anna@demo" not in form
    assert "User user-anna" in form  # the heading names the id instead
    assert "the name is hidden (***)" in form and "<strong>anna</strong>" not in form
    assert 'href="/choose-tenant?next=/admin/users"' in form  # switching keeps the section
    # The form, saved as shown (with its ***), keeps the stored name (the API's PV2 rule).
    found = re.search(r'<script type="application/json" id="admin-base">(.*?)</script>', form)
    assert found is not None
    base = json.loads(found.group(1))
    assert base["display_name"] == "***"
    saved = demo.client.put(
        "/api/v1/users/user-anna",
        json={**base, "enabled": True},
        headers={**root.headers(unsafe=True), "X-Switchboard-Tenant": DEMO_TENANT_ID},
    )
    assert saved.status_code == 200, saved.text
    assert demo.engine.state.users["user-anna"].display_name == "Anna Keller"
    # The tenant's own admin allows both; the same pages show the names.
    admin = demo.sign_in("admin")
    settings = demo.client.get("/api/v1/tenant", headers=admin.headers()).json()["settings"]
    allowed = {
        **settings,
        "partner_may_see_user_identifiers": True,
        "partner_may_see_customer_identifiers": True,
    }
    assert demo.api("PUT", "/api/v1/tenant/settings", admin, allowed).status_code == 200
    panel = _get(demo, "/ui/live/services/svc-support", root, htmx=True)[2]
    assert "Chloé Martin" in panel and "+41791112233" in panel and "***" not in panel
    assert "Anna Keller" in _get(demo, "/admin/users?q=keller", root)[2]
    assert "<strong>anna</strong>" in _get(demo, "/admin/users/user-anna", root)[2]
