"""Workflows and the queue: queue (every exit, waiting prompts, RT3), queue_task with
check_task and cancel_task, V6 at run time, and wait_for_parameter."""

from __future__ import annotations

from dataclasses import replace

from workflow_harness import SERVICE, World, api_task, document, world

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import (
    DistributionType,
    EndReason,
    Presence,
    Priority,
    TaskState,
    UserOrdering,
)
from switchboard.domain.workflow import WorkflowStatus
from workflow_nodes import node

BYE = node("bye", "disconnect")
SORRY = node("sorry", "announcement", {"next": "bye"}, prompt={"text": "Sorry."})
QUEUE_EXITS = {"timeout": "sorry", "no_users": "sorry", "full": "sorry"}


def _queue_world(**settings: object) -> World:
    w = world()
    w.publish(document([node("q", "queue", QUEUE_EXITS, **settings), SORRY, BYE]))
    return w


def test_the_queue_node_queues_with_its_settings() -> None:
    w = _queue_world(
        distribution_type="direct",
        priority="high",
        rona_timeout_s=9,
        max_queue_time_s=60,
        user_ordering="round_robin",
    )
    task = api_task(w)
    live = w.task(task.id)
    assert live.state is TaskState.QUEUED and live.priority is Priority.HIGH
    assert live.queue is not None
    assert (
        live.queue.distribution_type,
        live.queue.rona_timeout_s,
        live.queue.max_queue_time_s,
        live.queue.user_ordering,
    ) == (DistributionType.DIRECT, 9, 60, UserOrdering.ROUND_ROBIN)
    w.set_presence("anna", Presence.AVAILABLE)
    (offer,) = live.offers.values()
    assert offer.expires_at == w.clock.now() + 9


def test_a_queue_timeout_continues_the_workflow() -> None:
    w = _queue_world(max_queue_time_s=30)
    task = api_task(w)
    w.advance(29)
    assert w.task(task.id).state is TaskState.QUEUED
    w.advance(1)
    assert w.path(task.id)[-1] == ("q", "timeout")
    assert w.named("task.queue_exited", task.id)[0]["reason"] == "timeout"
    w.advance(2)  # the apology, to nobody
    assert w.path(task.id)[-1] == ("sorry", "next")
    assert w.task(task.id).end_reason is EndReason.WORKFLOW_DISCONNECT


def test_no_users_exits_at_once_and_when_the_last_member_leaves() -> None:
    w = _queue_world(exit_when_no_users=True)
    first = api_task(w)
    assert ("q", "no_users") in w.path(first.id)
    w.set_presence("anna", Presence.AVAILABLE)  # online: the next task queues
    second = api_task(w)
    w.engine.accept("anna", second.id)
    third = api_task(w)
    assert w.task(third.id).state is TaskState.QUEUED
    w.set_presence("anna", Presence.OFFLINE)
    assert ("q", "no_users") in w.path(third.id)
    w.advance(2)
    assert w.task(third.id).end_reason is EndReason.WORKFLOW_DISCONNECT


def test_a_full_queue_takes_the_full_exit() -> None:
    w = world()
    service = w.engine.state.services[SERVICE]
    w.engine.upsert(
        "service", replace(service, distribution=replace(service.distribution, max_queue_size=1))
    )
    w.publish(document([node("q", "queue", QUEUE_EXITS), SORRY, BYE]))
    first = api_task(w)
    second = api_task(w)
    assert w.task(first.id).state is TaskState.QUEUED
    assert ("q", "full") in w.path(second.id)
    assert w.engine.state.waiting_counts[SERVICE] == 1  # a refused entry is not counted


def test_waiting_prompts_loop_and_stop_when_a_user_accepts() -> None:
    w = _queue_world(waiting_prompts=[{"text": "Please hold."}, {"text": "Still there?"}])
    task = w.call()
    loop = w.last(v.PlayPrompt)
    assert loop.loop and [p.tts for p in loop.prompts] == ["Please hold.", "Still there?"]
    w.set_presence("anna", Presence.AVAILABLE)
    w.engine.accept("anna", task.id)
    w.commit()
    cancel = w.commands[-1]
    assert isinstance(cancel, v.CancelMedia) and cancel.call_id == "call-1"
    assert w.ended(task.id)["reason"] == "handed_over"
    assert w.task(task.id).state is TaskState.CONNECTED
    assert task.id not in w.engine.state.runs


def test_a_queue_exit_stops_the_waiting_prompts() -> None:
    w = _queue_world(waiting_prompts=[{"text": "Please hold."}], max_queue_time_s=10)
    task = w.call()
    w.advance(10)
    assert [type(c).__name__ for c in w.commands[-2:]] == ["CancelMedia", "PlayPrompt"]
    assert ("q", "timeout") in w.path(task.id)


def test_a_second_queue_entry_in_one_session_takes_full() -> None:
    """V6 at run time: a document the validator would refuse, loaded as known-good."""
    w = world()
    doc = document(
        [
            node("q1", "queue_task", {"next": "q2", "full": "bye"}),
            node("q2", "queue", {"timeout": "bye", "no_users": "bye", "full": "bye"}),
            BYE,
        ]
    )
    w.engine.upsert("workflow", replace(doc, status=WorkflowStatus.PUBLISHED), validate=False)
    w.engine.upsert(
        "service", replace(w.engine.state.services[SERVICE], workflows={"audio_inbound": "wf"})
    )
    task = api_task(w)
    assert ("q2", "full") in w.path(task.id)
    assert "queue_more_than_once" in w.warnings(task.id)


MUSIC_LOOP = [
    node("q", "queue_task", {"next": "music", "full": "vm"}, max_queue_time_s=30),
    node("music", "announcement", {"next": "check"}, prompt={"text": "Music"}),
    node("check", "check_task", {"waiting": "music", "timeout": "vm", "no_users": "vm"}),
    node(
        "vm", "voice_message", {"recorded": "bye", "no_recording": "bye"}, prompt={"text": "Tone."}
    ),
    BYE,
]


def test_queue_task_loops_music_until_the_queue_gives_up() -> None:
    w = world()
    w.publish(document(MUSIC_LOOP))
    task = w.call()
    for _ in range(3):
        assert w.task(task.id).state is TaskState.QUEUED
        w.clock.advance(9)
        w.played(w.last(v.PlayPrompt))
    assert w.path(task.id)[-2:] == [("music", "next"), ("check", "waiting")]
    w.advance(3)  # the queue times out while music plays
    assert w.task(task.id).state is TaskState.IN_WORKFLOW
    w.played(w.last(v.PlayPrompt))
    assert w.path(task.id)[-1] == ("check", "timeout")
    assert isinstance(w.commands[-1], v.Record)


def test_acceptance_during_queue_task_stops_the_music() -> None:
    w = world()
    w.publish(document(MUSIC_LOOP))
    task = w.call()
    music = w.last(v.PlayPrompt)
    w.set_presence("anna", Presence.AVAILABLE)
    w.engine.accept("anna", task.id)
    w.commit()
    assert isinstance(w.commands[-1], v.CancelMedia)
    assert w.ended(task.id)["node_id"] == "music"
    w.played(music, v.MediaStatus.CANCELLED)  # the late report changes nothing
    assert w.task(task.id).state is TaskState.CONNECTED


def test_voice_message_after_queue_task_leaves_the_queue_first() -> None:
    """RT9: the task must not be offered to a user while it records a message."""
    w = world()
    w.publish(
        document(
            [
                node("q", "queue_task", {"next": "vm", "full": "bye"}),
                node(
                    "vm",
                    "voice_message",
                    {"recorded": "bye", "no_recording": "bye"},
                    prompt={"text": "Tone."},
                ),
                BYE,
            ]
        )
    )
    task = w.call()
    assert w.task(task.id).state is TaskState.IN_WORKFLOW
    assert w.named("task.queue_exited", task.id)[0]["reason"] == "cancelled"
    w.set_presence("anna", Presence.AVAILABLE)
    assert not w.task(task.id).offers


def test_cancel_task_takes_the_task_out_and_withdraws_its_offer() -> None:
    w = world()
    w.publish(
        document(
            [
                node("q", "queue_task", {"next": "wait", "full": "bye"}),
                node("wait", "announcement", {"next": "cancel"}, prompt={"text": "One moment."}),
                node("cancel", "cancel_task", {"next": "bye"}),
                BYE,
            ]
        )
    )
    task = w.call()
    w.set_presence("anna", Presence.AVAILABLE)
    assert w.task(task.id).state is TaskState.OFFERED
    w.played(w.last(v.PlayPrompt))
    withdrawn = w.named("task.offer_withdrawn", task.id)
    assert [d["reason"] for d in withdrawn] == ["left_queue"]
    assert w.path(task.id)[-1] == ("cancel", "next")
    assert w.task(task.id).end_reason is EndReason.WORKFLOW_DISCONNECT


def test_check_task_reports_no_users() -> None:
    w = world()
    w.publish(
        document(
            [
                node("q", "queue_task", {"next": "check", "full": "bye"}, exit_when_no_users=True),
                node(
                    "check", "check_task", {"waiting": "bye", "timeout": "bye", "no_users": "bye"}
                ),
                BYE,
            ]
        )
    )
    task = api_task(w)
    assert w.path(task.id)[-2:] == [("q", "next"), ("check", "no_users")]


def _parameter_world(**settings: object) -> World:
    w = world()
    w.engine.upsert(
        "parameter", cfg.CustomParameter(id="Status", name="Status", default_value="new")
    )
    w.publish(
        document(
            [
                node(
                    "wait",
                    "wait_for_parameter",
                    {"updated": "bye", "timeout": "bye"},
                    parameter_id="Status",
                    **settings,
                ),
                BYE,
            ]
        )
    )
    return w


def test_wait_for_parameter_sees_a_change_from_outside() -> None:
    w = _parameter_world(timeout_s=30)
    task = api_task(w)
    w.advance(10)
    w.engine.set_task_parameter(task.id, "Status", "approved")
    w.commit()
    assert w.path(task.id)[-1] == ("wait", "updated")


def test_wait_for_parameter_equals_waits_for_the_value_or_times_out() -> None:
    w = _parameter_world(condition="equals", value="done", timeout_s=30)
    task = api_task(w)
    w.engine.set_task_parameter(task.id, "Status", "busy")
    w.commit()
    assert w.task(task.id).state is TaskState.IN_WORKFLOW
    w.advance(30)
    assert w.path(task.id)[-1] == ("wait", "timeout")
    done = api_task(w, custom_context={"Status": "done"})
    assert w.path(done.id)[-1] == ("wait", "updated")  # already equal on entry


def test_queue_task_takes_full_when_the_queue_is_full() -> None:
    w = world()
    service = w.engine.state.services[SERVICE]
    w.engine.upsert(
        "service", replace(service, distribution=replace(service.distribution, max_queue_size=1))
    )
    w.publish(document(MUSIC_LOOP))
    first = api_task(w)
    second = api_task(w)
    assert w.task(first.id).state is TaskState.QUEUED
    assert ("q", "full") in w.path(second.id)
    w.advance(5)  # the silence timeout: no call, nothing recorded
    assert ("vm", "no_recording") in w.path(second.id)
