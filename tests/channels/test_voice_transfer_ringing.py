"""A workflow's transfer to a user rings the target's phone like a queue offer does: the
phone's answer connects (T34), a decline or ringing out takes the `failed` exit once,
accepting in the client bridges the ringing leg; before the call is answered the
transfer redirects it instead (04 §3, P column)."""

from __future__ import annotations

from voice_harness import CALLER, Line

from switchboard.channels.voice.sim_world import Behaviour, Phone
from switchboard.domain.enums import EndReason, OfferKind, TaskState
from workflow_nodes import node

SORRY = "Nobody could take your call."


def _line(*, before_accept: bool = False) -> Line:
    transfer = node(
        "xfer", "transfer", {"failed": "bye" if before_accept else "sorry"},
        target_type="user", target="anna", ring_timeout_s=15,
    )  # fmt: skip
    bye = node("bye", "disconnect")
    if before_accept:
        return Line([transfer, bye])
    sorry = node("sorry", "announcement", {"next": "bye"}, prompt={"text": SORRY})
    return Line([node("acc", "accept", {"next": "xfer"}), transfer, sorry, bye])


def _transferring(line: Line) -> tuple[str, str]:
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(1)
    (created,) = line.events("task.created")
    assert created.data["call_id"] == call.call_id
    return call.call_id, created.data["task_id"]


def _failures(line: Line, task_id: str) -> list[str | None]:
    return [
        e.data["error"]
        for e in line.events("workflow.node_completed")
        if e.data["task_id"] == task_id and e.data["node_id"] == "xfer"
    ]


def test_the_transfer_rings_the_target_on_a_leg_named_after_the_offer() -> None:
    line = _line()
    call_id, task_id = _transferring(line)
    task = line.engine.state.tasks[task_id]
    (offer,) = task.offers.values()
    assert offer.kind is OfferKind.TRANSFER and task.state is TaskState.OFFERED
    (ring,) = line.commands("ring_user")
    assert (ring["leg_id"], ring["user_id"], ring["mode"], ring["timeout_s"]) == (
        offer.id,
        "anna",
        "conference",
        15,
    )
    assert line.sim.find_leg("anna", call_id, ringing=True).leg_id == offer.id
    line.sim.user_answer("anna", call_id)
    line.voice.settle()
    connected = line.engine.state.tasks[task_id]
    assert connected.state is TaskState.CONNECTED and connected.connected_user_id == "anna"
    assert [e.data["reason"] for e in line.events("workflow.ended")] == ["handed_over"]
    assert line.commands("cancel_ring") == [] and line.voice.refused == []


def test_declining_on_the_phone_takes_the_failed_exit() -> None:
    line = _line()
    call_id, task_id = _transferring(line)
    line.sim.user_decline("anna", call_id)
    line.voice.run(10)
    assert _failures(line, task_id) == ["declined"]
    assert line.heard(call_id) == [SORRY]
    assert line.commands("cancel_ring") == []  # the phone's leg is gone already


def test_a_phone_that_rings_out_fails_the_transfer_once() -> None:
    line = _line()
    line.sim.set_phone("anna", Phone(Behaviour.IGNORE))
    call_id, task_id = _transferring(line)
    line.voice.run(30)
    assert _failures(line, task_id) == ["no_answer"]
    assert line.events("task.rona") == []  # no RONA for transfer offers (R3)
    assert line.sim.calls[call_id].state == "ended"  # sorry, then the disconnect
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.WORKFLOW_DISCONNECT


def test_accepting_in_the_client_bridges_the_ringing_leg() -> None:
    line = _line()
    call_id, task_id = _transferring(line)
    (offer_id,) = line.engine.state.tasks[task_id].offers
    line.engine.accept("anna", task_id)
    line.voice.settle()
    assert [c["leg_id"] for c in line.commands("bridge")] == [offer_id]
    assert line.sim.find_leg("anna", call_id, ringing=False).leg_id == offer_id
    assert line.said(call_id)[-2:] == ["answered", "bridged"]


def test_a_caller_who_leaves_stops_the_transfer_ringing() -> None:
    line = _line()
    call_id, task_id = _transferring(line)
    (offer_id,) = line.engine.state.tasks[task_id].offers
    line.sim.caller_hang_up(call_id)
    line.voice.settle()
    assert [c["leg_id"] for c in line.commands("cancel_ring")] == [offer_id]
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.CUSTOMER_HANGUP


def test_before_accept_the_unanswered_call_is_redirected_to_the_user() -> None:
    line = _line(before_accept=True)
    call_id, task_id = _transferring(line)
    (redirect,) = line.commands("redirect")
    assert redirect["targets"] == [{"type": "user", "value": "anna"}]
    assert line.commands("ring_user") == [] and line.commands("answer") == []
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.TRANSFERRED_OUT
    assert line.sim.calls[call_id].end_reason == "redirected"
