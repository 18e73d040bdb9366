"""Connecting to the store's database, migrating it, and running transactions in it.

Two databases are supported (spec 12 M1/M2): a SQLite file for a single node
(`default_url()`: `var/switchboard.sqlite3`) and PostgreSQL for several nodes,
through psycopg 3 (`postgresql+psycopg://user:password@host:port/dbname`).
Everything above this module uses SQLAlchemy Core and does not care which.

SQLite. Every connection runs in WAL mode (readers do not block the writer),
with foreign keys enforced, a busy timeout (a writer waits for the lock instead
of failing at once) and `synchronous=FULL` by default (a committed transaction
survives a power loss; spec 12 M1). pysqlite's own transaction handling is
switched off and SQLAlchemy's "begin" emits the `BEGIN` itself: a plain
(deferred) `BEGIN` for reads, `BEGIN IMMEDIATE` for `transaction(..., write=True)`
so that a read-then-write transaction takes the write lock up front and cannot
fail half-way with "database is locked" when another writer got there first.

PostgreSQL and tenant isolation (spec 10 TI1–TI2). `transaction(engine, tenant_id)`
runs `set_config('switchboard.tenant_id', tenant_id, true)` at the start of the
transaction (the transaction-local `SET LOCAL`, parameterised), so the setting
ends with the transaction and never leaks to the next user of a pooled
connection. The migrations enable row-level security on every table that has
a `tenant_id`, with the policy `tenant_id = current_setting('switchboard.tenant_id',
true)`; without a context set, `current_setting(..., true)` is NULL and the
policy matches no row.

Row-level security is enabled but deliberately *not forced*
(`ALTER TABLE ... FORCE ROW LEVEL SECURITY` is not issued). The service connects
as the owner of the tables, and PostgreSQL does not apply RLS to a table's owner
unless it is forced. That is needed today: some reads are system-level by nature
and run before any tenant is known — finding the tenant of a directory tenant id
(OIDC `tid`), of an API key id or of a session cookie — as are migrations and
operator tools. Forcing RLS would make those reads return nothing. The
repositories therefore filter by their bound tenant id in every query (the
primary isolation), and the policies are defence in depth that takes effect for
any non-owner role (a reporting or read-only role, or the service itself once it
connects as a separate, non-owner role and system-level reads move to a
`BYPASSRLS` role or `SECURITY DEFINER` functions). `tests/store/test_database.py`
proves the policies with such a role.

Migrations. `migrate(engine)` upgrades the schema to the newest Alembic revision
from the environment packaged in `switchboard/store/migrations/` (no
`alembic.ini` needed); it is idempotent and safe to call at every start, and
concurrent callers on PostgreSQL are serialised by an advisory lock.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Select, String, bindparam, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError

__all__ = [
    "ACCEPTED_URLS",
    "MIGRATIONS_DIR",
    "TENANT_SETTING",
    "alembic_config",
    "create_engine",
    "current_revision",
    "default_url",
    "head_revision",
    "integrity_kind",
    "migrate",
    "transaction",
]

#: The directory of the packaged Alembic environment (env.py, script.py.mako, versions/).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: The PostgreSQL setting the row-level-security policies compare `tenant_id` with.
TENANT_SETTING = "switchboard.tenant_id"

ACCEPTED_URLS = (
    "sqlite:///path/to/file.sqlite3 (or sqlite+pysqlite://...)",
    "postgresql+psycopg://user:password@host:port/dbname",
)

_SQLITE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite"})
_POSTGRES_DRIVERS = frozenset({"postgresql+psycopg"})
_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})

#: Execution option that makes the SQLite "begin" hook emit BEGIN IMMEDIATE.
_WRITE = "switchboard_write"

#: pg_advisory_xact_lock key serialising concurrent `migrate` calls (any constant works).
_MIGRATION_LOCK = 0x5B_0001


def default_url(var_dir: Path = Path("var")) -> str:
    """The URL of the single-node database: the SQLite file `<var_dir>/switchboard.sqlite3`.

    A relative `var_dir` is relative to the working directory; `create_engine`
    resolves it when the engine is created and creates the directory.
    """
    return URL.create("sqlite", database=str(var_dir / "switchboard.sqlite3")).render_as_string()


def create_engine(
    url: str | URL,
    *,
    busy_timeout_s: float = 5.0,
    sqlite_synchronous: str = "FULL",
    echo: bool = False,
) -> Engine:
    """A SQLAlchemy engine for a SQLite file or a PostgreSQL database (via psycopg 3).

    Accepted: `sqlite:///<path>` (also `sqlite+pysqlite`; `sqlite://` alone is an
    in-memory database, each connection its own) and `postgresql+psycopg://...`.
    Any other URL raises `ValueError` naming it (password hidden) and the accepted
    forms. For SQLite the file's directory is created and a relative path is made
    absolute; every connection gets WAL mode, foreign keys, `busy_timeout_s` and
    `sqlite_synchronous` (OFF, NORMAL, FULL or EXTRA).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(_refusal(str(url), "it is not a database URL")) from exc
    driver = parsed.drivername
    if driver in _POSTGRES_DRIVERS:
        return sqlalchemy.create_engine(parsed, pool_pre_ping=True, echo=echo)
    if driver not in _SQLITE_DRIVERS:
        shown = parsed.render_as_string(hide_password=True)
        reason = f"the scheme {driver!r} is not supported"
        if driver.split("+")[0] in ("postgresql", "postgres"):
            reason += " (PostgreSQL is used through psycopg 3: postgresql+psycopg://)"
        raise ValueError(_refusal(shown, reason))
    synchronous = sqlite_synchronous.upper()
    if synchronous not in _SYNCHRONOUS:
        raise ValueError(
            f"sqlite_synchronous must be one of {sorted(_SYNCHRONOUS)}, not {sqlite_synchronous!r}"
        )
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file:")
    if not in_memory:
        path = Path(database).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    engine = sqlalchemy.create_engine(parsed, echo=echo)
    _configure_sqlite(engine, busy_timeout_ms=round(busy_timeout_s * 1000), synchronous=synchronous)
    return engine


def _refusal(shown: str, reason: str) -> str:
    return f"cannot use database URL {shown!r}: {reason}; accepted: {', '.join(ACCEPTED_URLS)}"


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # No implicit BEGIN/COMMIT from pysqlite: `_on_begin` emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def transaction(
    engine: Engine,
    tenant_id: str | None = None,
    *,
    write: bool = False,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Connection]:
    """A connection inside one transaction: committed on success, rolled back on error.

    `tenant_id` sets the PostgreSQL row-level-security context for this
    transaction (`switchboard.tenant_id`, transaction-local); None is a
    system-level transaction (no context). `settings` are further
    transaction-local PostgreSQL settings (`statement_timeout`, …), set in the
    same statement; SQLite has none. `write=True` declares that the
    transaction will write: on SQLite it starts with `BEGIN IMMEDIATE`, taking
    the write lock at once (waiting up to the busy timeout), so a read followed
    by a write cannot be refused half-way.
    """
    with engine.connect() as connection:
        if write:
            connection.execution_options(**{_WRITE: True})
        with connection.begin():
            local = dict(settings or {})
            if tenant_id is not None:
                local[TENANT_SETTING] = tenant_id
            if local and connection.dialect.name == "postgresql":
                params = {}
                for i, (name, value) in enumerate(local.items()):
                    params[f"name_{i}"], params[f"value_{i}"] = name, value
                connection.execute(_set_config(len(local)), params)
            yield connection


@functools.cache
def _set_config(count: int) -> Select[Any]:
    """`SELECT set_config(:name_0, :value_0, true), …`: one round trip for `count`
    transaction-local settings."""
    return select(
        *(
            func.set_config(
                bindparam(f"name_{i}", type_=String()),
                bindparam(f"value_{i}", type_=String()),
                True,
            )
            for i in range(count)
        )
    )


IntegrityKind = Literal["unique", "foreign_key", "other"]


def integrity_kind(error: IntegrityError) -> IntegrityKind:
    """Which constraint an `IntegrityError` broke: a unique/primary key or a foreign key."""
    original: Any = error.orig
    sqlstate = getattr(original, "sqlstate", None)  # psycopg
    if sqlstate == "23505":
        return "unique"
    if sqlstate == "23503":
        return "foreign_key"
    if sqlstate is not None:
        return "other"
    name = str(getattr(original, "sqlite_errorname", ""))
    if name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"):
        return "unique"
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return "foreign_key"
    return "other"


# ---------------------------------------------------------------------- migrations


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic `Config` for the packaged environment, optionally bound to `connection`.

    With a connection, `env.py` migrates through it (inside its transaction).
    Without one (for `alembic.command.revision(..., autogenerate=True)` during
    development), set the URL first: `config.set_main_option("sqlalchemy.url", url)`.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with transaction(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> str:
    """Upgrade the database to the newest revision; return that revision.

    Idempotent: at head it changes nothing. Runs in one transaction (DDL is
    transactional on both databases), so a failed migration leaves the schema
    as it was. On PostgreSQL an advisory lock makes concurrent callers (nodes
    starting together) wait for each other. On SQLite foreign keys are switched
    off during the migration, as Alembic's batch mode needs when it recreates a
    table, and `PRAGMA foreign_key_check` must find no violation before commit.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # PRAGMA foreign_keys is ignored inside a transaction: set it before BEGIN
            _sqlite_pragma(connection, "foreign_keys = OFF")
        try:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                command.upgrade(alembic_config(connection), "head")
                if sqlite:
                    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if violations:
                        raise RuntimeError(f"migration broke foreign keys: {violations[:10]}")
                revision = MigrationContext.configure(connection).get_current_revision()
        finally:
            if sqlite:
                _sqlite_pragma(connection, "foreign_keys = ON")
    if revision is None:
        raise RuntimeError("the database has no revision after migrating")
    return revision


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """Run a PRAGMA outside any transaction, on the DBAPI connection (autocommit)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
