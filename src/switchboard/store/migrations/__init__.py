"""The store's Alembic environment (run it through `switchboard.store.database.migrate`)."""
