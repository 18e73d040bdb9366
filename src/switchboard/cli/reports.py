"""`switchboard reports …`: the reporting tables (docs/reporting.md).

`reports rebuild` empties a tenant's reporting tables and projects its whole
journal into them again, with a progress bar — the same projection the service
keeps current while it runs, so the rows come out identical. Stop the service
first (or at least expect it to take over: whichever of the two finds the
projection's cursor moved under it stops).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from switchboard.cli.progress import progress_bar
from switchboard.reporting.rebuild import rebuild
from switchboard.store.database import create_engine, default_url, migrate
from switchboard.store.repositories import TenantRepository
from switchboard.store.sql_journal import SqlJournal


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "reports", help="rebuild the reporting tables from the journal", description=__doc__
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    again = actions.add_parser(
        "rebuild",
        help="empty the reporting tables and project the journal into them again",
        description=__doc__,
    )
    again.add_argument(
        "--tenant",
        action="append",
        dest="tenants",
        metavar="TENANT_ID",
        help="only this tenant (repeatable; default: every tenant of the database)",
    )
    again.add_argument("--db", default=None, help="database URL (default: under --var-dir)")
    again.add_argument("--var-dir", default="var", help="directory of the default database")
    again.add_argument("--no-progress", action="store_true", help="no progress bar")
    again.set_defaults(handler=_rebuild)


def _rebuild(args: argparse.Namespace) -> int:
    db = create_engine(args.db or default_url(Path(args.var_dir)))
    try:
        migrate(db)
        known = {t.id: t for t in TenantRepository(db).list()}
        wanted = args.tenants or sorted(known)
        unknown = [t for t in wanted if t not in known]
        if unknown:
            raise ValueError(f"--tenant names no tenant of this database: {', '.join(unknown)}")
        table = Table("tenant", "events", "service sessions", "user sessions", "user states")
        for tenant_id in wanted:
            total = SqlJournal(db, tenant_id).last_seq()
            label = f"rebuilding {known[tenant_id].name}"
            with progress_bar(label, total, enabled=not args.no_progress) as advance:
                result = rebuild(db, tenant_id, progress=advance)
            table.add_row(
                tenant_id,
                f"{result.events:,}",
                f"{result.service_sessions:,}",
                f"{result.user_sessions:,}",
                f"{result.user_states:,}",
            )
        Console(highlight=False).print(table)
    finally:
        db.dispose()
    return 0
