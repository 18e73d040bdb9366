"""Child process of test_crash_recovery: simulated load on a journaled engine, until killed.

    python crash_child.py JOURNAL ACK_FILE RUN SEED

Restores the engine from JOURNAL (setting the tenant up when it is empty), then
runs load forever on a virtual clock that resumes at the journal's last event.
After every commit it appends the ids of the tasks whose `task.created` was in
the batch to ACK_FILE, one per line, flushed and fsynced: those are the tasks a
client was told exist. Prints `ready` once it has restored and committed, so
the parent kills it while it works, not while it starts.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
from collections.abc import Sequence

from journal_scenario import TENANT_ID, CountingIds, load_tick, set_up, tenant

from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.store.journal import SqliteJournal


def main(argv: Sequence[str]) -> int:
    journal_path, ack_path, run, seed = argv[0], argv[1], int(argv[2]), int(argv[3])
    journal = SqliteJournal(journal_path, tenant_id=TENANT_ID)
    last = journal.last_seq()
    start_at = 1_767_225_600.0
    for event in journal.read(after_seq=last - 1):
        start_at = event.at
    clock = VirtualClock(start_at)
    ids = CountingIds(f"r{run}-o")
    if last:
        engine = Engine.restore(tenant(), clock, journal.read(), journal=journal, ids=ids)
        problems = engine.check_invariants()
        if problems:
            print(f"invariants violated after restore: {problems}", file=sys.stderr)
            return 3
    else:
        engine = Engine(tenant(), clock, journal=journal, ids=ids)
        set_up(engine)

    ack = open(ack_path, "a", encoding="utf-8")  # noqa: SIM115 - open until killed

    def commit() -> None:
        batch = engine.commit()
        created = [e.data["task_id"] for e in batch if e.name == "task.created"]
        if created:
            ack.write("".join(f"{task_id}\n" for task_id in created))
            ack.flush()
            os.fsync(ack.fileno())

    commit()
    print("ready", flush=True)
    rng = random.Random(seed)
    counter = itertools.count(1)
    while True:
        load_tick(engine, rng, lambda: f"r{run}-t{next(counter)}", commit, advance=clock.advance)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
