"""Calendars over HTTP: CRUD, references from services, entity_in_use, and the answers
of `/services/{id}/opening-hours` and `/calendars/{id}/state`.

Instants are in UTC; Zurich is UTC+1 in winter (Fri 25 Dec 2026 10:00 CET = 09:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api_harness import Service, open_tenancy, service
from fastapi.testclient import TestClient

from switchboard.api.app import create_app
from switchboard.api.demo import DEMO_TENANT_ID, ensure_demo

__all__ = ["service"]

OFFICE: dict[str, Any] = {
    "name": "Office hours",
    "time_zone": "Europe/Zurich",
    "periods": [
        {
            "id": "weekdays",
            "name": "Weekdays",
            "type": "open",
            "rule": {
                "kind": "weekly",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "08:00",
                "end": "18:00",
            },
        },
        {
            "id": "holidays",
            "name": "Zurich holidays",
            "type": "holiday",
            "rule": {"kind": "holidays", "country": "CH", "subdivision": "ZH"},
        },
    ],
}


def _create(svc: Service, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = svc.client.post(f"/api/v1/{path}", json=body, headers=svc.auth())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def _service_with(svc: Service, **calendars: str) -> str:
    body = {"name": "Hotline", "upn": "hotline@a.test", "user_assignment_type": "none"}
    return str(_create(svc, "services", {**body, **calendars})["id"])


def test_calendar_crud(service: Service) -> None:
    created = _create(service, "calendars", OFFICE)
    cid = created["id"]
    assert created["version"] == 1 and created["default_state"] == "closed"
    assert created["periods"][1]["rule"]["categories"] == ["public"]
    read = service.client.get(f"/api/v1/calendars/{cid}", headers=service.auth())
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    listed = service.client.get("/api/v1/calendars?q=office", headers=service.auth()).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == cid
    updated = service.client.put(
        f"/api/v1/calendars/{cid}",
        json={**OFFICE, "default_state": "open"},
        headers={**service.auth(), "If-Match": '"1"'},
    )
    assert updated.status_code == 200 and updated.json()["version"] == 2
    gone = service.client.delete(f"/api/v1/calendars/{cid}", headers=service.auth())
    assert gone.status_code == 204
    missing = service.client.get(f"/api/v1/calendars/{cid}", headers=service.auth())
    assert missing.status_code == 404 and missing.json()["code"] == "calendar_not_found"


def test_invalid_calendars_name_the_field(service: Service) -> None:
    bad = {**OFFICE, "time_zone": "Europe/Atlantis"}
    bad["periods"] = [
        {**OFFICE["periods"][0], "rule": {**OFFICE["periods"][0]["rule"], "end": "25:00"}},
        {**OFFICE["periods"][1], "rule": {"kind": "holidays", "country": "CHE"}},
    ]
    response = service.client.post("/api/v1/calendars", json=bad, headers=service.auth())
    assert response.status_code == 422
    errors = {(e["code"], e["path"]): e["message"] for e in response.json()["errors"]}
    assert set(errors) == {
        ("invalid_format", "time_zone"),
        ("invalid_format", "periods[0].rule.end"),
        ("invalid_format", "periods[1].rule.country"),
    }
    assert (
        "which the library knows as 'CH'" in errors[("invalid_format", "periods[1].rule.country")]
    )
    structural = service.client.post(
        "/api/v1/calendars",
        json={**OFFICE, "periods": [{**OFFICE["periods"][0], "type": "ajar"}]},
        headers=service.auth(),
    )
    assert structural.status_code == 422
    assert any("periods" in e["path"] and "type" in e["path"] for e in structural.json()["errors"])
    listed = service.client.get("/api/v1/calendars", headers=service.auth()).json()
    assert listed["total"] == 0  # nothing was stored


def test_service_calendar_references_are_validated(service: Service) -> None:
    body = {"name": "Hotline", "upn": "hotline@a.test", "user_assignment_type": "none"}
    unknown = service.client.post(
        "/api/v1/services", json={**body, "primary_calendar_id": "cal-nope"}, headers=service.auth()
    )
    assert unknown.status_code == 422
    assert [(e["code"], e["path"]) for e in unknown.json()["errors"]] == [
        ("unknown_reference", "primary_calendar_id")
    ]
    cid = _create(service, "calendars", OFFICE)["id"]
    alone = service.client.post(
        "/api/v1/services", json={**body, "secondary_calendar_id": cid}, headers=service.auth()
    )
    assert [(e["code"], e["path"]) for e in alone.json()["errors"]] == [
        ("invalid_combination", "secondary_calendar_id")
    ]
    same = service.client.post(
        "/api/v1/services",
        json={**body, "primary_calendar_id": cid, "secondary_calendar_id": cid},
        headers=service.auth(),
    )
    assert [(e["code"], e["path"]) for e in same.json()["errors"]] == [
        ("invalid_combination", "secondary_calendar_id")
    ]


def test_deleting_a_calendar_in_use_is_refused(service: Service) -> None:
    cid = _create(service, "calendars", OFFICE)["id"]
    sid = _service_with(service, primary_calendar_id=cid)
    refused = service.client.delete(f"/api/v1/calendars/{cid}", headers=service.auth())
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "entity_in_use"
    assert f"service:{sid}" in problem["detail_data"]["referrers"]
    assert service.client.get(f"/api/v1/calendars/{cid}", headers=service.auth()).status_code == 200


def test_service_opening_hours_on_a_holiday(service: Service) -> None:
    cid = _create(service, "calendars", OFFICE)["id"]
    sid = _service_with(service, primary_calendar_id=cid)
    response = service.client.get(
        f"/api/v1/services/{sid}/opening-hours",
        params={"at": "2026-12-25T09:00:00Z"},
        headers=service.auth(),
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["at"] == "2026-12-25T09:00:00Z"
    assert answer["state"] == "holiday" and answer["open"] is False
    assert answer["decided_by"] == "period"
    assert answer["calendar"] == {
        "id": cid,
        "name": "Office hours",
        "role": "primary",
        "time_zone": "Europe/Zurich",
    }
    assert answer["local_time"] == "2026-12-25T10:00:00+01:00"
    assert answer["period"]["id"] == "holidays"
    assert answer["period"]["holiday_name"] == "Christmas Day"
    assert answer["period"]["starts"] == "2026-12-25T00:00"
    assert [p["id"] for p in answer["overridden"]] == ["weekdays"]
    assert answer["notes"] == []
    assert "Christmas Day" in answer["message"] and "primary calendar" in answer["message"]
    # 26 Dec is St Stephen's Day in Zurich, 27 Dec a Sunday; Mon 28 Dec opens at 08:00 CET.
    assert answer["next_change"]["at"] == "2026-12-26T23:00:00Z"
    assert answer["next_change"]["state"] == "closed"
    assert answer["next_open_change"] == {
        "at": "2026-12-28T07:00:00Z",
        "local_time": "2026-12-28T08:00:00+01:00",
        "state": "open",
        "open": True,
        "message": "Open from Mon 2026-12-28 08:00 CET (Europe/Zurich).",
    }


def test_opening_hours_with_a_secondary_calendar(service: Service) -> None:
    primary = _create(service, "calendars", OFFICE)["id"]
    saturday = _create(
        service,
        "calendars",
        {
            "name": "Saturday line",
            "time_zone": "Europe/Zurich",
            "default_state": "open",  # never used as a secondary
            "periods": [
                {
                    "id": "sat",
                    "name": "Saturday mornings",
                    "type": "special",
                    "rule": {"kind": "weekly", "days": ["sat"], "start": "09:00", "end": "13:00"},
                }
            ],
        },
    )["id"]
    sid = _service_with(service, primary_calendar_id=primary, secondary_calendar_id=saturday)

    def ask(at: str) -> dict[str, Any]:
        response = service.client.get(
            f"/api/v1/services/{sid}/opening-hours", params={"at": at}, headers=service.auth()
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    # Sat 9 Jan 2026 10:00 CET: the secondary's Saturday morning decides.
    morning = ask("2026-01-09T23:30:00Z")
    assert morning["state"] == "closed" and morning["calendar"]["role"] == "primary"
    assert morning["next_change"]["at"] == "2026-01-10T08:00:00Z"
    saturday_answer = ask("2026-01-10T09:00:00Z")
    assert saturday_answer["state"] == "special" and saturday_answer["open"] is True
    assert saturday_answer["calendar"]["role"] == "secondary"
    # Sunday: the primary's default (closed), not the secondary's (open).
    sunday = ask("2026-01-11T09:00:00Z")
    assert sunday["state"] == "closed" and sunday["decided_by"] == "default_state"
    assert sunday["calendar"]["id"] == primary


def test_calendar_state_and_defaults(service: Service) -> None:
    cid = _create(service, "calendars", OFFICE)["id"]
    answer = service.client.get(
        f"/api/v1/calendars/{cid}/state",
        params={"at": "2026-03-03T14:30:00+01:00"},
        headers=service.auth(),
    ).json()
    assert answer["state"] == "open" and answer["calendar"]["role"] is None
    assert answer["at"] == "2026-03-03T13:30:00Z"
    assert answer["next_change"]["at"] == "2026-03-03T17:00:00Z"
    now = service.client.get(f"/api/v1/calendars/{cid}/state", headers=service.auth()).json()
    asked = datetime.fromisoformat(now["at"].replace("Z", "+00:00"))
    assert abs(asked - datetime.now(UTC)) < timedelta(minutes=1)
    # A service without calendars is always open, and never changes.
    sid = _service_with(service)
    always = service.client.get(
        f"/api/v1/services/{sid}/opening-hours", headers=service.auth()
    ).json()
    assert always["state"] == "open" and always["decided_by"] == "no_calendar"
    assert always["calendar"] is None and always["next_change"] is None


def test_bad_instants_and_unknown_ids(service: Service) -> None:
    cid = _create(service, "calendars", OFFICE)["id"]
    url = f"/api/v1/calendars/{cid}/state"
    naive = service.client.get(url, params={"at": "2026-03-03T14:30:00"}, headers=service.auth())
    assert naive.status_code == 422
    assert [(e["code"], e["path"]) for e in naive.json()["errors"]] == [("invalid_format", "at")]
    assert "UTC offset" in naive.json()["detail"]
    far = service.client.get(url, params={"at": "3999-01-01T00:00:00Z"}, headers=service.auth())
    assert far.status_code == 422 and far.json()["errors"][0]["code"] == "out_of_range"
    garbage = service.client.get(url, params={"at": "soon"}, headers=service.auth())
    assert garbage.status_code == 422
    for path, code in (
        ("/api/v1/calendars/nope/state", "calendar_not_found"),
        ("/api/v1/services/nope/opening-hours", "service_not_found"),
    ):
        missing = service.client.get(path, headers=service.auth())
        assert missing.status_code == 404 and missing.json()["code"] == code


def test_a_read_only_key_may_ask_but_not_change(service: Service) -> None:
    cid = _create(service, "calendars", OFFICE)["id"]
    ro = service.auth(service.read_only_a)
    assert service.client.get(f"/api/v1/calendars/{cid}/state", headers=ro).status_code == 200
    refused = service.client.post("/api/v1/calendars", json=OFFICE, headers=ro)
    assert refused.status_code == 403


def test_demo_services_use_their_calendars(tmp_path: Path) -> None:
    tenancy = open_tenancy(tmp_path)
    info = ensure_demo(tenancy)
    state = tenancy.hosts[DEMO_TENANT_ID].engine.state
    assert state.tenant.time_zone == "Europe/Zurich"
    assert all(s.primary_calendar_id in state.calendars for s in state.services.values())
    headers = {"X-API-Key": info.api_key}
    with TestClient(create_app(tenancy=tenancy)) as client:

        def ask(name: str, at: str) -> dict[str, Any]:
            sid = info.service_ids[name]
            response = client.get(
                f"/api/v1/services/{sid}/opening-hours", params={"at": at}, headers=headers
            )
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            return data

        # Christmas Day, 10:00 in Zurich: the front desk is closed for the holiday,
        # the main number (24/7) is open.
        front = ask("front", "2026-12-25T09:00:00Z")
        assert front["state"] == "holiday" and front["calendar"]["time_zone"] == "Europe/Zurich"
        ivr = ask("ivr", "2026-12-25T09:00:00Z")
        assert ivr["state"] == "open" and ivr["next_change"] is None
        # A Tuesday afternoon: open; a Saturday morning: support's secondary line.
        assert ask("sales", "2026-03-03T13:30:00Z")["state"] == "open"
        support = ask("support", "2026-03-07T09:00:00Z")
        assert support["state"] == "special" and support["calendar"]["role"] == "secondary"
