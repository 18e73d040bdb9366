"""Which events a principal sees, decided on a real engine (10 OU5, row 18).

The world: OUs A and B under the root, service A in A and service B in B, a
worker in each, the owner of service A, a tenant admin, a tag in each OU. The
same commands then run in every test; only the principal watching changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest

from switchboard.api.auth import Principal
from switchboard.api.event_visibility import EventVisibility, ReplayMemory
from switchboard.api.permissions import Actor
from switchboard.api.problems import ApiProblem
from switchboard.domain import config as cfg
from switchboard.domain.access import Access, Capability, Mode
from switchboard.domain.enums import AssignmentType, MembershipRole, Presence
from switchboard.domain.roles import Role, RoleAssignment, ScopeType
from switchboard.engine import state as state_module
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event

TEAMS = AssignmentType.TEAMS_BASED


def _world() -> Engine:
    engine = Engine(cfg.Tenant(id="t", name="T"), VirtualClock())
    up = engine.upsert
    for side in ("a", "b"):
        up("ou", cfg.OrganisationUnit(id=f"ou-{side}", name=side, parent_id="root"))
        up(
            "service",
            cfg.Service(
                id=f"svc-{side}",
                name=side,
                upn=f"{side}@t.test",
                ou_id=f"ou-{side}",
                user_assignment_type=TEAMS,
            ),
        )
        up(
            "user",
            cfg.User(
                id=f"worker-{side}",
                upn=f"w{side}@t.test",
                display_name=f"W{side}",
                ou_id=f"ou-{side}",
                memberships={f"svc-{side}": cfg.Membership(f"svc-{side}")},
            ),
        )
        up("tag", cfg.Tag(id=f"tag-{side}", name=side, ou_id=f"ou-{side}"))
    up(
        "user",
        cfg.User(
            id="owner",
            upn="owner@t.test",
            display_name="Owner",
            ou_id="ou-a",
            memberships={"svc-a": cfg.Membership("svc-a", MembershipRole.OWNER)},
        ),
    )
    up(
        "user",
        cfg.User(
            id="admin",
            upn="admin@t.test",
            display_name="Admin",
            roles=(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT),),
        ),
    )
    return engine


def _person(user_id: str) -> Actor:
    """The real `Actor.access` of a signed-in person (the host plays no part in it)."""
    principal = Principal(tenant_id="t", kind="user", id=user_id, method="session")
    return Actor(principal, Capability.LIVE_VIEW, Mode.READ, cast(Any, None))


def _key(scopes: set[str], **scope: Any) -> Any:
    access = Access.for_api_key(scopes, **scope)
    return lambda _engine: access


def _traffic(engine: Engine) -> dict[str, str]:
    """Work in both services, presence changes, and a tag removed on each side."""
    tasks = {side: engine.create_task(service_id=f"svc-{side}").id for side in ("a", "b")}
    for side in ("a", "b"):
        engine.set_presence(f"worker-{side}", Presence.AVAILABLE)
    for side in ("a", "b"):
        engine.cancel_task(tasks[side])
        engine.remove("tag", f"tag-{side}")
    return tasks


def _about(event: Event, tasks: dict[str, str]) -> str:
    """Which side an event concerns (by the test's own bookkeeping, not the code's)."""
    text = repr(event.data)
    sides = {s for s in ("a", "b") if tasks[s] in text or f"-{s}'" in text}
    assert len(sides) <= 1, event
    return sides.pop() if sides else "neither"


def _names(events: Sequence[Event]) -> list[tuple[int, str]]:
    return [(e.seq, e.name) for e in events]


def test_a_service_owner_sees_their_service_its_people_and_what_it_may_reference() -> None:
    engine = _world()
    engine.drain()
    owner = EventVisibility(_person("owner").access, engine)
    tasks = _traffic(engine)
    batch = engine.drain()
    shown = owner.live(batch, engine)
    assert {_about(e, tasks) for e in shown} == {"a"}
    task_a = [e for e in batch if e.data.get("task_id") == tasks["a"]]
    assert len(task_a) >= 4 and all(e in shown for e in task_a)  # every event of its task
    assert {e.data["user_id"] for e in shown if e.name.startswith("user.")} == {"worker-a"}
    removed = [e.data["id"] for e in shown if e.name == "config.removed"]
    assert removed == ["tag-a"]  # the tag in its service's OU, known from its tombstone


def test_an_ou_scoped_key_sees_its_subtree_and_a_service_key_only_live_views() -> None:
    engine = _world()
    history = engine.drain()
    ou_key = EventVisibility(_key({"flows:read", "config:read"}, ou_id="ou-a"), engine)
    service_key = EventVisibility(_key({"flows:read"}, service_ids=["svc-a"]), engine)
    tasks = _traffic(engine)
    batch = engine.drain()
    for visibility in (ou_key, service_key):
        assert {_about(e, tasks) for e in visibility.live(batch, engine)} == {"a"}
    configured = [
        e.data["entity"].id
        for e in ou_key.replayed(history, engine, ReplayMemory())
        if e.name == "config.upserted"
    ]
    # Its subtree, and what lies in the OUs above it (OU2): the admin sits in the root OU.
    assert set(configured) == {"ou-a", "svc-a", "worker-a", "tag-a", "owner", "admin"}
    assert not [e for e in service_key.live(batch, engine) if e.name.startswith("config.")]
    assert not [
        e
        for e in service_key.replayed(history, engine, ReplayMemory())
        if e.name.startswith("config.")
    ]


def test_a_replay_attributes_tasks_the_live_state_no_longer_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state_module, "ENDED_TASKS_KEPT", 0)  # ended tasks leave at once
    engine = _world()
    engine.drain()
    owner = EventVisibility(_person("owner").access, engine)
    tasks = _traffic(engine)
    journal = engine.drain()
    assert engine.state.task(tasks["a"]) is None
    task_events = [e for e in journal if e.data.get("task_id") == tasks["a"]]
    # Unknown to the state: only the creation, which names its service, is shown; the
    # rest is not guessed at ...
    live = [e.name for e in owner.live(journal, engine) if e in task_events]
    assert live == ["task.created"]
    # ... while a replay remembers the task's creation and attributes all of it.
    replayed = owner.replayed(journal, engine, ReplayMemory())
    assert [e for e in replayed if e in task_events] == task_events
    assert {_about(e, tasks) for e in replayed} == {"a"}


def test_a_removed_entity_nobody_remembers_is_shown_to_nobody_scoped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state_module, "REMOVED_KEPT", 0)
    engine = _world()
    engine.drain()
    owner = EventVisibility(_person("owner").access, engine)
    admin = EventVisibility(_person("admin").access, engine)
    _traffic(engine)
    batch = engine.drain()
    assert not [e for e in owner.live(batch, engine) if e.name == "config.removed"]
    assert len([e for e in admin.live(batch, engine) if e.name == "config.removed"]) == 2


def test_the_fast_path_gives_the_answers_of_the_full_check() -> None:
    engine = _world()
    _traffic(engine)
    journal = engine.drain()
    admin = EventVisibility(_person("admin").access, engine)
    flows_only = EventVisibility(_key({"flows:read"}), engine)
    assert admin.sees_everything and not flows_only.sees_everything
    assert flows_only.wide == {Capability.LIVE_VIEW}
    for visibility in (admin, flows_only):
        fast = visibility.replayed(journal, engine, ReplayMemory())
        visibility.wide, visibility.sees_everything = frozenset(), False  # force the full check
        assert _names(visibility.replayed(journal, engine, ReplayMemory())) == _names(fast)
    assert len(admin.replayed(journal, engine, ReplayMemory())) == len(journal)
    assert {e.name.split(".")[0] for e in flows_only.replayed(journal, engine, ReplayMemory())} == {
        "task",
        "user",
    }


def test_rights_are_read_again_when_the_configuration_changes() -> None:
    engine = _world()
    engine.drain()
    owner = EventVisibility(_person("owner").access, engine)
    first = engine.create_task(service_id="svc-a").id
    assert any(e.data.get("task_id") == first for e in owner.live(engine.drain(), engine))

    demoted = engine.state.users["owner"]
    engine.upsert(
        "user", cfg.User(id="owner", upn=demoted.upn, display_name="Owner", ou_id="ou-b")
    )  # no longer in service A
    second = engine.create_task(service_id="svc-a").id
    shown = owner.live(engine.drain(), engine)
    assert not [e for e in shown if e.data.get("task_id") == second]
    # What is left is about themselves: their user record and their own state.
    assert shown and all(
        e.data.get("user_id") == "owner"
        or e.data.get("entity", None) == engine.state.users["owner"]
        for e in shown
    )

    engine.upsert(
        "user", cfg.User(id="owner", upn=demoted.upn, display_name="Owner", enabled=False)
    )
    with pytest.raises(ApiProblem) as refused:
        owner.live(engine.drain(), engine)
    assert refused.value.status == 401 and refused.value.code == "user_disabled"


def test_a_task_moved_between_services_is_seen_where_it_was_at_each_event() -> None:
    """Events in the shape a workflow's transfer emits (`task.transferred` names both
    services); the task really lives in service B at the batch's end, as the state says."""
    engine = _world()
    task_id = engine.create_task(service_id="svc-b").id
    engine.drain()
    moved = {"task_id": task_id, "service_id": "svc-b", "from_service_id": "svc-a"}
    at = engine.clock.now()
    batch = [
        Event("task.queued", at, {"task_id": task_id}, 101),
        Event("task.transferred", at, moved, 102),
        Event("task.queued", at, {"task_id": task_id}, 103),
    ]
    watching_a = EventVisibility(_key({"flows:read"}, service_ids=["svc-a"]), engine)
    watching_b = EventVisibility(_key({"flows:read"}, service_ids=["svc-b"]), engine)
    assert [e.seq for e in watching_a.live(batch, engine)] == [101, 102]
    assert [e.seq for e in watching_b.live(batch, engine)] == [102, 103]
    # A replay learns the move from the events themselves.
    created = Event("task.created", at, {"task_id": "t-old", "service_id": "svc-a"}, 1)
    history = [created, *(Event(e.name, at, {**e.data, "task_id": "t-old"}, e.seq) for e in batch)]
    assert [e.seq for e in watching_a.replayed(history, engine, ReplayMemory())] == [1, 101, 102]
    assert [e.seq for e in watching_b.replayed(history, engine, ReplayMemory())] == [102, 103]
