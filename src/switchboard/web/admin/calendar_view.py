"""What a calendar's edit page says about it now: open or closed, why, and until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from switchboard.domain.calendars import Calendar
from switchboard.domain.opening_hours import OpeningHours


@dataclass(frozen=True, slots=True)
class CalendarNow:
    state: str
    open: bool
    message: str
    next_change: str | None


def calendar_now(calendar: Calendar, tenant_zone: str, now: float) -> CalendarNow:
    """The calendar's state at `now` (epoch seconds) with the domain's own sentences.

    Runs off the tenant's writer (looking ahead for the next change may take tens of
    milliseconds); configuration objects are replaced, never changed, so this is safe.
    """
    hours = OpeningHours.of_calendar(calendar, tenant_zone=tenant_zone)
    at = datetime.fromtimestamp(now, UTC)
    result = hours.resolve(at)
    following, _ = hours.next_changes(at)
    return CalendarNow(
        state=result.state.value,
        open=result.is_open,
        message=result.message,
        next_change=following.message if following is not None else None,
    )
