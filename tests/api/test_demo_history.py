"""The demo tenant with simulated history: real sessions in its reports, from its journal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api_harness import open_tenancy
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from switchboard.api.app import create_app
from switchboard.api.demo import DEMO_TENANT_ID, DEMO_TENANT_NAME, ensure_demo
from switchboard.api.demo_history import HistoryPlan
from switchboard.api.tenancy import Tenancy
from switchboard.domain.enums import Presence
from switchboard.reporting.kpis import Period, service_kpis
from switchboard.store.database import transaction
from switchboard.store.schema import report_service_sessions, report_user_states
from switchboard.store.sql_journal import SqlJournal


def _count(tenancy: Tenancy, table: Table) -> int:
    query = select(func.count()).select_from(table).where(table.c.tenant_id == DEMO_TENANT_ID)
    with transaction(tenancy.db, DEMO_TENANT_ID) as connection:
        count: int = connection.execute(query).scalar_one()
    return count


def test_a_new_demo_starts_with_its_history_projected(tmp_path: Path) -> None:
    tenancy = open_tenancy(tmp_path)
    shown: list[tuple[str, int]] = []

    @contextmanager
    def bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
        shown.append((description, total))
        yield lambda _n: None

    info = ensure_demo(tenancy, history=HistoryPlan(days=2), progress=bar)
    assert info.history is not None and info.history.calls > 100
    assert [d for d, _ in shown] == [
        "simulating 2 days of demo history",
        "projecting it into the reports",
    ]
    journal_end = SqlJournal(tenancy.db, DEMO_TENANT_ID).last_seq()
    assert info.history.events == journal_end
    engine = tenancy.hosts[DEMO_TENANT_ID].engine
    assert engine.state.seq == journal_end and not engine.state.tasks
    agents = [u for u in engine.state.users.values() if u.memberships]
    assert all(engine.state.live[u.id].presence is Presence.OFFLINE for u in agents)
    assert engine.state.tenant.time_zone == "Europe/Zurich"
    projection = tenancy.reports[DEMO_TENANT_ID]
    assert projection.written_seq == journal_end  # nothing left to project at the start
    assert _count(tenancy, report_service_sessions) > 150
    assert _count(tenancy, report_user_states) > 100
    yesterday = datetime.fromtimestamp(info.history.end, UTC) - timedelta(days=1)
    kpis = service_kpis(tenancy.db, DEMO_TENANT_ID, Period.day(yesterday.date(), "Europe/Zurich"))
    assert kpis.tasks > 0 and kpis.asa_s is not None
    # A second start keeps what is there.
    seq = engine.state.seq
    again = ensure_demo(tenancy, history=HistoryPlan(days=2))
    assert again.history is None and tenancy.hosts[DEMO_TENANT_ID].engine.state.seq == seq
    with TestClient(create_app(tenancy=tenancy)) as client:
        listed = client.get("/api/v1/services", headers={"X-API-Key": info.api_key})
        assert listed.status_code == 200 and listed.json()["total"] == 4


def test_a_demo_cut_short_before_its_history_is_made_again(tmp_path: Path) -> None:
    tenancy = open_tenancy(tmp_path)
    tenancy.tenants.create(DEMO_TENANT_NAME, id=DEMO_TENANT_ID)  # then the process died
    tenancy = open_tenancy(tmp_path)
    assert tenancy.hosts[DEMO_TENANT_ID].engine.state.seq == 0
    info = ensure_demo(tenancy, history=HistoryPlan(days=1))
    assert info.history is not None
    assert tenancy.hosts[DEMO_TENANT_ID].engine.state.services
