"""Opening-hours calendars as configuration (spec 04 §5.1): plain dataclasses, no I/O.

A calendar says when a service is open. It has a `default_state` and a list of
periods; each period puts the calendar into one `OpeningState` while its rule
covers the instant. Resolution ("open or closed at T, and why") is in
`switchboard.domain.opening_hours`; field validation in
`switchboard.domain.calendar_validation`.

Why the shapes are as they are:

* **One flat rule type.** A rule is `weekly`, `dates` or `holidays`; instead of
  three classes behind a union, `PeriodRule` carries a `kind` and the fields of
  all three. The validator then answers a field that does not belong to the kind
  with `not_applicable` and a missing one with `required`, each naming its path,
  the same way service fields are checked. A union would have made the API edge
  report every alternative's errors at once, which no administrator can read.
* **Times and dates are text** (`"HH:MM"`, `"YYYY-MM-DD"`), exactly as the
  administrator wrote them: `"24:00"` is a valid end but no `datetime.time`, and
  text keeps the journal's codec free of date types. `parse_clock` and
  `parse_day` are the one place that reads them.
* **Wall-clock rules.** All times are local to the calendar's time zone; a
  calendar without `time_zone` follows the tenant's zone at evaluation time, so
  moving the tenant moves its calendars with it (decision, docs/opening-hours.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

__all__ = [
    "DAY_MINUTES",
    "MAX_PERIODS",
    "MAX_SPAN_DAYS",
    "MAX_YEAR",
    "MIN_YEAR",
    "Calendar",
    "DefaultState",
    "OpeningState",
    "Period",
    "PeriodRule",
    "RuleKind",
    "Weekday",
    "parse_clock",
    "parse_day",
]

#: 04 §5.1 limits.
MAX_PERIODS: Final = 500
MAX_SPAN_DAYS: Final = 366
DAY_MINUTES: Final = 24 * 60
#: Years a rule may name (decision): the `holidays` library computes no country
#: beyond 2100, so a date after that could never meet a holiday rule.
MIN_YEAR: Final = 1970
MAX_YEAR: Final = 2099

_CLOCK_RE: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00", re.ASCII)
_DAY_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class OpeningState(StrEnum):
    """What a period makes of the calendar, and what resolution answers.

    `holiday` and `special` are distinct from `closed` and `open` so that a
    workflow's `check_opening_hours` can take a different exit for them (04 §3.7);
    `special` counts as open (reduced staffing, an event day), `holiday` as closed.
    """

    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"
    SPECIAL = "special"

    @property
    def is_open(self) -> bool:
        return self in (OpeningState.OPEN, OpeningState.SPECIAL)


class DefaultState(StrEnum):
    """The state when no period covers the instant (04 OH4)."""

    OPEN = "open"
    CLOSED = "closed"


class RuleKind(StrEnum):
    WEEKLY = "weekly"
    DATES = "dates"
    HOLIDAYS = "holidays"


class Weekday(StrEnum):
    """Days in ISO order, so `list(Weekday).index(day)` equals `date.weekday()`."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        return _WEEKDAY_NUMBER[self]


_WEEKDAY_NUMBER: Final = {day: n for n, day in enumerate(Weekday)}


@dataclass(frozen=True, slots=True)
class PeriodRule:
    """When a period applies; which fields count depends on `kind`.

    * `weekly`: `days`, `start`, `end` (required; `end` may be `"24:00"`; an `end`
      not after `start` runs past midnight into the next day), optional
      `valid_from`/`valid_to`: the first and last day on which an occurrence starts.
    * `dates`: `start_date`, `end_date` (inclusive, at most 366 days), optional
      `start`/`end` (both or neither): the same window on every day of the
      range; without them each day is covered whole.
    * `holidays`: `country` (ISO 3166-1 alpha-2), optional `subdivision`,
      `categories` (default public holidays): each holiday is a whole day.
    """

    kind: RuleKind
    days: tuple[Weekday, ...] = ()
    start: str | None = None
    end: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    country: str | None = None
    subdivision: str | None = None
    categories: tuple[str, ...] = ("public",)


@dataclass(frozen=True, slots=True)
class Period:
    """A named rule and the state it puts the calendar in while it covers an instant.

    `id` is chosen by the administrator and unique within the calendar, so that a
    resolution can name the period that decided.
    """

    id: str
    name: str
    type: OpeningState
    rule: PeriodRule


@dataclass(slots=True)
class Calendar:
    """An opening-hours calendar (04 §5.1), referenced by services."""

    id: str
    name: str
    ou_id: str = "root"
    #: IANA zone name; None = the tenant's time zone when evaluated.
    time_zone: str | None = None
    default_state: DefaultState = DefaultState.CLOSED
    periods: tuple[Period, ...] = ()
    version: int = 1


def parse_clock(text: str, *, allow_24: bool) -> int | None:
    """Minutes after midnight of an `"HH:MM"` wall-clock time, or None if malformed.

    `"24:00"` (the end of the day) is accepted only where `allow_24` says so.
    """
    if not _CLOCK_RE.fullmatch(text):
        return None
    if text == "24:00":
        return DAY_MINUTES if allow_24 else None
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_day(text: str) -> date | None:
    """The date of a `"YYYY-MM-DD"` text, or None if malformed or not a real day.

    `date.fromisoformat` alone would also take `"20261224"` and week dates; the
    pattern keeps the API to one spelling.
    """
    if not _DAY_RE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
