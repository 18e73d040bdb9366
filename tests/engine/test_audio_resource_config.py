"""Audio resources in the engine: workflows may name them, and then they are in use."""

from __future__ import annotations

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.enums import Direction, Modality
from switchboard.domain.errors import DomainError
from switchboard.domain.validation import ValidationFailed
from switchboard.domain.workflow import parse_workflow
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine


def _workflow(resource_id: str) -> cfg.Workflow:
    prompt = {"source": "audio_resource", "audio_resource_id": resource_id}
    return parse_workflow(
        {
            "id": "wf",
            "ou_id": "root",
            "name": "Welcome",
            "modality": Modality.AUDIO.value,
            "direction": Direction.INBOUND.value,
            "nodes": [
                {"id": "start", "type": "start", "exits": {"next": "acc"}},
                {"id": "acc", "type": "accept", "exits": {"next": "hello"}},
                {
                    "id": "hello",
                    "type": "announcement",
                    "settings": {"prompt": prompt},
                    "exits": {"next": "bye"},
                },
                {"id": "bye", "type": "disconnect"},
            ],
        }
    )


def test_a_workflow_naming_an_audio_resource_publishes_and_keeps_it_in_use() -> None:
    engine = Engine(cfg.Tenant(id="t", name="T"), VirtualClock())
    engine.upsert("workflow", _workflow("greeting"))
    with pytest.raises(ValidationFailed) as unknown:
        engine.publish_workflow("wf")
    assert any(i.code == "unknown_reference" for i in unknown.value.issues)

    engine.upsert("audio_resource", cfg.AudioResource(id="greeting", name="Greeting"))
    engine.publish_workflow("wf")
    with pytest.raises(DomainError) as in_use:
        engine.remove("audio_resource", "greeting")
    assert in_use.value.code == "entity_in_use"
    assert "workflow:wf" in in_use.value.detail["referrers"]

    engine.remove("workflow", "wf")
    engine.remove("audio_resource", "greeting")
    assert "greeting" not in engine.state.audio_resources
