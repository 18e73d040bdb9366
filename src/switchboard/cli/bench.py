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
import json
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


def _child(options: dict[str, Any], journal: bool, channel: Any) -> None:
    """One measured run in a fresh process (so peak RSS belongs to this run alone)."""
    from switchboard.engine.scenarios import large_scenario
    from switchboard.engine.simulation import Simulator, TrafficParams
    from switchboard.store.journal import SqliteJournal

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

    sent = 0

    def progress(n: int) -> None:
        nonlocal sent
        sent += n
        if sent >= 1_000:
            channel.put(("progress", sent))
            sent = 0

    sim = Simulator(scenario, params, journal=store, progress=progress, engine_hook=hook)
    decisions.clear()  # leave out the configuration phase
    start = time.perf_counter()
    result = sim.run()
    wall = time.perf_counter() - start
    channel.put(("progress", sent))
    if store is not None:
        store.close()
    decisions.sort()

    def pct(q: float) -> float:
        return (
            decisions[min(len(decisions) - 1, int(q * len(decisions)))] / 1e6 if decisions else 0.0
        )

    channel.put(
        (
            "result",
            {
                "journal": journal,
                "calls": result.calls,
                "events": result.events,
                "wall_s": wall,
                "lifecycles_per_s": result.calls / wall,
                "events_per_s": result.events / wall,
                "decisions": len(decisions),
                "decision_p50_ms": pct(0.50),
                "decision_p99_ms": pct(0.99),
                "decision_max_ms": decisions[-1] / 1e6 if decisions else 0.0,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "service_level": result.service_level,
                "asa_seconds": result.asa_seconds,
                "sweeper_recoveries": result.sweeper_recoveries,
            },
        )
    )


def measure(options: dict[str, Any], *, show: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    runs: dict[str, dict[str, Any]] = {}
    with progress_bar("calls routed", 2 * options["calls"], enabled=show) as advance:
        for journal in (False, True):
            channel = ctx.Queue()
            proc = ctx.Process(target=_child, args=(options, journal, channel))
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
                    runs["journal_on" if journal else "journal_off"] = payload
                    break
            proc.join()
            if proc.exitcode:
                raise RuntimeError(f"benchmark child exited with {proc.exitcode}")
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
        if args.json:
            print(json.dumps(report))
        else:
            bench_voice.print_report(report)
        return 0
    report = measure(options, show=not args.json)
    if args.plot:
        plot(args.plot, report)
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


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
    Console().print(table)
    missed = [k for k, ok in report["meets"].items() if not ok]
    Console().print("all targets met" if not missed else f"below target: {', '.join(missed)}")


def plot(path: str, report: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    off, on = report["journal_off"], report["journal_on"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4), dpi=110)
    left.bar(
        ["journal off", "journal on"],
        [off["lifecycles_per_s"], on["lifecycles_per_s"]],
        color=["#7f8c8d", "#3b6ea8"],
    )
    left.axhline(TARGETS["lifecycles_per_s"], color="#c0392b", linestyle="--", label="target")
    left.set_ylabel("call lifecycles per second (wall)")
    left.legend()
    labels = ["p50", "p99"]
    width = 0.35
    xs = range(len(labels))
    right.bar(
        [x - width / 2 for x in xs],
        [off["decision_p50_ms"], off["decision_p99_ms"]],
        width,
        label="journal off",
        color="#7f8c8d",
    )
    right.bar(
        [x + width / 2 for x in xs],
        [on["decision_p50_ms"], on["decision_p99_ms"]],
        width,
        label="journal on",
        color="#3b6ea8",
    )
    right.set_xticks(list(xs), labels)
    right.set_ylabel("dispatch decision, ms")
    right.legend()
    fig.suptitle("switchboard bench routing")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
