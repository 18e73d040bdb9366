"""A provider that reports an incoming call again (a re-delivered notification) never
makes a second task of it: while the task lives the report is a no-op, after it ended it
is refused as `call_ended` — also after a restart from the journal."""

from __future__ import annotations

import pytest
from voice_harness import CALLER, Line

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import TaskKind
from switchboard.domain.errors import Refused
from switchboard.engine.engine import Engine


def _again(line: Line, call_id: str, event_id: str = "again") -> v.IncomingCall:
    return v.IncomingCall(
        tenant_id="t",
        provider_event_id=event_id,
        received_at=line.clock.now(),
        call_id=call_id,
        to="hotline@acme.test",
        caller=CALLER,
    )


def _ended_call(line: Line) -> str:
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(5)
    line.sim.caller_hang_up(call.call_id)
    line.voice.settle()
    assert call.call_id not in line.engine.state.calls
    return call.call_id


def test_a_live_call_reported_again_is_the_same_task() -> None:
    line = Line()
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(2)
    line.engine.voice_event(_again(line, call.call_id))
    line.engine.commit()
    assert len(line.events("task.created")) == 1


def test_an_ended_call_reported_again_is_refused_not_a_second_task() -> None:
    line = Line()
    call_id = _ended_call(line)
    with pytest.raises(Refused) as refused:
        line.engine.voice_event(_again(line, call_id))
    assert refused.value.code == "call_ended"
    line.engine.commit()
    assert len(line.events("task.created")) == 1
    with pytest.raises(Refused) as taken:
        line.engine.create_task(service_id="svc", kind=TaskKind.AUDIO_INBOUND, call_id=call_id)
    assert taken.value.code == "not_unique"


def test_the_call_is_recognised_after_a_restart_from_the_journal() -> None:
    line = Line()
    call_id = _ended_call(line)
    restored = Engine.restore(cfg.Tenant(id="t", name="T"), line.clock, line.journal)
    assert restored.state.ended_calls == {call_id: line.events("task.created")[0].data["task_id"]}
    with pytest.raises(Refused):
        restored.voice_event(_again(line, call_id))
    assert restored.uncommitted == 0


def test_the_memory_of_ended_calls_is_as_long_as_that_of_ended_tasks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("switchboard.engine.state.ENDED_TASKS_KEPT", 2)
    line = Line()
    calls = [_ended_call(line) for _ in range(3)]
    assert list(line.engine.state.ended_calls) == calls[1:]
    line.engine.voice_event(_again(line, calls[0]))  # forgotten: a new call to Switchboard
    line.engine.commit()
    assert len(line.events("task.created")) == 4
