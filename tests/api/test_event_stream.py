"""The SSE event stream over a real HTTP server: replay, live delivery, resume, isolation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from stream_harness import live_server


def _events(lines: Iterator[str], count: int, deadline_s: float = 10) -> list[dict[str, Any]]:
    """Read `count` SSE events (their data, with `id` added)."""
    found: list[dict[str, Any]] = []
    current_id = None
    end = time.monotonic() + deadline_s
    for line in lines:
        if line.startswith("id: "):
            current_id = int(line[4:])
        elif line.startswith("data: ") and current_id is not None:
            data = json.loads(line[6:])
            data["_id"] = current_id
            found.append(data)
            if len(found) >= count:
                return found
        if time.monotonic() > end:
            break
    return found


def _service(base: str, key: str) -> str:
    body = {"name": "Support", "upn": "support@a.test", "user_assignment_type": "teams_based"}
    created = httpx.post(f"{base}/api/v1/services", json=body, headers={"X-API-Key": key})
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    return sid


def test_replay_then_live_then_resume(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        base, key_a = server.base, server.key_a
        sid = _service(base, key_a)
        headers = {"X-API-Key": key_a}
        with httpx.stream(
            "GET", f"{base}/api/v1/events/stream?cursor=0", headers=headers, timeout=15
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            past = _events(lines, 2)  # the tenant record and the service, from the journal
            assert [e["event"] for e in past] == ["config.upserted", "config.upserted"]
            assert past[1]["data"]["entity"]["name"] == "Support"
            assert all(e["tenant_id"] == "tenant-a" for e in past)
            task = httpx.post(
                f"{base}/api/v1/tasks",
                json={"service_id": sid, "kind": "audio_inbound"},
                headers=headers,
            ).json()
            live = _events(lines, 4)
            assert live[0]["event"] == "task.created" and live[0]["data"]["task_id"] == task["id"]
            ids = [e["_id"] for e in past + live]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)
        last_seen = ids[-1]
        httpx.delete(f"{base}/api/v1/tasks/{task['id']}", headers=headers)  # while disconnected
        resumed_headers = {**headers, "Last-Event-ID": str(last_seen)}
        with httpx.stream(
            "GET", f"{base}/api/v1/events/stream", headers=resumed_headers, timeout=15
        ) as stream:
            missed = _events(stream.iter_lines(), 1)
            assert missed[0]["_id"] == last_seen + 1  # nothing lost, nothing repeated
        assert any(e["event"] == "task.terminated" for e in _replay(base, headers, last_seen, 1))


def _replay(base: str, headers: dict[str, str], cursor: int, count: int) -> list[dict[str, Any]]:
    with httpx.stream(
        "GET", f"{base}/api/v1/events/stream?cursor={cursor}", headers=headers, timeout=15
    ) as stream:
        return _events(stream.iter_lines(), count, deadline_s=3)


def test_a_tenant_never_sees_another_tenants_events(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        _service(server.base, server.key_a)
        seen = _replay(
            server.base, {"X-API-Key": server.key_b}, 0, 1
        )  # B has one event: its creation
        assert seen and all(e["tenant_id"] == "tenant-b" for e in seen)
        assert "Support" not in json.dumps(seen)


def test_the_stream_needs_a_key(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        assert httpx.get(f"{server.base}/api/v1/events/stream").status_code == 401
