"""Tests for `switchboard bench api` at toy sizes.

The benchmark serves both targets from child processes on loopback, so it is
driven through the installed console script; input validation happens before
any server starts and is also tested in-process. No wall-time targets here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench_harness import PNG_SIGNATURE, json_report, run_script

from switchboard.cli.main import main

TINY = ["--requests", "200", "--warmup", "20", "--concurrency", "8"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One tiny benchmark for the whole module: (report, plot path)."""
    plot = tmp_path_factory.mktemp("bench-api") / "a.png"
    report = json_report(["bench", "api", *TINY, "--json", "--plot", str(plot)], timeout=120)
    return report, plot


@pytest.mark.parametrize("target", ["baseline", "service"])
def test_target_figures(bench: tuple[dict[str, Any], Path], target: str) -> None:
    figures = bench[0][target]
    assert figures["server"] == target
    assert figures["url"].startswith("http://127.0.0.1:")
    assert figures["url"].endswith("/api/v1/tasks")
    assert figures["requests"] == 200
    assert figures["ok"] == 200
    assert figures["errors"] == 0
    assert figures["statuses"] == {"201": 200}
    assert figures["stopped_early"] is False
    assert figures["requests_per_s"] > 0
    assert figures["wall_s"] > 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["client_cpu_s"] >= 0


def test_service_journals_every_task_in_group_commits(
    bench: tuple[dict[str, Any], Path],
) -> None:
    journal = bench[0]["service"]["journal"]
    # Every created task is journaled: at least one event per measured request.
    assert journal["events"] >= 200
    assert 1 <= journal["commits"] <= 200
    assert journal["requests_per_commit"] == pytest.approx(200 / journal["commits"])
    assert journal["events_per_commit"] == pytest.approx(journal["events"] / journal["commits"])
    whole = journal["whole_run"]
    assert whole["requests"] >= 220  # warm-up + measured (+ the shutdown marker)
    assert whole["events"] >= journal["events"]
    assert whole["largest_batch"] >= 1
    assert "journal" not in bench[0]["baseline"]


def test_summary_fields(bench: tuple[dict[str, Any], Path]) -> None:
    report, plot = bench
    assert report["ratio"] > 0
    assert report["ratio"] == pytest.approx(
        report["service"]["requests_per_s"] / report["baseline"]["requests_per_s"]
    )
    assert report["p99_ratio"] > 0
    assert report["targets"] == {"ratio": 0.5}
    assert set(report["meets"]) == {"ratio"}
    assert isinstance(report["meets"]["ratio"], bool)
    assert report["options"] == {
        "requests": 200,
        "concurrency": 8,
        "warmup": 20,
        "max_seconds": 300.0,
    }
    assert report["plot"] == str(plot)


def test_plot_is_a_png(bench: tuple[dict[str, Any], Path]) -> None:
    data = bench[1].read_bytes()
    assert len(data) > 1000
    assert data.startswith(PNG_SIGNATURE)


def test_zero_requests_exits_2_from_the_console_script() -> None:
    done = run_script(["bench", "api", "--requests", "0", "--json"], timeout=60)
    assert done.returncode == 2
    assert "--requests" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--requests", "0"], "--requests"),
        (["--concurrency", "0"], "--concurrency"),
        (["--concurrency", "100000"], "--concurrency"),
        (["--warmup", "-1"], "--warmup"),
        (["--max-seconds", "0"], "--max-seconds"),
        (["--max-seconds", "nan"], "--max-seconds"),
        (["--requests", "many"], "--requests"),
    ],
)
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: list[str], named: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bench", "api", *TINY, "--json", *args])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert named in captured.err
    assert captured.out == ""


def test_plot_into_a_missing_folder_is_refused_before_any_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "nowhere" / "a.png"
    with pytest.raises(SystemExit) as caught:
        main(["bench", "api", *TINY, "--json", "--plot", str(target)])
    assert caught.value.code == 2
    assert "--plot" in capsys.readouterr().err
    assert not target.parent.exists()
