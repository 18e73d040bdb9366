"""`switchboard reports rebuild`: the journal projected into the reporting tables again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from switchboard.cli.main import main
from switchboard.engine.scenarios import erlang_scenario
from switchboard.engine.simulation import Simulator, TrafficParams
from switchboard.store.database import create_engine, default_url, migrate, transaction
from switchboard.store.repositories import TenantRepository
from switchboard.store.schema import (
    REPORT_TABLES,
    report_service_aggregates,
    report_service_sessions,
)
from switchboard.store.sql_journal import SqlJournal


def _simulated(var: Path, calls: int = 120) -> None:
    """A tenant 'sim' whose journal holds a short simulated run."""
    db = create_engine(default_url(var), sqlite_synchronous="OFF")
    migrate(db)
    TenantRepository(db).create("Simulation", id="sim")
    scenario = erlang_scenario(3, acw_s=5)
    scenario.entities.insert(0, ("tenant", scenario.tenant))
    params = TrafficParams(arrivals_per_hour=60, aht_s=120, calls=calls, patience_s=60, ring_s=2)
    Simulator(scenario, params, journal=SqlJournal(db, "sim")).run()
    db.dispose()


def _tables(var: Path) -> dict[str, list[tuple[object, ...]]]:
    db = create_engine(default_url(var))
    try:
        with transaction(db, "sim") as connection:
            return {
                t.name: [tuple(r) for r in connection.execute(select(t).order_by(t.c.id))]
                for t in REPORT_TABLES
            }
    finally:
        db.dispose()


def test_rebuild_projects_the_journal_and_gives_the_same_rows_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _simulated(tmp_path)
    assert main(["reports", "rebuild", "--var-dir", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "sim" in printed and "service sessions" in printed
    first = _tables(tmp_path)
    sessions = len(first[report_service_sessions.name])
    assert 110 <= sessions <= 120  # the last calls may still be in after-call work
    assert first["report_service_aggregates"]
    assert main(["reports", "rebuild", "--tenant", "sim", "--var-dir", str(tmp_path)]) == 0
    assert _tables(tmp_path) == first
    db = create_engine(default_url(tmp_path))
    with transaction(db, "sim") as connection:
        aggregates = report_service_aggregates.c
        tasks = connection.execute(
            select(func.sum(aggregates.tasks)).where(aggregates.tenant_id == "sim")
        ).scalar_one()
    db.dispose()
    assert tasks == sessions


def test_an_unknown_tenant_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _simulated(tmp_path, calls=5)
    with pytest.raises(SystemExit):
        main(["reports", "rebuild", "--tenant", "nobody", "--var-dir", str(tmp_path)])
    assert "--tenant names no tenant of this database: nobody" in capsys.readouterr().err
