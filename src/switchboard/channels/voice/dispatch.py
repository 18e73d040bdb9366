"""The voice outbox: committed `voice.command` events out to the provider, its events back in.

Outward (VP2, 12 J4): the dispatcher listens to a tenant host's *committed*
batches — a command the engine decided reaches the provider only once the
journal holds it — and sends each `voice.command` to the provider in journal
order, one at a time, so the commands of one call arrive in the order they were
decided. A command id already sent is not sent again (the provider de-duplicates
too; this keeps a re-published batch from even reaching it).

Inward: the provider's events are queued in arrival order and fed to the engine
through the host's writer (`host.run`), several at a time, so they share a
commit with whatever else is waiting; a provider event counts as received only
once the engine's reaction to it is journaled (12 J2). An event the engine
refuses (a `DomainError`: typically a late report about something already
over) is logged and dropped — it changed nothing. While the host is recovering
from a journal failure the events wait and are offered again; none is lost.

The synchronous twin for virtual time (simulations, tests) is
`switchboard.channels.voice.virtual_time`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from switchboard.channels.voice.outbox import Feed, voice_commands
from switchboard.channels.voice.port import VoiceProvider
from switchboard.domain.errors import DomainError
from switchboard.domain.voice import VoiceCommand, VoiceEvent
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.runtime.host import HostUnavailable, TenantHost

log = logging.getLogger(__name__)

#: Command ids remembered as sent (older ones can no longer be re-published).
_SENT_LIMIT = 100_000
#: Provider events fed to the engine in one writer item at most.
_FEED_BATCH = 256


@dataclass
class DispatchStats:
    commands_sent: int = 0
    commands_refused: int = 0  # acknowledged with accepted=False (an event told the engine)
    duplicates_skipped: int = 0
    events_fed: int = 0
    events_refused: int = 0  # the engine raised a DomainError: stale or impossible


class VoiceDispatcher:
    """Connects one tenant host with one voice provider, journal first."""

    def __init__(self, host: TenantHost, provider: VoiceProvider, feed: Feed) -> None:
        self.host = host
        self.provider = provider
        self.feed = feed
        self.stats = DispatchStats()
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._commands: asyncio.Queue[VoiceCommand] = asyncio.Queue()
        self._events: asyncio.Queue[VoiceEvent] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Begin listening and sending (inside the running event loop)."""
        if self._tasks:
            return
        self.host.subscribe(self.on_batch)
        self.provider.bind(self._events.put_nowait)
        tenant = self.host.tenant_id
        self._tasks = [
            asyncio.create_task(self._send_loop(), name=f"voice-out-{tenant}"),
            asyncio.create_task(self._feed_loop(), name=f"voice-in-{tenant}"),
        ]

    async def stop(self) -> None:
        """Stop sending; events not yet fed are dropped with the provider (it stops too)."""
        self.host.unsubscribe(self.on_batch)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def settled(self) -> None:
        """Wait until every queued command is sent and every queued event is journaled.

        Sending a command can make the provider report events, and feeding an event
        can make the engine decide commands; this waits for both to come to rest.
        """
        while True:
            await self._events.join()
            await self._commands.join()
            if self._events.empty() and self._commands.empty():
                return

    # ------------------------------------------------------------------ out

    def on_batch(self, batch: Sequence[Event]) -> None:
        """Host listener: queue the batch's commands (they are journaled now)."""
        for command in voice_commands(batch):
            if command.command_id in self._sent:
                self.stats.duplicates_skipped += 1
                continue
            self._sent[command.command_id] = None
            if len(self._sent) > _SENT_LIMIT:
                self._sent.popitem(last=False)
            self._commands.put_nowait(command)

    async def _send_loop(self) -> None:
        while True:
            command = await self._commands.get()
            try:
                ack = await self.provider.execute(command)
                self.stats.commands_sent += 1
                if not ack.accepted:
                    self.stats.commands_refused += 1
                    log.info(
                        "tenant %s: the provider refused %s %s: %s (%s)",
                        self.host.tenant_id,
                        command.name,
                        command.command_id,
                        ack.code,
                        ack.message,
                    )
            except Exception:
                log.exception(
                    "tenant %s: sending %s %s failed",
                    self.host.tenant_id,
                    command.name,
                    command.command_id,
                )
            finally:
                self._commands.task_done()

    # ------------------------------------------------------------------ in

    async def _feed_loop(self) -> None:
        while True:
            batch = [await self._events.get()]
            while len(batch) < _FEED_BATCH and not self._events.empty():
                batch.append(self._events.get_nowait())
            try:
                await self._feed(batch)
            except Exception:  # a defect in the engine's handling: keep serving the rest
                log.exception(
                    "tenant %s: feeding %d voice event(s) failed", self.host.tenant_id, len(batch)
                )
            finally:
                for _ in batch:
                    self._events.task_done()

    async def _feed(self, batch: list[VoiceEvent]) -> None:
        refused: list[tuple[VoiceEvent, DomainError]] = []

        def work(engine: Engine) -> None:
            refused.clear()  # a retried batch starts over on the rebuilt engine
            for event in batch:
                try:
                    self.feed(engine, event)
                except DomainError as error:
                    refused.append((event, error))

        while True:
            try:
                await self.host.run(work)
                break
            except HostUnavailable as error:
                if not self.host.serving:
                    log.error(
                        "tenant %s: %d voice event(s) dropped, the engine has stopped: %s",
                        self.host.tenant_id,
                        len(batch),
                        error,
                    )
                    return
                await asyncio.sleep(error.retry_after)
        self.stats.events_fed += len(batch) - len(refused)
        self.stats.events_refused += len(refused)
        for event, why in refused:
            # A call's end reported after Switchboard itself ended its task is routine.
            level = logging.DEBUG if event.name == "call_ended" else logging.INFO
            log.log(
                level,
                "tenant %s: voice event %s (%s) refused by the engine: %s",
                self.host.tenant_id,
                event.name,
                event.provider_event_id,
                why,
            )
