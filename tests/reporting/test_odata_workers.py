"""The feed's reads in worker processes answer exactly what they answer in threads.

`Readers(workers=N)` hands a worker the decided scope and the options as sent;
the worker parses them again and reads its own connection to the same database.
These tests read pages (with a next page), counts and entities both ways on
SQLite and PostgreSQL, check that refusals raised in a worker arrive whole, and
that a worker that dies is replaced.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from odata_harness import new_tenants, odata_db, odata_postgres_url
from odata_rows import EPOCH, insert_rows
from sqlalchemy import Engine

from switchboard.domain.access import Capability
from switchboard.reporting.odata.errors import ODataError
from switchboard.reporting.odata.options import parse_options
from switchboard.reporting.odata.query import Context, Paging
from switchboard.reporting.odata.sets import ENTITY_SETS
from switchboard.reporting.odata.workers import Readers
from switchboard.store.schema import report_service_sessions

__all__ = ["odata_db", "odata_postgres_url"]

SESSIONS = ENTITY_SETS["ServiceSessions"]
SECRET = b"workers-test-secret-0123456789abc"
ROOT = "http://x.test/odata/"


def url_of(db: Engine) -> str:
    return db.url.render_as_string(hide_password=False)


async def both(db: Engine) -> AsyncIterator[Readers]:
    for workers in (0, 1):
        readers = Readers(db, url_of(db), workers)
        readers.start()
        try:
            yield readers
        finally:
            await readers.stop()


async def answers(
    readers: Readers, ctx: Context, pairs: Sequence[tuple[str, str]], key: str
) -> tuple[Any, ...]:
    options = parse_options(SESSIONS, pairs, ENTITY_SETS)
    paging = Paging(ROOT, list(pairs), SECRET, 2)
    first = orjson.loads(await readers.page(ctx, SESSIONS, options, pairs, paging))
    more_pairs = parse_qsl(urlsplit(first["@odata.nextLink"]).query)
    more = parse_options(SESSIONS, more_pairs, ENTITY_SETS)
    second = orjson.loads(await readers.page(ctx, SESSIONS, more, more_pairs, paging))
    count = await readers.count(ctx, SESSIONS, options, pairs)
    select = [("$select", "Id,ServiceId")]
    one = parse_options(SESSIONS, select, ENTITY_SETS, collection=False)
    entity = await readers.entity(ctx, SESSIONS, key, one, select, ROOT)
    return first, second, count, entity


def test_workers_answer_what_threads_answer(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    made: list[dict[str, Any]] = [
        {"id": str(uuid.uuid4()), "service_id": f"s{i % 3}", "queue_ms": 1000 * i,
         "started_at": EPOCH.replace(minute=i)}
        for i in range(9)
    ]  # fmt: skip
    insert_rows(odata_db, tenant, report_service_sessions, made)
    ctx = Context(tenant, ENTITY_SETS, {Capability.REPORTS: frozenset({"s0", "s1"})})
    pairs = [
        ("$filter", "QueueSeconds ge 1"),
        ("$orderby", "StartedAt desc"),
        ("$select", "Id,QueueSeconds,StartedAt"),
        ("$count", "true"),
    ]

    async def run() -> list[tuple[Any, ...]]:
        return [await answers(r, ctx, pairs, made[1]["id"]) async for r in both(odata_db)]

    threads, workers = asyncio.run(run())
    assert workers == threads
    first, second, count, entity = threads
    assert count == first["@odata.count"] == 5  # s0 and s1 of 1..8: 1, 3, 4, 6, 7
    assert [e["QueueSeconds"] for e in first["value"] + second["value"]] == [7.0, 6.0, 4.0, 3.0]
    assert entity is not None and entity["ServiceId"] == "s1"


def test_a_refusal_in_a_worker_arrives_whole(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    ctx = Context(tenant, ENTITY_SETS, {Capability.REPORTS: None})
    pairs = [("$skiptoken", "forged")]
    options = parse_options(SESSIONS, pairs, ENTITY_SETS)

    async def run() -> list[ODataError]:
        refused = []
        async for readers in both(odata_db):
            with pytest.raises(ODataError) as caught:
                await readers.page(ctx, SESSIONS, options, pairs, Paging(ROOT, [], SECRET))
            refused.append(caught.value)
        return refused

    threads, workers = asyncio.run(run())
    assert (workers.status, workers.code, workers.target, workers.message) == (
        threads.status,
        threads.code,
        threads.target,
        threads.message,
    )
    assert threads.status == 400


def test_odata_errors_pickle_with_everything() -> None:
    error = ODataError(503, "query_timeout", "Too long.", target="$filter",
                       details=[{"code": "x"}], headers={"Retry-After": "30"})  # fmt: skip
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ODataError)
    assert vars(copy) == vars(error) and str(copy) == "Too long."


def test_a_worker_that_dies_is_replaced(tmp_path: Any) -> None:
    from switchboard.store.database import create_engine, migrate

    db = create_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    migrate(db)
    ctx = Context("t1", ENTITY_SETS, {Capability.REPORTS: None})
    options = parse_options(SESSIONS, [], ENTITY_SETS)

    async def run() -> None:
        readers = Readers(db, url_of(db), 1)
        readers.start()
        try:
            assert await readers.count(ctx, SESSIONS, options, []) == 0
            pool = readers._pool
            assert pool is not None
            for pid in list(pool._processes):
                os.kill(pid, signal.SIGKILL)
            with pytest.raises(ODataError) as caught:
                await readers.count(ctx, SESSIONS, options, [])
            assert (caught.value.status, caught.value.code) == (503, "reader_restarted")
            assert await readers.count(ctx, SESSIONS, options, []) == 0
        finally:
            await readers.stop()

    asyncio.run(run())
    db.dispose()


@pytest.mark.parametrize(
    ("url", "workers", "named"),
    [
        ("sqlite://", 1, "in-memory"),
        ("sqlite:///x.sqlite3", -1, "between 0 and"),
        ("sqlite:///x.sqlite3", 65, "between 0 and"),
    ],
)
def test_impossible_worker_settings_are_refused(url: str, workers: int, named: str) -> None:
    from switchboard.store.database import create_engine

    with pytest.raises(ValueError, match=named):
        Readers(create_engine("sqlite://"), url, workers)
