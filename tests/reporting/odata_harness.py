"""A migrated database on SQLite or PostgreSQL for the OData query tests.

`odata_db` is parametrised over both backends. PostgreSQL is the server at
`SWITCHBOARD_TEST_POSTGRES` (default: the local one with trust auth); a fresh
database is created for the test session and dropped after it. When the server
is unreachable those tests skip — with `CI=true` they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from switchboard.store.database import create_engine, migrate
from switchboard.store.repositories import TenantRepository

ADMIN_CONNINFO = os.environ.get(
    "SWITCHBOARD_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="session")
def odata_postgres_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(ADMIN_CONNINFO, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        message = f"PostgreSQL is unreachable at {ADMIN_CONNINFO!r}: {exc}".strip()
        if in_ci():
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must run, not skip)")
        pytest.skip(f"{message} (set SWITCHBOARD_TEST_POSTGRES, or CI=true to fail instead)")
    name = f"switchboard_odata_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        info = admin.info
        try:
            yield URL.create(
                "postgresql+psycopg",
                username=info.user,
                password=info.password or None,
                host=info.host,
                port=info.port,
                database=name,
            ).render_as_string(hide_password=False)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=("sqlite", "postgresql"))
def odata_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database with the tenants `t1` and `t2` (fresh ids on PostgreSQL,
    whose database the session shares: use `tenant_ids`)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'odata.sqlite3'}"
    else:
        url = request.getfixturevalue("odata_postgres_url")
    engine = create_engine(url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def new_tenants(db: Engine, count: int = 2) -> list[str]:
    """Fresh tenants (PostgreSQL's database is shared by the session's tests)."""
    repository = TenantRepository(db)
    return [repository.create(f"t{i}", id=f"t-{uuid.uuid4().hex[:10]}").id for i in range(count)]
