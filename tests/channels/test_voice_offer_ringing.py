"""Offers of a call ring the agent's phone, in virtual time: the phone's answer accepts,
its decline declines, ringing out is one RONA (never two), a withdrawn offer stops the
ringing, and the agent's hang-up ends the call."""

from __future__ import annotations

from dataclasses import replace

import voice_harness
from voice_harness import CALLER

from switchboard.channels.voice.sim_world import Behaviour, Phone
from switchboard.domain import voice as v
from switchboard.domain.enums import EndReason, Presence, TaskKind, TaskState


class Line(voice_harness.Line):
    """The hotline's menu, with a caller who asks for an agent."""

    def queued_call(self) -> tuple[str, str]:
        """A caller presses 1 and is offered to Anna: (call id, task id)."""
        self.engine.set_presence("anna", Presence.AVAILABLE)
        call = self.sim.place_call(CALLER, "hotline@acme.test")
        self.voice.run(10)
        self.sim.press(call.call_id, "1")
        self.voice.settle()
        return call.call_id, self.engine.state.calls[call.call_id]


def test_an_offer_rings_the_agent_on_a_leg_named_after_the_offer() -> None:
    line = Line()
    call_id, task_id = line.queued_call()
    task = line.engine.state.tasks[task_id]
    assert task.state is TaskState.OFFERED
    (offer,) = task.offers.values()
    (ring,) = line.commands("ring_user")
    assert ring["leg_id"] == offer.id and ring["user_id"] == "anna"
    assert task.queue is not None and ring["timeout_s"] == task.queue.rona_timeout_s
    assert line.sim.find_leg("anna", call_id, ringing=True).leg_id == offer.id


def test_answering_the_phone_accepts_and_the_agents_hang_up_ends_the_call() -> None:
    line = Line()
    call_id, task_id = line.queued_call()
    line.sim.user_answer("anna", call_id)
    line.voice.settle()
    task = line.engine.state.tasks[task_id]
    assert task.state is TaskState.CONNECTED and task.connected_user_id == "anna"
    assert line.commands("cancel_ring") == []  # the answered leg stays
    line.voice.run(30)
    line.engine.hang_up("anna", task_id)
    line.voice.settle()
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.USER_ENDED
    assert [c["call_id"] for c in line.commands("hang_up")] == [call_id]
    assert line.sim.calls[call_id].state == "ended"
    # The provider's report of the end finds no task: refused, not a customer hang-up.
    assert [event.name for event, _ in line.voice.refused] == ["call_ended"]
    assert [e.data["end_reason"] for e in line.events("task.terminated")] == ["user_ended"]


def test_declining_on_the_phone_declines_the_offer() -> None:
    line = Line()
    call_id, task_id = line.queued_call()
    line.sim.user_decline("anna", call_id)
    line.voice.settle()
    (declined,) = line.events("task.declined")
    assert declined.data["user_id"] == "anna"
    assert line.events("task.rona") == []
    assert line.commands("cancel_ring") == []  # the leg is gone already
    assert line.engine.state.tasks[task_id].offers == {}


def test_a_phone_that_rings_out_is_one_rona_not_two() -> None:
    line = Line()
    line.sim.set_phone("anna", Phone(Behaviour.IGNORE))
    _, task_id = line.queued_call()
    first = line.engine.state.tasks[task_id].offers.copy()
    line.voice.run(25)
    ronas = line.events("task.rona")
    assert [e.data["offer_id"] for e in ronas] == list(first)
    assert first.keys().isdisjoint(line.engine.state.tasks[task_id].offers)


def test_accepting_in_the_client_bridges_the_ringing_leg_into_the_call() -> None:
    line = Line()
    call_id, task_id = line.queued_call()
    (offer_id,) = line.engine.state.tasks[task_id].offers
    line.engine.accept("anna", task_id)
    line.voice.settle()
    assert line.engine.state.tasks[task_id].state is TaskState.CONNECTED
    assert [c["leg_id"] for c in line.commands("bridge")] == [offer_id]
    assert line.commands("cancel_ring") == []
    assert line.said(call_id)[-2:] == ["answered", "bridged"]
    assert line.sim.find_leg("anna", call_id, ringing=False).leg_id == offer_id
    assert line.voice.refused == []


def test_a_caller_who_leaves_while_it_rings_stops_the_ringing() -> None:
    line = Line()
    call_id, task_id = line.queued_call()
    (offer_id,) = line.engine.state.tasks[task_id].offers
    line.sim.caller_hang_up(call_id)
    line.voice.settle()
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.CUSTOMER_HANGUP
    assert [c["leg_id"] for c in line.commands("cancel_ring")] == [offer_id]
    assert line.commands("hang_up") == []


def test_a_task_without_a_call_rings_no_phone() -> None:
    line = Line()
    service = line.engine.state.services["svc"]
    line.engine.upsert("service", replace(service, workflows={}))  # straight to the queue
    line.engine.set_presence("anna", Presence.AVAILABLE)
    task = line.engine.create_task(service_id="svc", kind=TaskKind.AUDIO_INBOUND)
    line.engine.commit()
    assert line.engine.state.tasks[task.id].state is TaskState.OFFERED
    line.engine.accept("anna", task.id)
    line.engine.hang_up("anna", task.id)
    line.engine.commit()
    assert [e for e in line.journal if e.name == "voice.command"] == []


def test_a_stale_leg_report_is_ignored() -> None:
    line = Line()
    call_id, task_id = line.queued_call()
    line.engine.accept("anna", task_id)
    line.voice.settle()
    line.engine.voice_event(
        v.LegEnded(
            tenant_id="t",
            provider_event_id="late",
            received_at=line.clock.now(),
            call_id=call_id,
            leg_id="no-such-leg",
            user_id="anna",
            reason=v.CallEndReason.DECLINED,
        )
    )
    assert line.events("task.declined") == []
    assert line.engine.state.tasks[task_id].state is TaskState.CONNECTED
