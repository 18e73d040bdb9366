"""The KPIs of spec 08 §5 for any period, services, modality, direction and users.

Scope (08 §5): the service sessions whose `started_at` lies in the period —
so a task that runs past midnight belongs to the day it started (K6) — of the
chosen services, modality and direction (inbound unless told otherwise),
without the `kpi_excluded` ones unless the tenant includes unconnected outbound
(RP5). Every figure is a ratio of sums (K2) of the additive counts a session
contributes (`ServiceCounts.of`); an empty denominator gives None (K3), never
0 or 100 %. Rates are fractions (0.25 = 25 %); times are seconds.

A period is a half-open UTC interval [start, end); `Period.day` and
`Period.today` build a calendar day of a time zone (23, 24 or 25 hours long
around daylight-saving changes). Periods on 15-minute boundaries — every day of
every zone, since all UTC offsets are multiples of 15 minutes — are summed from
the aggregate tables; any other period is counted from the sessions
themselves. Both use the same per-session counts, so they agree (tested).
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from switchboard.reporting.aggregates import ServiceCounts, UserCounts
from switchboard.reporting.rows import BUCKET_MS, duration_ms, to_epoch_ms
from switchboard.store.database import transaction
from switchboard.store.schema import (
    report_service_aggregates,
    report_service_sessions,
    report_user_aggregates,
    report_user_sessions,
    report_user_state_aggregates,
    report_user_states,
)

__all__ = [
    "Period",
    "ServiceKpis",
    "ServicePoint",
    "UserKpis",
    "counted",
    "service_counts",
    "service_kpis",
    "service_series",
    "user_kpis",
    "user_series",
]

Source = Literal["auto", "aggregates", "sessions"]


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError naming it when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"time zone must be an IANA zone name such as 'Europe/Zurich'; got {name!r}"
        ) from error


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval [start, end) of instants, kept in UTC.

    (UTC, because Python subtracts two datetimes of the same zone by their wall
    clocks: a 23-hour day in Zurich would come out as 24 hours.)
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be an aware datetime (with a time zone)")
            object.__setattr__(self, name, value.astimezone(UTC))
        if not self.start < self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")

    @classmethod
    def day(cls, day: date, zone: str) -> Period:
        """The calendar day `day` in `zone`, from its first instant to the next day's.

        A day may start at a time other than midnight where daylight saving begins
        at midnight (the skipped midnight counts as the moment the clocks jump).
        """
        tz = zone_of(zone)
        return cls(_day_start(day, tz), _day_start(day + timedelta(days=1), tz))

    @classmethod
    def today(cls, now: datetime, zone: str) -> Period:
        """The calendar day of `zone` that `now` falls in ("today" of 08 §5)."""
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime (with a time zone)")
        return cls.day(now.astimezone(zone_of(zone)).date(), zone)

    @property
    def start_ms(self) -> int:
        return to_epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_epoch_ms(self.end)

    @property
    def aligned(self) -> bool:
        """Both ends on 15-minute UTC boundaries (whole aggregate buckets)."""
        exact = self.start.microsecond == 0 and self.end.microsecond == 0
        return exact and self.start_ms % BUCKET_MS == 0 and self.end_ms % BUCKET_MS == 0


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    # fold=0: a wall time skipped by a DST jump maps to the instant of the jump, and a
    # repeated one to its first occurrence; either way, the day's first instant.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


# ---------------------------------------------------------------------- service KPIs


@dataclass(frozen=True, slots=True)
class ServiceKpis:
    """08 §5: counts, rates (0..1) and times (seconds); None where the denominator is empty."""

    tasks: int
    accepted_by_system: int
    queued: int
    handled_by_user: int
    queue_hangups: int
    reachability: float | None
    acceptance_sla: float | None
    hangup_sla: float | None
    queue_time_s: float | None
    connected_time_s: float | None
    asa_s: float | None
    service_level: float | None
    service_level_all: float | None
    queue_abandon_rate: float | None
    aht_s: float | None
    outbound_connect_rate: float | None

    @classmethod
    def of(cls, counts: ServiceCounts, outbound: ServiceCounts | None = None) -> ServiceKpis:
        """The KPIs of summed counts. `outbound`: every outbound session in scope, the
        excluded ones included (the connect rate's denominator)."""
        c = counts
        base = c.queued - c.short_abandons
        out = outbound or ServiceCounts()
        return cls(
            tasks=c.tasks,
            accepted_by_system=c.accepted,
            queued=c.queued,
            handled_by_user=c.handled_by_user,
            queue_hangups=c.queue_hangups,
            reachability=_ratio(c.handled_by_user_queued, c.queued),
            acceptance_sla=_ratio(c.answered_within_sla, c.handled_by_user_queued),
            hangup_sla=_ratio(c.queue_hangups_within_hangup_sla, c.queue_hangups),
            queue_time_s=_seconds(c.sum_queue_ms, c.queued),
            connected_time_s=_seconds(c.sum_connected_ms, c.handled_by_user),
            asa_s=_seconds(c.sum_answer_wait_ms, c.handled_by_user_queued),
            service_level=_ratio(c.answered_within_sla, base),
            service_level_all=_ratio(c.answered_within_sla, c.queued),
            queue_abandon_rate=_ratio(c.queue_hangups, c.queued),
            aht_s=_seconds(c.sum_connected_ms + c.sum_acw_ms, c.handled_by_user),
            outbound_connect_rate=_ratio(out.group_outbound_accepted, out.tasks),
        )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _seconds(total_ms: int, count: int) -> float | None:
    return total_ms / count / 1000 if count > 0 else None


def service_kpis(
    db: Engine,
    tenant_id: str,
    period: Period,
    *,
    service_ids: Collection[str] | None = None,
    modality: str | None = None,
    direction: str | None = "inbound",
    include_unconnected_outbound: bool = False,
    source: Source = "auto",
) -> ServiceKpis:
    """08 §5 for the tenant's service sessions in scope (see the module docstring).

    `service_ids` None: every service; `modality`/`direction` None: all of them.
    `source` "auto" sums aggregates when the period allows, else counts sessions.
    """
    point = _service_point(
        db,
        tenant_id,
        period,
        service_ids=service_ids,
        modality=modality,
        direction=direction,
        include_unconnected_outbound=include_unconnected_outbound,
        source=source,
    )
    return point.kpis


def counted(
    kept: ServiceCounts, excluded: ServiceCounts, include_unconnected_outbound: bool
) -> ServiceCounts:
    """The counts the KPIs are computed from: the kept sessions, and the `kpi_excluded`
    ones too when the tenant includes unconnected outbound (RP5)."""
    return ServiceCounts.total([kept, excluded]) if include_unconnected_outbound else kept


def service_counts(
    db: Engine,
    tenant_id: str,
    period: Period,
    *,
    service_ids: Collection[str] | None = None,
    modality: str | None = None,
    direction: str | None = "inbound",
    source: Source = "auto",
) -> tuple[ServiceCounts, ServiceCounts]:
    """The summed counts of the sessions in scope: (kept, `kpi_excluded`)."""
    use_aggregates = _use_aggregates(period, source)
    table = report_service_aggregates if use_aggregates else report_service_sessions
    column = "bucket_start" if use_aggregates else "started_at"
    c = table.c
    where = _service_filter(c, tenant_id, service_ids, modality)
    where += [c[column] >= period.start, c[column] < period.end]
    if direction is not None:
        where.append(c.direction == direction)
    kept, excluded = ServiceCounts(), ServiceCounts()
    with transaction(db, tenant_id) as connection:
        if use_aggregates:
            sums = _sums(c, ServiceCounts.FIELDS)
            query = select(c.kpi_excluded, *sums).where(and_(*where)).group_by(c.kpi_excluded)
            for row in connection.execute(query).mappings():
                (excluded if row["kpi_excluded"] else kept).add(ServiceCounts.summed(row))
        else:
            query = select(*(c[name] for name in _SESSION_COLUMNS)).where(and_(*where))
            for row in connection.execute(query).mappings():
                (excluded if row["kpi_excluded"] else kept).add(ServiceCounts.of(row))
    return kept, excluded


#: What `ServiceCounts.of` reads of a service session.
_SESSION_COLUMNS = (
    "kpi_excluded",
    "outcome_id",
    "outcome_group_id",
    "accepted_at",
    "first_enqueued_at",
    "queue_ms",
    "connected_ms",
    "acw_ms",
    "answer_wait_ms",
    "hangup_wait_ms",
    "sla_acceptance_s",
    "sla_hangup_s",
)


def _service_filter(
    c: Any, tenant_id: str, service_ids: Collection[str] | None, modality: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [c.tenant_id == tenant_id]
    if service_ids is not None:
        where.append(c.service_id.in_(sorted(service_ids)))
    if modality is not None:
        where.append(c.modality == modality)
    return where


def _sums(c: Any, fields: Sequence[str]) -> list[Any]:
    """The sum of each of `fields` over the selected rows, 0 for none, under its own name."""
    return [func.coalesce(func.sum(c[name]), 0).label(name) for name in fields]


def _use_aggregates(period: Period, source: Source) -> bool:
    if source == "aggregates":
        if not period.aligned:
            raise ValueError(
                "aggregates hold 15-minute buckets: the period must start and end on "
                f"quarter hours (UTC); got {period.start.isoformat()} to {period.end.isoformat()}"
            )
        return True
    return source == "auto" and period.aligned


# ---------------------------------------------------------------------- user KPIs


@dataclass(frozen=True, slots=True)
class UserKpis:
    """Per-user figures (08 §9 LD2): sessions by outcome, mean times, time per state.

    Sessions count by their service session's start, like the aggregates (08 §2.2);
    state time is the time spent in each reporting state within the period.
    """

    offered: int
    accepted: int
    declined: int
    rona: int
    cancelled: int
    missed: int  # declined + RONA + cancelled (08 §3.4)
    transferred: int
    handled: int
    mean_ring_s: float | None
    mean_connected_s: float | None  # over accepted sessions
    mean_hold_s: float | None
    mean_acw_s: float | None
    state_seconds: Mapping[str, float]

    @classmethod
    def of(cls, c: UserCounts, state_ms: Mapping[str, int]) -> UserKpis:
        return cls(
            offered=c.offered,
            accepted=c.accepted,
            declined=c.declined,
            rona=c.rona,
            cancelled=c.cancelled,
            missed=c.declined + c.rona + c.cancelled,
            transferred=c.transferred,
            handled=c.handled,
            mean_ring_s=_seconds(c.sum_ring_ms, c.offered),
            mean_connected_s=_seconds(c.sum_connected_ms, c.accepted),
            mean_hold_s=_seconds(c.sum_hold_ms, c.accepted),
            mean_acw_s=_seconds(c.sum_acw_ms, c.accepted),
            state_seconds={k: v / 1000 for k, v in sorted(state_ms.items())},
        )


def user_kpis(
    db: Engine,
    tenant_id: str,
    period: Period,
    *,
    user_ids: Collection[str] | None = None,
    service_ids: Collection[str] | None = None,
    source: Source = "auto",
) -> UserKpis:
    """The users' sessions (of `service_ids`, or all) and state times in the period, summed."""
    use_aggregates = _use_aggregates(period, source)
    counts = UserCounts()
    state_ms: dict[str, int] = {}
    with transaction(db, tenant_id) as connection:
        if use_aggregates:
            a = report_user_aggregates.c
            where = _user_filter(a, tenant_id, user_ids, service_ids)
            where += [a.bucket_start >= period.start, a.bucket_start < period.end]
            sums = _sums(a, UserCounts.FIELDS)
            row = connection.execute(select(*sums).where(and_(*where))).mappings().one()
            counts.add(UserCounts.summed(row))
            s = report_user_state_aggregates.c
            where = _user_filter(s, tenant_id, user_ids, None)
            where += [s.bucket_start >= period.start, s.bucket_start < period.end]
            query = select(s.state, func.sum(s.duration_ms)).where(and_(*where)).group_by(s.state)
            for state, total in connection.execute(query):
                state_ms[state] = int(total)
        else:
            u, v = report_user_sessions.c, report_service_sessions.c
            where = _user_filter(u, tenant_id, user_ids, service_ids)
            where += [v.started_at >= period.start, v.started_at < period.end]
            join = report_user_sessions.join(
                report_service_sessions,
                and_(v.tenant_id == u.tenant_id, v.id == u.service_session_id),
            )
            columns = ("outcome_id", "outcome_group_id", "answered_at", *_USER_SUMS)
            query = select(*(u[n] for n in columns)).select_from(join).where(and_(*where))
            for row in connection.execute(query).mappings():
                counts.add(UserCounts.of(row))
            s = report_user_states.c
            where = _user_filter(s, tenant_id, user_ids, None)
            where += [s.started_at < period.end, s.ended_at > period.start]
            query = select(s.state, s.started_at, s.ended_at).where(and_(*where))
            for state, started, ended in connection.execute(query):
                overlap = min(ended, period.end) - max(started, period.start)
                state_ms[state] = state_ms.get(state, 0) + duration_ms(overlap)
    return UserKpis.of(counts, state_ms)


_USER_SUMS = ("ring_ms", "connected_ms", "hold_ms", "acw_ms")


def _user_filter(
    c: Any,
    tenant_id: str,
    user_ids: Collection[str] | None,
    service_ids: Collection[str] | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [c.tenant_id == tenant_id]
    if user_ids is not None:
        where.append(c.user_id.in_(sorted(user_ids)))
    if service_ids is not None:
        where.append(c.service_id.in_(sorted(service_ids)))
    return where


# ---------------------------------------------------------------------- series (charts)


@dataclass(frozen=True, slots=True)
class ServicePoint:
    """One period of a series: the summed counts the KPIs come from, and the KPIs."""

    period: Period
    counts: ServiceCounts
    kpis: ServiceKpis


def service_series(
    db: Engine,
    tenant_id: str,
    periods: Sequence[Period],
    *,
    service_ids: Collection[str] | None = None,
    modality: str | None = None,
    direction: str | None = "inbound",
    include_unconnected_outbound: bool = False,
) -> list[ServicePoint]:
    """`service_kpis` for each of `periods` (in order, not overlapping), as a chart needs.

    Whole quarter hours are read in one query of the aggregate tables, grouped by
    bucket, and each bucket's counts are added to the period holding it; other
    periods are asked one by one. Either way every point equals `service_kpis` of
    its period (tested), since both sum the same counts and build the KPIs alike.
    """
    _check_series(periods)
    if not periods:
        return []
    if not all(p.aligned for p in periods):
        return [
            _service_point(
                db,
                tenant_id,
                period,
                service_ids=service_ids,
                modality=modality,
                direction=direction,
                include_unconnected_outbound=include_unconnected_outbound,
                source="sessions",
            )
            for period in periods
        ]
    size = len(periods)
    kept = [ServiceCounts() for _ in range(size)]
    excluded = [ServiceCounts() for _ in range(size)]
    outbound = [ServiceCounts() for _ in range(size)]
    c = report_service_aggregates.c
    where = _service_filter(c, tenant_id, service_ids, modality)
    where += [c.bucket_start >= periods[0].start, c.bucket_start < periods[-1].end]
    if direction is not None:
        where.append(c.direction.in_(sorted({direction, "outbound"})))
    query = (
        select(c.bucket_start, c.direction, c.kpi_excluded, *_sums(c, ServiceCounts.FIELDS))
        .where(and_(*where))
        .group_by(c.bucket_start, c.direction, c.kpi_excluded)
    )
    starts = [p.start for p in periods]
    with transaction(db, tenant_id) as connection:
        for row in connection.execute(query).mappings():
            index = _period_index(periods, starts, row["bucket_start"])
            if index is None:
                continue
            found = ServiceCounts.summed(row)
            if direction is None or row["direction"] == direction:
                (excluded if row["kpi_excluded"] else kept)[index].add(found)
            if row["direction"] == "outbound" and direction in (None, "outbound"):
                outbound[index].add(found)
    out = []
    for index, period in enumerate(periods):
        summed = counted(kept[index], excluded[index], include_unconnected_outbound)
        out.append(ServicePoint(period, summed, ServiceKpis.of(summed, outbound[index])))
    return out


def _service_point(
    db: Engine,
    tenant_id: str,
    period: Period,
    *,
    service_ids: Collection[str] | None,
    modality: str | None,
    direction: str | None,
    include_unconnected_outbound: bool,
    source: Source,
) -> ServicePoint:
    """The counts and KPIs of one period (what `service_kpis` answers)."""
    counts = functools.partial(
        service_counts, db, tenant_id, period, service_ids=service_ids, modality=modality
    )
    kept, excluded = counts(direction=direction, source=source)
    outbound = ServiceCounts()
    if direction in (None, "outbound"):
        outbound = ServiceCounts.total(counts(direction="outbound", source=source))
    summed = counted(kept, excluded, include_unconnected_outbound)
    return ServicePoint(period, summed, ServiceKpis.of(summed, outbound))


def user_series(
    db: Engine,
    tenant_id: str,
    periods: Sequence[Period],
    *,
    user_ids: Collection[str] | None = None,
    service_ids: Collection[str] | None = None,
) -> list[UserKpis]:
    """`user_kpis` for each of `periods` (in order, not overlapping); one query per
    table for whole quarter hours, like `service_series`."""
    _check_series(periods)
    if not periods:
        return []
    if not all(p.aligned for p in periods):
        return [
            user_kpis(
                db,
                tenant_id,
                p,
                user_ids=user_ids,
                service_ids=service_ids,
                source="sessions",
            )
            for p in periods
        ]
    counts = [UserCounts() for _ in periods]
    state_ms: list[dict[str, int]] = [{} for _ in periods]
    starts = [p.start for p in periods]
    first, last = periods[0].start, periods[-1].end
    with transaction(db, tenant_id) as connection:
        a = report_user_aggregates.c
        where = _user_filter(a, tenant_id, user_ids, service_ids)
        where += [a.bucket_start >= first, a.bucket_start < last]
        sums = _sums(a, UserCounts.FIELDS)
        query = select(a.bucket_start, *sums).where(and_(*where)).group_by(a.bucket_start)
        for row in connection.execute(query).mappings():
            index = _period_index(periods, starts, row["bucket_start"])
            if index is not None:
                counts[index].add(UserCounts.summed(row))
        s = report_user_state_aggregates.c
        where = _user_filter(s, tenant_id, user_ids, None)
        where += [s.bucket_start >= first, s.bucket_start < last]
        query = (
            select(s.bucket_start, s.state, func.sum(s.duration_ms))
            .where(and_(*where))
            .group_by(s.bucket_start, s.state)
        )
        for bucket, state, total in connection.execute(query):
            index = _period_index(periods, starts, bucket)
            if index is not None:
                state_ms[index][state] = state_ms[index].get(state, 0) + int(total)
    return [UserKpis.of(c, s) for c, s in zip(counts, state_ms, strict=True)]


def _check_series(periods: Sequence[Period]) -> None:
    for before, after in itertools.pairwise(periods):
        if after.start < before.end:
            raise ValueError(
                "a series' periods must be in order and must not overlap; "
                f"{after.start.isoformat()} starts before {before.end.isoformat()}"
            )


def _period_index(periods: Sequence[Period], starts: list[datetime], at: datetime) -> int | None:
    """The index of the period holding the instant `at`, or None (a gap between them)."""
    index = bisect.bisect_right(starts, at) - 1
    if index >= 0 and at < periods[index].end:
        return index
    return None
