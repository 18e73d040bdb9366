"""The reporting tables on both databases: writes, additive aggregates, the cursor, KPIs.

Parametrised over SQLite and PostgreSQL by `db_url` (conftest): the aggregates'
upsert and the cursor's compare-and-set are dialect-specific SQL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from switchboard.engine.scenarios import erlang_scenario
from switchboard.engine.simulation import Simulator, TrafficParams
from switchboard.reporting.kpis import Period, service_kpis, user_kpis
from switchboard.reporting.live import LiveProjection
from switchboard.reporting.projection import Projector
from switchboard.reporting.rebuild import rebuild
from switchboard.reporting.rows import to_dt
from switchboard.reporting.storage import CursorMoved, ReportStore
from switchboard.store.database import transaction
from switchboard.store.repositories import Tenant
from switchboard.store.schema import REPORT_TABLES, report_service_aggregates
from switchboard.store.sql_journal import SqlJournal


def _simulate(db: Engine, tenant_id: str, calls: int = 150) -> SqlJournal:
    scenario = erlang_scenario(3, acw_s=5)
    scenario.tenant.id = tenant_id
    scenario.tenant.settings.persist_user_states = True
    scenario.entities.insert(0, ("tenant", scenario.tenant))
    journal = SqlJournal(db, tenant_id)
    params = TrafficParams(arrivals_per_hour=70, aht_s=120, calls=calls, patience_s=60, ring_s=2)
    Simulator(scenario, params, journal=journal, commit_every=500).run()
    return journal


def _rows(db: Engine, tenant_id: str) -> dict[str, list[tuple[object, ...]]]:
    with transaction(db, tenant_id) as connection:
        return {
            t.name: [
                tuple(r)
                for r in connection.execute(
                    select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.id)
                )
            ]
            for t in REPORT_TABLES
        }


def test_incremental_and_rebuilt_tables_agree_and_kpis_read_them(
    migrated: Engine, new_tenant: Callable[[str], Tenant]
) -> None:
    tenant = new_tenant("Reports").id
    journal = _simulate(migrated, tenant)
    events = list(journal.read())
    live = LiveProjection(migrated, tenant, journal.read)
    live.load()  # nothing stored yet: everything is pending
    live.step(final=True)
    assert live.written_seq == events[-1].seq
    incremental = _rows(migrated, tenant)
    assert len(incremental["report_service_sessions"]) >= 140
    assert incremental["report_user_states"] and incremental["report_user_state_aggregates"]
    rebuild(migrated, tenant, chunk_events=700)  # many transactions, aggregates added up
    assert _rows(migrated, tenant) == incremental
    start = to_dt(int(events[0].at // 86_400 * 86_400_000))
    end = to_dt(int(events[-1].at // 86_400 * 86_400_000) + 86_400_000)
    period = Period(start, end)
    from_buckets = service_kpis(migrated, tenant, period, source="aggregates")
    from_sessions = service_kpis(migrated, tenant, period, source="sessions")
    assert from_buckets == from_sessions
    assert from_buckets.tasks == len(incremental["report_service_sessions"])
    users = user_kpis(migrated, tenant, period, source="aggregates")
    assert users == user_kpis(migrated, tenant, period, source="sessions")
    assert users.state_seconds["in_task"] > 0


def test_aggregates_add_up_and_the_cursor_moves_only_from_where_it_is(
    migrated: Engine, new_tenant: Callable[[str], Tenant]
) -> None:
    tenant = new_tenant("Cursor").id
    journal = _simulate(migrated, tenant, calls=30)
    projector = Projector()
    for event in journal.read():
        projector.apply(event)
    out = projector.take()
    store = ReportStore(migrated, tenant)
    half = len(out.service) // 2
    first, second = projector.take(), projector.take()
    first.service, second.service = out.service[:half], out.service[half:]
    store.write(first, after=0, seq=10)
    with pytest.raises(CursorMoved, match="at 10, not at 0"):
        store.write(second, after=0, seq=20)
    store.write(second, after=10, seq=20, snapshot=b"{}")
    cursor = store.cursor()
    assert (cursor.seq, cursor.snapshot_seq, cursor.snapshot) == (20, 20, b"{}")
    a = report_service_aggregates.c
    with transaction(migrated, tenant) as connection:
        tasks = connection.execute(select(a.tasks).where(a.tenant_id == tenant)).scalars().all()
    assert sum(tasks) == len(out.service)  # both halves, added into the same buckets
    assert len(tasks) < len(out.service)  # ... which several sessions share
    other = new_tenant("Other").id
    assert ReportStore(migrated, other).cursor().seq == 0  # each tenant its own cursor
