"""Opening-hours resolution (04 §5.2) against hand-checked instants.

Every expected instant below is written in UTC and was worked out by hand from
the zone's rules, so the tests do not lean on the code's own time arithmetic:

* Europe/Zurich is UTC+1 (CET) in winter and UTC+2 (CEST) in summer. In 2026
  summer time starts on Sun 29 March at 01:00 UTC (02:00 CET jumps to 03:00
  CEST) and ends on Sun 25 October at 01:00 UTC (03:00 CEST falls back to 02:00
  CET, so 02:00–03:00 local happens twice: 00:00–01:00 and 01:00–02:00 UTC).
* America/New_York is UTC−5 (EST) / UTC−4 (EDT). In 2026 summer time starts on
  Sun 8 March at 07:00 UTC (02:00 EST → 03:00 EDT) and ends on Sun 1 November
  at 06:00 UTC (02:00 EDT → 01:00 EST; 01:00–02:00 local happens twice:
  05:00–06:00 and 06:00–07:00 UTC).
* Holidays of canton Zurich in 2026 include Labour Day (Fri 1 May), Christmas
  (Fri 25 Dec) and St Stephen's Day (Sat 26 Dec); the national list has
  Christmas but not 1 May or 26 December.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from switchboard.domain.calendars import (
    Calendar,
    DefaultState,
    OpeningState,
    Period,
    PeriodRule,
    RuleKind,
    Weekday,
)
from switchboard.domain.errors import DomainError
from switchboard.domain.opening_hours import (
    CalendarRole,
    Decider,
    OpeningHours,
    resolve_calendar,
    resolve_service,
)

OPEN, CLOSED, HOLIDAY, SPECIAL = (
    OpeningState.OPEN,
    OpeningState.CLOSED,
    OpeningState.HOLIDAY,
    OpeningState.SPECIAL,
)
MON, TUE, WED, THU, FRI, SAT, SUN = tuple(Weekday)
WORKDAYS = (MON, TUE, WED, THU, FRI)
ZURICH = "Europe/Zurich"
NEW_YORK = "America/New_York"


def weekly(pid: str, kind: OpeningState, days: tuple[Weekday, ...], start: str, end: str) -> Period:
    return Period(
        pid, pid.title(), kind, PeriodRule(RuleKind.WEEKLY, days=days, start=start, end=end)
    )


def dates(
    pid: str,
    kind: OpeningState,
    first: str,
    last: str,
    start: str | None = None,
    end: str | None = None,
) -> Period:
    rule = PeriodRule(RuleKind.DATES, start_date=first, end_date=last, start=start, end=end)
    return Period(pid, pid.title(), kind, rule)


def holidays(pid: str, country: str = "CH", subdivision: str | None = "ZH") -> Period:
    rule = PeriodRule(RuleKind.HOLIDAYS, country=country, subdivision=subdivision)
    return Period(pid, pid.title(), HOLIDAY, rule)


def calendar(
    *periods: Period,
    zone: str | None = ZURICH,
    default: DefaultState = DefaultState.CLOSED,
    name: str = "Office",
) -> Calendar:
    return Calendar(
        id=f"cal-{name.lower()}",
        name=name,
        time_zone=zone,
        default_state=default,
        periods=periods,
    )


def at(text: str) -> datetime:
    """An instant written in UTC, e.g. "2026-12-25 09:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def state(cal: Calendar, when: str) -> OpeningState:
    return resolve_calendar(cal, at(when), tenant_zone="UTC").state


def change(cal: Calendar, when: str, *, openness_only: bool = False) -> tuple[str, OpeningState]:
    found = OpeningHours.of_calendar(cal, tenant_zone="UTC").next_change(
        at(when), openness_only=openness_only
    )
    assert found is not None
    return found.at.strftime("%Y-%m-%d %H:%M:%S"), found.state


OFFICE = calendar(
    weekly("weekdays", OPEN, WORKDAYS, "08:00", "18:00"),
    holidays("zurich-holidays"),
)


# --------------------------------------------------------------------------- basics


def test_weekly_hours_in_the_calendar_zone_not_in_utc() -> None:
    # Tue 3 March 2026 is winter time: 08:00 Zurich = 07:00 UTC.
    assert state(OFFICE, "2026-03-03 06:59:59") is CLOSED
    assert state(OFFICE, "2026-03-03 07:00") is OPEN  # start inclusive
    assert state(OFFICE, "2026-03-03 16:59:59") is OPEN
    assert state(OFFICE, "2026-03-03 17:00") is CLOSED  # end exclusive
    # In summer the same wall clock is an hour earlier in UTC: 08:00 CEST = 06:00 UTC.
    assert state(OFFICE, "2026-07-07 06:00") is OPEN
    assert state(OFFICE, "2026-07-07 16:00") is CLOSED
    # The weekend is not covered: the default state applies.
    weekend = resolve_calendar(OFFICE, at("2026-03-07 10:00"), tenant_zone="UTC")
    assert weekend.state is CLOSED and weekend.decider is Decider.DEFAULT_STATE
    assert weekend.period is None
    assert "no period of calendar 'Office' covers Sat 2026-03-07 11:00 CET" in weekend.message


def test_new_york_calendar_is_judged_on_new_york_wall_clock() -> None:
    shop = calendar(weekly("hours", OPEN, WORKDAYS, "09:00", "17:00"), zone=NEW_YORK)
    # Mon 5 January 2026: 09:00 EST = 14:00 UTC, 17:00 EST = 22:00 UTC.
    assert state(shop, "2026-01-05 13:59") is CLOSED
    assert state(shop, "2026-01-05 14:00") is OPEN
    assert state(shop, "2026-01-05 21:59") is OPEN
    # 01:00 UTC on Tuesday is still Monday 20:00 in New York: closed, not "Tuesday".
    assert state(shop, "2026-01-06 01:00") is CLOSED
    result = resolve_calendar(shop, at("2026-01-05 15:30"), tenant_zone="UTC")
    assert result.time_zone == NEW_YORK
    assert result.local_time is not None and result.local_time.hour == 10
    assert "Mon 2026-01-05 10:30 EST (America/New_York)" in result.message


def test_a_calendar_without_zone_follows_the_tenant_zone() -> None:
    floating = calendar(weekly("hours", OPEN, WORKDAYS, "09:00", "17:00"), zone=None)
    # Tokyo is UTC+9 all year: Mon 09:00 JST = Mon 00:00 UTC.
    tokyo = resolve_calendar(floating, at("2026-01-05 00:00"), tenant_zone="Asia/Tokyo")
    assert tokyo.state is OPEN and tokyo.time_zone == "Asia/Tokyo"
    utc = resolve_calendar(floating, at("2026-01-05 00:00"), tenant_zone="UTC")
    assert utc.state is CLOSED and utc.time_zone == "UTC"


def test_overnight_period_runs_past_midnight() -> None:
    night = calendar(weekly("night", OPEN, (FRI,), "22:00", "06:00"))
    # Fri 9 Jan 2026 22:00 CET = 21:00 UTC; Sat 06:00 CET = 05:00 UTC.
    assert state(night, "2026-01-09 20:59") is CLOSED
    assert state(night, "2026-01-09 21:00") is OPEN
    assert state(night, "2026-01-10 04:59") is OPEN  # Saturday, from Friday's occurrence
    assert state(night, "2026-01-10 05:00") is CLOSED
    # Thursday night is not covered: the rule names Friday as the starting day.
    assert state(night, "2026-01-09 02:00") is CLOSED


def test_end_of_day_and_whole_day_forms() -> None:
    late = calendar(weekly("late", OPEN, (MON,), "20:00", "24:00"))
    assert state(late, "2026-01-05 22:59:59") is OPEN  # Mon 23:59:59 CET
    assert state(late, "2026-01-05 23:00") is CLOSED  # Tue 00:00 CET
    all_day = calendar(weekly("all", OPEN, (MON,), "00:00", "00:00"))  # end ≤ start: 24 hours
    assert state(all_day, "2026-01-04 23:00") is OPEN
    assert state(all_day, "2026-01-05 22:59") is OPEN
    assert state(all_day, "2026-01-05 23:00") is CLOSED


def test_naive_instants_and_unknown_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        resolve_calendar(OFFICE, datetime(2026, 1, 5, 9), tenant_zone="UTC")
    floating = calendar(zone=None)
    with pytest.raises(DomainError) as refused:
        resolve_calendar(floating, at("2026-01-05 09:00"), tenant_zone="Mars/Olympus")
    assert refused.value.code == "invalid_time_zone"
    assert "Mars/Olympus" in refused.value.message


# --------------------------------------------------------------------------- precedence


def test_a_holiday_overrides_weekly_hours() -> None:
    # Fri 25 Dec 2026 10:00 CET = 09:00 UTC: a weekday, but Christmas.
    result = resolve_calendar(OFFICE, at("2026-12-25 09:00"), tenant_zone="UTC")
    assert result.state is HOLIDAY and not result.is_open
    assert result.occurrence is not None and result.occurrence.holiday_name == "Christmas Day"
    assert result.period is not None and result.period.id == "zurich-holidays"
    assert [o.period.id for o in result.overridden] == ["weekdays"]
    assert "Christmas Day" in result.message
    assert "Fri 2026-12-25 10:00 CET (Europe/Zurich)" in result.message
    assert "takes precedence over open period 'Weekdays'" in result.message
    assert "a holidays rule is more specific than a weekly rule" in result.message
    # Christmas Eve is no public holiday in Zurich: the office is open.
    assert state(OFFICE, "2026-12-24 09:00") is OPEN


def test_holiday_names_do_not_depend_on_the_process_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The library would otherwise answer "Weihnachten" under a German locale.
    # 2031 is a year no other test asks for, so nothing is cached yet.
    monkeypatch.setenv("LANG", "de_CH.UTF-8")
    monkeypatch.setenv("LC_ALL", "de_CH.UTF-8")
    result = resolve_calendar(OFFICE, at("2031-12-25 09:00"), tenant_zone="UTC")
    assert result.occurrence is not None and result.occurrence.holiday_name == "Christmas Day"


def test_a_year_without_holiday_data_is_pointed_out() -> None:
    # The library computes Sri Lanka's holidays (lunar) only up to its release year,
    # and no country after 2100; the answer must not hide that.
    colombo = calendar(
        weekly("weekdays", OPEN, WORKDAYS, "08:00", "18:00"),
        holidays("lk", country="LK", subdivision=None),
        zone="Asia/Colombo",
    )
    later = resolve_calendar(colombo, at("2031-03-04 05:00"), tenant_zone="UTC")
    assert later.state is OPEN
    assert later.notes == (
        "Note: the holidays library knows LK's holidays only for 2003–2026, "
        "so period 'Lk' covers no day in 2031.",
    )
    assert later.message.endswith(later.notes[0])
    assert resolve_calendar(colombo, at("2026-03-04 05:00"), tenant_zone="UTC").notes == ()


def test_a_subdivision_holiday_applies_only_there() -> None:
    # Fri 1 May 2026 is Labour Day in canton Zurich, not a national holiday.
    national = calendar(
        weekly("weekdays", OPEN, WORKDAYS, "08:00", "18:00"), holidays("ch", subdivision=None)
    )
    bern = calendar(
        weekly("weekdays", OPEN, WORKDAYS, "08:00", "18:00"), holidays("be", subdivision="BE")
    )
    assert state(OFFICE, "2026-05-01 08:00") is HOLIDAY
    assert state(national, "2026-05-01 08:00") is OPEN
    assert state(bern, "2026-05-01 08:00") is OPEN
    # ... and 2 January (St Berchtold's Day) is Bern's, not Zurich's.
    assert state(bern, "2026-01-02 08:00") is HOLIDAY
    assert state(OFFICE, "2026-01-02 08:00") is OPEN


def test_a_holiday_is_a_whole_local_day() -> None:
    # 25 Dec in Zurich runs from 24 Dec 23:00 UTC to 25 Dec 23:00 UTC.
    assert state(OFFICE, "2026-12-24 22:59:59") is CLOSED
    assert state(OFFICE, "2026-12-24 23:00") is HOLIDAY
    assert state(OFFICE, "2026-12-25 22:59:59") is HOLIDAY


def test_date_range_overrides_holidays_and_weekly() -> None:
    cal = calendar(
        weekly("weekdays", OPEN, WORKDAYS, "08:00", "18:00"),
        holidays("zurich-holidays"),
        dates("inventory", CLOSED, "2026-06-01", "2026-06-02"),
        dates("christmas-hotline", SPECIAL, "2026-12-25", "2026-12-25", "10:00", "14:00"),
    )
    # Mon 1 June 2026, 10:00 CEST = 08:00 UTC: weekday hours, but the inventory closes it.
    inventory = resolve_calendar(cal, at("2026-06-01 08:00"), tenant_zone="UTC")
    assert inventory.state is CLOSED and inventory.period is not None
    assert inventory.period.id == "inventory"
    assert "a dates rule is more specific than a weekly rule" in inventory.message
    assert state(cal, "2026-06-03 08:00") is OPEN  # the day after the range
    # Christmas 10:00–14:00 CET (09:00–13:00 UTC) is a special opening despite the holiday.
    assert state(cal, "2026-12-25 08:59") is HOLIDAY
    hotline = resolve_calendar(cal, at("2026-12-25 09:00"), tenant_zone="UTC")
    assert hotline.state is SPECIAL and hotline.is_open
    assert [o.period.id for o in hotline.overridden] == ["zurich-holidays", "weekdays"]
    assert state(cal, "2026-12-25 13:00") is HOLIDAY


# (first period, second period, expected state), all covering Fri 1 May 2026 10:00 CEST
# (08:00 UTC), which is Labour Day in canton Zurich.
_DAY = "2026-05-01"


def _wk(pid: str, kind: OpeningState, start: str = "08:00", end: str = "18:00") -> Period:
    return weekly(pid, kind, (FRI,), start, end)


def _dt(pid: str, kind: OpeningState, start: str | None = None, end: str | None = None) -> Period:
    return dates(pid, kind, _DAY, _DAY, start, end)


_PAIRS = [
    # a more specific tier wins whatever the types
    (_dt("d", OPEN), _wk("w", CLOSED), OPEN),
    (_dt("d", CLOSED), _wk("w", OPEN), CLOSED),
    (_dt("d", SPECIAL), _wk("w", HOLIDAY), SPECIAL),
    (_dt("d", OPEN), holidays("h"), OPEN),
    (_dt("d", SPECIAL), holidays("h"), SPECIAL),
    (_dt("d", CLOSED), holidays("h"), CLOSED),
    (holidays("h"), _wk("w", CLOSED), HOLIDAY),
    (holidays("h"), _wk("w", OPEN), HOLIDAY),
    (holidays("h"), _wk("w", SPECIAL), HOLIDAY),
    # inside a tier the more restrictive type wins
    (_wk("a", OPEN), _wk("b", CLOSED, "09:00", "12:00"), CLOSED),
    (_wk("a", CLOSED), _wk("b", OPEN, "09:00", "12:00"), CLOSED),
    (_wk("a", OPEN), _wk("b", HOLIDAY, "09:00", "12:00"), HOLIDAY),
    (_wk("a", SPECIAL), _wk("b", OPEN, "09:00", "12:00"), SPECIAL),
    (_wk("a", SPECIAL), _wk("b", HOLIDAY, "09:00", "12:00"), HOLIDAY),
    (_wk("a", HOLIDAY), _wk("b", CLOSED, "09:00", "12:00"), CLOSED),
    (_wk("a", SPECIAL), _wk("b", CLOSED, "09:00", "12:00"), CLOSED),
    (_dt("a", OPEN), _dt("b", SPECIAL, "09:00", "12:00"), SPECIAL),
    (_dt("a", HOLIDAY), _dt("b", OPEN, "09:00", "12:00"), HOLIDAY),
    (_dt("a", CLOSED), _dt("b", SPECIAL, "09:00", "12:00"), CLOSED),
    (_dt("a", SPECIAL), _dt("b", HOLIDAY, "09:00", "12:00"), HOLIDAY),
    (_dt("a", HOLIDAY), _dt("b", CLOSED, "09:00", "12:00"), CLOSED),
]


@pytest.mark.parametrize(("first", "second", "expected"), _PAIRS)
def test_tier_and_type_precedence(first: Period, second: Period, expected: OpeningState) -> None:
    for order in ((first, second), (second, first)):  # list order must not matter
        result = resolve_calendar(calendar(*order), at("2026-05-01 08:00"), tenant_zone="UTC")
        assert result.state is expected
        assert len(result.overridden) == 1  # the loser is named


def test_equal_rank_goes_to_the_period_listed_first() -> None:
    both = calendar(holidays("national", subdivision=None), holidays("cantonal"))
    result = resolve_calendar(both, at("2026-12-25 09:00"), tenant_zone="UTC")
    assert result.period is not None and result.period.id == "national"
    assert "it is listed first" in result.message


# --------------------------------------------------------------------------- daylight saving


def test_zurich_spring_forward_start_in_the_skipped_hour() -> None:
    # Sun 29 March 2026: 02:00–03:00 CET does not exist; 03:00 CEST = 01:00 UTC.
    cal = calendar(weekly("early", OPEN, (SUN,), "02:30", "04:00"))
    assert state(cal, "2026-03-29 00:59:59") is CLOSED  # 01:59:59 CET
    assert state(cal, "2026-03-29 01:00") is OPEN  # 03:00 CEST, first instant after 02:30
    assert state(cal, "2026-03-29 01:59:59") is OPEN  # 03:59:59 CEST
    assert state(cal, "2026-03-29 02:00") is CLOSED  # 04:00 CEST
    assert change(cal, "2026-03-28 12:00") == ("2026-03-29 01:00:00", OPEN)
    assert change(cal, "2026-03-29 01:00") == ("2026-03-29 02:00:00", CLOSED)


def test_zurich_spring_forward_end_in_the_skipped_hour_and_periods_inside_it() -> None:
    night = calendar(weekly("night", OPEN, (SAT,), "22:00", "02:30"))
    # Sat 22:00 CET = 21:00 UTC; the end 02:30 does not exist, so it ends at 03:00 CEST.
    assert state(night, "2026-03-29 00:59:59") is OPEN
    assert state(night, "2026-03-29 01:00") is CLOSED
    assert change(night, "2026-03-28 22:00") == ("2026-03-29 01:00:00", CLOSED)
    ghost = calendar(weekly("ghost", OPEN, (SUN,), "02:00", "02:45"))
    assert state(ghost, "2026-03-29 00:59:59") is CLOSED
    assert state(ghost, "2026-03-29 01:00") is CLOSED
    # It does occur the next Sunday (5 April, 02:00 CEST = 00:00 UTC).
    assert change(ghost, "2026-03-28 12:00") == ("2026-04-05 00:00:00", OPEN)


def test_zurich_fall_back_repeated_hour_is_inside_on_both_occurrences() -> None:
    # Sun 25 October 2026: 02:00–03:00 local happens at 00:00–01:00 UTC (CEST) and
    # again at 01:00–02:00 UTC (CET).
    cal = calendar(weekly("repeat", OPEN, (SUN,), "02:00", "02:30"))
    assert state(cal, "2026-10-24 23:59:59") is CLOSED  # 01:59:59 CEST
    assert state(cal, "2026-10-25 00:15") is OPEN  # 02:15 CEST
    assert state(cal, "2026-10-25 00:45") is CLOSED  # 02:45 CEST
    assert state(cal, "2026-10-25 01:15") is OPEN  # 02:15 CET
    assert state(cal, "2026-10-25 01:45") is CLOSED  # 02:45 CET
    assert change(cal, "2026-10-25 00:15") == ("2026-10-25 00:30:00", CLOSED)
    assert change(cal, "2026-10-25 00:45") == ("2026-10-25 01:00:00", OPEN)
    assert change(cal, "2026-10-25 01:15") == ("2026-10-25 01:30:00", CLOSED)  # 02:30 CET
    second = OpeningHours.of_calendar(cal, tenant_zone="UTC").next_change(at("2026-10-25 00:45"))
    assert second is not None and "02:00 CET" in second.message
    first = resolve_calendar(cal, at("2026-10-25 00:15"), tenant_zone="UTC")
    assert "02:15 CEST" in first.message


def test_zurich_fall_back_day_lasts_25_hours() -> None:
    cal = calendar(weekly("sunday", OPEN, (SUN,), "00:00", "24:00"))
    # Sun 25 Oct: 00:00 CEST = Sat 22:00 UTC; Mon 00:00 CET = Sun 23:00 UTC.
    assert change(cal, "2026-10-24 21:00") == ("2026-10-24 22:00:00", OPEN)
    assert change(cal, "2026-10-24 22:00") == ("2026-10-25 23:00:00", CLOSED)


def test_new_york_spring_forward_and_fall_back() -> None:
    spring = calendar(weekly("early", OPEN, (SUN,), "02:30", "05:00"), zone=NEW_YORK)
    # Sun 8 March 2026: 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
    assert state(spring, "2026-03-08 06:59") is CLOSED
    assert state(spring, "2026-03-08 07:00") is OPEN
    assert change(spring, "2026-03-08 00:00") == ("2026-03-08 07:00:00", OPEN)
    assert change(spring, "2026-03-08 07:00") == ("2026-03-08 09:00:00", CLOSED)  # 05:00 EDT
    fall = calendar(weekly("repeat", OPEN, (SUN,), "01:00", "01:30"), zone=NEW_YORK)
    # Sun 1 November 2026: 01:00–02:00 local at 05:00–06:00 UTC (EDT) and 06:00–07:00 (EST).
    assert state(fall, "2026-11-01 05:15") is OPEN
    assert state(fall, "2026-11-01 05:45") is CLOSED
    assert state(fall, "2026-11-01 06:15") is OPEN
    assert state(fall, "2026-11-01 06:45") is CLOSED
    assert change(fall, "2026-11-01 05:45") == ("2026-11-01 06:00:00", OPEN)
    assert change(fall, "2026-11-01 06:00") == ("2026-11-01 06:30:00", CLOSED)  # 01:30 EST


# --------------------------------------------------------------------------- next change


def test_next_change_across_midnight() -> None:
    # Thu 8 Jan 2026 19:00 CET (18:00 UTC) → Fri 08:00 CET (07:00 UTC).
    assert change(OFFICE, "2026-01-08 18:00") == ("2026-01-09 07:00:00", OPEN)
    night = calendar(weekly("night", OPEN, (FRI,), "22:00", "06:00"))
    # Fri 23:00 CET → Sat 06:00 CET = 05:00 UTC.
    assert change(night, "2026-01-09 22:00") == ("2026-01-10 05:00:00", CLOSED)
    # Adjacent periods across midnight are one opening: no change at midnight.
    evening = calendar(
        weekly("evening", OPEN, (MON,), "18:00", "24:00"),
        weekly("small-hours", OPEN, (TUE,), "00:00", "02:00"),
    )
    assert change(evening, "2026-01-05 19:00") == ("2026-01-06 01:00:00", CLOSED)


def test_next_change_across_a_holiday() -> None:
    # Thu 24 Dec 2026 19:00 CET (18:00 UTC), after hours. Fri 25 and Sat 26 are holidays
    # in Zurich, Sun 27 is a weekend day, Mon 28 opens at 08:00 CET (07:00 UTC).
    assert change(OFFICE, "2026-12-24 18:00") == ("2026-12-24 23:00:00", HOLIDAY)
    assert change(OFFICE, "2026-12-24 18:00", openness_only=True) == ("2026-12-28 07:00:00", OPEN)
    assert change(OFFICE, "2026-12-25 12:00") == ("2026-12-26 23:00:00", CLOSED)
    # Open on the 24th: it closes at 18:00 CET as usual.
    assert change(OFFICE, "2026-12-24 09:00") == ("2026-12-24 17:00:00", CLOSED)


def test_next_change_at_a_boundary_looks_past_it() -> None:
    assert change(OFFICE, "2026-01-05 17:00") == ("2026-01-06 07:00:00", OPEN)


def test_no_next_change_for_a_calendar_open_around_the_clock() -> None:
    always = calendar(weekly("always", OPEN, tuple(Weekday), "00:00", "24:00"))
    hours = OpeningHours.of_calendar(always, tenant_zone="UTC")
    assert hours.next_change(at("2026-03-28 12:00")) is None  # across a DST change, too
    assert hours.resolve(at("2026-03-29 01:30")).state is OPEN


@pytest.mark.parametrize(
    "when",
    ["2026-12-24 18:00", "2026-12-24 09:00", "2026-12-25 12:00", "2026-01-10 12:00"],
)
def test_next_changes_finds_both_changes_in_one_scan(when: str) -> None:
    # The answer's look-ahead: the same two changes as two separate searches.
    hours = OpeningHours.of_calendar(OFFICE, tenant_zone="UTC")
    assert hours.next_changes(at(when)) == (
        hours.next_change(at(when)),
        hours.next_change(at(when), openness_only=True),
    )
    always = calendar(weekly("always", OPEN, tuple(Weekday), "00:00", "24:00"))
    assert OpeningHours.of_calendar(always, tenant_zone="UTC").next_changes(at(when)) == (
        None,
        None,
    )


def test_next_change_message_names_the_local_time() -> None:
    found = OpeningHours.of_calendar(OFFICE, tenant_zone="UTC").next_change(at("2026-01-08 18:00"))
    assert found is not None
    assert found.message == "Open from Fri 2026-01-09 08:00 CET (Europe/Zurich)."
    assert found.local_time.hour == 8


# --------------------------------------------------------------------------- services


PRIMARY = calendar(
    weekly("weekdays", OPEN, WORKDAYS, "08:00", "18:00"),
    dates("team-day", CLOSED, "2026-01-10", "2026-01-10"),
    name="Primary",
)
# The secondary is in New York and defaults to open; its default must never be used.
SECONDARY = calendar(
    weekly("saturday", OPEN, (SAT,), "04:00", "07:00"),
    zone=NEW_YORK,
    default=DefaultState.OPEN,
    name="Secondary",
)


def service_state(when: str) -> tuple[OpeningState, str | None, CalendarRole | None]:
    result = resolve_service("Support", PRIMARY, SECONDARY, at(when), tenant_zone="UTC")
    assert result.calendar is not None
    return result.state, result.calendar.name, result.role


def test_service_primary_period_decides_first() -> None:
    assert service_state("2026-01-05 09:00") == (OPEN, "Primary", CalendarRole.PRIMARY)
    # Sat 10 Jan: the primary's dated closure covers the whole day, even where the
    # secondary's Saturday hours (04:00–07:00 New York = 09:00–12:00 UTC) would open.
    assert service_state("2026-01-10 10:00") == (CLOSED, "Primary", CalendarRole.PRIMARY)


def test_service_secondary_decides_when_no_primary_period_covers() -> None:
    # Sat 17 Jan 2026 10:00 UTC = 05:00 EST: the secondary's Saturday hours.
    result = resolve_service(
        "Support", PRIMARY, SECONDARY, at("2026-01-17 10:00"), tenant_zone="UTC"
    )
    assert result.state is OPEN and result.role is CalendarRole.SECONDARY
    assert result.time_zone == NEW_YORK
    assert "no period of the primary calendar 'Primary' covers Sat 2026-01-17 11:00 CET" in (
        result.message
    )
    assert "the secondary calendar 'Secondary' covers Sat 2026-01-17 05:00 EST" in result.message


def test_service_falls_back_to_the_primary_default_never_the_secondary_default() -> None:
    # Sun 18 Jan: neither covers; the secondary's default (open) is ignored.
    result = resolve_service(
        "Support", PRIMARY, SECONDARY, at("2026-01-18 10:00"), tenant_zone="UTC"
    )
    assert result.state is CLOSED and result.decider is Decider.DEFAULT_STATE
    assert result.role is CalendarRole.PRIMARY
    assert "neither the primary calendar 'Primary' nor the secondary calendar" in result.message


def test_service_next_change_combines_both_calendars() -> None:
    hours = OpeningHours.of_service("Support", PRIMARY, SECONDARY, tenant_zone="UTC")
    # Fri 16 Jan 18:00 CET closes; next: Sat 04:00 EST = 09:00 UTC (secondary opens).
    found = hours.next_change(at("2026-01-16 16:30"))
    assert found is not None and found.at == at("2026-01-16 17:00")
    found = hours.next_change(at("2026-01-16 18:00"))
    assert found is not None and found.at == at("2026-01-17 09:00") and found.state is OPEN
    assert "EST (America/New_York)" in found.message


def test_service_without_calendars_is_always_open() -> None:
    result = resolve_service("Front desk", None, None, at("2026-01-18 03:00"), tenant_zone="UTC")
    assert result.state is OPEN and result.decider is Decider.NO_CALENDAR
    assert result.calendar is None and result.role is None
    assert (
        result.message
        == "Open: service 'Front desk' has no opening-hours calendar, so it is always open."
    )
    hours = OpeningHours.of_service("Front desk", None, None, tenant_zone="UTC")
    assert hours.next_change(at("2026-01-18 03:00")) is None
