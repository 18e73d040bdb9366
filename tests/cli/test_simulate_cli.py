"""Tests for `switchboard simulate` (in-process through `main`, plus the console script once)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from switchboard.cli.main import main
from switchboard.engine.erlang import erlang_a, erlang_c

#: The console script installed beside the interpreter running the tests (any checkout).
SCRIPT = Path(sys.executable).parent / "switchboard"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KPI_KEYS = {
    "service_level",
    "service_level_all",
    "asa_seconds",
    "mean_wait_seconds",
    "p_wait",
    "abandon_rate",
    "occupancy",
}


def simulate_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["simulate", "--json", *args]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out  # exactly one JSON object, nothing else on stdout
    report = json.loads(lines[0])
    assert isinstance(report, dict)
    return report


def test_json_report_with_erlang_c_theory(capsys: pytest.CaptureFixture[str]) -> None:
    report = simulate_json(capsys, "--calls", "2000")
    for key in ("calls", *KPI_KEYS, "theory", "stdev", "per_replication"):
        assert key in report
    assert report["calls"] == 2000
    assert report["measured_calls"] == 1900  # 5 % warm-up by default
    assert report["replications"] == 1
    assert report["sweeper_recoveries"] == 0
    assert report["abandon_rate"] == 0.0
    assert report["service_level"] == report["service_level_all"]
    for key in ("service_level", "p_wait", "occupancy"):
        assert 0.0 <= report[key] <= 1.0
    assert report["asa_seconds"] >= 0.0
    theory = report["theory"]
    assert isinstance(theory, dict)
    assert theory["model"] == "erlang_c"
    # Defaults: 200 calls/h, AHT 180 s, 14 agents, 20 s threshold.
    c = erlang_c(200.0, 180.0, 14, 20.0)
    assert theory["service_level"] == pytest.approx(c.service_level)
    assert theory["asa_seconds"] == pytest.approx(c.asa_s)
    assert theory["p_wait"] == pytest.approx(c.p_wait)
    assert theory["occupancy"] == pytest.approx(c.occupancy)
    assert theory["abandon_rate"] == 0.0
    # A loose sanity check of simulation against theory (2,000 calls are noisy).
    assert report["occupancy"] == pytest.approx(c.occupancy, abs=0.1)
    assert len(report["per_replication"]) == 1
    assert all(v == 0.0 for v in report["stdev"].values())
    assert "voice" not in report  # only --voice adds its figures


def test_patience_gives_erlang_a_theory(capsys: pytest.CaptureFixture[str]) -> None:
    report = simulate_json(capsys, "--calls", "2000", "--patience", "300")
    theory = report["theory"]
    assert theory["model"] == "erlang_a"
    a = erlang_a(200.0, 180.0, 14, 300.0, 20.0)
    assert theory["abandon_rate"] == pytest.approx(a.p_abandon)
    assert theory["service_level_all"] == pytest.approx(a.service_level)
    assert report["patience_seconds"] == 300.0
    assert report["service_level"] >= report["service_level_all"]


@pytest.mark.parametrize(
    "extra",
    [
        ["--acw", "10"],
        ["--ring-time", "2"],
        ["--handle-distribution", "lognormal", "--handle-cv", "0.5"],
        ["--agents", "10", "--calls", "300"],  # 10 Erlangs on 10 agents: no steady state
    ],
)
def test_no_theory_outside_the_erlang_setting(
    capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    args = ["--calls", "1000", *extra] if "--calls" not in extra else extra
    report = simulate_json(capsys, *args)
    assert report["theory"] is None
    assert report["sweeper_recoveries"] == 0


def test_replications(capsys: pytest.CaptureFixture[str]) -> None:
    report = simulate_json(capsys, "--replications", "2", "--calls", "1500")
    assert report["replications"] == 2
    per = report["per_replication"]
    assert len(per) == 2
    assert per[0] != per[1]  # seeds 1 and 2
    assert set(report["stdev"]) == KPI_KEYS
    assert report["stdev"]["asa_seconds"] > 0
    for key in KPI_KEYS:
        assert report[key] == pytest.approx((per[0][key] + per[1][key]) / 2)


def test_seed_makes_runs_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    one = simulate_json(capsys, "--calls", "600", "--seed", "5")
    two = simulate_json(capsys, "--calls", "600", "--seed", "5")
    three = simulate_json(capsys, "--calls", "600", "--seed", "6")
    assert one == two
    assert one["per_replication"] != three["per_replication"]


def test_voice_runs_the_same_callers_as_phone_calls(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--calls", "300", "--agents", "12", "--patience", "90", "--seed", "4")
    plain = simulate_json(capsys, *args)
    voice = simulate_json(capsys, *args, "--voice")
    figures = voice["voice"]
    assert figures["workflow"] == "Queue IVR Voicemail"
    assert figures["calls_placed"] == figures["calls_ended"] == 300
    assert figures["ivr_seconds"] == pytest.approx(3.5)  # the welcome before the queue
    assert figures["answer_from_dial_seconds"] > voice["asa_seconds"]
    assert voice["theory"] == plain["theory"]  # the queue is the same Erlang A queue
    for key in KPI_KEYS:
        assert voice[key] == pytest.approx(plain[key], abs=0.01), key
    assert voice["per_replication"][0]["events"] > plain["per_replication"][0]["events"]


def test_voice_with_replications_and_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    report = simulate_json(capsys, "--voice", "--calls", "200", "--replications", "2")
    assert len(report["voice"]["per_replication"]) == 2
    assert report["voice"]["calls_ended"] == 400
    assert main(["simulate", "--voice", "--calls", "200"]) == 0
    out = capsys.readouterr().out
    assert "Queue IVR Voicemail" in out
    assert "IVR before the queue" in out
    assert "Erlang C" in out


def test_plot_writes_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "w.png"
    report = simulate_json(capsys, "--calls", "800", "--plot", str(target))
    assert report["plot"] == str(target)
    data = target.read_bytes()
    assert len(data) > 1000
    assert data.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--agents", "0"], "--agents"),
        (["--replications", "0"], "--replications"),
        (["--aht", "-1"], "aht"),
        (["--calls", "0"], "calls"),
        (["--patience", "0"], "patience"),
        (["--agents", "many"], "--agents"),
        (["--handle-distribution", "gamma"], "--handle-distribution"),
    ],
)
def test_bad_input_exits_2_naming_the_parameter(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["simulate", "--json", "--calls", "100", *args])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert named in captured.err
    assert "error" in captured.err
    assert captured.out == ""


def test_human_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--calls", "600"]) == 0
    out = capsys.readouterr().out
    assert "Service level" in out
    assert "Erlang C" in out
    assert "Occupancy" in out
    assert "14 agents" in out


def test_human_table_with_replications_and_erlang_a(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--calls", "400", "--replications", "2", "--patience", "200"]) == 0
    out = capsys.readouterr().out
    assert "Erlang A" in out
    assert "± sd" in out
    assert "Abandon rate" in out


def test_console_script_json() -> None:
    done = subprocess.run(
        [str(SCRIPT), "simulate", "--calls", "500", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["calls"] == 500
    assert report["theory"]["model"] == "erlang_c"
