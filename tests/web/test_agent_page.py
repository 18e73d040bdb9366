"""My sessions: own state, offers, sessions, ACW and codes, with the engine's reasons."""

from __future__ import annotations

import re

from web_harness import Demo, Person, demo

__all__ = ["demo"]


def _available(d: Demo, person: Person) -> None:
    answer = d.api(
        "PUT", f"/api/v1/users/{person.user_id}/presence", person, {"presence": "available"}
    )
    assert answer.status_code == 200, answer.text


def _support_call(d: Demo) -> str:
    task: str = d.key(
        "POST",
        "/api/v1/tasks",
        {"service_id": "svc-support", "kind": "audio_inbound", "caller": "+41791234567"},
    )["id"]
    d.wait_for_state(task, "offered")
    return task


def test_the_workspace_shows_status_services_and_who_i_am(demo: Demo) -> None:
    chloe = demo.sign_in("chloe")
    page = demo.get("/my", chloe)
    assert page.status_code == 200
    html = page.text
    assert "Chloé Martin" in html
    assert 'hx-put="/api/v1/users/user-chloe/presence"' in html
    assert "Technical support" in html and "Duty profile" in html
    assert 'data-live-users="user-chloe"' in html
    assert 'sse-connect="/api/v1/events/stream"' in html
    assert f'<meta name="csrf-token" content="{chloe.csrf_token}">' in html
    nav = re.findall(r'<a href="(/[a-z]*)"(?: aria-current="page")?>', html)
    # her own services' live view (row 18), her own figures (08 §7), no phone
    assert nav == ["/my", "/live", "/reports"]


def test_an_offer_rings_with_a_countdown_and_is_worked_to_after_call_work(demo: Demo) -> None:
    demo.open_all_hours()
    chloe = demo.sign_in("chloe")
    _available(demo, chloe)
    task = _support_call(demo)
    work = demo.get("/ui/my/work", chloe, htmx=True).text
    assert f'id="accept-{task}"' in work and 'data-shortcut="a"' in work
    assert "data-countdown-to=" in work and "to answer" in work
    assert "+41791234567" in work

    assert demo.api("POST", f"/api/v1/tasks/{task}/accept", chloe, {}).status_code == 200
    work = demo.get("/ui/my/work", chloe, htmx=True).text
    assert f'id="hold-{task}"' in work and f'id="resume-{task}"' not in work
    assert f'hx-post="/api/v1/tasks/{task}/hangup"' in work
    assert 'name="primary_code_id"' in work and "Solved (OK)" in work and "VIP" in work
    assert f'data-live-tasks="{task}"' in work

    assert demo.api("POST", f"/api/v1/tasks/{task}/hold", chloe, {}).status_code == 200
    work = demo.get("/ui/my/work", chloe, htmx=True).text
    assert f'id="resume-{task}"' in work and "On hold" in work
    # Parking a held call is refused by the engine, and the button says so.
    park = re.search(rf'<button type="button" id="park-{task}"[^>]*>', work)
    assert park is not None and 'aria-disabled="true"' in park.group(0)
    assert "Not possible while the task is on hold." in work

    assert demo.api("POST", f"/api/v1/tasks/{task}/resume", chloe, {}).status_code == 200
    assert demo.api("POST", f"/api/v1/tasks/{task}/hangup", chloe, {}).status_code == 200
    work = demo.get("/ui/my/work", chloe, htmx=True).text
    assert "After-call work ends in" in work and f'id="acw-end-{task}"' in work
    codes = demo.api(
        "PUT", f"/api/v1/tasks/{task}/codes", chloe, {"primary_code_id": "code-solved"}
    )
    assert codes.status_code == 200, codes.text
    assert (
        demo.api("POST", f"/api/v1/users/{chloe.user_id}/acw/extend", chloe, {}).status_code == 200
    )
    work = demo.get("/ui/my/work", chloe, htmx=True).text
    assert '<option value="code-solved" selected>' in work
    extend = re.search(rf'<button type="button" id="acw-extend-{task}"[^>]*>', work)
    assert extend is not None and 'aria-disabled="true"' in extend.group(0)
    assert "After-call work can be extended once." in work
    status = demo.get("/ui/my/status", chloe, htmx=True).text
    assert "After-call work" in status

    assert demo.api("POST", f"/api/v1/users/{chloe.user_id}/acw/end", chloe, {}).status_code == 200
    assert "No calls or tasks in hand." in demo.get("/ui/my/work", chloe, htmx=True).text


def test_regions_are_the_persons_own(demo: Demo) -> None:
    """No id in the URL: a region shows the signed-in person, nobody else."""
    anna = demo.sign_in("anna")
    status = demo.get("/ui/my/status", anna, htmx=True).text
    assert 'data-live-users="user-anna"' in status
    assert "user-chloe" not in status
    services = demo.get("/ui/my/services", anna, htmx=True).text
    assert "Front desk" in services and "Technical support" in services
    assert 'role="switch"' in services  # the front desk is teams-based: an active toggle
    assert 'hx-put="/api/v1/users/user-anna/services/svc-front/active"' in services


def test_a_person_without_services_has_no_workspace_in_the_navigation(demo: Demo) -> None:
    supervisor = demo.sign_in("supervisor")
    assert demo.get("/", supervisor).headers["location"] == "/live"
    page = demo.get("/my", supervisor)
    assert page.status_code == 200  # their own state, nothing else
    assert "You are not a member of any service." in page.text
