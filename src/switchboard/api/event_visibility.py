"""Which events of its tenant a principal may see on the live stream (10 OU5, row 18).

A live stream applies the same scope filter as every list (OU5), so each event is
attributed to what it is about and the principal's `Access` decides, exactly as
the REST route showing that thing would:

* an event about a task (it names a `task_id`: `task.*`, `workflow.*`) — the
  service the task was in, as a live view (row 18): whoever may see a service's
  live view sees its tasks' events; a task moved between services
  (`task.transferred`) is seen on both sides;
* `user.*` — the user, as a live view of them (`user_target`: their OU and
  services; everyone sees their own);
* `config.*` — the entity, with the capability that guards its kind
  (`config_capability`, `config_target`), as reading it over REST would;
* an event naming only a service (`service_id`) — that service's live view;
* anything else — only a principal who sees the whole tenant.

What cannot be attributed is not shown: never a leak for want of a fact. Events
of the live state are attributed by the state right after their batch (the
listener runs then, so it is exact). Replayed events can be older than anything
the state still holds — a task that ended long ago, an entity removed since —
so a replay remembers the `task.created` and `config.upserted` events it passes
(`ReplayMemory`) and looks there first. Rights are always today's: a replay is
judged by what the principal may see now.

System and partner admins see events as they see REST answers: identifiers of
people and customers masked while the tenant keeps them from them (10 PV2,
`switchboard.api.masking`).

Cost: a principal who sees the whole tenant for every family (a tenant admin, a
tenant-wide key with the read scopes) gets batches through untouched. Others pay
a dictionary lookup per event: decisions are cached per service and per user and
dropped whenever a batch holds a configuration event, which is also when the
principal's own `Access` is evaluated again (roles are configuration). Figures:
`docs/performance.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from switchboard.api.masking import Masking
from switchboard.api.permissions import (
    CONFIG_CAPABILITY,
    READ,
    config_capability,
    config_target,
    service_target,
    user_target,
    world,
)
from switchboard.domain.access import TENANT_WIDE, Access, Capability, World
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.engine.state import TenantState

#: Every capability an event can be judged by.
JUDGED_BY: frozenset[Capability] = frozenset(
    {Capability.LIVE_VIEW, Capability.SHARED_CONFIG, *CONFIG_CAPABILITY.values()}
)


@dataclass(slots=True)
class ReplayMemory:
    """What a replay has passed that the live state may have forgotten since."""

    task_services: dict[str, str] = field(default_factory=dict)
    entities: dict[tuple[str, str], Any] = field(default_factory=dict)

    def learn(self, event: Event) -> None:
        name, data = event.name, event.data
        if name in ("task.created", "task.transferred"):
            self.task_services[data["task_id"]] = data["service_id"]
        elif name == "config.upserted" and data["type"] != "tenant":
            self.entities[(data["type"], data["entity"].id)] = data["entity"]

    def forget(self, event: Event) -> None:
        """After an event was judged: drop what nothing later will ask about."""
        name, data = event.name, event.data
        if name == "task.terminated":
            self.task_services.pop(data["task_id"], None)
        elif name == "config.removed":
            self.entities.pop((data["type"], data["id"]), None)


class EventVisibility:
    """One principal's filter over the events of one tenant."""

    def __init__(self, access_of: Callable[[Engine], Access], engine: Engine) -> None:
        self._access_of = access_of
        self._services: dict[str, bool] = {}
        self._users: dict[str, bool] = {}
        self.refresh(engine)

    def refresh(self, engine: Engine) -> None:
        """Evaluate the principal's rights again (may raise, e.g. a user now disabled)."""
        state = engine.state
        self.access = self._access_of(engine)
        #: the person's own record: configuration is replaced, never changed in place, so
        #: a different object means roles or memberships may have changed
        self._record = state.users.get(self.access.user_id) if self.access.user_id else None
        self._services.clear()
        self._users.clear()
        everywhere = world(state)
        #: capabilities the principal holds tenant-wide: no target needs computing
        self.wide = frozenset(c for c in JUDGED_BY if self.access.sees(c, TENANT_WIDE, everywhere))
        self.sees_everything = self.wide == JUDGED_BY
        self._live_wide = Capability.LIVE_VIEW in self.wide

    def live(self, batch: Sequence[Event], engine: Engine) -> Sequence[Event]:
        """The events of a just-committed batch this principal may see, as it may see them."""
        return self._masked(self._live(batch, engine), engine)

    def _masked(self, events: Sequence[Event], engine: Engine) -> Sequence[Event]:
        """System and partner admins see no identifiers the tenant keeps from them (10 PV2);
        read from the state each time, so a changed setting applies at once."""
        if not self.access.is_system or not events:
            return events
        masking = Masking.of(self.access, engine.state.tenant)
        if not masking.anything:
            return events
        return [masking.event(event) for event in events]

    def _live(self, batch: Sequence[Event], engine: Engine) -> Sequence[Event]:
        state = engine.state
        if self.sees_everything:
            # Tenant-wide rights depend on nothing but the principal's own record.
            user_id = self.access.user_id
            if user_id is None or state.users.get(user_id) is self._record:
                return batch
            self.refresh(engine)
            if self.sees_everything:
                return batch
        configured = moved = False
        for event in batch:
            if event.name[:7] == "config.":
                configured = True
            elif "from_service_id" in event.data:
                moved = True
        if configured:
            self.refresh(engine)
            if self.sees_everything:
                return batch
        scope = world(state)
        if not moved:
            return [event for event in batch if self._visible(event, state, scope, None)]
        # The state is the batch's end: a task the batch moved to another service was
        # elsewhere for its events before the move.
        earlier = _before_transfers(batch)
        return [
            event
            for index, event in enumerate(batch)
            if self._visible(event, state, scope, None, earlier.get(index))
        ]

    def replayed(
        self, events: Sequence[Event], engine: Engine, memory: ReplayMemory
    ) -> Sequence[Event]:
        """Journal events, older than the state: attributed with `memory` first."""
        if self.sees_everything:
            return self._masked(events, engine)
        state = engine.state
        scope = world(state)
        shown = []
        for event in events:
            memory.learn(event)
            if self._visible(event, state, scope, memory):
                shown.append(event)
            memory.forget(event)
        return self._masked(shown, engine)

    # ------------------------------------------------------------------ attribution

    def _visible(
        self,
        event: Event,
        state: TenantState,
        scope: World,
        memory: ReplayMemory | None,
        service_then: str | None = None,
    ) -> bool:
        data = event.data
        family = event.name[:5]
        if family == "user.":
            user_id = data.get("user_id")
            if not isinstance(user_id, str):
                return False
            seen = self._live_wide or self._users.get(user_id)
            return seen if seen is not None else self._sees_user(user_id, state, scope, memory)
        if family == "confi" and event.name.startswith("config."):
            return self._sees_config(event, state, scope, memory)
        task_id = data.get("task_id")
        if isinstance(task_id, str):
            service_id = service_then or _task_service(task_id, data, state, memory)
            if service_id is not None and self._sees_service(service_id, state, scope):
                return True
            moved_from = data.get("from_service_id")
            return isinstance(moved_from, str) and self._sees_service(moved_from, state, scope)
        service_id = data.get("service_id")
        return isinstance(service_id, str) and self._sees_service(service_id, state, scope)

    def _sees_service(self, service_id: str, state: TenantState, scope: World) -> bool:
        if self._live_wide:
            return True
        seen = self._services.get(service_id)
        if seen is None:
            service = state.services.get(service_id) or state.removed.get(("service", service_id))
            target = service_target(service_id, service)
            seen = self._services[service_id] = self.access.sees(
                Capability.LIVE_VIEW, target, scope
            )
        return seen

    def _sees_user(
        self, user_id: str, state: TenantState, scope: World, memory: ReplayMemory | None
    ) -> bool:
        user = state.users.get(user_id)
        if user is not None:
            seen = self._users[user_id] = self.access.sees(
                Capability.LIVE_VIEW, user_target(user), scope
            )
            return seen
        gone = _remembered("user", user_id, state, memory)  # removed since: not cached
        return gone is not None and self.access.sees(Capability.LIVE_VIEW, user_target(gone), scope)

    def _sees_config(
        self, event: Event, state: TenantState, scope: World, memory: ReplayMemory | None
    ) -> bool:
        kind: str = event.data["type"]
        capability = config_capability(kind)
        if capability in self.wide:
            return True
        entity = event.data.get("entity")
        if entity is None:  # config.removed names only the id
            entity = _remembered(kind, event.data["id"], state, memory)
        if entity is None:
            return False
        return self.access.sees(capability, config_target(kind, entity, state, READ), scope)


def _task_service(
    task_id: str, data: dict[str, Any], state: TenantState, memory: ReplayMemory | None
) -> str | None:
    """The service a task event happened in: as the event says, else as last known."""
    named = data.get("service_id")
    if isinstance(named, str):
        return named
    if memory is not None and task_id in memory.task_services:
        return memory.task_services[task_id]
    task = state.task(task_id)
    return task.service_id if task is not None else None


def _before_transfers(batch: Sequence[Event]) -> dict[int, str]:
    """Event index -> service, for events of a task that a later event of the same batch
    moved to another service (walking back from the batch's end, where the state is)."""
    service_then: dict[int, str] = {}
    moved: dict[str, str] = {}  # task -> the service it was in before a later move
    for index in range(len(batch) - 1, -1, -1):
        event = batch[index]
        task_id = event.data.get("task_id")
        if not isinstance(task_id, str):
            continue
        if task_id in moved:
            service_then[index] = moved[task_id]
        moved_from = event.data.get("from_service_id")
        if isinstance(moved_from, str):
            moved[task_id] = moved_from
    return service_then


def _remembered(kind: str, entity_id: str, state: TenantState, memory: ReplayMemory | None) -> Any:
    if memory is not None and (kind, entity_id) in memory.entities:
        return memory.entities[(kind, entity_id)]
    return state.removed.get((kind, entity_id))
