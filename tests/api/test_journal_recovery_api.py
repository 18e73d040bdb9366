"""A tenant whose journal fails answers 503, reports not ready, then heals by itself.

The fault injector wraps the tenant's real `SqlJournal`; everything it lets
through is really stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from api_harness import Service, service
from fastapi.testclient import TestClient
from stream_harness import live_server

from switchboard.engine.events import Event
from switchboard.runtime.host import TenantHost
from switchboard.store.sql_journal import SqlJournal

__all__ = ["service"]


class FlakyJournal:
    """The tenant's real journal, with the next `fail_appends` appends and `fail_reads` reads
    failing as if the database were down."""

    def __init__(self, inner: SqlJournal) -> None:
        self.inner = inner
        self.fail_appends = 0
        self.fail_reads = 0

    def append(self, events: Sequence[Event]) -> None:
        if self.fail_appends:
            self.fail_appends -= 1
            raise OSError("database unavailable (injected)")
        self.inner.append(events)

    def read(self, after_seq: int = 0) -> Iterator[Event]:
        if self.fail_reads:
            self.fail_reads -= 1
            raise OSError("database unavailable (injected)")
        return self.inner.read(after_seq)

    def last_seq(self) -> int:
        return self.inner.last_seq()


def _flaky(host: TenantHost) -> FlakyJournal:
    assert isinstance(host.journal, SqlJournal)
    flaky = FlakyJournal(host.journal)
    host.journal = flaky
    host.retry_first_s, host.retry_max_s = 0.05, 0.2  # keep the test short
    return flaky


def _wait(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def _metric(client: TestClient | httpx.Client, name: str, tenant: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'{name}{{tenant="{tenant}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"{name} for {tenant} is not in /metrics")


SERVICE = {"name": "Support", "upn": "support@a.test", "user_assignment_type": "teams_based"}


def test_journal_failure_answers_503_until_the_tenant_has_recovered(service: Service) -> None:
    client, auth = service.client, service.auth()
    flaky = _flaky(service.tenancy.hosts["tenant-a"])
    flaky.fail_appends, flaky.fail_reads = 1, 1_000_000  # the database stays down

    refused = client.post("/api/v1/services", json=SERVICE, headers=auth)
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "journal_failed"
    assert "not confirmed" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "recovering" and ready.json()["recovering"] == ["tenant-a"]
    waiting = client.get("/api/v1/services", headers=auth)
    assert waiting.status_code == 503 and waiting.json()["code"] == "tenant_recovering"
    assert "recovering from a journal failure" in waiting.json()["detail"]
    assert 1 <= int(waiting.headers["Retry-After"]) <= 5
    assert _metric(client, "switchboard_tenant_recovering", "tenant-a") == 1
    other = client.get("/api/v1/services", headers=service.auth(service.key_b))
    assert other.status_code == 200  # the other tenant is not affected

    flaky.fail_reads = 0  # the database is back
    _wait(lambda: client.get("/readyz").status_code == 200)
    assert client.get("/api/v1/services", headers=auth).json()["items"] == []  # nothing stored
    created = client.post("/api/v1/services", json=SERVICE, headers=auth)
    assert created.status_code == 201, created.text
    assert _metric(client, "switchboard_journal_recoveries_total", "tenant-a") == 1
    assert _metric(client, "switchboard_journal_failures_total", "tenant-a") == 1
    assert _metric(client, "switchboard_tenant_recovering", "tenant-a") == 0
    assert _metric(client, "switchboard_journal_recoveries_total", "tenant-b") == 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def _next_event(lines: Iterator[str]) -> dict[str, Any]:
    current_id = None
    for line in lines:
        if line.startswith("id: "):
            current_id = int(line[4:])
        elif line.startswith("data: ") and current_id is not None:
            data: dict[str, Any] = json.loads(line[6:])
            data["_id"] = current_id
            return data
    raise AssertionError("the stream ended")


def test_an_open_event_stream_survives_a_recovery(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        base, tenancy = server.base, server.tenancy
        headers = {"X-API-Key": server.key_a}
        sid = httpx.post(f"{base}/api/v1/services", json=SERVICE, headers=headers).json()["id"]
        flaky = _flaky(tenancy.hosts["tenant-a"])
        task = {"service_id": sid, "kind": "audio_inbound"}
        with httpx.stream(
            "GET", f"{base}/api/v1/events/stream?cursor=0", headers=headers, timeout=15
        ) as stream:
            lines = stream.iter_lines()
            past = [_next_event(lines), _next_event(lines)]  # the tenant and the service
            assert [e["_id"] for e in past] == [1, 2]

            flaky.fail_appends, flaky.fail_reads = 1, 1_000_000
            failed = httpx.post(f"{base}/api/v1/tasks", json=task, headers=headers)
            assert failed.status_code == 503 and failed.json()["code"] == "journal_failed"
            # A new stream is refused meanwhile (and leaves no listener behind) ...
            refused = httpx.get(f"{base}/api/v1/events/stream", headers=headers, timeout=5)
            assert refused.status_code == 503
            assert refused.json()["code"] == "tenant_recovering"
            time.sleep(1.5)  # ... while the open one waits through its polls
            flaky.fail_reads = 0
            _wait(lambda: _answers(f"{base}/readyz"))

            created = httpx.post(f"{base}/api/v1/tasks", json=task, headers=headers)
            assert created.status_code == 201, created.text
            following = _next_event(lines)
            # Nothing of the failed request reached the stream; the next event is seq 3.
            assert following["_id"] == 3 and following["event"] == "task.created"
            assert following["data"]["task_id"] == created.json()["id"]
        # The refused stream left no listener behind; the closed one is gone once noticed
        # (the reporting projection's stays).
        reports = tenancy.reports["tenant-a"].on_batch
        _wait(lambda: tenancy.hosts["tenant-a"]._listeners == [reports])
