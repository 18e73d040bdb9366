"""The live view: services in the person's scope only, queues, agents, and the diagnosis."""

from __future__ import annotations

from web_harness import Demo, demo

from switchboard.web.board import LIVE_EVENTS

__all__ = ["demo"]


def test_the_supervisor_sees_the_services_of_their_ou_and_nothing_else(demo: Demo) -> None:
    supervisor = demo.sign_in("supervisor")
    page = demo.get("/live", supervisor)
    assert page.status_code == 200
    for name in ("Front desk", "Technical support", "Main number"):
        assert name in page.text
    assert "Sales" not in page.text
    assert demo.get("/ui/live/services/svc-sales", supervisor, htmx=True).status_code == 404
    assert demo.get("/ui/live/services/svc-nope", supervisor, htmx=True).status_code == 404


def test_an_agent_watches_only_their_own_services(demo: Demo) -> None:
    jon = demo.sign_in("jon")  # sales only
    page = demo.get("/live", jon).text
    assert "Sales" in page and "Technical support" not in page
    assert demo.get("/ui/live/services/svc-support", jon, htmx=True).status_code == 404


def test_a_waiting_task_shows_its_wait_level_and_why(demo: Demo) -> None:
    demo.open_all_hours()
    supervisor = demo.sign_in("supervisor")
    task = demo.key(
        "POST",
        "/api/v1/tasks",
        {"service_id": "svc-support", "kind": "audio_inbound", "priority": "high"},
    )["id"]
    demo.wait_for_state(task, "queued")
    panel = demo.get("/ui/live/services/svc-support", supervisor, htmx=True)
    assert panel.status_code == 200
    html = panel.text
    assert f'hx-get="/ui/live/tasks/{task}/why"' in html
    assert "1 of 3" in html  # the support policy has three levels
    assert "prio-high" in html
    assert "Service level today" in html and "ASA today" in html
    why = demo.get(f"/ui/live/tasks/{task}/why", supervisor, htmx=True)
    assert why.status_code == 200
    assert "No member of the service is online, active and on duty." in why.text
    assert "Chloé Martin" in why.text  # every member, with their reason
    jon = demo.sign_in("jon")
    assert demo.get(f"/ui/live/tasks/{task}/why", jon, htmx=True).status_code == 404


def test_an_agent_in_a_call_shows_state_time_and_task(demo: Demo) -> None:
    demo.open_all_hours()
    supervisor = demo.sign_in("supervisor")
    chloe = demo.sign_in("chloe")
    demo.api("PUT", "/api/v1/users/user-chloe/presence", chloe, {"presence": "available"})
    panel = demo.get("/ui/live/services/svc-support", supervisor, htmx=True).text
    assert "state-available" in panel
    task = demo.key(
        "POST",
        "/api/v1/tasks",
        {"service_id": "svc-support", "kind": "audio_inbound", "caller": "+41791112233"},
    )["id"]
    demo.wait_for_state(task, "offered")
    assert demo.api("POST", f"/api/v1/tasks/{task}/accept", chloe, {}).status_code == 200
    panel = demo.get("/ui/live/services/svc-support", supervisor, htmx=True).text
    assert "Talking · Technical support" in panel and "+41791112233" in panel
    assert f"{task}" in panel  # its events refresh the panel (data-live-tasks)


def test_live_event_names_are_the_engines() -> None:
    from switchboard.engine.state import _HANDLERS

    emitted = set(_HANDLERS) | {"user.state_changed"}
    assert set(LIVE_EVENTS) <= emitted
    wanted = {n for n in emitted if n.startswith(("task.", "user."))}
    missing = sorted(wanted - set(LIVE_EVENTS))
    assert not missing, f"live regions would not refresh on {missing}: add them to LIVE_EVENTS"
