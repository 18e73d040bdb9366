"""Runtime rules of 04 §4: the version a session runs (RT1), the customer hanging up at
any point (RT2), failures (RT6), the loop guard (RT7), the diagnosis showing the
current node (RT5), calls the engine cannot place, and a crash in the middle of an
IVR: the journal puts the run back at the same node with the same pending timer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from workflow_harness import SERVICE, api_task, document, world

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import EndReason, Presence, TaskState
from switchboard.domain.errors import DomainError
from switchboard.domain.workflow import WorkflowStatus
from switchboard.domain.workflow.runtime import LOOP_LIMIT
from switchboard.engine.engine import Engine
from switchboard.engine.explain import explain
from switchboard.store.journal import SqliteJournal
from workflow_nodes import node

BYE = node("bye", "disconnect")
MENU = node(
    "menu",
    "input_customer",
    {"option_1": "q", "option_2": "bye", "invalid": "bye", "no_input": "bye"},
    prompt={"text": "Press 1 for sales."},
    options=["1", "2"],
    retries=2,
    invalid_prompt={"text": "Sorry, that key is not in the menu."},
)
QUEUE = node("q", "queue", {"timeout": "bye", "no_users": "bye", "full": "bye"})


def test_a_session_keeps_the_version_it_started_with() -> None:
    w = world()
    w.publish(document([node("hi", "announcement", {"next": "bye"}, prompt={"text": "One"}), BYE]))
    first = w.call("call-1")
    w.engine.upsert(
        "workflow",
        document([node("hi", "announcement", {"next": "bye"}, prompt={"text": "Two"}), BYE]),
    )
    w.engine.publish_workflow("wf")
    w.commit()
    second = w.call("call-2")
    assert w.engine.state.runs[first.id].workflow.version == 1
    assert w.engine.state.runs[second.id].workflow.version == 2
    plays = [c for c in w.commands if isinstance(c, v.PlayPrompt)]
    assert [p.prompts[0].tts for p in plays] == ["One", "Two"]
    w.played(plays[0])
    assert w.task(first.id).end_reason is EndReason.WORKFLOW_DISCONNECT


@pytest.mark.parametrize("where", ["menu", "notice", "queue"])
def test_the_customer_may_hang_up_anywhere(where: str) -> None:
    w = world()
    w.publish(document([MENU, QUEUE, BYE]))
    task = w.call()
    if where in ("notice", "queue"):
        w.keys("9" if where == "notice" else "1")
    sent = len(w.commands)
    w.hang_up()
    live = w.task(task.id)
    assert live.end_reason is EndReason.CUSTOMER_HANGUP
    assert w.ended(task.id) == {
        "task_id": task.id,
        "node_id": "menu" if where != "queue" else "q",
        "reason": "task_ended",
        "error": "customer_hangup",
    }
    assert len(w.commands) == sent  # nothing more is said to a call that is gone
    assert "call-1" not in w.engine.state.calls
    with pytest.raises(DomainError) as late:
        w.send(v.MediaCompleted, call_id="call-1", command_id="x", status=v.MediaStatus.CANCELLED)
    assert late.value.code == "unknown_call"


def test_ending_a_task_over_the_api_hangs_up_its_call() -> None:
    w = world()
    w.publish(document([MENU, QUEUE, BYE]))
    task = w.call()
    w.engine.cancel_task(task.id)
    w.commit()
    assert isinstance(w.commands[-1], v.HangUp)
    assert w.ended(task.id)["error"] == "cancelled"


def test_the_loop_guard_ends_an_endless_session() -> None:
    """RT7 as defence in depth: a loop without a waiting activity (V12 refuses it),
    loaded as known-good."""
    w = world()
    looping = document(
        [
            node("a", "set_parameter", {"next": "b"}, parameter_id="N", value="a"),
            node("b", "set_parameter", {"next": "a"}, parameter_id="N", value="b"),
        ]
    )
    w.engine.upsert("parameter", cfg.CustomParameter(id="N", name="N"))
    w.engine.upsert("workflow", replace(looping, status=WorkflowStatus.PUBLISHED), validate=False)
    w.engine.upsert(
        "service", replace(w.engine.state.services[SERVICE], workflows={"audio_inbound": "wf"})
    )
    task = api_task(w)
    live = w.task(task.id)
    assert (live.end_reason, live.end_detail) == (EndReason.ERROR, "loop_guard")
    assert len(w.named("workflow.node_entered", task.id)) == LOOP_LIMIT


def test_calls_to_nobody_are_rejected_and_rejected_tasks_reject_their_call() -> None:
    w = world()
    w.send(
        v.IncomingCall,
        call_id="c1",
        to="nobody@acme.test",
        caller=v.Party(kind=v.PartyKind.ANONYMOUS),
    )
    reject = w.last(v.Reject)
    assert (reject.call_id, reject.reason) == ("c1", v.RejectReason.FORBIDDEN)
    assert w.engine.state.tasks == {}
    w.engine.upsert("service", replace(w.engine.state.services[SERVICE], enabled=False))
    w.send(
        v.IncomingCall,
        call_id="c2",
        to="HOTLINE@acme.test",
        caller=v.Party(kind=v.PartyKind.ANONYMOUS),
    )
    assert w.last(v.Reject).call_id == "c2"
    (created,) = w.named("task.created")
    assert w.task(created["task_id"]).end_detail == "service_disabled"


def test_a_call_to_a_blank_address_is_rejected_even_where_a_service_has_no_number() -> None:
    w = world()
    w.engine.upsert("service", replace(w.engine.state.services[SERVICE], pstn_number=None))
    w.send(v.IncomingCall, call_id="c1", to="  ", caller=v.Party(kind=v.PartyKind.ANONYMOUS))
    assert w.last(v.Reject).reason is v.RejectReason.FORBIDDEN
    assert w.engine.state.tasks == {}


def test_an_incoming_call_told_twice_makes_one_task() -> None:
    w = world()
    w.publish(document([MENU, QUEUE, BYE]))
    w.call()
    w.send(v.IncomingCall, call_id="call-1", to=SERVICE, caller=v.Party(kind=v.PartyKind.ANONYMOUS))
    assert len(w.named("task.created")) == 1


def test_the_diagnosis_shows_the_current_node() -> None:
    w = world()
    w.publish(document([MENU, QUEUE, BYE]))
    task = w.call()
    w.keys("9")
    diagnosis = explain(w.engine, task.id).as_dict()
    assert diagnosis["verdict"] == "in_workflow"
    assert "menu" in diagnosis["message"]
    flow = diagnosis["workflow"]
    assert (flow["workflow_id"], flow["version"], flow["node_id"], flow["activity"]) == (
        "wf",
        1,
        "menu",
        "input_customer",
    )
    assert flow["waiting_for"] == "notice" and flow["attempt"] == 1
    assert flow["trail"] == [
        {"node_id": "start", "exit": "next"},
        {"node_id": "acc", "exit": "next"},
    ]
    w.played(w.last(v.PlayPrompt))
    w.keys("1")
    queued = explain(w.engine, task.id).as_dict()
    assert queued["verdict"] == "no_member_online"
    assert queued["workflow"]["node_id"] == "q" and queued["workflow"]["waiting_for"] == "queued"


# ---------------------------------------------------------------------- crash and resume


def test_a_crash_mid_menu_resumes_at_the_same_node(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "journal.sqlite", tenant_id="t")
    w = world(journal=journal)
    w.publish(document([MENU, QUEUE, BYE]))
    task = w.call()
    w.keys("7")  # invalid: the notice plays, then the menu again
    notice = w.last(v.PlayPrompt)
    before = w.engine.state.runs[task.id]
    w.keys("")  # this report never reaches the journal: the engine dies first
    w.engine._uncommitted.clear()

    engine = w.crash_and_restore(journal)
    run = engine.state.runs[task.id]
    assert repr(run) == repr(before)  # same node, same wait, same attempt, same trail
    assert (
        run.node_id,
        run.wait.phase if run.wait else None,
        run.wait.attempt if run.wait else None,
    ) == (
        "menu",
        "notice",
        1,
    )
    assert engine.state.calls == {"call-1": task.id}
    w.played(notice)  # the provider reports the notice (again): the menu is asked anew
    w.keys("1")
    assert w.path(task.id)[-1] == ("menu", "option_1")
    assert w.task(task.id).state is TaskState.QUEUED
    w.set_presence("anna", Presence.AVAILABLE)
    w.engine.accept("anna", task.id)
    w.commit()
    assert w.task(task.id).state is TaskState.CONNECTED
    # The journal alone rebuilds exactly the engine that ran on.
    again = Engine.restore(w.engine.state.tenant, w.clock, journal.read())
    assert repr(again.state.tasks[task.id]) == repr(w.engine.state.tasks[task.id])
    assert again.state.runs == {}


def test_a_pending_timer_fires_at_the_same_instant_after_a_restore(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "journal.sqlite", tenant_id="t")
    w = world(journal=journal)
    w.engine.upsert("parameter", cfg.CustomParameter(id="Status", name="Status"))
    w.publish(
        document(
            [
                node(
                    "wait",
                    "wait_for_parameter",
                    {"updated": "bye", "timeout": "bye"},
                    parameter_id="Status",
                    timeout_s=60,
                ),
                BYE,
            ]
        )
    )
    task = api_task(w)
    entered = w.clock.now()
    w.advance(20)
    engine = w.crash_and_restore(journal)
    w.clock.advance(5)  # the restart took a while
    assert engine.next_deadline() is not None
    w.advance(34.9)
    assert w.task(task.id).state is TaskState.IN_WORKFLOW
    w.advance(0.1)
    (completed,) = [
        d for d in w.named("workflow.node_completed", task.id) if d["node_id"] == "wait"
    ]
    assert completed["exit"] == "timeout"
    assert completed["completed_at"] == entered + 60
