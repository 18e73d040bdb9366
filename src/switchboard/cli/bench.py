"""`switchboard bench routing`: the routing engine at contact-center scale, measured.

Two runs of the same seeded traffic in fresh processes: first with the journal
off (the baseline), then with every event journaled to SQLite before its
effects are released. Each prints call lifecycles per second (wall), events per
second, the wall time of one dispatch decision (p50/p99) and peak RSS; the
ratio journal-on ÷ journal-off says what durability costs.

With `--voice` the second run routes the same calls through the voice
simulator instead (`switchboard.cli.bench_voice`), and the ratio is voice ÷
plain.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import queue
import resource
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from switchboard.cli import bench_api, bench_odata
from switchboard.cli.bench_report import emit, ms_percentile, plot_two_runs, print_verdict
from switchboard.cli.progress import progress_bar

TARGETS = {
    "lifecycles_per_s": 1_700.0,
    "decision_p99_ms": 5.0,
    "peak_rss_mib": 1_024.0,
    "journal_ratio": 0.6,
}


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "bench", help="measure performance and print figures", description=__doc__
    )
    which = p.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    r: argparse.ArgumentParser = which.add_parser(
        "routing",
        help="10,000 agents, 200 services, 3-level policies, journal on vs off",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    r.add_argument("--agents", type=int, default=10_000)
    r.add_argument("--services", type=int, default=200)
    r.add_argument("--skills", type=int, default=50)
    r.add_argument("--levels", type=int, default=3, help="distribution-policy levels")
    r.add_argument(
        "--calls", type=int, default=None, help="calls to route (200,000; 20,000 with --voice)"
    )
    r.add_argument("--aht", type=float, default=300.0, help="mean handle time, seconds")
    r.add_argument("--acw", type=int, default=10, help="after-call work, seconds")
    r.add_argument("--occupancy", type=float, default=0.85, help="offered load ÷ agents")
    r.add_argument("--ring-time", type=float, default=3.0, help="seconds agents take to answer")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument(
        "--journal-path", default="var/bench/routing-journal.sqlite", help="replaced each run"
    )
    r.add_argument("--synchronous", choices=("NORMAL", "FULL"), default="NORMAL")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument("--plot", metavar="FILE.png", help="write a chart of the two runs")
    r.add_argument(
        "--voice",
        action="store_true",
        help="route the calls through the voice simulator and compare with plain tasks "
        "(both journal off) instead of journal on vs off",
    )
    r.set_defaults(handler=run_routing)
    bench_api.register(which)  # `switchboard bench api`
    bench_odata.register(which)  # `switchboard bench odata`


def routing_inputs(options: dict[str, Any]) -> tuple[Any, Any]:
    """The seeded scenario and traffic of a routing run: the same for every kind of run."""
    from switchboard.engine.scenarios import large_scenario
    from switchboard.engine.simulation import TrafficParams

    scenario = large_scenario(
        agents=options["agents"],
        services=options["services"],
        skills=options["skills"],
        levels=options["levels"],
        seed=options["seed"],
        acw_s=options["acw"],
    )
    params = TrafficParams(
        arrivals_per_hour=options["occupancy"] * options["agents"] / options["aht"] * 3600,
        aht_s=options["aht"],
        calls=options["calls"],
        seed=options["seed"],
        ring_s=options["ring_time"],
    )
    return scenario, params


class ProgressSender:
    """A child's progress callback: routed calls go to the parent in lots of 1,000."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.sent = 0

    def __call__(self, n: int) -> None:
        self.sent += n
        if self.sent >= 1_000:
            self.channel.put(("progress", self.sent))
            self.sent = 0

    def flush(self) -> None:
        """Send what is left once the run is over."""
        self.channel.put(("progress", self.sent))


def routing_figures(result: Any, wall: float, decisions: list[int]) -> dict[str, Any]:
    """The figures of one routing run; `decisions` are the dispatch decisions' times in ns."""
    decisions.sort()
    return {
        "calls": result.calls,
        "events": result.events,
        "wall_s": wall,
        "lifecycles_per_s": result.calls / wall,
        "events_per_s": result.events / wall,
        "decisions": len(decisions),
        "decision_p50_ms": ms_percentile(decisions, 0.50),
        "decision_p99_ms": ms_percentile(decisions, 0.99),
        "decision_max_ms": decisions[-1] / 1e6 if decisions else 0.0,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "service_level": result.service_level,
        "asa_seconds": result.asa_seconds,
        "sweeper_recoveries": result.sweeper_recoveries,
    }


def _child(options: dict[str, Any], journal: bool, channel: Any) -> None:
    """One measured run in a fresh process (so peak RSS belongs to this run alone)."""
    from switchboard.engine.simulation import Simulator
    from switchboard.store.journal import SqliteJournal

    scenario, params = routing_inputs(options)
    store = None
    if journal:
        path = Path(options["journal_path"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = SqliteJournal(
            path, tenant_id=scenario.tenant.id, synchronous=options["synchronous"]
        )
    decisions: list[int] = []

    def hook(engine: Any) -> None:
        engine.metrics.decision_ns = decisions

    progress = ProgressSender(channel)
    sim = Simulator(scenario, params, journal=store, progress=progress, engine_hook=hook)
    decisions.clear()  # leave out the configuration phase
    start = time.perf_counter()
    result = sim.run()
    wall = time.perf_counter() - start
    progress.flush()
    if store is not None:
        store.close()
    channel.put(("result", {"journal": journal, **routing_figures(result, wall, decisions)}))


def run_child(ctx: Any, target: Any, args: tuple[Any, ...], advance: Any) -> dict[str, Any]:
    """Run `target(*args, channel)` in a fresh process of `ctx`, passing its progress to
    `advance` until it reports its result; raises if it ends without one or fails."""
    channel = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, channel))
    proc.start()
    while True:
        try:
            kind, payload = channel.get(timeout=1.0)
        except queue.Empty:
            if not proc.is_alive():
                raise RuntimeError(
                    f"benchmark child exited with {proc.exitcode} before reporting"
                ) from None
            continue
        if kind == "progress":
            advance(payload)
        else:
            result: dict[str, Any] = payload
            break
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"benchmark child exited with {proc.exitcode}")
    return result


def measure(options: dict[str, Any], *, show: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    runs: dict[str, dict[str, Any]] = {}
    with progress_bar("calls routed", 2 * options["calls"], enabled=show) as advance:
        for journal in (False, True):
            name = "journal_on" if journal else "journal_off"
            runs[name] = run_child(ctx, _child, (options, journal), advance)
    on, off = runs["journal_on"], runs["journal_off"]
    report = {
        "options": options,
        "journal_off": off,
        "journal_on": on,
        "journal_ratio": on["lifecycles_per_s"] / off["lifecycles_per_s"],
        "targets": TARGETS,
    }
    report["meets"] = {
        "lifecycles_per_s": on["lifecycles_per_s"] >= TARGETS["lifecycles_per_s"],
        "decision_p99_ms": on["decision_p99_ms"] <= TARGETS["decision_p99_ms"],
        "peak_rss_mib": on["peak_rss_mib"] <= TARGETS["peak_rss_mib"],
        "journal_ratio": report["journal_ratio"] >= TARGETS["journal_ratio"],
    }
    return report


def run_routing(args: argparse.Namespace) -> int:
    if args.calls is None:
        args.calls = 20_000 if args.voice else 200_000
    if args.voice and args.plot:
        raise ValueError("--plot draws the journal comparison; it cannot be combined with --voice")
    for name, least in (("agents", 1), ("services", 4), ("skills", 2), ("levels", 1), ("calls", 1)):
        if getattr(args, name) < least:
            raise ValueError(f"--{name} must be at least {least}; got {getattr(args, name)}")
    if not 0 < args.occupancy < 1.5:
        raise ValueError(f"--occupancy must be between 0 and 1.5; got {args.occupancy}")
    if not (math.isfinite(args.aht) and args.aht > 0):
        raise ValueError(f"--aht must be a positive number of seconds; got {args.aht}")
    if not (math.isfinite(args.ring_time) and args.ring_time >= 0):
        raise ValueError(f"--ring-time must be ≥ 0 seconds; got {args.ring_time}")
    if args.acw is not None and args.acw < 5:
        raise ValueError(f"--acw must be at least 5 seconds (01 §4.2); got {args.acw}")
    options = {
        key: getattr(args, key)
        for key in (
            "agents",
            "services",
            "skills",
            "levels",
            "calls",
            "aht",
            "acw",
            "occupancy",
            "ring_time",
            "seed",
            "journal_path",
            "synchronous",
        )
    }
    if args.voice:
        from switchboard.cli import bench_voice

        report = bench_voice.measure(options, show=not args.json)
        return emit(args, report, plot=plot, print_report=bench_voice.print_report)
    return emit(args, measure(options, show=not args.json), plot=plot, print_report=print_report)


def print_report(report: dict[str, Any]) -> None:
    o = report["options"]
    table = Table(
        title=(
            f"Routing: {o['agents']:,} agents · {o['services']} services · {o['skills']} skills · "
            f"{o['levels']}-level policies · {o['calls']:,} calls"
        )
    )
    table.add_column("figure")
    table.add_column("journal off", justify="right")
    table.add_column("journal on", justify="right")
    table.add_column("target (journal on)", justify="right")
    off, on = report["journal_off"], report["journal_on"]
    rows = [
        ("call lifecycles / s", "lifecycles_per_s", "{:,.0f}", "≥ 1,700"),
        ("events / s", "events_per_s", "{:,.0f}", ""),
        ("decision p50, ms", "decision_p50_ms", "{:.3f}", ""),
        ("decision p99, ms", "decision_p99_ms", "{:.3f}", "≤ 5"),
        ("peak RSS, MiB", "peak_rss_mib", "{:,.0f}", "≤ 1,024"),
        ("wall time, s", "wall_s", "{:.1f}", ""),
    ]
    for label, key, fmt, target in rows:
        table.add_row(label, fmt.format(off[key]), fmt.format(on[key]), target)
    table.add_row("journal on ÷ off", "", f"{report['journal_ratio']:.2f}", "≥ 0.60")
    console = Console()
    console.print(table)
    print_verdict(console, report)


def plot(path: str, report: dict[str, Any]) -> None:
    off, on = report["journal_off"], report["journal_on"]
    plot_two_runs(
        path,
        names=("journal off", "journal on"),
        rates=(off["lifecycles_per_s"], on["lifecycles_per_s"]),
        rate_label="call lifecycles per second (wall)",
        target=TARGETS["lifecycles_per_s"],
        target_label="target",
        quantiles=("p50", "p99"),
        latencies=(
            (off["decision_p50_ms"], off["decision_p99_ms"]),
            (on["decision_p50_ms"], on["decision_p99_ms"]),
        ),
        latency_label="dispatch decision, ms",
        title="switchboard bench routing",
    )
