"""`switchboard bench routing --voice`: the routing benchmark's calls through the voice path.

The same seeded traffic on the same tenant runs twice, each in a fresh process:
first as plain tasks (`Engine.create_task`, the baseline), then as telephone
calls through the voice simulator (`VoiceTraffic`: each caller dials a
service, the "Queue IVR Voicemail" workflow answers, plays its welcome and
queues; offers ring the agents' phones, which answer; the agent hangs up).
Both run without a journal, so the ratio voice ÷ plain says what the voice
path costs per lifecycle: the workflow interpreter, the provider commands and
events, and their JSON form. Dispatch decisions are the same routing work in
both; their p50/p99 are printed for each run.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from switchboard.cli.bench import ProgressSender, _child, routing_figures, routing_inputs, run_child
from switchboard.cli.progress import progress_bar

#: The default number of calls with `--voice` (a voice lifecycle costs several plain ones).
VOICE_CALLS = 20_000


def _voice_child(options: dict[str, Any], channel: Any) -> None:
    """The voice run in a fresh process (so peak RSS belongs to this run alone)."""
    from switchboard.channels.voice.traffic import VoiceTraffic

    scenario, params = routing_inputs(options)
    progress = ProgressSender(channel)
    traffic = VoiceTraffic(scenario, params, progress=progress)
    decisions: list[int] = []
    traffic.engine.metrics.decision_ns = decisions  # after the configuration phase
    start = time.perf_counter()
    outcome = traffic.run()
    wall = time.perf_counter() - start
    progress.flush()
    figures = routing_figures(outcome.run, wall, decisions)
    channel.put(("result", {"voice": True, **figures, **outcome.figures()}))


def measure(options: dict[str, Any], *, show: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    with progress_bar("calls routed", 2 * options["calls"], enabled=show) as advance:
        plain = run_child(ctx, _child, (options, False), advance)
        voice = run_child(ctx, _voice_child, (options,), advance)
    return {
        "options": options,
        "plain": plain,
        "voice": voice,
        "voice_ratio": voice["lifecycles_per_s"] / plain["lifecycles_per_s"],
    }


def print_report(report: dict[str, Any]) -> None:
    o = report["options"]
    table = Table(
        title=(
            f"Routing through the voice path: {o['agents']:,} agents · {o['services']} services · "
            f"{o['levels']}-level policies · {o['calls']:,} calls (journal off)"
        )
    )
    table.add_column("figure")
    table.add_column("plain tasks", justify="right")
    table.add_column("calls (voice)", justify="right")
    plain, voice = report["plain"], report["voice"]
    rows = [
        ("call lifecycles / s", "lifecycles_per_s", "{:,.0f}"),
        ("events / s", "events_per_s", "{:,.0f}"),
        ("events", "events", "{:,}"),
        ("decision p50, ms", "decision_p50_ms", "{:.3f}"),
        ("decision p99, ms", "decision_p99_ms", "{:.3f}"),
        ("peak RSS, MiB", "peak_rss_mib", "{:,.0f}"),
        ("wall time, s", "wall_s", "{:.1f}"),
        ("service level", "service_level", "{:.3f}"),
    ]
    for label, key, fmt in rows:
        table.add_row(label, fmt.format(plain[key]), fmt.format(voice[key]))
    table.add_row("voice commands / events", "", f"{voice['voice_commands']:,} / "
                  f"{voice['voice_events']:,}")  # fmt: skip
    table.add_row("voice ÷ plain (lifecycles)", "", f"{report['voice_ratio']:.2f}")
    Console().print(table)
