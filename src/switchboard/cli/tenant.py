"""`switchboard tenant …`: operator tasks on tenant records (system level, not via the API).

`tenant list` shows the tenants of a database; `tenant link-directory` links a
tenant to its directory tenant (Entra `tid`), after which OIDC bearer tokens of
that directory are accepted for it (docs/security.md). The running service picks
the link up within a minute.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from switchboard.store.database import create_engine, default_url, migrate
from switchboard.store.repositories import AlreadyExistsError, TenantRepository


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "tenant", help="list tenants, link a tenant to its directory", description=__doc__
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the tenants of the database")
    link = actions.add_parser("link-directory", help="accept this directory's OIDC tokens")
    link.add_argument("tenant_id", help="the Switchboard tenant id")
    link.add_argument(
        "directory_tenant_id", help="the directory (Entra) tenant id, or 'none' to unlink"
    )
    for sub in (listing, link):
        sub.add_argument("--db", default=None, help="database URL (default: under --var-dir)")
        sub.add_argument("--var-dir", default="var", help="directory of the default database")
    listing.set_defaults(handler=_list)
    link.set_defaults(handler=_link)


def _repository(args: argparse.Namespace) -> TenantRepository:
    engine = create_engine(args.db or default_url(Path(args.var_dir)))
    migrate(engine)
    return TenantRepository(engine)


def _list(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    for tenant in _repository(args).list():
        linked = tenant.directory_tenant_id or "-"
        console.print(
            f"{tenant.id}  {tenant.name}  directory: {linked}  partner: {tenant.partner_id}"
        )
    return 0


def _link(args: argparse.Namespace) -> int:
    directory = None if args.directory_tenant_id.lower() == "none" else args.directory_tenant_id
    try:
        changed = _repository(args).set_directory_tenant_id(args.tenant_id, directory)
    except AlreadyExistsError:
        raise ValueError(
            f"directory tenant {directory} is linked to another tenant already"
        ) from None
    if not changed:
        raise ValueError(f"no tenant with id {args.tenant_id}")
    Console(highlight=False).print(
        f"tenant {args.tenant_id} "
        + (f"linked to directory {directory}" if directory else "unlinked")
    )
    return 0
