"""The simulator's phone: who may use it, several calls, transcripts, and production."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from web_harness import ORIGIN, Demo, demo, make_tenancy

from switchboard.api.demo import ensure_demo
from switchboard.api.tenancy import Settings
from switchboard.web.app import create_app

__all__ = ["demo"]


def test_an_admin_places_two_calls_and_sees_both_with_their_prompts(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    page = demo.get("/phone", admin)
    assert page.status_code == 200
    assert '<option value="+41445551001">Technical support (+41445551001)</option>' in page.text
    assert re.search(r'id="dial-caller" name="caller" type="tel" value="\+4179\d{7}"', page.text)
    for caller in ("+41791110001", "+41791110002"):
        placed = demo.api("POST", "/sim/api/calls", admin, {"to": "+41445550000", "caller": caller})
        assert placed.status_code == 201, placed.text
    calls = demo.get("/ui/phone/calls", admin, htmx=True).text
    assert calls.count('class="card call"') == 2
    assert calls.count("For the front desk, press 1.") == 2
    assert "+41791110001" in calls and "+41791110002" in calls
    call_id = re.search(r'hx-post="/sim/api/calls/([^/]+)/hangup"', calls)
    assert call_id is not None
    assert demo.api("POST", f"/sim/api/calls/{call_id.group(1)}/hangup", admin).status_code == 200
    calls = demo.get("/ui/phone/calls", admin, htmx=True).text
    assert calls.count('class="card call"') == 1 and "Ended" in calls


def test_agents_have_no_phone(demo: Demo) -> None:
    chloe = demo.sign_in("chloe")
    assert demo.get("/phone", chloe).status_code == 403
    assert 'href="/phone"' not in demo.get("/my", chloe).text


def test_production_serves_no_phone(tmp_path: Path) -> None:
    tenancy = make_tenancy(tmp_path)
    tenancy.settings = Settings(**{**tenancy.settings.__dict__, "mode": "production"})
    ensure_demo(tenancy)
    with TestClient(create_app(tenancy=tenancy), base_url=ORIGIN) as client:
        assert client.get("/phone", follow_redirects=False).status_code == 404
