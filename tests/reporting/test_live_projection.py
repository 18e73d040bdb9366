"""Incremental projection (the service's) and `reports rebuild` give the same rows (RP1).

The run is the demo's simulated traffic — IVR menus, workflow transfers,
voicemails, abandons, RONAs, chats, agents' shifts and breaks — journaled by the
real engine. The incremental side receives it as committed batches of uneven
size, flushes at arbitrary points, misses some batches (a gap it must fill from
the journal), crashes without its last writes, and resumes from its snapshot;
the other side rebuilds from the journal. Both must leave identical tables.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reporting_harness import table_rows
from sqlalchemy import Engine as Database

from switchboard.api.demo_history import HistoryPlan, generate_history
from switchboard.engine.events import Event
from switchboard.reporting.live import LiveProjection
from switchboard.reporting.projection import Output
from switchboard.reporting.rebuild import rebuild
from switchboard.reporting.storage import ReportStore
from switchboard.store.database import create_engine, migrate
from switchboard.store.repositories import TenantRepository
from switchboard.store.schema import report_service_sessions
from switchboard.store.sql_journal import SqlJournal

TENANT = "demo"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """Two days of demo traffic in a tenant's journal (and nothing projected yet)."""
    path = tmp_path_factory.mktemp("history") / "db.sqlite3"
    db = create_engine(f"sqlite:///{path}", sqlite_synchronous="OFF")
    migrate(db)
    TenantRepository(db).create("Demo", id=TENANT)
    # A Tuesday and a Wednesday: working days, so every kind of session occurs.
    generate_history(db, TENANT, "Demo", HistoryPlan(days=2, seed=7), end=1_768_352_400.0)
    yield db
    db.dispose()


class Committed:
    """The journal as the service knows it while the run goes on: up to `seq`."""

    def __init__(self, journal: SqlJournal) -> None:
        self.journal = journal
        self.seq = 0

    def read(self, after: int) -> Iterator[Event]:
        for event in self.journal.read(after):
            if event.seq > self.seq:
                return
            yield event


def _batches(events: list[Event], rng: random.Random) -> Iterator[list[Event]]:
    i = 0
    while i < len(events):
        size = rng.choice((1, 1, 2, 3, 5, 8, 40, 200))
        yield events[i : i + size]
        i += size


def test_incremental_with_a_gap_a_crash_and_a_resume_equals_a_rebuild(history: Database) -> None:
    journal = SqlJournal(history, TENANT)
    events = list(journal.read())
    assert len(events) > 10_000
    ReportStore(history, TENANT).reset()
    rng = random.Random(3)
    committed = Committed(journal)
    read = committed.read
    live = LiveProjection(history, TENANT, read, snapshot_every_s=3600)
    live.load()
    crash_at, snapshot_at, gap_at = len(events) // 2, len(events) // 4, len(events) // 3
    delivered = 0
    for batch in _batches(events, rng):
        delivered += len(batch)
        committed.seq = batch[-1].seq
        if gap_at <= delivered < gap_at + 300:
            continue  # never published: the projection reads them from the journal
        live.on_batch(batch)
        if rng.random() < 0.2:
            if snapshot_at <= delivered and live.snapshot_every_s:
                live.snapshot_every_s = 0  # the next flush saves the in-flight state
                live.step()
                live.snapshot_every_s = 3600
            else:
                live.step()
        if delivered >= crash_at:
            # The process dies: queued batches and anything not flushed are lost.
            crash_at = len(events) + 1
            live = LiveProjection(history, TENANT, read, snapshot_every_s=3600)
            live.load()
            assert live.projector.seq == committed.seq  # resumed, and caught up
    live.step(final=True)
    assert live.written_seq == events[-1].seq and live.lag == 0
    incremental = table_rows(history, TENANT)
    assert sum(len(rows) for rows in incremental.values()) > 5_000
    result = rebuild(history, TENANT)
    assert result.events == len(events) and result.in_flight == 0
    rebuilt = table_rows(history, TENANT)
    assert rebuilt.keys() == incremental.keys()
    for name in rebuilt:
        assert rebuilt[name] == incremental[name], name


def test_the_history_has_every_kind_of_session(history: Database) -> None:
    rebuild(history, TENANT)
    rows = table_rows(history, TENANT)
    service = rows["report_service_sessions"]
    columns = [c.name for c in report_service_sessions.columns]
    outcomes = {row[columns.index("outcome_id")] for row in service}
    assert {2, 4, 5, 10, 11, 13, 15} <= outcomes
    assert {row[columns.index("modality")] for row in service} == {"audio", "chat"}
    assert rows["report_transfer_sessions"] and rows["report_user_states"]
    states = {row[3] for row in rows["report_user_states"]}
    assert {"available", "ringing", "in_task", "in_acw", "not_available", "offline"} <= states


def test_a_rebuild_while_the_service_projects_makes_it_load_again(history: Database) -> None:
    journal = SqlJournal(history, TENANT)
    events = list(journal.read())
    ReportStore(history, TENANT).reset()
    committed = Committed(journal)
    live = LiveProjection(history, TENANT, committed.read)
    live.load()
    committed.seq = 5000
    live.on_batch(events[:5000])
    live.step()
    rebuild(history, TENANT)  # moves the cursor under the live projection
    committed.seq = events[-1].seq
    live.on_batch(events[5000:])
    live.step()  # finds the cursor moved: writes nothing
    assert live.written_seq == 5000
    live.step(final=True)  # loads again from the rebuilt tables, which are current
    assert live.written_seq == events[-1].seq
    assert table_rows(history, TENANT) == _rebuilt(history)


def _rebuilt(db: Database) -> dict[str, list[tuple[object, ...]]]:
    rebuild(db, TENANT)
    return table_rows(db, TENANT)


def test_the_generator_refuses_a_tenant_with_a_journal(history: Database) -> None:
    with pytest.raises(ValueError, match="not empty"):
        generate_history(history, TENANT, "Demo", HistoryPlan(days=1), end=time.time())


def test_a_flush_the_database_refuses_is_written_by_the_next_one(
    history: Database, tmp_path: Path
) -> None:
    journal = SqlJournal(history, TENANT)
    events = list(journal.read())[:3000]
    ReportStore(history, TENANT).reset()
    committed = Committed(journal)
    live = LiveProjection(history, TENANT, committed.read)
    live.load()
    committed.seq = 1500
    live.on_batch(events[:1500])
    store = live.store
    broken = ReportStore(create_engine(f"sqlite:///{tmp_path / 'missing' / 'no.db'}"), TENANT)
    live.store = broken  # a database without the tables: the write fails
    with pytest.raises(Exception, match="no such table"):
        live.step()
    live.store = store
    committed.seq = 3000
    live.on_batch(events[1500:])
    live.step()
    assert live.written_seq == events[-1].seq == live.store.cursor().seq
    rows = table_rows(history, TENANT)
    ReportStore(history, TENANT).reset()
    again = LiveProjection(history, TENANT, committed.read)
    again.load()
    again.step(final=True)
    assert table_rows(history, TENANT) == rows  # the failure lost and doubled nothing


def test_a_saved_state_that_cannot_be_read_is_rebuilt_from_the_journal(history: Database) -> None:
    journal = SqlJournal(history, TENANT)
    rebuild(history, TENANT)
    expected = table_rows(history, TENANT)
    store = ReportStore(history, TENANT)
    cursor = store.cursor()
    store.write(Output(), after=cursor.seq, seq=cursor.seq, snapshot=b'{"tasks": 7}')
    live = LiveProjection(history, TENANT, journal.read)
    live.load()  # folds from the start: nothing is pending, the state is whole again
    assert live.projector.seq == cursor.seq and live.lag == 0
    assert table_rows(history, TENANT) == expected


def test_a_projection_far_behind_catches_up_in_chunks_at_load(history: Database) -> None:
    journal = SqlJournal(history, TENANT)
    expected = _rebuilt(history)
    ReportStore(history, TENANT).reset()  # as after an upgrade that brought the reports
    live = LiveProjection(history, TENANT, journal.read)
    live.load()  # writes a chunk at a time while it folds, keeps the rest for the first flush
    last = journal.last_seq()
    assert 0 < live.written_seq < last == live.projector.seq
    live.step(final=True)
    assert live.written_seq == last
    assert table_rows(history, TENANT) == expected
