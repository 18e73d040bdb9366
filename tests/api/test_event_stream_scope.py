"""Each principal's live stream holds what it may see, no more (10 OU5, TI5), on both
transports, replay and live alike.

OUs A and B under the root; in each a service, a worker and a tag, B's named with a
marker. Watching: the owner of service A and a tenant admin (people signed in by
session), an API key scoped to OU A and one scoped to service A, and tenant B.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from stream_harness import (
    LiveServer,
    Person,
    live_server,
    quick_keepalives,
    sse_read,
    sse_replay,
    ws_read,
)
from websockets.sync.client import connect
from websockets.typing import Origin

MARKER = "MARKER-B"


@dataclass
class Scene:
    server: LiveServer
    ids: dict[str, str]
    owner: Person
    admin: Person
    ou_key: str
    service_key: str

    @property
    def b_side(self) -> list[str]:
        """What nobody watching side A may ever receive."""
        return [MARKER] + [v for k, v in self.ids.items() if k.endswith("_b")]


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    quick_keepalives(monkeypatch)
    with live_server(tmp_path) as server:
        call = server.call
        ids: dict[str, str] = {}
        for side in ("a", "b"):
            label = MARKER if side == "b" else "side A"
            ou = ids[f"ou_{side}"] = call(
                "POST", "/api/v1/ous", {"name": f"{label} OU", "parent_id": "root"}
            )["id"]
            ids[f"svc_{side}"] = call(
                "POST",
                "/api/v1/services",
                {
                    "name": f"{label} service",
                    "upn": f"svc-{side}@acme.test",
                    "ou_id": ou,
                    "user_assignment_type": "teams_based",
                },
            )["id"]
            ids[f"worker_{side}"] = call(
                "POST",
                "/api/v1/users",
                {
                    "upn": f"worker-{side}@acme.test",
                    "display_name": f"{label} worker",
                    "ou_id": ou,
                    "memberships": {ids[f"svc_{side}"]: {"service_id": ids[f"svc_{side}"]}},
                },
            )["id"]
            ids[f"tag_{side}"] = call("POST", "/api/v1/tags", {"name": f"{label}", "ou_id": ou})[
                "id"
            ]
        owner = server.person(
            "owner",
            ou_id=ids["ou_a"],
            memberships={ids["svc_a"]: {"service_id": ids["svc_a"], "role": "owner"}},
        )
        admin = server.person("boss", roles=[{"role": "tenant_admin", "scope_type": "tenant"}])
        for side in ("a", "b"):
            call(
                "PUT", f"/api/v1/users/{ids[f'worker_{side}']}/presence", {"presence": "available"}
            )
            task = call(
                "POST", "/api/v1/tasks", {"service_id": ids[f"svc_{side}"], "kind": "audio_inbound"}
            )
            ids[f"task_{side}"] = task["id"]
        for side in ("a", "b"):  # an ended task, and a removed entity, on each side
            call("DELETE", f"/api/v1/tasks/{ids[f'task_{side}']}")
            call("DELETE", f"/api/v1/tags/{ids[f'tag_{side}']}")
        yield Scene(
            server,
            ids,
            owner,
            admin,
            server.key(["flows:read", "config:read"], ou_id=ids["ou_a"]),
            server.key(["flows:read"], service_ids=[ids["svc_a"]]),
        )


def _events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("event")]


def _socket(scene: Scene, headers: dict[str, str], cursor: int | None = None) -> Any:
    query = "" if cursor is None else f"?cursor={cursor}"
    origin = Origin(scene.server.base) if "Cookie" in headers else None
    return connect(
        f"{scene.server.ws}/api/v1/events/ws{query}",
        additional_headers=headers,
        origin=origin,
        open_timeout=10,
    )


def _journal_size(scene: Scene) -> int:
    return scene.server.tenancy.hosts["tenant-a"].engine.state.seq


def test_a_tenant_admin_receives_the_whole_journal(scene: Scene) -> None:
    events = sse_replay(scene.server, scene.admin.cookie_header)
    assert [e["_id"] for e in events] == list(range(1, _journal_size(scene) + 1))
    assert MARKER in json.dumps(events)


@pytest.mark.parametrize("who", ["owner", "ou_key", "service_key"])
def test_scoped_principals_replay_only_side_a(scene: Scene, who: str) -> None:
    headers = (
        scene.owner.cookie_header
        if who == "owner"
        else {"X-API-Key": scene.ou_key if who == "ou_key" else scene.service_key}
    )
    events = sse_replay(scene.server, headers)
    text = json.dumps(events)
    for forbidden in scene.b_side:
        assert forbidden not in text, f"{who} received {forbidden}"
    task_a = [e for e in events if e["data"].get("task_id") == scene.ids["task_a"]]
    # The whole life of the ended task A: created … offered … terminated.
    assert {"task.created", "task.offered", "task.terminated"} <= {e["event"] for e in task_a}
    workers = {e["data"]["user_id"] for e in events if e["event"].startswith("user.")}
    assert scene.ids["worker_a"] in workers
    removed = [e["data"]["id"] for e in events if e["event"] == "config.removed"]
    # Removing a tag is configuration: seen with the right to read tags there.
    assert removed == ([] if who == "service_key" else [scene.ids["tag_a"]])
    # The same stream over WebSocket carries the same events.
    with _socket(scene, headers, cursor=0) as socket_:
        over_ws = _events(ws_read(socket_, _journal_size(scene)))
    assert [m["sequence"] for m in over_ws] == [e["_id"] for e in events]
    assert [m["data"] for m in over_ws] == [e["data"] for e in events]


def test_live_events_follow_the_same_scope(scene: Scene) -> None:
    call = scene.server.call
    with _socket(scene, scene.owner.cookie_header) as socket_:
        ready = json.loads(socket_.recv(timeout=5))
        assert ready == {"type": "ready", "cursor": _journal_size(scene)}
        unseen = call(
            "POST", "/api/v1/tasks", {"service_id": scene.ids["svc_b"], "kind": "audio_inbound"}
        )["id"]
        seen = call(
            "POST", "/api/v1/tasks", {"service_id": scene.ids["svc_a"], "kind": "audio_inbound"}
        )["id"]
        messages = ws_read(socket_, _journal_size(scene))
    events = _events(messages)
    assert events[0]["event"] == "task.created" and events[0]["data"]["task_id"] == seen
    assert unseen not in json.dumps(messages)
    # The cursor moved past B's events all the same (a keep-alive carries it).
    assert messages[-1]["cursor"] == _journal_size(scene)


def test_sse_keep_alives_carry_the_cursor_past_what_is_not_shown(scene: Scene) -> None:
    start = _journal_size(scene)
    headers = {"X-API-Key": scene.service_key}
    with httpx.stream(
        "GET", f"{scene.server.base}/api/v1/events/stream", headers=headers, timeout=15
    ) as stream:
        lines = stream.iter_lines()
        assert [next(lines), next(lines)] == [
            f"id: {start}",
            f": switchboard event stream, after sequence {start}",
        ]
        scene.server.call(
            "POST", "/api/v1/tasks", {"service_id": scene.ids["svc_b"], "kind": "audio_inbound"}
        )
        assert sse_read(lines, _journal_size(scene)) == []  # nothing shown, cursor passed
    # Resuming from there replays nothing of B's task.
    assert sse_replay(scene.server, headers, _journal_size(scene)) == []


def test_another_tenant_sees_none_of_it(scene: Scene) -> None:
    server = scene.server
    everything_of_a = [*scene.ids.values(), "side A", MARKER]
    headers = {"X-API-Key": server.key_b}
    b_seq = server.tenancy.hosts["tenant-b"].engine.state.seq
    with httpx.stream(
        "GET", f"{server.base}/api/v1/events/stream?cursor=0", headers=headers, timeout=15
    ) as stream:
        over_sse = sse_read(stream.iter_lines(), b_seq)
    with _socket(scene, headers, cursor=0) as socket_:
        over_ws = ws_read(socket_, b_seq)
        server.call(
            "POST", "/api/v1/tasks", {"service_id": scene.ids["svc_a"], "kind": "audio_inbound"}
        )  # live in A
        end = time.monotonic() + 0.6
        while (left := end - time.monotonic()) > 0:
            try:
                over_ws.append(json.loads(socket_.recv(timeout=left)))
            except TimeoutError:
                break
    assert over_ws[-1] == {"type": "keepalive", "cursor": b_seq}  # quiet: nothing of A
    text = json.dumps(over_sse) + json.dumps(over_ws)
    assert over_sse and all(e["tenant_id"] == "tenant-b" for e in over_sse)
    for value in everything_of_a:
        assert value not in text
