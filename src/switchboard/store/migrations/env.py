"""Alembic environment of the store, loaded by Alembic (not imported by the package).

`switchboard.store.database.migrate(engine)` runs it with a connection already
inside a transaction (`config.attributes["connection"]`); the migration runs in
that transaction. During development it also runs without one, on the URL set
as `sqlalchemy.url` in the config (for example to autogenerate a revision
against a migrated scratch database)::

    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "sqlite:////tmp/scratch.sqlite3")
    alembic.command.revision(config, message="...", autogenerate=True)

SQLite cannot alter most of a table in place, so on SQLite revisions run in
Alembic's batch mode (`render_as_batch`): a changed table is copied into a new
one. Offline (SQL script) mode is not supported.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from switchboard.store.database import create_engine, transaction
from switchboard.store.schema import metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported; use migrate(engine)")
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database: call switchboard.store.database.migrate(engine), "
            "or set sqlalchemy.url in the Alembic config"
        )
    engine = create_engine(url)
    try:
        with transaction(engine, write=True) as connection:
            run(connection)
    finally:
        engine.dispose()


main()
