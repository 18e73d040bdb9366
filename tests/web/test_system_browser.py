"""In a real browser: a system administrator signs in, picks the demo tenant, watches the
live view (callers and agents as ***, the tenant hides them), opens the users list, and
switches to another tenant from the top bar — every step photographed to
`var/screenshots/system/` (or $SWITCHBOARD_SCREENSHOTS/system)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from browser_harness import SCREENSHOTS, BrowserServer, browser_server, chromium
from playwright.sync_api import expect
from test_admin_browser import AdminShots

from switchboard.api.security.passwords import hash_password
from switchboard.store.repositories import SystemAccountRepository

__all__ = ["browser_server", "chromium"]

expect.set_options(timeout=20_000)

PASSWORD = "quiet-meadow-signal-2718"
CALLER = "+41795550123"


def _other_tenant(server: BrowserServer) -> None:
    """A second tenant, made by the system admin through the API."""
    with httpx.Client(base_url=server.base, timeout=15) as client:
        signed = client.post(
            "/api/v1/auth/system/sign-in", json={"username": "root", "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        made = client.post(
            "/api/v1/tenants",
            json={"name": "Other Company"},
            headers={"X-CSRF-Token": signed.json()["csrf_token"], "Origin": server.base},
        )
        assert made.status_code == 201, made.text


def test_a_system_admin_picks_a_tenant_and_works_in_it(
    browser_server: BrowserServer, chromium: Any
) -> None:
    server = browser_server
    SystemAccountRepository(server.tenancy.db).create(
        "root", hash_password(PASSWORD), role="system_admin"
    )
    _other_tenant(server)
    server.open_all_hours()
    server.key(
        "POST",
        "/api/v1/tasks",
        {"service_id": "svc-support", "kind": "audio_inbound", "caller": CALLER},
    )
    # The window is made as tall as the page for each shot (the admin forms' sticky bar).
    shots = AdminShots(SCREENSHOTS / "system")
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # The ordinary sign-in page leads to the administrators' form.
    page.goto(server.base + "/live")
    page.get_by_role("link", name="System or partner administrator? Sign in here").click()
    expect(page.get_by_role("heading", name="Sign in as an administrator")).to_be_visible()
    shots(page, "sign-in-system")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_have_text("The username or password is wrong.")
    shots(page, "sign-in-system-refused")
    errors.clear()  # the browser logs the 401 it was just shown
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # The picker: every tenant; the choice leads on to the page that was asked for.
    page.wait_for_url("**/choose-tenant?next=/live")
    expect(page.get_by_role("heading", name="Choose a tenant")).to_be_visible()
    choices = page.locator(".tenant-choice")
    expect(choices).to_have_count(2)
    shots(page, "tenant-picker")
    choices.filter(has_text="Demo").click()
    page.wait_for_url("**/live")
    page.wait_for_selector("#live-status[data-state=live]")
    chip = page.locator(".tenant-chip")
    expect(chip).to_contain_text("Demo")
    expect(page.locator(".who")).to_contain_text("root")
    expect(page.locator(".who")).to_contain_text("System administrator")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Live view", "Admin"])
    support = page.locator("section", has=page.get_by_role("heading", name="Technical support"))
    expect(support.first).to_contain_text("***")
    expect(page.locator("main")).not_to_contain_text(CALLER)
    expect(page.locator("main")).not_to_contain_text("Chloé Martin")
    shots(page, "live-view-masked")

    # An admin list, in the chosen tenant, its people masked.
    nav.get_by_role("link", name="Admin").click()
    page.wait_for_url("**/admin")
    expect(page.get_by_role("heading", name="Administration", exact=True)).to_be_visible()
    shots(page, "admin-home")
    page.locator(".admin-nav, nav").get_by_role("link", name="Users", exact=True).first.click()
    page.wait_for_url("**/admin/users")
    rows = page.locator("#list-region tbody tr")
    expect(rows.first.get_by_role("link")).to_have_text(re.compile(r"^\*\*\* \(user-[a-z]+\)$"))
    expect(page.locator("main")).not_to_contain_text("Anna Keller")
    shots(page, "admin-users-masked")
    rows.first.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/admin/users/user-[a-z]+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("User user-")
    shots(page, "admin-user-masked")

    # Switching from the top bar: the current tenant is marked; the other one opens in the
    # same section (its users: none yet).
    page.get_by_role("link", name="Switch tenant").click()
    page.wait_for_url("**/choose-tenant?next=/admin/users")
    expect(choices.filter(has_text="Demo")).to_contain_text("Current")
    shots(page, "tenant-picker-switch")
    page.get_by_role("button", name=re.compile("Other Company")).click()
    page.wait_for_url("**/admin/users")
    expect(chip).to_contain_text("Other Company")
    expect(page.locator("#list-region")).to_contain_text("There are no users yet")
    shots(page, "other-tenant-users")

    # On a phone the tenant stays in view above the navigation.
    page.set_viewport_size({"width": 390, "height": 844})
    nav.get_by_role("link", name="Admin").click()
    page.wait_for_url("**/admin")
    expect(chip).to_be_visible()
    shots(page, "other-tenant-admin-phone")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")
    assert not errors, errors
