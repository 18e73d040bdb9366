"""Keeping a tenant's reporting tables current while the service runs (RP1).

`LiveProjection` listens to the tenant's committed batches (it is a listener of
the tenant's host, so it only ever sees journaled events), folds them with the
same `Projector` as `switchboard reports rebuild`, and writes what concluded
every `flush_interval_s` — off the event loop, one transaction a flush, with the
cursor (see `ReportStore.write`). Folding and writing happen in a worker
thread; the listener itself only queues the batch, so the writer of the tenant
is never held up by reporting.

Resuming. The cursor row holds how far the tables go and, from time to time
(every `snapshot_every_s`, and at a clean stop), the projection's in-flight
state. `load` starts from that snapshot and folds the journal from there: the
events up to the cursor only rebuild the in-flight state (their rows are in
the tables already), the ones after it produce the rows a crash kept from being
written. So a restart, clean or not, continues exactly where the tables stand,
and the result is the rows a rebuild would write.

Gaps. Events that reached the journal without being published to listeners (a
tenant's first events, the demo's seeding, or a batch a journal failure made
unsure) show up as a gap in seqs; the projection then reads the missing events
from the journal before going on. If the cursor moved under it (a rebuild ran),
it drops what it had and loads again from the tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import Engine

from switchboard.engine.events import Event
from switchboard.reporting.projection import Output, Projector, state_from_json
from switchboard.reporting.rebuild import CHUNK_EVENTS
from switchboard.reporting.storage import CursorMoved, ReportStore

__all__ = ["LiveProjection"]

log = logging.getLogger(__name__)

JournalReader = Callable[[int], Iterable[Event]]


class LiveProjection:
    """One tenant's incremental projection (see the module docstring)."""

    def __init__(
        self,
        db: Engine,
        tenant_id: str,
        read_journal: JournalReader,
        *,
        flush_interval_s: float = 0.5,
        snapshot_every_s: float = 300.0,
        retry_max_s: float = 30.0,
    ) -> None:
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be positive, not {flush_interval_s}")
        self.store = ReportStore(db, tenant_id)
        self.tenant_id = tenant_id
        self.read_journal = read_journal
        self.flush_interval_s = flush_interval_s
        self.snapshot_every_s = snapshot_every_s
        self.retry_max_s = retry_max_s
        self.projector = Projector()
        #: the cursor as stored: every row of events up to here is in the tables
        self.written_seq = 0
        self._pending = Output()
        self._batches: deque[Sequence[Event]] = deque()
        self._snapshot_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        #: failed steps in a row (each one retried after a growing pause)
        self.failures = 0
        self._reload = False

    # ------------------------------------------------------------------ lifecycle

    def load(self) -> None:
        """Resume from the tables' cursor and snapshot, folding the journal since (blocking)."""
        cursor = self.store.cursor()
        projector = Projector()
        if cursor.snapshot and cursor.snapshot_seq <= cursor.seq:
            try:
                projector = Projector(state_from_json(cursor.snapshot))
            except ValueError as error:  # saved by a version whose state had another shape
                log.warning(
                    "tenant %s: the saved reporting state cannot be read (%s); folding the "
                    "journal from its start instead",
                    self.tenant_id,
                    str(error).splitlines()[0],
                )
        pending = Output()
        written = cursor.seq
        behind = 0
        for event in self.read_journal(projector.seq):
            projector.apply(event)
            rows = projector.take()
            if event.seq > cursor.seq:  # journaled, but its rows never reached the tables
                pending.extend(rows)
                behind += 1
                if behind % CHUNK_EVENTS == 0:  # a long way behind: write as it goes
                    self.store.write(pending, after=written, seq=projector.seq)
                    written, pending = projector.seq, Output()
        if behind >= CHUNK_EVENTS:
            log.info(
                "tenant %s: projected %d journaled events the reports did not have yet",
                self.tenant_id,
                behind,
            )
        self.projector = projector
        self.written_seq = written
        self._pending = pending
        self._snapshot_at = time.monotonic()

    def on_batch(self, batch: Sequence[Event]) -> None:
        """The host's listener: queue a committed batch (cheap; runs on the writer's loop)."""
        self._batches.append(batch)
        if self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"reports-{self.tenant_id}")

    async def stop(self) -> None:
        """Write what is folded, with a snapshot, and stop (graceful shutdown)."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    @property
    def lag(self) -> int:
        """Events journaled and seen but not yet in the tables (0 when current)."""
        seen = max((b[-1].seq for b in self._batches if b), default=self.projector.seq)
        return max(seen, self.projector.seq) - self.written_seq

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        assert self._wake is not None
        pause = self.flush_interval_s
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)
            self._wake.clear()
            if self._stopping:
                break
            await asyncio.sleep(self.flush_interval_s)  # let a flush gather several batches
            try:
                await asyncio.to_thread(self.step)
            except Exception:
                self.failures += 1
                pause = min(self.flush_interval_s * 2**self.failures, self.retry_max_s)
                log.exception(
                    "tenant %s: writing the reporting tables failed (attempt %d); "
                    "retrying in %.3g s",
                    self.tenant_id,
                    self.failures,
                    pause,
                )
            else:
                self.failures = 0
                pause = self.flush_interval_s
        try:
            await asyncio.to_thread(self.step, final=True)
        except Exception:
            log.exception(
                "tenant %s: the last write of the reporting tables failed; the next start "
                "projects those events from the journal",
                self.tenant_id,
            )

    def step(self, *, final: bool = False) -> None:
        """Fold the queued batches and write what concluded (blocking: a worker thread).

        After a failure (a write the database refused, say) the next step first
        loads again from the tables and the journal, so nothing folded but not
        written is lost, and nothing is written twice.
        """
        if self._reload:
            self.load()
        self._reload = True
        projector = self.projector
        while self._batches:
            batch = self._batches.popleft()
            for event in batch:
                if event.seq <= projector.seq:
                    continue  # read from the journal already (after a gap, or a reload)
                if event.seq > projector.seq + 1:
                    self._catch_up(event.seq - 1)
                projector.apply(event)
            self._pending.extend(projector.take())
        due = final or time.monotonic() - self._snapshot_at >= self.snapshot_every_s
        if projector.seq > self.written_seq or final:
            snapshot = projector.snapshot() if due else None
            try:
                self.store.write(
                    self._pending, after=self.written_seq, seq=projector.seq, snapshot=snapshot
                )
            except CursorMoved as moved:
                log.warning("tenant %s: %s; loading the projection again", self.tenant_id, moved)
                return  # `_reload` stays set
            self.written_seq = projector.seq
            self._pending = Output()
            if snapshot is not None:
                self._snapshot_at = time.monotonic()
        self._reload = False

    def _catch_up(self, through: int) -> None:
        """Fold the journal's events after the projection's seq, up to `through`."""
        projector = self.projector
        for event in self.read_journal(projector.seq):
            if event.seq > through:
                break
            projector.apply(event)
        if projector.seq < through:
            raise RuntimeError(
                f"tenant {self.tenant_id}: the journal ends at {projector.seq}, "
                f"before event {through + 1} that was published"
            )
