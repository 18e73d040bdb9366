"""Opening hours over HTTP: is a service (or a calendar) open at an instant, and why.

`GET /services/{id}/opening-hours?at=…` resolves the service's primary and
secondary calendars (04 OH6); `GET /calendars/{id}/state?at=…` one calendar.
Both answer the state, what decided it (a period, the default state, or no
calendar), the calendar and time zone used, the periods that lost on precedence,
a sentence for a supervisor, and when the state changes next — both the next
change of any kind and the next time the answer flips between open and closed.
`at` defaults to now (the tenant engine's clock); it must carry a UTC offset,
because a wall-clock time without a zone names no instant.

Reading is guarded like reading the entity itself: the service's configuration
(10 §2 row 9), or calendars (row 11).
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from switchboard.api.permissions import READ, Actor, config_target, require
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.domain.access import Capability
from switchboard.domain.calendars import MAX_YEAR, MIN_YEAR, OpeningState, RuleKind
from switchboard.domain.opening_hours import (
    CalendarRole,
    Change,
    Decider,
    Occurrence,
    OpeningHours,
    Resolution,
    describe_rule,
)
from switchboard.engine.engine import Engine

router = APIRouter(prefix="/api/v1", responses=RESPONSES)

_AT = Query(
    None,
    description="The instant to ask about, ISO 8601 with a UTC offset "
    "(e.g. 2026-12-24T17:30:00Z); default now.",
)


class PeriodOut(BaseModel):
    """A period that covers the instant: the one that decided, or one it overrode."""

    id: str
    name: str
    type: OpeningState
    rule_kind: RuleKind
    rule: str = Field(description="The rule in words, e.g. 'weekly mon–fri 08:00–18:00'.")
    holiday_name: str | None = Field(None, description="For a holidays rule: which holiday.")
    starts: str = Field(description="Start of this occurrence, local wall-clock time.")
    ends: str = Field(description="End of this occurrence (exclusive), local wall-clock time.")


class CalendarOut(BaseModel):
    id: str
    name: str
    role: CalendarRole | None = Field(None, description="For a service: primary or secondary.")
    time_zone: str


class ChangeOut(BaseModel):
    at: str = Field(description="The instant, UTC.")
    local_time: str = Field(description="The same instant in the deciding calendar's zone.")
    state: OpeningState
    open: bool
    message: str


class OpeningHoursOut(BaseModel):
    """Open or closed at `at`, why, and when that changes."""

    at: str
    state: OpeningState = Field(description="open, closed, holiday or special (04 §3.7 exits).")
    open: bool = Field(description="True for open and special, false for closed and holiday.")
    decided_by: Decider
    message: str = Field(description="One sentence a supervisor understands.")
    calendar: CalendarOut | None
    local_time: str | None
    period: PeriodOut | None
    overridden: list[PeriodOut]
    notes: list[str] = Field(
        description="Caveats, e.g. a year for which the holidays library has no data."
    )
    next_change: ChangeOut | None = Field(
        description="The next instant the state differs (null: none within about a year)."
    )
    next_open_change: ChangeOut | None = Field(
        description="The next instant the answer flips between open and closed."
    )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _checked(at: datetime | None) -> datetime | None:
    """`at` as a UTC instant, refused unless it names one within the calendars' years."""
    if at is None:
        return None
    if at.tzinfo is None or at.utcoffset() is None:
        raise _bad_at(
            "invalid_format",
            "at must carry a UTC offset or Z, e.g. 2026-12-24T17:30:00Z; a local time "
            "without a zone names no instant.",
        )
    # The next change is looked for up to about a year ahead, still inside MAX_YEAR.
    last = MAX_YEAR - 1
    if not MIN_YEAR <= at.astimezone(UTC).year <= last:
        raise _bad_at("out_of_range", f"at must lie between the years {MIN_YEAR} and {last}.")
    return at.astimezone(UTC)


def _bad_at(code: str, message: str) -> ApiProblem:
    return ApiProblem(422, code, message, errors=[{"code": code, "path": "at", "message": message}])


def _period(occ: Occurrence) -> PeriodOut:
    return PeriodOut(
        id=occ.period.id,
        name=occ.period.name,
        type=occ.period.type,
        rule_kind=occ.period.rule.kind,
        rule=describe_rule(occ.period.rule),
        holiday_name=occ.holiday_name,
        starts=occ.start.isoformat(timespec="minutes"),
        ends=occ.end.isoformat(timespec="minutes"),
    )


def _change(found: Change | None) -> ChangeOut | None:
    if found is None:
        return None
    return ChangeOut(
        at=_iso(found.at),
        local_time=found.local_time.isoformat(timespec="seconds"),
        state=found.state,
        open=found.state.is_open,
        message=found.message,
    )


def _answer(hours: OpeningHours, at: datetime) -> OpeningHoursOut:
    result: Resolution = hours.resolve(at)
    next_change, next_open_change = hours.next_changes(at)
    calendar = result.calendar
    return OpeningHoursOut(
        at=_iso(result.at),
        state=result.state,
        open=result.is_open,
        decided_by=result.decider,
        message=result.message,
        calendar=CalendarOut(
            id=calendar.id, name=calendar.name, role=result.role, time_zone=result.time_zone or ""
        )
        if calendar is not None
        else None,
        local_time=result.local_time.isoformat(timespec="seconds") if result.local_time else None,
        period=_period(result.occurrence) if result.occurrence is not None else None,
        overridden=[_period(o) for o in result.overridden],
        notes=list(result.notes),
        next_change=_change(next_change),
        next_open_change=_change(next_open_change),
    )


async def _respond(hours: OpeningHours, when: datetime) -> OpeningHoursOut:
    """Answer off the tenant's writer: looking a year ahead can take tens of
    milliseconds, and the writer serves every command of the tenant. The
    calendars are safe to read there, because the engine replaces configuration
    objects on every change and never mutates them."""
    return await run_in_threadpool(_answer, hours, when)


@router.get(
    "/services/{service_id}/opening-hours",
    response_model=OpeningHoursOut,
    tags=["Opening hours"],
    name="service_opening_hours",
)
async def service_opening_hours(
    service_id: str,
    at: datetime | None = _AT,
    actor: Actor = Depends(require(Capability.SERVICE_CONFIG, READ)),
) -> OpeningHoursOut:
    """Whether the service is open at `at` by its primary and secondary calendars."""
    checked = _checked(at)

    def work(engine: Engine) -> tuple[OpeningHours, datetime]:
        state = engine.state
        service = state.services.get(service_id)
        missing = ApiProblem(404, "service_not_found", f"No service with id '{service_id}'.")
        if service is None:
            raise missing
        actor.allow(engine, config_target("service", service, state, READ), missing=missing)
        primary = state.calendars.get(service.primary_calendar_id or "")
        secondary = state.calendars.get(service.secondary_calendar_id or "")
        hours = OpeningHours.of_service(
            service.name, primary, secondary, tenant_zone=state.tenant.time_zone
        )
        return hours, checked or _now(engine)

    return await _respond(*await actor.run(work))


@router.get(
    "/calendars/{entity_id}/state",
    response_model=OpeningHoursOut,
    tags=["Opening hours"],
    name="calendar_state",
)
async def calendar_state(
    entity_id: str,
    at: datetime | None = _AT,
    actor: Actor = Depends(require(Capability.CALENDARS_WORKFLOWS, READ)),
) -> OpeningHoursOut:
    """Whether the calendar is open at `at`, on its own (no secondary)."""
    checked = _checked(at)

    def work(engine: Engine) -> tuple[OpeningHours, datetime]:
        state = engine.state
        calendar = state.calendars.get(entity_id)
        missing = ApiProblem(404, "calendar_not_found", f"No calendar with id '{entity_id}'.")
        if calendar is None:
            raise missing
        actor.allow(engine, config_target("calendar", calendar, state, READ), missing=missing)
        hours = OpeningHours.of_calendar(calendar, tenant_zone=state.tenant.time_zone)
        return hours, checked or _now(engine)

    return await _respond(*await actor.run(work))


def _now(engine: Engine) -> datetime:
    return datetime.fromtimestamp(engine.clock.now(), UTC)
