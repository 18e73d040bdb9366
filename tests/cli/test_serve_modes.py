"""`switchboard serve --mode`: the simulator's control API stays on loopback (10 PE2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.cli.main import main


def _refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", *argv])
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_the_demo_on_a_public_interface_is_refused_naming_the_ways_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refusal(capsys, "--demo", "--host", "0.0.0.0", "--var-dir", str(tmp_path))
    assert "0.0.0.0 is not a loopback address" in err
    assert "--simulator-remote" in err and "--mode production" in err
    assert not (tmp_path / "switchboard.sqlite3").exists()  # refused before anything opened


def test_development_mode_is_refused_on_a_host_name_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refusal(
        capsys, "--mode", "development", "--host", "example.org", "--var-dir", str(tmp_path)
    )
    assert "example.org is not a loopback address" in err


def test_an_unknown_mode_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    err = _refusal(capsys, "--mode", "staging")
    assert "invalid choice: 'staging'" in err
