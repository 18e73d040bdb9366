"""`switchboard serve`: the service — web UI, REST API, live operations, metrics — on one node."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
from pathlib import Path
from typing import Any

from rich.console import Console

from switchboard.store.database import default_url


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="run the Switchboard service",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    p.add_argument(
        "--db",
        default=None,
        help="database URL: sqlite:///PATH or postgresql+psycopg://... (default: a SQLite "
        "file under --var-dir)",
    )
    p.add_argument("--var-dir", default="var", help="directory for the default database and keys")
    p.add_argument("--demo", action="store_true", help="create the demo tenant and print a key")
    p.add_argument(
        "--demo-days",
        type=int,
        default=30,
        help="days of simulated history a new demo tenant starts with, for the reports "
        "(0: none; simulated once, when the demo tenant is created)",
    )
    p.add_argument(
        "--mode",
        choices=("production", "development", "test"),
        default=None,
        help="development and test add the voice simulator and its control API /sim/api "
        "(default: development with --demo, else production or $SWITCHBOARD_MODE)",
    )
    p.add_argument(
        "--simulator-remote",
        action="store_true",
        help="allow the simulator's control API on a non-loopback --host (it has no place "
        "on a network others reach)",
    )
    p.add_argument(
        "--odata-workers",
        type=int,
        default=0,
        help="worker processes that run the OData feed's queries, so reporting clients use "
        "more than one core (0: threads of the service's process; docs/reporting-odata.md)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `switchboard simulate` does not load the web stack.
    import uvicorn

    from switchboard.api.demo import DEMO_KEY_ENV, ensure_demo
    from switchboard.api.demo_history import HistoryPlan
    from switchboard.api.observability import configure_logging
    from switchboard.api.tenancy import Settings, Tenancy
    from switchboard.cli.progress import progress_bar
    from switchboard.web.app import create_app

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535; got {args.port}")
    if not 0 <= args.demo_days <= 366:
        raise ValueError(f"--demo-days must be between 0 and 366; got {args.demo_days}")
    var_dir = Path(args.var_dir)
    settings = Settings(
        db_url=args.db or default_url(var_dir),
        var_dir=var_dir,
        demo=args.demo,
        odata_workers=args.odata_workers,
    )
    mode: str | None = args.mode or ("development" if args.demo else None)
    if mode is not None:  # else $SWITCHBOARD_MODE, or production
        settings = dataclasses.replace(settings, mode=mode)
    if settings.simulator_enabled and not (_loopback(args.host) or args.simulator_remote):
        raise ValueError(
            f"--host {args.host} is not a loopback address, and {settings.mode} mode serves "
            "the voice simulator's control API (/sim/api), which must stay on this machine: "
            "use --host 127.0.0.1, --mode production, or --simulator-remote"
        )
    tenancy = Tenancy(settings)
    tenancy.open()
    console = Console(soft_wrap=True, highlight=False)  # keys stay copyable on one line
    base = f"http://{args.host}:{args.port}"
    console.print(f"[bold]Switchboard[/bold] on {base}  (database: {_shown(settings.db_url)})")
    console.print(f"  web UI     {base}/  (sign in with a local account)")
    console.print(f"  API docs   {base}/api/docs")
    console.print(f"  OpenAPI    {base}/api/openapi.json")
    console.print(f"  health     {base}/healthz   ready {base}/readyz   metrics {base}/metrics")
    if settings.odata_workers:
        console.print(f"  OData      {base}/odata/  ({settings.odata_workers} worker processes)")
    if settings.simulator_enabled:
        console.print(f"  simulator  {base}/sim/api/calls  ({settings.mode} mode; docs/voice.md)")
    if args.demo:
        plan = HistoryPlan(days=args.demo_days) if args.demo_days else None
        demo = ensure_demo(tenancy, history=plan, progress=progress_bar)
        console.print(f"  demo tenant {demo.tenant_id}")
        if demo.history is not None:
            h = demo.history
            console.print(
                f"  demo history {args.demo_days} days: {h.calls:,} calls and {h.chats:,} chats "
                f"simulated in {h.seconds:.1f} s (kept for the next starts)"
            )
        console.print(f"  demo API key [bold]{demo.api_key}[/bold]")
        console.print(
            f"    (set {DEMO_KEY_ENV} to keep one key across restarts; try: curl -H "
            f"'Authorization: Bearer {demo.api_key}' {base}/api/v1/services)"
        )
        console.print(
            f"  demo sign-in  {base}/sign-in (or POST /api/v1/auth/sign-in), password "
            f"[bold]{demo.password}[/bold] for every login:"
        )
        for login, what in demo.logins.items():
            console.print(f"    {login:<11} {what}")
    configure_logging()
    uvicorn.run(
        create_app(tenancy=tenancy),
        host=args.host,
        port=args.port,
        log_config=None,  # our JSON logging, configured above
        access_log=False,  # one access line per request comes from RequestContext
    )
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
