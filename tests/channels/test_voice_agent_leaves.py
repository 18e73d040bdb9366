"""An agent who leaves the call on their phone (`leg_ended(hung_up)` on the connected
leg) ends the task as a hang-up in the client does: `user_ended` (T36), the caller's
call is hung up, and after-call work follows when the service has it (A1)."""

from __future__ import annotations

from dataclasses import replace

from voice_harness import CALLER, Line

from switchboard.channels.voice.sim_world import Behaviour, Phone
from switchboard.domain.enums import EndReason, Presence, TaskState


def _talking(line: Line) -> tuple[str, str]:
    """A caller presses 1 and Anna answers on her phone: (call id, task id)."""
    line.engine.set_presence("anna", Presence.AVAILABLE)
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(10)
    line.sim.press(call.call_id, "1")
    line.voice.settle()
    task_id = line.engine.state.calls[call.call_id]
    line.sim.user_answer("anna", call.call_id)
    line.voice.settle()
    assert line.engine.state.tasks[task_id].state is TaskState.CONNECTED
    return call.call_id, task_id


def test_hanging_up_the_phone_ends_the_task_and_the_call() -> None:
    line = Line()
    call_id, task_id = _talking(line)
    line.voice.run(20)
    line.sim.user_hang_up("anna", call_id)
    line.voice.settle()
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.USER_ENDED
    assert [e.data["end_reason"] for e in line.events("task.terminated")] == ["user_ended"]
    assert [c["call_id"] for c in line.commands("hang_up")] == [call_id]
    call = line.sim.calls[call_id]
    assert (call.state, call.ended_by) == ("ended", "system")
    # The provider's report of the end it was asked for finds no task.
    assert [event.name for event, _ in line.voice.refused] == ["call_ended"]


def test_after_call_work_follows_when_the_service_has_it() -> None:
    line = Line()
    service = line.engine.state.services["svc"]
    line.engine.upsert(
        "service",
        replace(service, distribution=replace(service.distribution, acw_enabled=True)),
    )
    call_id, task_id = _talking(line)
    line.sim.user_hang_up("anna", call_id)
    line.voice.settle()
    (acw,) = line.events("user.acw_started")
    assert (acw.data["user_id"], acw.data["task_id"]) == ("anna", task_id)
    assert line.engine.state.live["anna"].acw is not None


def test_a_scripted_phone_that_talks_then_hangs_up_ends_the_task() -> None:
    line = Line()
    line.sim.set_phone("anna", Phone(Behaviour.ANSWER, after_s=2, talk_s=45))
    line.engine.set_presence("anna", Presence.AVAILABLE)
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(10)
    line.sim.press(call.call_id, "1")
    line.voice.run(3)
    task_id = line.engine.state.calls[call.call_id]
    assert line.engine.state.tasks[task_id].connected_user_id == "anna"
    line.voice.run(60)
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.USER_ENDED
    assert ended.terminated_at == line.events("task.connected")[0].at + 45


def test_a_leg_that_ends_on_another_call_changes_nothing() -> None:
    line = Line()
    call_id, task_id = _talking(line)
    other = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(10)
    line.sim.caller_hang_up(other.call_id)  # that caller never reached Anna
    line.voice.settle()
    assert line.engine.state.tasks[task_id].state is TaskState.CONNECTED
    assert line.sim.calls[call_id].live
