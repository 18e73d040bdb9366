"""The OData feed over HTTP: credentials, scope, paging links, negotiation, errors (08 §8).

The service is real (`api_harness`); session rows come from the live projection
of tasks the API created, or are written into the reporting tables directly where
a test needs rows the engine cannot make yet.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from api_harness import Service, service
from odata_api_harness import insert_rows, projected, reporting_key

from switchboard.api.keys import issue_api_key
from switchboard.api.observability import configure_logging
from switchboard.store.schema import report_service_sessions, report_user_states

__all__ = ["service"]


def _ended_tasks(svc: Service, count: int) -> str:
    """A service with `count` tasks created and cancelled through the API; its id."""
    h = svc.auth()
    service_id = svc.client.post(
        "/api/v1/services",
        json={"name": "Front desk", "upn": "desk@a.test", "user_assignment_type": "teams_based"},
        headers=h,
    ).json()["id"]
    for _ in range(count):
        task = svc.client.post(
            "/api/v1/tasks", json={"service_id": service_id, "kind": "audio_inbound"}, headers=h
        ).json()["id"]
        assert svc.client.delete(f"/api/v1/tasks/{task}", headers=h).status_code == 204
    projected(svc.tenancy, "tenant-a")
    return str(service_id)


def test_sessions_the_service_made_are_read_with_each_credential_form(service: Service) -> None:
    service_id = _ended_tasks(service, 3)
    key = reporting_key(service.tenancy, "tenant-a")
    url = "/odata/ServiceSessions"
    query = {"$filter": f"ServiceId eq '{service_id}'", "$expand": "Outcome"}
    for credential in (
        {"headers": {"Authorization": f"Bearer {key}"}},
        {"headers": {"X-API-Key": key}},
        {"params": {"api_key": key}},
    ):
        kwargs: dict[str, Any] = {"params": {**query, **credential.get("params", {})}}
        answer = service.client.get(url, headers=credential.get("headers"), **kwargs)
        assert answer.status_code == 200, answer.text
        assert answer.headers["odata-version"] == "4.0"
        assert answer.headers["content-type"].startswith("application/json;odata.metadata=minimal")
        body = answer.json()
        assert body["@odata.context"] == "http://testserver/odata/$metadata#ServiceSessions"
        assert len(body["value"]) == 3
        assert {s["Outcome"]["Code"] for s in body["value"]} == {"task_cancelled"}  # 08 §3.3 D7


def test_keys_and_people_without_the_reporting_right_are_refused(service: Service) -> None:
    config_key = issue_api_key(
        service.tenancy, "tenant-a", name="config", scopes=["config:read"], created_by="test"
    )
    answer = service.client.get("/odata/ServiceSessions", headers=service.auth(config_key))
    assert answer.status_code == 403
    assert answer.headers["odata-version"] == "4.0"
    assert answer.json() == {
        "error": {
            "code": "missing_scope",
            "message": "This credential lacks the 'reporting:read' permission this request needs.",
            "target": None,
            "details": [],
        }
    }
    answer = service.client.get("/odata/ServiceSessions", params={"api_key": "sbk_nope_nope"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error"]["code"] == "invalid_credentials"
    anonymous = service.client.get("/odata/$metadata")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"
    # 08 §7, PM4: a key stands for a tenant admin, who reads no user states
    states = service.client.get(
        "/odata/UserStates", params={"api_key": reporting_key(service.tenancy, "tenant-a")}
    )
    assert states.status_code == 403 and states.json()["error"]["code"] == "missing_permission"


def test_a_key_scoped_to_services_reads_only_their_rows(service: Service) -> None:
    insert_rows(
        service.tenancy.db,
        "tenant-a",
        report_service_sessions,
        [{"service_id": "svc-1"}, {"service_id": "svc-2"}, {"service_id": "svc-1"}],
    )
    narrow = reporting_key(service.tenancy, "tenant-a", service_ids=["svc-1"])
    body = service.client.get(
        "/odata/ServiceSessions", params={"api_key": narrow, "$count": "true"}
    ).json()
    assert body["@odata.count"] == 2
    assert {s["ServiceId"] for s in body["value"]} == {"svc-1"}
    other = service.client.get(
        "/odata/ServiceSessions/$count",
        params={"api_key": reporting_key(service.tenancy, "tenant-b")},
    )
    assert (other.status_code, other.text) == (200, "0")  # tenant B has none of them


def test_next_links_are_absolute_keep_the_query_and_never_the_key(service: Service) -> None:
    ids = insert_rows(
        service.tenancy.db, "tenant-a", report_service_sessions, [{} for _ in range(7)]
    )
    key = reporting_key(service.tenancy, "tenant-a")
    seen: list[str] = []
    answer = service.client.get(
        "/odata/ServiceSessions",
        params={"api_key": key, "$select": "Id", "$orderby": "StartedAt desc"},
        headers={"Prefer": "odata.maxpagesize=3"},
    )
    assert answer.headers["preference-applied"] == "odata.maxpagesize=3"
    while True:
        body = answer.json()
        seen += [e["Id"] for e in body["value"]]
        link = body.get("@odata.nextLink")
        if link is None:
            break
        assert link.startswith("http://testserver/odata/ServiceSessions?")
        assert key not in link and "api_key" not in link
        query = dict(parse_qsl(urlsplit(link).query))
        assert query["$select"] == "Id" and query["$orderby"] == "StartedAt desc"
        # as Power BI does: its ApiKeyName parameter is added to every request
        answer = service.client.get(
            f"{link}&api_key={key}", headers={"Prefer": "odata.maxpagesize=3"}
        )
    assert sorted(seen) == sorted(ids) and len(seen) == 7


def test_the_service_document_and_metadata(service: Service) -> None:
    key = reporting_key(service.tenancy, "tenant-a")
    document = service.client.get("/odata/", headers={"X-API-Key": key}).json()
    assert document["@odata.context"] == "http://testserver/odata/$metadata"
    names = [s["name"] for s in document["value"]]
    assert {"UnifiedSessions", "ServiceSessions", "UserSessions", "TransferSessions"} <= set(names)
    assert all(s["kind"] == "EntitySet" and s["url"] == s["name"] for s in document["value"])
    metadata = service.client.get("/odata/$metadata", headers={"X-API-Key": key})
    assert metadata.headers["content-type"].startswith("application/xml")
    assert metadata.headers["odata-version"] == "4.0"
    assert b'<Schema Namespace="Switchboard.Reporting">' in metadata.content


@pytest.mark.parametrize(
    ("params", "headers", "status", "code", "target"),
    [
        ({"$filter": "Nope eq 1"}, {}, 400, "unknown_property", "Nope"),
        ({"$orderby": "A,B,C,D"}, {}, 400, "invalid_query", "$orderby"),
        ({"$top": "5001"}, {}, 400, "invalid_query", "$top"),
        ({"$expand": "Service,Outcome,UserSessions"}, {}, 400, "invalid_query", "$expand"),
        ({"$expand": "Service($filter=Name eq 'x')"}, {}, 501, "not_implemented", "$filter"),
        ({"$search": "x"}, {}, 501, "not_implemented", "$search"),
        ({"$apply": "groupby((ServiceId))"}, {}, 501, "not_implemented", "$apply"),
        ({"$bogus": "1"}, {}, 400, "invalid_query", "$bogus"),
        ({"$format": "atom"}, {}, 406, "not_acceptable", None),
        ({}, {"Accept": "application/json;odata.metadata=full"}, 406, "not_acceptable", None),
        ({}, {"Accept": "application/xml"}, 406, "not_acceptable", None),
        ({}, {"OData-MaxVersion": "3.0"}, 400, "unsupported_version", "OData-MaxVersion"),
    ],
)
def test_refusals_are_odata_errors_naming_what(
    service: Service,
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
    code: str,
    target: str | None,
) -> None:
    key = reporting_key(service.tenancy, "tenant-a")
    answer = service.client.get(
        "/odata/ServiceSessions", params={"api_key": key, **params}, headers=headers
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["odata-version"] == "4.0"
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert (error["code"], error["target"]) == (code, target)
    assert error["message"] and set(error) == {"code", "message", "target", "details"}


def test_other_methods_unknown_paths_and_keys(service: Service) -> None:
    key = reporting_key(service.tenancy, "tenant-a")
    [session_id] = insert_rows(service.tenancy.db, "tenant-a", report_service_sessions, [{}])
    write = service.client.post("/odata/ServiceSessions", params={"api_key": key}, json={})
    assert write.status_code == 501 and write.json()["error"]["code"] == "not_implemented"
    unknown = service.client.get("/odata/Nothing", params={"api_key": key})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    one = service.client.get(f"/odata/ServiceSessions({session_id})", params={"api_key": key})
    assert one.status_code == 200
    assert one.json()["@odata.context"].endswith("$metadata#ServiceSessions/$entity")
    assert one.json()["Id"] == session_id
    quoted = service.client.get(f"/odata/ServiceSessions('{session_id}')", params={"api_key": key})
    assert quoted.json()["Id"] == session_id
    other = reporting_key(service.tenancy, "tenant-b")
    hidden = service.client.get(f"/odata/ServiceSessions({session_id})", params={"api_key": other})
    assert hidden.status_code == 404  # another tenant's id: like a missing one (10 TI3)
    bad = service.client.get("/odata/OutcomeGroups(abc)", params={"api_key": key})
    assert bad.status_code == 400 and bad.json()["error"]["target"] == "Id"
    group = service.client.get("/odata/OutcomeGroups(3)", params={"api_key": key}).json()
    assert (group["Code"], group["Handled"]) == ("hangup_by_customer", False)
    none = service.client.get(
        "/odata/OutcomeGroups",
        params={"api_key": key, "$top": "1"},
        headers={"Accept": "application/json;odata.metadata=none"},
    )
    assert "@odata.context" not in none.json() and len(none.json()["value"]) == 1


def test_concurrent_requests_beyond_the_tenants_limit_get_429(service: Service) -> None:
    limits = service.client.app.state.odata_limits  # type: ignore[attr-defined]
    key = reporting_key(service.tenancy, "tenant-a")
    limits.running["tenant-a"] = limits.per_tenant  # twenty requests in flight
    try:
        refused = service.client.get("/odata/ServiceSessions", params={"api_key": key})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "too_many_requests"
        other = reporting_key(service.tenancy, "tenant-b")
        assert (
            service.client.get("/odata/ServiceSessions", params={"api_key": other}).status_code
            == 200
        )
    finally:
        limits.running.pop("tenant-a")


def test_people_read_what_08_section_7_gives_their_roles(service: Service) -> None:
    h = service.auth()
    post = service.client.post
    ou = post("/api/v1/ous", json={"name": "Sales", "parent_id": "root"}, headers=h).json()["id"]
    mine = post(
        "/api/v1/services",
        json={
            "name": "Mine",
            "upn": "mine@a.test",
            "user_assignment_type": "teams_based",
            "ou_id": ou,
        },
        headers=h,
    ).json()["id"]
    agent = post(
        "/api/v1/users", json={"upn": "ag@a.test", "display_name": "Agent", "ou_id": ou}, headers=h
    ).json()["id"]
    insert_rows(
        service.tenancy.db,
        "tenant-a",
        report_service_sessions,
        [{"service_id": mine}, {"service_id": "elsewhere"}],
    )
    insert_rows(
        service.tenancy.db,
        "tenant-a",
        report_user_states,
        [{"user_id": agent}, {"user_id": "someone-else"}],
    )
    owner = _person(
        service, "owner", {"memberships": {mine: {"service_id": mine, "role": "owner"}}}
    )
    supervisor = _person(
        service,
        "usersup",
        {"roles": [{"role": "user_supervisor", "scope_type": "ou", "scope_id": ou}]},
    )
    sessions = service.client.get("/odata/ServiceSessions", headers=owner).json()["value"]
    assert [s["ServiceId"] for s in sessions] == [mine]
    assert service.client.get("/odata/UserStates", headers=owner).status_code == 403
    states = service.client.get("/odata/UserStates", headers=supervisor).json()["value"]
    assert [s["UserId"] for s in states] == [agent]
    assert service.client.get("/odata/ServiceSessions", headers=supervisor).status_code == 403
    expanded = service.client.get(
        "/odata/ServiceSessions", params={"$expand": "Service($select=Name)"}, headers=owner
    ).json()["value"]
    assert expanded[0]["Service"] == {"Name": "Mine"}


def _person(svc: Service, name: str, extra: dict[str, Any]) -> dict[str, str]:
    h = svc.auth()
    user = svc.client.post(
        "/api/v1/users",
        json={"upn": f"{name}@a.test", "display_name": name, **extra},
        headers=h,
    ).json()
    password = "correct horse battery staple"
    account = svc.client.put(
        f"/api/v1/users/{user['id']}/account",
        json={"username": name, "password": password},
        headers=h,
    )
    assert account.status_code == 200, account.text
    signed = svc.client.post("/api/v1/auth/sign-in", json={"username": name, "password": password})
    assert signed.status_code == 200, signed.text
    token = signed.cookies.get("sb_session")
    svc.client.cookies.clear()
    return {"Cookie": f"sb_session={token}"}


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers, root.level = handlers, level


def test_the_api_key_in_the_query_never_reaches_the_logs(
    service: Service, json_logs: io.StringIO
) -> None:
    """10 SE1-SE3, 08 OD11."""
    key = reporting_key(service.tenancy, "tenant-a")
    assert service.client.get("/odata/ServiceSessions", params={"api_key": key}).status_code == 200
    wrong = key[:-4] + "AAAA"
    assert (
        service.client.get("/odata/ServiceSessions", params={"api_key": wrong}).status_code == 401
    )
    logged = json_logs.getvalue()
    assert '"path": "/odata/ServiceSessions"' in logged
    assert key not in logged and wrong not in logged
    assert key.split("_")[2] not in logged  # not even the secret part
    for line in logged.splitlines():
        json.loads(line)


def test_the_feed_is_routed_first_and_other_paths_as_before(service: Service) -> None:
    """`FeedFirst` hands `/odata/...` to the feed's router before the API's routers, and
    every other path past it; names, listings and the OpenAPI document are unchanged."""
    from starlette.routing import Match

    from switchboard.api.routes.odata import FeedFirst

    app: Any = service.client.app
    first = app.router.routes[0]
    assert isinstance(first, FeedFirst)

    def matched(path: str, method: str = "GET") -> Match:
        scope = {"type": "http", "path": path, "method": method, "root_path": "",
                 "headers": [], "query_string": b""}  # fmt: skip
        match, _ = first.matches(scope)
        return match

    assert matched("/odata/ServiceSessions") == Match.FULL
    assert matched("/odata/ServiceSessions/$count") == Match.FULL
    assert matched("/odata/") == Match.FULL
    assert matched("/odata/ServiceSessions", "POST") == Match.PARTIAL  # answered 501
    for other in ("/odatax", "/api/v1/services", "/healthz", "/odata/Nope"):
        assert matched(other) == Match.NONE
    assert app.url_path_for("odata_ServiceSessions") == "/odata/ServiceSessions"
    assert service.client.get("/api/openapi.json").status_code == 200
    assert service.client.get("/healthz").status_code == 200
    answer = service.client.get("/odata/Nope", headers=service.auth())
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
