"""Database fixtures of the store tests: a SQLite file, and PostgreSQL when it is reachable.

`db_url` is parametrised over both backends. The PostgreSQL one is a fresh database
created for the test session on the server at `SWITCHBOARD_TEST_POSTGRES`
(libpq connection string of a maintenance database; default: the local server
with trust auth, `host=127.0.0.1 port=5432 user=postgres dbname=postgres`) and
dropped at the end. When the server is unreachable those tests are skipped — but
with `CI=true` they fail instead, so CI cannot pass without having run them.

Tests sharing the session's PostgreSQL database keep apart by using fresh tenant
ids (`new_tenant`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from switchboard.store.database import create_engine, migrate
from switchboard.store.repositories import Tenant, TenantRepository

ADMIN_CONNINFO = os.environ.get(
    "SWITCHBOARD_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


class PostgresServer:
    """The PostgreSQL server of the tests: creates databases and drops them again."""

    def __init__(self, admin: psycopg.Connection[tuple[object, ...]]) -> None:
        self.admin = admin
        self.databases: list[str] = []

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = f"switchboard_test_{uuid.uuid4().hex[:12]}"
        self.admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.databases.append(name)
        info = self.admin.info
        return URL.create(
            "postgresql+psycopg",
            username=info.user,
            password=info.password or None,
            host=info.host,
            port=info.port,
            database=name,
        ).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        assert name in self.databases
        self.admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        self.databases.remove(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The server at `ADMIN_CONNINFO`; skips (fails with CI=true) when it is unreachable."""
    try:
        admin = psycopg.connect(ADMIN_CONNINFO, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        message = f"PostgreSQL is unreachable at {ADMIN_CONNINFO!r}: {exc}".strip()
        if in_ci():
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must run, not skip)")
        pytest.skip(f"{message} (set SWITCHBOARD_TEST_POSTGRES, or CI=true to fail instead)")
    server = PostgresServer(admin)
    with admin:
        try:
            yield server
        finally:
            for name in list(server.databases):
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh PostgreSQL database shared by this test session."""
    return postgres_server.create_database()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a SQLite file in `tmp_path`, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of its own (dropped after the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on `db_url`, not migrated."""
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """An engine on a database migrated to head."""
    migrate(engine)
    return engine


@pytest.fixture
def new_tenant(migrated: Engine) -> Callable[[str], Tenant]:
    """Creates tenants with fresh ids (tests share the PostgreSQL database)."""
    repository = TenantRepository(migrated)

    def create(name: str = "Tenant") -> Tenant:
        return repository.create(name, id=f"{name.lower()}-{uuid.uuid4().hex[:12]}")

    return create
