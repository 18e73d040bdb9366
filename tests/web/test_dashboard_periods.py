"""The dashboards' periods (08 LD3) in a tenant's zone, and the charts' geometry."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from test_contrast import contrast

from switchboard.reporting.kpis import Period
from switchboard.web import charts
from switchboard.web.dashboards import span_of


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Zurich", "2026-03-29", 23),  # clocks go forward
        ("Europe/Zurich", "2026-10-25", 25),  # and back
        ("America/New_York", "2026-03-08", 23),
        ("America/New_York", "2026-11-01", 25),
        ("Asia/Kathmandu", "2026-06-01", 24),  # UTC+5:45
        ("UTC", "2026-06-01", 24),
    ],
)
def test_today_is_the_calendar_day_hour_by_hour(zone: str, day: str, hours: int) -> None:
    noon = datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=ZoneInfo(zone))
    span = span_of("today", noon, zone)
    assert span.period == Period.day(date.fromisoformat(day), zone)
    assert len(span.buckets) == hours
    assert span.buckets[0].start == span.period.start and span.buckets[-1].end == span.period.end
    assert all(b.end - b.start == timedelta(hours=1) for b in span.buckets)
    assert all(b.aligned for b in span.buckets)  # summed from the aggregate tables
    assert span.categories[0].short == "00:00"
    if hours != 24:  # a repeated or skipped hour is named with its zone
        assert any(c.long.endswith(("CET", "CEST", "EST", "EDT")) for c in span.categories)


def test_48_hours_end_at_the_next_full_hour() -> None:
    now = _at("2026-10-25T14:37:00+01:00")  # the day the clocks went back
    span = span_of("48h", now, "Europe/Zurich")
    assert span.period.end == _at("2026-10-25T15:00:00+01:00")
    assert span.period.end - span.period.start == timedelta(hours=48)
    assert len(span.buckets) == 48 and all(b.aligned for b in span.buckets)
    assert [c.short for c in span.categories if c.short][:2] == ["18:00", "Sat 24"]


@pytest.mark.parametrize(("key", "days"), [("7d", 7), ("30d", 30)])
def test_7_and_30_days_are_calendar_days_up_to_today(key: str, days: int) -> None:
    now = _at("2026-11-02T08:00:00+01:00")
    span = span_of(key, now, "Europe/Zurich")
    assert len(span.buckets) == days
    assert span.buckets[-1] == Period.day(date(2026, 11, 2), "Europe/Zurich")
    assert span.buckets[0] == Period.day(
        date(2026, 11, 2) - timedelta(days=days - 1), "Europe/Zurich"
    )
    if key == "30d":  # includes 25 October, 25 hours long
        assert any(b.end - b.start == timedelta(hours=25) for b in span.buckets)
        assert [c.short for c in span.categories if c.short] == [
            "Mon 5",
            "Mon 12",
            "Mon 19",
            "Mon 26",
            "Mon 2",
        ]


def test_other_periods_are_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="period must be one of today, 48h, 7d, 30d"):
        span_of("yesterday", datetime.now(UTC), "UTC")


# ---------------------------------------------------------------------- charts


CATS = [charts.Category(str(i), f"item {i}") for i in range(4)]


def test_stacked_bars_stack_to_the_totals_on_a_round_scale() -> None:
    chart = charts.stacked_bars(
        "c",
        "Tasks",
        CATS,
        [
            charts.Series("handled_by_user", "Handled", [3, 0, 7, 1]),
            charts.Series("hangup_by_customer", "Hung up", [1, 0, 2, 0]),
            charts.Series("error", "Error", [0, 0, 0, 0]),
        ],
        desc="d",
        x_label="x",
        y_label="y",
    )
    assert [t.text for t in chart.y_ticks] == ["0", "3", "6", "9"]
    assert [i.label for i in chart.legend] == ["Handled", "Hung up"]  # none of Error
    assert chart.table.rows[2] == ["item 2", "7", "2", "0", "9"]
    plot_height = chart.plot[3] - chart.plot[1]
    tallest = sum(b.h for b in chart.bars if b.title.startswith("item 2:"))
    assert tallest == pytest.approx(plot_height)  # 9 of 9
    assert len(chart.bars) == 5  # zero segments are not drawn
    assert chart.styles.keys() == {"handled_by_user", "hangup_by_customer"}
    assert chart.styles["hangup_by_customer"].pattern != "solid"  # not told apart by colour alone


def test_a_line_breaks_where_there_is_no_value() -> None:
    chart = charts.line(
        "c",
        "SL",
        CATS,
        [0.5, None, 0.75, 1.0],
        desc="d",
        x_label="x",
        y_label="y",
        value_label="v",
        text=lambda v: "–" if v is None else f"{v:.2f}",
        maximum=1.0,
        refs=[(0.8, "target")],
    )
    (path,) = chart.lines
    assert path.count("M") == 2 and path.count("L") == 1
    assert len(chart.dots) == 3
    assert chart.table.rows[1] == ["item 1", "–"]
    assert chart.refs[0].y == pytest.approx(chart.plot[3] - 0.8 * (chart.plot[3] - chart.plot[1]))


def test_charts_without_data_say_so() -> None:
    empty = charts.line(
        "c",
        "t",
        CATS,
        [None] * 4,
        desc="d",
        x_label="",
        y_label="",
        value_label="v",
        text=str,
        empty_text="Nothing queued.",
    )
    assert empty.empty and empty.empty_text == "Nothing queued." and not empty.lines
    bars = charts.horizontal_bars("h", "t", [charts.Item("error", "Error", 0)], desc="", head=[])
    assert bars.empty


def test_nice_steps() -> None:
    assert [charts.nice_step(v) for v in (0, 1, 9, 40, 130, 1999)] == [1, 0.25, 2.5, 10, 50, 500]


# ---------------------------------------------------------------------- contrast

REPORTS_CSS = resources.files("switchboard.web").joinpath("static", "reports.css").read_text()


def test_chart_series_stand_out_from_the_white_page() -> None:
    """WCAG 1.4.11: graphical objects at 3:1 or more against their background."""
    for key, style in charts.STYLES.items():
        assert contrast(style.colour, "#ffffff") >= 3.0, key


def test_chart_text_and_the_reports_controls_read_well() -> None:
    texts = re.findall(
        r"([^{}]*(?:text|label)[^{}]*)\{[^{}]*?\bfill:\s*(#[0-9a-fA-F]{6})", REPORTS_CSS
    )
    assert len(texts) >= 4
    for selector, colour in texts:
        assert contrast(colour, "#ffffff") >= 4.5, selector
    pairs = re.findall(
        r"([^{}]+)\{[^{}]*background:\s*(#[0-9a-fA-F]{6}|var\(--[a-z0-9-]+\))[^{}]*"
        r"(?<![-a-z])color:\s*(#[0-9a-fA-F]{6}|var\(--[a-z0-9-]+\))",
        REPORTS_CSS,
    )
    assert pairs
    for selector, background, colour in pairs:
        assert contrast(colour, background) >= 4.5, selector.strip()
