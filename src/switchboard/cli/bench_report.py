"""What the `switchboard bench` commands share in turning runs into figures and output.

A percentile of measured nanoseconds in milliseconds, the way a command hands its
report out (`--plot`, `--json` or tables), the targets line under the tables, and
the two-panel chart of a baseline beside the measured run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console

BASELINE_COLOR = "#7f8c8d"
MEASURED_COLOR = "#3b6ea8"
TARGET_COLOR = "#c0392b"


def ms_percentile(ordered_ns: Sequence[int], q: float) -> float:
    """The `q` quantile (nearest rank, 0 ≤ q ≤ 1) of sorted nanoseconds, in ms; 0 for none."""
    if not ordered_ns:
        return 0.0
    return ordered_ns[min(len(ordered_ns) - 1, int(q * len(ordered_ns)))] / 1e6


def emit(
    args: argparse.Namespace,
    report: dict[str, Any],
    *,
    plot: Callable[[str, dict[str, Any]], None],
    print_report: Callable[[dict[str, Any]], None],
) -> int:
    """Draw the chart if `--plot` asks (its path joins the report), then print the report:
    one JSON object with `--json`, tables otherwise. The command's exit status."""
    if args.plot:
        plot(args.plot, report)
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


def print_verdict(console: Console, report: dict[str, Any]) -> None:
    """The line under a report's tables: every target met, or which were not."""
    missed = [k for k, ok in report["meets"].items() if not ok]
    console.print("all targets met" if not missed else f"below target: {', '.join(missed)}")


def plot_two_runs(
    path: str,
    *,
    names: tuple[str, str],
    rates: tuple[float, float],
    rate_label: str,
    target: float,
    target_label: str,
    quantiles: Sequence[str],
    latencies: tuple[Sequence[float], Sequence[float]],
    latency_label: str,
    title: str,
    rate_title: str | None = None,
) -> None:
    """A PNG of a baseline run beside the measured one: their rates with the target line
    on the left, their latency quantiles side by side on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4), dpi=110)
    left.bar(list(names), list(rates), color=[BASELINE_COLOR, MEASURED_COLOR])
    left.axhline(target, color=TARGET_COLOR, linestyle="--", label=target_label)
    left.set_ylabel(rate_label)
    if rate_title is not None:
        left.set_title(rate_title)
    left.legend()
    width = 0.35
    xs = range(len(quantiles))
    for offset, name, values, color in (
        (-width / 2, names[0], latencies[0], BASELINE_COLOR),
        (width / 2, names[1], latencies[1], MEASURED_COLOR),
    ):
        right.bar([x + offset for x in xs], list(values), width, label=name, color=color)
    right.set_xticks(list(xs), list(quantiles))
    right.set_ylabel(latency_label)
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
