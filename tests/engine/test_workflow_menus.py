"""Workflow activities that listen: input_customer (menus with retries), collect_information,
record_consent and voice_message — every exit, in virtual time."""

from __future__ import annotations

from workflow_harness import World, api_task, document, world

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import EndReason
from workflow_nodes import node

BYE = node("bye", "disconnect")
MENU_EXITS = {"option_1": "bye", "option_star": "bye", "invalid": "bye", "no_input": "bye"}


def _menu(**settings: object) -> list[dict[str, object]]:
    return [
        node(
            "menu",
            "input_customer",
            MENU_EXITS,
            prompt={"text": "Press 1 or star."},
            options=["1", "*"],
            **settings,
        ),
        BYE,
    ]


def test_a_key_takes_its_option_exit_and_may_be_stored() -> None:
    w = world()
    w.engine.upsert("parameter", cfg.CustomParameter(id="Choice", name="Choice"))
    w.publish(document(_menu(store_parameter_id="Choice", timeout_s=7)))
    task = w.call()
    collect = w.last(v.CollectDigits)
    assert (collect.max_digits, collect.first_digit_timeout_s) == (1, 7)
    assert collect.prompt == v.Prompt(tts="Press 1 or star.", language="en-US")
    w.keys("*")
    assert w.path(task.id)[-1] == ("menu", "option_star")
    assert w.task(task.id).custom_context == {"Choice": "*"}


def test_invalid_keys_replay_with_the_notice_then_take_invalid() -> None:
    w = world()
    w.publish(document(_menu(retries=2, invalid_prompt={"text": "Wrong key."})))
    task = w.call()
    for _ in range(2):
        w.keys("9")
        notice = w.last(v.PlayPrompt)
        assert notice.prompts[0].tts == "Wrong key."
        collects = sum(isinstance(c, v.CollectDigits) for c in w.commands)
        w.played(notice)
        assert sum(isinstance(c, v.CollectDigits) for c in w.commands) == collects + 1
    w.keys("9")
    assert w.path(task.id)[-1] == ("menu", "invalid")
    waits = [d["wait"]["attempt"] for d in w.named("workflow.node_waiting", task.id)]
    assert max(waits) == 2


def test_silence_replays_without_a_notice_then_takes_no_input() -> None:
    w = world()
    w.publish(document(_menu(retries=1)))
    task = w.call()
    w.keys("")
    assert w.pending(v.PlayPrompt) is None  # no no_input_prompt: the menu again at once
    assert sum(isinstance(c, v.CollectDigits) for c in w.commands) == 2
    w.keys("")
    assert w.path(task.id)[-1] == ("menu", "no_input")


def test_a_result_for_an_old_collection_is_ignored() -> None:
    w = world()
    w.publish(document(_menu(retries=1)))
    task = w.call()
    first = w.last(v.CollectDigits)
    w.keys("")
    w.send(
        v.DigitsCollected,
        call_id="call-1",
        command_id=first.command_id,
        digits="1",
        reason=v.CollectReason.MAX,
    )
    assert w.path(task.id)[-1] == ("acc", "next")  # still in the menu
    w.keys("1")
    assert w.path(task.id)[-1] == ("menu", "option_1")


def test_a_menu_that_cannot_be_heard_ends_the_task_in_error() -> None:
    w = world()
    w.publish(document(_menu()))
    task = w.call()
    collect = w.last(v.CollectDigits)
    w.send(v.OperationFailed, command_id=collect.command_id, code="media", call_id="call-1")
    assert (w.task(task.id).end_reason, w.task(task.id).end_detail) == (
        EndReason.ERROR,
        "media_failed",
    )
    assert isinstance(w.commands[-1], v.HangUp)


def test_without_a_call_a_menu_hears_nothing_for_all_its_tries() -> None:
    w = world()
    w.publish(document(_menu(timeout_s=4, retries=2)))
    task = api_task(w)
    assert w.warnings(task.id) == ["no_media"]
    w.advance(11.9)
    assert w.path(task.id)[-1] == ("acc", "next")
    w.advance(0.1)  # 3 tries of 4 s
    assert w.path(task.id)[-1] == ("menu", "no_input")


DIGITS_EXITS = {"collected": "bye", "invalid": "bye", "no_input": "bye"}


def _digits(**settings: object) -> list[dict[str, object]]:
    return [
        node(
            "ask",
            "collect_information",
            DIGITS_EXITS,
            prompt={"text": "Your order number, then hash."},
            parameter_id="Order",
            **settings,
        ),
        BYE,
    ]


def _digits_world(**settings: object) -> tuple[World, str]:
    w = world()
    w.engine.upsert("parameter", cfg.CustomParameter(id="Order", name="Order"))
    w.publish(document(_digits(**settings)))
    return w, w.call().id


def test_collected_digits_are_stored_without_the_terminator() -> None:
    w, task_id = _digits_world(min_digits=3, max_digits=6, inter_digit_timeout_s=4)
    collect = w.last(v.CollectDigits)
    assert (collect.min_digits, collect.max_digits, collect.terminators) == (3, 6, "#")
    assert (collect.first_digit_timeout_s, collect.inter_digit_timeout_s) == (10, 4)
    w.keys("4711#", v.CollectReason.TERMINATOR)
    assert w.path(task_id)[-1] == ("ask", "collected")
    assert w.task(task_id).custom_context == {"Order": "4711"}


def test_digits_that_break_the_rules_are_asked_again_then_invalid() -> None:
    w, task_id = _digits_world(min_digits=3, pattern="4[0-9]+", retries=2)
    w.keys("12", v.CollectReason.TIMEOUT)  # too short
    w.keys("5123")  # does not match
    assert w.path(task_id)[-1] == ("acc", "next")
    w.keys("999")
    assert w.path(task_id)[-1] == ("ask", "invalid")
    assert sum(isinstance(c, v.CollectDigits) for c in w.commands) == 3


def test_nothing_entered_takes_no_input_after_the_retries() -> None:
    w, task_id = _digits_world(retries=1)
    w.keys("")
    w.keys("")
    assert w.path(task_id)[-1] == ("ask", "no_input")
    assert w.task(task_id).custom_context == {}


CONSENT_EXITS = {"granted": "bye", "not_granted": "bye"}


def test_record_consent_stores_the_answer_per_purpose() -> None:
    answers = {
        "1": ("granted", "granted"),
        "2": ("not_granted", "not_granted"),
        "": ("not_granted", "not_granted"),
    }
    for key, (exit_name, stored) in answers.items():
        w = world()
        w.publish(
            document(
                [
                    node(
                        "consent",
                        "record_consent",
                        CONSENT_EXITS,
                        purpose="custom",
                        purpose_name="Survey",
                        prompt={"text": "May we call you back? 1 yes, 2 no."},
                        timeout_s=6,
                    ),
                    BYE,
                ]
            )
        )
        task = w.call()
        assert w.last(v.CollectDigits).first_digit_timeout_s == 6
        w.keys(key)
        assert w.path(task.id)[-1] == ("consent", exit_name)
        assert w.task(task.id).consents == {"Survey": stored}
        assert w.named("task.consent_recorded", task.id)[0]["purpose"] == "Survey"


def test_consent_is_readable_as_a_system_field() -> None:
    w = world()
    w.publish(
        document(
            [
                node(
                    "consent",
                    "record_consent",
                    {"granted": "check", "not_granted": "check"},
                    prompt={"text": "1?"},
                ),
                node(
                    "check",
                    "check_parameter",
                    {"match": "bye", "no_match": "bye"},
                    subject="system.consent.transfer_on_user_exit",
                    operator="equals",
                    value="granted",
                ),
                BYE,
            ]
        )
    )
    task = w.call()
    w.keys("1")
    assert w.path(task.id)[-1] == ("check", "match")


VM_EXITS = {"recorded": "bye", "no_recording": "bye"}


def _voicemail_world() -> tuple[World, str]:
    w = world()
    w.engine.upsert("parameter", cfg.CustomParameter(id="Recording", name="Recording"))
    w.publish(
        document(
            [
                node(
                    "vm",
                    "voice_message",
                    VM_EXITS,
                    prompt={"text": "After the tone."},
                    max_duration_s=60,
                    silence_timeout_s=3,
                    stop_keys="#*",
                    store_parameter_id="Recording",
                    notify=[{"type": "email", "address": "desk@acme.test"}],
                ),
                BYE,
            ]
        )
    )
    return w, w.call().id


def test_a_voice_message_is_recorded_announced_and_stored() -> None:
    w, task_id = _voicemail_world()
    record = w.last(v.Record)
    assert (
        record.max_duration_s,
        record.max_silence_timeout_s,
        record.stop_tones,
        record.beep,
    ) == (60, 3, "#*", True)
    w.send(
        v.RecordingCompleted,
        call_id="call-1",
        command_id=record.command_id,
        recording_ref="rec-7",
        duration_ms=4250,
    )
    assert w.path(task_id)[-1] == ("vm", "recorded")
    (message,) = w.named("task.voice_message_recorded", task_id)
    assert (message["recording_ref"], message["duration_s"], message["mailbox"]) == (
        "rec-7",
        4.25,
        "service",
    )
    assert message["notify"] == [{"type": "email", "address": "desk@acme.test"}]
    assert w.task(task_id).custom_context == {"Recording": "rec-7"}


def test_an_empty_recording_is_no_recording_and_a_failed_one_an_error() -> None:
    w, task_id = _voicemail_world()
    record = w.last(v.Record)
    w.send(
        v.RecordingCompleted,
        call_id="call-1",
        command_id=record.command_id,
        recording_ref="",
        duration_ms=0,
    )
    assert w.path(task_id)[-1] == ("vm", "no_recording")
    w, task_id = _voicemail_world()
    record = w.last(v.Record)
    w.played(record, v.MediaStatus.FAILED)
    assert w.task(task_id).end_reason is EndReason.ERROR


def test_key_presses_during_a_notice_do_not_cut_it_short() -> None:
    w = world()
    w.publish(document(_menu(retries=1, invalid_prompt={"text": "Wrong key."})))
    task = w.call()
    w.keys("9")
    notice = w.last(v.PlayPrompt)
    w.send(v.Digit, call_id="call-1", digit="1", sequence=2, command_id=notice.command_id)
    assert w.engine.state.runs[task.id].wait.phase == "notice"  # type: ignore[union-attr]
    w.played(notice)
    assert w.engine.state.runs[task.id].wait.phase == "collect"  # type: ignore[union-attr]
