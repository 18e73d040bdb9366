"""The voice outbox: committed `voice.command` events out to the provider, its events back in.

Outward (VP2, 12 J4): the dispatcher listens to a tenant host's *committed*
batches — a command the engine decided reaches the provider only once the
journal holds it — and sends each `voice.command` to the provider in journal
order, one at a time, so the commands of one call arrive in the order they were
decided. A command id already sent is not sent again (the provider de-duplicates
too; this keeps a re-published batch from even reaching it). A command the
provider could not be reached for (`execute` raised) is reported to the engine
as `operation_failed(provider_unreachable, retriable)`, the way every failure
reaches it (SI5).

The journal is the outbox (12 J3/J4). Every command is a journal event; what has
reached the provider is one watermark, journaled as `voice.commands_done
{through_seq}` once the provider has answered every command up to that position
(acknowledged, refused, or failed and reported). Sends are in journal order, so
one number says it all. The watermark is journaled after the sends, batched
with whatever else the writer commits then, so it costs no extra round trip per
command.

On start (after a restart or a failover) the dispatcher *reconciles* before it
sends anything new (11 VP3, 12 SN4): it asks the provider which calls it still
has, ends every live task whose call is gone (`Engine.voice_calls_lost`: `error`,
`call_lost`), and re-sends the commands journaled after the watermark for the
calls the provider still has, in journal order — the ones that were decided but
never sent, and the ones that were sent but whose watermark the crash took. The
provider acknowledges the latter as duplicates by `command_id` and does not act
twice (VP2).

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
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from switchboard.channels.voice.outbox import Feed, voice_commands
from switchboard.channels.voice.port import VoiceProvider
from switchboard.domain import voice as v
from switchboard.domain.errors import DomainError
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.runtime.host import HostUnavailable, TenantHost

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Command ids remembered as sent (older ones can no longer be re-published).
_SENT_LIMIT = 100_000
#: Provider events fed to the engine in one writer item at most.
_FEED_BATCH = 256
#: Journal events read per chunk while looking for commands to re-send.
_READ_CHUNK = 2_000
#: The code of the `operation_failed` a command gets when the provider cannot be reached.
UNREACHABLE = "provider_unreachable"


@dataclass
class DispatchStats:
    commands_sent: int = 0
    commands_refused: int = 0  # acknowledged with accepted=False (an event told the engine)
    commands_failed: int = 0  # `execute` raised: reported to the engine as operation_failed
    duplicates_skipped: int = 0
    provider_duplicates: int = 0  # the provider had the command already (a re-send)
    resent: int = 0  # commands re-sent on start: journaled after the watermark
    lost_calls: int = 0  # live tasks whose call the provider no longer had on start
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
        self._commands: asyncio.Queue[tuple[int, v.VoiceCommand]] = asyncio.Queue()
        self._events: asyncio.Queue[v.VoiceEvent] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._resumed = asyncio.Event()
        #: The watermark: every command up to here has been answered by the provider
        #: (`_done_seq`), and the part of that the journal holds (`_journaled_seq`).
        self._done_seq = 0
        self._journaled_seq = 0
        self._done_moved = asyncio.Event()
        self._failure_no = itertools.count(1)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Begin listening, reconcile with the provider, then send (in the running loop)."""
        if self._tasks:
            return
        self.host.subscribe(self.on_batch)  # from now on no committed command is missed
        self.provider.bind(self._events.put_nowait)
        tenant = self.host.tenant_id
        self._tasks = [
            asyncio.create_task(self._send_loop(), name=f"voice-out-{tenant}"),
            asyncio.create_task(self._feed_loop(), name=f"voice-in-{tenant}"),
            asyncio.create_task(self._watermark_loop(), name=f"voice-done-{tenant}"),
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
        """Wait until the start-up reconciliation is over, every queued command is sent,
        every queued event is journaled, and the watermark of what was sent is journaled.

        Sending a command can make the provider report events, and feeding an event
        can make the engine decide commands; this waits for both to come to rest.
        """
        await self._resumed.wait()
        while True:
            await self._events.join()
            await self._commands.join()
            await self._journal_watermark()
            if self._events.empty() and self._commands.empty():
                return

    # ------------------------------------------------------------------ out

    def on_batch(self, batch: Sequence[Event]) -> None:
        """Host listener: queue the batch's commands (they are journaled now)."""
        for event, command in voice_commands(batch):
            if self._seen(command):
                self.stats.duplicates_skipped += 1
                continue
            self._commands.put_nowait((event.seq, command))

    def _seen(self, command: v.VoiceCommand) -> bool:
        """Whether the command was sent (or queued) already; remembers it if not."""
        if command.command_id in self._sent:
            return True
        self._sent[command.command_id] = None
        if len(self._sent) > _SENT_LIMIT:
            self._sent.popitem(last=False)
        return False

    async def _send_loop(self) -> None:
        try:
            await self._resume()
        except HostUnavailable:
            return  # the engine stopped before it could be reconciled: nothing to send to
        except Exception:
            log.exception(
                "tenant %s: reconciling the voice outbox failed; only new commands are sent",
                self.host.tenant_id,
            )
        finally:
            self._resumed.set()  # a failed reconciliation must not keep new calls waiting
        while True:
            seq, command = await self._commands.get()
            try:
                await self._send(command)
                self._done(seq)
            finally:
                self._commands.task_done()

    async def _send(self, command: v.VoiceCommand) -> None:
        """Hand one command to the provider; whatever happens, the provider has answered."""
        try:
            ack = await self.provider.execute(command)
        except Exception:
            self.stats.commands_failed += 1
            log.exception(
                "tenant %s: sending %s %s failed; the engine hears operation_failed",
                self.host.tenant_id,
                command.name,
                command.command_id,
            )
            self._events.put_nowait(
                v.OperationFailed(
                    tenant_id=self.host.tenant_id,
                    provider_event_id=f"outbox-{command.command_id}-{next(self._failure_no)}",
                    received_at=self.host.clock.now(),
                    command_id=command.command_id,
                    code=UNREACHABLE,
                    retriable=True,
                    call_id=getattr(command, "call_id", None),
                )
            )
            return
        self.stats.commands_sent += 1
        if ack.duplicate:
            self.stats.provider_duplicates += 1
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

    # ------------------------------------------------------------------ the watermark

    def _done(self, seq: int) -> None:
        if seq > self._done_seq:
            self._done_seq = seq
            self._done_moved.set()

    async def _watermark_loop(self) -> None:
        while True:
            await self._done_moved.wait()
            self._done_moved.clear()
            try:
                await self._journal_watermark()
            except HostUnavailable:
                return  # the engine has stopped; the next start re-sends from the journal
            except Exception:  # a defect: the next move tries again
                log.exception(
                    "tenant %s: journaling the voice watermark failed", self.host.tenant_id
                )

    async def _journal_watermark(self) -> None:
        seq = self._done_seq
        if seq <= self._journaled_seq:
            return
        await self._on_host(lambda engine: engine.voice_commands_done(seq))
        self._journaled_seq = max(self._journaled_seq, seq)

    # ------------------------------------------------------------------ start-up

    async def _resume(self) -> None:
        """Reconcile with the provider and re-send what the journal holds unsent (SN4)."""
        try:
            snapshots = await self.provider.reconcile()
            live: set[str] | None = {snapshot.call_id for snapshot in snapshots}
        except Exception:
            log.exception(
                "tenant %s: the provider could not list its calls; re-sending without reconciling",
                self.host.tenant_id,
            )
            live = None

        def reconcile(engine: Engine) -> tuple[int, list[str]]:
            lost = engine.voice_calls_lost(live) if live is not None else []
            return engine.state.voice_done_seq, lost

        after, lost = await self._on_host(reconcile)
        self.stats.lost_calls += len(lost)
        self._done_seq = self._journaled_seq = after
        pending = iter(self.host.read_journal(after))
        while chunk := await asyncio.to_thread(_take, pending, _READ_CHUNK):
            for event, command in voice_commands(chunk):
                if self._seen(command):
                    continue  # committed after `start` subscribed: queued already
                if live is None or event.data.get("call_id") in live:
                    self.stats.resent += 1
                    await self._send(command)
                self._done(event.seq)  # a command for a call that is gone is moot
        if lost or self.stats.resent:
            log.info(
                "tenant %s: voice reconciled: %d task(s) lost their call, %d command(s) re-sent",
                self.host.tenant_id,
                len(lost),
                self.stats.resent,
            )

    async def _on_host(self, work: Callable[[Engine], T]) -> T:
        """Run `work` on the tenant's writer, waiting out a recovery of the host."""
        while True:
            try:
                return await self.host.run(work)
            except HostUnavailable as error:
                if not self.host.serving:
                    raise
                await asyncio.sleep(error.retry_after)

    # ------------------------------------------------------------------ in

    async def _feed_loop(self) -> None:
        # Events wait for the reconciliation: a call that rings in meanwhile must not be
        # judged against the provider's list of calls from before it existed.
        await self._resumed.wait()
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

    async def _feed(self, batch: list[v.VoiceEvent]) -> None:
        refused: list[tuple[v.VoiceEvent, DomainError]] = []

        def work(engine: Engine) -> None:
            refused.clear()  # a retried batch starts over on the rebuilt engine
            for event in batch:
                try:
                    self.feed(engine, event)
                except DomainError as error:
                    refused.append((event, error))

        try:
            await self._on_host(work)
        except HostUnavailable as error:
            log.error(
                "tenant %s: %d voice event(s) dropped, the engine has stopped: %s",
                self.host.tenant_id,
                len(batch),
                error,
            )
            return
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


def _take(events: Iterator[Event], limit: int) -> list[Event]:
    return list(itertools.islice(events, limit))
