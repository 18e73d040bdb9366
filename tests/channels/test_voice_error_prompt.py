"""04 RT6's tenant-wide error prompt: when a workflow fails at run time the caller hears
the tenant's error announcement, then Switchboard hangs up and the task ends `error`,
all of it journaled. Without a prompt, a call that is not up, or a prompt that fails
itself, the call is hung up at once; a prompt that will not end is cut off."""

from __future__ import annotations

from dataclasses import replace

from voice_harness import CALLER, WELCOME, Line

from switchboard.channels.voice.sim_world import Failure
from switchboard.domain import config as cfg
from switchboard.domain.enums import EndReason
from switchboard.engine.workflows import ERROR_PROMPT_LIMIT_S

SORRY = "Sorry, something went wrong. Please call again."


def _line(prompt: cfg.ErrorPrompt | None) -> Line:
    line = Line()
    tenant = line.engine.state.tenant
    line.engine.upsert(
        "tenant", replace(tenant, settings=replace(tenant.settings, error_prompt=prompt))
    )
    line.engine.commit()
    return line


def _failing_menu(line: Line, *also: Failure) -> tuple[str, str]:
    """A call whose menu cannot be asked (the provider refuses collect_digits)."""
    call = line.sim.place_call(CALLER, "hotline@acme.test")
    line.voice.settle()  # answered; the welcome plays
    line.sim.inject(Failure("collect_digits", "provider_error", call_id=call.call_id))
    for failure in also:
        line.sim.inject(failure)
    task_id = line.engine.state.calls[call.call_id]
    return call.call_id, task_id


def _commands(line: Line) -> list[str]:
    return [str(e.data["command"]["type"]) for e in line.events("voice.command")]


def test_the_caller_hears_the_error_prompt_before_the_call_ends() -> None:
    line = _line(cfg.ErrorPrompt(text=SORRY, language="en-GB"))
    call_id, task_id = _failing_menu(line)
    line.voice.run(3)  # the welcome (2.5 s), then the menu fails and the error prompt starts
    assert line.heard(call_id) == [WELCOME, SORRY]
    assert line.sim.calls[call_id].live  # it is still being said
    (waiting,) = [
        e.data["wait"]
        for e in line.events("workflow.node_waiting")
        if e.data["wait"]["phase"] == "error_prompt"
    ]
    assert (waiting["memo"], waiting["command_id"]) == (
        "media_failed",
        line.commands("play_prompt")[-1]["command_id"],
    )
    (last,) = line.events("voice.command")[-1:]
    assert last.data["command"]["prompts"][0]["language"] == "en-GB"
    line.voice.run(10)
    call = line.sim.calls[call_id]
    assert (call.state, call.ended_by) == ("ended", "system")
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.ERROR
    assert ended.end_detail == "media_failed"
    assert _commands(line)[-2:] == ["play_prompt", "hang_up"]
    assert [e.data["reason"] for e in line.events("workflow.ended")] == ["failed"]
    # Hung up once the prompt had been said: its words at 0.5 s each after it began.
    began = line.events("workflow.node_waiting")[-1].at
    assert call.ended_at == began + 0.5 * len(SORRY.split())


def test_without_an_error_prompt_the_call_is_hung_up_at_once() -> None:
    line = _line(None)
    call_id, task_id = _failing_menu(line)
    line.voice.run(8)
    assert line.heard(call_id) == [WELCOME]
    assert line.sim.calls[call_id].state == "ended"
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.ERROR
    assert line.events("workflow.node_waiting")[-1].data["wait"]["phase"] != "error_prompt"


def test_an_error_prompt_that_fails_itself_hangs_up_at_once() -> None:
    line = _line(cfg.ErrorPrompt(text=SORRY))
    call_id, task_id = _failing_menu(line)
    line.voice.run(1)  # the welcome plays: the next playback is the error prompt
    line.sim.inject(Failure("play_prompt", "provider_error", call_id=call_id))
    line.voice.run(4)
    assert line.sim.calls[call_id].state == "ended"
    assert line.heard(call_id) == [WELCOME]
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_detail == "media_failed"


def test_an_error_prompt_that_does_not_end_is_cut_off_at_the_limit() -> None:
    line = _line(cfg.ErrorPrompt(text=" ".join(["sorry"] * 300)))  # 150 s of speech
    call_id, _ = _failing_menu(line)
    line.voice.run(ERROR_PROMPT_LIMIT_S + 10)
    call = line.sim.calls[call_id]
    began = line.events("workflow.node_waiting")[-1].at
    assert call.state == "ended" and call.ended_at == began + ERROR_PROMPT_LIMIT_S


def test_the_caller_may_hang_up_during_the_error_prompt() -> None:
    line = _line(cfg.ErrorPrompt(text=SORRY))
    call_id, task_id = _failing_menu(line)
    line.voice.run(3)
    line.sim.caller_hang_up(call_id)
    line.voice.settle()
    ended = line.engine.state.task(task_id)
    assert ended is not None and ended.end_reason is EndReason.CUSTOMER_HANGUP
    assert line.commands("hang_up") == []
