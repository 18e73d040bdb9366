"""The running service keeps reports current, and a restart resumes them (08 RP1).

A real service (the app with its lifespan) handles calls over the API; the
tenant's reports are written while it runs, completed at its graceful stop, and
a restarted service finds nothing left to project. The rows equal a rebuild's.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from switchboard.api.app import create_app
from switchboard.api.demo import DEMO_TENANT_ID, ensure_demo
from switchboard.api.tenancy import Settings, Tenancy
from switchboard.reporting.rebuild import rebuild
from switchboard.store.database import transaction
from switchboard.store.schema import REPORT_TABLES, report_service_sessions
from switchboard.store.sql_journal import SqlJournal


class OfficeHours:
    """Real time, moved to a Monday morning in Zurich: the demo's front desk is open."""

    def __init__(self) -> None:
        self.offset = 1_768_809_600.0 - time.time()  # 2026-01-19 09:00 Europe/Zurich

    def now(self) -> float:
        return time.time() + self.offset


def _tenancy(tmp_path: Path) -> Tenancy:
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        var_dir=tmp_path,
        secret_key=b"reports-test-pepper-0123456789ab",
    )
    tenancy = Tenancy(settings, clock=OfficeHours())
    tenancy.open()
    return tenancy


def _rows(tenancy: Tenancy) -> dict[str, list[tuple[object, ...]]]:
    with transaction(tenancy.db, DEMO_TENANT_ID) as connection:
        return {
            t.name: [
                tuple(r)
                for r in connection.execute(
                    select(t).where(t.c.tenant_id == DEMO_TENANT_ID).order_by(t.c.id)
                )
            ]
            for t in REPORT_TABLES
        }


def test_calls_handled_over_the_api_are_reported_and_a_restart_resumes(tmp_path: Path) -> None:
    tenancy = _tenancy(tmp_path)
    info = ensure_demo(tenancy)
    headers = {"X-API-Key": info.api_key}
    api = "/api/v1"
    with TestClient(create_app(tenancy=tenancy)) as client:
        presence = {"presence": "available"}
        assert client.put(
            f"{api}/users/user-farid/presence", json=presence, headers=headers
        ).is_success
        for _ in range(3):
            created = client.post(
                f"{api}/tasks",
                json={"service_id": "svc-front", "kind": "audio_inbound"},
                headers=headers,
            )
            assert created.status_code == 201, created.text
            task_id = created.json()["id"]
            for action in ("accept", "hangup"):
                done = client.post(
                    f"{api}/tasks/{task_id}/{action}",
                    json={"user_id": "user-farid"},
                    headers=headers,
                )
                assert done.status_code == 200, done.text
        waiting = client.post(
            f"{api}/tasks",
            json={"service_id": "svc-support", "kind": "audio_inbound"},
            headers=headers,
        ).json()["id"]
        client.post(f"{api}/tasks/{waiting}/customer-hangup", headers=headers)
        projection = tenancy.reports[DEMO_TENANT_ID]
        deadline = time.monotonic() + 10
        while projection.written_seq < tenancy.hosts[DEMO_TENANT_ID].engine.state.seq:
            assert time.monotonic() < deadline, "the reports did not catch up while running"
            time.sleep(0.05)
        assert len(_rows(tenancy)[report_service_sessions.name]) == 4  # written while running
    journal_end = SqlJournal(tenancy.db, DEMO_TENANT_ID).last_seq()
    live = _rows(tenancy)
    again = _tenancy(tmp_path)  # a new process: resumes from the saved state
    resumed = again.reports[DEMO_TENANT_ID]
    assert resumed.written_seq == resumed.projector.seq == journal_end and resumed.lag == 0
    rebuild(again.db, DEMO_TENANT_ID)
    assert _rows(again) == live
    column = [c.name for c in report_service_sessions.columns].index("outcome_id")
    outcomes = sorted(int(str(row[column])) for row in live[report_service_sessions.name])
    assert outcomes == [2, 5, 5, 5]  # three answered, one hung up during the welcome
