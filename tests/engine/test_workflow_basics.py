"""Workflow activities that talk, decide and end: start, accept, announcement, message,
disconnect, email_reply, set_parameter, check_parameter, placeholders (RT4),
check_opening_hours and availability_based_routing — in virtual time, with the
test as the voice provider."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from workflow_harness import SERVICE, World, api_task, document, world

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.calendars import (
    DefaultState,
    OpeningState,
    Period,
    PeriodRule,
    RuleKind,
    Weekday,
)
from switchboard.domain.enums import EndReason, Modality, Presence, TaskKind, TaskState
from workflow_nodes import node

BYE = node("bye", "disconnect")


def test_a_call_is_answered_and_the_run_journals_every_node() -> None:
    w = world()
    w.publish(
        document([node("hi", "announcement", {"next": "bye"}, prompt={"text": "Hello"}), BYE])
    )
    task = w.call()
    answer = w.commands[0]
    assert isinstance(answer, v.Answer) and answer.call_id == "call-1"
    assert w.task(task.id).accepted_at is not None
    play = w.last(v.PlayPrompt)
    assert play.prompts == (v.Prompt(tts="Hello", language="en-US"),)
    w.clock.advance(3)
    w.played(play)
    assert w.path(task.id) == [("start", "next"), ("acc", "next"), ("hi", "next")]
    completed = w.named("workflow.node_completed", task.id)[2]
    assert completed["completed_at"] - completed["entered_at"] == 3
    assert isinstance(w.commands[-1], v.HangUp)
    assert w.ended(task.id)["reason"] == "disconnected"
    assert w.task(task.id).end_reason is EndReason.WORKFLOW_DISCONNECT
    started = w.named("workflow.started", task.id)[0]
    assert (started["workflow_id"], started["workflow_version"]) == ("wf", 1)


def test_accept_fails_when_the_call_is_never_established() -> None:
    w = world()
    w.publish(document([BYE]))
    w.send(v.IncomingCall, call_id="c", to=SERVICE, caller=v.Party(kind=v.PartyKind.ANONYMOUS))
    task_id = w.engine.state.calls["c"]
    w.advance(9.9)
    assert w.task(task_id).state is TaskState.IN_WORKFLOW
    w.advance(0.2)
    assert w.task(task_id).end_reason is EndReason.ERROR
    assert w.ended(task_id)["error"] == "answer_timeout"
    assert isinstance(w.commands[-1], v.HangUp)


def test_a_failed_answer_ends_the_task_in_error() -> None:
    w = world()
    w.publish(document([BYE]))
    w.send(v.IncomingCall, call_id="c", to=SERVICE, caller=v.Party(kind=v.PartyKind.ANONYMOUS))
    answer = w.last(v.Answer)
    w.send(v.OperationFailed, command_id=answer.command_id, code="gone", call_id="c")
    task = w.task(w.named("task.created")[0]["task_id"])
    assert (task.end_reason, task.end_detail) == (EndReason.ERROR, "answer_failed")


def test_announcement_repeats_barges_in_and_survives_failure() -> None:
    w = world()
    w.publish(
        document(
            [
                node(
                    "hi",
                    "announcement",
                    {"next": "more"},
                    prompt={"text": "Hi"},
                    repeat=3,
                    barge_in=True,
                ),
                node(
                    "more",
                    "announcement",
                    {"next": "bye"},
                    prompt={"text": "<Tom & Jerry>", "language": "de-CH", "voice": "anna"},
                ),
                BYE,
            ]
        )
    )
    task = w.call()
    first = w.last(v.PlayPrompt)
    assert len(first.prompts) == 3 and first.barge_in
    w.send(v.MediaCompleted, call_id="call-1", command_id="stale", status=v.MediaStatus.COMPLETED)
    assert w.path(task.id)[-1] == ("acc", "next")  # a result for another command changes nothing
    w.send(
        v.MediaCompleted,
        call_id="call-1",
        command_id=first.command_id,
        status=v.MediaStatus.COMPLETED,
        digit="5",
    )
    second = w.last(v.PlayPrompt)
    assert second.prompts[0] == v.Prompt(
        tts="&lt;Tom &amp; Jerry&gt;", language="de-CH", voice="anna"
    )  # escaped for speech synthesis
    w.played(second, v.MediaStatus.FAILED)  # RT6: skipped with a warning
    assert w.path(task.id)[-2:] == [("hi", "next"), ("more", "next")]
    assert w.warnings(task.id) == ["announcement_failed"]
    assert w.task(task.id).end_reason is EndReason.WORKFLOW_DISCONNECT


def test_disconnect_plays_its_final_prompt_before_hanging_up() -> None:
    w = world()
    w.publish(document([node("bye", "disconnect", final_prompt={"text": "Goodbye"})]))
    task = w.call()
    final = w.last(v.PlayPrompt)
    assert w.task(task.id).state is TaskState.IN_WORKFLOW
    w.played(final)
    assert isinstance(w.commands[-1], v.HangUp)
    assert w.task(task.id).end_reason is EndReason.WORKFLOW_DISCONNECT


def test_a_task_without_a_call_hears_nothing_but_takes_the_time() -> None:
    w = world()
    w.publish(
        document(
            [node("hi", "announcement", {"next": "bye"}, prompt={"text": "Hi"}, repeat=2), BYE]
        )
    )
    task = api_task(w)
    assert w.commands == []
    assert w.warnings(task.id) == ["no_media"]
    w.advance(3.9)  # two repetitions of NO_MEDIA_PROMPT_S
    assert w.path(task.id)[-1] == ("acc", "next")
    w.advance(0.1)
    assert w.path(task.id)[-1] == ("hi", "next")
    assert w.task(task.id).end_reason is EndReason.WORKFLOW_DISCONNECT


def test_chat_messages_pause_and_close_with_a_final_message() -> None:
    w = world(modalities=(Modality.CHAT,))
    w.publish(
        document(
            [
                node(
                    "hi",
                    "message",
                    {"next": "bye"},
                    text="Hello {{system.service.name}}",
                    delay_s=4,
                ),
                node("bye", "disconnect", final_message="Bye"),
            ],
            modality="chat",
        ),
        slot="chat_inbound",
    )
    task = api_task(w, TaskKind.CHAT_INBOUND)
    assert w.named("chat.message", task.id) == [{"task_id": task.id, "text": "Hello Hotline"}]
    w.advance(3.9)
    assert w.task(task.id).state is TaskState.IN_WORKFLOW
    w.advance(0.1)
    assert [d["text"] for d in w.named("chat.message", task.id)] == ["Hello Hotline", "Bye"]
    assert w.task(task.id).end_reason is EndReason.WORKFLOW_DISCONNECT


def test_email_reply_renders_subject_and_body() -> None:
    w = world(modalities=(Modality.EMAIL,), email_mailbox_upn="mail@acme.test")
    w.engine.upsert(
        "parameter", cfg.CustomParameter(id="Ticket", name="Ticket", default_value="T-0")
    )
    w.publish(
        document(
            [
                node(
                    "reply", "email_reply", {"next": "bye"}, body="Your ticket is {{param.Ticket}}."
                ),
                BYE,
            ],
            modality="email",
        ),
        slot="email_inbound",
    )
    task = api_task(w, TaskKind.EMAIL_INBOUND, custom_context={"Ticket": "T-42"})
    (reply,) = w.named("email.reply", task.id)
    assert reply["body"] == "Your ticket is T-42."
    assert reply["subject"] == "Re: "  # no subject known yet: empty, with a warning (RT4)
    assert w.warnings(task.id) == ["empty_placeholder"]


def test_set_parameter_renders_truncates_and_stores() -> None:
    w = world()
    for pid in ("Greeting", "Long"):
        w.engine.upsert("parameter", cfg.CustomParameter(id=pid, name=pid))
    w.publish(
        document(
            [
                node(
                    "a",
                    "set_parameter",
                    {"next": "b"},
                    parameter_id="Greeting",
                    value="Hi {{system.caller.id}} via {{system.service.upn}}",
                ),
                node(
                    "b",
                    "set_parameter",
                    {"next": "bye"},
                    parameter_id="Long",
                    value="x" * 5000 + "{{param.Greeting}}" * 5,
                ),
                BYE,
            ]
        )
    )
    task = w.call()
    context = w.task(task.id).custom_context
    assert context["Greeting"] == "Hi +41790000001 via hotline@acme.test"
    assert len(context["Long"]) == 5120 and context["Long"].startswith("x" * 5000 + "Hi +4179")
    assert w.warnings(task.id) == ["value_truncated"]
    updates = w.named("task.parameter_updated", task.id)
    assert [u["parameter_id"] for u in updates] == ["Greeting", "Long"]


@pytest.mark.parametrize(
    ("operator", "settings", "value", "matched"),
    [
        ("equals", {"value": "gold"}, "GOLD", True),
        ("equals", {"value": "gold", "case_sensitive": True}, "GOLD", False),
        ("not_equals", {"value": "gold"}, "silver", True),
        ("contains", {"value": "ol"}, "gold", True),
        ("starts_with", {"value": "go"}, "gold", True),
        ("ends_with", {"value": "x"}, "gold", False),
        ("matches", {"value": "g.+d"}, "gold", True),
        ("matches", {"value": "ol"}, "gold", False),
        ("in", {"values": ["Silver", "Gold"]}, "gold", True),
        ("in", {"values": ["silver"]}, "gold", False),
        ("greater_than", {"value": "10"}, "10.5", True),
        ("less_than", {"value": "10"}, "ten", False),
        ("is_empty", {}, " ", True),
        ("is_default", {}, "standard", True),
        ("is_default", {}, "gold", False),
    ],
)
def test_check_parameter_operators(
    operator: str, settings: dict[str, Any], value: str, matched: bool
) -> None:
    w = world()
    w.engine.upsert(
        "parameter", cfg.CustomParameter(id="Tier", name="Tier", default_value="standard")
    )
    w.publish(
        document(
            [
                node(
                    "check",
                    "check_parameter",
                    {"match": "bye", "no_match": "bye"},
                    subject="param.Tier",
                    operator=operator,
                    **settings,
                ),
                BYE,
            ]
        )
    )
    task = api_task(w, custom_context={"Tier": value})
    assert w.path(task.id)[-1] == ("check", "match" if matched else "no_match")


def test_check_parameter_reads_system_fields_and_defaults() -> None:
    w = world()
    w.engine.upsert(
        "parameter", cfg.CustomParameter(id="Tier", name="Tier", default_value="standard")
    )
    w.publish(
        document(
            [
                node(
                    "kind",
                    "check_parameter",
                    {"match": "tier", "no_match": "bye"},
                    subject="system.task.kind",
                    operator="equals",
                    value="audio_inbound",
                ),
                node(
                    "tier",
                    "check_parameter",
                    {"match": "bye", "no_match": "bye"},
                    subject="param.Tier",
                    operator="equals",
                    value="standard",
                ),
                BYE,
            ]
        )
    )
    task = api_task(w)
    assert w.path(task.id)[-2:] == [("kind", "match"), ("tier", "match")]


WEEKDAYS = Period(
    "weekdays",
    "Weekdays",
    OpeningState.OPEN,
    PeriodRule(RuleKind.WEEKLY, days=tuple(Weekday)[:5], start="08:00", end="18:00"),
)
SATURDAY = Period(
    "saturday",
    "Saturday",
    OpeningState.SPECIAL,
    PeriodRule(RuleKind.WEEKLY, days=(Weekday.SAT,), start="09:00", end="12:00"),
)
NEW_YEAR = Period(
    "new-year",
    "New Year",
    OpeningState.HOLIDAY,
    PeriodRule(RuleKind.DATES, start_date="2026-01-01", end_date="2026-01-01"),
)


@pytest.mark.parametrize(
    ("at", "state"),
    [
        ("2026-01-01T10:00:00+00:00", "holiday"),  # Thursday, but New Year
        ("2026-01-02T10:00:00+00:00", "open"),  # Friday
        ("2026-01-02T19:00:00+00:00", "closed"),  # Friday evening: the default
        ("2026-01-03T10:00:00+00:00", "special"),  # Saturday morning
    ],
)
def test_check_opening_hours_takes_the_state_as_its_exit(at: str, state: str) -> None:
    w = world()
    w.engine.upsert(
        "calendar",
        cfg.Calendar(
            id="cal",
            name="Office",
            default_state=DefaultState.CLOSED,
            periods=(WEEKDAYS, SATURDAY, NEW_YEAR),
        ),
    )
    w.engine.upsert("service", replace_service(w, primary_calendar_id="cal"))
    exits = {s: "bye" for s in ("open", "closed", "holiday", "special")}
    w.publish(document([node("hours", "check_opening_hours", exits), BYE]))
    w.clock.set(datetime.fromisoformat(at).timestamp())
    task = api_task(w)
    assert w.path(task.id)[-1] == ("hours", state)


def test_check_opening_hours_with_a_calendar_id_and_without_any() -> None:
    w = world()
    w.engine.upsert(
        "calendar", cfg.Calendar(id="never", name="Never", default_state=DefaultState.CLOSED)
    )
    exits = {s: "other" for s in ("open", "closed", "holiday", "special")}
    other = {s: "bye" for s in ("open", "closed", "holiday", "special")}
    w.publish(
        document(
            [
                node("own", "check_opening_hours", exits),
                node("other", "check_opening_hours", other, calendar="never"),
                BYE,
            ]
        )
    )
    task = api_task(w)
    assert w.path(task.id)[-2:] == [("own", "open"), ("other", "closed")]


def replace_service(w: World, **changes: Any) -> cfg.Service:
    return replace(w.engine.state.services[SERVICE], **changes)


def test_availability_based_routing_has_three_answers() -> None:
    w = world(members=("anna", "ben"))
    exits = {"available": "bye", "all_busy": "bye", "nobody_online": "bye"}
    w.publish(document([node("who", "availability_based_routing", exits), BYE], accept=False))
    first = api_task(w)
    w.set_presence("anna", Presence.AWAY)  # online, not selectable
    second = api_task(w)
    w.set_presence("ben", Presence.AVAILABLE)
    third = api_task(w)
    assert [w.path(t.id)[-1][1] for t in (first, second, third)] == [
        "nobody_online",
        "all_busy",
        "available",
    ]
    assert all(w.task(t.id).accepted_at is None for t in (first, second, third))
