"""Rows for the reporting tables, made from their column definitions (OData tests).

Each column gets a plain value of its type unless the caller names it, so the
OData tests keep working when the projection's tables gain columns.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Double, Engine, Integer, Table, insert

from switchboard.store.database import transaction
from switchboard.store.schema import UtcDateTime

EPOCH = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def row(table: Table, tenant_id: str, **given: Any) -> dict[str, Any]:
    """A complete row of `table`: `given` values, the rest filled by type."""
    values: dict[str, Any] = {"tenant_id": tenant_id}
    for col in table.columns:
        if col.name in values:
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


def insert_rows(db: Engine, tenant_id: str, table: Table, rows: list[dict[str, Any]]) -> None:
    with transaction(db, tenant_id, write=True) as connection:
        connection.execute(insert(table), [row(table, tenant_id, **r) for r in rows])
