"""`switchboard bench api`: task creation over HTTP on loopback, beside a bare endpoint.

Two servers run one after the other, each in a fresh process under uvicorn (one
worker, `--log-level warning`) on a free 127.0.0.1 port: first a bare ASGI
endpoint that answers every POST with a small JSON 201 (the baseline: what
uvicorn, the loopback and the load generator cost), then the real service on a
temporary SQLite database with one tenant, one Teams-based service and an API
key with `tasks:write`. The same load generator (httpx, N concurrent
keep-alive connections, a warm-up, then the measured requests) drives both with
`POST /api/v1/tasks`. Printed per server: requests per second, latency
p50/p95/p99 and CPU time per request; for the service also the events it
journaled and how many commits carried them (`/metrics`, before and after), so
the group commit is visible. The ratio service ÷ bare (requests per second)
says what the service costs over the HTTP stack it runs on. The load generator
shares the machine with the server, so on a small machine the bare endpoint is
limited by the client; server CPU per request (bare ÷ service) is the view of
the two servers that does not depend on the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import queue
import re
import socket
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import AsyncExitStack, closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from switchboard.cli.bench_report import emit, ms_percentile, plot_two_runs, print_verdict
from switchboard.cli.progress import progress_bar

TARGETS = {"ratio": 0.5}

TENANT_ID = "bench-tenant"
SERVICE_ID = "svc-bench"
TASK_PATH = "/api/v1/tasks"
TASK_BODY = json.dumps({"service_id": SERVICE_ID, "kind": "audio_inbound"}).encode()
PEPPER = b"switchboard-bench-api-pepper-0123"
HOST = "127.0.0.1"

#: Bounds that keep every phase finite whatever the flags and the machine do.
STARTUP_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 20.0
MAX_CONCURRENCY = 512

_COMMITS = re.compile(
    r'^switchboard_journal_commits_total\{tenant="' + re.escape(TENANT_ID) + r'"\}\s+(\S+)$',
    re.MULTILINE,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def register(which: Any) -> None:
    """Add `api` to the `switchboard bench` sub-commands."""
    a: argparse.ArgumentParser = which.add_parser(
        "api",
        help="task-creation requests/s and p99 over loopback HTTP, beside a bare ASGI endpoint",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a.add_argument("--requests", type=int, default=5_000, help="measured requests per server")
    a.add_argument("--concurrency", type=int, default=32, help="concurrent connections")
    a.add_argument("--warmup", type=int, default=200, help="unmeasured requests first")
    a.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="time limit of each phase (warm-up, measured) per server; stops early if reached",
    )
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.add_argument("--plot", metavar="FILE.png", help="write a chart of the two servers")
    a.set_defaults(handler=run_api)


# ---------------------------------------------------------------- the two servers


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The baseline: a raw ASGI endpoint answering every request with a small JSON 201."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the whole body, as a real endpoint must
        message = await receive()
        more = bool(message.get("more_body", False))
    body = b'{"id":"bare","state":"queued"}'
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _prepare_service(workdir: Path) -> tuple[Any, str]:
    """A database with one tenant, one Teams-based service and a key; returns (settings, key)."""
    from switchboard.api.keys import issue_api_key
    from switchboard.api.tenancy import Settings, Tenancy
    from switchboard.domain import config as cfg
    from switchboard.domain.enums import AssignmentType

    settings = Settings(
        db_url=f"sqlite:///{workdir / 'switchboard.sqlite3'}", var_dir=workdir, secret_key=PEPPER
    )
    setup = Tenancy(settings)
    setup.open()
    host = setup.create_tenant("Bench", tenant_id=TENANT_ID)
    host.engine.upsert(
        "service",
        cfg.Service(
            id=SERVICE_ID,
            name="Bench line",
            upn="bench@bench.switchboard.test",
            user_assignment_type=AssignmentType.TEAMS_BASED,
        ),
    )
    assert host.journal is not None
    host.journal.append(host.engine.drain())
    key = issue_api_key(
        setup, TENANT_ID, name="bench", scopes=["tasks:write"], created_by="switchboard bench api"
    )
    setup.db.dispose()
    return settings, key


def serve(kind: str, workdir: str, channel: Any, stop: Any, lifetime_s: float) -> None:
    """Child process: run one server until `stop` is set (or the parent dies, or time runs out).

    Reports `("listening", port, api_key)` once the socket is bound, and for the
    service `("stats", host stats)` after its graceful shutdown.
    """
    import uvicorn

    from switchboard.api.observability import configure_logging

    # As `switchboard serve` does, at `--log-level warning`: no line per request, and
    # nothing on stdout (which `--json` keeps for the report).
    configure_logging("WARNING")
    tenancy: Any = None
    key = ""
    if kind == "service":
        from switchboard.api.app import create_app
        from switchboard.api.tenancy import Tenancy

        settings, key = _prepare_service(Path(workdir))
        tenancy = Tenancy(settings)  # opened (migrated, restored) at startup, like `serve`
        app: Any = create_app(tenancy=tenancy)
    else:
        app = bare_app
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))  # a free port, chosen by the kernel: no race with other processes
    sock.listen(2048)
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        workers=1,
        log_level="warning",
        log_config=None,  # the JSON logging configured above
        access_log=False,  # the service writes its own access lines (at info)
    )
    server = uvicorn.Server(config)

    def watch() -> None:
        parent = mp.parent_process()
        deadline = time.monotonic() + lifetime_s
        while not stop.wait(0.5):
            if (parent is not None and not parent.is_alive()) or time.monotonic() > deadline:
                break
        server.should_exit = True

    threading.Thread(target=watch, name="bench-stop", daemon=True).start()
    channel.put(("listening", port, key))
    server.run(sockets=[sock])
    if tenancy is not None and TENANT_ID in tenancy.hosts:
        channel.put(("stats", asdict(tenancy.hosts[TENANT_ID].stats)))


class _Served:
    def __init__(self, kind: str, workdir: Path, proc: Any, port: int, key: str) -> None:
        self.kind = kind
        self.workdir = workdir
        self.proc = proc
        self.port = port
        self.key = key
        self.stats: dict[str, Any] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the server process so far (all its threads), if /proc has it."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _served(kind: str, workdir: Path, lifetime_s: float) -> Iterator[_Served]:
    """Start one server child; always stop it (gracefully, then by force) on the way out."""
    ctx = mp.get_context("spawn")
    channel = ctx.Queue()
    stop = ctx.Event()
    proc = ctx.Process(
        target=serve,
        args=(kind, str(workdir), channel, stop, lifetime_s),
        name=f"bench-api-{kind}",
        daemon=True,
    )
    proc.start()
    served: _Served | None = None
    try:
        started = time.monotonic()
        while served is None:
            try:
                message = channel.get(timeout=0.5)
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(
                        f"the {kind} server exited with {proc.exitcode} before listening"
                    ) from None
                if time.monotonic() - started > STARTUP_TIMEOUT_S:
                    raise RuntimeError(
                        f"the {kind} server did not listen within {STARTUP_TIMEOUT_S:.0f} s"
                    ) from None
                continue
            served = _Served(kind, workdir, proc, int(message[1]), str(message[2]))
        _wait_ready(served, proc, started)
        yield served
    finally:
        stop.set()
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT_S
        while proc.is_alive() and time.monotonic() < deadline:
            try:
                message = channel.get(timeout=0.2)
            except queue.Empty:
                continue
            if message[0] == "stats" and served is not None:
                served.stats = message[1]
        proc.join(timeout=max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
        if served is not None and served.stats is None:
            try:  # the report may have arrived just as the process ended
                message = channel.get(timeout=0.5)
                if message[0] == "stats":
                    served.stats = message[1]
            except queue.Empty:
                pass
        channel.close()
        channel.join_thread()


def _wait_ready(served: _Served, proc: Any, started: float) -> None:
    import httpx

    path = "/readyz" if served.kind == "service" else "/"
    while True:
        try:
            answer = httpx.get(served.base + path, timeout=2.0)
            if answer.status_code < 300:
                return
        except httpx.HTTPError:
            pass
        if not proc.is_alive():
            raise RuntimeError(f"the {served.kind} server exited with {proc.exitcode}")
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            raise RuntimeError(
                f"the {served.kind} server was not ready within {STARTUP_TIMEOUT_S:.0f} s"
            )
        time.sleep(0.1)


# ---------------------------------------------------------------- the load generator


async def _drive(
    clients: list[Any],
    total: int,
    time_limit_s: float,
    advance: Callable[[int], None],
) -> dict[str, Any]:
    """Send `total` POSTs, one connection per client; stop early at `time_limit_s`."""
    import httpx

    latencies: list[int] = []
    statuses: Counter[str] = Counter()
    remaining = total
    start = time.perf_counter()
    deadline = start + time_limit_s

    async def worker(client: Any) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            sent = time.perf_counter_ns()
            try:
                answer = await client.post(TASK_PATH, content=TASK_BODY)
                code = str(answer.status_code)
            except httpx.HTTPError as error:
                code = type(error).__name__
            if code == "201":
                latencies.append(time.perf_counter_ns() - sent)
            statuses[code] += 1
            advance(1)

    await asyncio.gather(*(worker(client) for client in clients[:total]))
    wall = time.perf_counter() - start
    return {"latencies": latencies, "statuses": statuses, "wall": wall, "unsent": remaining}


async def _load(
    served: _Served, options: dict[str, Any], advance: Callable[[int], None]
) -> dict[str, Any]:
    import httpx

    headers = {"content-type": "application/json"}
    if served.key:
        headers["authorization"] = f"Bearer {served.key}"
    # One client per connection: a single pool of N connections costs httpx about
    # 2.5× the client CPU per request, and the client shares the machine with the server.
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=served.base,
                    headers=headers,
                    limits=one,
                    timeout=httpx.Timeout(REQUEST_TIMEOUT_S),
                )
            )
            for _ in range(options["concurrency"])
        ]
        client = clients[0]
        if options["warmup"]:
            await _drive(clients, options["warmup"], options["max_seconds"], advance)
        before = await _journal_position(client, served)
        cpu_before = served.cpu_seconds()
        client_before = time.process_time()
        run = await _drive(clients, options["requests"], options["max_seconds"], advance)
        client_cpu = time.process_time() - client_before
        cpu_after = served.cpu_seconds()
        after = await _journal_position(client, served)
    latencies = sorted(run["latencies"])
    ok = len(latencies)
    statuses: Counter[str] = run["statuses"]
    completed = sum(statuses.values())
    wall = run["wall"]

    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    figures: dict[str, Any] = {
        "server": served.kind,
        "url": served.base + TASK_PATH,
        "requests": completed,
        "ok": ok,
        "errors": completed - ok,
        "statuses": dict(statuses),
        "stopped_early": run["unsent"] > 0,
        "wall_s": wall,
        "requests_per_s": ok / wall if wall > 0 else 0.0,
        "mean_ms": sum(latencies) / ok / 1e6 if ok else 0.0,
        "p50_ms": ms_percentile(latencies, 0.50),
        "p95_ms": ms_percentile(latencies, 0.95),
        "p99_ms": ms_percentile(latencies, 0.99),
        "max_ms": latencies[-1] / 1e6 if ok else 0.0,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_request": (
            server_cpu / completed * 1e3 if server_cpu is not None and completed else None
        ),
        "client_cpu_s": client_cpu,
        "client_cpu_ms_per_request": client_cpu / completed * 1e3 if completed else None,
    }
    if served.kind == "service":
        events = after["events"] - before["events"]
        commits = after["commits"] - before["commits"]
        figures["journal"] = {
            "events": events,
            "commits": commits,
            "events_per_commit": events / commits if commits else 0.0,
            "requests_per_commit": completed / commits if commits else 0.0,
        }
    return figures


async def _journal_position(client: Any, served: _Served) -> dict[str, int]:
    """Commits so far (from `/metrics`) and events journaled (the tenant's last seq)."""
    if served.kind != "service":
        return {"commits": 0, "events": 0}
    answer = await client.get("/metrics")
    answer.raise_for_status()
    found = _COMMITS.search(answer.text)
    if found is None:
        raise RuntimeError("GET /metrics has no switchboard_journal_commits_total for the tenant")
    return {"commits": int(float(found.group(1))), "events": _last_seq(served.workdir)}


def _last_seq(workdir: Path) -> int:
    """The journal is gap-free from seq 1, so its last seq counts the events journaled."""
    database = workdir / "switchboard.sqlite3"
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5.0)) as db:
        row = db.execute(
            "SELECT max(seq) FROM journal WHERE tenant_id = ?", (TENANT_ID,)
        ).fetchone()
    return int(row[0] or 0)


# ---------------------------------------------------------------- the command


def measure(options: dict[str, Any], *, show: bool) -> dict[str, Any]:
    """Both servers, one after the other, under the same load; returns the report."""
    per_server = options["warmup"] + options["requests"]
    # Each child also stops by itself well after the longest run the flags allow.
    lifetime = 2 * (options["max_seconds"] + REQUEST_TIMEOUT_S) + STARTUP_TIMEOUT_S + 60
    runs: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="switchboard-bench-api-") as tmp,
        progress_bar("requests sent", 2 * per_server, enabled=show) as advance,
    ):
        for kind in ("baseline", "service"):
            workdir = Path(tmp) / kind
            workdir.mkdir()
            with _served(kind, workdir, lifetime) as served:
                runs[kind] = asyncio.run(_load(served, options, advance))
            if kind == "service":
                stats = served.stats or {}
                batches = stats.get("batches", 0)
                runs[kind]["journal"]["whole_run"] = {
                    "requests": stats.get("items"),
                    "events": stats.get("events"),
                    "commits": batches,
                    "largest_batch": stats.get("largest_batch"),
                    "commit_ms_mean": (
                        stats["commit_seconds"] / batches * 1e3 if batches else None
                    ),
                    "commit_s_total": stats.get("commit_seconds"),
                }
    base, service = runs["baseline"], runs["service"]
    ratio = (
        service["requests_per_s"] / base["requests_per_s"] if base["requests_per_s"] > 0 else 0.0
    )
    report: dict[str, Any] = {
        "options": options,
        "machine": {"cpus": os.cpu_count()},
        "baseline": base,
        "service": service,
        "ratio": ratio,
        "p99_ratio": service["p99_ms"] / base["p99_ms"] if base["p99_ms"] > 0 else 0.0,
        # What the ratio would be if the servers, not the load generator, were the limit.
        "server_cpu_ratio": (
            base["server_cpu_ms_per_request"] / service["server_cpu_ms_per_request"]
            if base["server_cpu_ms_per_request"] and service["server_cpu_ms_per_request"]
            else None
        ),
        "targets": TARGETS,
    }
    report["meets"] = {"ratio": ratio >= TARGETS["ratio"]}
    return report


def run_api(args: argparse.Namespace) -> int:
    for name, least in (("requests", 1), ("concurrency", 1), ("warmup", 0)):
        if getattr(args, name) < least:
            raise ValueError(f"--{name} must be at least {least}; got {getattr(args, name)}")
    if args.concurrency > MAX_CONCURRENCY:
        raise ValueError(f"--concurrency must be at most {MAX_CONCURRENCY}; got {args.concurrency}")
    if not (math.isfinite(args.max_seconds) and args.max_seconds > 0):
        raise ValueError(f"--max-seconds must be a positive number; got {args.max_seconds}")
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        raise ValueError(f"--plot: the folder of {args.plot} does not exist")
    options = {
        key: getattr(args, key) for key in ("requests", "concurrency", "warmup", "max_seconds")
    }
    return emit(args, measure(options, show=not args.json), plot=plot, print_report=print_report)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def print_report(report: dict[str, Any]) -> None:
    o = report["options"]
    table = Table(
        title=(
            f"API: POST {TASK_PATH} · {o['requests']:,} requests after {o['warmup']:,} warm-up · "
            f"{o['concurrency']} connections · loopback · {report['machine']['cpus']} CPUs"
        )
    )
    table.add_column("figure")
    table.add_column("bare ASGI", justify="right")
    table.add_column("service", justify="right")
    table.add_column("target", justify="right")
    base, service = report["baseline"], report["service"]
    rows = [
        ("requests / s", "requests_per_s", "{:,.0f}"),
        ("latency p50, ms", "p50_ms", "{:.2f}"),
        ("latency p95, ms", "p95_ms", "{:.2f}"),
        ("latency p99, ms", "p99_ms", "{:.2f}"),
        ("latency max, ms", "max_ms", "{:.2f}"),
        ("errors", "errors", "{:,}"),
        ("wall time, s", "wall_s", "{:.2f}"),
    ]
    for label, key, fmt in rows:
        table.add_row(label, fmt.format(base[key]), fmt.format(service[key]), "")
    table.add_row(
        "server CPU per request, ms",
        _ms(base["server_cpu_ms_per_request"]),
        _ms(service["server_cpu_ms_per_request"]),
        "",
    )
    table.add_row(
        "client CPU per request, ms",
        _ms(base["client_cpu_ms_per_request"]),
        _ms(service["client_cpu_ms_per_request"]),
        "",
    )
    journal = service["journal"]
    table.add_row("events journaled", "", f"{journal['events']:,}", "")
    table.add_row("journal commits", "", f"{journal['commits']:,}", "")
    table.add_row("requests per commit", "", f"{journal['requests_per_commit']:.1f}", "")
    table.add_row("events per commit", "", f"{journal['events_per_commit']:.1f}", "")
    whole = journal.get("whole_run", {})
    if whole.get("largest_batch") is not None:
        table.add_row("largest batch (whole run)", "", f"{whole['largest_batch']:,}", "")
    if whole.get("commit_ms_mean") is not None:
        table.add_row("mean commit, ms (whole run)", "", f"{whole['commit_ms_mean']:.2f}", "")
    table.add_row("service ÷ bare, requests / s", "", f"{report['ratio']:.2f}", "≥ 0.50")
    if report["server_cpu_ratio"] is not None:
        table.add_row(
            "bare ÷ service, server CPU / request", "", f"{report['server_cpu_ratio']:.2f}", ""
        )
    console = Console()
    console.print(table)
    stopped = [k for k in ("baseline", "service") if report[k]["stopped_early"]]
    if stopped:
        console.print(f"stopped at --max-seconds before all requests: {', '.join(stopped)}")
    print_verdict(console, report)


def plot(path: str, report: dict[str, Any]) -> None:
    base, service = report["baseline"], report["service"]
    o = report["options"]
    plot_two_runs(
        path,
        names=("bare ASGI", "service"),
        rates=(base["requests_per_s"], service["requests_per_s"]),
        rate_label="requests per second",
        target=TARGETS["ratio"] * base["requests_per_s"],
        target_label=f"target: {TARGETS['ratio']:.0%} of bare",
        quantiles=("p50", "p95", "p99"),
        latencies=(
            (base["p50_ms"], base["p95_ms"], base["p99_ms"]),
            (service["p50_ms"], service["p95_ms"], service["p99_ms"]),
        ),
        latency_label="latency, ms",
        title=f"switchboard bench api: POST {TASK_PATH}, {o['concurrency']} connections, loopback",
        rate_title=f"service ÷ bare = {report['ratio']:.2f}",
    )
