"""The store database: URLs, engines, migrations, schema and PostgreSQL row-level security."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, func, insert, inspect, select, text
from sqlalchemy.exc import ProgrammingError

from switchboard.store import database
from switchboard.store.database import (
    alembic_config,
    create_engine,
    current_revision,
    default_url,
    head_revision,
    migrate,
    transaction,
)
from switchboard.store.repositories import TenantRepository
from switchboard.store.schema import TENANT_TABLES, api_keys, metadata

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = {
    "partners",
    "tenants",
    "system_accounts",
    "system_sessions",
    "journal",
    "accounts",
    "web_sessions",
    "api_keys",
    "address_book_contacts",
    "audio_contents",
    "report_unified_sessions",
    "report_service_sessions",
    "report_user_sessions",
    "report_transfer_sessions",
    "report_user_states",
    "report_service_aggregates",
    "report_user_aggregates",
    "report_user_state_aggregates",
    "report_cursors",
}


@pytest.fixture
def pg_migrated(postgres_url: str) -> Iterator[Engine]:
    """The session's PostgreSQL database, migrated (for the PostgreSQL-only tests)."""
    engine = create_engine(postgres_url)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- URLs and engines


def test_default_url_is_a_sqlite_file_under_var(tmp_path: Path) -> None:
    assert default_url() == "sqlite:///var/switchboard.sqlite3"
    assert default_url(tmp_path / "data") == f"sqlite:///{tmp_path}/data/switchboard.sqlite3"


def test_create_engine_creates_the_directory_and_resolves_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine(default_url())
    try:
        assert engine.url.database == str(tmp_path / "var" / "switchboard.sqlite3")
        assert (tmp_path / "var").is_dir()
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        assert (tmp_path / "var" / "switchboard.sqlite3").is_file()
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_busy_timeout_and_full_sync(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", busy_timeout_s=2.5)
    try:
        with engine.connect() as connection:

            def pragma(name: str) -> object:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 2500
            assert pragma("synchronous") == 2  # FULL
    finally:
        engine.dispose()


def test_sqlite_synchronous_is_configurable_and_validated(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", sqlite_synchronous="normal")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", sqlite_synchronous="sometimes")


def test_sqlite_write_transactions_begin_immediate(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda _c, _cur, stmt, *_: statements.append(stmt)
    )
    try:
        with transaction(engine) as connection:
            connection.execute(select(1))
        with transaction(engine, write=True) as connection:
            connection.execute(select(1))
        assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "shown", "hint"),
    [
        ("mysql://root:s3cret@db/switchboard", "mysql://root:***@db/switchboard", "'mysql'"),
        ("postgresql://u:s3cret@db/x", "postgresql://u:***@db/x", "postgresql+psycopg://"),
        ("postgresql+psycopg2://u@db/x", "postgresql+psycopg2://u@db/x", "psycopg 3"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db", "not supported"),
        ("not a url", "not a url", "not a database URL"),
    ],
)
def test_create_engine_refuses_other_urls(url: str, shown: str, hint: str) -> None:
    with pytest.raises(ValueError) as caught:
        create_engine(url)
    message = str(caught.value)
    assert repr(shown) in message
    assert hint in message
    assert "s3cret" not in message
    for accepted in ("sqlite:///", "postgresql+psycopg://"):
        assert accepted in message


def test_create_engine_accepts_postgresql_psycopg_without_connecting() -> None:
    engine = create_engine("postgresql+psycopg://u:p@127.0.0.1:1/x")
    assert engine.dialect.name == "postgresql"
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


# ---------------------------------------------------------------------- migrations


def test_migrations_are_packaged_with_their_template() -> None:
    assert (database.MIGRATIONS_DIR / "env.py").is_file()
    assert (database.MIGRATIONS_DIR / "script.py.mako").is_file()
    assert head_revision() == "0005"


def test_migrate_creates_the_schema_and_is_idempotent(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        assert inspect(engine).get_table_names() == []
        assert migrate(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert migrate(engine) == head_revision()  # a second run changes nothing
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        with transaction(engine) as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_migrated_schema_matches_schema_module(migrated: Engine) -> None:
    with migrated.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_every_tenant_table_has_a_tenant_id_index(migrated: Engine) -> None:
    inspector = inspect(migrated)
    with_tenant_id = {
        table
        for table in inspector.get_table_names()
        if "tenant_id" in {c["name"] for c in inspector.get_columns(table)}
    }
    assert with_tenant_id == set(TENANT_TABLES)
    for table in with_tenant_id:
        leading: set[str | None] = {inspector.get_pk_constraint(table)["constrained_columns"][0]}
        leading |= {ix["column_names"][0] for ix in inspector.get_indexes(table)}
        leading |= {uq["column_names"][0] for uq in inspector.get_unique_constraints(table)}
        assert "tenant_id" in leading, f"{table}: no index starts with tenant_id"
        foreign = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert "tenants" in foreign, f"{table}: tenant_id does not reference tenants"


def test_migrate_downgrades_and_upgrades_again_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        migrate(engine)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        assert current_revision(engine) is None
        assert migrate(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_migrate_restores_foreign_keys_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", busy_timeout_s=1)
    try:
        migrate(engine)
        with engine.connect() as connection:  # the connection migrate used, back in the pool
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- tenant context and RLS


def test_transaction_sets_the_tenant_context_for_that_transaction_only(migrated: Engine) -> None:
    setting = select(func.current_setting(database.TENANT_SETTING, True))
    if migrated.dialect.name == "sqlite":
        with transaction(migrated, "acme") as connection:  # nothing to set, nothing fails
            assert connection.execute(select(1)).scalar() == 1
        return
    with transaction(migrated, "acme") as connection:
        assert connection.execute(setting).scalar() == "acme"
    with transaction(migrated) as connection:  # the same pooled connection, next transaction
        assert connection.execute(setting).scalar() in (None, "")


def test_every_table_with_tenant_id_has_a_row_level_security_policy(pg_migrated: Engine) -> None:
    with transaction(pg_migrated) as connection:
        tables = set(
            connection.execute(
                text(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND column_name = 'tenant_id'"
                )
            ).scalars()
        )
        assert tables == set(TENANT_TABLES)
        for table in sorted(tables):
            enabled, forced = connection.execute(
                text(
                    "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE oid = to_regclass(:table)"
                ),
                {"table": table},
            ).one()
            assert enabled, f"{table}: row-level security is not enabled"
            # Not forced on purpose: the service connects as the owner (database.py).
            assert not forced, f"{table}: row-level security is forced"
            policies = connection.execute(
                text(
                    "SELECT policyname, cmd, qual, with_check FROM pg_policies "
                    "WHERE schemaname = current_schema() AND tablename = :table"
                ),
                {"table": table},
            ).all()
            assert len(policies) == 1, f"{table}: {policies}"
            name, command_, qual, with_check = policies[0]
            assert (name, command_) == ("tenant_isolation", "ALL")
            for expression in (qual, with_check):
                assert "tenant_id" in expression
                assert "current_setting('switchboard.tenant_id'::text, true)" in expression


def test_policies_confine_a_non_owner_role_to_its_tenant(pg_migrated: Engine) -> None:
    """What RLS adds: a role that does not own the tables sees only the context's tenant."""
    migrated = pg_migrated
    tenants = TenantRepository(migrated)
    a, b = (tenants.create(name, id=f"{name}-{uuid.uuid4().hex[:12]}") for name in "ab")
    for tenant in (a, b):
        with transaction(migrated, tenant.id, write=True) as connection:
            connection.execute(
                insert(api_keys).values(
                    key_id=f"k-{tenant.id}"[:32],
                    tenant_id=tenant.id,
                    name="key",
                    scopes=["config:read"],
                    secret_hmac="hmac",
                    created_by="test",
                    created_at=T0,
                    expires_at=T0,
                )
            )
    role = f"switchboard_rls_{uuid.uuid4().hex[:12]}"
    with migrated.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        connection.exec_driver_sql(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {role}")
    restricted = create_engine(migrated.url)

    @event.listens_for(restricted, "connect")
    def _as_role(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute(f"SET ROLE {role}")
        dbapi_connection.commit()  # type: ignore[attr-defined]

    def keys(tenant_id: str | None) -> set[str]:
        with transaction(restricted, tenant_id) as connection:
            return set(connection.execute(select(api_keys.c.tenant_id)).scalars())

    try:
        assert keys(a.id) == {a.id}
        assert keys(b.id) == {b.id}
        assert keys(None) == set()  # no context, no rows
        # ... which is why system-level lookups need the owner (RLS is not forced)
        assert TenantRepository(restricted).tenant_id_for_api_key(f"k-{a.id}"[:32]) is None
        assert TenantRepository(migrated).tenant_id_for_api_key(f"k-{a.id}"[:32]) == a.id
        # and a write into another tenant is refused by WITH CHECK
        with (
            pytest.raises(ProgrammingError, match="row-level security"),
            transaction(restricted, a.id, write=True) as connection,
        ):
            connection.execute(
                insert(api_keys).values(
                    key_id=f"x-{uuid.uuid4().hex[:12]}",
                    tenant_id=b.id,
                    name="smuggled",
                    scopes=[],
                    secret_hmac="hmac",
                    created_by="test",
                    created_at=T0,
                    expires_at=T0,
                )
            )
    finally:
        restricted.dispose()
        with migrated.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")
