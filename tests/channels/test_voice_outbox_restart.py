"""The journal is the voice outbox: after a restart the dispatcher reconciles with the
provider, re-sends the commands journaled after the watermark — decided but never sent,
or sent while the watermark was lost with the process — and the provider, which sees
some of them twice, acts once (11 VP2/VP3, 12 J4/SN4)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from voice_harness import CALLER, MENU, WELCOME, hotline

from switchboard.channels.voice.dispatch import VoiceDispatcher
from switchboard.channels.voice.port import Ack, CallSnapshot
from switchboard.channels.voice.sim_world import SimulatorConfig
from switchboard.channels.voice.simulator import VoiceSimulator
from switchboard.channels.voice.virtual_time import VirtualVoice
from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import EndReason
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.runtime.host import TenantHost
from switchboard.store.journal import SqliteJournal

TENANT = cfg.Tenant(id="t", name="T")


def feed(engine: Engine, event: v.VoiceEvent) -> None:
    engine.voice_event(event)


class Before:
    """The process before the crash: an engine journaling to SQLite, the provider outside."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "journal.sqlite3"
        self.clock = VirtualClock()
        self.journal = SqliteJournal(self.path, tenant_id="t")
        self.engine = hotline(self.clock)
        self.engine.journal = self.journal
        self.engine.commit()
        self.sim = VoiceSimulator("t", self.clock, SimulatorConfig(seed=5, seconds_per_word=0.5))

    def commands(self) -> list[Event]:
        return [e for e in self.journal.read() if e.name == "voice.command"]


def after_restart(
    before: Before,
    provider: VoiceSimulator,
    body: Callable[[TenantHost, VoiceDispatcher], Awaitable[None]],
) -> None:
    """A new process: the host restored from the journal, a new dispatcher, the provider."""
    before.journal.close()

    async def run() -> None:
        journal = SqliteJournal(before.path, tenant_id="t")
        host = TenantHost.restore(TENANT, before.clock, journal.read(), journal)
        dispatcher = VoiceDispatcher(host, provider, feed)
        host.start()
        dispatcher.start()
        try:
            await dispatcher.settled()
            await body(host, dispatcher)
        finally:
            await dispatcher.stop()
            await host.stop()
            journal.close()

    asyncio.run(run())


def _watermark(path: Path) -> int:
    with SqliteJournal(path, tenant_id="t") as journal:
        marks = [e.data["through_seq"] for e in journal.read() if e.name == "voice.commands_done"]
        commands = [e.seq for e in journal.read() if e.name == "voice.command"]
    assert marks, "no watermark journaled"
    assert marks[-1] == commands[-1], "the watermark stops short of the last command"
    return int(marks[-1])


def test_a_command_journaled_but_never_sent_is_sent_after_the_restart(tmp_path: Path) -> None:
    before = Before(tmp_path)
    heard: list[v.VoiceEvent] = []
    before.sim.bind(heard.append)
    call = before.sim.place_call(CALLER, "hotline@acme.test")
    before.engine.voice_event(heard[0])  # the engine decides to answer...
    before.engine.commit()  # ...journals it, and the process dies before sending it
    (answer,) = [e.data["command"]["type"] for e in before.commands()]
    assert answer == "answer" and call.state == "incoming"

    async def body(host: TenantHost, out: VoiceDispatcher) -> None:
        assert call.state == "established"  # the answer went out after all
        assert out.stats.resent == 1 and out.stats.provider_duplicates == 0
        before.clock.set(before.clock.now() + 10)  # the welcome and the menu play
        before.sim.advance()
        await out.settled()
        before.clock.set(before.clock.now() + 10)
        before.sim.advance()
        await out.settled()
        prompts = [e.text for e in call.transcript if e.what == "prompt"]
        assert prompts == [WELCOME, MENU]

    after_restart(before, before.sim, body)
    _watermark(before.path)


def test_commands_sent_before_the_crash_are_sent_again_and_acted_on_once(
    tmp_path: Path,
) -> None:
    before = Before(tmp_path)
    # The first process sends every command it journals, and the call reaches the menu;
    # its watermark dies with it (VirtualVoice journals none, as a crash would leave it).
    loop = VirtualVoice(before.engine, before.sim, feed, before.clock)
    call = before.sim.place_call(CALLER, "hotline@acme.test")
    loop.run(10)
    sent = [e.data["command"]["type"] for e in before.commands()]
    assert sent == ["answer", "play_prompt", "collect_digits"]
    transcript = list(call.transcript)

    async def body(host: TenantHost, out: VoiceDispatcher) -> None:
        assert (out.stats.resent, out.stats.provider_duplicates) == (3, 3)
        assert call.transcript == transcript  # nothing was done twice
        before.sim.press(call.call_id, "2")  # the call goes on where it was
        await out.settled()
        before.clock.set(before.clock.now() + 5)
        before.sim.advance()
        await out.settled()
        assert [e.text for e in call.transcript if e.what == "prompt"][-1] == "Goodbye."
        assert (call.state, call.ended_by) == ("ended", "system")
        assert out.stats.provider_duplicates == 3

    after_restart(before, before.sim, body)
    with SqliteJournal(before.path, tenant_id="t") as journal:
        types = [e.data["command"]["type"] for e in journal.read() if e.name == "voice.command"]
    assert types == [*sent, "play_prompt", "hang_up"]
    _watermark(before.path)


def test_calls_the_provider_no_longer_has_end_their_tasks(tmp_path: Path) -> None:
    before = Before(tmp_path)
    loop = VirtualVoice(before.engine, before.sim, feed, before.clock)
    call = before.sim.place_call(CALLER, "hotline@acme.test")
    loop.run(10)
    task_id = before.engine.state.calls[call.call_id]
    reborn = VoiceSimulator("t", before.clock, SimulatorConfig(seed=6))  # died with the node

    async def body(host: TenantHost, out: VoiceDispatcher) -> None:
        ended = await host.run(lambda e: e.state.task(task_id))
        assert ended is not None and ended.end_reason is EndReason.ERROR
        assert ended.end_detail == "call_lost"
        assert out.stats.lost_calls == 1
        assert out.stats.resent == 0 and out.stats.commands_sent == 0  # nothing for it

    after_restart(before, reborn, body)
    assert reborn.calls == {}


class Unreachable(VoiceSimulator):
    """The simulator behind a link that drops every `answer` on the floor."""

    async def execute(self, command: v.VoiceCommand) -> Ack:
        if isinstance(command, v.Answer):
            raise ConnectionError("no route to the provider")
        return await super().execute(command)


def test_a_command_the_provider_cannot_be_reached_for_is_an_operation_failed(
    tmp_path: Path,
) -> None:
    before = Before(tmp_path)
    provider = Unreachable("t", before.clock, SimulatorConfig(seed=5))

    async def body(host: TenantHost, out: VoiceDispatcher) -> None:
        call = provider.place_call(CALLER, "hotline@acme.test")
        await out.settled()
        assert out.stats.commands_failed == 1
        # Never answered: the workflow failed (RT6) and Switchboard hung the call up.
        assert (call.answered_at, call.state, call.ended_by) == (None, "ended", "system")
        ended = await host.run(
            lambda e: e.state.ended.get(next(iter(e.state.ended_calls.values())))
        )
        assert ended is not None and ended.end_reason is EndReason.ERROR
        assert ended.end_detail == "answer_failed"

    after_restart(before, provider, body)
    _watermark(before.path)  # the failed command counts as done: the engine knows


class Amnesiac(VoiceSimulator):
    """The simulator, unable to list its calls (a provider API that is down)."""

    async def reconcile(self) -> list[CallSnapshot]:
        raise ConnectionError("the provider does not answer")


def test_without_the_providers_list_of_calls_everything_unsent_is_sent(tmp_path: Path) -> None:
    before = Before(tmp_path)
    provider = Amnesiac("t", before.clock, SimulatorConfig(seed=5))
    heard: list[v.VoiceEvent] = []
    provider.bind(heard.append)
    call = provider.place_call(CALLER, "hotline@acme.test")
    before.engine.voice_event(heard[0])
    before.engine.commit()

    async def body(host: TenantHost, out: VoiceDispatcher) -> None:
        assert call.state == "established" and out.stats.resent == 1
        assert out.stats.lost_calls == 0  # nothing is judged lost without the list

    after_restart(before, provider, body)
