"""Workflow versions: drafts, publishing, immutability, assignment to service slots."""

from __future__ import annotations

from dataclasses import replace

import pytest
from workflow_samples import REFS, hotline

from switchboard.domain.calendars import Calendar
from switchboard.domain.config import CustomParameter, OrganisationUnit, Service
from switchboard.domain.enums import AssignmentType, Direction, Modality
from switchboard.domain.errors import Refused
from switchboard.domain.validation import Catalog, ValidationFailed
from switchboard.domain.workflow import (
    Node,
    RefKind,
    WorkflowDocument,
    WorkflowStatus,
    check_assignment,
    parse_workflow,
    publish,
    references_from_catalog,
    validate_workflow,
)
from switchboard.domain.workflow.lifecycle import check_save, save_draft


def test_publish_keeps_the_version_and_freezes_the_draft() -> None:
    workflow = parse_workflow(hotline())
    published = publish(workflow, REFS)
    assert published.status is WorkflowStatus.PUBLISHED
    assert published.version == 1
    assert replace(published, status=WorkflowStatus.DRAFT) == workflow
    with pytest.raises(Refused) as caught:
        publish(published)
    assert caught.value.code == "already_published"


def test_a_draft_with_errors_cannot_be_published() -> None:
    document = hotline()
    document["nodes"][3]["settings"]["timeout_s"] = 90
    with pytest.raises(ValidationFailed) as caught:
        publish(parse_workflow(document))
    assert [(i.code, i.path) for i in caught.value.issues] == [
        ("invalid_setting", "nodes[menu].settings.timeout_s")
    ]


def test_warnings_do_not_block_publishing() -> None:
    document = hotline()
    document["nodes"].append({"id": "spare", "type": "disconnect"})
    published = publish(parse_workflow(document))
    assert published.status is WorkflowStatus.PUBLISHED


def test_a_saved_draft_keeps_its_kind() -> None:
    workflow = parse_workflow(hotline())
    fewer = WorkflowDocument((*workflow.document.nodes[:-1], Node(id="bye", type="disconnect")))
    edited = save_draft(replace(workflow, name="New name", document=fewer), workflow)
    assert check_save(edited, workflow, REFS) == []
    for field, was, other in (
        ("modality", "audio", replace(workflow, modality=Modality.CHAT)),
        ("direction", "inbound", replace(workflow, direction=Direction.OUTBOUND)),
    ):
        changed = save_draft(other, workflow)
        assert [(i.code, i.path, i.message) for i in check_save(changed, workflow, REFS)] == [
            (
                "immutable_field",
                field,
                f"{field} cannot be changed after creation; it is {was}. "
                "Create a new workflow for another kind of task.",
            )
        ]


def test_assignment_to_a_service_slot() -> None:
    published = publish(parse_workflow(hotline()))
    assert check_assignment("audio_inbound", "wf-hotline", published) == []
    assert [
        (i.code, i.path, i.message)
        for i in check_assignment("chat_inbound", "wf-hotline", published)
    ] == [
        (
            "invalid_combination",
            "workflows.chat_inbound",
            "chat_inbound needs a chat inbound workflow; 'wf-hotline' is audio inbound.",
        )
    ]
    assert [(i.code, i.message) for i in check_assignment("audio_inbound", "wf-hotline", None)] == [
        (
            "unknown_reference",
            "audio_inbound refers to workflow 'wf-hotline', which has no published version.",
        )
    ]
    draft_only = parse_workflow(hotline())
    assert [i.code for i in check_assignment("audio_inbound", "wf-hotline", draft_only)] == [
        "unknown_reference"
    ]
    assert [(i.code, i.message) for i in check_assignment("video", "wf-hotline", published)] == [
        (
            "invalid_format",
            "video is not a workflow slot; use one of audio_inbound, audio_outbound, "
            "chat_inbound, email_inbound, external_task_inbound.",
        )
    ]


def test_references_from_the_configuration_catalog() -> None:
    catalog = Catalog(
        ous={
            "root": OrganisationUnit(id="root", name="Contoso"),
            "ou-sales": OrganisationUnit(id="ou-sales", name="Sales", parent_id="root"),
        },
        services={
            "svc-a": Service(
                id="svc-a",
                name="A",
                upn="a@contoso.com",
                user_assignment_type=AssignmentType.TEAMS_BASED,
                workflows={"audio_inbound": "wf-hotline"},
            )
        },
        parameters={
            "CaseId": CustomParameter(id="CaseId", name="Case"),
            "Topic": CustomParameter(id="Topic", name="Topic", ou_id="ou-sales"),
        },
        calendars={
            "cal-1": Calendar(id="cal-1", name="Hotline hours"),
            "cal-sales": Calendar(id="cal-sales", name="Sales", ou_id="ou-sales"),
        },
    )
    refs = references_from_catalog(catalog)
    assert refs.visible_ous("ou-sales") == frozenset({"ou-sales", "root"})
    assert refs.owner_ou(RefKind.PARAMETER, "Topic") == "ou-sales"
    assert refs.owner_ou(RefKind.CALENDAR, "cal-1") == "root"
    assert refs.owner_ou(RefKind.CALENDAR, "cal-sales") == "ou-sales"
    service = refs.services["svc-a"]
    assert (service.has_calendar, service.workflow_ids) == (False, frozenset({"wf-hotline"}))
    found = validate_workflow(parse_workflow(hotline()), refs)
    assert [(i.code, i.path) for i in found] == [
        ("calendar_missing", "nodes[hours].settings.calendar"),
        ("reference_not_visible", "nodes[note].settings.parameter_id"),
    ]
