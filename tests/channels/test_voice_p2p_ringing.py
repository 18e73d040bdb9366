"""`direct` distribution rings the agent peer-to-peer and bridges the answered leg into
the caller's call (03 D3, 11 §7); `direct_conference` invites straight into the call and
bridges nothing on answer."""

from __future__ import annotations

from voice_harness import CALLER, Line

from switchboard.domain.enums import Presence, TaskState
from workflow_nodes import node


def _line(distribution: str) -> Line:
    return Line(
        [
            node("acc", "accept", {"next": "q"}),
            node(
                "q", "queue", {"timeout": "bye", "no_users": "bye", "full": "bye"},
                distribution_type=distribution,
            ),
            node("bye", "disconnect"),
        ]
    )  # fmt: skip


def _offered(line: Line) -> tuple[str, str, str]:
    """A call queues and is offered to Anna: (call id, task id, offer id)."""
    line.engine.set_presence("anna", Presence.AVAILABLE)
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.run(1)
    task_id = line.engine.state.calls[call.call_id]
    (offer_id,) = line.engine.state.tasks[task_id].offers
    return call.call_id, task_id, offer_id


def test_direct_rings_p2p_and_bridges_the_leg_once_answered() -> None:
    line = _line("direct")
    call_id, task_id, offer_id = _offered(line)
    (ring,) = line.commands("ring_user")
    assert (ring["mode"], ring["leg_id"]) == ("p2p", offer_id)
    leg = line.sim.find_leg("anna", call_id, ringing=True)
    assert line.commands("bridge") == [] and not leg.bridged
    line.sim.user_answer("anna", call_id)
    line.voice.settle()
    task = line.engine.state.tasks[task_id]
    assert task.state is TaskState.CONNECTED and task.connected_user_id == "anna"
    assert [(c["call_id"], c["leg_id"]) for c in line.commands("bridge")] == [(call_id, offer_id)]
    assert leg.bridged and line.said(call_id)[-2:] == ["answered", "bridged"]
    assert line.voice.refused == []


def test_direct_accepted_in_the_client_bridges_the_ringing_p2p_leg() -> None:
    line = _line("direct")
    call_id, task_id, offer_id = _offered(line)
    line.engine.accept("anna", task_id)
    line.voice.settle()
    assert [c["leg_id"] for c in line.commands("bridge")] == [offer_id]
    leg = line.sim.find_leg("anna", call_id, ringing=False)
    assert leg.leg_id == offer_id and leg.bridged
    # The provider reports the leg answered as the client took it: the offer is closed.
    assert line.engine.state.tasks[task_id].connected_user_id == "anna"
    assert line.voice.refused == []


def test_direct_conference_invites_into_the_call_without_a_bridge() -> None:
    line = _line("direct_conference")
    call_id, task_id, _ = _offered(line)
    (ring,) = line.commands("ring_user")
    assert ring["mode"] == "conference"
    line.sim.user_answer("anna", call_id)
    line.voice.settle()
    assert line.engine.state.tasks[task_id].state is TaskState.CONNECTED
    assert line.commands("bridge") == []
