"""The event journal of a tenant in SQLite: the engine's durable truth.

The engine hands every committed batch of events to `SqliteJournal.append`
(its `JournalPort`) before any listener sees them; after a crash,
`Engine.restore(tenant, clock, journal.read(), journal=journal)` replays the
journal and reaches the state the engine had at its last commit.

Schema. One table, keyed by tenant and position::

    journal(tenant_id TEXT, seq INTEGER, name TEXT, at REAL, data TEXT,
            PRIMARY KEY (tenant_id, seq))

`seq` is the event's gap-free position in its tenant's journal. Making
`(tenant_id, seq)` the primary key means that a second event at the same
position cannot be stored: if two writers ever run for one tenant (a restarted
engine that did not restore first, a split brain after a failover, a replayed
batch), the second `append` fails loudly with `DuplicateSeqError` instead of
silently forking the history. `append` also refuses a batch that does not
continue the journal without a gap (`JournalGapError`): an engine whose state
ran ahead of its journal must be restored, not allowed to write around the hole.
The table is `WITHOUT ROWID`, so the primary key is the table's only b-tree and
each event costs one index insert, and reads in `seq` order are sequential.

Durability. The database runs in WAL mode. `synchronous="NORMAL"` (the default)
syncs the WAL only at checkpoints: a committed `append` survives the death of
the process (SIGKILL, OOM, a crash of the service) because the data is in the
operating system's page cache, but the last commits may be lost if the machine
loses power. `synchronous="FULL"` syncs the WAL on every commit and survives
power loss, at the price of one fsync per `append`. `"EXTRA"` is accepted too;
`"OFF"` (no syncs at all, for throw-away benchmarks) is the same as NORMAL for a
process crash and loses more on power loss.

Group commit. `append` is called once per `Engine.commit()` and writes the whole
batch in one transaction (one `executemany`, one commit, at most one fsync).
How many commands share a commit is the driver's decision: a driver that
commits after every command pays one transaction per command; one that runs
the commands that arrived together (or during the previous commit) and then
commits once amortises the transaction, and with FULL the fsync, over all of
them. Nothing leaves the engine before its commit, so batching never exposes an
uncommitted fact.

Why the stdlib `sqlite3` module and not SQLAlchemy: the journal is the hot path
of every command, and group commit needs exactly one dedicated writer
connection doing `BEGIN IMMEDIATE; executemany(INSERT ...); COMMIT` with no
layer in between. SQLAlchemy Core arrives with the multi-database store (the
configuration and reporting databases) later; the journal keeps its own
connection even then.

The journal is meant to be used by one thread at a time (the tenant's single
writer); the connection is not bound to the thread that opened it, so a driver
may open it in one thread and run the engine in another.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from switchboard.engine.events import Event
from switchboard.store.codec import decode_event, encode_event

__all__ = [
    "READ_CHUNK",
    "DuplicateSeqError",
    "JournalError",
    "JournalGapError",
    "SqliteJournal",
]

#: Rows fetched per query by `read`: memory stays bounded however long the journal is.
READ_CHUNK = 2_000

_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    at REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID
"""
_INSERT = "INSERT INTO journal (tenant_id, seq, name, at, data) VALUES (?, ?, ?, ?, ?)"
_READ = (
    "SELECT seq, name, at, data FROM journal WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?"
)
_LAST = "SELECT MAX(seq) FROM journal WHERE tenant_id = ?"


class JournalError(RuntimeError):
    """The journal refused a write that would corrupt the history."""


class DuplicateSeqError(JournalError):
    """An event with the same tenant and seq is in the journal already."""


class JournalGapError(JournalError):
    """A batch does not continue the journal at the next seq, or skips one."""


class SqliteJournal:
    """Append-only event journal of one tenant in an SQLite database file.

    `path` is a file (its parent directories are created) or `":memory:"` for
    tests. Several tenants may share one file; each journal object reads and
    writes only the rows of its `tenant_id`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tenant_id: str,
        synchronous: str = "NORMAL",
        busy_timeout_s: float = 5.0,
    ) -> None:
        mode = synchronous.upper()
        if mode not in _SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {sorted(_SYNCHRONOUS)}, not {synchronous!r}"
            )
        location = os.fspath(path)
        in_memory = location in (":memory:", "")
        if not in_memory:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        self.path = location
        self.tenant_id = tenant_id
        self.synchronous = mode
        # isolation_level=None: no implicit transactions; `append` runs its own.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            location, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
        )
        try:
            journal_mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if not in_memory and str(journal_mode).lower() != "wal":
                raise JournalError(f"{location}: the database refused WAL mode ({journal_mode})")
            self._conn.execute(f"PRAGMA synchronous={mode}")
            self._conn.execute(_SCHEMA)
            self._last = self._query_last()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # ------------------------------------------------------------------ writing

    def append(self, events: Sequence[Event]) -> None:
        """Store `events` in one transaction; return once they are committed.

        The batch must continue the journal: seqs `last_seq() + 1, + 2, ...`.
        Raises `DuplicateSeqError` for a seq that is journaled already (checked
        against this object's view first, then by the primary key, which also
        catches another writer) and `JournalGapError` for a skipped seq; either
        way nothing of the batch is stored.
        """
        if not events:
            return
        conn = self._connection()
        expected = self._last + 1
        for offset, event in enumerate(events):
            if event.seq != expected + offset:
                error = DuplicateSeqError if event.seq < expected + offset else JournalGapError
                raise error(
                    f"tenant {self.tenant_id!r}: event {event.name!r} has seq {event.seq}, "
                    f"the journal expects {expected + offset}"
                )
        tenant = self.tenant_id
        rows = [(tenant, e.seq, e.name, e.at, encode_event(e)) for e in events]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_INSERT, rows)
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK")
            raise DuplicateSeqError(
                f"tenant {self.tenant_id!r}: seq {events[0].seq}..{events[-1].seq} "
                "overlaps events already journaled (is another writer running?)"
            ) from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._last = events[-1].seq

    # ------------------------------------------------------------------ reading

    def read(self, after_seq: int = 0) -> Iterator[Event]:
        """The tenant's events with seq > `after_seq`, in seq order.

        Streams: rows are fetched `READ_CHUNK` at a time, each chunk by its own
        short query continuing after the last seq seen, so no read transaction
        stays open between chunks and memory does not grow with the journal.
        """
        conn = self._connection()
        tenant = self.tenant_id
        last = after_seq
        while True:
            rows = conn.execute(_READ, (tenant, last, READ_CHUNK)).fetchall()
            for seq, name, at, data in rows:
                yield decode_event(name, at, seq, data)
            if len(rows) < READ_CHUNK:
                return
            last = rows[-1][0]

    def last_seq(self) -> int:
        """The seq of the tenant's last journaled event (0 when there is none)."""
        self._connection()
        self._last = self._query_last()
        return self._last

    def _query_last(self) -> int:
        row = self._connection().execute(_LAST, (self.tenant_id,)).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    # ------------------------------------------------------------------ lifecycle

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError("the journal is closed")
        return self._conn

    @property
    def closed(self) -> bool:
        return self._conn is None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else f"last_seq={self._last}"
        return f"SqliteJournal({self.path!r}, tenant_id={self.tenant_id!r}, {state})"
