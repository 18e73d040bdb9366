"""Writing the projection's rows to the store's reporting tables, one transaction a batch.

`ReportStore.write` inserts the concluded sessions and intervals of a batch, adds
their contributions to the 15-minute aggregates (an upsert that adds, so any
split of the same rows into batches gives the same sums), and moves the tenant's
cursor — all in one transaction, so a crash never leaves rows without the cursor
that says they are there, or the reverse.

The cursor moves by compare-and-set: a write names the seq it continues from,
and fails with `CursorMoved` if the cursor is elsewhere (another writer, such as
a rebuild, got there first). The writer then knows its rows are not wanted and
that its in-flight state is stale.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from switchboard.reporting.aggregates import (
    ServiceCounts,
    UserCounts,
    service_aggregate_id,
    service_key,
    state_aggregate_id,
    state_slices,
    user_aggregate_id,
    user_key,
)
from switchboard.reporting.projection import Output
from switchboard.reporting.rows import to_dt
from switchboard.store.database import transaction
from switchboard.store.schema import (
    REPORT_TABLES,
    report_cursors,
    report_service_aggregates,
    report_service_sessions,
    report_transfer_sessions,
    report_unified_sessions,
    report_user_aggregates,
    report_user_sessions,
    report_user_state_aggregates,
    report_user_states,
)

__all__ = ["Cursor", "CursorMoved", "ReportStore"]


class CursorMoved(RuntimeError):
    """The tenant's reporting cursor is not where this writer left it."""


@dataclass(frozen=True, slots=True)
class Cursor:
    seq: int  # every event up to here is projected into the tables
    snapshot_seq: int  # the saved in-flight state is the state after this event
    snapshot: bytes | None


_SESSION_TABLES: tuple[tuple[str, Table], ...] = (
    ("unified", report_unified_sessions),
    ("service", report_service_sessions),
    ("user", report_user_sessions),
    ("transfer", report_transfer_sessions),
    ("states", report_user_states),
)


class ReportStore:
    """One tenant's reporting tables and cursor."""

    def __init__(self, db: Engine, tenant_id: str) -> None:
        self.db = db
        self.tenant_id = tenant_id

    # ------------------------------------------------------------------ the cursor

    def cursor(self) -> Cursor:
        """Where the projection stands (seq 0 and no snapshot when it never ran)."""
        c = report_cursors.c
        with transaction(self.db, self.tenant_id) as connection:
            row = connection.execute(
                select(c.seq, c.snapshot_seq, c.snapshot).where(c.tenant_id == self.tenant_id)
            ).first()
        if row is None:
            return Cursor(0, 0, None)
        return Cursor(int(row.seq), int(row.snapshot_seq), row.snapshot)

    def reset(self) -> None:
        """Empty the tenant's reporting tables and put the cursor back to 0 (a rebuild's start)."""
        with transaction(self.db, self.tenant_id, write=True) as connection:
            for table in REPORT_TABLES:
                connection.execute(delete(table).where(table.c.tenant_id == self.tenant_id))
            connection.execute(
                delete(report_cursors).where(report_cursors.c.tenant_id == self.tenant_id)
            )
            connection.execute(
                insert(report_cursors).values(
                    tenant_id=self.tenant_id,
                    seq=0,
                    snapshot_seq=0,
                    snapshot=None,
                    updated_at=datetime.now(UTC),
                )
            )

    # ------------------------------------------------------------------ writing

    def write(self, out: Output, *, after: int, seq: int, snapshot: bytes | None = None) -> None:
        """Store `out` (the rows of events `after`+1..`seq`) and move the cursor to `seq`.

        With `snapshot`, the projection's in-flight state at `seq` is saved too.
        Raises `CursorMoved` (nothing stored) if the cursor is not at `after`.
        """
        with transaction(self.db, self.tenant_id, write=True) as connection:
            self._move_cursor(connection, after, seq, snapshot)
            tenant = {"tenant_id": self.tenant_id}
            for attr, table in _SESSION_TABLES:
                rows: list[Any] = getattr(out, attr)
                if rows:
                    connection.execute(insert(table), [{**tenant, **r.values()} for r in rows])
            self._add(connection, report_service_aggregates, self._service_deltas(out))
            self._add(connection, report_user_aggregates, self._user_deltas(out))
            self._add(connection, report_user_state_aggregates, self._state_deltas(out))

    def _move_cursor(
        self, connection: Connection, after: int, seq: int, snapshot: bytes | None
    ) -> None:
        c = report_cursors.c
        values: dict[str, Any] = {"seq": seq, "updated_at": datetime.now(UTC)}
        if snapshot is not None:
            values |= {"snapshot": snapshot, "snapshot_seq": seq}
        moved = connection.execute(
            update(report_cursors)
            .where(c.tenant_id == self.tenant_id, c.seq == after)
            .values(**values)
        ).rowcount
        if moved == 1:
            return
        exists = connection.execute(
            select(c.seq).where(c.tenant_id == self.tenant_id)
        ).scalar_one_or_none()
        if exists is None and after == 0:
            first = {"snapshot_seq": 0, "snapshot": None, **values}
            connection.execute(insert(report_cursors).values(tenant_id=self.tenant_id, **first))
            return
        raise CursorMoved(
            f"tenant {self.tenant_id!r}: the reporting cursor is at {exists}, not at {after} "
            "(another writer, such as `switchboard reports rebuild`, moved it)"
        )

    def _add(self, connection: Connection, table: Table, deltas: list[dict[str, Any]]) -> None:
        """Insert aggregate rows, or add their counts to the rows already there."""
        if not deltas:
            return
        summed = [name for name in deltas[0] if name not in _KEY_COLUMNS]
        dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "id"],
            set_={name: table.c[name] + stmt.excluded[name] for name in summed},
        )
        tenant = {"tenant_id": self.tenant_id}
        connection.execute(stmt, [{**tenant, **d} for d in deltas])

    # ------------------------------------------------------------------ aggregate deltas

    @staticmethod
    def _service_deltas(out: Output) -> list[dict[str, Any]]:
        sums: dict[tuple[str, int, str, str, bool], ServiceCounts] = defaultdict(ServiceCounts)
        for row in out.service:
            sums[service_key(row)].add(ServiceCounts.of(row))
        return [
            {
                "id": service_aggregate_id(key),
                "service_id": key[0],
                "bucket_start": to_dt(key[1]),
                "modality": key[2],
                "direction": key[3],
                "kpi_excluded": key[4],
                **counts.values(),
            }
            for key, counts in sums.items()
        ]

    @staticmethod
    def _user_deltas(out: Output) -> list[dict[str, Any]]:
        started = {row.id: row.started_at for row in out.service}
        sums: dict[tuple[str, str, int], UserCounts] = defaultdict(UserCounts)
        for row in out.user:
            # A user session is written with its service session, so the start is at hand.
            sums[user_key(row, started[row.service_session_id])].add(UserCounts.of(row))
        return [
            {
                "id": user_aggregate_id(key),
                "user_id": key[0],
                "service_id": key[1],
                "bucket_start": to_dt(key[2]),
                **counts.values(),
            }
            for key, counts in sums.items()
        ]

    @staticmethod
    def _state_deltas(out: Output) -> list[dict[str, Any]]:
        sums: dict[tuple[str, str, str | None, int], int] = defaultdict(int)
        for row in out.states:
            for key, ms in state_slices(row):
                sums[key] += ms
        return [
            {
                "id": state_aggregate_id(key),
                "user_id": key[0],
                "state": key[1],
                "not_available_reason_id": key[2],
                "bucket_start": to_dt(key[3]),
                "duration_ms": ms,
            }
            for key, ms in sums.items()
        ]


#: Columns of the aggregate tables that name a bucket rather than count in it.
_KEY_COLUMNS = frozenset(
    {
        "tenant_id",
        "id",
        "service_id",
        "user_id",
        "bucket_start",
        "modality",
        "direction",
        "kpi_excluded",
        "state",
        "not_available_reason_id",
    }
)
