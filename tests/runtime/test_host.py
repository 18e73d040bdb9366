"""The asynchronous host: one writer, group commit, answers only after the journal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, Presence, TaskState
from switchboard.domain.errors import DomainError
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.runtime.host import HostUnavailable, TenantHost
from switchboard.store.journal import SqliteJournal


class RecordingJournal:
    """A journal that records what it stored and when, and can be told to fail."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []
        self.fail = False

    def append(self, events: Sequence[Event]) -> None:
        if self.fail:
            raise OSError("disk full")
        self.batches.append(list(events))


class ShiftedClock:
    """Wall-clock time moved forward by `offset`: real waiting, but no 20 s test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


def _engine(clock: VirtualClock | ShiftedClock) -> Engine:
    engine = Engine(cfg.Tenant(id="t", name="T"), clock)
    engine.upsert(
        "service",
        cfg.Service(
            id="s", name="S", upn="s@t.test", user_assignment_type=AssignmentType.TEAMS_BASED
        ),
    )
    engine.upsert(
        "user",
        cfg.User(id="u", upn="u@t.test", display_name="U", memberships={"s": cfg.Membership("s")}),
    )
    return engine


def test_answers_come_after_their_events_are_journaled() -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        journal = RecordingJournal()
        host = TenantHost(_engine(clock), journal, clock)
        released: list[int] = []
        host.subscribe(lambda batch: released.append(len(batch)))
        host.start()
        task = await host.run(lambda e: e.create_task(service_id="s"))
        stored = {ev.name for batch in journal.batches for ev in batch}
        assert "task.created" in stored and "task.queued" in stored
        assert sum(released) == sum(len(b) for b in journal.batches)  # released = journaled
        state = await host.run(lambda e: e.state.tasks[task.id].state)
        assert state is TaskState.QUEUED
        await host.stop()

    asyncio.run(scenario())


def test_concurrent_requests_share_commits() -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        journal = RecordingJournal()
        host = TenantHost(_engine(clock), journal, clock)
        host.start()
        await asyncio.gather(
            *(host.run(lambda e: e.create_task(service_id="s")) for _ in range(50))
        )
        created = sum(1 for b in journal.batches for ev in b if ev.name == "task.created")
        assert created == 50
        assert len(journal.batches) < 50  # several arrivals went into one transaction
        assert host.stats.largest_batch > 1
        await host.stop()

    asyncio.run(scenario())


def test_refusal_reaches_the_caller_and_changes_nothing() -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        host = TenantHost(_engine(clock), RecordingJournal(), clock)
        host.start()
        before = await host.run(lambda e: e.state.seq)
        with pytest.raises(DomainError) as refused:
            await host.run(lambda e: e.accept("u", "no-such-task"))
        assert refused.value.code == "task_not_found"
        assert await host.run(lambda e: e.state.seq) == before
        await host.stop()

    asyncio.run(scenario())


def test_timers_fire_by_themselves_when_due() -> None:
    async def scenario() -> None:
        clock = ShiftedClock()
        journal = RecordingJournal()
        engine = _engine(clock)
        host = TenantHost(engine, journal, clock)
        host.start()
        await host.run(lambda e: e.set_presence("u", Presence.AVAILABLE))
        task = await host.run(lambda e: e.create_task(service_id="s"))
        assert task.state is TaskState.OFFERED
        clock.offset = 19.7  # the 20 s ring time now ends 0.3 s from now
        await host.run(lambda e: None)  # the writer re-reads its next deadline
        for _ in range(200):  # no more requests: the writer must wake up on its own
            await asyncio.sleep(0.01)
            if any(ev.name == "task.rona" for b in journal.batches for ev in b):
                break
        assert any(ev.name == "task.rona" for b in journal.batches for ev in b)
        await host.stop()

    asyncio.run(scenario())


def test_a_failed_journal_that_cannot_be_read_back_stops_the_host() -> None:
    # RecordingJournal has no `read`: nothing to rebuild from, so no recovery in place
    # (tests/runtime/test_journal_recovery.py covers the recovery from a real journal).
    async def scenario() -> None:
        clock = VirtualClock()
        journal = RecordingJournal()
        host = TenantHost(_engine(clock), journal, clock)
        released: list[Event] = []
        host.subscribe(released.extend)
        host.start()
        journal.fail = True
        with pytest.raises(HostUnavailable):
            await host.run(lambda e: e.create_task(service_id="s"))
        assert released == []  # nothing left the process
        for _ in range(200):  # the writer finds out that it cannot recover
            if not host.serving:
                break
            await asyncio.sleep(0.01)
        assert not host.ready and not host.serving and host.stats.recoveries == 0
        with pytest.raises(HostUnavailable):
            await host.run(lambda e: e.state.seq)

    asyncio.run(scenario())


def test_restore_from_a_real_journal_and_continue(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def first_life(path: str) -> str:
        clock = VirtualClock()
        journal = SqliteJournal(path, tenant_id="t")
        host = TenantHost(_engine(clock), journal, clock)
        journal.append(host.engine.drain())  # configuration written before the host starts
        host.start()
        task = await host.run(lambda e: e.create_task(service_id="s"))
        await host.stop()
        journal.close()
        return task.id

    async def second_life(path: str, task_id: str) -> None:
        clock = VirtualClock()
        journal = SqliteJournal(path, tenant_id="t")
        host = TenantHost.restore(cfg.Tenant(id="t", name="T"), clock, journal.read(), journal)
        host.start()
        assert await host.run(lambda e: e.state.tasks[task_id].state) is TaskState.QUEUED
        await host.run(lambda e: e.set_presence("u", Presence.AVAILABLE))
        assert await host.run(lambda e: e.state.tasks[task_id].state) is TaskState.OFFERED
        await host.stop()
        assert journal.last_seq() == host.engine.state.seq
        journal.close()

    path = str(tmp_path / "journal.sqlite3")
    task_id = asyncio.run(first_life(path))
    asyncio.run(second_life(path, task_id))
