"""The admin screens: every page renders, answers as the API would, and hands the API back
what it read (the browser test, test_admin_browser.py, drives the forms themselves)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from web_harness import Demo, Person, demo

from switchboard.web.admin.kinds import ADMIN_KINDS

__all__ = ["demo"]

KEYS = [k.key for k in ADMIN_KINDS]


def _base(page: str) -> dict[str, Any]:
    """The entity a form starts from (what admin.js sends, with the fields on top)."""
    found = re.search(r'<script type="application/json" id="admin-base">(.*?)</script>', page, re.S)
    assert found, "the form carries its entity"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _nav(page: str) -> list[str]:
    return re.findall(r'<li><a href="(/[a-z]*)"(?: aria-current="page")?>', page)


def _first_ids(d: Demo, key: str) -> list[str]:
    return [item["id"] for item in d.key("GET", f"/api/v1/{key}?limit=500")["items"]]


def _person(d: Demo, login: str, roles: list[dict[str, Any]]) -> Person:
    """A new user with `roles` and a local account, signed in."""
    user = d.key(
        "POST",
        "/api/v1/users",
        {"upn": f"{login}@demo.switchboard.test", "display_name": login.title(), "roles": roles},
    )
    d.key(
        "PUT",
        f"/api/v1/users/{user['id']}/account",
        {"username": login, "password": "a long test password 42"},
    )
    answer = d.client.post(
        "/api/v1/auth/sign-in", json={"username": login, "password": "a long test password 42"}
    )
    assert answer.status_code == 200, answer.text
    token = answer.cookies.get("sb_session")
    d.client.cookies.clear()
    assert token
    return Person(user["id"], token, answer.json()["csrf_token"])


def test_the_admin_sees_every_kind_in_the_menu_and_admin_in_the_navigation(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    page = demo.get("/admin", admin)
    assert page.status_code == 200
    assert "/admin" in _nav(page.text)
    for kind in ADMIN_KINDS:
        assert f'href="/admin/{kind.key}"' in page.text, kind.key
    assert 'href="/admin/api-keys"' in page.text
    assert "admin.js?v=" in page.text and "admin.css?v=" in page.text


def test_every_list_and_new_page_renders_for_the_admin(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    for key in KEYS:
        _list_and_new(demo, admin, key)


def _list_and_new(demo: Demo, admin: Person, key: str) -> None:
    listed = demo.get(f"/admin/{key}", admin)
    assert listed.status_code == 200, listed.text
    for entity_id in _first_ids(demo, key)[:5]:
        assert f'href="/admin/{key}/{html.escape(entity_id)}"' in listed.text
    assert f'href="/admin/{key}/new"' in listed.text
    new = demo.get(f"/admin/{key}/new", admin)
    assert new.status_code == 200, new.text
    if key != "workflows":
        assert 'hx-post="/api/v1/' in new.text and "data-created-go=" in new.text
        assert 'data-admin-form hx-ext="ignore:sb-json,sb-form"' in new.text


def test_an_unchanged_form_saves_what_it_read(demo: Demo) -> None:
    """Every edit page carries its entity as the API's body: put back as it is, the API
    accepts it (If-Match with the page's ETag) and nothing else changes."""
    admin = demo.sign_in("admin")
    for key in KEYS:
        if key != "workflows":
            _round_trip(demo, admin, key)


def _round_trip(demo: Demo, admin: Person, key: str) -> None:
    for entity_id in _first_ids(demo, key)[:3]:
        before = demo.key("GET", f"/api/v1/{key}/{entity_id}")
        page = demo.get(f"/admin/{key}/{entity_id}", admin)
        assert page.status_code == 200, page.text
        if f'hx-put="/api/v1/{key}/{entity_id}"' not in page.text:
            continue  # read only (the built-in duty profiles)
        etag = re.search(r'data-etag="([^"]*)"', page.text)
        assert etag
        answer = demo.client.put(
            f"/api/v1/{key}/{entity_id}",
            json=_base(page.text),
            headers={**admin.unsafe(), "If-Match": html.unescape(etag.group(1))},
        )
        assert answer.status_code == 200, (key, entity_id, answer.text)
        after = answer.json()
        before.pop("version"), after.pop("version")
        assert after == before


def test_a_form_names_each_field_by_the_path_the_api_reports(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    page = demo.get("/admin/services/svc-support", admin).text
    for path in (
        "name",
        "upn",
        "distribution.acw_duration_s",
        "queue.rona_timeout_s",
        "reporting.sla_acceptance_s",
        "workflows.audio_inbound",
        "primary_calendar_id",
    ):
        assert f'name="{path}"' in page, path
    assert 'data-type="int"' in page and 'data-type="str?"' in page
    assert 'name="codes" value="code-solved" data-type="list" checked' in page
    policy = demo.get("/admin/distribution-policies/policy-support", admin).text
    assert 'name="levels[2].time_in_level_s"' in policy
    assert 'name="levels[0].requirements[0].skill_id"' in policy
    assert 'name="levels[__i__].requirements[__j__].skill_id"' in policy  # a new row's template
    user = demo.get("/admin/users/user-anna", admin).text
    assert 'data-rows="memberships" data-dict-key="service_id"' in user
    assert 'name="skills[0].skill_id"' in user


def test_people_without_an_admin_role_get_no_admin_screens(demo: Demo) -> None:
    anna = demo.sign_in("anna")
    assert "/admin" not in _nav(demo.get("/my", anna).text)
    home = demo.get("/admin", anna)
    assert home.status_code == 403
    assert "You have no administrative role" in home.text
    skills = demo.get("/admin/skills", anna)
    api = demo.get("/api/v1/skills", anna)
    assert skills.status_code == api.status_code == 403
    assert demo.get("/admin/api-keys", anna).status_code == 403
    assert demo.get("/admin/services/new", anna).status_code == 403
    assert demo.get("/admin/workflows/new", anna).status_code == 403


def test_each_page_answers_as_the_api_would(demo: Demo) -> None:
    for login in ("anna", "supervisor", "lena", "admin"):
        person = demo.sign_in(login)
        for key in ("services", "users", "calendars", "workflows", "codes", "skills"):
            listed = demo.get(f"/admin/{key}", person)
            assert listed.status_code == demo.get(f"/api/v1/{key}", person).status_code
            for entity_id in _first_ids(demo, key):
                page = demo.get(f"/admin/{key}/{entity_id}", person)
                api = demo.get(f"/api/v1/{key}/{entity_id}", person)
                assert page.status_code == api.status_code, (login, key, entity_id)
            assert demo.get(f"/admin/{key}/nope", person).status_code in (403, 404)
    assert demo.get("/admin/services/nope", demo.sign_in("admin")).status_code == 404


def test_what_one_may_read_but_not_change_is_shown_disabled_with_the_reason(demo: Demo) -> None:
    supervisor = demo.sign_in("supervisor")
    assert "/admin" not in _nav(demo.get("/live", supervisor).text)
    page = demo.get("/admin/services/svc-front", supervisor)
    assert page.status_code == 200
    assert '<fieldset class="form-body" disabled>' in page.text
    assert "Save changes" not in page.text and "Delete service" not in page.text
    assert "notice-info" in page.text


def test_a_service_owner_edits_their_service_and_only_reads_the_others(demo: Demo) -> None:
    lena = demo.sign_in("lena")
    assert "/admin" in _nav(demo.get("/admin", lena).text)
    own = demo.get("/admin/services/svc-sales", lena).text
    assert "Save changes" in own and '<fieldset class="form-body">' in own
    assert "Delete service" not in own  # deleting services is row 8: admins only
    listed = demo.get("/admin/services", lena).text
    assert "Sales" in listed and "New service" not in listed
    assert demo.get("/admin/services/new", lena).status_code == 403


def test_an_ou_admin_works_inside_their_ou(demo: Demo) -> None:
    olga = _person(demo, "olga", [{"role": "ou_admin", "scope_type": "ou", "scope_id": "ou-sales"}])
    listed = demo.get("/admin/services", olga).text
    assert "Sales" in listed and "Front desk" not in listed
    new = demo.get("/admin/services/new", olga).text
    ous = re.search(r'<select id="f-ou_id".*?</select>', new, re.S)
    assert ous and "ou-sales" in ous.group(0) and "ou-service" not in ous.group(0)
    assert demo.get("/admin/services/svc-front", olga).status_code == 404
    user = demo.get("/admin/users/user-jon", olga).text
    roles = re.search(
        r'<template data-row-template data-placeholder="__i__">.*?</template>', user, re.S
    )
    grants = re.findall(r"data-role-select>(.*?)</select>", user, re.S)
    assert grants and "tenant_admin" not in grants[-1] and "ou_admin" in grants[-1]
    assert roles


def test_the_user_page_shows_the_sign_in_account(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    page = demo.get("/admin/users/user-anna", admin).text
    assert "Signs in with the name <strong>anna</strong>" in page
    assert 'hx-put="/api/v1/users/user-anna/account"' in page


def test_a_parameter_keeps_its_id_and_a_calendar_says_whether_it_is_open(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    parameter = _first_ids(demo, "parameters")[0]
    page = demo.get(f"/admin/parameters/{parameter}", admin).text
    assert 'name="id"' not in page and "Fixed once created." in page
    assert 'name="id"' in demo.get("/admin/parameters/new", admin).text
    calendar = demo.get("/admin/calendars/cal-always", admin).text
    assert "Now open." in calendar
    assert (
        "Built-in duty profiles cannot be changed."
        in demo.get("/admin/duty-profiles/on_duty", admin).text
    )


def test_the_list_searches_and_pages(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    page = demo.get("/admin/users?q=KELLER", admin).text
    assert "Anna Keller" in page and "Ben Ortiz" not in page
    assert "No users match “zzz”." in demo.get("/admin/users?q=zzz", admin).text


def test_the_workflow_editor_lists_the_validators_issues_by_node(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    document = demo.key("GET", "/api/v1/workflows/wf-support")
    for field in ("id", "version", "status"):
        document.pop(field)
    queue = next(n for n in document["nodes"] if n["type"] == "queue")
    queue.setdefault("settings", {})["max_queue_time_s"] = -5
    demo.key("PUT", "/api/v1/workflows/wf-support", document)
    page = demo.get("/admin/workflows/wf-support", admin).text
    assert 'hx-put="/api/v1/workflows/wf-support"' in page and 'data-body-from="wf-text"' in page
    assert 'hx-post="/api/v1/workflows/wf-support/publish"' in page
    assert "&#34;max_queue_time_s&#34;: -5" in page or '"max_queue_time_s": -5' in page
    issues = demo.get("/ui/admin/workflows/wf-support/issues", admin, htmx=True).text
    assert f'data-show-node="{queue["id"]}"' in issues
    assert "settings.max_queue_time_s" in issues
    assert "error" in issues and "fix the errors before publishing" in issues
    templates = demo.get("/admin/workflows/new", admin).text
    assert 'hx-post="/api/v1/workflow-templates/queue_ivr_voicemail"' in templates
    assert 'hx-post="/api/v1/workflows"' in templates


def test_the_api_keys_page_lists_keys_and_issues_through_the_api(demo: Demo) -> None:
    admin = demo.sign_in("admin")
    page = demo.get("/admin/api-keys", admin).text
    assert 'hx-post="/api/v1/api-keys"' in page and 'data-secret="secret-panel"' in page
    assert "config:write" in page
    key_id = demo.info.api_key.split("_")[1]
    assert f'hx-delete="/api/v1/api-keys/{key_id}"' in page
    listed = demo.get("/ui/admin/api-keys/list", admin, htmx=True)
    assert listed.status_code == 200 and key_id in listed.text
