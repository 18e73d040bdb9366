"""Running `switchboard bench …` as the installed console script, as its tests do.

The benchmarks spawn child processes, so their tests drive the real command in its
own process group (killed if it overruns) and read the one JSON object `--json` prints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

#: The console script installed beside the interpreter running the tests (any checkout).
SCRIPT = Path(sys.executable).parent / "switchboard"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_script(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the console script in its own process group; kill that group if it overruns."""
    proc = subprocess.Popen(
        [str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"`switchboard {' '.join(args)}` did not finish within {timeout} s")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def json_report(args: list[str], *, timeout: float) -> dict[str, Any]:
    """Run a benchmark with `--json` among `args`; it must succeed and print exactly one
    JSON object (the progress bar stays off stdout)."""
    done = run_script(args, timeout=timeout)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout
    report = json.loads(lines[0])
    assert isinstance(report, dict)
    return report
