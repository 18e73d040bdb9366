"""The feed read by an independent OData v4 client, over real HTTP (08 OD13).

`python-odata` (PyPI) reflects `$metadata` into entity classes, reads every
entity set, and builds its own query URLs: `$filter` with its literal formats,
`$select`, `$orderby`, `$top`, `$skip`, `$expand`, `$count`, and it follows
`@odata.nextLink` by itself. The server is uvicorn on a loopback socket, as in
production.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
import uvicorn
from odata import ODataService
from odata_api_harness import EPOCH, insert_rows, reporting_key

from switchboard.api.app import create_app
from switchboard.api.tenancy import Settings, Tenancy
from switchboard.reporting.odata.sets import ENTITY_SETS
from switchboard.store.schema import (
    report_service_aggregates,
    report_service_sessions,
    report_transfer_sessions,
    report_unified_sessions,
    report_user_aggregates,
    report_user_sessions,
)

ROWS = 23  # more than one page of the small page size the client is served below


@dataclass
class Feed:
    url: str
    service: ODataService
    session: requests.Session
    sessions: list[dict[str, Any]]


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    tmp: Path = tmp_path_factory.mktemp("odata-conformance")
    tenancy = Tenancy(
        Settings(
            db_url=f"sqlite:///{tmp / 'db.sqlite3'}",
            var_dir=tmp,
            secret_key=b"odata-conformance-pepper-0123456",
        )
    )
    tenancy.open()
    host = tenancy.create_tenant("A", tenant_id="tenant-a")
    key = reporting_key(tenancy, "tenant-a")
    sessions = _seed(tenancy)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    app = create_app(tenancy=tenancy)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < end and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    assert host is tenancy.hosts["tenant-a"]
    url = f"http://127.0.0.1:{port}/odata/"
    session = requests.Session()
    # Small pages, so that every listing below goes through several nextLinks.
    session.headers.update({"X-API-Key": key, "Prefer": "odata.maxpagesize=5"})
    try:
        service = ODataService(url, session=session, reflect_entities=True, quiet_progress=True)
        yield Feed(url, service, session, sessions)
    finally:
        session.close()
        server.should_exit = True
        thread.join(timeout=20)
        listening.close()


def _seed(tenancy: Tenancy) -> list[dict[str, Any]]:
    db = tenancy.db
    unified = insert_rows(db, "tenant-a", report_unified_sessions, [{} for _ in range(ROWS)])
    sessions = [
        {
            "unified_session_id": unified[i],
            "service_id": f"svc-{i % 3}",
            "started_at": EPOCH + dt.timedelta(minutes=i),
            "queue_ms": 1000 * i if i % 4 else None,
            "handled": i % 2 == 0,
            "outcome_id": 5 if i % 2 == 0 else 4,
            "outcome_group_id": 1 if i % 2 == 0 else 3,
        }
        for i in range(ROWS)
    ]
    ids = insert_rows(db, "tenant-a", report_service_sessions, sessions)
    for session, session_id in zip(sessions, ids, strict=True):
        session["id"] = session_id
    insert_rows(
        db,
        "tenant-a",
        report_user_sessions,
        [{"service_session_id": i, "service_id": "svc-0"} for i in ids[:4]],
    )
    insert_rows(db, "tenant-a", report_transfer_sessions, [{"service_session_id": ids[0]}])
    insert_rows(db, "tenant-a", report_service_aggregates, [{"id": "agg-1", "tasks": 3}])
    insert_rows(db, "tenant-a", report_user_aggregates, [{"id": "uagg-1", "offered": 2}])
    return sessions


def test_the_client_reflects_the_metadata_into_every_readable_set(feed: Feed) -> None:
    reflected = set(feed.service.entities)
    readable = {n for n, s in ENTITY_SETS.items() if s.capability.value != "report_user_states"}
    assert readable <= reflected


def test_the_client_reads_every_set_following_next_links(feed: Feed) -> None:
    counts = {}
    for name, entity_set in ENTITY_SETS.items():
        if entity_set.capability.value == "report_user_states":
            continue  # a key reads no user states (08 §7 PM4); the API tests cover the 403
        counts[name] = len(feed.service.query(feed.service.entities[name]).all())
    assert counts["ServiceSessions"] == ROWS  # 5 pages of 5
    assert counts["UnifiedSessions"] == ROWS
    assert counts["UserSessions"] == 4 and counts["TransferSessions"] == 1
    assert counts["ServiceSessionOutcomes"] == 29 and counts["OutcomeGroups"] == 7
    assert counts["ServiceSessionAggregates"] == 1


def test_the_clients_query_options_mean_what_they_say(feed: Feed) -> None:
    sessions = feed.service.entities["ServiceSessions"]
    query = feed.service.query(sessions)
    handled = query.filter(sessions.Handled == True).order_by(sessions.StartedAt.desc())  # noqa: E712
    got = [s.Id for s in handled.all()]
    want = [
        s["id"]
        for s in sorted(feed.sessions, key=lambda s: s["started_at"], reverse=True)
        if s["handled"]
    ]
    assert [str(g) for g in got] == want
    svc = query.filter(sessions.ServiceId == "svc-1").filter(sessions.QueueSeconds > 5)
    assert sorted(str(s.Id) for s in svc.all()) == sorted(
        s["id"] for s in feed.sessions if s["service_id"] == "svc-1" and (s["queue_ms"] or 0) > 5000
    )
    first = query.order_by(sessions.StartedAt.asc()).offset(2).limit(3)
    assert [str(s.Id) for s in first.all()] == [s["id"] for s in feed.sessions[2:5]]
    picked = (
        query.select(sessions.Id, sessions.QueueSeconds)
        .filter(sessions.Id == feed.sessions[5]["id"])
        .first()
    )
    assert picked == {"Id": feed.sessions[5]["id"], "QueueSeconds": 5.0}  # selected: a dict
    early = query.filter(sessions.StartedAt < EPOCH + dt.timedelta(minutes=3))
    assert len(early.all()) == 3
    assert query.filter(sessions.Handled == False).count() == ROWS // 2  # noqa: E712


def test_the_client_expands_and_gets_by_key(feed: Feed) -> None:
    sessions = feed.service.entities["ServiceSessions"]
    first = feed.sessions[0]
    one = feed.service.query(sessions).get(first["id"])
    assert str(one.Id) == first["id"] and one.ServiceId == "svc-0"
    expanded = (
        feed.service.query(sessions)
        .expand(sessions.Outcome)
        .filter(sessions.Id == first["id"])
        .first()
    )
    assert expanded.Outcome.Code == "user_accepted"  # from the expanded entity, no request
    raw = feed.service.query(sessions).raw(
        {"$filter": f"Id eq {first['id']}", "$expand": "Service"}
    )
    assert raw[0]["Service"] is None  # no Services row is visible for 'svc-0'


def test_refusals_reach_the_client_as_odata_errors(feed: Feed) -> None:
    answer = feed.session.get(feed.url + "ServiceSessions", params={"$filter": "Nope eq 1"})
    assert answer.status_code == 400
    assert answer.json()["error"]["target"] == "Nope"
    assert answer.headers["OData-Version"] == "4.0"


# ---------------------------------------------------------------------- @odata/parser (Node.js)

NODE_PARSER = "@odata/parser@0.2.14"
NODE_CACHE = Path(__file__).resolve().parents[2] / "var" / "test-cache" / "odata-node"
PARSE_ALL = """
const { defaultParser } = require("@odata/parser");
const paths = JSON.parse(require("fs").readFileSync(0, "utf8"));
const failed = [];
for (const path of paths) {
  try { if (defaultParser.odataUri(path).type !== "ODataUri") failed.push(path); }
  catch (error) { failed.push(path + " -> " + error.message); }
}
process.stdout.write(JSON.stringify(failed));
"""


def _node_parser() -> tuple[str, Path]:
    """node and a folder holding @odata/parser (installed once with the machine's npm)."""

    def unavailable(reason: str) -> None:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{reason} (CI=true: the Node.js conformance check must run)")
        pytest.skip(reason)

    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("Node.js or npm is not installed: @odata/parser cannot check the nextLinks")
    assert node is not None and npm is not None
    if not (NODE_CACHE / "node_modules" / "@odata" / "parser").is_dir():
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [npm, "install", "--prefix", str(NODE_CACHE), "--no-audit", "--no-fund",
             "--ignore-scripts", NODE_PARSER],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if installed.returncode != 0:
            unavailable(f"npm install {NODE_PARSER} failed: {installed.stderr.strip()[-300:]}")
    return node, NODE_CACHE


def test_every_next_link_parses_with_an_independent_odata_parser(feed: Feed) -> None:
    """08 OD13: `@odata/parser` (npm) parses each emitted `@odata.nextLink`."""
    node, folder = _node_parser()
    links = []
    for query in (
        {"$select": "Id,ServiceId", "$orderby": "QueueSeconds desc,StartedAt"},
        {"$filter": "Handled eq true and StartedAt ge 2026-03-02T08:00:00Z", "$count": "true"},
        {"$expand": "Outcome($select=Code),Service", "$top": "17", "$skip": "1"},
        {"$filter": "contains(ServiceId, 'svc') or QueueSeconds eq null"},
    ):
        link: str | None = feed.url + "ServiceSessions"
        params: dict[str, str] | None = query
        while link is not None:
            body = feed.session.get(link, params=params).json()
            params = None
            link = body.get("@odata.nextLink")
            if link is not None:
                links.append(link)
    assert len(links) >= 12
    root = urlsplit(feed.url).path.rstrip("/")
    paths = [unquote(urlsplit(u).path.removeprefix(root) + "?" + urlsplit(u).query) for u in links]
    paths.append("/ServiceSessions?$filter=eq eq")  # the parser does refuse what is not OData
    checked = subprocess.run(
        [node, "-e", PARSE_ALL],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "NODE_PATH": str(folder / "node_modules")},
    )
    failed = json.loads(checked.stdout)
    assert len(failed) == 1 and failed[0].startswith("/ServiceSessions?$filter=eq eq"), failed
