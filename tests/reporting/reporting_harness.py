"""A tenant in virtual time whose committed events are folded by the reporting projection.

Shared by tests/reporting/test_*.py. The engine is real; with `voice=True` the
telephone simulator is the provider (`VirtualVoice`), so calls run through the
real workflow interpreter with media. `Scene.rows()` hands over what the
projection has concluded so far. Ids are counted, so runs are repeatable.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as Database
from sqlalchemy import select

from switchboard.channels.voice.sim_world import SimulatorConfig
from switchboard.channels.voice.simulator import VoiceSimulator
from switchboard.channels.voice.virtual_time import VirtualVoice
from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, Presence
from switchboard.domain.voice import VoiceEvent
from switchboard.domain.workflow import Workflow
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.reporting.projection import Output, Projector
from switchboard.store.database import create_engine, migrate, transaction
from switchboard.store.repositories import TenantRepository
from switchboard.store.schema import REPORT_TABLES
from workflow_nodes import started

#: 2026-01-05 09:00:00 UTC, a Monday.
START = 1_767_603_600.0


def counting_ids(prefix: str = "id") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: str(uuid.uuid5(uuid.NAMESPACE_OID, f"{prefix}-{next(counter)}"))


def workflow(nodes: Sequence[dict[str, Any]], *, workflow_id: str = "wf") -> Workflow:
    """start → the given nodes (the first one follows the start)."""
    return started(nodes, workflow_id=workflow_id, name=workflow_id)


def service(service_id: str = "svc", **fields: Any) -> cfg.Service:
    return cfg.Service(
        id=service_id,
        name=service_id.title(),
        upn=f"{service_id}@acme.test",
        pstn_number=fields.pop("pstn_number", None),
        user_assignment_type=AssignmentType.TEAMS_BASED,
        **fields,
    )


def user(user_id: str, *services: str, **fields: Any) -> cfg.User:
    return cfg.User(
        id=user_id,
        upn=f"{user_id}@acme.test",
        display_name=user_id.title(),
        memberships={s: cfg.Membership(s) for s in services},
        not_available_reason_ids=fields.pop("not_available_reason_ids", ()),
        **fields,
    )


class Scene:
    """One tenant, its engine on a virtual clock, the projection following its commits."""

    def __init__(
        self,
        *,
        voice: bool = False,
        persist_user_states: bool = False,
        start: float = START,
        time_zone: str = "UTC",
    ) -> None:
        self.clock = VirtualClock(start)
        tenant = cfg.Tenant(id="t", name="T", time_zone=time_zone)
        tenant.settings.persist_user_states = persist_user_states
        self.engine = Engine(tenant, self.clock, ids=counting_ids())
        self.events: list[Event] = []
        self.projector = Projector()
        self.engine.subscribe(self._on_batch)
        self.voice: VirtualVoice | None = None
        self.simulator: VoiceSimulator | None = None
        if voice:
            self.simulator = VoiceSimulator("t", self.clock, SimulatorConfig(seed=1))
            self.voice = VirtualVoice(self.engine, self.simulator, _feed, self.clock)
        self.engine.upsert("tenant", tenant)
        self.commit()

    def _on_batch(self, batch: Sequence[Event]) -> None:
        self.events.extend(batch)
        for event in batch:
            self.projector.apply(event)

    # ------------------------------------------------------------------ driving

    def commit(self) -> None:
        if self.voice is not None:
            self.voice.settle()
        else:
            self.engine.commit()

    def add(self, kind: str, entity: Any) -> None:
        self.engine.upsert(kind, entity)
        self.commit()

    def publish(self, flow: Workflow, service_id: str = "svc") -> None:
        self.engine.upsert("workflow", flow)
        self.engine.publish_workflow(flow.id)
        current = self.engine.state.services[service_id]
        self.engine.upsert(
            "service", replace(current, workflows={**current.workflows, "audio_inbound": flow.id})
        )
        self.commit()

    def available(self, *user_ids: str) -> None:
        for user_id in user_ids:
            self.engine.set_presence(user_id, Presence.AVAILABLE)
        self.commit()

    def do(self, command: Callable[[Engine], Any]) -> Any:
        result = command(self.engine)
        self.commit()
        return result

    def wait(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass, firing every deadline on the way."""
        target = self.clock.now() + seconds
        if self.voice is not None:
            self.voice.run_until(target)
            return
        while (due := self.engine.next_deadline()) is not None and due <= target:
            self.clock.set(max(due, self.clock.now()))
            self.engine.advance()
            self.engine.commit()
        self.clock.set(target)
        self.engine.advance()
        self.engine.commit()

    def at(self, offset: float) -> None:
        """Wait until `offset` seconds after the scene's start."""
        self.wait(START + offset - self.clock.now() if offset else 0)

    @property
    def now(self) -> float:
        return self.clock.now()

    # ------------------------------------------------------------------ reading

    def rows(self) -> Output:
        """The rows concluded since the last call."""
        return self.projector.take()

    def task_of_call(self, call_id: str) -> str:
        return self.engine.state.calls[call_id]


def _feed(engine: Engine, event: VoiceEvent) -> None:
    engine.voice_event(event)


def utc(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


# ---------------------------------------------------------------------- a database


def report_db(tmp_path: Path, tenant_id: str = "t") -> Database:
    """A migrated SQLite database with the tenant `tenant_id`."""
    db = create_engine(f"sqlite:///{tmp_path / 'reports.sqlite3'}", sqlite_synchronous="OFF")
    migrate(db)
    TenantRepository(db).create("T", id=tenant_id)
    return db


def table_rows(db: Database, tenant_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every reporting table's rows of the tenant, sorted, for comparisons."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with transaction(db, tenant_id) as connection:
        for table in REPORT_TABLES:
            rows = connection.execute(
                select(table).where(table.c.tenant_id == tenant_id).order_by(table.c.id)
            ).all()
            out[table.name] = [tuple(row) for row in rows]
    return out
