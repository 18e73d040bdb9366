"""Built-in templates (spec 04 §6): valid, shaped as described, refusing bad parameters."""

from __future__ import annotations

from typing import Any

import pytest
from workflow_samples import REFS

from switchboard.domain.validation import ValidationFailed
from switchboard.domain.workflow import (
    TEMPLATES,
    Workflow,
    WorkflowKind,
    WorkflowStatus,
    effective_settings,
    validate_workflow,
)
from switchboard.domain.workflow.templates import (
    LanguageChoice,
    ivr_menu,
    menu_with_language_choice,
    opening_hours_queue,
    queue_ivr_voicemail,
    queue_with_music_loop,
)

KINDS = {
    "Queue IVR Voicemail": WorkflowKind.AUDIO_INBOUND,
    "Opening hours → queue / closed announcement": WorkflowKind.AUDIO_INBOUND,
    "Menu with language choice": WorkflowKind.AUDIO_INBOUND,
    "Simple Queue": WorkflowKind.AUDIO_INBOUND,
    "IVR Menu": WorkflowKind.AUDIO_INBOUND,
    "Queue with Music Loop": WorkflowKind.AUDIO_INBOUND,
    "Chat Queue": WorkflowKind.CHAT_INBOUND,
    "Email Queue": WorkflowKind.EMAIL_INBOUND,
    "External Task Queue": WorkflowKind.EXTERNAL_TASK_INBOUND,
    "Outbound with Workflow": WorkflowKind.AUDIO_OUTBOUND,
}


def build(name: str, **extra: Any) -> Workflow:
    if name == "IVR Menu":
        extra = {"option_1_service_id": "svc-a", "option_2_service_id": "svc-sales", **extra}
    return TEMPLATES[name](workflow_id="wf-t", ou_id="ou-sales", **extra)


def routes(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(node, exit, target) for every exit, in document order."""
    return [(n.id, e, t) for n in workflow.document for e, t in n.exits.items()]


def test_every_template_of_the_spec_is_there() -> None:
    assert set(TEMPLATES) == set(KINDS)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_is_a_valid_draft_of_its_kind(name: str) -> None:
    workflow = build(name)
    assert workflow.kind is KINDS[name]
    assert workflow.status is WorkflowStatus.DRAFT
    assert workflow.version == 1
    assert (workflow.id, workflow.ou_id, workflow.name) == ("wf-t", "ou-sales", name)
    # No errors and no warnings either, also against a tenant's references.
    assert validate_workflow(workflow) == []
    assert validate_workflow(workflow, REFS) == []


def test_queue_ivr_voicemail_follows_the_outline() -> None:
    workflow = queue_ivr_voicemail(workflow_id="w", ou_id="root", max_queue_time_s=120)
    assert routes(workflow) == [
        ("start", "next", "accept"),
        ("accept", "next", "hours"),
        ("hours", "open", "welcome"),
        ("hours", "special", "welcome"),
        ("hours", "closed", "closed"),
        ("hours", "holiday", "closed"),
        ("welcome", "next", "queue"),
        ("queue", "timeout", "voicemail"),
        ("queue", "no_users", "voicemail"),
        ("queue", "full", "voicemail"),
        ("closed", "next", "voicemail"),
        ("voicemail", "recorded", "end"),
        ("voicemail", "no_recording", "end"),
    ]
    queue = workflow.document.node("queue")
    assert queue is not None
    assert queue.settings == {"distribution_type": "direct_conference", "max_queue_time_s": 120}


def test_opening_hours_template_uses_the_given_calendar() -> None:
    workflow = opening_hours_queue(
        workflow_id="w", ou_id="root", calendar="cal-root", language="de-CH"
    )
    hours = workflow.document.node("hours")
    closed = workflow.document.node("closed")
    assert hours is not None and hours.settings == {"calendar": "cal-root"}
    assert closed is not None and closed.settings["prompt"] == {
        "text": "We are closed at the moment. Please call again during our opening hours.",
        "language": "de-CH",
    }
    assert ("hours", "closed", "closed") in routes(workflow)
    assert ("queue", "timeout", "sorry") in routes(workflow)
    assert validate_workflow(workflow, REFS) == []


def test_language_menu_branches_per_language() -> None:
    workflow = menu_with_language_choice(
        workflow_id="w",
        ou_id="root",
        languages=[
            LanguageChoice("1", "de-CH", "Willkommen.", "Leider ist niemand frei."),
            LanguageChoice("2", "fr-CH", "Bienvenue.", "Désolés."),
            LanguageChoice("#", "en-GB", "Welcome.", "Sorry."),
        ],
        language_parameter_id="Topic",
    )
    menu = workflow.document.node("menu")
    assert menu is not None
    assert menu.settings["options"] == ["1", "2", "#"]
    assert dict(menu.exits) == {
        "option_1": "language_1",
        "option_2": "language_2",
        "option_pound": "language_pound",
        "invalid": "language_1",
        "no_input": "language_1",
    }
    store = workflow.document.node("language_pound")
    welcome = workflow.document.node("welcome_pound")
    assert store is not None and store.settings == {"parameter_id": "Topic", "value": "en-GB"}
    assert welcome is not None and welcome.settings["prompt"] == {
        "text": "Welcome.",
        "language": "en-GB",
    }
    assert ("queue_2", "timeout", "sorry_2") in routes(workflow)
    assert validate_workflow(workflow, REFS) == []


def test_language_menu_without_a_parameter_goes_straight_to_the_welcome() -> None:
    workflow = menu_with_language_choice(workflow_id="w", ou_id="root")
    menu = workflow.document.node("menu")
    assert menu is not None and menu.exits["option_2"] == "welcome_2"
    assert all(n.type != "set_parameter" for n in workflow.document)


def test_music_loop_may_use_an_audio_resource() -> None:
    workflow = queue_with_music_loop(workflow_id="w", ou_id="root", music_audio_resource_id="music")
    music = workflow.document.node("music")
    assert music is not None
    assert music.settings["prompt"] == {"source": "audio_resource", "audio_resource_id": "music"}
    assert ("check", "waiting", "music") in routes(workflow)
    assert validate_workflow(workflow, REFS) == []


def test_ivr_menu_references_are_checked_against_the_tenant() -> None:
    workflow = ivr_menu(
        workflow_id="w", ou_id="root", option_1_service_id="svc-a", option_2_service_id="svc-x"
    )
    assert [(i.code, i.path) for i in validate_workflow(workflow, REFS)] == [
        ("unknown_reference", "nodes[to_2].settings.target")
    ]


def test_bad_parameters_are_refused_with_the_validator_issues() -> None:
    with pytest.raises(ValidationFailed) as caught:
        queue_ivr_voicemail(workflow_id="w", ou_id="root", max_queue_time_s=3)
    assert [(i.code, i.path) for i in caught.value.issues] == [
        ("invalid_setting", "nodes[queue].settings.max_queue_time_s")
    ]
    with pytest.raises(ValidationFailed) as caught:
        menu_with_language_choice(
            workflow_id="w",
            ou_id="root",
            languages=[LanguageChoice("x", "en", "Hi.", "Bye.")],
        )
    assert [(i.code, i.path) for i in caught.value.issues] == [
        ("invalid_setting", "nodes[menu].settings.options[0]")
    ]
    with pytest.raises(ValueError, match="at least one language"):
        menu_with_language_choice(workflow_id="w", ou_id="root", languages=[])


def test_effective_settings_fill_in_the_defaults() -> None:
    email = build("Email Queue")
    queue = email.document.node("queue")
    assert queue is not None
    assert effective_settings(queue, email.modality) == {
        "distribution_type": "direct",
        "priority": None,
        "rona_timeout_s": 20,
        "max_queue_time_s": 86400,
        "exit_when_no_users": False,
        "user_ordering": None,
    }
    audio = build("Simple Queue")
    audio_queue = audio.document.node("queue")
    assert audio_queue is not None
    resolved = effective_settings(audio_queue, audio.modality)
    assert resolved["distribution_type"] == "direct_conference"
    assert resolved["max_queue_time_s"] == 300
    assert "waiting_prompts" not in resolved  # optional, no default
    assert "waiting_message" not in resolved  # chat only


def test_effective_settings_are_a_copy() -> None:
    workflow = build("Queue IVR Voicemail")
    voicemail = workflow.document.node("voicemail")
    assert voicemail is not None
    resolved = effective_settings(voicemail, workflow.modality)
    assert resolved["notify"] == []
    notify: Any = resolved["notify"]
    notify.append({"type": "event"})
    assert effective_settings(voicemail, workflow.modality)["notify"] == []
