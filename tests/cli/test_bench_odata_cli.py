"""Tests for `switchboard bench odata` at toy sizes (no wall-time targets).

The benchmark serves the feed from a child process on loopback, so it is driven
through the installed console script; input validation happens before anything
is generated and is also tested in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench_harness import PNG_SIGNATURE, json_report

from switchboard.cli.bench_odata import _options, _sessions
from switchboard.cli.main import main
from switchboard.reporting.odata.options import parse_options
from switchboard.reporting.odata.sets import ENTITY_SETS

TINY = ["--rows", "3000", "--services", "3", "--days", "14", "--requests", "12", "--warmup", "2"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    plot = tmp_path_factory.mktemp("bench-odata") / "o.png"
    report = json_report(
        ["bench", "odata", *TINY, "--databases", "sqlite", "--clients", "1,3", "--json",
         "--plot", str(plot), "--odata-workers", "1"],
        timeout=300,
    )  # fmt: skip
    return report, plot


def test_each_level_has_feed_and_sql_figures(bench: tuple[dict[str, Any], Path]) -> None:
    report, plot = bench
    runs = report["runs"]
    assert [(r["database"], r["clients"]) for r in runs] == [("sqlite", 1), ("sqlite", 3)]
    for run in runs:
        assert run["statuses"] == {"200": 12}
        assert run["feed"]["requests"] == 12 and run["sql"]["requests"] == 12
        assert 0 < run["feed"]["p50_ms"] <= run["feed"]["p95_ms"] <= run["feed"]["max_ms"]
        assert run["p95_ratio"] > 0
        assert 0 < run["mean_rows_per_page"] <= 100  # one service's week of 3,000 sessions
        assert run["server_cpu_ms_per_request"] > 0 and run["client_cpu_ms_per_request"] > 0
        assert run["load_average"] >= 0
    assert report["goal_p95_ms"] == 200.0
    assert report["options"]["odata_workers"] == 1  # the pages were read by a worker process
    assert plot.read_bytes().startswith(PNG_SIGNATURE)


def test_generated_sessions_fit_the_query() -> None:
    rows = list(_sessions(200, 3, 14, seed=1))
    assert len({r["id"] for r in rows}) == 200
    assert {r["service_id"] for r in rows} == {"svc-00", "svc-01", "svc-02"}
    assert all(r["ended_at"] >= r["started_at"] for r in rows)
    options = parse_options(
        ENTITY_SETS["ServiceSessions"], _options("svc-01", rows[0]["started_at"]), ENTITY_SETS
    )
    assert options.top == 100 and options.count and options.select is not None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--rows", "0"], "--rows"),
        (["--days", "3"], "--days"),
        (["--clients", "0"], "--clients"),
        (["--clients", "a,b"], "--clients"),
        (["--databases", "oracle"], "--databases"),
        (["--odata-workers", "-1"], "--odata-workers"),
        (["--odata-workers", "65"], "--odata-workers"),
    ],
)
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: list[str], named: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bench", "odata", *TINY, "--json", *args])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert named in captured.err and captured.out == ""
