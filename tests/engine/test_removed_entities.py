"""Removed configuration is remembered for a while: a `config.removed` event names only
an id, and whoever reads it afterwards (the live stream's scope filter) needs to know
where the entity lay."""

from __future__ import annotations

import pytest

from switchboard.domain import config as cfg
from switchboard.engine import state as state_module
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine


def _engine_with_tags(count: int) -> Engine:
    engine = Engine(cfg.Tenant(id="t", name="T"), VirtualClock())
    engine.upsert("ou", cfg.OrganisationUnit(id="ou-a", name="A", parent_id="root"))
    for i in range(count):
        engine.upsert("tag", cfg.Tag(id=f"tag-{i}", name=f"Tag {i}", ou_id="ou-a"))
    return engine


def test_a_removed_entity_is_kept_as_it_was_and_replay_keeps_it_too() -> None:
    engine = _engine_with_tags(2)
    tag = engine.state.tags["tag-0"]
    engine.remove("tag", "tag-0")
    assert "tag-0" not in engine.state.tags
    assert engine.state.removed[("tag", "tag-0")] == tag
    assert engine.state.removed[("tag", "tag-0")].ou_id == "ou-a"
    restored = Engine.restore(engine.state.tenant, VirtualClock(), engine.drain())
    assert restored.state.removed == engine.state.removed


def test_only_the_most_recent_removals_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_module, "REMOVED_KEPT", 2)
    engine = _engine_with_tags(3)
    for i in range(3):
        engine.remove("tag", f"tag-{i}")
    assert list(engine.state.removed) == [("tag", "tag-1"), ("tag", "tag-2")]
