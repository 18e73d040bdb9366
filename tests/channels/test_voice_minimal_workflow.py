"""A call to a service without a workflow runs the built-in one (accept, queue): its
accept answers the call, so the agent's phone can be rung into it and the caller is not
left ringing until the network gives up."""

from __future__ import annotations

from dataclasses import replace

from voice_harness import CALLER, Line

from switchboard.domain.enums import Presence, TaskState


def test_the_built_in_workflow_answers_the_call_and_rings_the_agent() -> None:
    line = Line()
    service = line.engine.state.services["svc"]
    line.engine.upsert("service", replace(service, workflows={}))
    line.engine.set_presence("anna", Presence.AVAILABLE)
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.settle()
    assert call.state == "established"
    assert [c["call_id"] for c in line.commands("answer")] == [call.call_id]
    task_id = line.engine.state.calls[call.call_id]
    assert line.engine.state.tasks[task_id].state is TaskState.OFFERED
    line.sim.user_answer("anna", call.call_id)
    line.voice.run(20)  # past the 15 s a ringing call is given by the network
    assert line.engine.state.tasks[task_id].connected_user_id == "anna"
    assert call.live and line.voice.refused == []
