"""The event journal of a tenant on any SQLAlchemy engine (SQLite or PostgreSQL).

`SqlJournal` is the engine's `JournalPort` on the store database (the `journal`
table of `switchboard.store.schema`), for the service and for multi-node
operation; `SqliteJournal` (`switchboard.store.journal`) stays the dedicated
stdlib-sqlite3 journal of simulations and benchmarks. Both keep the same
guarantees and raise the same errors:

* `append(events)` stores a batch in one transaction, or nothing of it.
* The batch must continue the journal at `last_seq() + 1` without a gap:
  `JournalGapError` otherwise. `DuplicateSeqError` for a seq that is stored
  already — found by the check, or by the `(tenant_id, seq)` primary key when
  another writer committed the same seq concurrently (a second writer can never
  fork the history, spec 12 F4).
* `read(after_seq)` streams the events in seq order, a chunk per short query.

Unlike `SqliteJournal`, the check reads the journal's last seq inside the
append's transaction (instead of a cached value), so several `SqlJournal`
objects, processes or nodes writing one tenant are always checked against the
database. On SQLite the transaction starts with `BEGIN IMMEDIATE`, so the
check and the insert see the same journal; on PostgreSQL a concurrent writer
of the same seq is stopped by the primary key. The tenant's row must exist in
`tenants` (foreign key).

Event data is encoded by `switchboard.store.codec`, identically to `SqliteJournal`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Engine, Select, func, insert, select
from sqlalchemy.exc import IntegrityError

from switchboard.engine.events import Event
from switchboard.store.codec import decode_event, encode_event
from switchboard.store.database import integrity_kind, transaction
from switchboard.store.journal import DuplicateSeqError, JournalError, JournalGapError
from switchboard.store.schema import journal as journal_table

__all__ = ["READ_CHUNK", "SqlJournal"]

#: Rows fetched per query by `read`: memory stays bounded however long the journal is.
READ_CHUNK = 2_000

_c = journal_table.c


class SqlJournal:
    """Append-only event journal of one tenant in the store database.

    The tenant is bound at construction. The object holds no connection (each
    call borrows one from the engine's pool) and needs no closing; it may be
    used from one thread at a time, like the engine that writes through it.
    """

    def __init__(self, engine: Engine, tenant_id: str, *, read_chunk: int = READ_CHUNK) -> None:
        if read_chunk < 1:
            raise ValueError(f"read_chunk must be positive, not {read_chunk}")
        self.engine = engine
        self.tenant_id = tenant_id
        self.read_chunk = read_chunk

    # ------------------------------------------------------------------ writing

    def append(self, events: Sequence[Event]) -> None:
        """Store `events` in one transaction; return once they are committed.

        The batch must continue the journal: seqs `last_seq() + 1, + 2, ...`.
        Raises `DuplicateSeqError` for a seq that is journaled already and
        `JournalGapError` for a skipped one; either way nothing of the batch is
        stored.
        """
        if not events:
            return
        tenant = self.tenant_id
        rows = [
            {"tenant_id": tenant, "seq": e.seq, "name": e.name, "at": e.at, "data": encode_event(e)}
            for e in events
        ]
        try:
            with transaction(self.engine, tenant, write=True) as connection:
                last = connection.execute(self._last_query()).scalar_one()
                expected = (last or 0) + 1
                for offset, event in enumerate(events):
                    if event.seq != expected + offset:
                        error = (
                            DuplicateSeqError if event.seq < expected + offset else JournalGapError
                        )
                        raise error(
                            f"tenant {tenant!r}: event {event.name!r} has seq {event.seq}, "
                            f"the journal expects {expected + offset}"
                        )
                connection.execute(insert(journal_table), rows)
        except IntegrityError as exc:
            kind = integrity_kind(exc)
            if kind == "unique":
                raise DuplicateSeqError(
                    f"tenant {tenant!r}: seq {events[0].seq}..{events[-1].seq} "
                    "overlaps events already journaled (is another writer running?)"
                ) from exc
            if kind == "foreign_key":
                raise JournalError(f"tenant {tenant!r} does not exist (no row in tenants)") from exc
            raise

    # ------------------------------------------------------------------ reading

    def read(self, after_seq: int = 0) -> Iterator[Event]:
        """The tenant's events with seq > `after_seq`, in seq order.

        Streams: rows are fetched `read_chunk` at a time, each chunk by its own
        short transaction continuing after the last seq seen, so no transaction
        stays open between chunks (or while the caller works on the events) and
        memory does not grow with the journal. Events appended while reading are
        seen if they come after the current chunk.
        """
        tenant = self.tenant_id
        last = after_seq
        query = (
            select(_c.seq, _c.name, _c.at, _c.data)
            .where(_c.tenant_id == tenant)
            .order_by(_c.seq)
            .limit(self.read_chunk)
        )
        while True:
            with transaction(self.engine, tenant) as connection:
                rows = connection.execute(query.where(_c.seq > last)).all()
            for seq, name, at, data in rows:
                yield decode_event(name, at, seq, data)
            if len(rows) < self.read_chunk:
                return
            last = rows[-1][0]

    def last_seq(self) -> int:
        """The seq of the tenant's last journaled event (0 when there is none)."""
        with transaction(self.engine, self.tenant_id) as connection:
            last = connection.execute(self._last_query()).scalar_one()
        return int(last) if last is not None else 0

    def _last_query(self) -> Select[tuple[int | None]]:
        return select(func.max(_c.seq)).where(_c.tenant_id == self.tenant_id)

    def __repr__(self) -> str:
        return f"SqlJournal({self.engine.url!r}, tenant_id={self.tenant_id!r})"
