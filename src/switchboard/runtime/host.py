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

If the journal fails, the in-memory state is ahead of what is durable; the host
stops taking work (`HostUnavailable`) until it is restored from the journal.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from switchboard.engine.clock import Clock
from switchboard.engine.engine import Engine, JournalPort, Listener
from switchboard.engine.events import Event

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 512


class HostUnavailable(RuntimeError):
    """The tenant's engine is not taking work (stopped, or its journal failed)."""


@dataclass(slots=True)
class _Item(Generic[T]):
    work: Callable[[Engine], T]
    future: asyncio.Future[T]
    result: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class HostStats:
    batches: int = 0
    items: int = 0
    events: int = 0
    largest_batch: int = 0
    commit_seconds: float = 0.0
    journal_lag: int = field(default=0)  # events applied but not yet journaled


class TenantHost:
    def __init__(self, engine: Engine, journal: JournalPort | None, clock: Clock) -> None:
        if engine.journal is not None:
            raise ValueError("the host journals events itself: build the engine without one")
        self.engine = engine
        self.journal = journal
        self.clock = clock
        self.stats = HostStats()
        self._queue: asyncio.Queue[_Item[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._stopping = False

    @classmethod
    def restore(
        cls,
        tenant: Any,
        clock: Clock,
        events: Iterable[Event],
        journal: JournalPort | None,
    ) -> TenantHost:
        """Rebuild the tenant's engine from its journal (startup)."""
        engine = Engine.restore(tenant, clock, events)
        # The restored configuration is long-lived: keep full collections off it.
        gc.collect()
        gc.freeze()
        return cls(engine, journal, clock)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"tenant-{self.tenant_id}")

    async def stop(self) -> None:
        """Finish the queued work, commit it, then stop (graceful shutdown)."""
        self._stopping = True
        await self._queue.put(_Item(lambda _e: None, asyncio.get_running_loop().create_future()))
        if self._task is not None:
            await self._task
            self._task = None

    @property
    def tenant_id(self) -> str:
        return self.engine.state.tenant.id

    @property
    def ready(self) -> bool:
        return self._task is not None and self._failure is None and not self._stopping

    def subscribe(self, listener: Listener) -> None:
        """Receive every committed batch (live streams, later webhooks and providers)."""
        self.engine.subscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self.engine.unsubscribe(listener)

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
            raise HostUnavailable("the tenant's journal failed; it must be restored")
        if self._stopping or self._task is None:
            raise HostUnavailable("the tenant's engine is not running")
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
                if item.future.done():
                    continue
                if not ok:
                    item.future.set_exception(HostUnavailable("the journal write failed"))
                elif item.error is not None:
                    item.future.set_exception(item.error)
                else:
                    item.future.set_result(item.result)
            self.stats.batches += bool(batch)
            self.stats.items += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            if not ok:
                while not queue.empty():
                    queue.get_nowait().future.set_exception(
                        HostUnavailable("the tenant's journal failed; it must be restored")
                    )
                return
            if self._stopping and queue.empty():
                return

    async def _next_item(self) -> _Item[Any] | None:
        """Wait for work or for the engine's next timer, whichever comes first."""
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
        except Exception as error:
            log.exception("journal append failed for tenant %s", self.tenant_id)
            self._failure = error
            return False
        self.stats.commit_seconds += loop.time() - started
        self.stats.events += len(events)
        self.stats.journal_lag = 0
        self.engine.publish(events)
        return True
