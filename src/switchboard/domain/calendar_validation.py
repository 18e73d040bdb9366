"""Validation of opening-hours calendars (spec 04 §5.1), in the style of `validation`.

Same contract as every `validate_*` function: the entity, the tenant's
`Catalog` and the stored `previous` version in; every `Issue` found out, each
with a code, a request-body path (`periods[2].rule.end`) and a sentence naming
the field and what was expected.

Decisions worth knowing (docs/opening-hours.md):

* **Holiday vocabulary comes from the library.** Countries, subdivisions and
  categories are whatever the pinned `holidays` release supports; an unknown
  one is `invalid_format`, and the message offers the code behind a spelling the
  library recognises (`"CHE"` → `"CH"`, `"Zürich"` → `"ZH"`).
* **Overlaps.** Overlapping periods are how precedence is meant to be used (a
  holiday over weekly hours, a closed lunch break inside an open day), so they
  are allowed across tiers and across types. Two periods of the *same* kind and
  the *same* type that overlap say one thing twice, and which of them "decided"
  would depend on list order; that is refused as `invalid_combination`, naming
  both periods and where they meet. Holiday rules are exempt: a national list
  and a subdivision list overlap on every national holiday by design.
* **Moving a calendar** to another OU must keep it visible to the services
  that use it (01 §2 rules 6–7): `reference_not_visible` on `ou_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.domain.calendars import (
    DAY_MINUTES,
    MAX_PERIODS,
    MAX_SPAN_DAYS,
    MAX_YEAR,
    MIN_YEAR,
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
from switchboard.domain.holiday_dates import (
    PUBLIC,
    canonical_country,
    canonical_subdivision,
    categories_of,
    is_supported_country,
    subdivisions_of,
)
from switchboard.domain.opening_hours import (
    Occurrence,
    describe_rule,
    occurrences_starting,
    window_minutes,
)
from switchboard.domain.validation import (
    Catalog,
    Issue,
    _Checker,
    _leaf,
    _own_ids,
    is_visible,
)

__all__ = ["validate_calendar"]

#: Fields of `PeriodRule` that each kind uses; the others must stay unset.
_FIELDS: Final = {
    RuleKind.WEEKLY: frozenset({"days", "start", "end", "valid_from", "valid_to"}),
    RuleKind.DATES: frozenset({"start_date", "end_date", "start", "end"}),
    RuleKind.HOLIDAYS: frozenset({"country", "subdivision", "categories"}),
}
_RULE_FIELDS: Final = (
    "days",
    "start",
    "end",
    "valid_from",
    "valid_to",
    "start_date",
    "end_date",
    "country",
    "subdivision",
    "categories",
)
#: How many supported codes a message lists before it stops.
_SHOWN: Final = 12
#: Checking this many consecutive start days finds every overlap of two weekly or
#: dated periods: both repeat at most weekly and an occurrence spills into one
#: more day.
_OVERLAP_DAYS: Final = 9
#: A Monday, the start of the comparison when neither period has a first day.
_REFERENCE_MONDAY: Final = date(2001, 1, 1)


def validate_calendar(
    calendar: Calendar, catalog: Catalog, previous: Calendar | None = None
) -> list[Issue]:
    """Check an opening-hours calendar against its own rules and the tenant's catalog."""
    ch = _Checker()
    ch.unchanged_id(calendar.id, previous.id if previous else None)
    own = _own_ids(calendar.id, previous)
    name = ch.text("name", calendar.name, max_len=128)
    if name:
        ch.unique_name(name, (c for c in catalog.calendars.values() if c.id not in own), "calendar")
    _check_ou(ch, calendar, catalog, own)
    if calendar.time_zone is not None:
        _check_time_zone(ch, calendar.time_zone)
    ch.enum("default_state", calendar.default_state, DefaultState)
    periods = calendar.periods
    if not isinstance(periods, tuple | list):
        ch.add("invalid_type", "periods", f"periods must be a list; got {type(periods).__name__}.")
        return ch.issues
    if len(periods) > MAX_PERIODS:
        ch.add(
            "limit_exceeded",
            "periods",
            f"periods may hold at most {MAX_PERIODS} periods; got {len(periods)}.",
        )
    usable: list[tuple[int, Period]] = []
    seen_ids: dict[str, int] = {}
    for index, period in enumerate(periods):
        if _check_period(ch, f"periods[{index}]", period, seen_ids, index):
            usable.append((index, period))
    _check_overlaps(ch, usable)
    return ch.issues


def _check_ou(ch: _Checker, calendar: Calendar, catalog: Catalog, own: frozenset[str]) -> None:
    if calendar.ou_id not in catalog.ous:
        ch.add(
            "unknown_reference",
            "ou_id",
            f"ou_id refers to OU {calendar.ou_id!r}, which does not exist.",
        )
        return
    for service in catalog.services.values():
        uses = {service.primary_calendar_id, service.secondary_calendar_id} & own
        if uses and not is_visible(calendar.ou_id, service.ou_id, catalog.ous):
            ch.add(
                "reference_not_visible",
                "ou_id",
                f"ou_id cannot be {calendar.ou_id!r}: service {service.name!r} uses this "
                "calendar and would no longer see it; a calendar must sit in the service's "
                "OU or one of its ancestors.",
            )
            return


def _check_time_zone(ch: _Checker, value: object) -> None:
    text = ch.text("time_zone", value, max_len=64, required=False, strip=False)
    if text is None:
        return
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        ch.add(
            "invalid_format",
            "time_zone",
            f"time_zone must be an IANA time zone name such as Europe/Zurich or "
            f"America/New_York; got {text!r}.",
        )


# --------------------------------------------------------------------------- one period


def _check_period(
    ch: _Checker, path: str, period: object, seen_ids: dict[str, int], index: int
) -> bool:
    """Check one period; True when it is sound enough to compare with the others."""
    if not isinstance(period, Period):
        ch.add("invalid_type", path, f"{path} must be a period; got {type(period).__name__}.")
        return False
    before = len(ch.issues)
    period_id = ch.text(f"{path}.id", period.id, max_len=64)
    if period_id is not None:
        first = seen_ids.setdefault(period_id, index)
        if first != index:
            ch.add(
                "not_unique",
                f"{path}.id",
                f"id must be unique among the calendar's periods; {period_id!r} is already "
                f"used by periods[{first}].",
            )
    ch.text(f"{path}.name", period.name, max_len=64)
    type_ok = ch.enum(f"{path}.type", period.type, OpeningState) is not None
    rule = period.rule
    if not isinstance(rule, PeriodRule):
        ch.add("invalid_type", f"{path}.rule", f"rule must be an object; got {rule!r}.")
        return False
    kind = ch.enum(f"{path}.rule.kind", rule.kind, RuleKind)
    if kind is None:
        return False
    _check_not_applicable(ch, f"{path}.rule", rule, kind)
    if kind is RuleKind.WEEKLY:
        _check_weekly(ch, f"{path}.rule", rule)
    elif kind is RuleKind.DATES:
        _check_dates(ch, f"{path}.rule", rule)
    else:
        if type_ok and period.type is not OpeningState.HOLIDAY:
            ch.add(
                "invalid_combination",
                f"{path}.type",
                f"type must be holiday for a holidays rule; got {period.type}.",
            )
        _check_holidays(ch, f"{path}.rule", rule)
    return len(ch.issues) == before


def _check_not_applicable(ch: _Checker, path: str, rule: PeriodRule, kind: RuleKind) -> None:
    for name in _RULE_FIELDS:
        if name in _FIELDS[kind]:
            continue
        value = getattr(rule, name)
        unset = value in ((), None) or (name == "categories" and tuple(value) == (PUBLIC,))
        if not unset:
            ch.add(
                "not_applicable",
                f"{path}.{name}",
                f"{name} does not apply to a {kind} rule; leave it out.",
            )


def _clock(ch: _Checker, path: str, value: object, *, allow_24: bool) -> int | None:
    """A required `"HH:MM"` time as minutes after midnight (`"24:00"` only as an end)."""
    last = "24:00" if allow_24 else "23:59"
    expected = f'a time "HH:MM" from 00:00 to {last}'
    text = _shaped(ch, path, value, expected, required=True)
    if text is None:
        return None
    minutes = parse_clock(text, allow_24=allow_24)
    if minutes is None:
        ch.add("invalid_format", path, f"{_leaf(path)} must be {expected}; got {text!r}.")
    return minutes


def _day(ch: _Checker, path: str, value: object, *, required: bool) -> date | None:
    """A `"YYYY-MM-DD"` date that exists, in the years a calendar may name."""
    expected = 'a date "YYYY-MM-DD"'
    text = _shaped(ch, path, value, expected, required=required)
    if text is None:
        return None
    day = parse_day(text)
    if day is None:
        ch.add(
            "invalid_format", path, f"{_leaf(path)} must be {expected} that exists; got {text!r}."
        )
        return None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        ch.add(
            "out_of_range",
            path,
            f"{_leaf(path)} must lie between the years {MIN_YEAR} and {MAX_YEAR}; got {text!r}.",
        )
        return None
    return day


def _shaped(ch: _Checker, path: str, value: object, expected: str, *, required: bool) -> str | None:
    """The text of a time or date field, untrimmed: it is stored and parsed as written."""
    if value is None:
        if required:
            ch.add("required", path, f"{_leaf(path)} is required; expected {expected}.")
        return None
    if not isinstance(value, str):
        ch.add("invalid_type", path, f"{_leaf(path)} must be text; got {value!r}.")
        return None
    return value


def _check_weekly(ch: _Checker, path: str, rule: PeriodRule) -> None:
    days = rule.days
    if not days:
        allowed = ", ".join(d.value for d in Weekday)
        ch.add("required", f"{path}.days", f"days is required; expected one or more of {allowed}.")
    seen: set[Weekday] = set()
    for index, day in enumerate(days):
        item = f"{path}.days[{index}]"
        if ch.enum(item, day, Weekday) is None:
            continue
        if day in seen:
            ch.add("not_unique", item, f"days lists {day} more than once; list each day once.")
        seen.add(day)
    _clock(ch, f"{path}.start", rule.start, allow_24=False)
    _clock(ch, f"{path}.end", rule.end, allow_24=True)
    first = _day(ch, f"{path}.valid_from", rule.valid_from, required=False)
    last = _day(ch, f"{path}.valid_to", rule.valid_to, required=False)
    if first is not None and last is not None and last < first:
        ch.add(
            "invalid_combination",
            f"{path}.valid_to",
            f"valid_to ({last}) must not be before valid_from ({first}).",
        )


def _check_dates(ch: _Checker, path: str, rule: PeriodRule) -> None:
    first = _day(ch, f"{path}.start_date", rule.start_date, required=True)
    last = _day(ch, f"{path}.end_date", rule.end_date, required=True)
    if first is not None and last is not None:
        if last < first:
            ch.add(
                "invalid_combination",
                f"{path}.end_date",
                f"end_date ({last}) must not be before start_date ({first}).",
            )
        elif (last - first).days + 1 > MAX_SPAN_DAYS:
            ch.add(
                "out_of_range",
                f"{path}.end_date",
                f"end_date must keep the range at most {MAX_SPAN_DAYS} days long, counting "
                f"both ends; {first} to {last} spans {(last - first).days + 1} days.",
            )
    if rule.start is None and rule.end is None:
        return  # whole days
    for name, value, other in (("start", rule.start, "end"), ("end", rule.end, "start")):
        if value is None:
            ch.add(
                "required",
                f"{path}.{name}",
                f"{name} is required when {other} is set; give both times or neither (whole days).",
            )
    if rule.start is not None:
        _clock(ch, f"{path}.start", rule.start, allow_24=False)
    if rule.end is not None:
        _clock(ch, f"{path}.end", rule.end, allow_24=True)


def _check_holidays(ch: _Checker, path: str, rule: PeriodRule) -> None:
    country = ch.text(
        f"{path}.country",
        rule.country,
        max_len=64,
        strip=False,
        expected="an ISO 3166-1 alpha-2 code such as CH",
    )
    if country is None:
        return
    if not is_supported_country(country):
        hint = canonical_country(country.upper())
        suggestion = f", which the library knows as {hint!r}" if hint is not None else ""
        ch.add(
            "invalid_format",
            f"{path}.country",
            f"country must be an ISO 3166-1 alpha-2 code that the holidays library supports, "
            f"such as CH, DE or US; got {country!r}{suggestion}.",
        )
        return
    if rule.subdivision is not None:
        _check_subdivision(ch, f"{path}.subdivision", country, rule.subdivision)
    _check_categories(ch, f"{path}.categories", country, rule.categories)


def _listing(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:_SHOWN])
    return shown + (f" and {len(codes) - _SHOWN} more" if len(codes) > _SHOWN else "")


def _check_subdivision(ch: _Checker, path: str, country: str, value: object) -> None:
    text = ch.text(path, value, max_len=64, strip=False, expected="a subdivision code such as ZH")
    if text is None:
        return
    known = subdivisions_of(country)
    if text in known:
        return
    if not known:
        ch.add(
            "not_applicable",
            path,
            f"subdivision does not apply: the holidays library has no subdivisions for "
            f"{country}; leave it out.",
        )
        return
    hint = canonical_subdivision(country, text)
    suggestion = f", whose code is {hint!r}" if hint is not None else ""
    ch.add(
        "invalid_format",
        path,
        f"subdivision must be one of the holidays library's codes for {country} "
        f"({_listing(known)}); got {text!r}{suggestion}.",
    )


def _check_categories(ch: _Checker, path: str, country: str, categories: object) -> None:
    if not isinstance(categories, tuple | list) or not categories:
        ch.add(
            "required",
            path,
            f"categories is required; expected a list such as [{PUBLIC!r}].",
        )
        return
    known = categories_of(country)
    seen: set[str] = set()
    for index, category in enumerate(categories):
        item = f"{path}[{index}]"
        if category in seen:
            ch.add("not_unique", item, f"categories lists {category!r} more than once.")
            continue
        seen.add(category)
        if category not in known:
            ch.add(
                "invalid_format",
                item,
                f"categories may hold only the holidays library's categories for {country} "
                f"({_listing(known)}); got {category!r}.",
            )


# --------------------------------------------------------------------------- overlaps


def _bounds(rule: PeriodRule) -> tuple[date | None, date | None]:
    """First and last start day of a weekly or dated rule (None: unbounded)."""
    if rule.kind is RuleKind.WEEKLY:
        first, last = rule.valid_from, rule.valid_to
    else:
        first, last = rule.start_date, rule.end_date
    return (
        parse_day(first) if first is not None else None,
        parse_day(last) if last is not None else None,
    )


def _week_minutes(rule: PeriodRule) -> list[tuple[int, int]]:
    """A weekly rule's occurrences as minutes after Monday 00:00, before validity.

    Each interval appears twice, the second a week later, so that an occurrence
    running from Sunday into Monday also meets the next week's Monday.
    """
    start, end = window_minutes(rule)
    week = 7 * DAY_MINUTES
    once = [(d.number * DAY_MINUTES + start, d.number * DAY_MINUTES + end) for d in rule.days]
    return once + [(s + week, e + week) for s, e in once]


def _meet_somewhere(intervals: list[tuple[int, int, int]]) -> set[tuple[int, int]]:
    """Pairs of owners (low, high) whose half-open intervals (start, end, owner) intersect.

    A sweep in start order, so a calendar of 500 periods costs a sort instead of
    125,000 pairwise comparisons; only pairs that really meet are returned.
    """
    pairs: set[tuple[int, int]] = set()
    active: list[tuple[int, int]] = []  # (end, owner)
    for start, end, owner in sorted(intervals):
        active = [(e, o) for e, o in active if e > start]
        pairs.update((min(o, owner), max(o, owner)) for _, o in active if o != owner)
        active.append((end, owner))
    return pairs


def _candidates(members: list[tuple[int, Period]]) -> list[tuple[int, int]]:
    """Pairs of periods (by index) of one kind and type that may overlap, by later period.

    Weekly periods must meet somewhere in the week and have validity windows that
    touch; dated periods must have ranges that touch (a day apart still counts:
    an occurrence may run past midnight). `_meeting` then decides exactly.
    """
    bounds = {index: _bounds(period.rule) for index, period in members}
    if members[0][1].rule.kind is RuleKind.WEEKLY:
        week = [(s, e, i) for i, p in members for s, e in _week_minutes(p.rule)]
        pairs = {pair for pair in _meet_somewhere(week) if _windows_touch(*pair, bounds)}
    else:
        days: list[tuple[int, int, int]] = []
        for index, (first, last) in bounds.items():
            assert first is not None and last is not None  # a valid dates rule has both
            days.append((first.toordinal() - 1, last.toordinal() + 2, index))
        pairs = _meet_somewhere(days)
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def _windows_touch(a: int, b: int, bounds: dict[int, tuple[date | None, date | None]]) -> bool:
    (first_a, last_a), (first_b, last_b) = bounds[a], bounds[b]
    firsts = [d for d in (first_a, first_b) if d is not None]
    lasts = [d for d in (last_a, last_b) if d is not None]
    return not firsts or not lasts or min(lasts) >= max(firsts) - timedelta(days=1)


def _check_overlaps(ch: _Checker, usable: list[tuple[int, Period]]) -> None:
    groups: dict[tuple[RuleKind, OpeningState], list[tuple[int, Period]]] = {}
    for index, period in usable:
        if period.rule.kind is not RuleKind.HOLIDAYS:
            groups.setdefault((period.rule.kind, period.type), []).append((index, period))
    for members in groups.values():
        by_index = dict(members)
        reported: set[int] = set()
        for i, j in _candidates(members):
            if j in reported:
                continue  # one issue per period, naming the first it overlaps
            earlier, later = by_index[i], by_index[j]
            meeting = _meeting(earlier, later)
            if meeting is not None:
                reported.add(j)
                ch.add(
                    "invalid_combination",
                    f"periods[{j}].rule",
                    f"rule overlaps {later.type} period {earlier.name!r} (periods[{i}], "
                    f"{describe_rule(earlier.rule)}) {meeting}; two {later.rule.kind} "
                    f"periods of the same type must not overlap, so merge them or "
                    f"change one.",
                )


def _meeting(a: Period, b: Period) -> str | None:
    """Where two same-kind, same-type periods overlap, in words, or None."""
    first_a, last_a = _bounds(a.rule)
    first_b, last_b = _bounds(b.rule)
    firsts = [d for d in (first_a, first_b) if d is not None]
    lasts = [d for d in (last_a, last_b) if d is not None]
    lo = max(firsts) if firsts else _REFERENCE_MONDAY
    hi = min(lasts) if lasts else lo + timedelta(days=_OVERLAP_DAYS)
    if hi < lo - timedelta(days=1):
        return None
    hi = min(hi, lo + timedelta(days=_OVERLAP_DAYS))
    found_a = _starting(a, lo - timedelta(days=1), hi)
    found_b = _starting(b, lo - timedelta(days=1), hi)
    for x in found_a:
        for y in found_b:
            start, end = max(x.start, y.start), min(x.end, y.end)
            if start < end:
                return _span_text(start, end, dated=bool(firsts or lasts))
    return None


def _starting(period: Period, first: date, last: date) -> list[Occurrence]:
    found: list[Occurrence] = []
    day = first
    while day <= last:
        occurrence = occurrences_starting(period, 0, day)
        if occurrence is not None:
            found.append(occurrence)
        day += timedelta(days=1)
    return found


def _span_text(start: datetime, end: datetime, *, dated: bool) -> str:
    weekday = list(Weekday)[start.weekday()]
    when = f"{start:%Y-%m-%d} ({weekday})" if dated else str(weekday)
    end_text = "24:00" if end == start.replace(hour=0, minute=0) + timedelta(days=1) else None
    if end_text is None:
        end_text = f"{end:%H:%M}" + (" next day" if end.date() > start.date() else "")
    return f"on {when} from {start:%H:%M} to {end_text}"
