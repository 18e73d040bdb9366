"""`switchboard bench odata`: a typical filtered page of the OData feed over many sessions.

For each database (SQLite and PostgreSQL) a fresh database gets one tenant with
`--services` services, an API key with `reporting:read`, and `--rows` service
sessions (default 1,000,000) spread over `--days` days, written in bulk (SQLite:
`executemany` of prepared rows in large transactions; PostgreSQL: `COPY`), then
`ANALYZE`d. The service runs in a child process under uvicorn (one worker, on a
free 127.0.0.1 port) and is asked, by 1 and by 50 concurrent clients (`--clients`),
for the page a report list shows: one service's sessions of one week, newest
first, 100 rows, a dozen columns, with the total —

    GET /odata/ServiceSessions?$filter=ServiceId eq 'svc-07' and StartedAt ge … and
        StartedAt lt …&$orderby=StartedAt desc&$top=100&$count=true&$select=…

with a random service and week per request (the same seeded sequence for every
run). The baseline, measured in the same run and with the same concurrency, is
the same query's SQL without HTTP or OData: the SELECT and COUNT statements the
feed compiles for it, executed through SQLAlchemy in this process. Printed per
database and concurrency: requests per second, latency p50/p95/p99 of the feed
and of the bare SQL, and the ratio feed ÷ SQL at p95. The goal is p95 ≤ 200 ms.

The per-tenant limit of concurrent OData requests (08 OD12: 20) is raised in
the benchmark's server, since 50 clients of one tenant measure query latency
under load, not the limiter. The load generator shares the machine with the
server and the database, so it is kept lean (keep-alive connections, answers
parsed by httptools); its CPU per request is printed beside the server's, with
the machine's load average as each level began.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import queue
import random
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.table import Table

from switchboard.cli.progress import progress_bar

GOAL_P95_MS = 200.0
TENANT_ID = "bench-odata"
PEPPER = b"switchboard-bench-odata-pepper-01"
HOST = "127.0.0.1"
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
PAGE = 100
SELECT = (
    "Id,StartedAt,ServiceId,Modality,Direction,OutcomeId,Handled,"
    "QueueSeconds,RingSeconds,ConnectedSeconds,AcwSeconds,EndReason"
)
POSTGRES_ADMIN = os.environ.get(
    "SWITCHBOARD_BENCH_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
STARTUP_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 60.0
BATCH = 20_000


def register(which: Any) -> None:
    """Add `odata` to the `switchboard bench` sub-commands."""
    o: argparse.ArgumentParser = which.add_parser(
        "odata",
        help="p50/p95 of a filtered OData page over 1,000,000 sessions, SQLite and PostgreSQL",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    o.add_argument("--rows", type=int, default=1_000_000, help="service sessions to generate")
    o.add_argument("--services", type=int, default=50)
    o.add_argument("--days", type=int, default=91, help="days the sessions are spread over")
    o.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    o.add_argument("--clients", default="1,50", help="comma-separated concurrency levels")
    o.add_argument("--requests", type=int, default=400, help="measured requests per level")
    o.add_argument("--warmup", type=int, default=50, help="unmeasured requests per level")
    o.add_argument("--seed", type=int, default=1)
    o.add_argument(
        "--odata-workers",
        type=int,
        default=0,
        help="worker processes running the feed's queries (`serve --odata-workers`; 0: "
        "threads of the service's process)",
    )
    o.add_argument(
        "--postgres",
        default=POSTGRES_ADMIN,
        help="libpq connection string of a maintenance database; a fresh database is "
        "created on that server for the run and dropped after it",
    )
    o.add_argument("--json", action="store_true", help="print one JSON object")
    o.add_argument("--plot", metavar="FILE.png", help="write a chart of the figures")
    o.set_defaults(handler=run_odata)


# ---------------------------------------------------------------------- the data


def _prepare(db_url: str, workdir: Path, rows: int, services: int, days: int, seed: int,
             advance: Callable[[int], None]) -> str:  # fmt: skip
    """Tenant, services and key through the product, sessions in bulk; returns the key."""
    from switchboard.api.keys import issue_api_key
    from switchboard.api.tenancy import Settings, Tenancy
    from switchboard.domain import config as cfg
    from switchboard.domain.enums import AssignmentType

    settings = Settings(db_url=db_url, var_dir=workdir, secret_key=PEPPER)
    setup = Tenancy(settings)
    setup.open()
    host = setup.create_tenant("Bench", tenant_id=TENANT_ID)
    for k in range(services):
        host.engine.upsert(
            "service",
            cfg.Service(
                id=_service_id(k),
                name=f"Line {k}",
                upn=f"line{k}@bench.switchboard.test",
                user_assignment_type=AssignmentType.TEAMS_BASED,
            ),
        )
    assert host.journal is not None
    host.journal.append(host.engine.drain())
    key = issue_api_key(
        setup, TENANT_ID, name="bench", scopes=["reporting:read"], created_by="bench odata"
    )
    _load_sessions(setup.db, rows, services, days, seed, advance)
    setup.db.dispose()
    return key


def _service_id(k: int) -> str:
    return f"svc-{k:02d}"


def _sessions(rows: int, services: int, days: int, seed: int) -> Iterator[dict[str, Any]]:
    """Plausible service sessions: a mix of answered, abandoned and timed-out calls."""
    rng = random.Random(seed)
    span = days * 86_400
    outcomes = (
        (5, 1, True),
        (5, 1, True),
        (5, 1, True),
        (4, 3, False),
        (14, 4, False),
        (11, 2, True),
    )
    for _ in range(rows):
        started = START + dt.timedelta(seconds=rng.random() * span)
        outcome, group, handled = outcomes[rng.randrange(len(outcomes))]
        queued = rng.random() < 0.9
        queue_ms = rng.randrange(1_000, 120_000) if queued else None
        talk = rng.randrange(30_000, 900_000) if outcome == 5 else 0
        ring = rng.randrange(2_000, 15_000) if outcome == 5 else 0
        end = started + dt.timedelta(milliseconds=5_000 + (queue_ms or 0) + ring + talk)
        yield {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "unified_session_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "task_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "service_id": _service_id(rng.randrange(services)),
            "ou_id": "root",
            "modality": "audio",
            "direction": "inbound",
            "task_kind": "audio_inbound",
            "sequence": 1,
            "started_at": started,
            "accepted_at": started + dt.timedelta(seconds=1),
            "first_enqueued_at": started + dt.timedelta(seconds=5) if queued else None,
            "ended_at": end,
            "ivr_ms": 5_000,
            "queue_ms": queue_ms,
            "ring_ms": ring,
            "connected_ms": talk,
            "hold_ms": 0,
            "acw_ms": 20_000 if outcome == 5 else 0,
            "outcome_id": outcome,
            "outcome_group_id": group,
            "handled": handled,
            "kpi_excluded": False,
            "end_reason": "completed" if handled else "customer_hangup",
            "offer_count": 1 if outcome == 5 else 0,
            "rona_count": 0,
            "priority": 0,
            "sla_acceptance_s": 20,
            "sla_hangup_s": 20,
        }


def _load_sessions(db: Any, rows: int, services: int, days: int, seed: int,
                   advance: Callable[[int], None]) -> None:  # fmt: skip
    """Every column of the table, by name from `_sessions` or a plain value of its type,
    so the generator keeps working when the table gains columns."""
    from sqlalchemy import BigInteger, Boolean, Integer

    from switchboard.store.schema import UtcDateTime, report_service_sessions

    table = report_service_sessions
    columns = [c for c in table.columns]
    sqlite = db.dialect.name == "sqlite"

    def fill(column: Any) -> Callable[[dict[str, Any]], Any]:
        name = column.name
        if name == "tenant_id":
            return lambda _row: TENANT_ID
        if isinstance(column.type, UtcDateTime):
            fallback = not column.nullable  # a required timestamp: the session's start

            def moment(row: dict[str, Any]) -> Any:
                value = row.get(name, row["started_at"] if fallback else None)
                return _sqlite_time(value) if sqlite else value

            return moment
        if column.nullable:
            return lambda row: row.get(name)
        if isinstance(column.type, Boolean):
            return lambda row: int(row.get(name, False)) if sqlite else row.get(name, False)
        if isinstance(column.type, Integer | BigInteger):
            return lambda row: row.get(name, 0)
        return lambda row: row.get(name, "")

    fills = [fill(c) for c in columns]
    names = ", ".join(c.name for c in columns)
    generated = _sessions(rows, services, days, seed)
    raw = db.raw_connection()
    try:
        if sqlite:
            marks = ", ".join("?" for _ in columns)
            cursor = raw.cursor()
            while True:
                batch = [tuple(f(row) for f in fills) for row in _take(generated, BATCH)]
                if not batch:
                    break
                cursor.execute("BEGIN")
                cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", batch)
                cursor.execute("COMMIT")
                advance(len(batch))
            cursor.execute("ANALYZE")
        else:
            copying = f"COPY {table.name} ({names}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(copying) as copy:
                done = 0
                for row in generated:
                    copy.write_row(tuple(f(row) for f in fills))
                    done += 1
                    if done % BATCH == 0:
                        advance(BATCH)
                advance(done % BATCH)
            raw.commit()
            driver = raw.driver_connection
            driver.autocommit = True  # VACUUM runs outside a transaction
            with driver.cursor() as cursor:
                # What autovacuum does to a table after a bulk load: statistics, and the
                # visibility map that lets the COUNT read the index alone.
                cursor.execute(f"VACUUM ANALYZE {table.name}")
    finally:
        raw.close()


def _sqlite_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _take(items: Iterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    taken = []
    for item in items:
        taken.append(item)
        if len(taken) == n:
            break
    return taken


# ---------------------------------------------------------------------- the queries


def _queries(n: int, services: int, days: int, seed: int) -> list[tuple[str, dt.datetime]]:
    rng = random.Random(seed * 7919 + n)
    return [
        (
            _service_id(rng.randrange(services)),
            START + dt.timedelta(days=rng.randrange(max(1, days - 7))),
        )
        for _ in range(n)
    ]


def _options(service_id: str, week: dt.datetime) -> list[tuple[str, str]]:
    end = week + dt.timedelta(days=7)
    return [
        (
            "$filter",
            f"ServiceId eq '{service_id}' and StartedAt ge {_iso(week)} "
            f"and StartedAt lt {_iso(end)}",
        ),
        ("$orderby", "StartedAt desc"),
        ("$top", str(PAGE)),
        ("$count", "true"),
        ("$select", SELECT),
    ]


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _path(service_id: str, week: dt.datetime) -> str:
    query = "&".join(f"{k}={quote(v, safe=',')}" for k, v in _options(service_id, week))
    return f"/odata/ServiceSessions?{query}"


# ---------------------------------------------------------------------- the server


def serve(db_url: str, workdir: str, workers: int, channel: Any, stop: Any,
          lifetime_s: float) -> None:  # fmt: skip
    """Child process: the service on a free port until `stop` is set (or time runs out)."""
    import uvicorn

    from switchboard.api.app import create_app
    from switchboard.api.observability import configure_logging
    from switchboard.api.tenancy import Settings, Tenancy

    configure_logging("WARNING")
    settings = Settings(
        db_url=db_url, var_dir=Path(workdir), secret_key=PEPPER, odata_workers=workers
    )
    tenancy = Tenancy(settings)
    app = create_app(tenancy=tenancy)
    app.state.odata_limits.per_tenant = 10_000  # measure the queries, not the limiter
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(2048)
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host=HOST, port=port, workers=1, log_level="warning",
                       log_config=None, access_log=False)
    )  # fmt: skip

    def watch() -> None:
        parent = mp.parent_process()
        deadline = time.monotonic() + lifetime_s
        while not stop.wait(0.5):
            if (parent is not None and not parent.is_alive()) or time.monotonic() > deadline:
                break
        server.should_exit = True

    threading.Thread(target=watch, name="bench-stop", daemon=True).start()
    channel.put(("listening", port))
    server.run(sockets=[sock])


@contextmanager
def _served(db_url: str, workdir: Path, workers: int,
            lifetime_s: float) -> Iterator[tuple[str, int]]:  # fmt: skip
    """The base URL and pid of a child process serving `db_url`; always stopped on the way
    out."""
    import httpx

    ctx = mp.get_context("spawn")
    channel, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=serve,
                       args=(db_url, str(workdir), workers, channel, stop, lifetime_s),
                       name="bench-odata-server")  # fmt: skip  # not daemonic: it has workers
    proc.start()
    try:
        started = time.monotonic()
        while True:
            try:
                _, port = channel.get(timeout=0.5)
                break
            except queue.Empty:
                if not proc.is_alive() or time.monotonic() - started > STARTUP_TIMEOUT_S:
                    raise RuntimeError(
                        f"the server did not start (exit code {proc.exitcode})"
                    ) from None
        base = f"http://{HOST}:{port}"
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2.0).status_code < 300:
                    break
            except httpx.HTTPError:
                pass
            if not proc.is_alive() or time.monotonic() - started > STARTUP_TIMEOUT_S:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.1)
        assert proc.pid is not None
        yield base, proc.pid
    finally:
        stop.set()
        proc.join(timeout=20)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
        channel.close()
        channel.join_thread()


class _Connection:
    """One keep-alive HTTP/1.1 connection of the load generator.

    Requests are written as bytes and answers parsed by httptools (the parser
    uvicorn serves with). httpx, used before, spent 2.3 ms of CPU per request with
    one client and 4.7 ms with fifty — as much as the server it measured, on the
    same two cores — so the figures were the load generator's as much as the feed's.
    """

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.head = (
            f"Host: {host}:{port}\r\nX-API-Key: {key}\r\nAccept: application/json\r\n\r\n"
        ).encode("latin-1")
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """Status and body of `GET path`; reconnects when the server closed the connection."""
        import httptools

        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(b"GET " + path.encode("ascii") + b" HTTP/1.1\r\n" + self.head)
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        try:
            while not answer.complete:
                chunk = await reader.read(65_536)
                if not chunk:
                    raise ConnectionError("the server closed the connection mid-answer")
                parser.feed_data(chunk)
        except BaseException:
            self.close()
            raise
        if not parser.should_keep_alive():
            self.close()
        return parser.get_status_code(), b"".join(answer.body)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class _Answer:
    """httptools' callbacks: the body's chunks and whether the answer is complete."""

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.complete = False

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


async def _drive(base: str, key: str, paths: Sequence[str], clients: int,
                 advance: Callable[[int], None]) -> dict[str, Any]:  # fmt: skip
    """Send `paths` over `clients` keep-alive connections; latencies of the 200s and the
    load generator's own CPU time."""
    import httptools
    import orjson

    host, port = base.removeprefix("http://").rsplit(":", 1)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    rows: list[int] = []
    pending = list(reversed(paths))
    pool = [_Connection(host, int(port), key) for _ in range(clients)]

    async def worker(connection: _Connection) -> None:
        while pending:
            path = pending.pop()
            sent = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    status, body = await connection.get(path)
                code = str(status)
                if status == 200:
                    latencies.append((time.perf_counter() - sent) * 1000)
                    rows.append(len(orjson.loads(body)["value"]))
            except (OSError, TimeoutError, httptools.HttpParserError) as error:
                code = type(error).__name__
            statuses[code] = statuses.get(code, 0) + 1
            advance(1)

    cpu = time.process_time()
    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in pool))
    finally:
        for connection in pool:
            connection.close()
    wall = time.perf_counter() - started
    return {"latencies": latencies, "statuses": statuses, "wall": wall, "rows": rows,
            "cpu": time.process_time() - cpu}  # fmt: skip


def _bare_sql(db_url: str, queries: Sequence[tuple[str, dt.datetime]], clients: int,
              advance: Callable[[int], None]) -> dict[str, Any]:  # fmt: skip
    """The same queries' SELECT and COUNT through SQLAlchemy, without HTTP or OData."""
    from switchboard.domain.access import Capability
    from switchboard.reporting.odata.options import parse_options
    from switchboard.reporting.odata.query import Context, statements
    from switchboard.reporting.odata.sets import ENTITY_SETS
    from switchboard.store.database import create_engine, transaction

    db = create_engine(db_url)
    dialect = db.dialect.name
    entity_set = ENTITY_SETS["ServiceSessions"]
    ctx = Context(TENANT_ID, ENTITY_SETS, {Capability.REPORTS: None})
    compiled: list[tuple[Any, Any, Any]] = []
    for service_id, week in queries:
        options = parse_options(entity_set, _options(service_id, week), ENTITY_SETS)
        compiled.append(statements(ctx, entity_set, options, dialect, PAGE + 1))
    latencies: list[float] = []
    lock = threading.Lock()

    def one(query: tuple[Any, Any, Any]) -> None:
        page, count, params = query
        sent = time.perf_counter()
        with transaction(db, TENANT_ID) as connection:
            connection.execute(count, params).scalar_one()
            connection.execute(page, params).all()
        with lock:
            latencies.append((time.perf_counter() - sent) * 1000)
        advance(1)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, compiled))
    wall = time.perf_counter() - started
    db.dispose()
    return {"latencies": latencies, "wall": wall}


def _cpu_seconds(pid: int) -> float:
    """User and system CPU so far of process `pid` and of its live descendants (the
    feed's worker processes), from Linux /proc; 0 elsewhere."""
    stats: dict[int, list[str]] = {}
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return 0.0
    for name in entries:
        try:
            stats[int(name)] = Path("/proc", name, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
    tree, grown = {pid}, True
    while grown:
        more = {p for p, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= more
        grown = bool(more)
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in tree if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def _figures(latencies: Sequence[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    n = len(ordered)

    def pct(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] if n else 0.0

    return {
        "requests": n,
        "requests_per_s": n / wall if wall > 0 else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] if n else 0.0,
    }


# ---------------------------------------------------------------------- one database


@contextmanager
def _database(kind: str, tmp: Path, admin: str) -> Iterator[str | None]:
    """A fresh database URL of `kind`, or None when PostgreSQL cannot be reached."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench-odata.sqlite3'}"
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import URL

    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.Error as error:
        Console(stderr=True).print(f"PostgreSQL skipped: cannot connect ({error})".strip())
        yield None
        return
    name = f"switchboard_bench_odata_{uuid.uuid4().hex[:10]}"
    with connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        info = connection.info
        try:
            yield URL.create("postgresql+psycopg", username=info.user,
                             password=info.password or None, host=info.host, port=info.port,
                             database=name).render_as_string(hide_password=False)  # fmt: skip
        finally:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def measure(options: dict[str, Any], *, show: bool) -> dict[str, Any]:
    report: dict[str, Any] = {"options": options, "machine": {"cpus": os.cpu_count()}, "runs": []}
    per_level = options["warmup"] + options["requests"]
    for kind in options["databases"]:
        with tempfile.TemporaryDirectory(prefix="switchboard-bench-odata-") as folder:
            tmp = Path(folder)
            with _database(kind, tmp, options["postgres"]) as url:
                if url is None:
                    report["runs"].append({"database": kind, "skipped": "unreachable"})
                    continue
                started = time.perf_counter()
                with progress_bar(
                    f"{kind}: sessions written", options["rows"], enabled=show
                ) as advance:
                    key = _prepare(url, tmp, options["rows"], options["services"],
                                   options["days"], options["seed"], advance)  # fmt: skip
                load_s = time.perf_counter() - started
                lifetime = 3600.0 + len(options["clients"]) * per_level * REQUEST_TIMEOUT_S
                with _served(url, tmp, options["odata_workers"], lifetime) as (base, pid):
                    for clients in options["clients"]:
                        queries = _queries(per_level, options["services"], options["days"],
                                           options["seed"] + clients)  # fmt: skip
                        paths = [_path(s, w) for s, w in queries]
                        total = 2 * per_level
                        label = f"{kind}, {clients} client{'s' if clients > 1 else ''}"
                        load = os.getloadavg()[0]
                        with progress_bar(label, total, enabled=show) as advance:
                            warm = options["warmup"]
                            asyncio.run(_drive(base, key, paths[:warm], clients, advance))
                            cpu = _cpu_seconds(pid)
                            feed = asyncio.run(_drive(base, key, paths[warm:], clients, advance))
                            cpu = _cpu_seconds(pid) - cpu
                            _bare_sql(url, queries[:warm], clients, advance)
                            bare = _bare_sql(url, queries[warm:], clients, advance)
                        served = _figures(feed["latencies"], feed["wall"])
                        raw = _figures(bare["latencies"], bare["wall"])
                        report["runs"].append(
                            {
                                "database": kind,
                                "clients": clients,
                                "rows": options["rows"],
                                "load_s": load_s,
                                "feed": served,
                                "sql": raw,
                                "statuses": feed["statuses"],
                                "mean_rows_per_page": (
                                    sum(feed["rows"]) / len(feed["rows"]) if feed["rows"] else 0
                                ),
                                "p95_ratio": served["p95_ms"] / raw["p95_ms"]
                                if raw["p95_ms"]
                                else None,
                                "meets_goal": served["p95_ms"] <= GOAL_P95_MS,
                                "server_cpu_ms_per_request": (
                                    cpu * 1000 / served["requests"] if served["requests"] else None
                                ),
                                "client_cpu_ms_per_request": (
                                    feed["cpu"] * 1000 / served["requests"]
                                    if served["requests"]
                                    else None
                                ),
                                # The machine's 1-minute load average as the level began
                                # (others' work on shared cores shows in the figures).
                                "load_average": load,
                            }
                        )
    report["goal_p95_ms"] = GOAL_P95_MS
    return report


# ---------------------------------------------------------------------- the command


def run_odata(args: argparse.Namespace) -> int:
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = [d for d in databases if d not in ("sqlite", "postgresql")]
    if unknown or not databases:
        raise ValueError(f"--databases takes sqlite and/or postgresql; got {args.databases!r}")
    try:
        clients = [int(c) for c in args.clients.split(",") if c.strip()]
    except ValueError:
        raise ValueError(
            f"--clients takes whole numbers, comma-separated; got {args.clients!r}"
        ) from None
    if not clients or any(c < 1 or c > 512 for c in clients):
        raise ValueError(f"--clients must be between 1 and 512 each; got {args.clients!r}")
    for name, least in (("rows", 1), ("services", 1), ("days", 8), ("requests", 1), ("warmup", 0),
                        ("odata_workers", 0)):  # fmt: skip
        if getattr(args, name) < least:
            flag = name.replace("_", "-")
            raise ValueError(f"--{flag} must be at least {least}; got {getattr(args, name)}")
    from switchboard.reporting.odata.workers import MAX_WORKERS

    if args.odata_workers > MAX_WORKERS:
        raise ValueError(f"--odata-workers must be at most {MAX_WORKERS}; got {args.odata_workers}")
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        raise ValueError(f"--plot: the folder of {args.plot} does not exist")
    options = {
        "rows": args.rows,
        "services": args.services,
        "days": args.days,
        "databases": databases,
        "clients": clients,
        "requests": args.requests,
        "warmup": args.warmup,
        "seed": args.seed,
        "odata_workers": args.odata_workers,
        "postgres": args.postgres,
    }
    report = measure(options, show=not args.json)
    if args.plot:
        plot(args.plot, report)
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    o = report["options"]
    table = Table(
        title=(
            f"OData: a filtered page of {PAGE} over {o['rows']:,} service sessions · "
            f"{o['requests']:,} requests per level after {o['warmup']} warm-up · "
            f"{report['machine']['cpus']} CPUs · OData workers: {o['odata_workers']}"
        )
    )
    columns = (
        *("database", "clients", "feed req/s", "feed p50", "feed p95", "feed p99"),
        *("SQL p50", "SQL p95", "feed ÷ SQL (p95)", "server CPU/req", "client CPU/req"),
        *("load avg", "goal p95 ≤ 200 ms"),
    )
    for column in columns:
        table.add_column(column, justify="right")
    for run in report["runs"]:
        if "skipped" in run:
            table.add_row(run["database"], "skipped: " + run["skipped"], *[""] * 11)
            continue
        feed, sql = run["feed"], run["sql"]
        ratio = run["p95_ratio"]
        table.add_row(
            run["database"],
            str(run["clients"]),
            f"{feed['requests_per_s']:.0f}",
            f"{feed['p50_ms']:.1f} ms",
            f"{feed['p95_ms']:.1f} ms",
            f"{feed['p99_ms']:.1f} ms",
            f"{sql['p50_ms']:.1f} ms",
            f"{sql['p95_ms']:.1f} ms",
            "" if ratio is None else f"{ratio:.1f}",
            _ms(run["server_cpu_ms_per_request"]),
            _ms(run["client_cpu_ms_per_request"]),
            f"{run['load_average']:.1f}",
            "met" if run["meets_goal"] else "missed",
        )
    console = Console()
    console.print(table)
    for run in report["runs"]:
        if "skipped" not in run:
            errors = {k: v for k, v in run["statuses"].items() if k != "200"}
            if errors:
                console.print(f"{run['database']}, {run['clients']} clients: answers {errors}")
    loads = {r["database"]: r["load_s"] for r in report["runs"] if "load_s" in r}
    for database, seconds in loads.items():
        console.print(f"{database}: {o['rows']:,} sessions written and analysed in {seconds:.0f} s")


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} ms"


def plot(path: str, report: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in report["runs"] if "skipped" not in r]
    labels = [
        f"{r['database']}\n{r['clients']} client{'s' if r['clients'] > 1 else ''}" for r in runs
    ]
    fig, axis = plt.subplots(figsize=(9, 4.5), dpi=110)
    xs = range(len(runs))
    width = 0.2
    bars = (
        ("feed p50", [r["feed"]["p50_ms"] for r in runs], "#9db8d9", -1.5),
        ("feed p95", [r["feed"]["p95_ms"] for r in runs], "#3b6ea8", -0.5),
        ("SQL p50", [r["sql"]["p50_ms"] for r in runs], "#c7c7c7", 0.5),
        ("SQL p95", [r["sql"]["p95_ms"] for r in runs], "#7f8c8d", 1.5),
    )
    for label, values, color, offset in bars:
        axis.bar([x + offset * width for x in xs], values, width, label=label, color=color)
    axis.axhline(GOAL_P95_MS, color="#c0392b", linestyle="--", label="goal: p95 ≤ 200 ms")
    axis.set_xticks(list(xs), labels)
    axis.set_yscale("log")  # one client's milliseconds beside fifty clients' seconds
    axis.set_ylabel("latency, ms (log scale)")
    axis.legend(fontsize=8)
    o = report["options"]
    fig.suptitle(
        f"switchboard bench odata: a filtered page of {PAGE} over {o['rows']:,} sessions "
        f"(feed over HTTP vs the same SQL in-process)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


__all__ = ["measure", "register", "run_odata"]
