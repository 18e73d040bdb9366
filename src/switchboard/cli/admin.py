"""`switchboard admin …`: local accounts of system and partner administrators.

System and partner administrators stand above the tenants (spec 01 §3), so they
are not users of any tenant and no tenant admin can create them. In a standalone
deployment the operator creates their accounts here; they then sign in at
`POST /api/v1/auth/system/sign-in` and select a tenant with the
`X-Switchboard-Tenant` header (docs/security.md).

The password is asked for twice on the terminal, or read as one line from
standard input with `--password-stdin` (for scripts); it is never printed, and
it must meet the policy of every local account (10 L2).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine

from switchboard.api.routes.auth import normalise
from switchboard.api.security.passwords import check_password_policy, hash_password
from switchboard.store.database import create_engine, default_url, migrate
from switchboard.store.repositories import (
    SYSTEM_ROLES,
    AlreadyExistsError,
    PartnerRepository,
    ReferenceNotFoundError,
    SystemAccountRepository,
)

_POLICY = {
    "too_short": "has fewer than 12 characters",
    "too_long": "has more than 256 characters",
    "contains_username": "contains the username",
    "too_common": "is too common",
}


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "admin",
        help="accounts of system and partner administrators",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a system or partner admin account")
    create.add_argument("username", help="the name to sign in with (case does not matter)")
    create.add_argument("--role", required=True, choices=SYSTEM_ROLES)
    create.add_argument("--partner", default=None, help="the partner id (partner_admin only)")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password as one line from standard input instead of asking",
    )
    listing = actions.add_parser("list", help="the system accounts, and the partners")
    remove = actions.add_parser("remove", help="remove an account (its sessions end)")
    remove.add_argument("username")
    for sub in (create, listing, remove):
        sub.add_argument("--db", default=None, help="database URL (default: under --var-dir)")
        sub.add_argument("--var-dir", default="var", help="directory of the default database")
    create.set_defaults(handler=_create)
    listing.set_defaults(handler=_list)
    remove.set_defaults(handler=_remove)


def _engine(args: argparse.Namespace) -> Engine:
    engine = create_engine(args.db or default_url(Path(args.var_dir)))
    migrate(engine)
    return engine


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the password on; use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _create(args: argparse.Namespace) -> int:
    username = normalise(args.username)
    if not username:
        raise ValueError("the username must contain more than spaces")
    if (args.role == "partner_admin") != (args.partner is not None):
        raise ValueError("--partner names the partner of a partner_admin, and only of one")
    engine = _engine(args)
    if args.partner is not None and PartnerRepository(engine).get(args.partner) is None:
        raise ValueError(f"no partner with id {args.partner} (see: switchboard admin list)")
    password = _password(args)
    problems = check_password_policy(password, username)
    if problems:
        raise ValueError("the password " + ", ".join(_POLICY[p] for p in problems))
    try:
        account = SystemAccountRepository(engine).create(
            username, hash_password(password), role=args.role, partner_id=args.partner
        )
    except AlreadyExistsError:
        raise ValueError(f"the username {username} is taken by another system account") from None
    except ReferenceNotFoundError:
        raise ValueError(f"no partner with id {args.partner}") from None
    scope = f" of partner {account.partner_id}" if account.partner_id else ""
    Console(highlight=False).print(f"created {account.role} {account.username}{scope}")
    return 0


def _list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    console = Console(highlight=False)
    for account in SystemAccountRepository(engine).list():
        scope = f"  partner: {account.partner_id}" if account.partner_id else ""
        console.print(f"{account.username}  {account.role}{scope}")
    console.print("partners:")
    for partner in PartnerRepository(engine).list():
        default = "  (default)" if partner.is_default else ""
        console.print(f"  {partner.id}  {partner.name}{default}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    accounts = SystemAccountRepository(_engine(args))
    username = normalise(args.username)
    account = accounts.by_username(username)
    if account is None or not accounts.delete(account.id):
        raise ValueError(f"no system account named {username}")
    Console(highlight=False).print(f"removed {username}; its sessions have ended")
    return 0
