"""Tests for `switchboard bench routing` at toy sizes.

The benchmark spawns one child process per run, so it is driven through the
installed console script; input validation happens before any child starts
and is tested in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench_harness import PNG_SIGNATURE, json_report, run_script

from switchboard.cli.main import main

TINY = ["--agents", "60", "--services", "4", "--skills", "3", "--calls", "600"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    """One tiny benchmark for the whole module: (report, journal path, plot path)."""
    folder = tmp_path_factory.mktemp("bench")
    journal, plot = folder / "j.sqlite", folder / "chart.png"
    report = json_report(
        [
            "bench",
            "routing",
            *TINY,
            "--journal-path",
            str(journal),
            "--json",
            "--plot",
            str(plot),
        ],
        timeout=120,
    )
    return report, journal, plot


@pytest.mark.parametrize("run", ["journal_off", "journal_on"])
def test_run_figures(bench: tuple[dict[str, Any], Path, Path], run: str) -> None:
    report = bench[0]
    figures = report[run]
    assert figures["journal"] is (run == "journal_on")
    assert figures["calls"] == 600
    assert figures["lifecycles_per_s"] > 0
    assert figures["events_per_s"] > 0
    assert figures["events"] > figures["calls"]
    assert figures["wall_s"] > 0
    assert figures["decisions"] > 0
    assert 0 <= figures["decision_p50_ms"] <= figures["decision_p99_ms"]
    assert figures["decision_p99_ms"] <= figures["decision_max_ms"]
    assert figures["peak_rss_mib"] > 0
    assert figures["sweeper_recoveries"] == 0
    assert 0.0 <= figures["service_level"] <= 1.0


def test_both_runs_route_the_same_traffic(bench: tuple[dict[str, Any], Path, Path]) -> None:
    off, on = bench[0]["journal_off"], bench[0]["journal_on"]
    # Same seed, same engine: the journal changes speed, never outcomes.
    for key in ("calls", "events", "decisions", "service_level", "asa_seconds"):
        assert off[key] == on[key], key


def test_summary_fields(bench: tuple[dict[str, Any], Path, Path]) -> None:
    report, journal, plot = bench
    assert report["journal_ratio"] > 0
    assert report["journal_ratio"] == pytest.approx(
        report["journal_on"]["lifecycles_per_s"] / report["journal_off"]["lifecycles_per_s"]
    )
    assert set(report["meets"]) == {
        "lifecycles_per_s",
        "decision_p99_ms",
        "peak_rss_mib",
        "journal_ratio",
    }
    assert all(isinstance(v, bool) for v in report["meets"].values())
    assert set(report["targets"]) == set(report["meets"])
    options = report["options"]
    assert options["agents"] == 60
    assert options["services"] == 4
    assert options["calls"] == 600
    assert options["journal_path"] == str(journal)
    assert report["plot"] == str(plot)


def test_journal_file_is_written(bench: tuple[dict[str, Any], Path, Path]) -> None:
    journal = bench[1]
    assert journal.is_file()
    assert journal.stat().st_size > 0


def test_plot_is_a_png(bench: tuple[dict[str, Any], Path, Path]) -> None:
    data = bench[2].read_bytes()
    assert len(data) > 1000
    assert data.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--calls", "0"], "--calls"),
        (["--agents", "0"], "--agents"),
        (["--levels", "0"], "--levels"),
        (["--occupancy", "2"], "--occupancy"),
        (["--synchronous", "OFF"], "--synchronous"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], named: str
) -> None:
    journal = tmp_path / "never.sqlite"
    with pytest.raises(SystemExit) as caught:
        main(["bench", "routing", *TINY, "--journal-path", str(journal), "--json", *args])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert named in captured.err
    assert captured.out == ""
    assert not journal.exists()  # rejected before any run started


def test_bad_aht_is_rejected_instead_of_hanging(tmp_path: Path) -> None:
    done = run_script(
        [
            "bench",
            "routing",
            *TINY,
            "--aht",
            "0",
            "--journal-path",
            str(tmp_path / "j.sqlite"),
            "--json",
        ],
        timeout=8,
    )
    assert done.returncode == 2
    assert "--aht" in done.stderr
