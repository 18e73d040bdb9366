"""KPI series for charts: every point equals the KPIs of its own period (08 §5, K2).

The series read the aggregate tables once and spread the buckets over the
periods; `service_kpis` and `user_kpis` sum each period on its own. On two days
of the demo's simulated traffic, both must give the same figures for every
hour, every day, every scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select

from switchboard.api.demo_history import HistoryPlan, generate_history
from switchboard.reporting.aggregates import ServiceCounts
from switchboard.reporting.kpis import (
    Period,
    service_counts,
    service_kpis,
    service_series,
    user_kpis,
    user_series,
)
from switchboard.reporting.rebuild import rebuild
from switchboard.store.database import create_engine, migrate, transaction
from switchboard.store.repositories import TenantRepository
from switchboard.store.schema import report_user_sessions

TENANT = "demo"
ZONE = "Europe/Zurich"
#: The history's two days (a Monday and a Tuesday in Zurich).
DAYS = (date(2026, 1, 12), date(2026, 1, 13))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("series") / "db.sqlite3"
    db = create_engine(f"sqlite:///{path}", sqlite_synchronous="OFF")
    migrate(db)
    TenantRepository(db).create("Demo", id=TENANT)
    generate_history(db, TENANT, "Demo", HistoryPlan(days=2, seed=11), end=1_768_352_400.0)
    rebuild(db, TENANT)
    yield db
    db.dispose()


def _hours(day: date) -> list[Period]:
    whole = Period.day(day, ZONE)
    hours = []
    start = whole.start
    while start < whole.end:
        hours.append(Period(start, start + timedelta(hours=1)))
        start += timedelta(hours=1)
    return hours


@pytest.mark.parametrize(
    "scope",
    [
        {},
        {"service_ids": ["svc-support"]},
        {"service_ids": ["svc-front", "svc-ivr"], "direction": None},
        {"modality": "chat", "direction": None},
        {"direction": "outbound"},
    ],
    ids=["all", "support", "front+ivr all directions", "chats", "outbound"],
)
def test_each_point_is_the_kpis_of_its_period(history: Database, scope: dict[str, object]) -> None:
    hours = _hours(DAYS[0]) + _hours(DAYS[1])
    points = service_series(history, TENANT, hours, **scope)  # type: ignore[arg-type]
    assert [p.period for p in points] == hours
    busy = 0
    for point in points:
        assert point.kpis == service_kpis(history, TENANT, point.period, **scope)  # type: ignore[arg-type]
        kept, _excluded = service_counts(history, TENANT, point.period, **scope)  # type: ignore[arg-type]
        assert point.counts == kept
        busy += point.counts.tasks > 0
    # The comparison is not between empty hours (the demo has no outbound traffic yet).
    assert busy >= (0 if scope.get("direction") == "outbound" else 3)
    days = [Period.day(d, ZONE) for d in DAYS]
    by_day = service_series(history, TENANT, days, **scope)  # type: ignore[arg-type]
    assert [p.kpis for p in by_day] == [
        service_kpis(history, TENANT, d, **scope)  # type: ignore[arg-type]
        for d in days
    ]
    # The hours add up to their day (K2: ratios of sums, so the counts add).
    first_day = ServiceCounts.total(p.counts for p in points[: len(_hours(DAYS[0]))])
    assert first_day == by_day[0].counts


def test_periods_off_quarter_hours_are_counted_from_sessions(history: Database) -> None:
    start = Period.day(DAYS[0], ZONE).start + timedelta(hours=9, minutes=7)
    periods = [
        Period(start, start + timedelta(minutes=50)),
        Period(start + timedelta(hours=1), start + timedelta(hours=3)),
    ]
    points = service_series(history, TENANT, periods, service_ids=["svc-support"])
    for point in points:
        assert point.kpis == service_kpis(
            history, TENANT, point.period, service_ids=["svc-support"], source="sessions"
        )
    assert sum(p.counts.tasks for p in points) > 0


def test_a_users_points_are_their_kpis(history: Database) -> None:
    with transaction(history, TENANT) as connection:
        users = sorted(
            connection.execute(
                select(report_user_sessions.c.user_id)
                .where(report_user_sessions.c.tenant_id == TENANT)
                .distinct()
            ).scalars()
        )
    assert len(users) >= 3
    hours = _hours(DAYS[1])
    scopes: tuple[tuple[list[str] | None, list[str] | None], ...] = (
        (users[:1], None),
        (users[1:3], ["svc-support"]),
        (None, None),
    )
    for user_ids, service_ids in scopes:
        points = user_series(history, TENANT, hours, user_ids=user_ids, service_ids=service_ids)
        assert points == [
            user_kpis(history, TENANT, h, user_ids=user_ids, service_ids=service_ids) for h in hours
        ]
        assert sum(p.offered for p in points) > 0
        assert sum(sum(p.state_seconds.values()) for p in points) > 0
    shifted = [Period(h.start + timedelta(minutes=5), h.end) for h in hours[8:12]]
    assert user_series(history, TENANT, shifted, user_ids=users[:1]) == [
        user_kpis(history, TENANT, p, user_ids=users[:1], source="sessions") for p in shifted
    ]


def test_overlapping_or_unordered_periods_are_refused(history: Database) -> None:
    day = Period.day(DAYS[0], ZONE)
    later = Period.day(DAYS[1], ZONE)
    with pytest.raises(ValueError, match="in order and must not overlap"):
        service_series(history, TENANT, [later, day])
    with pytest.raises(ValueError, match="in order and must not overlap"):
        user_series(history, TENANT, [day, Period(day.start + timedelta(hours=2), later.end)])
    assert service_series(history, TENANT, []) == []
