"""Validation of opening-hours calendars (04 §5.1) and of services' calendar references.

As in test_validation: a valid baseline yields no issue; each bad case changes one
thing and must yield exactly one issue with the expected code and path, whose
message names the field and ends as a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from switchboard.domain.calendar_validation import validate_calendar
from switchboard.domain.calendars import (
    MAX_PERIODS,
    Calendar,
    DefaultState,
    OpeningState,
    Period,
    PeriodRule,
    RuleKind,
    Weekday,
)
from switchboard.domain.config import OrganisationUnit, Service
from switchboard.domain.enums import AssignmentType
from switchboard.domain.validation import Catalog, Issue, validate_service

OPEN, CLOSED, HOLIDAY, SPECIAL = (
    OpeningState.OPEN,
    OpeningState.CLOSED,
    OpeningState.HOLIDAY,
    OpeningState.SPECIAL,
)
MON, TUE, WED, THU, FRI, SAT, SUN = tuple(Weekday)

ROOT = OrganisationUnit(id="root", name="Contoso")
OU_SALES = OrganisationUnit(id="ou-sales", name="Sales", parent_id="root")
OU_SUPPORT = OrganisationUnit(id="ou-support", name="Support", parent_id="root")
OU_SUPPORT_L2 = OrganisationUnit(id="ou-l2", name="Second level", parent_id="ou-support")

WEEKDAYS = Period(
    "weekdays",
    "Weekdays",
    OPEN,
    PeriodRule(RuleKind.WEEKLY, days=(MON, TUE, WED, THU, FRI), start="08:00", end="18:00"),
)
LUNCH = Period(
    "lunch",
    "Lunch break",
    CLOSED,
    PeriodRule(RuleKind.WEEKLY, days=(MON, TUE, WED, THU, FRI), start="12:00", end="13:00"),
)
NIGHT = Period(
    "night",
    "Friday night line",
    SPECIAL,
    PeriodRule(
        RuleKind.WEEKLY,
        days=(FRI,),
        start="22:00",
        end="02:00",
        valid_from="2026-01-01",
        valid_to="2026-12-31",
    ),
)
HOLIDAYS = Period(
    "holidays",
    "Zurich holidays",
    HOLIDAY,
    PeriodRule(RuleKind.HOLIDAYS, country="CH", subdivision="ZH", categories=("public",)),
)
CHRISTMAS = Period(
    "christmas",
    "Christmas hotline",
    SPECIAL,
    PeriodRule(
        RuleKind.DATES, start_date="2026-12-24", end_date="2026-12-26", start="10:00", end="14:00"
    ),
)


def office() -> Calendar:
    return Calendar(
        id="cal-office",
        name="Office hours",
        ou_id="ou-support",
        time_zone="Europe/Zurich",
        default_state=DefaultState.CLOSED,
        periods=(WEEKDAYS, LUNCH, NIGHT, HOLIDAYS, CHRISTMAS),
    )


STORED = Calendar(id="cal-stored", name="Partner hours", ou_id="root")
SVC = Service(
    id="svc-l2",
    name="Second level",
    upn="l2@contoso.com",
    user_assignment_type=AssignmentType.NONE,
    ou_id="ou-l2",
    primary_calendar_id="cal-office",
)


def make_catalog(**overrides: Any) -> Catalog:
    base: dict[str, Any] = {
        "ous": {o.id: o for o in (ROOT, OU_SALES, OU_SUPPORT, OU_SUPPORT_L2)},
        "calendars": {c.id: c for c in (STORED, office())},
        "services": {SVC.id: SVC},
    }
    base.update(overrides)
    return Catalog(**base)


CATALOG = make_catalog()


def leaf(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])


def pairs(issues: list[Issue]) -> list[tuple[str, str]]:
    return [(issue.code, issue.path) for issue in issues]


def assert_single(issues: list[Issue], code: str, path: str) -> Issue:
    assert pairs(issues) == [(code, path)], issues
    message = issues[0].message
    assert leaf(path) in message, message
    assert message.endswith("."), message
    assert message[0].isalpha(), message
    return issues[0]


Mutation = Callable[[Calendar], Calendar]


def upd(**changes: Any) -> Mutation:
    return lambda c: replace(c, **changes)


def period(index: int, **changes: Any) -> Mutation:
    """Change fields of periods[index]."""

    def mutate(c: Calendar) -> Calendar:
        periods = list(c.periods)
        periods[index] = replace(periods[index], **changes)
        return replace(c, periods=tuple(periods))

    return mutate


def rule(index: int, **changes: Any) -> Mutation:
    """Change fields of periods[index].rule."""

    def mutate(c: Calendar) -> Calendar:
        periods = list(c.periods)
        periods[index] = replace(periods[index], rule=replace(periods[index].rule, **changes))
        return replace(c, periods=tuple(periods))

    return mutate


def add(*extra: Period) -> Mutation:
    return lambda c: replace(c, periods=(*c.periods, *extra))


def weekly(
    pid: str, kind: OpeningState, days: tuple[Weekday, ...], start: str, end: str, **kw: Any
) -> Period:
    return Period(
        pid, pid, kind, PeriodRule(RuleKind.WEEKLY, days=days, start=start, end=end, **kw)
    )


def dated(pid: str, kind: OpeningState, first: str, last: str, **kw: Any) -> Period:
    return Period(pid, pid, kind, PeriodRule(RuleKind.DATES, start_date=first, end_date=last, **kw))


# --------------------------------------------------------------------------- the calendar


def test_baseline_is_valid_in_a_fresh_tenant_and_when_re_saved() -> None:
    assert validate_calendar(office(), make_catalog(calendars={})) == []
    assert validate_calendar(office(), CATALOG, previous=office()) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(upd(time_zone=None), id="tenant-zone"),
        pytest.param(upd(time_zone="America/Argentina/Buenos_Aires"), id="deep-zone"),
        pytest.param(upd(periods=()), id="no-periods"),
        pytest.param(rule(0, end="24:00"), id="until-midnight"),
        pytest.param(rule(0, start="00:00", end="00:00"), id="whole-day"),
        pytest.param(rule(4, start=None, end=None), id="dates-whole-days"),
        pytest.param(rule(4, start_date="2028-01-01", end_date="2028-12-31"), id="leap-year-366"),
        pytest.param(rule(3, subdivision=None), id="national-holidays"),
        pytest.param(rule(3, categories=("public", "half_day")), id="two-categories"),
        pytest.param(
            add(
                weekly("am", OPEN, (SAT,), "08:00", "12:00"),
                weekly("pm", OPEN, (SAT,), "12:00", "16:00"),
            ),
            id="adjacent-same-type",
        ),
        pytest.param(
            add(
                weekly("spring", OPEN, (SAT,), "09:00", "12:00", valid_to="2026-03-31"),
                weekly("summer", OPEN, (SAT,), "10:00", "13:00", valid_from="2026-04-01"),
            ),
            id="same-hours-disjoint-seasons",
        ),
        pytest.param(
            add(
                Period("national", "National", HOLIDAY, PeriodRule(RuleKind.HOLIDAYS, country="CH"))
            ),
            id="two-holiday-lists-may-overlap",
        ),
        pytest.param(
            add(dated("closing", CLOSED, "2026-12-24", "2026-12-24")), id="dates-other-type"
        ),
    ],
)
def test_valid_variants(mutate: Mutation) -> None:
    assert validate_calendar(mutate(office()), CATALOG) == []


CASES = [
    pytest.param(upd(name=""), "required", "name", id="name-missing"),
    pytest.param(upd(name="x" * 129), "too_long", "name", id="name-long"),
    pytest.param(upd(name=" Partner hours "), "not_unique", "name", id="name-taken"),
    pytest.param(upd(id="cal-other"), "immutable_field", "id", id="id-changed"),
    pytest.param(upd(ou_id="ou-nowhere"), "unknown_reference", "ou_id", id="ou-unknown"),
    pytest.param(upd(time_zone="Mars/Olympus"), "invalid_format", "time_zone", id="zone-unknown"),
    pytest.param(upd(time_zone="../../etc/passwd"), "invalid_format", "time_zone", id="zone-path"),
    pytest.param(upd(time_zone=" UTC"), "invalid_format", "time_zone", id="zone-spaces"),
    pytest.param(upd(time_zone=""), "invalid_format", "time_zone", id="zone-empty"),
    pytest.param(
        upd(default_state="holiday"), "invalid_type", "default_state", id="default-holiday"
    ),
    pytest.param(period(1, id="weekdays"), "not_unique", "periods[1].id", id="period-id-twice"),
    pytest.param(period(1, id=""), "required", "periods[1].id", id="period-id-missing"),
    pytest.param(period(1, name="n" * 65), "too_long", "periods[1].name", id="period-name-long"),
    pytest.param(period(1, type="ajar"), "invalid_type", "periods[1].type", id="period-type"),
    pytest.param(rule(1, kind="monthly"), "invalid_type", "periods[1].rule.kind", id="rule-kind"),
    # weekly
    pytest.param(rule(0, days=()), "required", "periods[0].rule.days", id="weekly-no-days"),
    pytest.param(
        rule(0, days=(MON, TUE, MON)),
        "not_unique",
        "periods[0].rule.days[2]",
        id="weekly-day-twice",
    ),
    pytest.param(
        rule(0, days=("funday",)), "invalid_type", "periods[0].rule.days[0]", id="weekly-day-name"
    ),
    pytest.param(rule(0, start=None), "required", "periods[0].rule.start", id="weekly-no-start"),
    pytest.param(rule(0, end=None), "required", "periods[0].rule.end", id="weekly-no-end"),
    pytest.param(
        rule(0, start="8:00"), "invalid_format", "periods[0].rule.start", id="weekly-start-shape"
    ),
    pytest.param(
        rule(0, start="24:00"), "invalid_format", "periods[0].rule.start", id="weekly-start-24"
    ),
    pytest.param(
        rule(0, end="24:30"), "invalid_format", "periods[0].rule.end", id="weekly-end-past-24"
    ),
    pytest.param(
        rule(0, end="18:00:00"), "invalid_format", "periods[0].rule.end", id="weekly-end-seconds"
    ),
    pytest.param(
        rule(0, start=800), "invalid_type", "periods[0].rule.start", id="weekly-start-number"
    ),
    pytest.param(
        rule(2, valid_to="2025-12-31"),
        "invalid_combination",
        "periods[2].rule.valid_to",
        id="weekly-inverted-validity",
    ),
    pytest.param(
        rule(2, valid_from="2026-02-30"),
        "invalid_format",
        "periods[2].rule.valid_from",
        id="weekly-no-such-day",
    ),
    pytest.param(
        rule(2, valid_from="20260101"),
        "invalid_format",
        "periods[2].rule.valid_from",
        id="weekly-compact-date",
    ),
    pytest.param(
        rule(2, valid_from="1969-12-31"),
        "out_of_range",
        "periods[2].rule.valid_from",
        id="weekly-too-early",
    ),
    pytest.param(
        rule(0, start_date="2026-01-01"),
        "not_applicable",
        "periods[0].rule.start_date",
        id="weekly-start-date",
    ),
    pytest.param(
        rule(0, country="CH"), "not_applicable", "periods[0].rule.country", id="weekly-country"
    ),
    pytest.param(
        rule(0, categories=("optional",)),
        "not_applicable",
        "periods[0].rule.categories",
        id="weekly-categories",
    ),
    # dates
    pytest.param(
        rule(4, start_date=None), "required", "periods[4].rule.start_date", id="dates-no-start"
    ),
    pytest.param(
        rule(4, end_date="2026-12-23"),
        "invalid_combination",
        "periods[4].rule.end_date",
        id="dates-inverted",
    ),
    pytest.param(
        rule(4, start_date="2026-01-01", end_date="2027-01-02"),
        "out_of_range",
        "periods[4].rule.end_date",
        id="dates-367-days",
    ),
    pytest.param(
        rule(4, end=None), "required", "periods[4].rule.end", id="dates-start-without-end"
    ),
    pytest.param(
        rule(4, start=None), "required", "periods[4].rule.start", id="dates-end-without-start"
    ),
    pytest.param(
        rule(4, end="25:00"), "invalid_format", "periods[4].rule.end", id="dates-end-shape"
    ),
    pytest.param(rule(4, days=(MON,)), "not_applicable", "periods[4].rule.days", id="dates-days"),
    pytest.param(
        rule(4, valid_to="2026-12-31"),
        "not_applicable",
        "periods[4].rule.valid_to",
        id="dates-valid-to",
    ),
    # holidays
    pytest.param(
        period(3, type=CLOSED),
        "invalid_combination",
        "periods[3].type",
        id="holidays-not-holiday-type",
    ),
    pytest.param(
        rule(3, country=None), "required", "periods[3].rule.country", id="holidays-no-country"
    ),
    pytest.param(
        rule(3, country="XX", subdivision=None),
        "invalid_format",
        "periods[3].rule.country",
        id="holidays-unknown-country",
    ),
    pytest.param(
        rule(3, subdivision="QQ"),
        "invalid_format",
        "periods[3].rule.subdivision",
        id="holidays-unknown-subdivision",
    ),
    pytest.param(
        rule(3, country="IS", subdivision="ZH"),
        "not_applicable",
        "periods[3].rule.subdivision",
        id="holidays-country-without-subdivisions",
    ),
    pytest.param(
        rule(3, categories=("bogus",)),
        "invalid_format",
        "periods[3].rule.categories[0]",
        id="holidays-unknown-category",
    ),
    pytest.param(
        rule(3, categories=("public", "public")),
        "not_unique",
        "periods[3].rule.categories[1]",
        id="holidays-category-twice",
    ),
    pytest.param(
        rule(3, categories=()), "required", "periods[3].rule.categories", id="holidays-no-category"
    ),
    pytest.param(
        rule(3, start="08:00"), "not_applicable", "periods[3].rule.start", id="holidays-times"
    ),
    # overlaps of the same kind and type
    pytest.param(
        add(weekly("evening", OPEN, (MON,), "17:00", "20:00")),
        "invalid_combination",
        "periods[5].rule",
        id="weekly-overlap",
    ),
    pytest.param(
        add(dated("xmas-2", SPECIAL, "2026-12-26", "2026-12-27")),
        "invalid_combination",
        "periods[5].rule",
        id="dates-overlap",
    ),
]


@pytest.mark.parametrize(("mutate", "code", "path"), CASES)
def test_invalid_calendar(mutate: Mutation, code: str, path: str) -> None:
    assert_single(validate_calendar(mutate(office()), CATALOG, previous=office()), code, path)


def test_unknown_holiday_codes_get_the_libraries_spelling_as_a_hint() -> None:
    issue = assert_single(
        validate_calendar(rule(3, country="CHE", subdivision=None)(office()), CATALOG),
        "invalid_format",
        "periods[3].rule.country",
    )
    assert "got 'CHE', which the library knows as 'CH'." in issue.message
    lower = validate_calendar(rule(3, country="ch")(office()), CATALOG)
    assert "which the library knows as 'CH'" in lower[0].message
    canton = assert_single(
        validate_calendar(rule(3, subdivision="Zürich")(office()), CATALOG),
        "invalid_format",
        "periods[3].rule.subdivision",
    )
    assert "got 'Zürich', whose code is 'ZH'." in canton.message
    assert "(AG, AI, AR," in canton.message and "more)" in canton.message
    category = validate_calendar(rule(3, categories=("bogus",))(office()), CATALOG)[0]
    assert "(de_facto, half_day, optional, public)" in category.message


def test_overlap_names_both_periods_and_where_they_meet() -> None:
    issue = assert_single(
        validate_calendar(
            add(weekly("evening", OPEN, (MON,), "17:00", "20:00"))(office()), CATALOG
        ),
        "invalid_combination",
        "periods[5].rule",
    )
    assert "period 'Weekdays' (periods[0]" in issue.message
    assert "on mon from 17:00 to 18:00" in issue.message
    # Across the end of the week: Sunday 22:00–02:00 meets Monday 01:00–03:00.
    wrap = Calendar(
        id="cal-wrap",
        name="Wrap",
        periods=(
            weekly("sun-night", OPEN, (SUN,), "22:00", "02:00"),
            weekly("mon-early", OPEN, (MON,), "01:00", "03:00"),
        ),
    )
    issue = assert_single(
        validate_calendar(wrap, CATALOG), "invalid_combination", "periods[1].rule"
    )
    assert "on mon from 01:00 to 02:00" in issue.message
    # Dated periods name the day.
    issue = assert_single(
        validate_calendar(
            add(dated("xmas-2", SPECIAL, "2026-12-26", "2026-12-27"))(office()), CATALOG
        ),
        "invalid_combination",
        "periods[5].rule",
    )
    assert "on 2026-12-26 (sat) from 10:00 to 14:00" in issue.message


def test_overlap_respects_validity_windows_that_meet() -> None:
    spring = weekly("spring", OPEN, (SAT,), "09:00", "12:00", valid_to="2026-04-04")
    summer = weekly("summer", OPEN, (SAT,), "10:00", "13:00", valid_from="2026-04-04")
    issue = assert_single(
        validate_calendar(add(spring, summer)(office()), CATALOG),
        "invalid_combination",
        "periods[6].rule",
    )
    assert "on 2026-04-04 (sat) from 10:00 to 12:00" in issue.message


def test_too_many_periods() -> None:
    many = tuple(
        weekly(
            f"p{i}",
            OPEN,
            (MON,),
            f"{i // 60 % 24:02d}:{i % 60:02d}",
            f"{i // 60 % 24:02d}:{i % 60:02d}",
        )
        for i in range(MAX_PERIODS + 1)
    )
    issues = validate_calendar(replace(office(), periods=many), CATALOG)
    assert ("limit_exceeded", "periods") in pairs(issues)
    limit = next(i for i in issues if i.code == "limit_exceeded")
    assert f"at most {MAX_PERIODS} periods; got {MAX_PERIODS + 1}" in limit.message


def test_every_problem_is_reported_at_once() -> None:
    broken = replace(
        office(),
        name="",
        time_zone="Nowhere/Land",
        periods=(
            replace(WEEKDAYS, rule=replace(WEEKDAYS.rule, start="8am")),
            replace(
                HOLIDAYS, type=OPEN, rule=replace(HOLIDAYS.rule, country="ZZ", subdivision=None)
            ),
        ),
    )
    assert pairs(validate_calendar(broken, CATALOG)) == [
        ("required", "name"),
        ("invalid_format", "time_zone"),
        ("invalid_format", "periods[0].rule.start"),
        ("invalid_combination", "periods[1].type"),
        ("invalid_format", "periods[1].rule.country"),
    ]


def test_moving_a_used_calendar_out_of_sight_is_refused() -> None:
    # svc-l2 sits in ou-l2 under ou-support and uses cal-office: root and ou-support
    # stay visible, a sibling OU does not.
    for visible in ("root", "ou-support", "ou-l2"):
        assert validate_calendar(upd(ou_id=visible)(office()), CATALOG, previous=office()) == []
    issue = assert_single(
        validate_calendar(upd(ou_id="ou-sales")(office()), CATALOG, previous=office()),
        "reference_not_visible",
        "ou_id",
    )
    assert "service 'Second level' uses this calendar" in issue.message


# --------------------------------------------------------------------------- service references


def service(**changes: Any) -> Service:
    return replace(SVC, **changes)


def test_service_calendar_references_exist_and_are_visible() -> None:
    ok = service(primary_calendar_id="cal-office", secondary_calendar_id="cal-stored")
    assert validate_service(ok, CATALOG) == []
    unknown = assert_single(
        validate_service(service(primary_calendar_id="cal-gone"), CATALOG),
        "unknown_reference",
        "primary_calendar_id",
    )
    assert "calendar 'cal-gone', which does not exist" in unknown.message
    assert_single(
        validate_service(service(secondary_calendar_id="cal-gone"), CATALOG),
        "unknown_reference",
        "secondary_calendar_id",
    )
    hidden = make_catalog(
        calendars={c.id: c for c in (STORED, replace(office(), ou_id="ou-sales"))}
    )
    issue = assert_single(
        validate_service(service(), hidden), "reference_not_visible", "primary_calendar_id"
    )
    assert "calendar 'Office hours' in OU 'ou-sales'" in issue.message


def test_service_secondary_needs_a_different_primary() -> None:
    assert_single(
        validate_service(
            service(primary_calendar_id=None, secondary_calendar_id="cal-office"), CATALOG
        ),
        "invalid_combination",
        "secondary_calendar_id",
    )
    assert_single(
        validate_service(service(secondary_calendar_id="cal-office"), CATALOG),
        "invalid_combination",
        "secondary_calendar_id",
    )
