"""Charts for the dashboards, drawn on the server as inline SVG (08 §9 LD4).

This module computes the geometry — scales, ticks, bars, lines, reference
lines — and the text alternatives: a title, a one-sentence description, and a
table of every value. `templates/dashboards/_charts.html` draws a `Chart` as
SVG with the table beside it. No JavaScript and no chart library: the page
works offline, prints, and reads aloud the same as it looks.

Series are told apart by colour *and* by fill pattern (solid, hatched, dotted,
…), and legends show both, so no distinction rests on colour alone. Colours
are dark enough for 3:1 against white (WCAG 1.4.11, graphical objects).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

#: The SVG's coordinate system (it scales to the width of its box).
WIDTH: Final = 640
HEIGHT: Final = 250
LEFT: Final = 58
RIGHT: Final = 14
TOP: Final = 14
BOTTOM: Final = 46


@dataclass(frozen=True, slots=True)
class Style:
    """How a series is painted: a colour and a pattern (`solid`, `hatch`, `dots`, `cross`,
    `hlines`, `vlines`), so that the series differ in more than colour."""

    colour: str
    pattern: str = "solid"


#: Series styles by key. Colours at least 3:1 against white.
STYLES: Final[dict[str, Style]] = {
    "handled_by_user": Style("#0a4fa6"),
    "handled_by_system": Style("#0f6f7c", "dots"),
    "hangup_by_customer": Style("#a4232f", "hatch"),
    "not_handled": Style("#8a5a00", "cross"),
    "error": Style("#5b2a91", "hlines"),
    "outbound_accepted": Style("#116b3a", "vlines"),
    "outbound_not_accepted": Style("#4a5666", "dots"),
    "accepted": Style("#0a4fa6"),
    "missed": Style("#a4232f", "hatch"),
    "other": Style("#4a5666", "dots"),
    # reporting states (08 §2.1), after the state badges of app.css
    "state_available": Style("#116b3a"),
    "state_ringing": Style("#8a5a00", "dots"),
    "state_in_task": Style("#0a4fa6", "hatch"),
    "state_in_acw": Style("#5b2a91", "hlines"),
    "state_rona": Style("#a4232f", "cross"),
    "state_not_available": Style("#7a3a06", "vlines"),
    "state_presence_unavailable": Style("#4a5666", "hatch"),
    "state_off_duty": Style("#4a5666", "dots"),
}


@dataclass(frozen=True, slots=True)
class Category:
    """A point of the x axis: its tick text (empty: no tick label), and its full name."""

    short: str
    long: str


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    style: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    anchor: Literal["start", "middle", "end"] = "start"
    strong: bool = False


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True, slots=True)
class Ref:
    """A dashed horizontal reference line (a target, or the whole period's value)."""

    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    head: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True, slots=True)
class LegendItem:
    style: str
    label: str


@dataclass(slots=True)
class Chart:
    id: str
    title: str
    desc: str
    table: Table
    height: float = HEIGHT
    width: float = WIDTH
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    x_label: str = ""
    y_label: str = ""
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # SVG path data
    dots: list[Dot] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    #: Nothing to draw: the template shows `empty_text` instead of empty axes.
    empty: bool = False
    empty_text: str = "Nothing in the period."
    #: Whether the description is also shown under the chart (not when the chart's own
    #: labels already say it all).
    show_desc: bool = True

    @property
    def styles(self) -> dict[str, Style]:
        """The styles this chart uses (its SVG defines their patterns)."""
        used = {b.style for b in self.bars} | {item.style for item in self.legend}
        return {key: STYLES[key] for key in sorted(used)}


# ---------------------------------------------------------------------- scales


def nice_step(span: float, intervals: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that covers `span` in about
    `intervals` steps."""
    if span <= 0:
        return 1.0
    raw = span / intervals
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power


def _scale_max(values: Sequence[float], *, integer: bool) -> tuple[float, float]:
    """(axis maximum, tick step) for values from zero up."""
    top = max(values, default=0.0)
    step = nice_step(top)
    if integer:
        step = max(1.0, math.ceil(step))
    maximum = max(step, math.ceil(top / step - 1e-9) * step)
    return maximum, step


def _y(value: float, maximum: float, plot: tuple[float, float, float, float]) -> float:
    _x0, top, _x1, bottom = plot
    return bottom - (value / maximum) * (bottom - top) if maximum > 0 else bottom


def _y_ticks(
    maximum: float,
    step: float,
    plot: tuple[float, float, float, float],
    text: Callable[[float], str],
) -> list[Tick]:
    ticks = []
    value = 0.0
    while value <= maximum + 1e-9:
        ticks.append(Tick(_y(value, maximum, plot), text(value)))
        value += step
    return ticks


def _bands(
    count: int, plot: tuple[float, float, float, float]
) -> tuple[float, Callable[[int], float]]:
    """(band width, centre of band i) for `count` categories across the plot."""
    x0, _top, x1, _bottom = plot
    band = (x1 - x0) / max(count, 1)
    return band, lambda i: x0 + band * (i + 0.5)


def _x_ticks(categories: Sequence[Category], centre: Callable[[int], float]) -> list[Tick]:
    return [Tick(centre(i), c.short) for i, c in enumerate(categories) if c.short]


def _count(value: float) -> str:
    return f"{value:,.0f}"


# ---------------------------------------------------------------------- charts


@dataclass(frozen=True, slots=True)
class Series:
    key: str  # a key of STYLES
    label: str
    values: Sequence[float]


def stacked_bars(
    chart_id: str,
    title: str,
    categories: Sequence[Category],
    series: Sequence[Series],
    *,
    desc: str,
    x_label: str,
    y_label: str,
    total_label: str = "Total",
    empty_text: str = "Nothing in the period.",
    width: float = WIDTH,
) -> Chart:
    """Counts per category, stacked by series (bottom first); series that are zero
    everywhere are left out of bars and legend (the table keeps every column). A wider
    `width` gives the bars more room at the same text size (a chart across the page)."""
    shown = [s for s in series if any(v > 0 for v in s.values)]
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    table = Table(
        title,
        [x_label, *(s.label for s in series), total_label],
        [
            [c.long, *(_count(s.values[i]) for s in series), _count(totals[i])]
            for i, c in enumerate(categories)
        ],
    )
    chart = Chart(
        chart_id,
        title,
        desc,
        table,
        width=width,
        plot=(LEFT, TOP, width - RIGHT, HEIGHT - BOTTOM),
        x_label=x_label,
        y_label=y_label,
        empty_text=empty_text,
    )
    if not any(totals):
        chart.empty = True
        return chart
    maximum, step = _scale_max(totals, integer=True)
    plot = chart.plot
    band, centre = _bands(len(categories), plot)
    width = min(band * 0.72, 48.0)
    chart.y_ticks = _y_ticks(maximum, step, plot, _count)
    chart.x_ticks = _x_ticks(categories, centre)
    for i, category in enumerate(categories):
        base = 0.0
        for s in shown:
            value = s.values[i]
            if value <= 0:
                continue
            top = _y(base + value, maximum, plot)
            bottom = _y(base, maximum, plot)
            chart.bars.append(
                Bar(
                    centre(i) - width / 2,
                    top,
                    width,
                    bottom - top,
                    s.key,
                    f"{category.long}: {_count(value)} {s.label.lower()}",
                )
            )
            base += value
    chart.legend = [LegendItem(s.key, s.label) for s in shown]
    return chart


def line(
    chart_id: str,
    title: str,
    categories: Sequence[Category],
    values: Sequence[float | None],
    *,
    desc: str,
    x_label: str,
    y_label: str,
    value_label: str,
    text: Callable[[float | None], str],
    maximum: float | None = None,
    refs: Sequence[tuple[float, str]] = (),
    empty_text: str = "Nothing in the period.",
) -> Chart:
    """One value per category joined by a line, broken where a value is None (no
    denominator, 08 K3); each point is marked. `maximum` fixes the axis (1.0 for
    rates); `refs` are dashed lines with their text (a target, the period's value)."""
    table = Table(
        title,
        [x_label, value_label],
        [[c.long, text(v)] for c, v in zip(categories, values, strict=True)],
    )
    chart = Chart(
        chart_id, title, desc, table, x_label=x_label, y_label=y_label, empty_text=empty_text
    )
    present = [v for v in values if v is not None]
    if not present:
        chart.empty = True
        return chart
    if maximum is None:
        top = max([*present, *(r for r, _ in refs)])
        maximum, step = _scale_max([top * 1.1], integer=False)
    else:
        step = maximum / 4
    plot = chart.plot
    _band, centre = _bands(len(categories), plot)
    chart.y_ticks = _y_ticks(maximum, step, plot, text)
    chart.x_ticks = _x_ticks(categories, centre)
    path: list[str] = []
    pen_down = False
    for i, (category, value) in enumerate(zip(categories, values, strict=True)):
        if value is None:
            pen_down = False
            continue
        x, y = centre(i), _y(min(value, maximum), maximum, plot)
        path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
        chart.dots.append(Dot(x, y, f"{category.long}: {text(value)}"))
    chart.lines = [" ".join(path)]
    chart.refs = [Ref(_y(min(r, maximum), maximum, plot), t) for r, t in refs]
    return chart


@dataclass(frozen=True, slots=True)
class Item:
    key: str  # a key of STYLES
    label: str
    value: float


def horizontal_bars(
    chart_id: str,
    title: str,
    items: Sequence[Item],
    *,
    desc: str,
    head: Sequence[str],
    text: Callable[[float], str] = _count,
    empty_text: str = "Nothing in the period.",
) -> Chart:
    """One labelled bar per item, its value (`text`) and share written beside it (no
    legend needed: every bar is named where it stands)."""
    total = sum(item.value for item in items)

    def share(value: float) -> str:
        return f"{value / total * 100:.0f} %" if total else "–"

    table = Table(
        title, head, [[item.label, text(item.value), share(item.value)] for item in items]
    )
    row, label_w, value_w = 30.0, 180.0, 150.0
    height = TOP + row * len(items) + 8
    x0, x1 = label_w, WIDTH - value_w
    chart = Chart(
        chart_id,
        title,
        desc,
        table,
        height=height,
        plot=(x0, TOP, x1, height - 8),
        empty_text=empty_text,
    )
    if not total:
        chart.empty = True
        return chart
    top = max(item.value for item in items)
    for i, item in enumerate(items):
        y = TOP + i * row
        w = (x1 - x0) * item.value / top if top else 0
        middle = y + row / 2
        chart.labels.append(Label(x0 - 10, middle + 4, item.label, "end"))
        if item.value > 0:
            chart.bars.append(
                Bar(x0, y + 5, max(w, 2.0), row - 10, item.key, f"{item.label}: {text(item.value)}")
            )
        chart.labels.append(
            Label(x0 + w + 8, middle + 4, f"{text(item.value)} ({share(item.value)})", strong=True)
        )
    return chart
