"""In a real browser: a call from the phone page reaches an agent, and a supervisor watches.

Three people in three browser windows, on a real server with the demo tenant:
Chloé (an agent of technical support) signs in and goes available; the admin
calls support from the simulator's phone page; the call rings for Chloé, who
accepts with the keyboard, holds, resumes and hangs up, codes the call during
after-call work and ends it. The supervisor's live view shows every step as it
happens, and no page is ever reloaded. Every page is photographed on the way
(`var/screenshots/`).
"""

from __future__ import annotations

import re
from typing import Any

from browser_harness import (
    BrowserServer,
    Shots,
    browser_server,
    chromium,
    shots,
    signed_in,
)
from playwright.sync_api import expect

__all__ = ["browser_server", "chromium", "shots"]

#: Waiting for something to show: generous, the machine may be busy (never a wall-time check).
expect.set_options(timeout=20_000)

SUPPORT_NUMBER = "+41445551001"


def test_a_call_reaches_an_agent_and_the_supervisor_sees_every_step(
    browser_server: BrowserServer, chromium: Any, shots: Shots
) -> None:
    server = browser_server
    server.open_all_hours()

    # The supervisor opens the live view (and meets the sign-in page on the way).
    login = chromium.new_context(viewport={"width": 1440, "height": 900}).new_page()
    login.goto(server.base + "/live")
    expect(login.get_by_role("heading", name="Sign in")).to_be_visible()
    shots(login, "sign-in")
    login.get_by_label("Username").fill("supervisor")
    login.get_by_label("Password").fill("a wrong password")
    login.get_by_role("button", name="Sign in").click()
    expect(login.get_by_role("alert").filter(has_text="wrong")).to_be_visible()
    shots(login, "sign-in-refused")
    login.context.close()
    supervisor = signed_in(chromium, server.base, "supervisor", "/live")
    live = supervisor.page
    support = live.locator("#service-svc-support")
    chloe_row = live.locator("#agent-svc-support-user-chloe")
    expect(support.locator(".offline-list")).to_contain_text("Chloé Martin")
    expect(chloe_row).to_have_count(0)  # offline agents are one line, not rows
    shots(live, "live-view-start")

    # Chloé signs in and goes available.
    agent = signed_in(chromium, server.base, "chloe", "/my")
    my = agent.page
    shots(my, "my-sessions-offline")
    my.get_by_label("Presence").select_option("available")
    expect(my.locator("#region-status .badge")).to_have_text("Available")
    expect(my.locator("#region-services")).to_contain_text("Receiving tasks")
    expect(chloe_row).to_contain_text("Available")
    shots(my, "my-sessions-available")
    shots(live, "live-view-agent-available")

    # The admin calls support from the phone page.
    caller = signed_in(chromium, server.base, "admin", "/phone")
    phone = caller.page
    shots(phone, "phone-idle")
    phone.get_by_label("Service").select_option(SUPPORT_NUMBER)
    phone.get_by_label("Calling from").fill("+41791234567")
    phone.get_by_role("button", name="Call", exact=True).click()
    call = phone.locator("article.call").first
    expect(call.locator(".transcript")).to_contain_text("Welcome.")
    shots(phone, "phone-call-welcome")

    # It rings for Chloé, with a countdown; the supervisor sees it ring.
    offer = my.locator("article.offer")
    expect(offer).to_contain_text("+41791234567")
    expect(offer.locator(".ring [data-clock]")).to_have_text(re.compile(r"0:\d\d"))
    expect(support).to_contain_text("Ringing: Chloé Martin")
    expect(chloe_row).to_contain_text("Ringing")
    shots(my, "my-sessions-offer")
    shots(live, "live-view-ringing")

    # She accepts with the keyboard (Alt+A).
    my.keyboard.press("Alt+KeyA")
    session = my.locator("article.session")
    expect(session.locator(".session-head .badge")).to_have_text("Talking")
    expect(chloe_row).to_contain_text("Talking · Technical support")
    expect(chloe_row).to_contain_text("+41791234567")
    expect(call.locator(".transcript")).to_contain_text("Chloé Martin is connected.")
    shots(my, "my-sessions-talking")
    shots(live, "live-view-talking")
    shots(phone, "phone-call-connected")

    # Hold: a held call cannot be parked, and the button says why.
    session.get_by_role("button", name="Hold").click()
    expect(session.locator(".session-head .badge")).to_have_text("On hold")
    expect(chloe_row).to_contain_text("On hold · Technical support")
    park = session.get_by_role("button", name="Park")
    expect(park).to_have_attribute("aria-disabled", "true")
    park.focus()
    expect(
        session.locator(".reason", has_text="Not possible while the task is on hold.")
    ).to_be_visible()
    shots(my, "my-sessions-on-hold")
    shots(live, "live-view-on-hold")
    session.get_by_role("button", name="Resume").click()
    expect(session.locator(".session-head .badge")).to_have_text("Talking")
    expect(chloe_row).to_contain_text("Talking · Technical support")

    # A second caller waits meanwhile: two calls on the phone, and "why waiting?".
    phone.get_by_label("Calling from").fill("+41797654321")
    phone.get_by_role("button", name="Call", exact=True).click()
    expect(phone.locator("article.call")).to_have_count(2)
    waiting = support.locator("tr[id^=waiting-]", has_text="+41797654321")
    expect(waiting).to_contain_text("Queued")
    shots(phone, "phone-two-calls")
    waiting.get_by_role("button", name="Why waiting?").click()
    dialog = live.locator("#why-dialog")
    expect(dialog.locator(".verdict")).to_contain_text("none can take a task right now")
    expect(dialog).to_contain_text("Chloé Martin")
    shots(live, "live-view-why-waiting")
    live.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()
    phone.locator("article.call", has_text="+41797654321").get_by_role(
        "button", name="Hang up"
    ).click()
    expect(phone.locator("article.call")).to_have_count(1)
    expect(support.locator("tr[id^=waiting-]", has_text="+41797654321")).to_have_count(0)

    # Chloé hangs up: after-call work, with a countdown, a code, and an early end.
    session.get_by_role("button", name="Hang up").click()
    expect(session.locator(".acw [data-clock]")).to_have_text(re.compile(r"0:[0-3]\d"))
    expect(chloe_row).to_contain_text("After-call work")
    expect(my.locator("#region-status .badge")).to_have_text("After-call work")
    session.get_by_label("Primary code").select_option("code-solved")
    expect(session.locator(".codes .hint")).to_have_text("Saved.")
    session.get_by_label("VIP").check()
    expect(session.get_by_label("VIP")).to_be_checked()
    shots(my, "my-sessions-after-call-work")
    shots(live, "live-view-after-call-work")
    shots(phone, "phone-call-ended")
    session.get_by_role("button", name=re.compile("end after-call work")).click()
    expect(my.locator("#region-status .badge")).to_have_text("Available")
    expect(my.locator("article.session")).to_have_count(0)
    expect(chloe_row).to_contain_text("Available")

    # Today: her session with its code, and the service's figures of the day.
    today = my.locator("#region-today")
    expect(today).to_contain_text("Solved (OK)")
    expect(today).to_contain_text("Accepted")
    kpis = live.locator("#kpis-svc-support")
    expect(kpis.locator(".kpi", has_text="Answered today")).to_contain_text("1")
    expect(kpis.locator(".kpi", has_text="Service level today")).to_contain_text("%")
    shots(my, "my-sessions-done")
    shots(live, "live-view-done")

    for person in (supervisor, agent, caller):
        assert person.still_the_same_page(), "a page was reloaded"
        assert person.errors == []
