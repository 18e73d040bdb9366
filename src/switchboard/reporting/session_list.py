"""The sessions list of the portal (08 §9 LD6) and its CSV export (08 §10).

Service sessions whose `started_at` lies in a period, filtered by services,
outcome group, a user who took part, direction, modality and a part of the
customer's identifier, newest first. The scope a person reads (08 §7, PM1) is
part of the same `SessionQuery` as their filters, so it is in the SQL WHERE
clause of every page, count and export (10 OU5: never applied after paging),
and every statement names the tenant (10 TI4; PostgreSQL's row-level security
checks it again).

CSV (`csv_rows`): RFC 4180 (commas, CRLF, quotes doubled, a field quoted when
it holds a comma, quote or line break), a header row of property names as the
OData feed spells them, ISO 8601 UTC timestamps with milliseconds, durations in
seconds with a `.` decimal point, and cells that a spreadsheet would take for a
formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) prefixed
with `'` (CX3).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Engine, and_, exists, func, or_, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from switchboard.reporting.kpis import Period
from switchboard.reporting.outcomes import Outcome, OutcomeGroup
from switchboard.store.database import transaction
from switchboard.store.schema import (
    report_service_sessions,
    report_unified_sessions,
    report_user_sessions,
)

__all__ = [
    "CSV_COLUMNS",
    "MAX_EXPORT_ROWS",
    "SessionQuery",
    "count_sessions",
    "csv_rows",
    "iter_sessions",
    "list_sessions",
]

#: 08 CX2: an export holds at most this many rows.
MAX_EXPORT_ROWS: Final = 1_000_000
#: Rows read per statement while an export streams.
EXPORT_CHUNK: Final = 2_000
#: The longest customer search text taken.
MAX_CUSTOMER_TEXT: Final = 100


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Which service sessions a list shows: the reader's scope and their filters at once.

    `service_ids` None means every service of the tenant (a tenant-wide reader
    who chose none); an empty set means none at all. `user_id` keeps the sessions
    in which that user had a user session (offered, or picked up);
    `user_service_ids` narrows those user sessions to services (a reader who may
    see the user's work only in their own services).
    """

    period: Period
    service_ids: frozenset[str] | None = None
    user_id: str | None = None
    user_service_ids: frozenset[str] | None = None
    outcome_group: int | None = None
    direction: str | None = None
    modality: str | None = None
    customer: str | None = None

    def __post_init__(self) -> None:
        if self.outcome_group is not None:
            try:
                OutcomeGroup(self.outcome_group)
            except ValueError:
                raise ValueError(
                    f"outcome_group must be an outcome group id (1-7); got {self.outcome_group}"
                ) from None
        if self.customer is not None and len(self.customer) > MAX_CUSTOMER_TEXT:
            raise ValueError(
                f"customer must be at most {MAX_CUSTOMER_TEXT} characters; got {len(self.customer)}"
            )


_s = report_service_sessions.c
_u = report_unified_sessions.c
_FROM = report_service_sessions.outerjoin(
    report_unified_sessions,
    and_(_u.tenant_id == _s.tenant_id, _u.id == _s.unified_session_id),
)
#: What a list row holds: the service session's columns and its customer's.
_COLUMNS = (
    _s.id,
    _s.unified_session_id,
    _s.task_id,
    _s.service_id,
    _s.sequence,
    _s.direction,
    _s.modality,
    _s.task_kind,
    _s.started_at,
    _s.ended_at,
    _s.queue_ms,
    _s.answer_wait_ms,
    _s.ring_ms,
    _s.connected_ms,
    _s.hold_ms,
    _s.acw_ms,
    _s.outcome_id,
    _s.outcome_group_id,
    _s.end_reason,
    _s.first_accepting_user_id,
    _s.last_user_id,
    _s.primary_code,
    _s.tags,
    _u.customer_identifier,
    _u.caller_id,
)


def _where(tenant_id: str, q: SessionQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        _s.tenant_id == tenant_id,
        _s.started_at >= q.period.start,
        _s.started_at < q.period.end,
    ]
    if q.service_ids is not None:
        where.append(_s.service_id.in_(sorted(q.service_ids)))
    if q.user_id is not None:
        us = report_user_sessions.c
        took_part: list[ColumnElement[bool]] = [
            us.tenant_id == _s.tenant_id,
            us.service_session_id == _s.id,
            us.user_id == q.user_id,
        ]
        if q.user_service_ids is not None:
            took_part.append(us.service_id.in_(sorted(q.user_service_ids)))
        where.append(exists().where(and_(*took_part)))
    if q.outcome_group is not None:
        where.append(_s.outcome_group_id == q.outcome_group)
    if q.direction is not None:
        where.append(_s.direction == q.direction)
    if q.modality is not None:
        where.append(_s.modality == q.modality)
    if q.customer:
        text = q.customer.casefold()
        where.append(
            or_(
                func.lower(_u.customer_identifier).contains(text, autoescape=True),
                func.lower(_u.caller_id).contains(text, autoescape=True),
            )
        )
    return where


def _select(tenant_id: str, q: SessionQuery) -> Select[Any]:
    return (
        select(*_COLUMNS)
        .select_from(_FROM)
        .where(and_(*_where(tenant_id, q)))
        .order_by(_s.started_at.desc(), _s.id.desc())
    )


def count_sessions(db: Engine, tenant_id: str, q: SessionQuery) -> int:
    query = select(func.count()).select_from(_FROM).where(and_(*_where(tenant_id, q)))
    with transaction(db, tenant_id) as connection:
        count: int = connection.execute(query).scalar_one()
    return count


def list_sessions(
    db: Engine, tenant_id: str, q: SessionQuery, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    """One page of the list, newest first (then by id, so pages never overlap)."""
    if offset < 0 or limit < 1:
        raise ValueError(f"offset must be ≥ 0 and limit ≥ 1; got {offset} and {limit}")
    query = _select(tenant_id, q).offset(offset).limit(limit)
    with transaction(db, tenant_id) as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def iter_sessions(
    db: Engine, tenant_id: str, q: SessionQuery, *, chunk: int = EXPORT_CHUNK
) -> Iterator[dict[str, Any]]:
    """Every session of the query, newest first, read `chunk` rows per statement (keyset
    on start and id), so no transaction stays open while a client downloads slowly."""
    after: tuple[datetime, str] | None = None
    while True:
        query = _select(tenant_id, q).limit(chunk)
        if after is not None:
            at, last_id = after
            query = query.where(or_(_s.started_at < at, and_(_s.started_at == at, _s.id < last_id)))
        with transaction(db, tenant_id) as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        yield from rows
        if len(rows) < chunk:
            return
        after = (rows[-1]["started_at"], rows[-1]["id"])


# ---------------------------------------------------------------------- CSV


@dataclass(frozen=True, slots=True)
class Names:
    """Display names for ids the export spells out (current configuration)."""

    services: Mapping[str, str]
    users: Mapping[str, str]


def _iso(at: datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(ms: int | None) -> str:
    return "" if ms is None else f"{ms / 1000:.3f}"


def _name(names: Mapping[str, str], key: str | None) -> str:
    return "" if key is None else names.get(key, "")


#: (header, value of a row) — the header spells each property as the OData feed does.
CSV_COLUMNS: Final[tuple[tuple[str, Callable[[Mapping[str, Any], Names], str]], ...]] = (
    ("Id", lambda r, n: r["id"]),
    ("StartedAt", lambda r, n: _iso(r["started_at"])),
    ("EndedAt", lambda r, n: _iso(r["ended_at"])),
    ("ServiceId", lambda r, n: r["service_id"]),
    ("ServiceName", lambda r, n: _name(n.services, r["service_id"])),
    ("Direction", lambda r, n: r["direction"]),
    ("Modality", lambda r, n: r["modality"]),
    ("TaskKind", lambda r, n: r["task_kind"]),
    ("CustomerIdentifier", lambda r, n: r["customer_identifier"] or ""),
    ("CallerId", lambda r, n: r["caller_id"] or ""),
    ("OutcomeId", lambda r, n: str(r["outcome_id"])),
    ("Outcome", lambda r, n: Outcome(r["outcome_id"]).code),
    ("OutcomeGroupId", lambda r, n: str(r["outcome_group_id"])),
    ("OutcomeGroup", lambda r, n: OutcomeGroup(r["outcome_group_id"]).code),
    ("EndReason", lambda r, n: r["end_reason"]),
    ("QueueSeconds", lambda r, n: _seconds(r["queue_ms"])),
    ("AnswerWaitSeconds", lambda r, n: _seconds(r["answer_wait_ms"])),
    ("RingSeconds", lambda r, n: _seconds(r["ring_ms"])),
    ("ConnectedSeconds", lambda r, n: _seconds(r["connected_ms"])),
    ("HoldSeconds", lambda r, n: _seconds(r["hold_ms"])),
    ("AcwSeconds", lambda r, n: _seconds(r["acw_ms"])),
    ("FirstAcceptingUserId", lambda r, n: r["first_accepting_user_id"] or ""),
    ("LastUserId", lambda r, n: r["last_user_id"] or ""),
    ("LastUserName", lambda r, n: _name(n.users, r["last_user_id"])),
    ("PrimaryCode", lambda r, n: r["primary_code"] or ""),
    ("Tags", lambda r, n: r["tags"] or ""),
    ("Sequence", lambda r, n: str(r["sequence"])),
    ("UnifiedSessionId", lambda r, n: r["unified_session_id"]),
    ("TaskId", lambda r, n: r["task_id"]),
)

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """08 CX3: a cell a spreadsheet would read as a formula is prefixed with `'`."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_rows(
    rows: Iterator[Mapping[str, Any]] | Sequence[Mapping[str, Any]],
    names: Names,
    *,
    bom: bool = False,
) -> Iterator[str]:
    """The export as text chunks: the header first, then one line per row (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([header for header, _value in CSV_COLUMNS])
    yield ("\ufeff" if bom else "") + take()
    pending = 0
    for row in rows:
        writer.writerow([_cell(value(row, names)) for _header, value in CSV_COLUMNS])
        pending += 1
        if pending == 200:
            yield take()
            pending = 0
    if pending:
        yield take()
