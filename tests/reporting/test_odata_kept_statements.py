"""Statements kept per request shape serve every request of that shape with its own values.

`switchboard.reporting.odata.query` keeps the SELECT and COUNT of a request over a
table by shape — the `$filter` without its literals' values, the kind of scope,
`$select`, `$orderby`, … — and runs them again with the next request's values.
These tests ask, on SQLite and PostgreSQL, pairs of requests of one shape whose
answers must differ, one right after the other, so a value kept from the first
request would show in the second answer; and they look into the kept statements
for any value of a request.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from odata_harness import new_tenants, odata_db, odata_postgres_url
from odata_rows import EPOCH, insert_rows
from sqlalchemy import Engine
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from switchboard.domain.access import Capability
from switchboard.reporting.odata import query as odata_query
from switchboard.reporting.odata.filters import shape
from switchboard.reporting.odata.options import parse_filter, parse_options
from switchboard.reporting.odata.query import Context, Paging, read_count, read_page
from switchboard.reporting.odata.sets import ENTITY_SETS
from switchboard.store.schema import report_service_sessions

__all__ = ["odata_db", "odata_postgres_url"]

SESSIONS = ENTITY_SETS["ServiceSessions"]
SECRET = b"kept-statements-secret-0123456789"


def context(tenant: str, scope: frozenset[str] | None = None) -> Context:
    return Context(tenant, ENTITY_SETS, {Capability.REPORTS: scope})


def found(db: Engine, ctx: Context, pairs: Sequence[tuple[str, str]]) -> list[str]:
    options = parse_options(SESSIONS, [*pairs, ("$select", "Id")], ENTITY_SETS)
    body = read_page(db, ctx, SESSIONS, options, Paging("http://x/odata/", [], SECRET))
    return sorted(e["Id"] for e in body["value"])


def sessions(db: Engine, tenant: str, rows: list[dict[str, Any]]) -> list[str]:
    made = [{"id": str(uuid.uuid4()), **r} for r in rows]
    insert_rows(db, tenant, report_service_sessions, made)
    return [m["id"] for m in made]


#: Pairs of filters of one shape; the rows below make each answer differ from its pair's.
PAIRS = [
    ("ServiceId eq 's1'", "ServiceId eq 's2'"),
    ("QueueSeconds gt 1.25", "QueueSeconds gt 19.5"),
    ("QueueSeconds lt -1 or QueueSeconds ge 20", "QueueSeconds lt -2 or QueueSeconds ge 1"),
    ("ReferenceId ne 'Ref-ABC'", "ReferenceId ne 'ref-abd'"),
    ("ServiceId in ('s1', 'zz')", "ServiceId in ('s2', 'zz')"),
    ("contains(ReferenceId, 'AB')", "contains(ReferenceId, 'abd')"),
    ("startswith(ReferenceId, 'Ref')", "startswith(ReferenceId, 're')"),
    ("endswith(ReferenceId, 'ABC')", "endswith(ReferenceId, 'd')"),
    ("year(StartedAt) eq 2026", "year(StartedAt) eq 2027"),
    ("date(StartedAt) eq 2026-12-31", "date(StartedAt) eq 2027-01-01"),
    ("StartedAt lt 2027-01-01T00:00:00Z", "StartedAt lt 2026-06-01T00:00:00Z"),
    ("Handled eq true and ServiceId ne 's1'", "Handled eq true and ServiceId ne 's2'"),
    ("OfferCount eq 1", "OfferCount eq 2"),
]


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_each_request_of_a_shape_gets_its_own_answer(
    odata_db: Engine, first: str, second: str
) -> None:
    assert shape(parse_filter(first)) == shape(parse_filter(second))
    tenant, _ = new_tenants(odata_db)
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    sessions(
        odata_db,
        tenant,
        [
            {"service_id": "s1", "queue_ms": 1500, "reference_id": "Ref-ABC", "handled": True,
             "started_at": late, "offer_count": 1},
            {"service_id": "s2", "queue_ms": 20000, "reference_id": "ref-abd", "handled": False,
             "started_at": late + dt.timedelta(hours=1), "offer_count": 2},
            {"service_id": "s3", "queue_ms": None, "reference_id": None, "handled": False,
             "started_at": EPOCH, "offer_count": 0},
        ],
    )  # fmt: skip
    ctx = context(tenant)
    fresh = []
    for text in (first, second):
        odata_query._KEPT.clear()  # built for this request alone: the reference answer
        fresh.append(found(odata_db, ctx, [("$filter", text)]))
    assert fresh[0] != fresh[1]
    odata_query._KEPT.clear()
    kept = [found(odata_db, ctx, [("$filter", text)]) for text in (first, second, first)]
    assert kept == [fresh[0], fresh[1], fresh[0]]


def test_tenant_and_scope_are_values_of_each_request(odata_db: Engine) -> None:
    tenant, other = new_tenants(odata_db)
    mine = sessions(odata_db, tenant, [{"service_id": "a"}, {"service_id": "b"}])
    theirs = sessions(odata_db, other, [{"service_id": "a"}])
    odata_query._KEPT.clear()
    assert found(odata_db, context(tenant), []) == sorted(mine)
    assert found(odata_db, context(other), []) == theirs
    assert found(odata_db, context(tenant, frozenset({"a"})), []) == [mine[0]]
    assert found(odata_db, context(tenant, frozenset({"b"})), []) == [mine[1]]
    assert found(odata_db, context(other, frozenset({"b"})), []) == []
    assert found(odata_db, context(tenant, frozenset()), []) == []
    options = parse_options(SESSIONS, [("$filter", "ServiceId eq 'a'")], ENTITY_SETS)
    assert read_count(odata_db, context(tenant), SESSIONS, options) == 1
    assert read_count(odata_db, context(other, frozenset({"a"})), SESSIONS, options) == 1
    assert read_count(odata_db, context(other, frozenset({"b"})), SESSIONS, options) == 0


def test_kept_statements_hold_no_value_of_a_request() -> None:
    """Every value a request brings is a named parameter without a value in the kept
    statements; what values they hold are constants of the SQL (a page's `1`, …)."""
    odata_query._KEPT.clear()
    options = parse_options(
        SESSIONS,
        [
            ("$filter", "ServiceId eq 'zq-service' and QueueSeconds gt 4242 and "
             "endswith(ReferenceId, 'zq-needle') and StartedAt ge 2031-05-06T07:08:09Z"),
            ("$orderby", "StartedAt desc"),
            ("$skip", "777"),
        ],
        ENTITY_SETS,
    )  # fmt: skip
    for dialect in ("sqlite", "postgresql"):
        page, count, params = odata_query.statements(
            context("zq-tenant", frozenset({"zq-scope"})), SESSIONS, options, dialect, 313
        )
        assert params["tenant_id"] == "zq-tenant" and params["scope_ids"] == ["zq-scope"]
        assert params["limit"] == 313 and params["offset"] == 777
        assert "zq-service" in params.values() and 4_242_000 in params.values()
        assert len(odata_query._KEPT) == (1 if dialect == "sqlite" else 2)
        for statement in (page, count):
            binds = [b for b in visitors.iterate(statement) if isinstance(b, BindParameter)]
            named = {b.key for b in binds if b.value is None}
            assert {"tenant_id", "scope_ids", "f0", "f1", "f2", "f3"} <= named
            constants = {b.value for b in binds if b.value is not None}
            assert constants <= {1}, constants
            assert not named - set(params)


def test_a_missing_value_fails_instead_of_reusing_one(odata_db: Engine) -> None:
    tenant, _ = new_tenants(odata_db)
    sessions(odata_db, tenant, [{"service_id": "s1"}])
    options = parse_options(SESSIONS, [("$filter", "ServiceId eq 's1'")], ENTITY_SETS)
    page, _, params = odata_query.statements(
        context(tenant), SESSIONS, options, odata_db.dialect.name, 10
    )
    with odata_db.connect() as connection:
        assert len(connection.execute(page, params).all()) == 1
        partial = {k: v for k, v in params.items() if k != "f0"}
        with pytest.raises(Exception, match="A value is required for bind parameter 'f0'"):
            connection.execute(page, partial)
