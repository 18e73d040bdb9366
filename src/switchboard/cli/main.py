"""`switchboard` command line: one sub-command per module of this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from switchboard import __version__
from switchboard.cli import admin, bench, reports, serve, simulate, tenant


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Switchboard: contact-center routing you can run anywhere.",
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulate.register(commands)
    bench.register(commands)
    serve.register(commands)
    tenant.register(commands)
    admin.register(commands)
    reports.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except ValueError as error:  # bad input caught below argparse's type checks
        parser.exit(2, f"switchboard: error: {error}\n")
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
