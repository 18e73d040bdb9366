"""Reading workflow JSON: shape problems, and parse → serialise round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from workflow_samples import chat, hotline, node

from switchboard.domain.enums import Direction, Modality
from switchboard.domain.validation import ValidationFailed
from switchboard.domain.workflow import (
    TEMPLATES,
    Node,
    WorkflowStatus,
    parse_workflow,
    read_workflow,
    validate_document,
)


def issues_of(data: object) -> list[tuple[str, str, str]]:
    workflow, issues = read_workflow(data)
    assert (workflow is None) == bool(issues)
    return [(i.code, i.path, i.message) for i in issues]


def test_parses_into_typed_dataclasses() -> None:
    workflow = parse_workflow(hotline())
    assert workflow.id == "wf-hotline"
    assert workflow.modality is Modality.AUDIO
    assert workflow.direction is Direction.INBOUND
    assert workflow.status is WorkflowStatus.DRAFT
    assert workflow.kind is not None and workflow.kind.value == "audio_inbound"
    menu = workflow.document.node("menu")
    assert menu == Node(
        id="menu",
        type="input_customer",
        name="Main menu",
        settings={
            "prompt": {"text": "For sales press 1, to give your case number press 2."},
            "options": ["1", "2"],
            "timeout_s": 8,
        },
        exits={"option_1": "q", "option_2": "info", "invalid": "q", "no_input": "q"},
    )
    assert [n.id for n in workflow.document.starts] == ["start"]
    assert len(workflow.document) == 10


def test_defaults_for_version_and_status() -> None:
    document = chat()
    workflow = parse_workflow(document)
    assert workflow.version == 1
    assert workflow.status is WorkflowStatus.DRAFT


@pytest.mark.parametrize("sample", [hotline, chat], ids=["hotline", "chat"])
def test_round_trip(sample: Any) -> None:
    document = sample()
    workflow = parse_workflow(document)
    once = workflow.to_json()
    document.setdefault("version", 1)
    document.setdefault("status", "draft")
    assert once == document
    # Through real JSON text and back: still the same workflow.
    assert parse_workflow(json.loads(json.dumps(once))) == workflow


def test_round_trip_of_every_template() -> None:
    for name, build in TEMPLATES.items():
        extra = (
            {"option_1_service_id": "svc-a", "option_2_service_id": "svc-b"}
            if name == "IVR Menu"
            else {}
        )
        workflow = build(workflow_id="wf-t", ou_id="root", **extra)
        text = json.dumps(workflow.to_json(), ensure_ascii=False)
        assert parse_workflow(json.loads(text)) == workflow, name


def test_serialising_does_not_share_state_with_the_workflow() -> None:
    workflow = parse_workflow(hotline())
    out = workflow.to_json()
    nodes: Any = out["nodes"]
    nodes[3]["settings"]["prompt"]["text"] = "changed"
    assert workflow.to_json() != out


def test_integral_floats_are_integers() -> None:
    """JSON does not tell 8.0 from 8, and neither does JSON Schema."""
    document = hotline()
    document["version"] = 2.0
    node(document, "menu")["settings"]["timeout_s"] = 8.0
    workflow = parse_workflow(document)
    assert workflow.version == 2
    menu = workflow.document.node("menu")
    assert menu is not None and type(menu.settings["timeout_s"]) is int


def test_a_fraction_is_not_a_whole_number() -> None:
    document = hotline()
    node(document, "menu")["settings"]["retries"] = 1.5
    assert [(i.code, i.path, i.message) for i in validate_document(document)] == [
        (
            "invalid_type",
            "nodes[menu].settings.retries",
            "Node 'menu' (input_customer): retries must be a whole number; got number 1.5.",
        )
    ]


def test_not_an_object() -> None:
    assert issues_of([]) == [
        ("invalid_type", "", "A workflow document must be a JSON object; got a list.")
    ]


def test_every_shape_problem_at_once() -> None:
    document = hotline()
    document["extra"] = 1
    del document["ou_id"]
    document.update(modality="video", direction="none", version="1", status="live", name=5)
    document["nodes"][1] = {"id": "acc", "type": 3, "settings": [], "exits": {"next": 5}, "foo": 1}
    node(document, "menu")["settings"]["timeout_s"] = float("nan")
    del node(document, "info")["type"]
    document["nodes"][2] = "x"
    assert issues_of(document) == [
        (
            "unknown_field",
            "extra",
            "extra is not a field of the workflow document; "
            "expected id, ou_id, name, modality, direction, version, status, nodes.",
        ),
        ("required", "ou_id", "ou_id is required."),
        ("invalid_type", "name", "name must be text; got number 5."),
        (
            "invalid_type",
            "modality",
            "modality must be one of audio, chat, email, external_task; got text 'video'.",
        ),
        (
            "invalid_type",
            "direction",
            "direction must be one of inbound, outbound; got text 'none'.",
        ),
        ("invalid_type", "status", "status must be one of draft, published; got text 'live'."),
        ("invalid_type", "version", "version must be a whole number; got text '1'."),
        (
            "unknown_field",
            "nodes[acc].foo",
            "Node 'acc': foo is not a field of a node; expected id, type, name, settings, exits.",
        ),
        (
            "invalid_type",
            "nodes[acc].type",
            "Node 'acc': type must be text naming an activity; got number 3.",
        ),
        (
            "invalid_type",
            "nodes[acc].settings",
            "Node 'acc': settings must be an object; got a list.",
        ),
        (
            "invalid_type",
            "nodes[acc].exits.next",
            "Node 'acc': exits.next must be the id of a node; got number 5.",
        ),
        (
            "invalid_type",
            "nodes[2]",
            "Node at index 2: a node must be a JSON object; got text 'x'.",
        ),
        (
            "invalid_type",
            "nodes[menu].settings.timeout_s",
            "Node 'menu' (input_customer): settings.timeout_s must be a finite number; got nan.",
        ),
        ("required", "nodes[info].type", "Node 'info': type is required."),
    ]


def test_nodes_must_be_a_list() -> None:
    document = hotline()
    document["nodes"] = {}
    assert issues_of(document) == [
        ("invalid_type", "nodes", "nodes must be a list of node objects; got an object.")
    ]


def test_shape_problems_come_before_the_rules() -> None:
    """With a broken shape, validate_document reports the shape only."""
    document = hotline()
    node(document, "menu")["settings"]["timeout_s"] = 90
    document["nodes"][2] = "x"
    assert [i.code for i in validate_document(document)] == ["invalid_type"]


def test_parse_workflow_raises_with_every_issue() -> None:
    document = hotline()
    del document["name"]
    document["modality"] = "fax"
    with pytest.raises(ValidationFailed) as caught:
        parse_workflow(document)
    assert [(i.code, i.path) for i in caught.value.issues] == [
        ("required", "name"),
        ("invalid_type", "modality"),
    ]
    detail = caught.value.as_dict()["detail"]["issues"]
    assert detail[0] == {
        "severity": "error",
        "code": "required",
        "path": "name",
        "message": "name is required.",
    }
