"""The host heals in place after a journal failure, on a real SQLite journal.

`FlakyJournal` is only a fault injector: every append and read that it lets
through goes to a real `SqliteJournal`, so what the tests compare against is
what is really durable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from sortedcontainers import SortedList

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, Presence, TaskState
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.runtime.host import HostUnavailable, TenantHost
from switchboard.store.codec import encode_event
from switchboard.store.journal import SqliteJournal

TENANT = cfg.Tenant(id="t", name="T")


class FlakyJournal:
    """A real journal whose next appends or reads can be made to fail.

    `fail_appends`: that many appends raise before storing anything (a full disk).
    `lose_acks`: that many appends store the batch, then raise (the answer was lost).
    `fail_reads`: that many reads raise (the database is still down).
    """

    def __init__(self, inner: SqliteJournal) -> None:
        self.inner = inner
        self.fail_appends = 0
        self.lose_acks = 0
        self.fail_reads = 0
        self.read_attempts: list[float] = []

    def append(self, events: Sequence[Event]) -> None:
        if self.fail_appends:
            self.fail_appends -= 1
            raise OSError("disk I/O error (injected)")
        self.inner.append(events)
        if self.lose_acks:
            self.lose_acks -= 1
            raise OSError("connection lost after commit (injected)")

    def read(self, after_seq: int = 0) -> Iterator[Event]:
        self.read_attempts.append(time.monotonic())
        if self.fail_reads:
            self.fail_reads -= 1
            raise OSError("database unavailable (injected)")
        return self.inner.read(after_seq)

    def last_seq(self) -> int:
        return self.inner.last_seq()


def _host(path: Path, clock: VirtualClock, **options: float) -> tuple[TenantHost, FlakyJournal]:
    """A tenant with one service and two members, its configuration journaled."""
    engine = Engine(TENANT, clock)
    engine.upsert(
        "service",
        cfg.Service(
            id="s", name="S", upn="s@t.test", user_assignment_type=AssignmentType.TEAMS_BASED
        ),
    )
    for user_id in ("u1", "u2"):
        engine.upsert(
            "user",
            cfg.User(
                id=user_id,
                upn=f"{user_id}@t.test",
                display_name=user_id.upper(),
                memberships={"s": cfg.Membership("s")},
            ),
        )
    journal = FlakyJournal(SqliteJournal(path, tenant_id="t"))
    journal.inner.append(engine.drain())
    return TenantHost(engine, journal, clock, **options), journal


def _plain(value: Any) -> Any:
    """A comparable rendering of live state (ids for the members of sorted indexes)."""
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, {f.name: _plain(getattr(value, f.name)) for f in fields})
    if isinstance(value, SortedList):
        return [getattr(item, "id", item) for item in value]
    if isinstance(value, dict):
        return sorted(((_plain(k), _plain(v)) for k, v in value.items()), key=repr)
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_BOOKKEEPING = {"touched_users", "dirty_tasks", "newly_free", "full_dispatch", "on_arm"}


def _snapshot(engine: Engine) -> dict[str, Any]:
    state = engine.state
    return {
        f.name: _plain(getattr(state, f.name))
        for f in dataclasses.fields(state)
        if f.name not in _BOOKKEEPING
    }


def _record(events: Sequence[Event]) -> list[tuple[int, str, str]]:
    return [(e.seq, e.name, encode_event(e)) for e in events]


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.005)


def test_a_failed_batch_is_refused_and_the_host_rebuilds_from_the_journal(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        host, journal = _host(tmp_path / "j.sqlite3", clock)
        configured = journal.last_seq()
        seen: list[Event] = []
        host.subscribe(seen.extend)
        host.start()
        kept = await host.run(lambda e: e.create_task(service_id="s"))
        old_engine = host.engine

        journal.fail_appends = 1
        failed = await asyncio.gather(
            host.run(lambda e: e.create_task(service_id="s")),
            host.run(lambda e: e.set_presence("u1", Presence.AVAILABLE)),
            host.run(lambda e: len(e.state.tasks)),  # a read judged on uncommitted state
            return_exceptions=True,
        )
        for outcome in failed:
            assert isinstance(outcome, HostUnavailable), outcome
            assert outcome.code == "journal_failed"
        await _until(lambda: host.ready)

        assert host.engine is not old_engine
        assert host.stats.journal_failures == 1 and host.stats.recoveries == 1
        # The state is the journal's: a fresh restore of it is the same in every field.
        fresh = Engine.restore(TENANT, clock, journal.inner.read())
        assert fresh.uncommitted == 0
        assert _snapshot(host.engine) == _snapshot(fresh)
        assert list(host.engine.state.tasks) == [kept.id]  # the failed task is gone
        assert host.engine.state.live["u1"].presence is not Presence.AVAILABLE

        # Work goes on, and the journal's sequence stays gap-free.
        later = await host.run(lambda e: e.create_task(service_id="s"))
        await host.run(lambda e: e.set_presence("u2", Presence.AVAILABLE))
        assert await host.run(lambda e: e.state.tasks[kept.id].state) is TaskState.OFFERED
        assert await host.run(lambda e: e.state.tasks[later.id].state) is TaskState.QUEUED
        stored = list(journal.inner.read())
        assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
        assert host.engine.state.seq == journal.last_seq() == len(stored)
        # Listeners saw exactly what was journaled: nothing of the failed batch (whose
        # seqs were reused by later, different events), everything after it.
        assert _record(seen) == _record(list(journal.inner.read(configured)))
        assert any(e.data.get("task_id") == later.id for e in seen)
        await host.stop()
        journal.inner.close()

    asyncio.run(scenario())


def test_an_append_that_reached_the_journal_despite_failing_is_published_once(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        host, journal = _host(tmp_path / "j.sqlite3", clock)
        configured = journal.last_seq()
        seen: list[Event] = []
        host.subscribe(seen.extend)
        host.start()
        journal.lose_acks = 1
        with pytest.raises(HostUnavailable) as refused:
            await host.run(lambda e: e.create_task(service_id="s"))
        assert refused.value.code == "journal_failed"  # unconfirmed, so never acknowledged
        await _until(lambda: host.ready)

        # The batch is durable after all: the rebuilt engine has it, listeners get it now.
        tasks = await host.run(lambda e: list(e.state.tasks))
        assert len(tasks) == 1
        assert _record(seen) == _record(list(journal.inner.read(configured)))
        assert any(e.name == "task.created" and e.data["task_id"] == tasks[0] for e in seen)
        await host.run(lambda e: e.set_presence("u1", Presence.AVAILABLE))
        stored = list(journal.inner.read())
        assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
        assert _record(seen) == _record(list(journal.inner.read(configured)))
        await host.stop()
        journal.inner.close()

    asyncio.run(scenario())


def test_a_journal_that_stays_down_is_retried_with_capped_backoff(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        host, journal = _host(tmp_path / "j.sqlite3", clock, retry_first_s=0.02, retry_max_s=0.04)
        seen: list[Event] = []
        host.subscribe(seen.extend)
        host.start()
        journal.fail_appends = 1
        journal.fail_reads = 6
        with pytest.raises(HostUnavailable) as refused:
            await host.run(lambda e: e.create_task(service_id="s"))
        assert refused.value.code == "journal_failed"

        await _until(lambda: len(journal.read_attempts) >= 2)  # one rebuild has failed
        assert host.recovering and not host.ready and host.serving
        with pytest.raises(HostUnavailable) as waiting:
            await host.run(lambda e: e.state.seq)
        assert waiting.value.code == "tenant_recovering"
        assert 0 < waiting.value.retry_after <= 0.04 + 1e-9
        await _until(lambda: host.ready)

        assert host.stats.restore_failures == 6 and host.stats.recoveries == 1
        attempts = journal.read_attempts
        assert len(attempts) == 7
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        # 0.02 s doubling, capped at 0.04 s (uncapped it would reach 0.64 s).
        for gap, planned in zip(gaps, [0.02, 0.04, 0.04, 0.04, 0.04, 0.04], strict=True):
            assert gap >= planned - 0.005, gaps
        assert max(gaps) < 0.3, gaps

        task = await host.run(lambda e: e.create_task(service_id="s"))
        assert await host.run(lambda e: e.state.tasks[task.id].state) is TaskState.QUEUED
        assert [e.data.get("task_id") for e in seen if e.name == "task.created"] == [task.id]
        await host.stop()
        journal.inner.close()

    asyncio.run(scenario())


def test_stop_ends_a_recovery_without_waiting_out_the_backoff(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        host, journal = _host(tmp_path / "j.sqlite3", clock, retry_first_s=30, retry_max_s=60)
        host.start()
        journal.fail_appends = 1
        journal.fail_reads = 1
        with pytest.raises(HostUnavailable):
            await host.run(lambda e: e.create_task(service_id="s"))
        await _until(lambda: host.stats.restore_failures == 1)
        started = time.monotonic()
        await asyncio.wait_for(host.stop(), 5)
        assert time.monotonic() - started < 5
        assert not host.serving and host.stats.recoveries == 0
        with pytest.raises(HostUnavailable):
            await host.run(lambda e: e.state.seq)
        journal.inner.close()

    asyncio.run(scenario())


def test_one_failing_listener_does_not_keep_events_from_the_others(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        host, journal = _host(tmp_path / "j.sqlite3", clock)

        def broken(_batch: Sequence[Event]) -> None:
            raise RuntimeError("listener bug")

        seen: list[Event] = []
        host.subscribe(broken)
        host.subscribe(seen.extend)
        host.start()
        task = await host.run(lambda e: e.create_task(service_id="s"))
        assert any(e.data.get("task_id") == task.id for e in seen)
        assert await host.run(lambda e: e.state.tasks[task.id].state) is TaskState.QUEUED
        await host.stop()
        journal.inner.close()

    asyncio.run(scenario())
