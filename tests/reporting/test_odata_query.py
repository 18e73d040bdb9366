"""OData queries against the reporting tables, on SQLite and PostgreSQL (08 OD5-OD8, §7).

Rows are written straight into the tables (`odata_rows`), so each test states
exactly the data its answer depends on. Answers are compared with what Python
computes from the same rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from odata_harness import new_tenants, odata_db, odata_postgres_url
from odata_rows import EPOCH, insert_rows
from sqlalchemy import Engine

from switchboard.domain.access import Capability
from switchboard.reporting.odata import query as odata_query
from switchboard.reporting.odata.errors import ODataError
from switchboard.reporting.odata.options import parse_options
from switchboard.reporting.odata.query import Context, Paging, read_count, read_entity, read_page
from switchboard.reporting.odata.sets import ENTITY_SETS
from switchboard.store.schema import (
    report_service_sessions,
    report_transfer_sessions,
    report_unified_sessions,
    report_user_sessions,
)

__all__ = ["odata_db", "odata_postgres_url"]

SECRET = b"odata-test-secret-0123456789abcdef"
SESSIONS = ENTITY_SETS["ServiceSessions"]
ALL = {Capability.REPORTS: None, Capability.REPORT_USER_STATES: None}
ROOT = "http://x.test/odata/"


def context(tenant: str, scope: frozenset[str] | None = None, **rows: Any) -> Context:
    return Context(
        tenant,
        ENTITY_SETS,
        {Capability.REPORTS: scope, Capability.REPORT_USER_STATES: scope},
        rows,
    )


def page(
    db: Engine,
    ctx: Context,
    pairs: Sequence[tuple[str, str]],
    *,
    set_name: str = "ServiceSessions",
    size: int = 1000,
) -> dict[str, Any]:
    entity_set = ENTITY_SETS[set_name]
    options = parse_options(entity_set, pairs, ENTITY_SETS)
    kept = [(k, v) for k, v in pairs if k not in ("$skiptoken", "$skip")]
    return read_page(db, ctx, entity_set, options, Paging(ROOT, kept, SECRET, size))


def every_page(
    db: Engine,
    ctx: Context,
    pairs: Sequence[tuple[str, str]],
    size: int,
    set_name: str = "ServiceSessions",
) -> list[list[dict[str, Any]]]:
    pages = []
    current = list(pairs)
    while True:
        body = page(db, ctx, current, set_name=set_name, size=size)
        pages.append(body["value"])
        link = body.get("@odata.nextLink")
        if link is None:
            return pages
        assert link.startswith(f"{ROOT}{set_name}?")
        current = parse_qsl(urlsplit(link).query)
        assert len(pages) < 1000


def ids(pairs: Sequence[tuple[str, str]], db: Engine, ctx: Context) -> list[str]:
    return [e["Id"] for e in page(db, ctx, [*pairs, ("$select", "Id")])["value"]]


def sessions(db: Engine, tenant: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert service sessions; returns them with their ids."""
    made = [{"id": str(uuid.uuid4()), **r} for r in rows]
    insert_rows(db, tenant, report_service_sessions, made)
    return made


# ---------------------------------------------------------------------- $filter


def test_filters_compare_as_odata_says_also_with_nulls(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    made = sessions(
        odata_db,
        tenant,
        [
            {"service_id": "s1", "queue_ms": 1500, "reference_id": "Ref-ABC", "handled": True},
            {"service_id": "s1", "queue_ms": 20000, "reference_id": "ref-abd", "handled": False},
            {"service_id": "s2", "queue_ms": None, "reference_id": None, "handled": False},
        ],
    )
    a, b, c = (m["id"] for m in made)
    ctx = context(tenant)

    def found(text: str) -> set[str]:
        return set(ids([("$filter", text)], odata_db, ctx))

    assert found("ServiceId eq 's1'") == {a, b}
    assert found("QueueSeconds gt 1.5") == {b}  # seconds, compared exactly in milliseconds
    assert found("QueueSeconds ge 1.5 and QueueSeconds le 20") == {a, b}
    assert found("QueueSeconds eq null") == {c}
    assert found("QueueSeconds ne null") == {a, b}
    # null is neither greater nor smaller, but it is "not equal" and "not greater"
    assert found("QueueSeconds lt 100") == {a, b}
    assert found("ReferenceId ne 'Ref-ABC'") == {b, c}
    assert found("not (ReferenceId eq 'Ref-ABC')") == {b, c}
    assert found("not (QueueSeconds gt 2)") == {a, c}
    assert found("Handled") == {a}
    assert found("Handled eq false or ServiceId eq 's1'") == {a, b, c}
    assert found("ServiceId in ('s2', 'nope')") == {c}
    assert found("ReferenceId in ('ref-abd', null)") == {b, c}
    # string functions are case-sensitive on both databases; tolower makes them not
    assert found("contains(ReferenceId, 'AB')") == {a}
    assert found("startswith(ReferenceId, 'ref')") == {b}
    assert found("endswith(ReferenceId, 'abd')") == {b}
    assert found("contains(tolower(ReferenceId), 'ab')") == {a, b}
    assert found("not contains(ReferenceId, 'AB')") == {b, c}
    assert found(f"Id eq {a}") == {a}  # a Guid literal
    assert found(f"Id eq '{b}'") == {b}


def test_filters_on_time_use_utc(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    late = dt.datetime(2026, 12, 31, 23, 30, 0, 250_000, tzinfo=dt.UTC)
    made = sessions(
        odata_db,
        tenant,
        [{"started_at": late}, {"started_at": late + dt.timedelta(hours=1)}],
    )
    first, second = (m["id"] for m in made)
    ctx = context(tenant)

    def found(text: str) -> set[str]:
        return set(ids([("$filter", text)], odata_db, ctx))

    assert found("year(StartedAt) eq 2026") == {first}
    assert found("month(StartedAt) eq 1 and day(StartedAt) eq 1 and hour(StartedAt) eq 0") == {
        second
    }
    assert found("date(StartedAt) eq 2026-12-31") == {first}
    assert found("StartedAt ge 2027-01-01T00:00:00+01:00") == {first, second}
    assert found("StartedAt gt 2026-12-31T23:30:00.25Z") == {second}
    body = page(odata_db, ctx, [("$filter", f"Id eq {first}"), ("$select", "StartedAt")])
    assert body["value"] == [{"StartedAt": "2026-12-31T23:30:00.250Z"}]


@pytest.mark.parametrize(
    ("text", "status", "code", "target"),
    [
        ("Nope eq 1", 400, "unknown_property", "Nope"),
        ("ServiceId eq", 400, "invalid_query", "$filter"),
        ("QueueSeconds eq 'x'", 400, "invalid_query", "QueueSeconds"),
        ("StartedAt gt 2026-01-01T00:00:00", 400, "invalid_query", "StartedAt"),
        ("Id eq 'not-a-guid'", 400, "invalid_query", "Id"),
        ("Service/Name eq 'x'", 501, "not_implemented", "Service/Name"),
        ("QueueSeconds add 1 gt 2", 501, "not_implemented", "$filter"),
        ("length(ServiceId) eq 2", 501, "not_implemented", "length"),
        ("'a' eq 'a'", 400, "invalid_query", "$filter"),
    ],
)
def test_a_bad_filter_is_refused_naming_what(
    text: str, status: int, code: str, target: str
) -> None:
    with pytest.raises(ODataError) as refused:
        options = parse_options(SESSIONS, [("$filter", text)], ENTITY_SETS)
        # compiling needs a source; the sqlite dialect is enough to reach the checks
        odata_query.statements(context("t"), SESSIONS, options, "sqlite", 10)
    assert (refused.value.status, refused.value.code, refused.value.target) == (
        status,
        code,
        target,
    )


# ---------------------------------------------------------------------- order and paging


def test_pages_follow_the_order_then_the_id_and_never_overlap(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    rows = [
        {
            "service_id": f"s{i % 3}",
            "queue_ms": None if i % 5 == 0 else (i % 7) * 1000,
            "reference_id": None if i % 4 == 0 else f"r{i % 6}",
            "started_at": EPOCH + dt.timedelta(seconds=i % 9),
        }
        for i in range(47)
    ]
    made = sessions(odata_db, tenant, rows)
    ctx = context(tenant)
    for orderby in (
        "QueueSeconds desc",
        "QueueSeconds asc,ReferenceId desc",
        "ReferenceId,StartedAt desc,ServiceId",
        "StartedAt desc",
        "Id desc",
    ):
        pages = every_page(odata_db, ctx, [("$orderby", orderby), ("$select", "Id")], size=4)
        got = [e["Id"] for p in pages for e in p]
        assert got == _sorted(made, orderby), orderby
        assert all(len(p) == 4 for p in pages[:-1])


def _sorted(rows: list[dict[str, Any]], orderby: str) -> list[str]:
    """OData's order in Python: nulls first ascending, last descending; then Id."""
    columns = {"QueueSeconds": "queue_ms", "ReferenceId": "reference_id"}
    columns |= {"StartedAt": "started_at", "ServiceId": "service_id", "Id": "id"}
    keyed = sorted(rows, key=lambda r: r["id"])
    items = [i.split() for i in orderby.split(",")]
    for name, *direction in reversed(items):
        descending = direction == ["desc"]
        column = columns[name]
        keyed.sort(key=_nulls_first(column), reverse=descending)
    return [r["id"] for r in keyed]


def _nulls_first(column: str) -> Any:
    return lambda r: (r[column] is not None, r[column] if r[column] is not None else 0)


def test_top_skip_and_count_across_pages(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    made = sessions(
        odata_db, tenant, [{"started_at": EPOCH + dt.timedelta(minutes=i)} for i in range(30)]
    )
    in_order = [m["id"] for m in made]
    ctx = context(tenant)
    pairs = [("$orderby", "StartedAt"), ("$select", "Id"), ("$top", "11"), ("$skip", "3")]
    pages = every_page(odata_db, ctx, pairs, size=4)
    assert [len(p) for p in pages] == [4, 4, 3]
    assert [e["Id"] for p in pages for e in p] == in_order[3:14]
    counted = page(odata_db, ctx, [("$count", "true"), ("$top", "0"), ("$filter", "Sequence eq 0")])
    assert counted["@odata.count"] == 30 and counted["value"] == []
    options = parse_options(
        SESSIONS, [("$filter", "StartedAt lt 2026-03-02T08:05:00Z")], ENTITY_SETS
    )
    assert read_count(odata_db, ctx, SESSIONS, options) == 5


def test_a_skiptoken_is_signed_and_bound_to_its_query(odata_db: Engine) -> None:
    tenant, other = new_tenants(odata_db)
    sessions(odata_db, tenant, [{} for _ in range(5)])
    ctx = context(tenant)
    body = page(odata_db, ctx, [("$orderby", "StartedAt")], size=2)
    token = dict(parse_qsl(urlsplit(body["@odata.nextLink"]).query))["$skiptoken"]
    assert page(odata_db, ctx, [("$orderby", "StartedAt"), ("$skiptoken", token)], size=2)["value"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for pairs in (
        [("$orderby", "StartedAt"), ("$skiptoken", tampered)],
        [("$orderby", "StartedAt desc"), ("$skiptoken", token)],  # another query
        [("$orderby", "StartedAt"), ("$filter", "Sequence eq 0"), ("$skiptoken", token)],
        [("$orderby", "StartedAt"), ("$skiptoken", "garbage")],
    ):
        with pytest.raises(ODataError) as refused:
            page(odata_db, ctx, pairs, size=2)
        assert (refused.value.status, refused.value.target) == (400, "$skiptoken")
    with pytest.raises(ODataError):  # another tenant's position
        page(odata_db, context(other), [("$orderby", "StartedAt"), ("$skiptoken", token)], size=2)


# ---------------------------------------------------------------------- tenants and scope


def test_another_tenants_rows_are_never_read(odata_db: Engine) -> None:
    tenant, other = new_tenants(odata_db)
    mine = sessions(odata_db, tenant, [{"service_id": "s1"}])
    sessions(odata_db, other, [{"service_id": "s1"}, {"service_id": "s1"}])
    assert ids([], odata_db, context(tenant)) == [mine[0]["id"]]
    body = page(odata_db, context(tenant), [("$count", "true")])
    assert body["@odata.count"] == 1


def test_the_scope_is_in_the_query_before_paging(odata_db: Engine) -> None:
    """10 OU5: a page of a scoped principal is full of their rows, not a filtered page."""
    tenant, _ = new_tenants(odata_db)
    rows = [
        {
            "service_id": "mine" if i % 4 == 0 else "theirs",
            "started_at": EPOCH + dt.timedelta(seconds=i),
        }
        for i in range(40)
    ]
    made = sessions(odata_db, tenant, rows)
    ctx = context(tenant, frozenset({"mine"}))
    pages = every_page(odata_db, ctx, [("$orderby", "StartedAt"), ("$select", "Id,ServiceId")], 3)
    got = [e for p in pages for e in p]
    assert [e["Id"] for e in got] == [m["id"] for m in made if m["service_id"] == "mine"]
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert page(odata_db, context(tenant, frozenset()), [])["value"] == []


def test_unified_and_transfer_sessions_are_in_scope_through_their_service_sessions(
    odata_db: Engine,
) -> None:
    tenant, _ = new_tenants(odata_db)
    unified = [str(uuid.uuid4()) for _ in range(3)]
    insert_rows(odata_db, tenant, report_unified_sessions, [{"id": u} for u in unified])
    visits = sessions(
        odata_db,
        tenant,
        [
            {"unified_session_id": unified[0], "service_id": "a"},
            {"unified_session_id": unified[1], "service_id": "b"},
            {"unified_session_id": unified[1], "service_id": "a"},  # moved to a
            {"unified_session_id": unified[2], "service_id": "b"},
        ],
    )
    transfers = [str(uuid.uuid4()) for _ in visits]
    insert_rows(
        odata_db,
        tenant,
        report_transfer_sessions,
        [{"id": t, "service_session_id": v["id"]} for t, v in zip(transfers, visits, strict=True)],
    )
    ctx = context(tenant, frozenset({"a"}))
    assert set(_all_ids(odata_db, ctx, "UnifiedSessions")) == {unified[0], unified[1]}
    assert set(_all_ids(odata_db, ctx, "TransferSessions")) == {transfers[0], transfers[2]}


def _all_ids(db: Engine, ctx: Context, set_name: str) -> list[str]:
    return [e["Id"] for e in page(db, ctx, [("$select", "Id")], set_name=set_name)["value"]]


# ---------------------------------------------------------------------- $expand and dimensions


def test_expand_reaches_related_rows_within_their_own_scope(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    visit = sessions(odata_db, tenant, [{"service_id": "a", "outcome_id": 5}])[0]
    users = [str(uuid.uuid4()) for _ in range(2)]
    insert_rows(
        odata_db,
        tenant,
        report_user_sessions,
        [{"id": u, "service_session_id": visit["id"], "service_id": "a"} for u in users],
    )
    services = [
        {"id": "a", "name": "Support's line", "display_name": None, "upn": "a@x.test",
         "ou_id": "root", "enabled": True, "sla_acceptance_s": 20, "sla_hangup_s": 20},
    ]  # fmt: skip
    outcomes = ENTITY_SETS["ServiceSessionOutcomes"]
    assert outcomes.rows is not None
    ctx = context(
        tenant,
        Services=services,
        ServiceSessionOutcomes=outcomes.rows(None, lambda _t: True),  # type: ignore[arg-type]
    )
    body = page(
        odata_db,
        ctx,
        [("$select", "Id"), ("$expand", "Service($select=Name),UserSessions($select=Id)")],
    )
    [entity] = body["value"]
    assert entity["Service"] == {"Name": "Support's line"}
    assert sorted(u["Id"] for u in entity["UserSessions"]) == sorted(users)
    assert body["@odata.context"] == f"{ROOT}$metadata#ServiceSessions(Id,Service(),UserSessions())"
    # the expanded set keeps its own scope: a service the principal may not see is null
    hidden = context(tenant, Services=[], ServiceSessionOutcomes=ctx.rows["ServiceSessionOutcomes"])
    assert page(odata_db, hidden, [("$expand", "Service,Outcome")])["value"][0]["Service"] is None
    outcome = page(odata_db, hidden, [("$expand", "Outcome")])["value"][0]["Outcome"]
    assert outcome == {"Id": 5, "Code": "user_accepted", "OutcomeGroupId": 1}
    entity_options = parse_options(
        SESSIONS, [("$expand", "UnifiedSession")], ENTITY_SETS, collection=False
    )
    one = read_entity(odata_db, ctx, SESSIONS, visit["id"], entity_options, ROOT)
    assert one is not None and one["UnifiedSession"] is None  # no unified row was written
    assert one["@odata.context"] == f"{ROOT}$metadata#ServiceSessions/$entity"


def test_dimensions_from_configuration_filter_and_page_like_tables(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    people: list[dict[str, Any]] = [
        {"id": f"u{i:02d}", "display_name": f"O'Neil {i}", "upn": f"u{i}@x.test",
         "ou_id": "root", "enabled": i % 2 == 0}
        for i in range(12)
    ]  # fmt: skip
    ctx = context(tenant, Users=people)
    found = page(
        odata_db,
        ctx,
        [("$filter", "Enabled and startswith(DisplayName, 'O''Neil 1')")],
        set_name="Users",
    )
    assert [u["Id"] for u in found["value"]] == ["u10"]
    pages = every_page(odata_db, ctx, [("$orderby", "DisplayName desc")], 5, set_name="Users")
    assert [u["Id"] for p in pages for u in p] == sorted(
        (p["id"] for p in people), key=lambda i: f"O'Neil {int(i[1:])}", reverse=True
    )
    empty = page(odata_db, context(tenant, Users=[]), [("$filter", "Enabled")], set_name="Users")
    assert empty["value"] == []


def test_a_query_over_its_time_is_cancelled(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """08 OD12: 503 with Retry-After (SQLite's progress handler; PostgreSQL's
    statement_timeout is the same setting read by the server)."""
    from switchboard.store.database import create_engine, migrate

    db = create_engine(f"sqlite:///{tmp_path / 'slow.sqlite3'}")
    migrate(db)
    [tenant] = new_tenants(db, 1)
    sessions(db, tenant, [{} for _ in range(3000)])
    monkeypatch.setattr(odata_query, "QUERY_TIMEOUT_S", 0.0)
    with pytest.raises(ODataError) as refused:
        page(db, context(tenant), [("$count", "true"), ("$filter", "contains(EndReason, 'zz')")])
    assert (refused.value.status, refused.value.code) == (503, "query_timeout")
    assert refused.value.headers["Retry-After"]
    monkeypatch.setattr(odata_query, "QUERY_TIMEOUT_S", 30.0)
    assert page(db, context(tenant), [("$count", "true")])["@odata.count"] == 3000
    db.dispose()


def test_a_read_sets_tenant_and_timeout_in_its_transaction(
    odata_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: row-level security's tenant and 08 OD12's statement_timeout are both
    transaction-local settings of every read (set in one statement)."""
    from switchboard.store.database import create_engine

    db = create_engine(odata_postgres_url)
    monkeypatch.setattr(odata_query, "QUERY_TIMEOUT_S", 12.5)
    try:
        with odata_query._reading(db, "t-settings") as connection:
            shown = connection.exec_driver_sql(
                "SELECT current_setting('switchboard.tenant_id'), "
                "current_setting('statement_timeout')"
            ).one()
        assert tuple(shown) == ("t-settings", "12500ms")
        with db.connect() as connection:  # transaction-local: gone afterwards
            after = connection.exec_driver_sql("SHOW statement_timeout").scalar_one()
        assert after != "12500ms"
    finally:
        db.dispose()
