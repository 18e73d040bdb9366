"""Open or closed at an instant, and why (spec 04 §5.2); and when that changes next.

`resolve_calendar` answers for one calendar, `resolve_service` for a service's
primary and secondary calendars (OH6). Both return a `Resolution`: the state,
what decided it (a period, the default state, or no calendar at all), the
calendar and time zone used, the periods that lost on precedence, and a sentence
for a supervisor. `next_change` finds the first later instant at which the
answer's state differs, for the UI and for a workflow that waits.

How an instant is judged (the rules the tests pin down):

* **Wall clock** (OH1). The instant is turned into the calendar zone's local
  time; every rule is a wall-clock interval there, start inclusive, end
  exclusive. A rule's occurrence starts on a local day and lasts at most 24 hours
  (`"22:00"`–`"06:00"` runs into the next day).
* **Precedence** (OH2, OH3). Among the occurrences covering the instant, the most
  specific tier wins (`dates` over `holidays` over `weekly`); inside a tier the
  most restrictive type (`closed` over `holiday` over `special` over `open`); a
  remaining tie goes to the period listed first.
* **Daylight saving** (OH5). Comparing local wall times, not instants, is what
  the spec's decision asks for, and it needs no special case: in the skipped
  hour of spring no wall time exists, so a period starting at 02:30 is first
  seen at 03:00, the first instant that exists after its start (and a period
  ending at 02:30 ends at 03:00 for the same reason); in autumn's repeated hour
  the same wall time occurs twice, so it lies inside a period on both
  occurrences. A period lying wholly inside the skipped hour does not occur
  that day.

Nothing here reads a clock: the caller says which instant it asks about.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.domain.calendars import (
    DAY_MINUTES,
    Calendar,
    DefaultState,
    OpeningState,
    Period,
    PeriodRule,
    RuleKind,
    Weekday,
    parse_clock,
    parse_day,
)
from switchboard.domain.errors import DomainError
from switchboard.domain.holiday_dates import PUBLIC, holidays_in, years_known

__all__ = [
    "NEXT_CHANGE_HORIZON_DAYS",
    "CalendarRole",
    "Change",
    "Decider",
    "Occurrence",
    "OpeningHours",
    "Resolution",
    "describe_rule",
    "occurrences_starting",
    "resolve_calendar",
    "resolve_service",
    "time_zone_of",
    "window_minutes",
]

#: How far `next_change` looks ahead: a little over a year, so that a yearly
#: holiday or a dated period within the next twelve months is always found.
NEXT_CHANGE_HORIZON_DAYS: Final = 400

#: Tier of each rule kind, most specific first (OH2).
_TIER: Final = {RuleKind.DATES: 0, RuleKind.HOLIDAYS: 1, RuleKind.WEEKLY: 2}
#: Rank of each period type inside a tier, most restrictive first (OH3).
_RANK: Final = {
    OpeningState.CLOSED: 0,
    OpeningState.HOLIDAY: 1,
    OpeningState.SPECIAL: 2,
    OpeningState.OPEN: 3,
}
_STATE_WORDS: Final = {
    OpeningState.OPEN: "Open",
    OpeningState.CLOSED: "Closed",
    OpeningState.HOLIDAY: "Closed for a holiday",
    OpeningState.SPECIAL: "Open with special hours",
}
_ONE_DAY: Final = timedelta(days=1)


class CalendarRole(StrEnum):
    """Which of a service's calendars decided (OH6)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


class Decider(StrEnum):
    """What kind of thing decided the state: the machine-readable "why"."""

    PERIOD = "period"  # a period of the calendar covers the instant
    DEFAULT_STATE = "default_state"  # nothing covers it; the calendar's default applies
    NO_CALENDAR = "no_calendar"  # the service has no calendar: always open (04 §3.7)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One stretch of local wall-clock time during which a period applies.

    `start`/`end` are naive local times (end exclusive); `index` is the period's
    position in its calendar, the last tie-breaker; `holiday_name` is set for
    occurrences of a `holidays` rule.
    """

    period: Period
    index: int
    start: datetime
    end: datetime
    holiday_name: str | None = None

    @property
    def precedence(self) -> tuple[int, int, int]:
        """Sort key: the smallest wins (tier, then type, then list position)."""
        return (_TIER[self.period.rule.kind], _RANK[self.period.type], self.index)


@dataclass(frozen=True, slots=True)
class Change:
    """The next instant at which the state differs, and the state from then on."""

    at: datetime  # UTC
    local_time: datetime  # the same instant in the zone of the calendar that then decides
    state: OpeningState
    message: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer to "open or closed at `at`, and why".

    `calendar` and `role` name the calendar whose period or default decided (None
    with `Decider.NO_CALENDAR`); `occurrence` is the deciding stretch of a period;
    `overridden` lists the other periods of that calendar that also covered the
    instant but lost on precedence; `message` says all of it in one sentence.
    `notes` are caveats a supervisor should know, also appended to `message`:
    a holidays rule asked about a year the library has no data for.
    """

    at: datetime
    state: OpeningState
    decider: Decider
    calendar: Calendar | None
    role: CalendarRole | None
    time_zone: str | None
    local_time: datetime | None
    occurrence: Occurrence | None
    overridden: tuple[Occurrence, ...]
    message: str
    notes: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    @property
    def period(self) -> Period | None:
        return self.occurrence.period if self.occurrence is not None else None


# --------------------------------------------------------------------------- occurrences


def occurrences_starting(period: Period, index: int, day: date) -> Occurrence | None:
    """The occurrence of `period` that starts on local `day`, if there is one.

    The period must be valid (`calendar_validation`); a malformed stored rule is a
    bug and raises ValueError rather than silently never applying.
    """
    rule = period.rule
    if rule.kind is RuleKind.HOLIDAYS:
        if rule.country is None:
            raise ValueError(f"period {period.id!r}: holidays rule without a country")
        names = holidays_in(rule.country, rule.subdivision, rule.categories, day.year)
        name = names.get(day)
        if name is None:
            return None
        midnight = datetime.combine(day, time())
        return Occurrence(period, index, midnight, midnight + _ONE_DAY, name)
    if rule.kind is RuleKind.WEEKLY:
        if day.weekday() not in {d.number for d in rule.days}:
            return None
        first, last = _day_or_none(rule.valid_from), _day_or_none(rule.valid_to)
    else:
        first, last = _day_or_none(rule.start_date), _day_or_none(rule.end_date)
    if (first is not None and day < first) or (last is not None and day > last):
        return None
    start_min, end_min = window_minutes(rule)
    midnight = datetime.combine(day, time())
    return Occurrence(
        period,
        index,
        midnight + timedelta(minutes=start_min),
        midnight + timedelta(minutes=end_min),
    )


def _day_or_none(text: str | None) -> date | None:
    if text is None:
        return None
    day = parse_day(text)
    if day is None:
        raise ValueError(f"malformed date {text!r} in a stored calendar")
    return day


def window_minutes(rule: PeriodRule) -> tuple[int, int]:
    """Start and end in minutes after the start day's midnight; end may pass 24:00."""
    if rule.start is None or rule.end is None:
        return 0, DAY_MINUTES  # a dates rule without times: the whole day
    start = parse_clock(rule.start, allow_24=False)
    end = parse_clock(rule.end, allow_24=True)
    if start is None or end is None:
        raise ValueError(f"malformed time {rule.start!r}–{rule.end!r} in a stored calendar")
    if end <= start:
        end += DAY_MINUTES  # runs past midnight (04 §5.1)
    return start, end


# --------------------------------------------------------------------------- one calendar


def time_zone_of(calendar: Calendar, tenant_zone: str) -> ZoneInfo:
    """The calendar's zone; a calendar without one follows the tenant's."""
    key = calendar.time_zone or tenant_zone
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        whose = "calendar" if calendar.time_zone else "tenant"
        raise DomainError(
            f"The {whose} time zone {key!r} of calendar {calendar.name!r} is not a known "
            "IANA time zone, so its opening hours cannot be evaluated.",
            code="invalid_time_zone",
            calendar_id=calendar.id,
        ) from exc


class _Judge:
    """Evaluates one calendar, remembering the occurrences of each local day.

    A `next_change` search evaluates the same days many times; the cache makes
    each day's expansion happen once.
    """

    def __init__(self, calendar: Calendar, tenant_zone: str) -> None:
        self.calendar = calendar
        self.zone = time_zone_of(calendar, tenant_zone)
        self._days: dict[date, list[Occurrence]] = {}

    def starting_on(self, day: date) -> list[Occurrence]:
        found = self._days.get(day)
        if found is None:
            found = []
            for index, period in enumerate(self.calendar.periods):
                occurrence = occurrences_starting(period, index, day)
                if occurrence is not None:
                    found.append(occurrence)
            self._days[day] = found
        return found

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def unknown_holiday_years(self, at: datetime) -> list[str]:
        """Holidays rules that cannot cover anything in the local year of `at`."""
        year = self.local(at).year
        notes: list[str] = []
        for period in self.calendar.periods:
            country = period.rule.country
            if period.rule.kind is not RuleKind.HOLIDAYS or country is None:
                continue
            first, last = years_known(country)
            if not first <= year <= last:
                notes.append(
                    f"Note: the holidays library knows {country}'s holidays only for "
                    f"{first}–{last}, so period {period.name!r} covers no day in {year}."
                )
        return notes

    def covering(self, at: datetime) -> list[Occurrence]:
        """Occurrences covering the instant, best first."""
        wall = self.local(at).replace(tzinfo=None, fold=0)
        day = wall.date()
        found = [
            occ
            for start_day in (day - _ONE_DAY, day)
            for occ in self.starting_on(start_day)
            if occ.start <= wall < occ.end
        ]
        found.sort(key=lambda occ: occ.precedence)
        return found

    def boundaries(self, begin: datetime, end: datetime) -> set[datetime]:
        """Instants in [begin, end) at which this calendar's answer may change.

        Each occurrence boundary is a wall time; it maps to one instant, to two in
        the repeated hour (both folds), or to none in the skipped hour, where the
        clock jumps over it at the transition itself. The zone's transitions are
        therefore candidates too: they are where wall time jumps.
        """
        first = self.local(begin).date() - _ONE_DAY
        last = self.local(end).date() + _ONE_DAY
        walls: set[datetime] = set()
        day = first
        while day <= last:
            for occ in self.starting_on(day):
                walls.add(occ.start)
                walls.add(occ.end)
            day += _ONE_DAY
        found = {
            instant
            for wall in walls
            for fold in (0, 1)
            if begin <= (instant := wall.replace(tzinfo=self.zone, fold=fold).astimezone(UTC)) < end
        }
        found.update(_transitions(self.zone, begin, end))
        return found


def _transitions(zone: ZoneInfo, begin: datetime, end: datetime) -> list[datetime]:
    """UTC instants in [begin, end) at which the zone's offset changes.

    zoneinfo does not expose its transition table, so offsets are sampled every
    hour and a change is narrowed down by bisection over whole seconds (the tz
    database has no transition between seconds). No zone changes twice in an hour.
    """

    def offset(seconds: int) -> timedelta | None:
        return datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()

    found: list[datetime] = []
    lo = math.floor(begin.timestamp())
    stop = math.ceil(end.timestamp())
    lo_offset = offset(lo)
    while lo < stop:
        hi = min(lo + 3600, stop)
        hi_offset = offset(hi)
        if hi_offset != lo_offset:
            a, b = lo, hi  # offset(a) is the old one, offset(b) the new one
            while b - a > 1:
                mid = (a + b) // 2
                if offset(mid) == lo_offset:
                    a = mid
                else:
                    b = mid
            instant = datetime.fromtimestamp(b, UTC)
            if begin <= instant < end:
                found.append(instant)
        lo, lo_offset = hi, hi_offset
    return found


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("opening hours are evaluated at an aware instant, not a naive time")
    return at.astimezone(UTC)


def resolve_calendar(calendar: Calendar, at: datetime, *, tenant_zone: str) -> Resolution:
    """The state of one calendar at `at` (an aware datetime) and why (OH1–OH5)."""
    return OpeningHours.of_calendar(calendar, tenant_zone=tenant_zone).resolve(at)


def resolve_service(
    service_name: str,
    primary: Calendar | None,
    secondary: Calendar | None,
    at: datetime,
    *,
    tenant_zone: str,
) -> Resolution:
    """The state of a service at `at` from its calendars (OH6); see `OpeningHours`."""
    hours = OpeningHours.of_service(service_name, primary, secondary, tenant_zone=tenant_zone)
    return hours.resolve(at)


# --------------------------------------------------------------------------- resolver


class OpeningHours:
    """A calendar, or a service's primary and secondary calendars, judged together.

    For a service (OH6): a primary period covering the instant decides; otherwise
    a secondary period covering it; otherwise the primary's default state (the
    secondary's default is never used). A service without calendars is open
    (04 §3.7). Build one per question: it caches each local day's occurrences,
    which `next_change` evaluates many times.
    """

    def __init__(
        self,
        primary: Calendar | None,
        secondary: Calendar | None,
        tenant_zone: str,
        *,
        service_name: str | None,
    ) -> None:
        self.service_name = service_name
        self.primary = _Judge(primary, tenant_zone) if primary is not None else None
        self.secondary = (
            _Judge(secondary, tenant_zone)
            if secondary is not None and primary is not None
            else None
        )

    @classmethod
    def of_calendar(cls, calendar: Calendar, *, tenant_zone: str) -> OpeningHours:
        return cls(calendar, None, tenant_zone, service_name=None)

    @classmethod
    def of_service(
        cls,
        service_name: str,
        primary: Calendar | None,
        secondary: Calendar | None,
        *,
        tenant_zone: str,
    ) -> OpeningHours:
        return cls(primary, secondary, tenant_zone, service_name=service_name)

    @property
    def judges(self) -> list[_Judge]:
        return [j for j in (self.primary, self.secondary) if j is not None]

    def _role(self, judge: _Judge) -> CalendarRole | None:
        if self.service_name is None:
            return None
        return CalendarRole.PRIMARY if judge is self.primary else CalendarRole.SECONDARY

    def resolve(self, at: datetime) -> Resolution:
        """The state at the aware instant `at`, and why."""
        at = _utc(at)
        primary = self.primary
        if primary is None:
            name = self.service_name or "The service"
            return Resolution(
                at=at,
                state=OpeningState.OPEN,
                decider=Decider.NO_CALENDAR,
                calendar=None,
                role=None,
                time_zone=None,
                local_time=None,
                occurrence=None,
                overridden=(),
                message=(
                    f"Open: service {name!r} has no opening-hours calendar, so it is always open."
                ),
            )
        covering = primary.covering(at)
        judge = primary
        consulted = [primary]
        if not covering and self.secondary is not None:
            consulted.append(self.secondary)
            secondary_covering = self.secondary.covering(at)
            if secondary_covering:
                covering, judge = secondary_covering, self.secondary
        local = judge.local(at)
        calendar = judge.calendar
        if covering:
            best = covering[0]
            state = best.period.type
            decider = Decider.PERIOD
        else:
            best = None
            state = (
                OpeningState.OPEN
                if calendar.default_state is DefaultState.OPEN
                else OpeningState.CLOSED
            )
            decider = Decider.DEFAULT_STATE
        resolution = Resolution(
            at=at,
            state=state,
            decider=decider,
            calendar=calendar,
            role=self._role(judge),
            time_zone=judge.zone.key,
            local_time=local,
            occurrence=best,
            overridden=tuple(covering[1:]),
            message="",
        )
        notes = tuple(note for j in consulted for note in j.unknown_holiday_years(at))
        message = " ".join((self._sentence(resolution, at), *notes))
        return replace(resolution, message=message, notes=notes)

    def _sentence(self, r: Resolution, at: datetime) -> str:
        assert r.calendar is not None and r.local_time is not None and self.primary is not None
        when = _when(r.local_time, r.time_zone or "")
        head = _STATE_WORDS[r.state]
        if self.service_name is None:
            own = f"calendar {r.calendar.name!r}"
        else:
            own = f"the {r.role} calendar {r.calendar.name!r}"
        if r.occurrence is not None:
            text = f"{describe_occurrence(r.occurrence)} of {own} covers {when}"
            if r.role is CalendarRole.SECONDARY:
                missed = _when(self.primary.local(at), self.primary.zone.key)
                text = (
                    f"no period of the primary calendar {self.primary.calendar.name!r} covers "
                    f"{missed}, and {text}"
                )
            sentence = f"{head}: {text}."
            if r.overridden:
                lost = "; ".join(describe_occurrence(o) for o in r.overridden)
                sentence += f" It takes precedence over {lost} ({_precedence(r)})."
            return sentence
        if self.secondary is not None:
            return (
                f"{head}: neither the primary calendar {r.calendar.name!r} nor the secondary "
                f"calendar {self.secondary.calendar.name!r} has a period covering {when}, "
                "so the primary calendar's default state applies."
            )
        return f"{head}: no period of {own} covers {when}, so its default state applies."

    def next_change(
        self,
        at: datetime,
        *,
        openness_only: bool = False,
        horizon_days: int = NEXT_CHANGE_HORIZON_DAYS,
    ) -> Change | None:
        """The first instant after `at` whose state differs from the state at `at`.

        With `openness_only`, only a change between open and closed counts (closed
        → holiday does not), which answers "when do we open again?". None means
        nothing changes within `horizon_days` (a calendar open around the clock, a
        service without calendars).
        """
        begin = _utc(at)
        current = self.resolve(begin).state
        for instant, later in self._candidates(begin, horizon_days):
            if openness_only:
                changed = later.state.is_open != current.is_open
            else:
                changed = later.state is not current
            if changed:
                return _change(instant, later)
        return None

    def next_changes(
        self, at: datetime, *, horizon_days: int = NEXT_CHANGE_HORIZON_DAYS
    ) -> tuple[Change | None, Change | None]:
        """`next_change(at)` and `next_change(at, openness_only=True)` in one scan.

        The look-ahead is the costly part of an answer (a year of candidates when
        nothing changes), and the second search would walk the first one's days
        again: the first change of openness is never before the first change of
        state, so one scan that goes on until openness changes finds both.
        """
        begin = _utc(at)
        current = self.resolve(begin).state
        first: Change | None = None
        for instant, later in self._candidates(begin, horizon_days):
            if first is None and later.state is not current:
                first = _change(instant, later)
            if later.state.is_open != current.is_open:
                return first, _change(instant, later)
        return first, None

    def _candidates(
        self, begin: datetime, horizon_days: int
    ) -> Iterator[tuple[datetime, Resolution]]:
        """Every instant after `begin` at which the state may change, with the state
        from then on, in order, up to `horizon_days` ahead.

        Candidates are every occurrence boundary and zone transition, a day at a
        time; the state only changes at one of them, so the first candidate with a
        different state is the next change.
        """
        if not self.judges:
            return
        limit = begin + timedelta(days=horizon_days)
        window_start = begin
        while window_start < limit:
            window_end = min(window_start + _ONE_DAY, limit)
            candidates: set[datetime] = set()
            for judge in self.judges:
                candidates |= judge.boundaries(window_start, window_end)
            for instant in sorted(c for c in candidates if c > begin):
                yield instant, self.resolve(instant)
            window_start = window_end


def _change(instant: datetime, later: Resolution) -> Change:
    local = later.local_time or instant
    when = _when(local, later.time_zone or "UTC")
    return Change(
        at=instant,
        local_time=local,
        state=later.state,
        message=f"{_STATE_WORDS[later.state]} from {when}.",
    )


# --------------------------------------------------------------------------- wording


def _when(local: datetime, zone_key: str) -> str:
    """`Fri 2026-12-25 10:00 CET (Europe/Zurich)`: the abbreviation tells the two
    occurrences of a repeated hour apart."""
    clock = "%H:%M:%S" if local.second else "%H:%M"
    return f"{local.strftime('%a %Y-%m-%d ' + clock)} {local.tzname()} ({zone_key})"


def _precedence(r: Resolution) -> str:
    """Why the deciding period beat the others (OH2, OH3), without repeats."""
    assert r.occurrence is not None
    best = r.occurrence.period
    reasons: list[str] = []
    for other in r.overridden:
        lost = other.period
        if lost.rule.kind is not best.rule.kind:
            reasons.append(f"a {best.rule.kind} rule is more specific than a {lost.rule.kind} rule")
        elif lost.type is not best.type:
            reasons.append(f"{best.type} is more restrictive than {lost.type}")
        else:
            reasons.append("it is listed first")
    return "; ".join(dict.fromkeys(reasons))


def _days_text(days: Sequence[Weekday]) -> str:
    numbers = sorted({d.number for d in days})
    if len(numbers) == 7:
        return "every day"
    names = list(Weekday)
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [
        f"{names[run[0]]}–{names[run[-1]]}" if len(run) > 2 else ", ".join(names[n] for n in run)
        for run in runs
    ]
    return ", ".join(parts)


def _times_text(rule: PeriodRule) -> str:
    if rule.start is None or rule.end is None:
        return "all day"
    end = window_minutes(rule)[1]
    suffix = " (next day)" if end > DAY_MINUTES else ""
    return f"{rule.start}–{rule.end}{suffix}"


def describe_rule(rule: PeriodRule) -> str:
    """The rule in a few words: `weekly mon–fri 08:00–18:00`, `public holidays of CH-ZH`."""
    if rule.kind is RuleKind.WEEKLY:
        text = f"weekly {_days_text(rule.days)} {_times_text(rule)}"
        if rule.valid_from:
            text += f" from {rule.valid_from}"
        if rule.valid_to:
            text += f" until {rule.valid_to}"
        return text
    if rule.kind is RuleKind.DATES:
        span = (
            rule.start_date
            if rule.start_date == rule.end_date
            else f"{rule.start_date} to {rule.end_date}"
        )
        times = _times_text(rule)
        return f"dates {span}, {times}" + (" each day" if times != "all day" else "")
    where = rule.country or "?"
    if rule.subdivision:
        where += f"-{rule.subdivision}"
    kinds = " and ".join(rule.categories) if rule.categories else PUBLIC
    return f"{kinds} holidays of {where}"


def describe_occurrence(occ: Occurrence) -> str:
    period = occ.period
    if occ.holiday_name is not None:
        return (
            f"holiday {occ.holiday_name!r} from period {period.name!r} "
            f"({describe_rule(period.rule)})"
        )
    return f"{period.type} period {period.name!r} ({describe_rule(period.rule)})"
