"""In a real browser: the admin creates a service, edits it past the API's validation, edits
a workflow until the validator is content, issues an API key — and every admin page is
photographed (`var/screenshots/admin/`, or $SWITCHBOARD_SCREENSHOTS/admin).

Every change goes through the REST API from the page; the test checks the API's
errors appear beside the field (or node) they name, that what the person typed
stays, and what the API then holds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from browser_harness import SCREENSHOTS, BrowserServer, browser_server, chromium, signed_in
from playwright.sync_api import expect

from switchboard.web.admin.kinds import ADMIN_KINDS

__all__ = ["browser_server", "chromium"]

expect.set_options(timeout=20_000)


class AdminShots:
    """Numbered screenshots of whole pages. The viewport is stretched to the page first, so
    the sticky bar with Save sits at the end of the form, where a reader expects it."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.folder = folder
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> None:
        size = page.viewport_size
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path))
        page.set_viewport_size(size)
        self.taken.append(path)


def _field(page: Any, name: str) -> Any:
    """The field wrapper of the control named `name` (where its error is shown)."""
    return page.locator(f'.field:has([name="{name}"]:not([disabled]))').first


def test_the_admin_creates_and_edits_a_service_and_a_workflow(
    browser_server: BrowserServer, chromium: Any
) -> None:
    server = browser_server
    shots = AdminShots(SCREENSHOTS / "admin")
    admin = signed_in(chromium, server.base, "admin", "/admin")
    page = admin.page
    page.on("dialog", lambda dialog: dialog.accept())
    expect(page.get_by_role("heading", name="Administration", exact=True)).to_be_visible()
    shots(page, "home")

    # A new service: a wrong address is refused by the API and shown beside its field.
    page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Services"
    ).click()
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    page.keyboard.press("Alt+KeyN")
    expect(page.get_by_role("heading", name="New service")).to_be_visible()
    page.get_by_role("textbox", name="Name", exact=True).fill("Returns")
    page.get_by_role("textbox", name="Address (UPN)").fill("not an address")
    page.get_by_role("combobox", name="How agents are assigned").select_option("teams_based")
    page.get_by_role("button", name=re.compile("Create service")).click()
    upn = _field(page, "upn")
    expect(upn.locator(".field-error")).to_be_visible()
    expect(page.get_by_role("textbox", name="Address (UPN)")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.locator("#form-problems")).to_be_visible()
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value(
        "Returns"
    )  # input kept
    shots(page, "service-new-refused")

    page.get_by_role("textbox", name="Address (UPN)").fill("returns@demo.switchboard.test")
    page.get_by_role("button", name=re.compile("Create service")).click()
    page.wait_for_url(re.compile(r"/admin/services/[0-9a-f-]{36}$"))
    service_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name="Returns")).to_be_visible()
    assert server.key("GET", f"/api/v1/services/{service_id}")["upn"] == (
        "returns@demo.switchboard.test"
    )

    # Editing it: an after-call time below the minimum is shown at its field; fixed, saved.
    page.get_by_label("After-call work", exact=True).check()
    page.get_by_label("After-call work lasts").fill("2")
    page.get_by_label("Solved (OK)").check()
    page.keyboard.press("Alt+KeyS")
    acw = _field(page, "distribution.acw_duration_s")
    expect(acw.locator(".field-error")).to_contain_text("acw_duration_s")
    expect(page.get_by_label("After-call work lasts")).to_have_value("2")
    shots(page, "service-edit-refused")
    page.get_by_label("After-call work lasts").fill("30")
    page.keyboard.press("Alt+KeyS")
    expect(page.locator("[data-saved]")).to_contain_text("Saved")
    expect(acw.locator(".field-error")).to_have_count(0)
    stored = server.key("GET", f"/api/v1/services/{service_id}")
    assert stored["distribution"]["acw_enabled"] is True
    assert stored["distribution"]["acw_duration_s"] == 30
    assert stored["codes"] == ["code-solved"]
    assert stored["name"] == "Returns" and stored["version"] == 2

    # Someone else saves meanwhile: the page's ETag is stale, and the API's sentence says so.
    changed = {k: v for k, v in stored.items() if k not in ("id", "version")}
    server.key("PUT", f"/api/v1/services/{service_id}", {**changed, "description": "elsewhere"})
    page.get_by_label("Description").fill("mine")
    page.keyboard.press("Alt+KeyS")
    expect(page.locator("#form-problems")).to_contain_text("changed since you read it")
    expect(page.locator("#form-problems")).to_contain_text("Load the current version")
    shots(page, "service-edit-stale")
    assert server.key("GET", f"/api/v1/services/{service_id}")["description"] == "elsewhere"

    # A policy gets a requirement row, added with the keyboard-reachable button.
    page.goto(server.base + "/admin/distribution-policies/policy-support")
    level3 = page.locator('[data-path="levels[2]"]')
    level3.get_by_role("button", name="+ Add requirement").click()
    level3.get_by_label("Skill").select_option("skill-en")
    level3.get_by_label("Level from").fill("3")
    page.get_by_role("button", name=re.compile("Save changes")).click()
    expect(page.locator("[data-saved]")).to_contain_text("Saved")
    policy = server.key("GET", "/api/v1/distribution-policies/policy-support")
    assert policy["levels"][2]["requirements"] == [
        {
            "skill_id": "skill-en",
            "min_level": 3,
            "max_level": None,
            "min_responsibility": None,
            "max_responsibility": None,
        }
    ]

    # A workflow: a bad setting is saved as a draft and shown at its node; fixed; published.
    page.goto(server.base + "/admin/workflows/wf-support")
    editor = page.get_by_label("Document (JSON)")
    text = editor.input_value()
    assert '"max_queue_time_s": 300' in text
    editor.fill(text.replace('"max_queue_time_s": 300', '"max_queue_time_s": -5', 1))
    page.get_by_role("button", name=re.compile("Save and validate")).click()
    issues = page.locator("#wf-issues")
    expect(issues).to_contain_text("fix the errors before publishing")
    group = issues.locator(".issue-group", has_text="max_queue_time_s")
    expect(group.locator(".setting")).to_contain_text("settings.max_queue_time_s")
    node_id = group.locator("[data-show-node]").get_attribute("data-show-node")
    group.get_by_role("button", name="Show in the text").click()
    selected = page.evaluate(
        "(() => { const a = document.getElementById('wf-text');"
        " return a.value.slice(a.selectionStart, a.selectionEnd); })()"
    )
    assert selected.startswith("{") and selected.endswith("}")
    assert f'"id": "{node_id}"' in selected and '"max_queue_time_s": -5' in selected
    expect(editor).to_be_focused()
    expect(issues.locator(".status-draft")).to_contain_text("Draft, version 2")
    shots(page, "workflow-error-at-node")

    # Text that is not JSON is refused before anything is sent.
    editor.fill(editor.input_value().rstrip()[:-1])
    page.get_by_role("button", name=re.compile("Save and validate")).click()
    expect(page.locator("#wf-problems")).to_contain_text("not valid JSON")
    editor.fill(text)
    page.get_by_role("button", name=re.compile("Save and validate")).click()
    expect(issues).to_contain_text("No problems found")
    page.keyboard.press("Alt+KeyP")
    page.wait_for_url("**/admin/workflows/wf-support")
    expect(issues.locator(".status-published")).to_contain_text("Published, version 2")
    assert server.key("GET", "/api/v1/workflows/wf-support")["status"] == "published"
    shots(page, "workflow-published")

    # An API key: its secret is shown once; revoked from the list.
    page.goto(server.base + "/admin/api-keys")
    page.get_by_role("textbox", name="Name", exact=True).fill("CRM connector")
    page.get_by_role("checkbox", name=re.compile(r"^config:read ")).check()
    page.get_by_role("button", name="Issue the key").click()
    secret = page.get_by_label("The key")
    expect(secret).to_have_value(re.compile(r"^sbk_"))
    row = page.locator("#key-list tr", has_text="CRM connector")
    expect(row).to_contain_text("active")
    shots(page, "api-key-issued")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#secret-panel")).to_be_hidden()
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(row).to_contain_text("revoked")

    # Every admin page, for the record and for a person to look at.
    for kind in ADMIN_KINDS:
        page.goto(f"{server.base}/admin/{kind.key}")
        expect(page.locator("#list-region")).to_be_visible()
        shots(page, f"{kind.key}-list")
        page.goto(f"{server.base}/admin/{kind.key}/new")
        shots(page, f"{kind.key}-new")
        first = server.key("GET", f"/api/v1/{kind.key}?limit=500")["items"]
        chosen = [i for i in first if i["id"] not in ("on_duty", "off_duty")] or first
        page.goto(f"{server.base}/admin/{kind.key}/{chosen[-1]['id']}")
        expect(page.locator("h1")).to_be_visible()
        shots(page, f"{kind.key}-edit")
    page.goto(server.base + "/admin/users/user-supervisor")
    shots(page, "users-edit-with-roles")
    page.goto(server.base + "/admin/distribution-policies/policy-support")
    shots(page, "distribution-policies-levels")
    page.goto(server.base + "/admin/calendars/cal-business")
    shots(page, "calendars-with-periods")

    # The browser logs each refused request; those were the test's own (422, 412).
    unexpected = [e for e in admin.errors if not re.search(r"\b(412|422)\b", e)]
    assert unexpected == [], unexpected
