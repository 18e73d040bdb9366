"""One tenant's engine inside an asyncio service: a single writer with group commit.

Requests from many connections become *work items* on a queue. One writer task
takes every item that is waiting, runs them on the engine in arrival order,
fires due timers, then appends all resulting events to the journal in one
transaction (in a worker thread, so the event loop keeps accepting requests)
and only after that resolves the items' futures and hands the events to
listeners. So every answer a client receives — a command's result or a read —
describes committed state: a crash can never take back something a client was
told. Items that arrive while a commit is in flight form the next batch, which
is how batching grows with load without any tuning.

A failed journal append heals in place. The batch's events were applied to the
engine but are not durable, so the engine is ahead of the journal and may not
answer anyone again. Every item of that batch fails (its client learns that
nothing was confirmed; no listener saw its events), the host stops taking work
(`HostUnavailable`), and the writer rebuilds the engine from the journal — the
same `Engine.restore` as at startup — in a worker thread. While the journal
keeps failing (a database that is down) it retries with a capped exponential
backoff, staying unavailable; `ready` is false meanwhile. Then the new engine
replaces the old one, and the writer takes work again. Listeners belong to the
host, not to an engine, so they carry over untouched.

An append whose outcome is unknown (the database committed but the answer was
lost) is covered by the same path: the rebuilt engine then contains the batch,
and its events — durable after all — are published to listeners after the
rebuild, so streams stay gap-free. A journal that cannot be read back (it has
no `read`) cannot be recovered from: the host then stays unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from switchboard.engine.clock import Clock
from switchboard.engine.engine import Engine, EngineMetrics, JournalPort, Listener, new_id
from switchboard.engine.events import Event

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 512
#: First wait before retrying a failed rebuild; it doubles per failure up to RETRY_MAX_S.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0


class HostUnavailable(RuntimeError):
    """The tenant's engine is not taking work (stopped, recovering, or its journal failed).

    `code` names the situation for the API's problem document, and `retry_after`
    (seconds) is when trying again is worthwhile.
    """

    def __init__(
        self, message: str, *, code: str = "tenant_unavailable", retry_after: float = 5.0
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class _Unrecoverable(RuntimeError):
    """The journal offers no way to read back what is durable."""


@dataclass(slots=True)
class _Item(Generic[T]):
    work: Callable[[Engine], T]
    future: asyncio.Future[T]
    result: Any = None
    error: BaseException | None = None


def _stop_marker(_engine: Engine) -> None:
    """The work of the item `stop` queues to wake the writer; nobody awaits its future."""


@dataclass(slots=True)
class HostStats:
    batches: int = 0
    items: int = 0
    events: int = 0
    largest_batch: int = 0
    commit_seconds: float = 0.0
    journal_lag: int = field(default=0)  # events applied but not yet journaled
    journal_failures: int = 0  # appends that failed (each one's batch was refused)
    restore_failures: int = 0  # rebuilds from the journal that failed and were retried
    recoveries: int = 0  # rebuilds that put the host back to work


def _restored_engine(
    tenant: Any, clock: Clock, events: Iterable[Event], ids: Callable[[], str] = new_id
) -> Engine:
    """The engine the journal describes: the one path of startup and of recovery."""
    return Engine.restore(tenant, clock, events, ids=ids)


def _carry_metrics(old: EngineMetrics, new: EngineMetrics) -> None:
    """Keep the since-start counters counting across a rebuild (they feed /metrics)."""
    new.offers += old.offers
    new.decisions += old.decisions
    new.sweeper_runs += old.sweeper_runs
    new.sweeper_recoveries += old.sweeper_recoveries
    new.decision_ns = old.decision_ns
    for key, value in old.extra.items():
        new.extra[key] = new.extra.get(key, 0) + value


class TenantHost:
    def __init__(
        self,
        engine: Engine,
        journal: JournalPort | None,
        clock: Clock,
        *,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        if engine.journal is not None:
            raise ValueError("the host journals events itself: build the engine without one")
        if not retry_first_s > 0:
            raise ValueError(
                f"retry_first_s must be a positive number of seconds, not {retry_first_s}"
            )
        if not retry_max_s >= retry_first_s:
            raise ValueError(
                f"retry_max_s must be at least retry_first_s ({retry_first_s}), not {retry_max_s}"
            )
        self.engine = engine
        self.journal = journal
        self.clock = clock
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.stats = HostStats()
        #: the tenant a rebuild starts from, before the journal's own configuration events
        self._tenant = engine.state.tenant
        self._listeners: list[Listener] = []
        engine.subscribe(self._fan_out)
        self._queue: asyncio.Queue[_Item[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._stopping = False
        self._wake = asyncio.Event()  # set by `stop`: ends a backoff wait early
        self._recovering = False
        self._retry_at: float | None = None  # loop time of the next rebuild attempt
        self._unpublished_from: int | None = None  # first seq of the batch whose append failed

    @classmethod
    def restore(
        cls,
        tenant: Any,
        clock: Clock,
        events: Iterable[Event],
        journal: JournalPort | None,
        *,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> TenantHost:
        """Rebuild the tenant's engine from its journal (startup)."""
        engine = _restored_engine(tenant, clock, events)
        # The restored configuration is long-lived: keep full collections off it.
        gc.collect()
        gc.freeze()
        host = cls(engine, journal, clock, retry_first_s=retry_first_s, retry_max_s=retry_max_s)
        host._tenant = tenant
        return host

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"tenant-{self.tenant_id}")

    async def stop(self) -> None:
        """Finish the queued work, commit it, then stop (graceful shutdown)."""
        self._stopping = True
        self._wake.set()
        loop = asyncio.get_running_loop()
        await self._queue.put(_Item(_stop_marker, loop.create_future()))
        if self._task is not None:
            await self._task
            self._task = None

    @property
    def tenant_id(self) -> str:
        return self.engine.state.tenant.id

    @property
    def ready(self) -> bool:
        """Taking work now (false while recovering from a journal failure)."""
        return self.serving and not self._recovering

    @property
    def serving(self) -> bool:
        """The writer runs and has not given up: work is taken now or after a recovery."""
        return self._task is not None and self._failure is None and not self._stopping

    @property
    def recovering(self) -> bool:
        """Rebuilding the engine from the journal after a failed append."""
        return self._recovering

    def subscribe(self, listener: Listener) -> None:
        """Receive every committed batch (live streams, later webhooks and providers).

        Subscribe here, not on `engine`: a recovery replaces the engine, the host stays.
        """
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def read_journal(self, after_seq: int) -> Iterable[Event]:
        """Committed events after `after_seq`, from the journal (for resuming streams)."""
        reader = getattr(self.journal, "read", None)
        if reader is None:
            return ()
        events: Iterable[Event] = reader(after_seq)
        return events

    # ------------------------------------------------------------------ work

    async def run(self, work: Callable[[Engine], T]) -> T:
        """Run `work` on the writer; return its result once its events are committed.

        A `DomainError` raised by `work` is re-raised here (the engine changed nothing);
        reads go through the same path so they only ever see committed state.
        """
        if self._failure is not None:
            raise self._unrecoverable_error()
        if self._recovering:
            raise self._recovering_error()
        if self._stopping or self._task is None:
            raise HostUnavailable(f"tenant {self.tenant_id}: the engine is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(work, future))
        return await future

    async def _run(self) -> None:
        queue = self._queue
        while True:
            first = await self._next_item()
            batch: list[_Item[Any]] = [] if first is None else [first]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            for item in batch:
                try:
                    item.result = item.work(self.engine)
                except Exception as error:  # refusals travel back to the caller
                    item.error = error
            self.engine.advance()
            ok = await self._commit()
            for item in batch:
                if not ok:
                    # Results and refusals alike were judged on state that is not durable.
                    self._fail(item, self._journal_failed_error())
                elif item.future.done():
                    continue
                elif item.error is not None:
                    item.future.set_exception(item.error)
                else:
                    item.future.set_result(item.result)
            self.stats.batches += bool(batch)
            self.stats.items += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            if not ok:
                if await self._recover():
                    continue
                self._fail_queued(
                    HostUnavailable(f"tenant {self.tenant_id}: the engine is stopping")
                    if self._failure is None
                    else self._unrecoverable_error()
                )
                return
            if self._stopping and queue.empty():
                return

    async def _next_item(self) -> _Item[Any] | None:
        """Wait for work or for the engine's next timer, whichever comes first."""
        if self.engine.uncommitted:  # a rebuilt engine's own decisions: commit them now
            return None if self._queue.empty() else self._queue.get_nowait()
        deadline = self.engine.next_deadline()
        if deadline is None:
            return await self._queue.get()
        timeout = max(0.0, deadline - self.clock.now())
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def _commit(self) -> bool:
        events: Sequence[Event] = self.engine.drain()
        if not events:
            return True
        self.stats.journal_lag = len(events)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            if self.journal is not None:
                await asyncio.to_thread(self.journal.append, events)
        except Exception:
            self.stats.journal_failures += 1
            self._unpublished_from = events[0].seq
            log.exception(
                "tenant %s: journal append of events %d..%d failed; the batch is refused "
                "and the engine will be rebuilt from the journal",
                self.tenant_id,
                events[0].seq,
                events[-1].seq,
            )
            return False
        self.stats.commit_seconds += loop.time() - started
        self.stats.events += len(events)
        self.stats.journal_lag = 0
        self.engine.publish(events)
        return True

    def _fan_out(self, batch: Sequence[Event]) -> None:
        """Hand a journaled batch to every listener; one failing listener stops no other."""
        for listener in tuple(self._listeners):
            try:
                listener(batch)
            except Exception:
                log.exception("tenant %s: an event listener failed", self.tenant_id)

    # ------------------------------------------------------------------ recovery

    async def _recover(self) -> bool:
        """Rebuild the engine from the journal, retrying with backoff; false if given up.

        Items still queued wait for the first attempt (they never ran, so they may
        run on the rebuilt engine); if it fails they are refused, like every new
        request until an attempt succeeds.
        """
        self._recovering = True
        loop = asyncio.get_running_loop()
        delay = self.retry_first_s
        attempt = 0
        while not self._stopping:
            attempt += 1
            self._retry_at = None
            try:
                engine, unpublished = await asyncio.to_thread(self._rebuild)
            except _Unrecoverable as error:
                log.error("tenant %s: cannot recover: %s", self.tenant_id, error)
                self._failure = error
                self._recovering = False
                return False
            except Exception as error:
                self.stats.restore_failures += 1
                self._retry_at = loop.time() + delay
                log.warning(
                    "tenant %s: rebuilding from the journal failed (attempt %d: %s); "
                    "retrying in %.3g s",
                    self.tenant_id,
                    attempt,
                    error,
                    delay,
                )
                self._fail_queued(self._recovering_error())
                await self._pause(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            self._install(engine)
            self.stats.recoveries += 1
            log.warning(
                "tenant %s: recovered from the journal failure at seq %d after %d attempt(s)",
                self.tenant_id,
                engine.state.seq,
                attempt,
            )
            if unpublished:  # the failed append had reached the journal after all
                log.warning(
                    "tenant %s: events %d..%d were journaled despite the failed append; "
                    "publishing them now",
                    self.tenant_id,
                    unpublished[0].seq,
                    unpublished[-1].seq,
                )
                self.stats.events += len(unpublished)
                self.engine.publish(unpublished)
            return True
        self._recovering = False
        return False

    def _rebuild(self) -> tuple[Engine, list[Event]]:
        """The engine as the journal has it, and the durable events no listener has seen.

        Runs in a worker thread; touches nothing the event loop uses.
        """
        reader = getattr(self.journal, "read", None)
        if reader is None:
            raise _Unrecoverable(f"{self.journal!r} cannot be read back")
        since = self._unpublished_from
        unpublished: list[Event] = []

        def replay(events: Iterable[Event]) -> Iterator[Event]:
            for event in events:
                if since is not None and event.seq >= since:
                    unpublished.append(event)
                yield event

        engine = _restored_engine(self._tenant, self.clock, replay(reader(0)), self.engine.ids)
        last_seq = getattr(self.journal, "last_seq", None)
        if last_seq is not None:  # also refreshes a journal's cached position
            durable = int(last_seq())
            if durable != engine.state.seq:
                raise RuntimeError(
                    f"the journal moved while it was read (seq {engine.state.seq}, now {durable})"
                )
        return engine, unpublished

    def _install(self, engine: Engine) -> None:
        """Put the rebuilt engine in place of the one that ran ahead of the journal."""
        old, self.engine = self.engine, engine
        old.unsubscribe(self._fan_out)
        engine.subscribe(self._fan_out)
        _carry_metrics(old.metrics, engine.metrics)
        self.stats.journal_lag = 0
        self._unpublished_from = None
        self._retry_at = None
        self._recovering = False
        # The old engine was frozen with everything else at startup; free it, refreeze.
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if `stop` is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    # ------------------------------------------------------------------ refusals

    def _journal_failed_error(self) -> HostUnavailable:
        return HostUnavailable(
            f"tenant {self.tenant_id}: the journal write failed, so this request was not "
            "confirmed (normally nothing of it was stored); the tenant is recovering — "
            "check the current state before repeating it",
            code="journal_failed",
            retry_after=self.retry_first_s,
        )

    def _recovering_error(self) -> HostUnavailable:
        wait = self.retry_first_s
        if self._retry_at is not None:
            wait = max(self._retry_at - asyncio.get_running_loop().time(), self.retry_first_s)
        return HostUnavailable(
            f"tenant {self.tenant_id} is recovering from a journal failure and takes no work "
            f"until its state is rebuilt from the journal (next attempt in {math.ceil(wait)} s)",
            code="tenant_recovering",
            retry_after=wait,
        )

    def _unrecoverable_error(self) -> HostUnavailable:
        return HostUnavailable(
            f"tenant {self.tenant_id}: the journal failed and cannot be read back to "
            "recover; the node must be restarted"
        )

    def _fail(self, item: _Item[Any], error: HostUnavailable) -> None:
        if item.future.done():
            return
        if item.work is _stop_marker:
            item.future.set_result(None)
        else:
            item.future.set_exception(error)

    def _fail_queued(self, error: HostUnavailable) -> None:
        while not self._queue.empty():
            self._fail(self._queue.get_nowait(), error)
