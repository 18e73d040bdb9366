"""SqliteJournal: append/read, the seq guarantees, and engine restore from the journal."""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from journal_scenario import (
    TENANT_ID,
    CountingIds,
    drain,
    load_tick,
    plain,
    set_up,
    snapshot,
    tenant,
)

from switchboard.domain import config as cfg
from switchboard.domain.enums import Presence, TaskState
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.store import journal as journal_module
from switchboard.store.journal import (
    DuplicateSeqError,
    JournalError,
    JournalGapError,
    SqliteJournal,
)

T0 = 1_767_225_600.0


def events(first: int, last: int, name: str = "task.created") -> list[Event]:
    return [
        Event(name, T0 + seq / 10, {"task_id": f"t{seq}", "n": seq, "l": [seq, None]}, seq)
        for seq in range(first, last + 1)
    ]


def rows(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT * FROM journal ORDER BY tenant_id, seq").fetchall()


@pytest.fixture
def memory_journal() -> Iterator[SqliteJournal]:
    with SqliteJournal(":memory:", tenant_id=TENANT_ID) as journal:
        yield journal


# ---------------------------------------------------------------------- append / read


def test_append_and_read_round_trip(memory_journal: SqliteJournal) -> None:
    entity = cfg.Tag(id="vip", name="VIP")
    batch = [Event("config.upserted", T0, {"type": "tag", "entity": entity}, 1), *events(2, 5)]
    memory_journal.append(batch)
    assert list(memory_journal.read()) == batch
    assert memory_journal.last_seq() == 5


def test_empty_journal(memory_journal: SqliteJournal) -> None:
    assert memory_journal.last_seq() == 0
    assert list(memory_journal.read()) == []
    memory_journal.append([])
    assert memory_journal.last_seq() == 0


def test_read_after_seq(memory_journal: SqliteJournal) -> None:
    memory_journal.append(events(1, 3))
    memory_journal.append(events(4, 10))
    assert [e.seq for e in memory_journal.read(after_seq=6)] == [7, 8, 9, 10]
    assert [e.seq for e in memory_journal.read(after_seq=0)] == list(range(1, 11))
    assert list(memory_journal.read(after_seq=10)) == []
    assert list(memory_journal.read(after_seq=99)) == []


@pytest.mark.parametrize("count", [0, 1, 6, 7, 8, 50])
def test_read_streams_in_chunks(
    memory_journal: SqliteJournal, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(journal_module, "READ_CHUNK", 7)
    if count:
        memory_journal.append(events(1, count))
    stream = memory_journal.read(after_seq=0)
    assert iter(stream) is stream  # a lazy iterator, not a list
    assert [e.seq for e in stream] == list(range(1, count + 1))
    assert [e.seq for e in memory_journal.read(after_seq=3)] == list(range(4, count + 1))


def test_read_is_lazy_and_sees_later_appends(
    memory_journal: SqliteJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "READ_CHUNK", 2)
    memory_journal.append(events(1, 3))
    stream = memory_journal.read()
    assert next(stream).seq == 1
    memory_journal.append(events(4, 5))  # the writer is not blocked by an open reader
    assert [e.seq for e in stream] == [2, 3, 4, 5]


def test_file_journal_persists_and_creates_directories(tmp_path: Path) -> None:
    path = tmp_path / "var" / "journal" / "acme.db"
    with SqliteJournal(path, tenant_id=TENANT_ID) as journal:
        journal.append(events(1, 4))
    assert path.exists()
    with SqliteJournal(str(path), tenant_id=TENANT_ID) as journal:
        assert journal.last_seq() == 4
        journal.append(events(5, 6))
        assert [e.seq for e in journal.read()] == [1, 2, 3, 4, 5, 6]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert rows(path)[0] == (
        TENANT_ID,
        1,
        "task.created",
        T0 + 0.1,
        '{"task_id":"t1","n":1,"l":[1,null]}',
    )


@pytest.mark.parametrize(("mode", "value"), [("NORMAL", 1), ("full", 2), ("EXTRA", 3), ("OFF", 0)])
def test_synchronous_is_configurable(tmp_path: Path, mode: str, value: int) -> None:
    with SqliteJournal(tmp_path / "j.db", tenant_id=TENANT_ID, synchronous=mode) as journal:
        assert journal.synchronous == mode.upper()
        assert journal._connection().execute("PRAGMA synchronous").fetchone()[0] == value


def test_synchronous_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteJournal(tmp_path / "j.db", tenant_id=TENANT_ID, synchronous="NORMAL; DROP TABLE x")


def test_tenants_share_a_file_with_separate_sequences(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with (
        SqliteJournal(path, tenant_id="a") as a,
        SqliteJournal(path, tenant_id="b") as b,
    ):
        a.append(events(1, 3))
        b.append(events(1, 2, name="user.presence_changed"))
        a.append(events(4, 4))
        assert [e.seq for e in a.read()] == [1, 2, 3, 4]
        assert [(e.seq, e.name) for e in b.read()] == [
            (1, "user.presence_changed"),
            (2, "user.presence_changed"),
        ]
        assert (a.last_seq(), b.last_seq()) == (4, 2)


def test_close_and_context_manager() -> None:
    journal = SqliteJournal(":memory:", tenant_id=TENANT_ID)
    with journal as entered:
        assert entered is journal and not journal.closed
    assert journal.closed
    journal.close()  # idempotent
    with pytest.raises(JournalError, match="closed"):
        journal.append(events(1, 1))
    with pytest.raises(JournalError, match="closed"):
        list(journal.read())
    with pytest.raises(JournalError, match="closed"):
        journal.last_seq()


# ---------------------------------------------------------------------- the seq guarantees


def test_duplicate_seq_is_rejected(memory_journal: SqliteJournal) -> None:
    memory_journal.append(events(1, 3))
    with pytest.raises(DuplicateSeqError):
        memory_journal.append(events(3, 4))
    with pytest.raises(DuplicateSeqError):
        memory_journal.append(events(1, 1))
    with pytest.raises(DuplicateSeqError):
        memory_journal.append([*events(4, 4), *events(4, 4)])
    assert [e.seq for e in memory_journal.read()] == [1, 2, 3]
    memory_journal.append(events(4, 4))  # the journal stays usable
    assert memory_journal.last_seq() == 4


def test_duplicate_seq_from_a_second_writer_fails_loudly_and_atomically(tmp_path: Path) -> None:
    """The primary key catches a second writer that does not know the journal moved on."""
    path = tmp_path / "j.db"
    with (
        SqliteJournal(path, tenant_id=TENANT_ID) as first,
        SqliteJournal(path, tenant_id=TENANT_ID) as second,
    ):
        first.append(events(1, 2))
        stale = events(1, 3, name="user.presence_changed")
        with pytest.raises(DuplicateSeqError, match="another writer") as info:
            second.append(stale)
        assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
        # nothing of the failed batch was stored, not even its new seq 3
        assert [(e.seq, e.name) for e in first.read()] == [(1, "task.created"), (2, "task.created")]
        assert second.last_seq() == 2
        second.append(events(3, 3))
        assert first.last_seq() == 3


def test_gaps_are_rejected(memory_journal: SqliteJournal) -> None:
    with pytest.raises(JournalGapError):
        memory_journal.append(events(2, 3))
    memory_journal.append(events(1, 2))
    with pytest.raises(JournalGapError):
        memory_journal.append([*events(3, 3), *events(5, 5)])
    assert memory_journal.last_seq() == 2


def test_failed_encoding_stores_nothing(memory_journal: SqliteJournal) -> None:
    bad = Event("task.created", T0, {"x": object()}, 2)
    with pytest.raises(TypeError):
        memory_journal.append([*events(1, 1), bad])
    assert memory_journal.last_seq() == 0


# ---------------------------------------------------------------------- engine + journal


class Run:
    """A live engine journaling into `journal`, on a virtual clock, with deterministic ids."""

    def __init__(self, journal: SqliteJournal) -> None:
        self.journal = journal
        self.clock = VirtualClock(T0)
        self.ids = CountingIds("o")
        self.engine = Engine(tenant(), self.clock, journal=journal, ids=self.ids)
        self.committed: list[Event] = []
        self.engine.subscribe(self.committed.extend)

    def step(self, command: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Run one engine command (an unbound `Engine` method) and commit it alone."""
        command(self.engine, *args, **kwargs)
        self.engine.commit()

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.engine.advance()
        self.engine.commit()

    def restore(self) -> Engine:
        restored = Engine.restore(
            tenant(),
            VirtualClock(self.clock.now()),
            self.journal.read(),
            ids=CountingIds("o", self.ids.issued),
        )
        assert restored.uncommitted == 0, "a consistent journal needs no repair on restore"
        return restored


def assert_same_live_state(live: Engine, restored: Engine) -> None:
    a, b = live.state, restored.state
    assert b.seq == a.seq
    assert sorted(b.tasks) == sorted(a.tasks)
    for task_id, task in a.tasks.items():
        other = b.tasks[task_id]
        assert other.state is task.state, task_id
        assert other.connected_user_id == task.connected_user_id
        assert plain(other.offers) == plain(task.offers), task_id
        assert plain(other) == plain(task), task_id
    assert list(b.ended) == list(a.ended)
    assert sorted(b.live) == sorted(a.live)
    for user_id, live_user in a.live.items():
        other_user = b.live[user_id]
        assert other_user.presence is live_user.presence, user_id
        assert plain(other_user.sessions) == plain(live_user.sessions), user_id
        assert plain(other_user.acw) == plain(live_user.acw), user_id
        assert plain(other_user.rona) == plain(live_user.rona), user_id
        assert plain(other_user) == plain(live_user), user_id
    assert {s: [t.id for t in q] for s, q in b.queues.items()} == {
        s: [t.id for t in q] for s, q in a.queues.items()
    }
    assert b.free == a.free
    assert b.selection == a.selection
    assert b.users == a.users and b.services == a.services
    # and everything else the state holds (indexes, counters, cursors)
    live_snapshot, restored_snapshot = snapshot(live), snapshot(restored)
    for key, value in live_snapshot.items():
        assert restored_snapshot[key] == value, key


def test_scripted_run_restores_to_the_same_state_after_every_commit() -> None:
    with SqliteJournal(":memory:", tenant_id=TENANT_ID) as journal:
        run = Run(journal)
        engine, st = run.engine, run.engine.state
        seen: set[str] = set()

        def check() -> None:
            assert engine.check_invariants() == []
            assert journal.last_seq() == st.seq
            assert_same_live_state(engine, run.restore())
            for task in st.tasks.values():
                seen.add(task.state.value)
            for live in st.live.values():
                if live.acw is not None:
                    seen.add("acw")
                if live.rona is not None:
                    seen.add("rona")

        run.step(set_up)
        check()
        for n, service_id in enumerate(["s-support", "s-support", "s-sales", "s-support"], 1):
            run.step(Engine.create_task, service_id=service_id, task_id=f"t{n}")
            check()
        # two commands, one commit (group commit)
        engine.create_task(service_id="s-sales", task_id="t5")
        engine.create_task(service_id="s-support", task_id="t6")
        engine.commit()
        check()
        assert st.tasks["t1"].offers and st.tasks["t4"].state is TaskState.QUEUED
        for task_id in ("t1", "t2"):
            offer = next(iter(st.tasks[task_id].offers.values()))
            run.step(Engine.accept, offer.user_id, task_id)
            check()
        assert st.tasks["t1"].state is TaskState.CONNECTED
        run.wait(7.0)  # the sales offers ring out: persistent RONA flags
        check()
        run.step(Engine.hang_up, st.tasks["t1"].connected_user_id, "t1")
        check()
        run.step(Engine.customer_hang_up, "t2")
        check()
        assert "acw" in seen
        run.step(Engine.customer_hang_up, "t6")
        check()
        run.step(Engine.set_presence, "u5", Presence.AWAY)
        check()
        for seconds in (3.0, 8.0, 12.0, 31.0):
            run.wait(seconds)
            check()
        for task_id in sorted(st.tasks):
            task = st.tasks[task_id]
            if task.offers:
                offer = next(iter(task.offers.values()))
                run.step(Engine.accept, offer.user_id, task_id)
                check()
        run.step(Engine.set_presence, "u5", Presence.AVAILABLE)
        check()
        run.step(Engine.create_task, service_id="s-support", task_id="t7")
        check()
        assert {"connected", "offered", "acw", "rona"} <= seen, seen
        assert "queued" in seen


def drive(engine: Engine, advance: Callable[[float], None], ticks: int) -> None:
    """Simulated load with a fixed seed and task ids: a pure function of the engine state."""
    rng = random.Random(2024)
    counter = itertools.count(10_000)
    for _ in range(ticks):
        load_tick(engine, rng, lambda: f"t{next(counter)}", engine.commit, advance=advance)


def continue_both(live: Run, restored: Engine, restored_clock: VirtualClock, ticks: int) -> None:
    """Drive both engines with the same commands; they must emit the same events."""
    emitted: list[Event] = []
    restored.subscribe(emitted.extend)
    start = len(live.committed)
    drive(live.engine, live.clock.advance, ticks)
    drive(restored, restored_clock.advance, ticks)
    produced = live.committed[start:]
    assert len(produced) > 100
    assert [plain(e) for e in emitted] == [plain(e) for e in produced]
    assert_same_live_state(live.engine, restored)


def test_engine_run_restores_and_continues_identically() -> None:
    with SqliteJournal(":memory:", tenant_id=TENANT_ID) as journal:
        run = Run(journal)
        run.step(set_up)
        rng = random.Random(11)
        counter = itertools.count(1)
        for tick in range(120):
            load_tick(
                run.engine,
                rng,
                lambda: f"t{next(counter)}",
                run.engine.commit,
                advance=run.clock.advance,
            )
            assert run.engine.check_invariants() == []
            if tick % 20 == 19:
                assert_same_live_state(run.engine, run.restore())
        assert [e.seq for e in journal.read()] == list(range(1, journal.last_seq() + 1))
        assert list(journal.read()) == run.committed
        restored_clock = VirtualClock(run.clock.now())
        restored = Engine.restore(
            tenant(),
            restored_clock,
            journal.read(),
            ids=CountingIds("o", run.ids.issued),
        )
        continue_both(run, restored, restored_clock, ticks=60)


def test_restore_after_reopening_a_file_journal_and_keep_journaling(tmp_path: Path) -> None:
    path = tmp_path / "acme.db"
    with SqliteJournal(path, tenant_id=TENANT_ID, synchronous="FULL") as journal:
        run = Run(journal)
        run.step(set_up)
        rng = random.Random(5)
        counter = itertools.count(1)
        for _ in range(60):
            load_tick(
                run.engine,
                rng,
                lambda: f"t{next(counter)}",
                run.engine.commit,
                advance=run.clock.advance,
            )
        before = snapshot(run.engine)
        now, issued = run.clock.now(), run.ids.issued
    with SqliteJournal(path, tenant_id=TENANT_ID) as journal:
        clock = VirtualClock(now)
        engine = Engine.restore(
            tenant(), clock, journal.read(), journal=journal, ids=CountingIds("o", issued)
        )
        assert snapshot(engine) == before
        assert engine.check_invariants() == []
        # the restored engine journals on at the next seq, and can finish all work
        drain(engine, clock.advance, engine.commit)
        journaled = list(journal.read())
    assert [e.seq for e in journaled] == list(range(1, len(journaled) + 1))
    created = [e.data["task_id"] for e in journaled if e.name == "task.created"]
    terminated = [e.data["task_id"] for e in journaled if e.name == "task.terminated"]
    assert len(created) == len(set(created)) > 20
    assert sorted(terminated) == sorted(created)
