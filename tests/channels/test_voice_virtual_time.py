"""The engine's workflow and the voice simulator talking through the outbox, in virtual
time: every command the engine sends is one it journaled, every reaction comes back as
a provider event, and the caller's transcript shows what they heard and did."""

from __future__ import annotations

import voice_harness
from voice_harness import CALLER, MENU, WELCOME

from switchboard.domain import voice as v
from switchboard.domain.enums import EndReason, Presence, TaskState


class Line(voice_harness.Line):
    """The hotline's engine, the simulator, and the loop between them."""

    def __init__(self, seed: int = 11) -> None:
        super().__init__(seed=seed)

    def sent(self) -> list[str]:
        return [e.data["command"]["type"] for e in self.journal if e.name == "voice.command"]


def test_a_caller_walks_the_menu_to_an_agent_and_hangs_up() -> None:
    line = Line()
    line.engine.set_presence("anna", Presence.AVAILABLE)
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.settle()
    task_id = line.engine.state.calls[call.call_id]
    assert call.state == "established"  # the workflow's accept answered it
    line.voice.run(10)
    assert line.heard(call.call_id) == [
        WELCOME,
        MENU,
    ]
    line.sim.press(call.call_id, "1")
    line.voice.settle()
    task = line.engine.state.tasks[task_id]
    assert task.state is TaskState.OFFERED
    assert [o.user_id for o in task.offers.values()] == ["anna"]
    line.engine.accept("anna", task_id)
    line.voice.settle()
    assert line.engine.state.tasks[task_id].state is TaskState.CONNECTED
    line.voice.run(30)
    line.sim.caller_hang_up(call.call_id)
    line.voice.settle()
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.CUSTOMER_HANGUP
    assert line.voice.refused == []
    assert line.sent()[:3] == ["answer", "play_prompt", "collect_digits"]


def test_the_other_key_says_goodbye_and_switchboard_hangs_up() -> None:
    line = Line()
    call = line.sim.place_call(CALLER, "+41445550000")
    line.voice.run(10)
    line.sim.press(call.call_id, "2")
    line.voice.run(5)
    assert line.heard(call.call_id)[-1] == "Goodbye."
    assert (call.state, call.ended_by, call.end_reason) == (
        "ended",
        "system",
        v.CallEndReason.HUNG_UP,
    )
    task_id = line.engine.state.calls.get(call.call_id)
    assert task_id is None or line.engine.state.tasks.get(task_id) is None
    ended = [e for e in line.journal if e.name == "task.terminated"]
    assert [e.data["end_reason"] for e in ended] == [EndReason.WORKFLOW_DISCONNECT.value]


def test_silence_at_the_menu_takes_no_input_after_the_retries() -> None:
    line = Line()
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(120)
    assert not call.live
    assert line.heard(call.call_id)[-1] == "Goodbye."
    assert line.heard(call.call_id).count(MENU) == 3  # 2 retries


def test_a_call_to_nothing_known_is_rejected() -> None:
    line = Line()
    call = line.sim.place_call(CALLER, "nobody@acme.test")
    line.voice.settle()
    assert (call.state, call.end_reason) == ("ended", v.CallEndReason.FORBIDDEN)


def test_the_same_seed_replays_the_same_calls() -> None:
    def run() -> list[dict[str, object]]:
        line = Line(seed=5)
        call = line.sim.place_call(CALLER, "hotline@acme.test")
        line.voice.run(8)
        line.sim.press(call.call_id, "2")
        line.voice.run(5)
        return [dict(e.data, at=e.at, name=e.name) for e in line.journal]

    assert run() == run()
