"""The live voice outbox: a tenant host on a real SQLite journal, the simulator on a real
clock, and the dispatcher between them (11 VP2, 12 J2/J4)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from voice_harness import CALLER, MENU, WELCOME, hotline

from switchboard.channels.voice.dispatch import VoiceDispatcher
from switchboard.channels.voice.sim_world import SimulatorConfig
from switchboard.channels.voice.simulator import SimulatorDriver, VoiceSimulator
from switchboard.domain import voice as v
from switchboard.domain.enums import EndReason, Presence
from switchboard.engine.clock import RealClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.runtime.host import TenantHost
from switchboard.store.journal import SqliteJournal

T = TypeVar("T")
FAST = SimulatorConfig(seed=3, seconds_per_word=0.01, min_prompt_s=0.01)


class GatedJournal:
    """A real SQLite journal whose appends can be held at the door (a slow disk)."""

    def __init__(self, path: Path) -> None:
        self.inner = SqliteJournal(path, tenant_id="t")
        self.open = threading.Event()
        self.open.set()
        self.waiting = threading.Event()
        self.fail_next = 0

    def append(self, events: Sequence[Event]) -> None:
        if not self.open.is_set():
            self.waiting.set()
            self.open.wait(10)
        if self.fail_next:
            self.fail_next -= 1
            raise OSError("disk I/O error (injected)")
        self.inner.append(events)

    def read(self, after_seq: int = 0) -> Iterator[Event]:
        return self.inner.read(after_seq)

    def last_seq(self) -> int:
        return self.inner.last_seq()


def feed(engine: Engine, event: v.VoiceEvent) -> None:
    engine.voice_event(event)


async def eventually(check: Callable[[], T], what: str, seconds: float = 5.0) -> T:
    started = time.monotonic()
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() - started < seconds, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def scenario(
    tmp_path: Path, body: Callable[[TenantHost, VoiceSimulator, VoiceDispatcher], Awaitable[None]]
) -> GatedJournal:
    journal = GatedJournal(tmp_path / "journal.sqlite3")

    async def run() -> None:
        clock = RealClock()
        engine = hotline(clock)
        journal.append(engine.drain())
        host = TenantHost(engine, journal, clock)
        sim = VoiceSimulator("t", clock, FAST)
        dispatcher = VoiceDispatcher(host, sim, feed)
        driver = SimulatorDriver(sim)
        host.start()
        dispatcher.start()
        driver.start()
        try:
            await body(host, sim, dispatcher)
        finally:
            await driver.stop()
            await dispatcher.stop()
            await host.stop()

    asyncio.run(run())
    return journal


def test_a_menu_call_runs_through_host_journal_and_simulator(tmp_path: Path) -> None:
    async def body(host: TenantHost, sim: VoiceSimulator, out: VoiceDispatcher) -> None:
        await host.run(lambda e: e.set_presence("anna", Presence.AVAILABLE))
        call = sim.place_call(CALLER, "hotline@acme.test")
        await eventually(lambda: any(e.text == MENU for e in call.transcript), "the menu")
        sim.press(call.call_id, "1")
        await out.settled()
        task_id = await host.run(lambda e: e.state.calls[call.call_id])
        offered = await host.run(
            lambda e: [o.user_id for o in e.state.tasks[task_id].offers.values()]
        )
        assert offered == ["anna"]
        await host.run(lambda e: e.accept("anna", task_id))
        sim.caller_hang_up(call.call_id)
        await out.settled()
        ended = await host.run(lambda e: e.state.task(task_id))
        assert ended is not None and ended.end_reason is EndReason.CUSTOMER_HANGUP
        prompts = [e.text for e in call.transcript if e.what == "prompt"]
        assert prompts == [WELCOME, MENU]
        assert out.stats.events_refused == 0

    journal = scenario(tmp_path, body)
    names = [e.name for e in journal.read()]
    assert names.count("voice.command") >= 3 and "task.terminated" in names


def test_a_command_reaches_the_provider_only_once_its_batch_is_journaled(tmp_path: Path) -> None:
    async def body(host: TenantHost, sim: VoiceSimulator, out: VoiceDispatcher) -> None:
        journal = host.journal
        assert isinstance(journal, GatedJournal)
        journal.open.clear()  # the next append waits at the door
        call = sim.place_call(CALLER, "hotline@acme.test")
        await eventually(journal.waiting.is_set, "the append of the call's first batch")
        await asyncio.sleep(0.1)
        assert call.state == "incoming", "the answer left before its event was journaled"
        journal.open.set()
        await eventually(lambda: call.state == "established", "the answer")
        answers = [
            e
            for e in journal.read()
            if e.name == "voice.command" and e.data["command"]["type"] == "answer"
        ]
        assert len(answers) == 1

    scenario(tmp_path, body)


def test_a_command_published_twice_is_sent_once(tmp_path: Path) -> None:
    async def body(host: TenantHost, sim: VoiceSimulator, out: VoiceDispatcher) -> None:
        call = sim.place_call(CALLER, "hotline@acme.test")
        await eventually(lambda: call.state == "established", "the answer")
        await out.settled()
        journal = host.journal
        assert isinstance(journal, GatedJournal)
        answered = [e for e in journal.read() if e.name == "voice.command"][:1]
        sent = out.stats.commands_sent
        out.on_batch(answered)  # as if the batch were published again
        await out.settled()
        assert out.stats.duplicates_skipped == 1
        assert out.stats.commands_sent == sent
        assert [e.what for e in call.transcript].count("answered") == 1

    scenario(tmp_path, body)


def test_stale_provider_events_are_refused_and_counted(tmp_path: Path) -> None:
    async def body(host: TenantHost, sim: VoiceSimulator, out: VoiceDispatcher) -> None:
        call = sim.place_call(CALLER, "nobody@acme.test")  # rejected: no such service
        await eventually(lambda: not call.live, "the rejection")
        await out.settled()
        # The rejected call's end is a report about a call no task has.
        assert out.stats.events_refused == 1
        assert call.end_reason is v.CallEndReason.FORBIDDEN

    scenario(tmp_path, body)


def test_provider_events_wait_out_a_journal_failure(tmp_path: Path) -> None:
    async def body(host: TenantHost, sim: VoiceSimulator, out: VoiceDispatcher) -> None:
        journal = host.journal
        assert isinstance(journal, GatedJournal)
        journal.fail_next = 1  # the batch that takes the call in fails to append
        call = sim.place_call(CALLER, "hotline@acme.test")
        await eventually(lambda: host.recovering or call.state != "incoming", "the failure")
        await eventually(lambda: call.state == "established", "the answer after recovery")
        await out.settled()
        assert host.stats.journal_failures == 1
        task_ids = await host.run(lambda e: list(e.state.calls))
        assert task_ids == [call.call_id]

    scenario(tmp_path, body)
