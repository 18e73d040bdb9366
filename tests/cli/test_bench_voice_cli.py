"""`switchboard bench routing --voice` at toy size: the same traffic as plain tasks and as
calls through the voice simulator, each in its own process, with the ratio between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench_harness import json_report
from test_bench_cli import TINY

from switchboard.cli.main import main


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return json_report(["bench", "routing", *TINY, "--voice", "--json"], timeout=180)


@pytest.mark.parametrize("run", ["plain", "voice"])
def test_each_run_reports_its_figures(report: dict[str, Any], run: str) -> None:
    figures = report[run]
    assert figures["calls"] == 600
    assert figures["lifecycles_per_s"] > 0 and figures["wall_s"] > 0
    assert figures["decisions"] > 0
    assert 0 <= figures["decision_p50_ms"] <= figures["decision_p99_ms"]
    assert figures["decision_p99_ms"] <= figures["decision_max_ms"]
    assert figures["peak_rss_mib"] > 0
    assert figures["sweeper_recoveries"] == 0


def test_the_voice_run_is_the_same_traffic_through_the_telephone_path(
    report: dict[str, Any],
) -> None:
    plain, voice = report["plain"], report["voice"]
    assert voice["calls_placed"] == voice["calls_ended"] == 600
    assert voice["voice_commands"] > 600 and voice["voice_events"] > 600
    assert voice["events"] > plain["events"]  # workflow steps and provider commands
    # The same callers meet the same queue (waits start in the queue, docs/simulation.md).
    assert voice["service_level"] == pytest.approx(plain["service_level"], abs=0.02)


def test_the_ratio_is_voice_over_plain_of_the_same_run(report: dict[str, Any]) -> None:
    assert report["voice_ratio"] == pytest.approx(
        report["voice"]["lifecycles_per_s"] / report["plain"]["lifecycles_per_s"]
    )
    assert report["options"]["calls"] == 600


def test_voice_and_plot_do_not_go_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bench", "routing", *TINY, "--voice", "--plot", str(tmp_path / "x.png")])
    assert caught.value.code == 2
    assert "--voice" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
