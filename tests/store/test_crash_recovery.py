"""Crash recovery: SIGKILL a journaling engine at random points, restore, and check.

A child process (`crash_child.py`) runs simulated load against an engine with a
file journal and records, after each commit, the ids of the tasks it has told
a client about (an fsynced "acknowledged" file). The parent kills it with
SIGKILL at seeded random moments, several times on the same journal (each new
child restores and carries on), and after every kill checks that

* every acknowledged task is in the journal, created exactly once;
* the journal is gap-free and still starts with everything it held before;
* a restored engine needs no repair and satisfies the routing invariants;
* driving every live task to an outcome (on a copy of the journal, so the next
  child resumes mid-flight work) ends each created task exactly once.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import IO

import pytest
from journal_scenario import TENANT_ID, drain, tenant

from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.store.journal import SqliteJournal

HERE = Path(__file__).resolve().parent
CHILD = HERE / "crash_child.py"
KILLS = 5
SEED = 20260101


def acknowledged(path: Path) -> list[str]:
    """Complete lines only: the child may die in the middle of writing one."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return text.split("\n")[:-1]


def start_child(
    journal: Path, ack: Path, run: int, seed: int, stderr: IO[str]
) -> subprocess.Popen[str]:
    env = dict(os.environ)
    src = str(HERE.parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(journal), str(ack), str(run), str(seed)],
        stdout=subprocess.PIPE,
        stderr=stderr,  # a file: a chatty child must never block on a full pipe
        text=True,
        env=env,
    )


def kill_while_working(child: subprocess.Popen[str], delay: float, stderr: Path) -> None:
    assert child.stdout is not None
    watchdog = threading.Timer(30.0, child.kill)  # a child that never gets ready
    watchdog.start()
    try:
        line = child.stdout.readline()  # blocks until the child has restored and committed
    finally:
        watchdog.cancel()
    if line.strip() != "ready":
        child.kill()
        child.wait()
        pytest.fail(f"child did not start: {line!r}\n{stderr.read_text()}")
    time.sleep(delay)
    if child.poll() is not None:
        pytest.fail(f"child died on its own ({child.returncode}):\n{stderr.read_text()}")
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    child.stdout.close()


def check_history(events: list[Event], acked: list[str], before: list[Event]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), "seq gap"
    assert events[: len(before)] == before, "a crash changed journaled history"
    created = collections.Counter(e.task_id for e in events if e.name == "task.created")
    duplicates = {task_id: n for task_id, n in created.items() if n > 1}
    assert not duplicates, f"task.created more than once: {duplicates}"
    lost = set(acked) - set(created)
    assert not lost, f"acknowledged tasks missing from the journal: {sorted(lost)[:10]}"
    assert len(acked) == len(set(acked))
    ended = collections.Counter(e.task_id for e in events if e.name == "task.terminated")
    assert all(n == 1 for n in ended.values()), "task.terminated more than once"
    assert set(ended) <= set(created)


def drain_copy(source: Path, copy: Path, now: float) -> None:
    """Finish all work on a copy of the journal; each task must end exactly once."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    with SqliteJournal(copy, tenant_id=TENANT_ID) as journal:
        clock = VirtualClock(now)
        engine = Engine.restore(tenant(), clock, journal.read(), journal=journal)
        drain(engine, clock.advance, engine.commit)
        assert engine.check_invariants() == []
        assert not engine.state.tasks
        events = list(journal.read())
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    created = collections.Counter(e.task_id for e in events if e.name == "task.created")
    ended = collections.Counter(e.task_id for e in events if e.name == "task.terminated")
    assert set(created.values()) == {1}
    assert ended == created, "every created task ends exactly once"


@pytest.mark.timeout(120)
def test_sigkill_at_random_points_loses_no_acknowledged_task(tmp_path: Path) -> None:
    journal_path = tmp_path / "journal" / "acme.db"
    ack_path = tmp_path / "acknowledged.txt"
    rng = random.Random(SEED)
    before: list[Event] = []
    for run in range(1, KILLS + 1):
        log = tmp_path / f"child-{run}.stderr"
        with log.open("w") as stderr:
            child = start_child(journal_path, ack_path, run, rng.randrange(2**32), stderr)
            kill_while_working(child, rng.uniform(0.2, 1.5), log)

        with SqliteJournal(journal_path, tenant_id=TENANT_ID) as journal:
            events = list(journal.read())
        acked = acknowledged(ack_path)
        check_history(events, acked, before)
        assert len(events) > len(before), f"run {run} journaled nothing"

        clock = VirtualClock(events[-1].at)
        restored = Engine.restore(tenant(), clock, events)
        assert restored.uncommitted == 0, "restore had to emit events"
        assert restored.check_invariants() == []
        assert restored.state.seq == len(events)

        drain_copy(journal_path, tmp_path / f"drained-{run}.db", events[-1].at)
        before = events
    assert len(acknowledged(ack_path)) > 50
