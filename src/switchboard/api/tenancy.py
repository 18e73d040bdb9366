"""The tenants this process serves: one restored engine host per tenant.

At start the database is migrated, every tenant's journal is replayed into its
engine (`TenantHost.restore`), and the hosts start. Requests reach a host only
through `host_for(principal.tenant_id)`, where the tenant id comes from the
authenticated principal, never from request data (10 TI1).
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as Database
from starlette.requests import HTTPConnection

from switchboard.api.voice_channels import VoiceChannels
from switchboard.channels.voice.sim_world import SimulatorConfig
from switchboard.domain import config as cfg
from switchboard.domain.voice import VoiceEvent
from switchboard.engine.clock import Clock, RealClock
from switchboard.engine.engine import Engine
from switchboard.reporting.live import LiveProjection
from switchboard.reporting.odata.workers import Readers
from switchboard.runtime.host import HostUnavailable, TenantHost
from switchboard.store.database import create_engine, default_url, migrate
from switchboard.store.repositories import TenantRepository
from switchboard.store.sql_journal import SqlJournal

log = logging.getLogger(__name__)

#: `production`: the real thing; `development` and `test` add the voice simulator and
#: its control API `/sim/api` (10 PE2).
MODES = ("production", "development", "test")


@dataclass
class Settings:
    """How this node runs; built by `switchboard serve` from its flags."""

    db_url: str = field(default_factory=default_url)
    var_dir: Path = Path("var")
    secret_key: bytes | None = None  # pepper for API-key HMACs; from the environment or a file
    demo: bool = False
    #: One of MODES; from `SWITCHBOARD_MODE`, else production.
    mode: str = field(default_factory=lambda: os.environ.get("SWITCHBOARD_MODE", "production"))
    #: The voice simulator's behaviour (development/test); None: defaults, a fresh seed.
    simulator: SimulatorConfig | None = None
    #: Accepted `aud` values of OIDC bearer tokens (Switchboard's application id and/or
    #: Application ID URI); empty: bearer tokens are not accepted (10 A3).
    oidc_audiences: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            a.strip()
            for a in os.environ.get("SWITCHBOARD_OIDC_AUDIENCE", "").split(",")
            if a.strip()
        )
    )
    #: Where a linked directory tenant's issuer and keys live (Entra ID by default):
    #: issuer `{authority}/{tid}/v2.0`, keys `{authority}/{tid}/discovery/v2.0/keys`.
    oidc_authority: str = field(
        default_factory=lambda: os.environ.get(
            "SWITCHBOARD_OIDC_AUTHORITY", "https://login.microsoftonline.com"
        ).rstrip("/")
    )
    #: Worker processes that run the OData feed's queries (0: threads of this process);
    #: see `switchboard.reporting.odata.workers`.
    odata_workers: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}.")

    @property
    def simulator_enabled(self) -> bool:
        """The in-process voice simulator and its control API run (never in production)."""
        return self.mode != "production"

    def pepper(self) -> bytes:
        """`SWITCHBOARD_SECRET_KEY`, else a key file created once under `var_dir` (mode 600)."""
        if self.secret_key is not None:
            return self.secret_key
        env = os.environ.get("SWITCHBOARD_SECRET_KEY")
        if env:
            self.secret_key = env.encode()
            return self.secret_key
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip().encode()
        return self.secret_key


class Tenancy:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or RealClock()
        self.db: Database = create_engine(settings.db_url)
        self.tenants = TenantRepository(self.db)
        self.hosts: dict[str, TenantHost] = {}
        #: tenant id -> its reporting projection, kept current from the host's batches
        self.reports: dict[str, LiveProjection] = {}
        self.started = False
        #: hash of a presented API key -> (principal, trusted until); see api.auth
        self.auth_cache: dict[str, tuple[Any, float]] = {}
        #: where the OData feed's queries run (threads, or worker processes)
        self.readers = Readers(self.db, settings.db_url, settings.odata_workers)
        self.voice = VoiceChannels(
            simulate=settings.simulator_enabled,
            clock=self.clock,
            feed=_feed_voice_event,
            config=settings.simulator,
        )

    def open(self) -> None:
        """Migrate the database and restore every tenant (blocking; call before serving)."""
        migrate(self.db)
        for record in self.tenants.list():
            self._restore(record.id, record.name)

    def restore_tenant(self, tenant_id: str) -> TenantHost:
        """Serve a tenant whose journal was written outside this process (the demo's
        history): its engine and reporting are rebuilt from the database, as at start."""
        record = self.tenants.get(tenant_id)
        if record is None:
            raise ValueError(f"no tenant with id {tenant_id}")
        return self._restore(record.id, record.name)

    def _restore(self, tenant_id: str, name: str) -> TenantHost:
        journal = SqlJournal(self.db, tenant_id)
        tenant = cfg.Tenant(id=tenant_id, name=name)
        host = TenantHost.restore(tenant, self.clock, journal.read(), journal)
        self.hosts[tenant_id] = host
        self._report(tenant_id, journal)
        log.info("tenant %s restored at seq %d", tenant_id, host.engine.state.seq)
        if self.started:
            self._start(tenant_id)
        return host

    def _report(self, tenant_id: str, journal: SqlJournal) -> None:
        """The tenant's reporting projection, resumed where its tables stand (08 RP1)."""
        projection = LiveProjection(self.db, tenant_id, journal.read)
        projection.load()
        self.reports[tenant_id] = projection

    def _start(self, tenant_id: str) -> None:
        host = self.hosts[tenant_id]
        projection = self.reports[tenant_id]
        host.subscribe(projection.on_batch)
        projection.start()
        host.start()
        self.voice.attach(host)

    def start(self) -> None:
        self.readers.start()
        for tenant_id in self.hosts:
            self._start(tenant_id)
        self.started = True

    async def stop(self) -> None:
        await self.voice.stop()  # no provider event reaches an engine that is stopping
        for host in self.hosts.values():
            await host.stop()
        for projection in self.reports.values():
            await projection.stop()  # after the hosts: their last batches are written too
        await self.readers.stop()
        self.started = False
        self.db.dispose()

    def create_tenant(
        self, name: str, *, tenant_id: str | None = None, partner_id: str | None = None
    ) -> TenantHost:
        """A new tenant of `partner_id` (None: the default partner) with its root OU,
        journaled, and its host (started if we are)."""
        record = self.tenants.create(name, id=tenant_id, partner_id=partner_id)
        journal = SqlJournal(self.db, record.id)
        engine = Engine(cfg.Tenant(id=record.id, name=record.name), self.clock)
        engine.upsert("tenant", cfg.Tenant(id=record.id, name=record.name))
        journal.append(engine.drain())
        host = TenantHost(engine, journal, self.clock)
        self.hosts[record.id] = host
        self._report(record.id, journal)
        if self.started:
            self._start(record.id)
        return host

    def host_for(self, tenant_id: str) -> TenantHost:
        host = self.hosts.get(tenant_id)
        if host is None:
            raise HostUnavailable(f"tenant {tenant_id} is not served by this node")
        return host

    @property
    def ready(self) -> bool:
        return self.started and all(h.ready for h in self.hosts.values())


def _feed_voice_event(engine: Engine, event: VoiceEvent) -> None:
    """A provider event, as the engine's input (the workflow interpreter acts on it)."""
    engine.voice_event(event)


def tenancy_of(connection: HTTPConnection) -> Tenancy:
    """The `Tenancy` of the application serving this request or socket."""
    tenancy: Tenancy = connection.app.state.tenancy
    return tenancy
