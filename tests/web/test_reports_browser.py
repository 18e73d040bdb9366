"""Reports in a real browser: the service dashboard, the period switch, the sessions list's
filters and the CSV download, on a demo tenant with a few days of simulated history.

Screenshots of every step go to `var/screenshots/reports/` (emptied at the start).
"""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from browser_harness import SCREENSHOTS, Shots, chromium, signed_in
from test_browser_keyboard import _CONTROLS
from web_harness import make_tenancy

from switchboard.api.demo import ensure_demo
from switchboard.api.demo_history import HistoryPlan
from switchboard.web.app import create_app

__all__ = ["chromium"]

#: A few days of history (any four days include working days), kept small for speed.
HISTORY = HistoryPlan(days=4, calls_per_weekday=90, chats_per_weekday=6, seed=5)


@pytest.fixture
def reports_server(tmp_path: Path) -> Iterator[str]:
    tenancy = make_tenancy(tmp_path)
    ensure_demo(tenancy, history=HISTORY)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(tenancy=tenancy), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < end and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()


@pytest.fixture(scope="module")
def report_shots() -> Shots:
    """One numbered series for the module's tests (the folder is emptied once)."""
    folder = SCREENSHOTS / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return Shots(folder)


def _number(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_a_supervisor_reads_the_service_dashboard_filters_and_downloads(
    reports_server: str, chromium: Any, report_shots: Shots, tmp_path: Path
) -> None:
    sam = signed_in(chromium, reports_server, "supervisor", "/reports/services")
    page = sam.page
    assert page.get_by_role("link", name="Reports").get_attribute("aria-current") == "page"
    assert page.locator("#span-title").inner_text().startswith("Today")
    report_shots(page, "services-today")

    # The last 48 hours, hour by hour (the history ends yesterday evening).
    page.get_by_text("Last 48 hours", exact=True).click()
    page.wait_for_url("**period=48h**")
    page.wait_for_function("!document.querySelector('#span-title').textContent.startsWith('Today')")
    assert page.locator("#chart-volume table tbody tr").count() == 48
    report_shots(page, "services-48-hours")

    # The period switch: the dashboard below it is replaced, the page is not reloaded.
    page.get_by_text("Last 7 days", exact=True).click()
    page.wait_for_url("**period=7d**")
    page.wait_for_function(
        "document.querySelector('#span-title').textContent.includes('today included')"
    )
    assert sam.still_the_same_page()
    tasks = _number(page.locator("[data-kpi=tasks]").inner_text())
    assert tasks > 50
    for chart in ("chart-volume", "chart-outcomes", "chart-sl", "chart-asa"):
        assert page.locator(f"#{chart} svg[role=img]").count() == 1, chart
    assert "Sales" not in page.locator("#report-controls").inner_text()  # not in Sam's OUs
    report_shots(page, "services-7-days")

    # A chart's numbers as a table.
    page.locator("#chart-volume summary").click()
    assert page.locator("#chart-volume table tbody tr").count() == 7
    report_shots(page, "services-7-days-volume-table")
    page.locator("#chart-volume summary").click()

    # One service only: the figures follow.
    page.locator(".service-pick summary").click()
    page.get_by_label("Technical support").check()
    page.wait_for_url("**service=svc-support**")
    tile = "document.querySelector('[data-kpi=tasks]').textContent.replace(/\\D/g, '')"
    page.wait_for_function(f"Number({tile}) < {tasks}")
    page.locator(".service-pick summary").click()
    report_shots(page, "services-support-only")

    # The sessions list: filter by outcome, then by customer; page by page.
    page.get_by_label("Outcome", exact=True).select_option(label="Customer hung up")
    page.wait_for_function(
        "(() => { const o = [...document.querySelectorAll('#sessions-list tbody .outcome')];"
        " return o.length > 0"
        " && o.every(e => e.classList.contains('outcome-hangup_by_customer')); })()"
    )
    rows = page.locator("#sessions-list tbody tr")
    assert rows.count() > 0
    outcomes = page.locator("#sessions-list tbody .outcome").all_inner_texts()
    assert all(o.startswith("Hung up") for o in outcomes), outcomes
    shown = _number(page.locator(".list-count strong").inner_text())
    report_shots(page, "sessions-hung-up")

    # The CSV is exactly the filtered rows.
    with page.expect_download() as waiting:
        page.locator("#csv-link").click()
    download = waiting.value
    assert re.fullmatch(
        r"sessions-services-7d-\d{4}-\d{2}-\d{2}_to_\d{4}-\d{2}-\d{2}\.csv",
        download.suggested_filename,
    )
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    records = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"), newline="")))
    assert len(records) == shown
    assert {r["OutcomeGroup"] for r in records} == {"hangup_by_customer"}
    assert {r["ServiceId"] for r in records} == {"svc-support"}

    # A customer's number narrows it further.
    customer = records[0]["CallerId"].lstrip("'")
    page.get_by_label("Customer", exact=True).fill(customer[-6:])
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function(
        "[...document.querySelectorAll('#sessions-list tbody .customer')]"
        f".every(c => c.textContent.includes({customer[-6:]!r}))"
    )
    report_shots(page, "sessions-customer")
    assert sam.still_the_same_page()

    # The per-user dashboard of an agent of Sam's OU.
    page.get_by_role("link", name="Users").click()
    page.wait_for_url("**/reports/users**")
    page.get_by_text("Last 7 days", exact=True).click()
    page.wait_for_url("**period=7d**")
    page.get_by_label("Person").select_option(label="Chloé Martin")
    page.wait_for_function(
        "document.querySelector('#span-title').textContent.startsWith('Chloé Martin')"
    )
    assert page.locator("#chart-user-states svg[role=img]").count() == 1
    report_shots(page, "user-chloe-7-days")
    for path in ("/reports/services?period=7d", "/reports/users/user-chloe?period=7d"):
        page.goto(reports_server + path)
        controls = page.evaluate(_CONTROLS)
        assert controls and [c for c in controls if not c["name"]] == [], path
    assert not sam.errors, sam.errors


def test_an_agent_sees_only_their_own_figures(
    reports_server: str, chromium: Any, report_shots: Shots
) -> None:
    jon = signed_in(chromium, reports_server, "jon", "/reports")
    page = jon.page
    page.wait_for_url("**/reports/users")
    assert page.get_by_role("link", name="My figures").get_attribute("aria-current") == "page"
    assert page.get_by_role("link", name="Services").count() == 0
    assert page.get_by_label("Person").count() == 0
    # The period switch from the keyboard: a radio group, arrows move (and wrap around).
    page.locator("#period-today").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_url("**period=30d**")
    assert page.evaluate("document.activeElement.id") == "period-30d"  # focus stays
    page.wait_for_function("document.querySelector('#span-title').textContent.includes('to')")
    report_shots(page, "agent-own-30-days")
    answer = page.request.get(reports_server + "/reports/services")
    assert answer.status == 403
    assert not jon.errors, jon.errors
