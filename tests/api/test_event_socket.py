"""The event stream over WebSocket: who may open it, resuming, overflow, and how it ends.

A real server and the `websockets` client: the handshake's headers (Origin,
Cookie, X-API-Key), refusals as HTTP problem documents, close codes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from stream_harness import LiveServer, StalledSocket, live_server, quick_keepalives, ws_read
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from switchboard.api import event_feed

TASK = {"kind": "audio_inbound"}
SERVICE = {"name": "Support", "upn": "support@acme.test", "user_assignment_type": "teams_based"}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    quick_keepalives(monkeypatch)
    with live_server(tmp_path) as running:
        yield running


def _url(server: LiveServer, query: str = "") -> str:
    return f"{server.ws}/api/v1/events/ws{query}"


def _refusal(url: str, headers: dict[str, str], origin: str | None = None) -> tuple[int, Any]:
    with pytest.raises(InvalidStatus) as refused:
        connect(
            url,
            additional_headers=headers,
            origin=None if origin is None else Origin(origin),
            open_timeout=10,
        )
    response = refused.value.response
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, json.loads(bytes(response.body or b""))


def _seq(server: LiveServer) -> int:
    return server.tenancy.hosts["tenant-a"].engine.state.seq


def _closed_by_server(socket_: Any) -> tuple[list[dict[str, Any]], int, str]:
    """Messages until the server closes; then its close code and reason."""
    received: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            received.append(json.loads(socket_.recv(timeout=10)))
    assert closed.value.rcvd is not None
    return received, closed.value.rcvd.code, closed.value.rcvd.reason


def test_who_may_open_the_socket(server: LiveServer) -> None:
    status, body = _refusal(_url(server), {})
    assert (status, body["code"]) == (401, "unauthenticated")
    status, body = _refusal(_url(server), {"X-API-Key": "sbk_nope"})
    assert (status, body["code"]) == (401, "invalid_credentials")
    config_only = server.key(["config:read"])
    status, body = _refusal(_url(server), {"X-API-Key": config_only})
    assert (status, body["code"]) == (403, "missing_scope")
    status, body = _refusal(_url(server, "?cursor=-1"), {"X-API-Key": server.key_a})
    assert (status, body["errors"][0]["path"]) == (422, "cursor")

    person = server.person("pat")
    cookie = person.cookie_header
    # A page of another site may make the browser send the cookie: refused.
    status, body = _refusal(_url(server), cookie, origin="https://evil.example")
    assert (status, body["code"]) == (403, "cross_origin_request")
    status, body = _refusal(_url(server), cookie)  # no Origin at all
    assert (status, body["code"]) == (403, "cross_origin_request")
    with connect(_url(server), additional_headers=cookie, origin=Origin(server.base)) as socket_:
        assert json.loads(socket_.recv(timeout=5))["type"] == "ready"
    # A key in a header cannot come from a foreign page: no Origin needed.
    with connect(_url(server), additional_headers={"X-API-Key": server.key_a}) as socket_:
        assert json.loads(socket_.recv(timeout=5)) == {"type": "ready", "cursor": _seq(server)}
    # Refused sockets leave nothing behind, closed ones nothing once noticed (the one
    # listener that stays is the tenant's reporting projection).
    listeners = server.tenancy.hosts["tenant-a"]._listeners
    reports = server.tenancy.reports["tenant-a"].on_batch
    end = time.monotonic() + 5
    while listeners != [reports] and time.monotonic() < end:
        time.sleep(0.05)
    assert listeners == [reports]


def test_resuming_from_a_cursor_delivers_exactly_what_was_missed(server: LiveServer) -> None:
    key = {"X-API-Key": server.key_a}
    sid = server.call("POST", "/api/v1/services", SERVICE)["id"]
    with connect(_url(server, "?cursor=0"), additional_headers=key) as socket_:
        first = ws_read(socket_, _seq(server))
    cursor = first[-1]["cursor"]
    assert [m["cursor"] for m in first] == list(range(cursor + 1))  # ready 0, then 1..n
    event = first[-1]
    assert event["type"] == "event" and event["sequence"] == cursor
    assert event["event_id"] == f"tenant-a:{cursor}" and event["tenant_id"] == "tenant-a"
    assert set(event) == {
        "type", "cursor", "event_id", "event", "occurred_at", "tenant_id", "sequence", "data"
    }  # fmt: skip

    task = server.call("POST", "/api/v1/tasks", {"service_id": sid, **TASK})["id"]
    server.call("DELETE", f"/api/v1/tasks/{task}")  # all while disconnected
    journal = list(server.tenancy.hosts["tenant-a"].read_journal(cursor))
    with connect(_url(server, f"?cursor={cursor}"), additional_headers=key) as socket_:
        missed = ws_read(socket_, _seq(server))
        assert missed[0] == {"type": "ready", "cursor": cursor}
        assert [(m["sequence"], m["event"]) for m in missed[1:]] == [
            (e.seq, e.name) for e in journal
        ]
        assert missed[-1]["event"] == "task.terminated"
        # … then live, without a gap.
        server.call("POST", "/api/v1/tasks", {"service_id": sid, **TASK})
        live = json.loads(socket_.recv(timeout=5))
        assert live["event"] == "task.created" and live["cursor"] == journal[-1].seq + 1


def test_a_client_too_slow_is_told_where_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_feed, "BUFFER_BATCHES", 2)
    # A small send buffer on the server's side, and a client that reads nothing: the
    # replay below fills the connection, and live batches pile up behind it.
    with live_server(tmp_path, send_buffer=4096) as server:
        sid = server.call("POST", "/api/v1/services", SERVICE)["id"]
        bulky = {"service_id": sid, **TASK, "custom_context": {"note": "x" * 1000}}
        with httpx.Client(headers={"X-API-Key": server.key_a}) as client:
            for _ in range(300):
                assert client.post(f"{server.base}/api/v1/tasks", json=bulky).status_code == 201
            stalled = StalledSocket(_url(server, "?cursor=0"), {"X-API-Key": server.key_a})
            for _ in range(4):  # four batches, one request each
                client.post(f"{server.base}/api/v1/tasks", json={"service_id": sid, **TASK})
        received = stalled.read_until_closed()
        assert stalled.close_code == 4000
        closing = received[-1]
        assert closing["type"] == "closing" and closing["reason"] == "overflow"
        delivered = [m["cursor"] for m in received if m["type"] == "event"]
        assert delivered == list(range(1, closing["cursor"] + 1))  # nothing skipped
        assert closing["cursor"] < _seq(server)  # the rest is still due …
        with connect(
            _url(server, f"?cursor={closing['cursor']}"),
            additional_headers={"X-API-Key": server.key_a},
        ) as socket_:
            rest = ws_read(socket_, _seq(server))  # … and comes on resuming
        assert [m["cursor"] for m in rest[1:]] == list(
            range(closing["cursor"] + 1, _seq(server) + 1)
        )


def test_a_disabled_user_loses_the_stream(server: LiveServer) -> None:
    person = server.person("pat")
    with connect(
        _url(server),
        additional_headers=person.cookie_header,
        origin=Origin(server.base),
    ) as socket_:
        assert json.loads(socket_.recv(timeout=5))["type"] == "ready"
        user = server.call("GET", f"/api/v1/users/{person.user_id}")
        body = {k: v for k, v in user.items() if k not in ("id", "version")}
        server.call("PUT", f"/api/v1/users/{person.user_id}", {**body, "enabled": False})
        received, code, reason = _closed_by_server(socket_)
    assert code == 4401 and reason == "user_disabled"
    assert received[-1]["type"] == "closing" and received[-1]["close_code"] == 4401


def test_signing_out_ends_the_stream_at_its_next_check(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_feed, "REAUTH_S", 0.3)
    person = server.person("pat")
    with connect(
        _url(server),
        additional_headers=person.cookie_header,
        origin=Origin(server.base),
    ) as socket_:
        assert json.loads(socket_.recv(timeout=5))["type"] == "ready"
        signed_out = httpx.post(
            f"{server.base}/api/v1/auth/sign-out", headers=person.unsafe_headers
        )
        assert signed_out.status_code < 300, signed_out.text
        received, code, reason = _closed_by_server(socket_)
    assert (code, reason) == (4401, "session_expired")
    assert "sign in again" in received[-1]["detail"]


def test_the_stream_closes_when_the_node_stops_serving_the_tenant(server: LiveServer) -> None:
    host = server.tenancy.hosts["tenant-a"]
    with (
        connect(_url(server), additional_headers={"X-API-Key": server.key_a}) as socket_,
        httpx.stream(
            "GET",
            f"{server.base}/api/v1/events/stream",
            headers={"X-API-Key": server.key_a},
            timeout=15,
        ) as sse,
    ):
        assert json.loads(socket_.recv(timeout=5))["type"] == "ready"
        lines = sse.iter_lines()
        next(lines)
        server.on_loop(host.stop)
        received, code, _reason = _closed_by_server(socket_)
        assert code == 1001 and received[-1]["reason"] == "stopping"
        ending = [line for line in lines if line.startswith(("event:", "data:"))]
    assert ending[0] == "event: stream.closed"
    assert json.loads(ending[1].removeprefix("data: "))["reason"] == "stopping"
