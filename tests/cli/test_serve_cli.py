"""`switchboard serve --demo` as a user runs it: a real process on a free port."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SWITCHBOARD = Path(sys.executable).with_name("switchboard")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_demo_answers_and_shuts_down_gracefully(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(SWITCHBOARD),
            "serve",
            "--demo",
            "--demo-days",
            "2",  # a short history: the 30 days of `make run` take half a minute once
            "--port",
            str(port),
            "--var-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = ""
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        key_line = ""
        assert proc.stdout is not None
        # the banner is printed before the server starts, so it is already there
        for _ in range(50):
            found = re.search(r"sbk_[a-z0-9]{12}_[a-z0-9]{52}", output)
            if found:
                key_line = found.group(0)
                break
            output += proc.stdout.readline()
        assert key_line, output
        listed = httpx.get(f"{base}/api/v1/services", headers={"X-API-Key": key_line}, timeout=5)
        assert listed.status_code == 200 and listed.json()["total"] == 4
        task = httpx.post(
            f"{base}/api/v1/tasks",
            json={"service_id": "svc-front", "kind": "audio_inbound"},
            headers={"X-API-Key": key_line},
            timeout=5,
        )
        assert task.status_code == 201, task.text
        assert "demo history 2 days" in output, output
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
        output += rest
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells it
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Finished server process" in output, output


def test_serve_refuses_a_bad_database_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(SWITCHBOARD), "serve", "--db", "mysql://x/y", "--var-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "mysql" in done.stderr and "postgresql+psycopg" in done.stderr
