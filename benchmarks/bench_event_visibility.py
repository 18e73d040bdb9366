"""What filtering the live event stream costs per principal (docs/performance.md).

Usage: python benchmarks/bench_event_visibility.py [--services 200] [--batch 64]

A tenant of 20 OUs, `--services` services spread over them and ten agents per
service; the traffic is real engine events (tasks created, queued, offered,
presence changes) cut into batches of `--batch`, as the host commits them. Each
principal's `EventVisibility.live` runs over every batch; the figure is the cost
per event. Then the same with the principal's rights evaluated again on every
batch (the alternative to re-evaluating only when a batch holds configuration),
and, for scale, what rendering one event's envelope for the wire costs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

from switchboard.api.event_visibility import EventVisibility
from switchboard.api.routes.stream import event_json
from switchboard.domain import config as cfg
from switchboard.domain.access import Access
from switchboard.domain.enums import AssignmentType, MembershipRole, Presence
from switchboard.domain.roles import Role, RoleAssignment, ScopeType
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event

OUS = 20
AGENTS_PER_SERVICE = 10


def _tenant(services: int) -> Engine:
    engine = Engine(cfg.Tenant(id="bench", name="Bench"), VirtualClock())
    for o in range(OUS):
        engine.upsert("ou", cfg.OrganisationUnit(id=f"ou-{o}", name=f"OU {o}", parent_id="root"))
    for s in range(services):
        engine.upsert(
            "service",
            cfg.Service(
                id=f"svc-{s}",
                name=f"Service {s}",
                upn=f"svc{s}@bench.test",
                ou_id=f"ou-{s % OUS}",
                user_assignment_type=AssignmentType.TEAMS_BASED,
            ),
        )
        for a in range(AGENTS_PER_SERVICE):
            role = MembershipRole.OWNER if a == 0 else MembershipRole.AGENT
            engine.upsert(
                "user",
                cfg.User(
                    id=f"u-{s}-{a}",
                    upn=f"u{s}x{a}@bench.test",
                    display_name=f"Agent {s}/{a}",
                    ou_id=f"ou-{s % OUS}",
                    memberships={f"svc-{s}": cfg.Membership(f"svc-{s}", role)},
                ),
            )
    engine.upsert(
        "user",
        cfg.User(
            id="admin",
            upn="admin@bench.test",
            display_name="Admin",
            roles=(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT),),
        ),
    )
    engine.drain()
    return engine


def _traffic(engine: Engine, services: int, batch: int) -> list[list[Event]]:
    for s in range(services):
        for a in range(AGENTS_PER_SERVICE):
            engine.set_presence(f"u-{s}-{a}", Presence.AVAILABLE)
    for round_ in range(5):
        for s in range(services):
            engine.create_task(service_id=f"svc-{(s * 7 + round_) % services}")
    events = engine.drain()
    return [events[i : i + batch] for i in range(0, len(events), batch)]


def _per_event_ns(
    engine: Engine,
    access_of: Callable[[Engine], Access],
    batches: Sequence[list[Event]],
    *,
    refresh_every_batch: bool = False,
) -> tuple[float, int]:
    visibility = EventVisibility(access_of, engine)
    shown = 0
    started = time.perf_counter_ns()
    for _ in range(3):
        for batch in batches:
            if refresh_every_batch:
                visibility.refresh(engine)
            shown += len(visibility.live(batch, engine))
    elapsed = time.perf_counter_ns() - started
    total = 3 * sum(len(b) for b in batches)
    return elapsed / total, shown // 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    engine = _tenant(args.services)
    batches = _traffic(engine, args.services, args.batch)
    events = sum(len(b) for b in batches)
    users = engine.state.users

    def person(user_id: str) -> Callable[[Engine], Access]:
        return lambda e: Access.for_user(e.state.users[user_id])

    def key(**scope: Any) -> Callable[[Engine], Access]:
        access = Access.for_api_key({"flows:read", "config:read"}, **scope)
        return lambda _e: access

    principals = {
        "tenant admin (fast path)": person("admin"),
        "OU-scoped key (1 of 20 OUs)": key(ou_id="ou-3"),
        "service owner (1 service)": person("u-3-0"),
        "agent (1 service)": person("u-3-1"),
    }
    print(
        f"{len(users)} users, {args.services} services, {events} events in batches of {args.batch}"
    )
    print(f"{'principal':32} {'shown':>7} {'ns/event':>9} {'ns/event, rights every batch':>29}")
    for label, access_of in principals.items():
        cost, shown = _per_event_ns(engine, access_of, batches)
        every, _ = _per_event_ns(engine, access_of, batches, refresh_every_batch=True)
        print(f"{label:32} {shown:7d} {cost:9.0f} {every:29.0f}")
    visibility = EventVisibility(person("u-3-0"), engine)
    started = time.perf_counter_ns()
    for _ in range(1000):
        visibility.refresh(engine)
    print(f"evaluating a person's rights again: {(time.perf_counter_ns() - started) / 1e6:.1f} µs")
    started = time.perf_counter_ns()
    for batch in batches:
        for event in batch:
            event_json("bench", event)
    rendering = (time.perf_counter_ns() - started) / events
    print(f"for comparison, rendering an event's envelope: {rendering:.0f} ns")


if __name__ == "__main__":
    main()
