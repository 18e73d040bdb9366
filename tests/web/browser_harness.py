"""The demo on a real server for the browser tests, and Debian's chromium to drive it.

The server is `switchboard.web.app` under uvicorn in a thread, on a free port,
in test mode (the voice simulator answers calls), with the demo tenant as `make
run` creates it. Chromium is Debian's (`/usr/bin/chromium`, installed by `make
test`), driven by Playwright; Playwright's own browser download is never used.
Without chromium the browser tests are skipped, except under CI=true, where
they fail. Screenshots go to `var/screenshots/` (or $SWITCHBOARD_SCREENSHOTS).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from web_harness import make_tenancy

from switchboard.api.demo import DEMO_PASSWORD, ensure_demo
from switchboard.api.tenancy import Tenancy
from switchboard.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get(
        "SWITCHBOARD_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots"
    )
)


@dataclass
class BrowserServer:
    base: str
    api_key: str
    #: The served tenants (for what has no API route, like system accounts).
    tenancy: Tenancy

    def key(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=15,
        )
        assert answer.status_code < 300, (method, path, answer.text)
        return answer.json() if answer.content else None

    def open_all_hours(self) -> None:
        """Support and the front desk answer at any hour, so the test runs at any time."""
        for service_id in ("svc-support", "svc-front"):
            service = self.key("GET", f"/api/v1/services/{service_id}")
            for name in ("id", "version"):
                service.pop(name, None)
            service.update(primary_calendar_id="cal-always", secondary_calendar_id=None)
            self.key("PUT", f"/api/v1/services/{service_id}", service)


@pytest.fixture
def browser_server(tmp_path: Path) -> Iterator[BrowserServer]:
    tenancy = make_tenancy(tmp_path)
    info = ensure_demo(tenancy)
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
        yield BrowserServer(f"http://127.0.0.1:{port}", info.api_key, tenancy)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()


@dataclass
class Shots:
    """Numbered screenshots of one test run, full pages."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Any, name: str) -> None:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


@pytest.fixture
def shots() -> Shots:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return Shots(SCREENSHOTS)


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = (
            "Debian's chromium is not installed (/usr/bin/chromium): `make test` installs it "
            "(apt-get install chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Person:
    """One person's browser window: the page, and what went wrong in it."""

    page: Any
    errors: list[str]

    def still_the_same_page(self) -> bool:
        """The page was never reloaded: the marker set after sign-in is still there."""
        return bool(self.page.evaluate("window.__testMarker === 1"))


def signed_in(browser: Any, base: str, username: str, path: str) -> Person:
    """A fresh browser context: the person opens `path`, signs in, and lands on it."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{username}: {message.text}") if message.type == "error" else None
        ),
    )
    page.goto(base + path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")
    page.wait_for_selector("#live-status[data-state=live]")
    page.evaluate("window.__testMarker = 1")
    return Person(page, errors)
