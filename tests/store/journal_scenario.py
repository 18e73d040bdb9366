"""A small tenant and a load generator shared by the journal tests and the crash child.

Not a test module (pytest collects only `test_*.py`); the test modules and
`crash_child.py` import it as a top-level module from this directory.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable
from enum import Enum
from typing import Any

from sortedcontainers import SortedList

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, Presence, TaskState
from switchboard.engine.engine import Engine

TENANT_ID = "acme"
SERVICE_IDS = ("s-support", "s-sales")
USER_IDS = tuple(f"u{i}" for i in range(1, 6))

#: Every seconds-long deadline of the tenant is below this (ACW, ring timeout, RONA reset).
LONGEST_TIMER_S = 120.0


def tenant() -> cfg.Tenant:
    return cfg.Tenant(id=TENANT_ID, name="Acme")


def services() -> list[cfg.Service]:
    support = cfg.Service(
        id="s-support",
        name="Support",
        upn="support@acme.test",
        user_assignment_type=AssignmentType.TEAMS_BASED,
        distribution=cfg.DistributionSettings(acw_enabled=True, acw_duration_s=5),
        queue=cfg.QueueSettings(rona_timeout_s=8),
    )
    sales = cfg.Service(
        id="s-sales",
        name="Sales",
        upn="sales@acme.test",
        user_assignment_type=AssignmentType.TEAMS_BASED,
        distribution=cfg.DistributionSettings(
            acw_enabled=True,
            acw_duration_s=6,
            persistent_rona=True,
            rona_reset_s=30,
        ),
        queue=cfg.QueueSettings(rona_timeout_s=6),
    )
    return [support, sales]


def users() -> list[cfg.User]:
    """u1-u3 in Support, u3-u5 in Sales (u3 in both)."""
    result = []
    for user_id in USER_IDS:
        n = int(user_id[1:])
        service_ids = [
            sid
            for sid, members in (("s-support", (1, 2, 3)), ("s-sales", (3, 4, 5)))
            if n in members
        ]
        result.append(
            cfg.User(
                id=user_id,
                upn=f"{user_id}@acme.test",
                display_name=f"Agent {n}",
                memberships={sid: cfg.Membership(sid) for sid in service_ids},
            )
        )
    return result


def set_up(engine: Engine) -> None:
    """Configure the tenant and make every user available (the caller commits)."""
    for service in services():
        engine.upsert("service", service)
    for user in users():
        engine.upsert("user", user)
    for user_id in USER_IDS:
        engine.set_presence(user_id, Presence.AVAILABLE)


class CountingIds:
    """Deterministic ids `<prefix>-1`, `<prefix>-2`, ... for `Engine(ids=...)`."""

    def __init__(self, prefix: str = "id", start: int = 0) -> None:
        self.prefix = prefix
        self.issued = start
        self._counter = itertools.count(start + 1)

    def __call__(self) -> str:
        self.issued = next(self._counter)
        return f"{self.prefix}-{self.issued}"


# ---------------------------------------------------------------------- load


def load_tick(
    engine: Engine,
    rng: random.Random,
    new_task_id: Callable[[], str],
    commit: Callable[[], object],
    *,
    advance: Callable[[float], None],
    max_live: int = 12,
) -> None:
    """One slice of simulated traffic: time passes, calls arrive, agents work.

    Every choice depends only on `rng` and the engine state (visited in sorted
    order), so two engines with equal states and equal `rng`s make the same
    commands. Some commands share a commit (group commit), most get their own.
    """
    st = engine.state
    advance(rng.uniform(0.5, 3.0))
    engine.advance()
    commit()
    # arrivals
    for _ in range(rng.choice((0, 0, 0, 0, 1, 2))):
        if len(st.tasks) < max_live:
            engine.create_task(service_id=rng.choice(SERVICE_IDS), task_id=new_task_id())
            if rng.random() < 0.5:
                commit()
    commit()
    # agents answer (or let ring, or decline) their offers
    for task_id in sorted(st.tasks):
        task = st.tasks.get(task_id)
        if task is None or not task.offers:
            continue
        offer = task.offers[min(task.offers)]
        roll = rng.random()
        if roll < 0.6:
            engine.accept(offer.user_id, task_id)
        elif roll < 0.65:
            engine.decline(offer.user_id, task_id)
        commit()
    # calls end: the agent or the customer hangs up
    for task_id in sorted(st.tasks):
        task = st.tasks.get(task_id)
        if task is None:
            continue
        roll = rng.random()
        if task.state is TaskState.CONNECTED and task.connected_user_id is not None:
            if roll < 0.25:
                engine.hang_up(task.connected_user_id, task_id)
            elif roll < 0.35:
                engine.customer_hang_up(task_id)
        elif task.state is TaskState.QUEUED and roll < 0.03:
            engine.customer_hang_up(task_id)
        commit()


def drain(engine: Engine, advance: Callable[[float], None], commit: Callable[[], object]) -> None:
    """Drive every live task to an outcome and let every ACW end."""
    st = engine.state
    for _ in range(1_000):
        for task_id in sorted(st.tasks):
            task = st.tasks.get(task_id)
            if task is None:
                continue
            if task.offers:
                engine.accept(task.offers[min(task.offers)].user_id, task_id)
            elif task.connected_user_id is not None:
                engine.hang_up(task.connected_user_id, task_id)
            elif task.state is TaskState.QUEUED:
                engine.customer_hang_up(task_id)
            commit()
        # let every timer (ACW end, ring timeouts, RONA resets) fall due
        for _ in range(int(LONGEST_TIMER_S // 5) + 1):
            advance(5.0)
            engine.advance()
            commit()
        if not st.tasks and all(live.acw is None for live in st.live.values()):
            return
    raise AssertionError(f"tasks did not drain: {sorted(st.tasks)}")


# ---------------------------------------------------------------------- comparison


def plain(value: Any) -> Any:
    """A comparable, type-preserving plain rendering of live-state values."""
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)},
        )
    if isinstance(value, SortedList):
        return [getattr(item, "id", item) for item in value]
    if isinstance(value, dict):
        return [(plain(k), plain(v)) for k, v in value.items()]
    if isinstance(value, set | frozenset):
        return ("set", sorted((plain(v) for v in value), key=repr))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [plain(v) for v in value])
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    raise TypeError(f"plain(): unexpected {type(value).__name__}")


#: TenantState fields that are the engine's settle bookkeeping, not replayed truth.
_BOOKKEEPING = {"touched_users", "dirty_tasks", "newly_free", "full_dispatch", "on_arm"}


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything replay must reproduce: every field of the tenant state but bookkeeping."""
    st = engine.state
    return {
        f.name: plain(getattr(st, f.name))
        for f in dataclasses.fields(st)
        if f.name not in _BOOKKEEPING
    }
