"""Logs: JSON lines carrying request, tenant and task ids, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from api_harness import Service, service

from switchboard.api.observability import configure_logging

__all__ = ["service"]


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """JSON logging into a buffer for one test; the previous setup is restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers, level = saved
        root.setLevel(level)
        structlog.reset_defaults()


def _lines(text: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_access_lines_carry_ids_and_no_secret(service: Service, json_logs: io.StringIO) -> None:
    body = {"name": "Support", "upn": "support@acme.test", "user_assignment_type": "teams_based"}
    sid = service.client.post("/api/v1/services", json=body, headers=service.auth()).json()["id"]
    task = service.client.post(
        "/api/v1/tasks",
        json={"service_id": sid, "kind": "audio_inbound"},
        headers={**service.auth(), "X-Request-ID": "req-123"},
    )
    assert task.headers["x-request-id"] == "req-123"
    tid = task.json()["id"]
    service.client.get(f"/api/v1/tasks/{tid}", headers=service.auth())
    refused = service.client.get("/api/v1/services", headers={"X-API-Key": service.key_a + "x"})
    assert refused.json()["instance"] == refused.headers["x-request-id"]
    logged = json_logs.getvalue()
    assert service.key_a not in logged  # neither the key nor its secret half
    assert service.key_a.split("_")[2] not in logged
    lines = _lines(logged)
    access = [line for line in lines if line.get("event") == "request"]
    created = next(line for line in access if line.get("request_id") == "req-123")
    assert created["tenant_id"] == "tenant-a" and created["status"] == 201
    read = next(line for line in access if line.get("path") == f"/api/v1/tasks/{tid}")
    assert read["task_id"] == tid and read["tenant_id"] == "tenant-a"
    assert all("timestamp" in line and "level" in line for line in lines)
