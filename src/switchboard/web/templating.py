"""Jinja2 templates of the UI, their filters, and versioned static URLs.

Templates live in `switchboard/web/templates` and are rendered with autoescaping
and `StrictUndefined`, so a misspelt variable fails a test instead of printing
nothing. Static files are referenced through `static_url`, which appends a hash
of the file's content: browsers may cache them for good, and a new release is
still fetched at once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from switchboard.web.board import events

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("switchboard.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES = Jinja2Templates(env=ENV)


@cache
def static_url(name: str) -> str:
    """`/static/<name>?v=<content hash>`; an unknown name fails at render time."""
    data = resources.files("switchboard.web").joinpath("static", name).read_bytes()
    return f"/static/{name}?v={hashlib.sha256(data).hexdigest()[:12]}"


def duration(seconds: float | None) -> str:
    """A span as a person reads it on a wallboard: 0:07, 12:40, 1:02:03; '–' for none."""
    if seconds is None:
        return "–"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def epoch_ms(at: float | None) -> str:
    """An instant for a `data-` attribute the page's clock script counts from."""
    return "" if at is None else str(round(at * 1000))


def local_time(at: float | None, zone: str = "UTC") -> str:
    """Wall-clock time of day in the tenant's zone (HH:MM:SS)."""
    if at is None:
        return "–"
    return datetime.fromtimestamp(at, UTC).astimezone(ZoneInfo(zone)).strftime("%H:%M:%S")


def percent(value: float | None) -> str:
    """A ratio as a percentage; '–' when it has no denominator (08 K3)."""
    return "–" if value is None else f"{value * 100:.0f} %"


def label(value: str | None) -> str:
    """An enumeration value as words: `busy_in_call` -> 'Busy in call'."""
    if not value:
        return ""
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


ENV.globals["static_url"] = static_url
ENV.globals["events"] = events
ENV.filters.update(
    duration=duration, epoch_ms=epoch_ms, local_time=local_time, percent=percent, label=label
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(
        request, name, context, status_code=status, headers=headers
    )
    # Pages show live, personal state: never from a cache, never kept by a shared one.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
