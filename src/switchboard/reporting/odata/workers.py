"""Where the feed's queries run: threads of the API process, or worker processes.

A page of the feed costs a few milliseconds of CPU in Python — building and
running its statements, turning rows into JSON — and one process, whatever its
threads, uses one core for Python. `Readers(workers=N)` runs that part in N
worker processes (`switchboard serve --odata-workers N`), so the feed scales
with the machine's cores; `workers=0` (the default) runs it in threads of the
API process, as before.

The API process keeps every decision: it authenticates, checks the 08 §7 rights
and decides the scope on the tenant's writer (`Context`), parses and checks the
options, and only then hands the worker a `Read`: the tenant, the decided scope
and dimension rows, the set's name, the query options as the client sent them
and how to page. The worker parses the options again (the same code, so the same
answer), runs `read_page`, `read_count` or `read_entity` on its own connection to
the same database and sends back the JSON body as bytes (or the count, or the
entity). A worker holds no tenant state and never writes: the tenants' single
writers are untouched (docs/decisions.md). Refusals raised in a worker
(`ODataError`: a query over its time, …) reach the request as they were raised.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from switchboard.domain.access import Capability
from switchboard.reporting.odata.errors import ODataError
from switchboard.reporting.odata.model import EntitySet
from switchboard.reporting.odata.options import Options, parse_options
from switchboard.reporting.odata.query import Context, Paging, Rows, read_count, read_entity
from switchboard.reporting.odata.query import read_page as _read_page
from switchboard.reporting.odata.sets import ENTITY_SETS
from switchboard.store.database import create_engine

log = logging.getLogger(__name__)

#: Most worker processes `Readers` accepts (a node has no more cores than this to use).
MAX_WORKERS = 64


@dataclass(frozen=True, slots=True)
class Read:
    """One read of the feed as the API process decided it; what a worker receives."""

    kind: Literal["page", "count", "entity"]
    tenant_id: str
    scopes: Mapping[Capability, frozenset[str] | None]
    rows: Mapping[str, Rows]
    set_name: str
    pairs: tuple[tuple[str, str], ...]  # the query options as sent (parsed again)
    paging: Paging | None = None  # page
    key: Any = None  # entity
    service_root: str = ""  # entity


class Readers:
    """Runs the feed's reads in `workers` processes over the database at `url`, or in
    threads of this process over `db` when `workers` is 0."""

    def __init__(self, db: Engine, url: str, workers: int = 0) -> None:
        if not 0 <= workers <= MAX_WORKERS:
            raise ValueError(f"odata_workers must be between 0 and {MAX_WORKERS}; got {workers}")
        if workers and _private(url):
            raise ValueError(
                "odata_workers needs a database other processes can open; an in-memory "
                "SQLite database (sqlite://) belongs to this process alone"
            )
        self.db = db
        self.url = url
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the worker processes (nothing to start for threads)."""
        if self.workers and self._pool is None:
            pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server
                initializer=_start_worker,
                initargs=(self.url,),
            )
            try:
                for _ in range(self.workers):  # spawned and connected now, not on first use
                    pool.submit(_ready)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            self._pool = pool

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def page(
        self,
        ctx: Context,
        entity_set: EntitySet,
        options: Options,
        pairs: Sequence[tuple[str, str]],
        paging: Paging,
    ) -> bytes:
        """A collection's page as its JSON body."""
        if self._pool is None:
            return await asyncio.to_thread(_page_json, self.db, ctx, entity_set, options, paging)
        body: bytes = await self._in_worker(_read(ctx, entity_set, "page", pairs, paging=paging))
        return body

    async def count(
        self,
        ctx: Context,
        entity_set: EntitySet,
        options: Options,
        pairs: Sequence[tuple[str, str]],
    ) -> int:
        if self._pool is None:
            return await asyncio.to_thread(read_count, self.db, ctx, entity_set, options)
        found: int = await self._in_worker(_read(ctx, entity_set, "count", pairs))
        return found

    async def entity(
        self,
        ctx: Context,
        entity_set: EntitySet,
        key: Any,
        options: Options,
        pairs: Sequence[tuple[str, str]],
        service_root: str,
    ) -> dict[str, Any] | None:
        if self._pool is None:
            return await asyncio.to_thread(
                read_entity, self.db, ctx, entity_set, key, options, service_root
            )
        read = _read(ctx, entity_set, "entity", pairs, key=key, service_root=service_root)
        found: dict[str, Any] | None = await self._in_worker(read)
        return found

    async def _in_worker(self, read: Read) -> Any:
        pool = self._pool
        assert pool is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, perform, read)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the pool cannot be used again. Replace
            # it for the next requests; this one is answered with a retry.
            log.error("an OData worker process died; starting %d new ones", self.workers)
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
                self.start()
            raise ODataError(
                503,
                "reader_restarted",
                "The process reading this query stopped; retry after the time in Retry-After.",
                headers={"Retry-After": "1"},
            ) from None


def _read(
    ctx: Context,
    entity_set: EntitySet,
    kind: Literal["page", "count", "entity"],
    pairs: Sequence[tuple[str, str]],
    **more: Any,
) -> Read:
    return Read(kind, ctx.tenant_id, ctx.scopes, ctx.rows, entity_set.name, tuple(pairs), **more)


def _page_json(
    db: Engine, ctx: Context, entity_set: EntitySet, options: Options, paging: Paging
) -> bytes:
    return orjson.dumps(_read_page(db, ctx, entity_set, options, paging))


def _private(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    return parsed.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    )


# ---------------------------------------------------------------------- in a worker

_db: Engine | None = None


def _start_worker(url: str) -> None:
    global _db
    # Ctrl-C reaches the whole process group; the API process stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _db = create_engine(url)


def _ready() -> bool:
    return _db is not None


def perform(read: Read) -> Any:
    """What a worker does with a `Read` (also callable in-process, given `_start_worker`)."""
    assert _db is not None, "not a reader process"
    entity_set = ENTITY_SETS[read.set_name]
    ctx = Context(read.tenant_id, ENTITY_SETS, read.scopes, read.rows)
    options = parse_options(entity_set, read.pairs, ENTITY_SETS, collection=read.kind != "entity")
    if read.kind == "page":
        assert read.paging is not None
        return _page_json(_db, ctx, entity_set, options, read.paging)
    if read.kind == "count":
        return read_count(_db, ctx, entity_set, options)
    return read_entity(_db, ctx, entity_set, read.key, options, read.service_root)


__all__ = ["MAX_WORKERS", "Read", "Readers", "perform"]
