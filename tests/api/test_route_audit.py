"""Every route is guarded, and no route lets tenant B reach tenant A (10 R1, TI3, TI5).

The route list comes from the application itself, so a new route is covered
without editing this file: it must declare a permission through `require`, and
it is called with B's key and A's ids in its path and body.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from api_harness import Service, service
from fastapi.routing import APIRoute, APIWebSocketRoute
from odata_api_harness import projected, service_session_ids

from switchboard.api.app import create_app
from switchboard.api.tenancy import Settings, Tenancy
from switchboard.store.repositories import PartnerRepository

__all__ = ["service"]

PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/openapi.json",
    "/api/docs",
    "/api/v1/auth/sign-in",  # the credential is in the body
    "/api/v1/auth/system/sign-in",  # the same, for system accounts
}


#: WebSocket routes, and where their permission and tenant isolation are tested.
SOCKETS = {
    "/api/v1/events/ws": "row 18 read, filtered per event, tenant-bound; "
    "test_event_socket.py, test_event_stream_scope.py",
}


def _flatten(routes: list[Any], kind: type[Any] = APIRoute) -> list[Any]:
    """Routes of `kind`, also those inside included routers (FastAPI keeps them nested)."""
    found: list[Any] = []
    for route in routes:
        if isinstance(route, kind):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _flatten(list(route.original_router.routes), kind)
    return found


#: Guarded routes live under the API, or under the voice simulator's control API,
#: which exists in development and test mode only (10 PE2) — the mode built here.
GUARDED_PREFIXES = ("/api/v1/", "/sim/api/", "/odata/")


#: Routes API keys may not use at all (10 K5; reading a tenant record aside).
KEYS_NEVER = ("/api/v1/api-keys", "/api/v1/partners", "/api/v1/tenants")


def _api_routes() -> list[APIRoute]:
    app = create_app(tenancy=Tenancy(Settings(db_url="sqlite://", mode="test")))
    return _flatten(list(app.routes))


def _socket_routes() -> list[APIWebSocketRoute]:
    app = create_app(tenancy=Tenancy(Settings(db_url="sqlite://")))
    return _flatten(list(app.routes), APIWebSocketRoute)


def _guard_scopes(route: APIRoute | APIWebSocketRoute) -> list[Any]:
    return [
        getattr(dep.call, "required_permission", None)
        for dep in route.dependant.dependencies
        if getattr(dep.call, "required_permission", None)
    ]


@pytest.mark.parametrize(
    "route", _api_routes(), ids=lambda r: f"{sorted(r.methods or ())[0]} {r.path}"
)
def test_every_route_declares_its_permission(route: APIRoute) -> None:
    if route.path in PUBLIC:
        return
    assert route.path.startswith(GUARDED_PREFIXES), f"unexpected public route {route.path}"
    assert len(_guard_scopes(route)) == 1, f"{route.path} has no `require(...)` guard"


@pytest.mark.parametrize("route", _socket_routes(), ids=lambda r: f"WEBSOCKET {r.path}")
def test_every_socket_route_declares_its_permission_and_is_tested(
    route: APIWebSocketRoute,
) -> None:
    assert route.path.startswith("/api/v1/"), f"unexpected public socket {route.path}"
    assert len(_guard_scopes(route)) == 1, f"{route.path} has no `require_socket(...)` guard"
    # The isolation test below speaks HTTP; a socket's is where SOCKETS points.
    assert route.path in SOCKETS, f"WebSocket {route.path} has no tests registered in SOCKETS"


def _seed_tenant_a(svc: Service) -> dict[str, str]:
    """Entities in A whose ids B will try, with a marker string B must never see."""
    h = svc.auth()
    post = svc.client.post
    ids: dict[str, str] = {}
    ids["service"] = post(
        "/api/v1/services",
        json={"name": "MARKER-A", "upn": "marker@a.test", "user_assignment_type": "teams_based"},
        headers=h,
    ).json()["id"]
    ids["user"] = post(
        "/api/v1/users",
        json={
            "upn": "marker-user@a.test",
            "display_name": "MARKER-A user",
            "memberships": {ids["service"]: {"service_id": ids["service"]}},
        },
        headers=h,
    ).json()["id"]
    ids["task"] = post(
        "/api/v1/tasks", json={"service_id": ids["service"], "kind": "audio_inbound"}, headers=h
    ).json()["id"]
    ids["ou"] = post(
        "/api/v1/ous", json={"name": "MARKER-A ou", "parent_id": "root"}, headers=h
    ).json()["id"]
    ids["tag"] = post("/api/v1/tags", json={"name": "MARKER-A tag"}, headers=h).json()["id"]
    ids["address_book"] = post(
        "/api/v1/address-books", json={"name": "MARKER-A book"}, headers=h
    ).json()["id"]
    post(
        f"/api/v1/address-books/{ids['address_book']}/contacts",
        json={"external_id": "marker", "display_name": "MARKER-A contact"},
        headers=h,
    )
    ids["workflow"] = post(
        "/api/v1/workflows",
        json={
            "name": "MARKER-A workflow",
            "modality": "external_task",
            "nodes": [
                {"id": "start", "type": "start", "exits": {"next": "bye"}},
                {"id": "bye", "type": "disconnect"},
            ],
        },
        headers=h,
    ).json()["id"]
    ids["key"] = svc.key_a.split("_")[1]
    ids["call"] = post(
        "/sim/api/calls", json={"to": "marker@a.test", "caller": "+41445550199"}, headers=h
    ).json()["id"]
    post(f"/sim/api/calls/{ids['call']}/hangup", headers=h)  # ended: nothing changes A later
    # A's partner, which only system admins see (B's principals are none).
    ids["partner"] = PartnerRepository(svc.tenancy.db).create("MARKER-A partner").id
    svc.tenancy.tenants.set_partner("tenant-a", ids["partner"])
    ids["tenant"] = "tenant-a"
    # A's reports: the ended call's sessions, once the live projection has them (08 §8).
    projected(svc.tenancy, "tenant-a")
    ids["session"] = service_session_ids(svc.tenancy.db, "tenant-a")[0]
    return ids


def _path(route: APIRoute, ids: dict[str, str]) -> str:
    kind_by_segment = {
        "services": "service",
        "users": "user",
        "ous": "ou",
        "tags": "tag",
        "tasks": "task",
        "workflows": "workflow",
        "address-books": "address_book",
    }
    parts = route.path.split("/")
    first = parts[3] if len(parts) > 3 else ""  # /odata/{Set} has no third segment
    entity_id = ids.get(kind_by_segment.get(first, "tag"), ids["tag"])
    path = route.path.replace("{entity_id}", entity_id)
    path = path.replace("{task_id}", ids["task"]).replace("{user_id}", ids["user"])
    path = path.replace("{service_id}", ids["service"]).replace("{action}", "accept")
    path = path.replace("{key_id}", ids["key"]).replace("{call_id}", ids["call"])
    path = path.replace("{template}", "external_task_queue")  # templates belong to no tenant
    path = path.replace("{parameter_id}", "Note")
    path = path.replace("{partner_id}", ids["partner"]).replace("{tenant_id}", ids["tenant"])
    path = path.replace("{key}", ids["session"])  # an OData key: A's service session
    assert "{" not in path, f"unmapped path parameter in {route.path}"
    return path


def _body(ids: dict[str, str]) -> dict[str, Any]:
    """One body that names A's ids wherever a route might look for them."""
    return {
        "service_id": ids["service"],
        "user_id": ids["user"],
        "kind": "audio_inbound",
        "partner_id": ids["partner"],
    }


def test_tenant_b_cannot_read_or_change_anything_of_tenant_a(service: Service) -> None:
    ids = _seed_tenant_a(service)
    host_a = service.tenancy.hosts["tenant-a"]
    seq_before = host_a.engine.state.seq
    other = service.auth(service.key_b)
    tried = 0
    for route in _api_routes():
        if route.path in PUBLIC or route.path == "/api/v1/events/stream":
            continue  # the stream is covered by test_event_stream (tenant-filtered)
        for method in sorted(route.methods or ()):
            tried += 1
            url = _path(route, ids)
            response = service.client.request(method, url, json=_body(ids), headers=other)
            text = response.text
            assert "MARKER-A" not in text, f"{method} {url} leaked A's data"
            for value in ids.values():
                assert value not in text or response.status_code >= 400, (
                    f"{method} {url} answered {response.status_code} mentioning A's id"
                )
            if route.path.startswith(KEYS_NEVER):
                # Keys never manage keys, partners or tenant records: refused before any
                # lookup, so nothing leaks.
                if method != "GET" or not route.path.startswith("/api/v1/tenants"):
                    assert response.status_code == 403, text
                    assert response.json()["code"] == "not_for_api_keys"
                else:  # a key reads its own tenant's record, no other
                    assert response.status_code in (200, 404), text
            elif route.path.startswith("/odata/"):
                # B's own rows, or a key B has no entity for (404), or one that is not a key
                # of that set (400); A's data was checked for above (08 §8, 10 TI4).
                assert response.status_code in (200, 400, 403, 404), (
                    f"{method} {url} answered {response.status_code}: {text[:200]}"
                )
            elif re.search(r"\{[a-z_]+\}", route.path):
                assert response.status_code in (404, 422), (
                    f"{method} {url} with A's id answered {response.status_code}: {text[:200]}"
                )
            else:
                assert response.status_code < 500, f"{method} {url} crashed: {text[:200]}"
    assert tried > 40
    assert host_a.engine.state.seq == seq_before, "a request from B changed A's journal"
    listed = service.client.get("/api/v1/services", headers=service.auth()).json()
    assert json.dumps(listed).count("MARKER-A") == 1  # A's own data is intact
