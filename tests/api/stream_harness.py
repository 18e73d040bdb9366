"""A real service over HTTP (uvicorn in a thread) for tests that need sockets, and its people.

Streams need a real server: SSE through httpx and WebSocket through the
`websockets` client exercise the transports a browser or program uses (flow
control, handshake headers, close codes), which an in-process test client fakes.
Tenant A is set up by its all-scopes key; people get local accounts and sign in
over HTTP, so their sessions are real cookies.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from switchboard.api.app import create_app
from switchboard.api.keys import issue_api_key
from switchboard.api.tenancy import Settings, Tenancy

ALL_SCOPES = ["config:read", "config:write", "tasks:write", "flows:read"]
PASSWORD = "violet-harbour-lantern-42"


@dataclass(frozen=True)
class Person:
    """A signed-in person: their user id and what their browser holds."""

    user_id: str
    cookie: str
    csrf_token: str
    origin: str

    @property
    def cookie_header(self) -> dict[str, str]:
        return {"Cookie": f"sb_session={self.cookie}"}

    @property
    def unsafe_headers(self) -> dict[str, str]:
        """For a state-changing request from the application's own page."""
        return {**self.cookie_header, "X-CSRF-Token": self.csrf_token, "Origin": self.origin}


@dataclass
class LiveServer:
    base: str
    tenancy: Tenancy
    key_a: str
    key_b: str
    names: count[int] = field(default_factory=count)

    @property
    def port(self) -> int:
        return int(self.base.rpartition(":")[2])

    @property
    def ws(self) -> str:
        return "ws" + self.base.removeprefix("http")

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        response = httpx.request(
            method, self.base + path, json=body, headers={"X-API-Key": key or self.key_a}
        )
        assert response.status_code < 300, (method, path, response.text)
        return response.json() if response.content else None

    def key(self, scopes: list[str], tenant: str = "tenant-a", **scope: Any) -> str:
        return issue_api_key(
            self.tenancy,
            tenant,
            name=f"k{next(self.names)}",
            scopes=scopes,
            created_by="t",
            **scope,
        )

    def person(self, username: str, **user: Any) -> Person:
        """A user with a local account, signed in over HTTP."""
        body = {"upn": f"{username}@acme.test", "display_name": username.title(), **user}
        user_id: str = self.call("POST", "/api/v1/users", body)["id"]
        self.call(
            "PUT", f"/api/v1/users/{user_id}/account", {"username": username, "password": PASSWORD}
        )
        signed = httpx.post(
            self.base + "/api/v1/auth/sign-in", json={"username": username, "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        token = signed.cookies.get("sb_session")
        assert token
        return Person(user_id, token, signed.json()["csrf_token"], self.base)

    def on_loop(self, work: Callable[[], Any]) -> Any:
        """Run a coroutine function on the server's event loop (e.g. stop a tenant)."""
        loop = self.tenancy.hosts["tenant-a"]._task.get_loop()  # type: ignore[union-attr]
        return asyncio.run_coroutine_threadsafe(work(), loop).result(timeout=20)


@contextmanager
def live_server(tmp_path: Path, *, send_buffer: int | None = None) -> Iterator[LiveServer]:
    """`send_buffer` fixes the kernel's send buffer of the server's connections (no
    autotuning), so a client that stops reading blocks the server after little data."""
    tenancy = Tenancy(
        Settings(
            db_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            var_dir=tmp_path,
            secret_key=b"live-stream-pepper-0123456789abc",
        )
    )
    tenancy.open()
    tenancy.create_tenant("A", tenant_id="tenant-a")
    tenancy.create_tenant("B", tenant_id="tenant-b")
    key_a = issue_api_key(tenancy, "tenant-a", name="a", scopes=ALL_SCOPES, created_by="t")
    key_b = issue_api_key(tenancy, "tenant-b", name="b", scopes=ALL_SCOPES, created_by="t")
    listening = socket.socket()
    if send_buffer is not None:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)  # inherited
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(tenancy=tenancy), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started:  # listening, and the tenants' writers run (lifespan done)
        assert time.monotonic() < end and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", tenancy, key_a, key_b)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listening.close()


def sse_read(lines: Iterator[str], upto: int, deadline_s: float = 10) -> list[dict[str, Any]]:
    """SSE messages until the stream has passed sequence `upto` (by an event, or a
    keep-alive's `id`) or says it ends: events' data with `_id` and `_kind` added."""
    found: list[dict[str, Any]] = []
    block: dict[str, str] = {}
    end = time.monotonic() + deadline_s
    for line in lines:
        assert time.monotonic() < end, f"the stream did not pass {upto}; got {found[-3:]}"
        if line:
            name, _, value = line.partition(": ")
            block[name] = value
            continue
        position = int(block["id"]) if "id" in block else None
        if "data" in block:
            data = json.loads(block["data"])
            data["_id"], data["_kind"] = position, block.get("event", "message")
            found.append(data)
            if data["_kind"].startswith("stream."):
                return found
        block = {}
        if position is not None and position >= upto:
            return found
    return found


def sse_replay(
    server: LiveServer, headers: dict[str, str], cursor: int = 0
) -> list[dict[str, Any]]:
    """Everything after `cursor` the principal may see, up to the journal's present end."""
    upto = server.tenancy.hosts["tenant-a"].engine.state.seq
    with httpx.stream(
        "GET", f"{server.base}/api/v1/events/stream?cursor={cursor}", headers=headers, timeout=15
    ) as stream:
        return sse_read(stream.iter_lines(), upto)


def ws_read(socket_: Any, upto: int, deadline_s: float = 10) -> list[dict[str, Any]]:
    """WebSocket messages until the cursor has passed `upto`, or a `closing` message."""
    found: list[dict[str, Any]] = []
    end = time.monotonic() + deadline_s
    while True:
        message = json.loads(socket_.recv(timeout=max(0.1, end - time.monotonic())))
        found.append(message)
        if message["type"] == "closing" or message["cursor"] >= upto:
            return found


class StalledSocket:
    """A WebSocket client that reads nothing until asked: the server's sends back up.

    The `websockets` library's sans-I/O protocol over a plain socket with a small
    receive buffer; the library's threaded client would keep reading into memory.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        from websockets.client import ClientProtocol
        from websockets.http11 import Response
        from websockets.uri import parse_uri

        uri = parse_uri(url)
        self.protocol = ClientProtocol(uri, max_size=None)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect((uri.host, uri.port))
        request = self.protocol.connect()
        for name, value in headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._flush()
        self.texts: list[dict[str, Any]] = []
        self.close_code: int | None = None
        while not any(isinstance(e, Response) for e in self._receive()):
            pass
        assert self.protocol.handshake_exc is None, self.protocol.handshake_exc

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def _receive(self) -> list[Any]:
        from websockets.frames import Close, Frame, Opcode

        data = self.sock.recv(65536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        events = self.protocol.events_received()
        for event in events:
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.texts.append(json.loads(bytes(event.data)))
            elif isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                self.close_code = Close.parse(event.data).code
        self._flush()
        return events

    def read_until_closed(self, deadline_s: float = 15) -> list[dict[str, Any]]:
        """Everything the server sent, until it closed the connection."""
        end = time.monotonic() + deadline_s
        while self.close_code is None:
            assert time.monotonic() < end, f"not closed; last messages {self.texts[-2:]}"
            self._receive()
        self.sock.close()
        return self.texts


def quick_keepalives(monkeypatch: Any) -> None:
    """Streams wake every 0.1 s and send a keep-alive (with the cursor) after 0.2 s of quiet,
    so a test learns quickly that a stream has passed events it may not see."""
    from switchboard.api import event_feed

    monkeypatch.setattr(event_feed, "POLL_S", 0.1)
    monkeypatch.setattr(event_feed, "KEEPALIVE_S", 0.2)
