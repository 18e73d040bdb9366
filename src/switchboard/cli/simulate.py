"""`switchboard simulate`: virtual-time traffic through the real engine, with KPIs.

Without `--acw` and `--ring-time` the run is the pure Erlang setting (always
available agents, instant accept, no RONA, no ACW), and the output puts the
Erlang C (or, with `--patience`, Erlang A) prediction beside each figure.

With `--voice` the same callers are phone calls through the voice simulator and
a published "Queue IVR Voicemail" workflow: they dial, hear the welcome, queue,
agents' phones ring and are answered, and callers out of patience hang up. The
KPIs measure the same queue (waits start at the queue); the time in the IVR
before it is reported beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from switchboard.channels.voice.traffic import WORKFLOW_TEMPLATE, VoiceRunResult, VoiceTraffic
from switchboard.cli.progress import progress_bar, stderr
from switchboard.engine.erlang import erlang_a, erlang_c, offered_load
from switchboard.engine.scenarios import erlang_scenario
from switchboard.engine.simulation import RunResult, Simulator, Summary, TrafficParams

KPI_KEYS = (
    "service_level",
    "service_level_all",
    "asa_seconds",
    "mean_wait_seconds",
    "p_wait",
    "abandon_rate",
    "occupancy",
)
DEMO = {
    "agents": 20,
    "arrivals_per_hour": 320.0,
    "aht": 210.0,
    "calls": 20_000,
    "patience": 180.0,
}


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "simulate",
        help="run simulated calls through the routing engine and print KPIs",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--arrivals-per-hour", type=float, default=200.0, help="mean arrival rate")
    p.add_argument("--aht", type=float, default=180.0, help="mean handle time, seconds")
    p.add_argument("--agents", type=int, default=14, help="always-available agents")
    p.add_argument("--calls", type=int, default=20_000, help="calls per replication")
    p.add_argument("--seed", type=int, default=1, help="seed of the first replication")
    p.add_argument("--sl-threshold", type=float, default=20.0, help="service-level threshold, s")
    p.add_argument(
        "--patience", type=float, default=None, help="mean patience, s (absent: none abandon)"
    )
    p.add_argument("--replications", type=int, default=1, help="independent runs to average")
    p.add_argument("--warmup", type=int, default=None, help="calls left out of KPIs (default 5%%)")
    p.add_argument(
        "--handle-distribution", choices=("exponential", "lognormal"), default="exponential"
    )
    p.add_argument("--handle-cv", type=float, default=1.0, help="lognormal coefficient of var.")
    p.add_argument("--acw", type=int, default=None, help="after-call work per call, seconds")
    p.add_argument("--ring-time", type=float, default=0.0, help="seconds agents take to answer")
    p.add_argument(
        "--voice",
        action="store_true",
        help="send the calls through the voice simulator and a queue workflow (slower)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="FILE.png", help="write a plot of the wait distribution")
    p.add_argument("--demo", action="store_true", help="a ready-made demo (make run)")
    p.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class Job:
    params: TrafficParams
    agents: int
    acw: int | None
    voice: bool = False


def _run_one(job: Job, progress: Callable[[int], None] | None = None) -> RunResult | VoiceRunResult:
    scenario = erlang_scenario(job.agents, acw_s=job.acw)
    if job.voice:
        return VoiceTraffic(scenario, job.params, progress=progress).run()
    return Simulator(scenario, job.params, progress=progress).run()


def _params(args: argparse.Namespace, seed: int) -> TrafficParams:
    warmup = args.warmup if args.warmup is not None else args.calls // 20
    return TrafficParams(
        arrivals_per_hour=args.arrivals_per_hour,
        aht_s=args.aht,
        calls=args.calls,
        seed=seed,
        sl_threshold_s=args.sl_threshold,
        patience_s=args.patience,
        handle_distribution=args.handle_distribution,
        handle_cv=args.handle_cv,
        ring_s=args.ring_time,
        warmup_calls=warmup,
    )


def theory(args: argparse.Namespace) -> dict[str, Any] | None:
    """The Erlang prediction when the run is the pure Erlang setting, else None."""
    if args.acw is not None or args.ring_time > 0 or args.handle_distribution != "exponential":
        return None
    if args.patience is not None:
        a = erlang_a(
            args.arrivals_per_hour, args.aht, args.agents, args.patience, args.sl_threshold
        )
        return {
            "model": "erlang_a",
            "service_level_all": a.service_level,
            "mean_wait_seconds": a.mean_wait_s,
            "p_wait": a.p_wait,
            "abandon_rate": a.p_abandon,
            "occupancy": a.occupancy,
        }
    if args.agents <= offered_load(args.arrivals_per_hour, args.aht):
        return None
    c = erlang_c(args.arrivals_per_hour, args.aht, args.agents, args.sl_threshold)
    return {
        "model": "erlang_c",
        "service_level": c.service_level,
        "service_level_all": c.service_level,
        "asa_seconds": c.asa_s,
        "mean_wait_seconds": c.asa_s,
        "p_wait": c.p_wait,
        "abandon_rate": 0.0,
        "occupancy": c.occupancy,
    }


def run(args: argparse.Namespace) -> int:
    if args.demo:
        for key, value in DEMO.items():
            setattr(args, key, value)
    if args.agents < 1:
        raise ValueError(f"--agents must be at least 1; got {args.agents}")
    if args.replications < 1:
        raise ValueError(f"--replications must be at least 1; got {args.replications}")
    jobs = [
        Job(_params(args, args.seed + i), args.agents, args.acw, args.voice)
        for i in range(args.replications)
    ]
    show = not args.json
    outcomes: list[RunResult | VoiceRunResult] = []
    if len(jobs) == 1:
        job = jobs[0]
        what = "simulating phone calls" if job.voice else "simulating calls"
        with progress_bar(what, job.params.calls, enabled=show) as advance:
            outcomes.append(_run_one(job, advance))
    else:
        workers = min(len(jobs), os.cpu_count() or 1)
        with (
            progress_bar("replications", len(jobs), enabled=show) as advance,
            ProcessPoolExecutor(max_workers=workers) as pool,
        ):
            for outcome in pool.map(_run_one, jobs):
                outcomes.append(outcome)
                advance(1)
    results = [o.run if isinstance(o, VoiceRunResult) else o for o in outcomes]
    voice = [o for o in outcomes if isinstance(o, VoiceRunResult)]
    summary = Summary(results)
    predicted = theory(args)
    report = _report(args, summary, predicted)
    if args.voice:
        report["voice"] = _voice_report(voice)
    if args.plot:
        _plot(args.plot, results, args.sl_threshold)
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report))
    else:
        _print(report, summary, predicted)
    return 0


def _report(
    args: argparse.Namespace, summary: Summary, predicted: dict[str, Any] | None
) -> dict[str, Any]:
    first = summary.replications[0]
    report: dict[str, Any] = {
        "calls": first.calls,
        "measured_calls": first.measured_calls,
        "agents": args.agents,
        "arrivals_per_hour": args.arrivals_per_hour,
        "aht_seconds": args.aht,
        "sl_threshold_seconds": args.sl_threshold,
        "patience_seconds": args.patience,
        "replications": len(summary.replications),
    }
    for key in KPI_KEYS:
        report[key] = summary.mean(key)
    report["stdev"] = {key: summary.stdev(key) for key in KPI_KEYS}
    report["per_replication"] = [r.kpis() for r in summary.replications]
    report["sweeper_recoveries"] = sum(r.sweeper_recoveries for r in summary.replications)
    report["theory"] = predicted
    return report


def _voice_report(runs: list[VoiceRunResult]) -> dict[str, Any]:
    """What only a run of phone calls has, beside the KPIs (means over replications)."""
    refused: Counter[str] = Counter()
    for r in runs:
        refused.update(r.refused)
    return {
        "workflow": WORKFLOW_TEMPLATE,
        "ivr_seconds": statistics.fmean(r.ivr_seconds for r in runs),
        "answer_from_dial_seconds": statistics.fmean(r.answer_from_dial_seconds for r in runs),
        "calls_placed": sum(r.calls_placed for r in runs),
        "calls_ended": sum(r.calls_ended for r in runs),
        "voice_commands": sum(r.voice_commands for r in runs),
        "voice_events": sum(r.voice_events for r in runs),
        "refused": dict(sorted(refused.items())),
        "per_replication": [r.figures() for r in runs],
    }


def _print(report: dict[str, Any], summary: Summary, predicted: dict[str, Any] | None) -> None:
    console = Console()
    title = (
        f"{report['replications']} × {report['calls']:,} calls · {report['agents']} agents · "
        f"{report['arrivals_per_hour']:g}/h · AHT {report['aht_seconds']:g} s"
    )
    voice = report.get("voice")
    if voice is not None:
        title += f" · phone calls via {voice['workflow']}"
    table = Table(title=title)
    table.add_column("KPI")
    table.add_column("simulated", justify="right")
    if len(summary.replications) > 1:
        table.add_column("± sd", justify="right")
    if predicted is not None:
        table.add_column(predicted["model"].replace("_", " ").title(), justify="right")
    labels = {
        "service_level": f"Service level ({report['sl_threshold_seconds']:g} s)",
        "service_level_all": "Service level, all arrivals",
        "asa_seconds": "ASA (answered), s",
        "mean_wait_seconds": "Mean wait (all arrivals), s",
        "p_wait": "P(wait > 0)",
        "abandon_rate": "Abandon rate",
        "occupancy": "Occupancy",
    }
    for key in KPI_KEYS:
        fmt = "{:.2f}" if key.endswith("seconds") else "{:.4f}"
        row = [labels[key], fmt.format(report[key])]
        if len(summary.replications) > 1:
            row.append(fmt.format(report["stdev"][key]))
        if predicted is not None:
            value = predicted.get(key)
            row.append(fmt.format(value) if value is not None else "—")
        table.add_row(*row)
    if voice is not None:
        extra = [
            ("IVR before the queue, s", voice["ivr_seconds"]),
            ("Answer from dialling, s", voice["answer_from_dial_seconds"]),
        ]
        for label, value in extra:
            blanks = len(table.columns) - 2
            table.add_row(label, f"{value:.2f}", *([""] * blanks))
    console.print(table)
    if voice is not None and voice["calls_ended"] != voice["calls_placed"]:
        stderr.print(
            f"[red]{voice['calls_placed'] - voice['calls_ended']} call(s) never ended: a bug.[/red]"
        )
    if report["sweeper_recoveries"]:
        stderr.print(
            f"[red]The sweeper recovered {report['sweeper_recoveries']} offer(s): a bug.[/red]"
        )


def _plot(path: str, results: list[RunResult], threshold: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    waits = [w for r in results for w in r.waits]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    positive = [w for w in waits if w > 0]
    share_zero = 1 - len(positive) / len(waits) if waits else 0.0
    ax.hist(positive, bins=60, color="#3b6ea8")
    ax.axvline(threshold, color="#c0392b", linestyle="--", label=f"SL threshold {threshold:g} s")
    ax.set_xlabel("wait before answer, seconds (answered calls that waited)")
    ax.set_ylabel("calls")
    ax.set_title(f"Wait distribution — {share_zero:.1%} answered without waiting")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
