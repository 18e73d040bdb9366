"""Reports in the UI (issue 6 §4, spec 08 §9): dashboards per service and per user, the
sessions list and its CSV export.

**Periods** (08 LD3): today, the last 48 hours, the last 7 and the last 30 days,
in the tenant's time zone. Days are calendar days (`Period.day`: 23 or 25 hours
around daylight-saving changes); 48 hours end at the next full hour. Every period
and every chart bucket (an hour, or a day) starts and ends on a quarter hour, so
the figures are sums of the aggregate tables.

**Figures** are `reporting.kpis`: the tiles are the KPIs of the whole period,
the charts `service_series`/`user_series` per hour or day — the same counts and
formulas, so a chart never disagrees with its tile. Charts are SVG drawn on the
server (`web.charts`), each with a description and a table of its values.

**Who sees what** (08 §7, LD2): the service dashboard and the sessions list of
services need the sessions row (tenant and OU admins, owners for their services,
service supervisors for the services of their OUs), scoped by
`Access.report_scope`. The user dashboard shows a person their own figures and
state times (the portal rights of agents), a user supervisor the same for the
users of their OUs (LD2), and anyone who reads sessions a user's work in the
services they read, without state times (PM4: user states belong to user
supervisors). The scope is decided on the tenant's writer and becomes part of
the SQL query of every figure, page and export (10 OU5).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from switchboard.api.permissions import READ, Actor, world
from switchboard.api.problems import ApiProblem
from switchboard.domain.access import Access, Capability
from switchboard.domain.config import User
from switchboard.domain.enums import Modality
from switchboard.engine.engine import Engine
from switchboard.reporting.aggregates import GROUP_COLUMNS, ServiceCounts
from switchboard.reporting.kpis import (
    Period,
    ServiceKpis,
    UserKpis,
    service_series,
    user_series,
    zone_of,
)
from switchboard.reporting.outcomes import Outcome, OutcomeGroup
from switchboard.reporting.session_list import (
    MAX_EXPORT_ROWS,
    Names,
    SessionQuery,
    count_sessions,
    csv_rows,
    iter_sessions,
    list_sessions,
)
from switchboard.web import charts
from switchboard.web.board import STATE_LABELS
from switchboard.web.guard import NavEntry, page, register_nav, viewer
from switchboard.web.templating import ENV, duration, percent, render

router = APIRouter(include_in_schema=False)
audit_log = structlog.get_logger("switchboard.audit")

#: 08 LD3, in the order the period switch offers them.
PERIODS: Final[dict[str, str]] = {
    "today": "Today",
    "48h": "Last 48 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
#: Sessions per page of the list.
PAGE_SIZE: Final = 50
DIRECTIONS: Final[dict[str, str]] = {
    "inbound": "Inbound",
    "outbound": "Outbound",
    "none": "No direction (external tasks)",
    "all": "All directions",
}
MODALITIES: Final[dict[str, str]] = {
    "all": "All channels",
    Modality.AUDIO.value: "Calls",
    Modality.CHAT.value: "Chats",
    Modality.EMAIL.value: "E-mails",
    Modality.EXTERNAL_TASK.value: "External tasks",
}
GROUP_LABELS: Final[dict[OutcomeGroup, str]] = {
    OutcomeGroup.HANDLED_BY_USER: "Handled by an agent",
    OutcomeGroup.HANDLED_BY_SYSTEM: "Handled by the system",
    OutcomeGroup.HANGUP_BY_CUSTOMER: "Customer hung up",
    OutcomeGroup.NOT_HANDLED: "Not handled",
    OutcomeGroup.ERROR: "Error",
    OutcomeGroup.OUTBOUND_ACCEPTED: "Outbound accepted",
    OutcomeGroup.OUTBOUND_NOT_ACCEPTED: "Outbound not accepted",
}
OUTCOME_LABELS: Final[dict[Outcome, str]] = {
    Outcome.CUSTOMER_HANGUP_BEFORE_ACCEPT: "Hung up before accept",
    Outcome.CUSTOMER_HANGUP_IN_IVR: "Hung up in the IVR",
    Outcome.CUSTOMER_HANGUP_IN_IVR_AFTER_QUEUE: "Hung up in the IVR after the queue",
    Outcome.CUSTOMER_HANGUP_IN_QUEUE: "Hung up in the queue",
    Outcome.USER_ACCEPTED: "Answered by an agent",
}


def outcome_label(outcome_id: int) -> str:
    outcome = Outcome(outcome_id)
    return OUTCOME_LABELS.get(outcome) or outcome.code.replace("_", " ").capitalize()


# ---------------------------------------------------------------------- periods


@dataclass(frozen=True, slots=True)
class Span:
    """A dashboard period: the whole of it, its chart buckets, and how to name them."""

    key: str
    period: Period
    buckets: tuple[Period, ...]
    categories: tuple[charts.Category, ...]
    unit: str  # "hour" or "day"
    title: str
    #: The period reaches the present (the page refreshes itself).
    current: bool


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz)


def span_of(key: str, now: datetime, zone: str) -> Span:
    """The period `key` (today, 48h, 7d, 30d) as of `now`, in `zone`. ValueError naming
    the choices for any other key."""
    if key not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}; got {key!r}")
    tz = zone_of(zone)
    today = now.astimezone(tz).date()
    if key in ("today", "48h"):
        if key == "today":
            whole = Period.day(today, zone)
            end = whole.end
        else:
            hour = _local(now, tz).replace(minute=0, second=0, microsecond=0)
            end = hour.astimezone(UTC) + timedelta(hours=1)
            whole = Period(end - timedelta(hours=48), end)
        buckets = []
        start = whole.start
        while start < end:
            buckets.append(Period(start, start + timedelta(hours=1)))
            start += timedelta(hours=1)
        every = 3 if key == "today" else 6
        shifting = _local(whole.start, tz).utcoffset() != _local(whole.end, tz).utcoffset()
        categories = tuple(_hour(b, tz, every, shifting, with_day=key == "48h") for b in buckets)
        first, last = _local(whole.start, tz), _local(whole.end, tz)
        if key == "today":
            title = f"Today, {first:%a} {first.day} {first:%b %Y}"
        else:
            title = (
                f"{first:%a} {first.day} {first:%b}, {first:%H:%M} to "
                f"{last:%a} {last.day} {last:%b}, {last:%H:%M}"
            )
        return Span(key, whole, tuple(buckets), categories, "hour", title, True)
    days = 7 if key == "7d" else 30
    dates = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    buckets = [Period.day(d, zone) for d in dates]
    whole = Period(buckets[0].start, buckets[-1].end)
    categories = tuple(
        charts.Category(
            f"{d:%a} {d.day}" if days == 7 or d.weekday() == 0 else "",
            f"{d:%a} {d.day} {d:%b %Y}",
        )
        for d in dates
    )
    title = f"{dates[0].day} {dates[0]:%b} to {dates[-1].day} {dates[-1]:%b %Y}, today included"
    return Span(key, whole, tuple(buckets), categories, "day", title, True)


def _hour(
    bucket: Period, tz: ZoneInfo, every: int, shifting: bool, *, with_day: bool
) -> charts.Category:
    start, end = _local(bucket.start, tz), _local(bucket.end, tz)
    short = ""
    if start.hour % every == 0 and start.minute == 0:
        short = f"{start:%a} {start.day}" if with_day and start.hour == 0 else f"{start:%H:%M}"
    zone = f" {start:%Z}" if shifting else ""
    return charts.Category(
        short, f"{start:%a} {start.day} {start:%b}, {start:%H:%M}–{end:%H:%M}{zone}"
    )


# ---------------------------------------------------------------------- rights


@dataclass(frozen=True, slots=True)
class UserView:
    """What a person sees of one user's work: the services it is narrowed to (None: all)
    and whether their state times are shown."""

    service_ids: frozenset[str] | None
    states: bool


@dataclass(frozen=True, slots=True)
class Reach:
    """What the person reads in reports (08 §7): decided on the writer, once per request."""

    me: str
    #: Service sessions (08 §7 row 1), and the services they are scoped to (None: all).
    sessions: bool
    services: frozenset[str] | None
    #: The users whose states the person reads as a user supervisor (None: all).
    state_users: frozenset[str] | None
    refusal: str

    @property
    def sees_others(self) -> bool:
        """Whether the person may open someone else's figures (else: only their own)."""
        return self.sessions or self.state_users is None or bool(self.state_users - {self.me})

    def sees_service(self, service_id: str) -> bool:
        return self.sessions and (self.services is None or service_id in self.services)

    def user_view(self, user: User) -> UserView | None:
        if user.id == self.me or self.state_users is None or user.id in self.state_users:
            return UserView(None, True)
        if not self.sessions:
            return None
        if self.services is None:
            return UserView(None, False)
        if set(user.memberships) & self.services:
            return UserView(self.services, False)
        return None


def reach_of(access: Access, engine: Engine) -> Reach:
    places = world(engine.state)
    me = access.user_id or ""
    reports = access.may_read_reports(Capability.REPORTS)
    states = access.may_read_reports(Capability.REPORT_USER_STATES)
    return Reach(
        me=me,
        sessions=reports.allowed,
        services=access.report_scope(Capability.REPORTS, places) if reports.allowed else None,
        state_users=(
            access.report_scope(Capability.REPORT_USER_STATES, places)
            if states.allowed
            else frozenset()
        ),
        refusal=reports.message,
    )


def _shows_reports(engine: Engine, access: Access, request: Request) -> bool:
    user = engine.state.users.get(access.user_id or "")
    if user is None:
        return False
    reach = reach_of(access, engine)
    return reach.sessions or reach.state_users != frozenset() or bool(user.memberships)


register_nav(NavEntry("reports", "Reports", "/reports", _shows_reports, order=25))


def _service_missing(service_id: str) -> ApiProblem:
    return ApiProblem(404, "service_not_found", f"No service with id '{service_id}'.")


def _user_missing(user_id: str) -> ApiProblem:
    return ApiProblem(404, "user_not_found", f"No user with id '{user_id}'.")


def _bad(name: str, message: str) -> ApiProblem:
    return ApiProblem(400, "invalid_query", message, errors=[{"path": name, "message": message}])


# ---------------------------------------------------------------------- query parameters


@dataclass(frozen=True, slots=True)
class Filters:
    """What the person chose, read from the query string and checked."""

    period: str = "today"
    services: tuple[str, ...] = ()
    direction: str = "inbound"
    modality: str = "all"
    # the sessions list's own filters
    list_service: str = ""
    outcome_group: int | None = None
    user: str = ""
    customer: str = ""
    page: int = 1

    @classmethod
    def read(cls, request: Request, *, direction: str = "inbound") -> Filters:
        q = request.query_params
        period = q.get("period") or "today"
        if period not in PERIODS:
            raise _bad("period", f"period must be one of {', '.join(PERIODS)}; got {period!r}.")
        chosen_direction = q.get("direction") or direction
        if chosen_direction not in DIRECTIONS:
            raise _bad(
                "direction",
                f"direction must be one of {', '.join(DIRECTIONS)}; got {chosen_direction!r}.",
            )
        modality = q.get("modality") or "all"
        if modality not in MODALITIES:
            raise _bad(
                "modality", f"modality must be one of {', '.join(MODALITIES)}; got {modality!r}."
            )
        group_text = q.get("outcome_group") or ""
        group: int | None = None
        if group_text:
            if not group_text.isdigit() or int(group_text) not in {g.value for g in OutcomeGroup}:
                raise _bad(
                    "outcome_group",
                    f"outcome_group must be an outcome group id (1-7); got {group_text!r}.",
                )
            group = int(group_text)
        page_text = q.get("page") or "1"
        if not page_text.isdigit() or int(page_text) < 1:
            raise _bad("page", f"page must be a whole number from 1; got {page_text!r}.")
        customer = (q.get("customer") or "").strip()
        if len(customer) > 100:
            raise _bad("customer", "customer must be at most 100 characters.")
        return cls(
            period=period,
            services=tuple(dict.fromkeys(s for s in q.getlist("service") if s)),
            direction=chosen_direction,
            modality=modality,
            list_service=q.get("list_service") or "",
            outcome_group=group,
            user=q.get("user") or "",
            customer=customer,
            page=int(page_text),
        )

    @property
    def direction_value(self) -> str | None:
        return None if self.direction == "all" else self.direction

    @property
    def modality_value(self) -> str | None:
        return None if self.modality == "all" else self.modality

    def query(self, **changes: Any) -> str:
        """The query string of these filters (with `changes`), for links and the export."""
        chosen = replace(self, **changes)
        pairs: list[tuple[str, str]] = [("period", chosen.period)]
        pairs += [("service", s) for s in chosen.services]
        pairs += [("direction", chosen.direction), ("modality", chosen.modality)]
        for name in ("list_service", "user", "customer"):
            if getattr(chosen, name):
                pairs.append((name, getattr(chosen, name)))
        if chosen.outcome_group is not None:
            pairs.append(("outcome_group", str(chosen.outcome_group)))
        if chosen.page != 1:
            pairs.append(("page", str(chosen.page)))
        return urlencode(pairs)


# ---------------------------------------------------------------------- figures


def _groups(counts: ServiceCounts) -> list[tuple[OutcomeGroup, int]]:
    return [(g, int(getattr(counts, GROUP_COLUMNS[g]))) for g in OutcomeGroup]


def seconds_text(value: float | None) -> str:
    """A short average as seconds (`7 s`), a longer one as minutes (`2:05`); '–' for none."""
    if value is None:
        return "–"
    if value < 100:
        return f"{value:.0f} s"
    return duration(value)


ENV.filters["seconds"] = seconds_text
#: The coordinate width of a chart across the whole page (two columns' worth).
WIDE: Final = 1240


def service_figures(
    db: Any,
    tenant_id: str,
    span: Span,
    service_ids: frozenset[str] | None,
    direction: str | None,
    modality: str | None,
    threshold_s: int | None,
) -> dict[str, Any]:
    """The tiles and charts of the service dashboard, from `reporting.kpis`."""
    scope: dict[str, Any] = {
        "service_ids": service_ids,
        "direction": direction,
        "modality": modality,
    }
    (whole,) = service_series(db, tenant_id, [span.period], **scope)
    points = service_series(db, tenant_id, span.buckets, **scope)
    unit = span.unit
    cats = span.categories
    x_label = "Hour (local time)" if unit == "hour" else "Day"
    total = whole.counts.tasks
    volume_series = [
        charts.Series(
            g.code,
            GROUP_LABELS[g],
            [float(dict(_groups(p.counts))[g]) for p in points],
        )
        for g in OutcomeGroup
    ]
    busiest = max(range(len(points)), key=lambda i: points[i].counts.tasks) if points else 0
    volume = charts.stacked_bars(
        "chart-volume",
        f"Tasks per {unit}, by outcome",
        cats,
        volume_series,
        desc=(
            f"{total:,} tasks in the period; the busiest {unit} was {cats[busiest].long} "
            f"with {points[busiest].counts.tasks}."
            if total
            else "No tasks in the period."
        ),
        x_label=x_label,
        y_label="Tasks",
        empty_text="No tasks in the period.",
        width=WIDE,
    )
    sl = whole.kpis.service_level
    gap = f"A gap is {'an hour' if unit == 'hour' else 'a day'} without queued tasks."
    sl_chart = charts.line(
        "chart-sl",
        f"Service level per {unit}",
        cats,
        [p.kpis.service_level for p in points],
        desc=f"Service level over the whole period: {percent(sl)}. {gap}",
        x_label=x_label,
        y_label="Answered in time",
        value_label="Service level",
        text=percent,
        maximum=1.0,
        refs=[(sl, f"Period {percent(sl)}")] if sl is not None else [],
        empty_text="No queued tasks in the period.",
    )
    asa = whole.kpis.asa_s
    refs = [(float(threshold_s), f"Threshold {threshold_s} s")] if threshold_s else []
    asa_chart = charts.line(
        "chart-asa",
        f"Average speed of answer per {unit}",
        cats,
        [p.kpis.asa_s for p in points],
        desc=(
            f"Average speed of answer over the whole period: {seconds_text(asa)}. {gap}"
            + (f" The answer-time threshold is {threshold_s} s." if threshold_s else "")
        ),
        x_label=x_label,
        y_label="Seconds",
        value_label="ASA",
        text=seconds_text,
        refs=refs,
        empty_text="No answered queued tasks in the period.",
    )
    groups = _groups(whole.counts)
    shown = [(g, n) for g, n in groups if n or g.value <= 5]
    outcomes = charts.horizontal_bars(
        "chart-outcomes",
        "Outcomes",
        [charts.Item(g.code, GROUP_LABELS[g], n) for g, n in shown],
        desc=(
            "; ".join(f"{GROUP_LABELS[g]}: {n}" for g, n in shown if n) + "."
            if total
            else "No tasks in the period."
        ),
        head=["Outcome group", "Tasks", "Share"],
        empty_text="No tasks in the period.",
    )
    outcomes.show_desc = False  # every bar is labelled where it stands
    return {
        "kpis": whole.kpis,
        "counts": whole.counts,
        "wide": volume,
        "charts": [sl_chart, asa_chart, outcomes],
        "all": _all_kpis(whole.kpis),
    }


def _all_kpis(k: ServiceKpis) -> list[tuple[str, str, str]]:
    """Every KPI of 08 §5: (name, value, what it means)."""
    return [
        ("Tasks", f"{k.tasks:,}", "Sessions that started in the period."),
        ("Accepted by the system", f"{k.accepted_by_system:,}", "The workflow accepted them."),
        ("Queued", f"{k.queued:,}", "Reached the queue."),
        ("Answered by an agent", f"{k.handled_by_user:,}", "An agent was connected."),
        ("Abandoned in queue", f"{k.queue_hangups:,}", "The customer hung up while queued."),
        ("Reachability", percent(k.reachability), "Queued tasks an agent answered."),
        (
            "Service level",
            percent(k.service_level),
            "Queued tasks answered within the threshold; abandons within it left out.",
        ),
        (
            "Service level, all arrivals",
            percent(k.service_level_all),
            "Queued tasks answered within the threshold, over all queued tasks.",
        ),
        (
            "Acceptance SLA",
            percent(k.acceptance_sla),
            "Answered tasks that were answered within the threshold.",
        ),
        (
            "Hang-up SLA",
            percent(k.hangup_sla),
            "Abandons that came within the hang-up threshold.",
        ),
        ("Queue abandon rate", percent(k.queue_abandon_rate), "Queued tasks abandoned."),
        ("ASA", seconds_text(k.asa_s), "Average wait until an agent answered."),
        ("Queue time", seconds_text(k.queue_time_s), "Average time in the queue."),
        ("Connected time", seconds_text(k.connected_time_s), "Average talk time."),
        ("AHT", seconds_text(k.aht_s), "Average handling time: talk plus after-call work."),
        (
            "Outbound connect rate",
            percent(k.outbound_connect_rate),
            "Outbound tasks that reached the destination.",
        ),
    ]


def user_figures(
    db: Any, tenant_id: str, span: Span, user_id: str, view: UserView
) -> dict[str, Any]:
    """The tiles and charts of the user dashboard, from `reporting.kpis`."""
    scope: dict[str, Any] = {"user_ids": [user_id], "service_ids": view.service_ids}
    (whole,) = user_series(db, tenant_id, [span.period], **scope)
    points = user_series(db, tenant_id, span.buckets, **scope)
    unit = span.unit
    x_label = "Hour (local time)" if unit == "hour" else "Day"
    other = [max(0, p.offered - p.accepted - p.missed) for p in points]
    sessions = charts.stacked_bars(
        "chart-user-sessions",
        f"Offers per {unit}",
        span.categories,
        [
            charts.Series("accepted", "Accepted", [float(p.accepted) for p in points]),
            charts.Series("missed", "Missed", [float(p.missed) for p in points]),
            charts.Series("other", "Other", [float(n) for n in other]),
        ],
        desc=(
            f"{whole.offered} offers in the period: {whole.accepted} accepted, "
            f"{whole.missed} missed (declined, not answered in time, or withdrawn)."
        ),
        x_label=x_label,
        y_label="Offers",
        empty_text="No offers in the period.",
        width=WIDE,
    )
    found: list[charts.Chart] = []
    if view.states:
        found.append(_state_chart(whole))
    return {"kpis": whole, "wide": sessions, "charts": found, "all": _all_user(whole)}


def _all_user(k: UserKpis) -> list[tuple[str, str, str]]:
    """Every figure of 08 §9 LD2 for a user: (name, value, what it means)."""
    return [
        ("Offered", str(k.offered), "Offers and pick-ups of sessions that began in the period."),
        ("Accepted", str(k.accepted), "The user answered."),
        ("Declined", str(k.declined), "The user declined the offer."),
        ("RONA", str(k.rona), "Not answered in time (redirection on no answer)."),
        ("Withdrawn", str(k.cancelled), "Taken by someone else, or the customer left."),
        ("Missed", str(k.missed), "Declined, RONA and withdrawn together."),
        ("Handled", str(k.handled), "Answered, including transfers."),
        ("Transferred", str(k.transferred), "Handed on to another target."),
        ("Ringing", seconds_text(k.mean_ring_s), "Average time an offer rang."),
        ("Talk time", seconds_text(k.mean_connected_s), "Average connected time per answer."),
        ("Hold", seconds_text(k.mean_hold_s), "Average time on hold per answer."),
        ("After-call work", seconds_text(k.mean_acw_s), "Average after-call work per answer."),
    ]


#: Reporting states in the order a state chart lists them (08 §2.1).
STATE_ORDER: Final = (
    "available",
    "ringing",
    "in_task",
    "in_acw",
    "rona",
    "not_available",
    "presence_unavailable",
    "off_duty",
)


def _state_chart(kpis: UserKpis) -> charts.Chart:
    seconds = kpis.state_seconds
    items = [
        charts.Item(f"state_{s}", STATE_LABELS[s], seconds.get(s, 0.0))
        for s in STATE_ORDER
        if seconds.get(s)
    ]
    signed_in = sum(i.value for i in items)
    chart = charts.horizontal_bars(
        "chart-user-states",
        "Time by state (signed in)",
        items,
        desc=(
            f"Signed in for {duration(signed_in)} in the period; "
            + "; ".join(f"{i.label}: {duration(i.value)}" for i in items)
            + "."
            if items
            else "No state time recorded in the period."
        ),
        head=["State", "Time", "Share"],
        text=duration,
        empty_text="No state time recorded in the period.",
    )
    chart.show_desc = False  # every bar is labelled where it stands
    return chart


# ---------------------------------------------------------------------- the sessions list


@dataclass(slots=True)
class ListScope:
    """Where a sessions list reads (decided on the writer) and the names it shows."""

    base: str  # the list's own path, for paging links
    csv: str  # the export's path
    query: SessionQuery
    names: Names
    codes: dict[str, str]
    service_options: list[tuple[str, str]]
    user_options: list[tuple[str, str]]
    fixed_user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _rows(rows: Sequence[dict[str, Any]], scope: ListScope, zone: str) -> list[dict[str, Any]]:
    tz = ZoneInfo(zone)
    shown = []
    for row in rows:
        started = row["started_at"].astimezone(tz)
        wait_ms = row["answer_wait_ms"] if row["answer_wait_ms"] is not None else row["queue_ms"]
        group = OutcomeGroup(row["outcome_group_id"])
        shown.append(
            {
                "id": row["id"],
                "started": f"{started:%a} {started.day} {started:%b}, {started:%H:%M:%S}",
                "started_iso": row["started_at"].isoformat(),
                "service": scope.names.services.get(row["service_id"], row["service_id"]),
                "customer": row["customer_identifier"] or row["caller_id"] or "",
                "channel": MODALITIES.get(row["modality"], row["modality"]),
                "direction": row["direction"],
                "outcome": outcome_label(row["outcome_id"]),
                "group": group.code,
                "group_label": GROUP_LABELS[group],
                "wait_s": None if wait_ms is None else wait_ms / 1000,
                "talk_s": row["connected_ms"] / 1000 if row["connected_ms"] else None,
                "acw_s": row["acw_ms"] / 1000 if row["acw_ms"] else None,
                "agent": (
                    scope.names.users.get(row["last_user_id"], row["last_user_id"])
                    if row["last_user_id"]
                    else ""
                ),
                "code": scope.codes.get(row["primary_code"] or "", row["primary_code"] or ""),
            }
        )
    return shown


def _read_list(db: Any, tenant_id: str, scope: ListScope, page_no: int) -> dict[str, Any]:
    total = count_sessions(db, tenant_id, scope.query)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_no = min(page_no, pages)
    rows = list_sessions(
        db, tenant_id, scope.query, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return {"total": total, "page": page_no, "pages": pages, "rows": rows}


def _narrow(query: SessionQuery, filters: Filters, scope: ListScope) -> SessionQuery:
    """The list's own filters on top of the dashboard's scope (only narrowing it)."""
    service_ids = query.service_ids
    if filters.list_service:
        allowed = {sid for sid, _name in scope.service_options}
        if filters.list_service not in allowed:
            raise _service_missing(filters.list_service)
        service_ids = frozenset({filters.list_service})
    user_id = query.user_id
    if filters.user and scope.fixed_user is None:
        if filters.user not in {uid for uid, _name in scope.user_options}:
            raise _user_missing(filters.user)
        user_id = filters.user
    return replace(
        query,
        service_ids=service_ids,
        user_id=user_id,
        outcome_group=filters.outcome_group,
        direction=filters.direction_value,
        modality=filters.modality_value,
        customer=filters.customer or None,
    )


def _names(engine: Engine) -> tuple[Names, dict[str, str]]:
    st = engine.state
    names = Names(
        services={sid: s.name for sid, s in st.services.items()},
        users={uid: u.display_name for uid, u in st.users.items()},
    )
    codes = {cid: f"{c.name} ({c.short_code})" for cid, c in st.codes.items()}
    return names, codes


def _filename(span: Span, zone: str, what: str) -> str:
    tz = ZoneInfo(zone)
    first = span.period.start.astimezone(tz)
    last = (span.period.end - timedelta(microseconds=1)).astimezone(tz)
    if span.unit == "hour" and span.key == "48h":
        dates = f"{first:%Y-%m-%dT%H%M}_to_{span.period.end.astimezone(tz):%Y-%m-%dT%H%M}"
    elif first.date() == last.date():
        dates = f"{first:%Y-%m-%d}"
    else:
        dates = f"{first:%Y-%m-%d}_to_{last:%Y-%m-%d}"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", what)
    return f"sessions-{safe}-{span.key}-{dates}.csv"


def _export(
    request: Request,
    actor: Actor,
    scope: ListScope,
    span: Span,
    zone: str,
    what: str,
    filters: Filters,
) -> Response:
    tenancy = request.app.state.tenancy
    tenant_id = actor.principal.tenant_id
    query = scope.query
    bom = request.query_params.get("bom") == "true"

    def body() -> Iterator[str]:
        written = 0

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal written
            for row in iter_sessions(tenancy.db, tenant_id, query):
                written += 1
                yield row

        yield from csv_rows(counted(), scope.names, bom=bom)
        audit_log.info(
            "report_exported",
            principal=actor.principal.id,
            tenant_id=tenant_id,
            export="service_sessions",
            filter=filters.query(page=1),
            rows=written,
        )

    name = _filename(span, zone, what)
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8; header=present",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


async def _export_checked(
    request: Request,
    actor: Actor,
    scope: ListScope,
    span: Span,
    zone: str,
    what: str,
    filters: Filters,
) -> Response:
    tenancy = request.app.state.tenancy
    total = await asyncio.to_thread(
        count_sessions, tenancy.db, actor.principal.tenant_id, scope.query
    )
    if total > MAX_EXPORT_ROWS:
        raise ApiProblem(
            400,
            "limit_exceeded",
            f"An export holds at most {MAX_EXPORT_ROWS:,} sessions; these filters match "
            f"{total:,}. Choose a shorter period or fewer services.",
        )
    return _export(request, actor, scope, span, zone, what, filters)


# ---------------------------------------------------------------------- service pages


@dataclass(slots=True)
class ServiceChoice:
    reach: Reach
    span: Span
    zone: str
    options: list[tuple[str, str]]
    chosen: frozenset[str] | None  # None: every service (a tenant-wide reader)
    threshold_s: int | None
    frame: dict[str, Any] | None
    list_scope: ListScope


def _service_choice(
    actor: Actor, engine: Engine, filters: Filters, base: str, csv: str
) -> ServiceChoice:
    access = actor.access(engine)
    reach = reach_of(access, engine)
    if not reach.sessions:
        raise ApiProblem(403, "missing_permission", reach.refusal)
    st = engine.state
    options = sorted(
        ((sid, s.name) for sid, s in st.services.items() if reach.sees_service(sid)),
        key=lambda o: o[1].casefold(),
    )
    for sid in filters.services:
        if not reach.sees_service(sid) or sid not in st.services:
            raise _service_missing(sid)
    # None: the whole tenant, removed services included.
    chosen = frozenset(filters.services) if filters.services else reach.services
    in_view = chosen if chosen is not None else frozenset(st.services)
    thresholds = {
        st.services[sid].reporting.sla_acceptance_s for sid in in_view if sid in st.services
    }
    zone = st.tenant.time_zone
    span = span_of(filters.period, datetime.fromtimestamp(engine.clock.now(), UTC), zone)
    names, codes = _names(engine)
    users = sorted(
        (
            (u.id, u.display_name)
            for u in st.users.values()
            if u.memberships and reach.user_view(u) is not None
        ),
        key=lambda o: o[1].casefold(),
    )
    list_options = [o for o in options if chosen is None or o[0] in chosen]
    scope = ListScope(
        base=base,
        csv=csv,
        query=SessionQuery(period=span.period, service_ids=chosen),
        names=names,
        codes=codes,
        service_options=list_options,
        user_options=users,
    )
    scope.query = _narrow(scope.query, filters, scope)
    return ServiceChoice(
        reach,
        span,
        zone,
        options,
        chosen,
        thresholds.pop() if len(thresholds) == 1 else None,
        None,
        scope,
    )


@router.get("/reports")
async def reports_home(
    request: Request, actor: Actor = Depends(page(Capability.USERS, READ))
) -> Response:
    """Where *Reports* leads: the service dashboard for those who read sessions, else the
    person's own figures."""

    def read(engine: Engine) -> bool:
        return reach_of(actor.access(engine), engine).sessions

    target = "/reports/services" if await actor.run(read) else "/reports/users"
    return RedirectResponse(target, status_code=303)


@router.get("/reports/services")
async def service_dashboard(
    request: Request, actor: Actor = Depends(page(Capability.REPORTS, READ))
) -> Response:
    """The per-service dashboard: KPIs, charts and the sessions list (08 §9 LD1, LD6)."""
    filters = Filters.read(request)

    def read(engine: Engine) -> ServiceChoice:
        choice = _service_choice(
            actor, engine, filters, "/ui/reports/sessions", "/reports/sessions.csv"
        )
        choice.frame = viewer(engine, actor, request, active="reports")
        return choice

    choice = await actor.run(read)
    tenancy = request.app.state.tenancy
    tenant_id = actor.principal.tenant_id
    figures = await asyncio.to_thread(
        service_figures,
        tenancy.db,
        tenant_id,
        choice.span,
        choice.chosen,
        filters.direction_value,
        filters.modality_value,
        choice.threshold_s,
    )
    listed = await _list_unless_figures_only(request, tenant_id, choice.list_scope, filters)
    context = {
        "viewer": choice.frame,
        "tab": "services",
        "reach": choice.reach,
        "filters": filters,
        "span": choice.span,
        "periods": PERIODS,
        "directions": DIRECTIONS,
        "modalities": MODALITIES,
        "groups": GROUP_LABELS,
        "options": choice.options,
        "chosen": choice.chosen,
        "threshold_s": choice.threshold_s,
        "figures": figures,
        "self_url": "/reports/services?" + filters.query(page=1) + "&part=figures",
        **_list_context(choice.list_scope, listed, filters, choice.zone),
    }
    return render(request, "dashboards/services.html", context)


async def _list_unless_figures_only(
    request: Request, tenant_id: str, scope: ListScope, filters: Filters
) -> dict[str, Any]:
    """The list's page, unless the page only refreshes its figures (`part=figures`, the
    periodic refresh, which keeps nothing of the rest)."""
    if request.query_params.get("part") == "figures":
        return {"total": 0, "page": 1, "pages": 1, "rows": []}
    return await asyncio.to_thread(
        _read_list, request.app.state.tenancy.db, tenant_id, scope, filters.page
    )


def _list_context(
    scope: ListScope, listed: dict[str, Any], filters: Filters, zone: str
) -> dict[str, Any]:
    return {
        "list": {
            "base": scope.base,
            "csv": scope.csv,
            "total": listed["total"],
            "page": listed["page"],
            "pages": listed["pages"],
            "first": (listed["page"] - 1) * PAGE_SIZE + 1,
            "last": (listed["page"] - 1) * PAGE_SIZE + len(listed["rows"]),
            "rows": _rows(listed["rows"], scope, zone),
            "query": filters.query(page=listed["page"]),
            "export_query": filters.query(page=1),
            "older": filters.query(page=listed["page"] + 1),
            "newer": filters.query(page=listed["page"] - 1),
            "service_options": scope.service_options,
            "user_options": scope.user_options,
            "fixed_user": scope.fixed_user,
            "max_rows": MAX_EXPORT_ROWS,
        },
        "time_zone": zone,
    }


@router.get("/ui/reports/sessions")
async def sessions_fragment(
    request: Request, actor: Actor = Depends(page(Capability.REPORTS, READ))
) -> Response:
    """One page of the service sessions list (the filters and paging of the dashboard)."""
    filters = Filters.read(request)

    def read(engine: Engine) -> ServiceChoice:
        return _service_choice(
            actor, engine, filters, "/ui/reports/sessions", "/reports/sessions.csv"
        )

    choice = await actor.run(read)
    listed = await asyncio.to_thread(
        _read_list,
        request.app.state.tenancy.db,
        actor.principal.tenant_id,
        choice.list_scope,
        filters.page,
    )
    return render(
        request,
        "dashboards/_sessions.html",
        _list_context(choice.list_scope, listed, filters, choice.zone),
    )


@router.get("/reports/sessions.csv")
async def sessions_export(
    request: Request, actor: Actor = Depends(page(Capability.REPORTS, READ))
) -> Response:
    """The service sessions list as CSV: exactly the filtered rows, every page (08 §10)."""
    filters = Filters.read(request)

    def read(engine: Engine) -> ServiceChoice:
        return _service_choice(
            actor, engine, filters, "/ui/reports/sessions", "/reports/sessions.csv"
        )

    choice = await actor.run(read)
    return await _export_checked(
        request, actor, choice.list_scope, choice.span, choice.zone, "services", filters
    )


# ---------------------------------------------------------------------- user pages


@dataclass(slots=True)
class UserChoice:
    reach: Reach
    span: Span
    zone: str
    user: User | None
    view: UserView | None
    options: list[tuple[str, str]]
    frame: dict[str, Any] | None
    list_scope: ListScope | None


def _user_choice(actor: Actor, engine: Engine, filters: Filters, user_id: str | None) -> UserChoice:
    access = actor.access(engine)
    reach = reach_of(access, engine)
    st = engine.state
    options = sorted(
        (
            (u.id, u.display_name)
            for u in st.users.values()
            if (u.memberships or u.id == reach.me) and reach.user_view(u) is not None
        ),
        key=lambda o: (o[0] != reach.me, o[1].casefold()),
    )
    if user_id is None:
        me = st.users.get(reach.me)
        if me is not None and me.memberships:
            user_id = reach.me
        elif options:
            user_id = next((uid for uid, _ in options if st.users[uid].memberships), reach.me)
        else:
            user_id = reach.me
    user = st.users.get(user_id)
    view = reach.user_view(user) if user is not None else None
    if user is None or view is None:
        raise _user_missing(user_id)
    zone = st.tenant.time_zone
    span = span_of(filters.period, datetime.fromtimestamp(engine.clock.now(), UTC), zone)
    names, codes = _names(engine)
    services = set(user.memberships)
    if view.service_ids is not None:
        services &= view.service_ids
    service_options = sorted(
        ((sid, st.services[sid].name) for sid in services if sid in st.services),
        key=lambda o: o[1].casefold(),
    )
    scope = ListScope(
        base=f"/ui/reports/users/{user.id}/sessions",
        csv=f"/reports/users/{user.id}/sessions.csv",
        query=SessionQuery(
            period=span.period,
            service_ids=view.service_ids,
            user_id=user.id,
            user_service_ids=view.service_ids,
        ),
        names=names,
        codes=codes,
        service_options=service_options,
        user_options=[],
        fixed_user=user.id,
    )
    if filters.list_service and filters.list_service not in {s for s, _ in service_options}:
        # A service of the user's past, not one of their memberships now: allowed when
        # the reader may see it, since the list only narrows what they read anyway.
        sid = filters.list_service
        if sid in st.services and (view.service_ids is None or sid in view.service_ids):
            scope.service_options.append((sid, st.services[sid].name))
    scope.query = _narrow(scope.query, filters, scope)
    return UserChoice(reach, span, zone, user, view, options, None, scope)


@router.get("/reports/users")
async def user_dashboard_default(
    request: Request, actor: Actor = Depends(page(Capability.USERS, READ))
) -> Response:
    """The user dashboard of the person themselves (or the first user they may see)."""
    return await _user_dashboard(request, actor, request.query_params.get("user") or None)


@router.get("/reports/users/{user_id}")
async def user_dashboard(
    user_id: str, request: Request, actor: Actor = Depends(page(Capability.USERS, READ))
) -> Response:
    """The per-user dashboard (08 §9 LD2): offers, answers, misses, times, state time."""
    return await _user_dashboard(request, actor, user_id)


async def _user_dashboard(request: Request, actor: Actor, user_id: str | None) -> Response:
    filters = Filters.read(request, direction="all")

    def read(engine: Engine) -> UserChoice:
        choice = _user_choice(actor, engine, filters, user_id)
        choice.frame = viewer(engine, actor, request, active="reports")
        return choice

    choice = await actor.run(read)
    assert choice.user is not None and choice.view is not None and choice.list_scope
    tenancy = request.app.state.tenancy
    tenant_id = actor.principal.tenant_id
    figures = await asyncio.to_thread(
        user_figures, tenancy.db, tenant_id, choice.span, choice.user.id, choice.view
    )
    listed = await _list_unless_figures_only(request, tenant_id, choice.list_scope, filters)
    context = {
        "viewer": choice.frame,
        "tab": "users",
        "reach": choice.reach,
        "filters": filters,
        "span": choice.span,
        "periods": PERIODS,
        "directions": DIRECTIONS,
        "modalities": MODALITIES,
        "groups": GROUP_LABELS,
        "options": choice.options,
        "person": choice.user,
        "view": choice.view,
        "figures": figures,
        "self_url": f"/reports/users/{choice.user.id}?" + filters.query(page=1) + "&part=figures",
        **_list_context(choice.list_scope, listed, filters, choice.zone),
    }
    return render(request, "dashboards/users.html", context)


@router.get("/ui/reports/users/{user_id}/sessions")
async def user_sessions_fragment(
    user_id: str, request: Request, actor: Actor = Depends(page(Capability.USERS, READ))
) -> Response:
    """One page of a user's sessions list."""
    filters = Filters.read(request, direction="all")

    def read(engine: Engine) -> UserChoice:
        return _user_choice(actor, engine, filters, user_id)

    choice = await actor.run(read)
    assert choice.list_scope is not None
    listed = await asyncio.to_thread(
        _read_list,
        request.app.state.tenancy.db,
        actor.principal.tenant_id,
        choice.list_scope,
        filters.page,
    )
    return render(
        request,
        "dashboards/_sessions.html",
        _list_context(choice.list_scope, listed, filters, choice.zone),
    )


@router.get("/reports/users/{user_id}/sessions.csv")
async def user_sessions_export(
    user_id: str, request: Request, actor: Actor = Depends(page(Capability.USERS, READ))
) -> Response:
    """A user's sessions list as CSV (the same rows as the list, every page)."""
    filters = Filters.read(request, direction="all")

    def read(engine: Engine) -> UserChoice:
        return _user_choice(actor, engine, filters, user_id)

    choice = await actor.run(read)
    assert choice.list_scope is not None
    return await _export_checked(
        request, actor, choice.list_scope, choice.span, choice.zone, f"user-{user_id}", filters
    )


__all__ = ["PERIODS", "Reach", "Span", "reach_of", "router", "span_of"]
