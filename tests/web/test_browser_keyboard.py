"""Without a mouse: signing in, skipping to the content, the order of the controls, visible
focus, and a name for every control on every page (issue 5 §7)."""

from __future__ import annotations

from typing import Any

from browser_harness import BrowserServer, browser_server, chromium, signed_in
from playwright.sync_api import expect

from switchboard.api.demo import DEMO_PASSWORD

__all__ = ["browser_server", "chromium"]

expect.set_options(timeout=20_000)

#: Every focusable control with the name a screen reader would announce ('' when none).
_CONTROLS = """() => Array.from(document.querySelectorAll(
    'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])'))
  .filter(el => el.offsetParent !== null)
  .map(el => {
    const labelled = el.getAttribute('aria-labelledby');
    const name = (el.getAttribute('aria-label')
      || (labelled && document.getElementById(labelled)?.textContent)
      || (el.labels && el.labels.length && el.labels[0].textContent)
      || el.textContent || el.value || '').trim();
    return {tag: el.tagName.toLowerCase(), id: el.id, name};
  })"""


def _focused(page: Any) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        """() => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return {id: el.id, tag: el.tagName.toLowerCase(), text: el.textContent.trim(),
                  outline: style.outlineStyle + ' ' + style.outlineWidth};
        }"""
    )
    return found


def test_an_agent_works_the_workspace_from_the_keyboard(
    browser_server: BrowserServer, chromium: Any
) -> None:
    page = chromium.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(browser_server.base + "/my")
    # The username field has the focus; typing and Enter sign in.
    assert _focused(page)["id"] == "username"
    page.keyboard.type("dev")
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "password"
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(page.locator("#sign-in-error")).to_have_text("The username or password is wrong.")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/my")
    page.wait_for_selector("#live-status[data-state=live]")

    # First Tab: the skip link, visible when focused; it leads to the content.
    page.keyboard.press("Tab")
    first = _focused(page)
    assert first["text"] == "Skip to main content"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "main"
    # Then the controls in reading order: presence, not available, duty profile.
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(_focused(page)["id"])
    assert order == ["presence", "not-available", "duty-profile"]
    # A focused control shows a thick ring.
    page.keyboard.press("Shift+Tab")
    assert _focused(page)["outline"] == "solid 3px"

    # Presence from the keyboard: focus the select, pick Available with the arrow keys.
    page.locator("#presence").focus()
    page.locator("#presence").select_option("available")
    expect(page.locator("#region-status .badge")).to_have_text("Available")
    # The focus stays on the control after its region refreshed itself.
    assert _focused(page)["id"] == "presence"


def test_every_control_on_every_page_has_a_name(
    browser_server: BrowserServer, chromium: Any
) -> None:
    for username, path in (("chloe", "/my"), ("supervisor", "/live"), ("admin", "/phone")):
        person = signed_in(chromium, browser_server.base, username, path)
        controls = person.page.evaluate(_CONTROLS)
        assert controls, path
        unnamed = [c for c in controls if not c["name"]]
        assert unnamed == [], f"{path}: controls without a name: {unnamed}"
        assert person.errors == []
        person.page.context.close()
