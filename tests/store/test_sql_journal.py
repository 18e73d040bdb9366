"""SqlJournal on SQLite and PostgreSQL: the guarantees of SqliteJournal, and engine restore."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest
from journal_scenario import CountingIds, drain, load_tick, set_up, snapshot, tenant
from sqlalchemy import Engine, event, select

from switchboard.domain import config as cfg
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine as RoutingEngine
from switchboard.engine.engine import JournalPort
from switchboard.engine.events import Event
from switchboard.store.codec import encode_event
from switchboard.store.database import transaction
from switchboard.store.journal import DuplicateSeqError, JournalError, JournalGapError
from switchboard.store.repositories import Tenant
from switchboard.store.schema import journal as journal_table
from switchboard.store.sql_journal import READ_CHUNK, SqlJournal

T0 = 1_767_225_600.0

NewTenant = Callable[[str], Tenant]


def events(first: int, last: int, name: str = "task.created") -> list[Event]:
    return [
        Event(name, T0 + seq / 10, {"task_id": f"t{seq}", "n": seq, "l": [seq, None]}, seq)
        for seq in range(first, last + 1)
    ]


@pytest.fixture
def journal(migrated: Engine, new_tenant: NewTenant) -> SqlJournal:
    return SqlJournal(migrated, new_tenant("Acme").id)


def stored_rows(journal: SqlJournal) -> list[tuple[Any, ...]]:
    c = journal_table.c
    query = (
        select(c.seq, c.name, c.at, c.data).where(c.tenant_id == journal.tenant_id).order_by(c.seq)
    )
    with transaction(journal.engine) as connection:
        return [tuple(row) for row in connection.execute(query)]


# ---------------------------------------------------------------------- append / read


def test_is_a_journal_port(journal: SqlJournal) -> None:
    port: JournalPort = journal
    assert port is journal


def test_append_and_read_round_trip(journal: SqlJournal) -> None:
    entity = cfg.Tag(id="vip", name="VIP")
    batch = [Event("config.upserted", T0, {"type": "tag", "entity": entity}, 1), *events(2, 5)]
    journal.append(batch)
    assert list(journal.read()) == batch
    assert journal.last_seq() == 5


def test_rows_hold_the_codec_encoding(journal: SqlJournal) -> None:
    batch = events(1, 3)
    journal.append(batch)
    assert stored_rows(journal) == [(e.seq, e.name, e.at, encode_event(e)) for e in batch]


def test_empty_journal(journal: SqlJournal) -> None:
    assert journal.last_seq() == 0
    assert list(journal.read()) == []
    journal.append([])
    assert journal.last_seq() == 0


def test_read_after_seq(journal: SqlJournal) -> None:
    journal.append(events(1, 3))
    journal.append(events(4, 10))
    assert [e.seq for e in journal.read(after_seq=6)] == [7, 8, 9, 10]
    assert [e.seq for e in journal.read(after_seq=10)] == []
    assert journal.read_chunk == READ_CHUNK


def test_read_streams_in_chunks_each_in_its_own_query(
    migrated: Engine, new_tenant: NewTenant
) -> None:
    journal = SqlJournal(migrated, new_tenant("Acme").id, read_chunk=3)
    journal.append(events(1, 10))
    selects: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "journal" in statement:
            selects.append(statement)

    event.listen(migrated, "before_cursor_execute", count)
    try:
        assert [e.seq for e in journal.read(after_seq=2)] == list(range(3, 11))
    finally:
        event.remove(migrated, "before_cursor_execute", count)
    assert len(selects) == 3  # 3+3+2 rows: the short chunk ends the stream
    with pytest.raises(ValueError, match="read_chunk"):
        SqlJournal(migrated, "x", read_chunk=0)


def test_read_is_lazy_and_sees_later_appends(migrated: Engine, new_tenant: NewTenant) -> None:
    journal = SqlJournal(migrated, new_tenant("Acme").id, read_chunk=2)
    journal.append(events(1, 3))
    reader = journal.read()
    assert next(reader).seq == 1
    journal.append(events(4, 5))  # no transaction is held open by the reader
    assert [e.seq for e in reader] == [2, 3, 4, 5]


def test_tenants_have_separate_sequences(migrated: Engine, new_tenant: NewTenant) -> None:
    a = SqlJournal(migrated, new_tenant("A").id)
    b = SqlJournal(migrated, new_tenant("B").id)
    a.append(events(1, 4))
    b.append(events(1, 2, name="task.queued"))
    assert [(e.seq, e.name) for e in a.read()] == [(s, "task.created") for s in range(1, 5)]
    assert [(e.seq, e.name) for e in b.read()] == [(1, "task.queued"), (2, "task.queued")]
    assert (a.last_seq(), b.last_seq()) == (4, 2)


def test_unknown_tenant_is_refused(migrated: Engine) -> None:
    journal = SqlJournal(migrated, "no-such-tenant")
    with pytest.raises(JournalError, match="does not exist"):
        journal.append(events(1, 1))
    assert journal.last_seq() == 0


# ---------------------------------------------------------------------- seq guarantees


def test_duplicate_seq_is_rejected(journal: SqlJournal) -> None:
    journal.append(events(1, 3))
    with pytest.raises(DuplicateSeqError, match="seq 3, the journal expects 4"):
        journal.append(events(3, 5))
    with pytest.raises(DuplicateSeqError):
        journal.append(events(1, 1))
    assert [e.seq for e in journal.read()] == [1, 2, 3]


def test_a_second_writer_is_checked_against_the_database(
    journal: SqlJournal, migrated: Engine
) -> None:
    other = SqlJournal(migrated, journal.tenant_id)
    journal.append(events(1, 3))
    with pytest.raises(DuplicateSeqError):
        other.append(events(1, 2))
    other.append(events(4, 4))  # a writer that continues the journal is fine
    with pytest.raises(DuplicateSeqError):
        journal.append(events(4, 5))
    assert [e.seq for e in journal.read()] == [1, 2, 3, 4]


class BlindJournal(SqlJournal):
    """A writer whose seq check sees an empty journal, as a concurrent writer might."""

    def _last_query(self) -> Any:
        return select(None)  # type: ignore[call-overload]


def test_the_primary_key_stops_a_writer_that_passed_the_check(journal: SqlJournal) -> None:
    journal.append(events(1, 3))
    blind = BlindJournal(journal.engine, journal.tenant_id)
    with pytest.raises(DuplicateSeqError, match="another writer"):
        blind.append(events(1, 2))
    assert stored_rows(journal) == [(e.seq, e.name, e.at, encode_event(e)) for e in events(1, 3)]


def test_gaps_are_rejected(journal: SqlJournal) -> None:
    with pytest.raises(JournalGapError, match="seq 2, the journal expects 1"):
        journal.append(events(2, 3))
    journal.append(events(1, 2))
    with pytest.raises(JournalGapError):
        journal.append(events(4, 5))
    with pytest.raises(JournalGapError):  # a gap inside the batch stores nothing of it
        journal.append([*events(3, 3), *events(5, 5)])
    assert [e.seq for e in journal.read()] == [1, 2]


def test_failed_encoding_stores_nothing(journal: SqlJournal) -> None:
    journal.append(events(1, 1))
    bad = [*events(2, 2), Event("task.created", T0, {"x": object()}, 3)]
    with pytest.raises(TypeError):
        journal.append(bad)
    assert journal.last_seq() == 1
    journal.append(events(2, 3))
    assert [e.seq for e in journal.read()] == [1, 2, 3]


# ---------------------------------------------------------------------- engine restore


def test_engine_restores_from_the_sql_journal_and_journals_on(journal: SqlJournal) -> None:
    clock = VirtualClock(T0)
    ids = CountingIds("o")
    live = RoutingEngine(tenant(), clock, journal=journal, ids=ids)
    committed: list[Event] = []
    live.subscribe(committed.extend)
    set_up(live)
    live.commit()
    rng = random.Random(7)
    counter = itertools.count(1)
    for _ in range(40):
        load_tick(live, rng, lambda: f"t{next(counter)}", live.commit, advance=clock.advance)
    assert live.check_invariants() == []
    assert list(journal.read()) == committed
    assert journal.last_seq() == live.state.seq == len(committed)

    restored_clock = VirtualClock(clock.now())
    restored = RoutingEngine.restore(
        tenant(), restored_clock, journal.read(), journal=journal, ids=CountingIds("o", ids.issued)
    )
    assert snapshot(restored) == snapshot(live)
    assert restored.check_invariants() == []

    # the restored engine journals on at the next seq and can finish all the work
    drain(restored, restored_clock.advance, restored.commit)
    journaled = list(journal.read())
    assert [e.seq for e in journaled] == list(range(1, len(journaled) + 1))
    assert len(journaled) > len(committed)
    created = [e.data["task_id"] for e in journaled if e.name == "task.created"]
    terminated = [e.data["task_id"] for e in journaled if e.name == "task.terminated"]
    assert len(created) == len(set(created)) > 5
    assert sorted(terminated) == sorted(created)
    # and the live engine, behind the journal now, cannot write around it
    live.create_task(service_id="s-support", task_id="late")
    with pytest.raises(DuplicateSeqError):
        live.commit()
