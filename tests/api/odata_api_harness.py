"""Helpers of the OData feed's API tests: reporting keys, rows in the reporting tables.

Rows are made from the tables' column definitions (a plain value per type unless
named), so the tests keep working when the projection's tables gain columns.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Double, Engine, Integer, Table, insert, select

from switchboard.api.keys import issue_api_key
from switchboard.api.tenancy import Tenancy
from switchboard.store.database import transaction
from switchboard.store.schema import UtcDateTime, report_service_sessions

EPOCH = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def reporting_key(tenancy: Tenancy, tenant_id: str, **scope: Any) -> str:
    return issue_api_key(
        tenancy, tenant_id, name="reports", scopes=["reporting:read"], created_by="test", **scope
    )


def row(table: Table, tenant_id: str, **given: Any) -> dict[str, Any]:
    """A complete row of `table`: `given` values, the rest filled by type."""
    values: dict[str, Any] = {"tenant_id": tenant_id}
    for col in table.columns:
        if col.name == "tenant_id":
            continue
        if col.name in given:
            values[col.name] = given[col.name]
        elif col.name == "id" or col.name.endswith("session_id"):
            values[col.name] = str(uuid.uuid4())
        elif col.nullable:
            values[col.name] = None
        elif isinstance(col.type, UtcDateTime):
            values[col.name] = EPOCH
        elif isinstance(col.type, Boolean):
            values[col.name] = False
        elif isinstance(col.type, Integer | BigInteger):
            values[col.name] = 0
        elif isinstance(col.type, Double):
            values[col.name] = 0.0
        else:
            values[col.name] = f"{col.name}-x"
    unknown = set(given) - set(values)
    if unknown:
        raise KeyError(f"{table.name} has no columns {sorted(unknown)}")
    return values


def insert_rows(db: Engine, tenant_id: str, table: Table, rows: list[dict[str, Any]]) -> list[str]:
    """Insert rows; returns their ids."""
    made = [row(table, tenant_id, **r) for r in rows]
    with transaction(db, tenant_id, write=True) as connection:
        connection.execute(insert(table), made)
    return [m["id"] for m in made]


def projected(tenancy: Tenancy, tenant_id: str, timeout_s: float = 15.0) -> None:
    """Wait until the tenant's live projection has written everything journaled so far."""
    host, report = tenancy.hosts[tenant_id], tenancy.reports[tenant_id]
    end = time.monotonic() + timeout_s
    while report.written_seq < host.engine.state.seq or report.lag:
        assert time.monotonic() < end, "the reporting projection did not catch up"
        time.sleep(0.05)


def service_session_ids(db: Engine, tenant_id: str) -> list[str]:
    c = report_service_sessions.c
    with transaction(db, tenant_id) as connection:
        return list(connection.execute(select(c.id).where(c.tenant_id == tenant_id)).scalars())
