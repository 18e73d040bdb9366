"""Rebuilding a tenant's reporting tables from its journal (`switchboard reports rebuild`).

The tables are emptied, then the whole journal is folded through a fresh
`Projector` — the fold the service runs incrementally — and written in chunks,
each chunk one transaction that also moves the cursor; the last one saves the
projection's in-flight state, so the service resumes from there.

Run it while the service is stopped, or at least not serving the tenant: a
running service keeps projecting the same tenant, and the first of the two to
find the cursor moved under it stops (the rebuild with `CursorMoved`, the
service by re-reading the tables' state), so the tables stay consistent either
way, but the rebuild may not be the one that finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from switchboard.engine.events import Event
from switchboard.reporting.projection import Output, Projector
from switchboard.reporting.storage import ReportStore
from switchboard.store.sql_journal import SqlJournal

__all__ = ["CHUNK_EVENTS", "RebuildResult", "project", "rebuild"]

#: Events folded per transaction of a rebuild.
CHUNK_EVENTS = 20_000


@dataclass(frozen=True, slots=True)
class RebuildResult:
    events: int
    unified_sessions: int
    service_sessions: int
    user_sessions: int
    transfer_sessions: int
    user_states: int
    #: tasks still live (or in after-call work) at the journal's end: not reported yet (RP2)
    in_flight: int


def rebuild(
    db: Engine,
    tenant_id: str,
    *,
    progress: Callable[[int], None] | None = None,
    chunk_events: int = CHUNK_EVENTS,
) -> RebuildResult:
    """Empty the tenant's reporting tables and project its whole journal into them.

    `progress(n)` is called as events are folded (n events at a time); the total
    is the journal's last seq (`SqlJournal(db, tenant_id).last_seq()`).
    """
    store = ReportStore(db, tenant_id)
    store.reset()
    return project(
        store, SqlJournal(db, tenant_id).read(), Projector(), progress, chunk_events=chunk_events
    )


def project(
    store: ReportStore,
    events: Iterable[Event],
    projector: Projector,
    progress: Callable[[int], None] | None = None,
    *,
    chunk_events: int = CHUNK_EVENTS,
) -> RebuildResult:
    """Fold `events` (continuing `projector`, whose rows up to its seq are stored) into
    the tables, a chunk per transaction, and save the in-flight state at the end."""
    if chunk_events < 1:
        raise ValueError(f"chunk_events must be positive, not {chunk_events}")
    written = dict.fromkeys(_KINDS, 0)
    folded = 0
    pending = 0
    after = projector.seq
    for event in events:
        projector.apply(event)
        folded += 1
        pending += 1
        if pending >= chunk_events:
            out = projector.take()
            store.write(out, after=after, seq=projector.seq)
            _count(written, out)
            after = projector.seq
            if progress is not None:
                progress(pending)
            pending = 0
    out = projector.take()
    store.write(out, after=after, seq=projector.seq, snapshot=projector.snapshot())
    _count(written, out)
    if progress is not None and pending:
        progress(pending)
    return RebuildResult(
        events=folded,
        unified_sessions=written["unified"],
        service_sessions=written["service"],
        user_sessions=written["user"],
        transfer_sessions=written["transfer"],
        user_states=written["states"],
        in_flight=len(projector.state.tasks),
    )


#: The row lists of an `Output`.
_KINDS = ("unified", "service", "user", "transfer", "states")


def _count(written: dict[str, int], out: Output) -> None:
    for kind in _KINDS:
        written[kind] += len(getattr(out, kind))
