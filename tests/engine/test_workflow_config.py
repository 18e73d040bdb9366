"""Workflows as configuration in the engine: drafts, publishing, versions, service slots."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, Direction, Modality
from switchboard.domain.errors import DomainError
from switchboard.domain.validation import ValidationFailed
from switchboard.domain.workflow import WorkflowStatus
from switchboard.domain.workflow.templates import chat_queue, simple_queue
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event


def _engine() -> tuple[Engine, list[Event]]:
    engine = Engine(cfg.Tenant(id="t", name="T"), VirtualClock())
    journal: list[Event] = []
    engine.subscribe(journal.extend)
    engine.upsert("ou", cfg.OrganisationUnit(id="ou-a", name="A", parent_id="root"))
    engine.upsert("ou", cfg.OrganisationUnit(id="ou-b", name="B", parent_id="root"))
    engine.upsert(
        "service",
        cfg.Service(
            id="s",
            name="Hotline",
            upn="hotline@t.test",
            user_assignment_type=AssignmentType.TEAMS_BASED,
            ou_id="ou-a",
            enabled_modalities=frozenset({Modality.AUDIO, Modality.CHAT}),
        ),
    )
    return engine, journal


def _sorry(text: str = "Sorry.") -> cfg.Workflow:
    return simple_queue(workflow_id="wf", ou_id="ou-a", sorry_text=text)


def test_a_saved_workflow_is_a_draft_numbered_by_the_store() -> None:
    engine, _ = _engine()
    engine.upsert("workflow", replace(_sorry(), version=7, status=WorkflowStatus.PUBLISHED))
    stored = engine.state.workflows["wf"]
    assert (stored.version, stored.status) == (1, WorkflowStatus.DRAFT)
    assert "wf" not in engine.state.published_workflows


def test_publishing_makes_a_version_that_services_may_use() -> None:
    engine, _ = _engine()
    engine.upsert("workflow", _sorry())
    service = engine.state.services["s"]
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert("service", replace(service, workflows={"audio_inbound": "wf"}))
    assert [(i.code, i.path) for i in failed.value.issues] == [
        ("unknown_reference", "workflows.audio_inbound")
    ]
    published = engine.publish_workflow("wf")
    assert (published.version, published.status) == (1, WorkflowStatus.PUBLISHED)
    engine.upsert("service", replace(service, workflows={"audio_inbound": "wf"}))
    assert engine.state.services["s"].workflows == {"audio_inbound": "wf"}
    with pytest.raises(DomainError) as again:
        engine.publish_workflow("wf")
    assert again.value.code == "already_published"


def test_editing_a_published_workflow_starts_the_next_version() -> None:
    engine, _ = _engine()
    engine.upsert("workflow", _sorry())
    engine.publish_workflow("wf")
    engine.upsert("workflow", _sorry("Sorry, version two."))
    head = engine.state.workflows["wf"]
    assert (head.version, head.status) == (2, WorkflowStatus.DRAFT)
    assert engine.state.published_workflows["wf"].version == 1  # services still run 1
    engine.upsert("workflow", _sorry("Sorry, still version two."))
    assert engine.state.workflows["wf"].version == 2
    engine.publish_workflow("wf")
    assert engine.state.published_workflows["wf"].version == 2
    assert set(engine.state.workflow_versions) == {("wf", 1), ("wf", 2)}


def test_a_draft_may_hold_graph_errors_but_cannot_be_published() -> None:
    engine, _ = _engine()
    broken = _sorry()
    nodes = tuple(n for n in broken.document.nodes if n.id != "sorry")
    engine.upsert("workflow", replace(broken, document=replace(broken.document, nodes=nodes)))
    with pytest.raises(ValidationFailed) as failed:
        engine.publish_workflow("wf")
    assert {(i.code, i.path) for i in failed.value.issues} == {
        ("unknown_exit_target", "nodes[queue].exits.timeout"),
        ("unknown_exit_target", "nodes[queue].exits.no_users"),
        ("unknown_exit_target", "nodes[queue].exits.full"),
    }
    assert "wf" not in engine.state.published_workflows


def test_a_save_is_refused_for_entity_problems_and_changes_nothing() -> None:
    engine, _ = _engine()
    engine.upsert("workflow", _sorry())
    seq = engine.state.seq
    other = simple_queue(workflow_id="wf-2", ou_id="nowhere")
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert("workflow", other)
    assert [(i.code, i.path) for i in failed.value.issues] == [
        ("not_unique", "name"),
        ("unknown_reference", "ou_id"),
    ]
    chat = chat_queue(workflow_id="wf", ou_id="ou-a")
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert("workflow", chat)
    assert [(i.code, i.path) for i in failed.value.issues] == [("immutable_field", "modality")]
    assert engine.state.seq == seq


def test_the_slot_must_match_the_workflow_kind_and_see_its_ou() -> None:
    engine, _ = _engine()
    engine.upsert("workflow", chat_queue(workflow_id="wf-chat", ou_id="ou-a"))
    engine.publish_workflow("wf-chat")
    engine.upsert("workflow", simple_queue(workflow_id="wf-b", ou_id="ou-b"))
    engine.publish_workflow("wf-b")
    service = engine.state.services["s"]
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert(
            "service",
            replace(service, workflows={"audio_inbound": "wf-chat", "chat_inbound": "wf-b"}),
        )
    assert [(i.code, i.path) for i in failed.value.issues] == [
        ("invalid_combination", "workflows.audio_inbound"),
        ("invalid_combination", "workflows.chat_inbound"),
    ]
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert("service", replace(service, workflows={"audio_inbound": "wf-b"}))
    assert [(i.code, i.path) for i in failed.value.issues] == [
        ("reference_not_visible", "workflows.audio_inbound")
    ]


def test_a_used_workflow_cannot_be_removed_until_released() -> None:
    engine, _ = _engine()
    engine.upsert("workflow", _sorry())
    engine.publish_workflow("wf")
    service = engine.state.services["s"]
    engine.upsert("service", replace(service, workflows={"audio_inbound": "wf"}))
    with pytest.raises(DomainError) as refused:
        engine.remove("workflow", "wf")
    assert refused.value.code == "entity_in_use"
    assert refused.value.detail["referrers"] == "service:s"
    engine.upsert("service", replace(engine.state.services["s"], workflows={}))
    engine.remove("workflow", "wf")
    assert "wf" not in engine.state.workflows
    assert "wf" not in engine.state.published_workflows
    assert not engine.state.workflow_versions


def test_an_ou_holding_a_workflow_is_in_use() -> None:
    engine, _ = _engine()
    engine.upsert("workflow", _sorry())
    with pytest.raises(DomainError) as refused:
        engine.remove("ou", "ou-a")
    assert "workflow:wf" in refused.value.detail["referrers"]


def test_workflow_config_survives_a_replay() -> None:
    engine, journal = _engine()
    engine.upsert("workflow", _sorry())
    engine.publish_workflow("wf")
    engine.upsert("workflow", _sorry("Draft two."))
    engine.commit()
    restored = Engine.restore(engine.state.tenant, VirtualClock(), journal)
    assert restored.state.workflows == engine.state.workflows
    assert restored.state.published_workflows == engine.state.published_workflows
    assert restored.state.workflow_versions == engine.state.workflow_versions


def test_known_good_workflows_load_as_given_without_validation() -> None:
    engine, _ = _engine()
    published = replace(_sorry(), status=WorkflowStatus.PUBLISHED, version=3)
    engine.upsert("workflow", published, validate=False)
    assert engine.state.published_workflows["wf"] == published
    assert engine.state.workflows["wf"].direction is Direction.INBOUND
