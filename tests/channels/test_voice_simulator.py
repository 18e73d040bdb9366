"""The voice simulator on its own, in virtual time: what each command and each outside
action produces, on the transcript and as port events (11 §2 SI1–SI3, SI5)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from switchboard.channels.voice.sim_world import (
    Behaviour,
    Failure,
    Phone,
    SimulatorConfig,
    SimulatorError,
)
from switchboard.channels.voice.simulator import SimulatorDriver, VoiceSimulator
from switchboard.domain import voice as v
from switchboard.engine.clock import RealClock, VirtualClock

CALLER = v.Party(kind=v.PartyKind.PHONE, id="+41445550101")
_ids = iter(range(1_000_000))


def cid() -> str:
    return f"cmd-{next(_ids)}"


class World:
    """A simulator on a virtual clock, with every event it reports collected."""

    def __init__(self, seed: int = 7, **config: Any) -> None:
        self.clock = VirtualClock()
        self.sim = VoiceSimulator("t1", self.clock, SimulatorConfig(seed=seed, **config))
        self.events: list[v.VoiceEvent] = []
        self.sim.bind(self.events.append)

    def run(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass, doing what falls due on the way."""
        end = self.clock.now() + seconds
        while (due := self.sim.next_deadline()) is not None and due <= end:
            self.clock.set(max(due, self.clock.now()))
            self.sim.advance()
        self.clock.set(end)

    def do(self, command: v.VoiceCommand) -> Any:
        return self.sim.execute_now(command)

    def names(self) -> list[str]:
        return [e.name for e in self.events]

    def last(self, cls: type[Any]) -> Any:
        found = [e for e in self.events if isinstance(e, cls)]
        assert found, f"no {cls.__name__} among {self.names()}"
        return found[-1]

    def answered_call(self) -> str:
        call = self.sim.place_call(CALLER, "hotline@acme.test")
        self.do(v.Answer(command_id=cid(), call_id=call.call_id))
        return call.call_id

    def transcript(self, call_id: str) -> list[str]:
        return [f"{e.who}:{e.what}" for e in self.sim.calls[call_id].transcript]


def tts(text: str) -> v.Prompt:
    return v.Prompt(tts=text, language="en-US")


# ------------------------------------------------------------------ calls


def test_a_placed_call_reaches_switchboard_and_answering_establishes_it() -> None:
    w = World()
    call = w.sim.place_call(CALLER, "hotline@acme.test")
    incoming = w.last(v.IncomingCall)
    assert (incoming.call_id, incoming.to, incoming.caller) == (
        call.call_id,
        "hotline@acme.test",
        CALLER,
    )
    assert incoming.tenant_id == "t1"
    assert incoming.answer_deadline == w.clock.now() + 15.0
    ack = w.do(v.Answer(command_id=cid(), call_id=call.call_id))
    assert ack.accepted
    assert w.last(v.CallStateChanged).state is v.CallState.ESTABLISHED
    assert call.state == "established"


def test_an_unanswered_call_is_given_up_by_the_network_after_the_answer_window() -> None:
    w = World()
    call = w.sim.place_call(v.Party(kind=v.PartyKind.ANONYMOUS), "+41445550000")
    w.run(14.9)
    assert call.live
    w.run(0.2)
    ended = w.last(v.CallEnded)
    assert (ended.reason, ended.ended_by) == (v.CallEndReason.NO_ANSWER, v.EndedBy.NETWORK)


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        w = World(seed=seed)
        w.sim.set_phone("anna", Phone(Behaviour.ANSWER))  # delay drawn from the seeded range
        call = w.answered_call()
        w.do(v.RingUser(command_id="r1", call_id=call, leg_id="leg-1", user_id="anna"))
        w.run(30)
        return [v.to_json(e) for e in w.events]

    first, again, other = run(3), run(3), run(4)
    assert first == again
    assert first != other
    answered = [e for e in first if e["type"] == "leg_answered"]
    assert len(answered) == 1


def test_caller_and_system_hang_ups_end_the_call_with_who_ended_it() -> None:
    w = World()
    call = w.answered_call()
    w.sim.caller_hang_up(call)
    ended = w.last(v.CallEnded)
    assert (ended.reason, ended.ended_by) == (v.CallEndReason.HUNG_UP, v.EndedBy.CUSTOMER)
    with pytest.raises(SimulatorError) as refused:
        w.sim.press(call, "1")
    assert refused.value.code == "call_ended"

    other = w.answered_call()
    w.do(v.HangUp(command_id=cid(), call_id=other))
    ended = w.last(v.CallEnded)
    assert (ended.call_id, ended.ended_by) == (other, v.EndedBy.SYSTEM)

    ringing_in = w.sim.place_call(CALLER, "hotline@acme.test")
    w.sim.caller_hang_up(ringing_in.call_id)
    assert w.last(v.CallEnded).reason is v.CallEndReason.CANCELLED


def test_reject_and_redirect_end_an_unanswered_call_with_their_reasons() -> None:
    w = World()
    call = w.sim.place_call(CALLER, "hotline@acme.test")
    w.do(v.Reject(command_id=cid(), call_id=call.call_id, reason=v.RejectReason.BUSY))
    assert w.last(v.CallEnded).reason is v.CallEndReason.BUSY
    call = w.sim.place_call(CALLER, "hotline@acme.test")
    target = v.Target(type=v.TargetType.PHONE, value="+41440000000")
    w.do(v.Redirect(command_id=cid(), call_id=call.call_id, targets=(target,)))
    ended = w.last(v.CallEnded)
    assert (ended.reason, ended.ended_by) == (v.CallEndReason.REDIRECTED, v.EndedBy.SYSTEM)


# ------------------------------------------------------------------ media


def test_prompts_are_written_as_text_and_take_as_long_as_their_words() -> None:
    w = World(seconds_per_word=0.5)
    call = w.answered_call()
    play = v.PlayPrompt(
        command_id=cid(),
        call_id=call,
        prompts=(tts("Welcome to ACME, Anna &amp; Ben."), tts("Please hold.")),
    )
    w.do(play)
    w.run(3.9)  # six words: 3 s; then two words: 1 s
    assert not any(isinstance(e, v.MediaCompleted) for e in w.events)
    w.run(0.2)
    done = w.last(v.MediaCompleted)
    assert (done.command_id, done.status) == (play.command_id, v.MediaStatus.COMPLETED)
    prompts = [e.text for e in w.sim.calls[call].transcript if e.what == "prompt"]
    assert prompts == ["Welcome to ACME, Anna & Ben.", "Please hold."]


def test_a_looping_prompt_repeats_until_cancelled() -> None:
    w = World(seconds_per_word=1.0)
    call = w.answered_call()
    play = v.PlayPrompt(command_id=cid(), call_id=call, prompts=(tts("Still waiting"),), loop=True)
    w.do(play)
    w.run(7)
    assert w.transcript(call).count("switchboard:prompt") == 4
    assert not any(isinstance(e, v.MediaCompleted) for e in w.events)
    w.do(v.CancelMedia(command_id=cid(), call_id=call))
    assert w.last(v.MediaCompleted).status is v.MediaStatus.CANCELLED


def test_a_key_ends_a_barge_in_prompt_and_is_reported_with_its_sequence() -> None:
    w = World()
    call = w.answered_call()
    play = v.PlayPrompt(command_id=cid(), call_id=call, prompts=(tts("Long news " * 20),))
    w.do(play)
    w.sim.press(call, "5")
    digit = w.last(v.Digit)
    assert (digit.digit, digit.sequence, digit.command_id) == ("5", 1, play.command_id)
    assert not any(isinstance(e, v.MediaCompleted) for e in w.events)  # no barge-in
    barge = v.PlayPrompt(command_id=cid(), call_id=call, prompts=(tts("Menu"),), barge_in=True)
    w.do(barge)
    cancelled = w.last(v.MediaCompleted)
    assert (cancelled.command_id, cancelled.status) == (play.command_id, v.MediaStatus.CANCELLED)
    w.sim.press(call, "#")
    done = w.last(v.MediaCompleted)
    assert (done.command_id, done.status, done.digit) == (
        barge.command_id,
        v.MediaStatus.COMPLETED,
        "#",
    )
    assert w.last(v.Digit).sequence == 2


def _collect(**settings: Any) -> v.CollectDigits:
    return v.CollectDigits(command_id=cid(), call_id="", prompt=tts("Press 1 or 2"), **settings)


def test_digits_are_collected_up_to_the_maximum() -> None:
    w = World()
    call = w.answered_call()
    cmd = v.CollectDigits(
        command_id=cid(), call_id=call, prompt=tts("Press 1 for sales, 2 for support")
    )
    w.do(cmd)
    w.run(1)
    w.sim.press(call, "2")
    got = w.last(v.DigitsCollected)
    assert (got.command_id, got.digits, got.reason) == (cmd.command_id, "2", v.CollectReason.MAX)


def test_a_terminator_ends_collection_and_is_not_part_of_the_digits() -> None:
    w = World()
    call = w.answered_call()
    cmd = v.CollectDigits(command_id=cid(), call_id=call, max_digits=10, terminators="#")
    w.do(cmd)
    w.sim.press(call, "4711#")
    got = w.last(v.DigitsCollected)
    assert (got.digits, got.reason) == ("4711", v.CollectReason.TERMINATOR)
    assert [e.digit for e in w.events if isinstance(e, v.Digit)] == list("4711#")


def test_silence_ends_collection_with_first_and_inter_digit_timeouts() -> None:
    w = World(seconds_per_word=0.5)
    call = w.answered_call()
    first = v.CollectDigits(
        command_id=cid(),
        call_id=call,
        prompt=tts("Your customer number"),  # 1.5 s
        max_digits=8,
        first_digit_timeout_s=5,
        inter_digit_timeout_s=2,
    )
    w.do(first)
    w.run(6.4)  # the first-digit timeout starts when the question ends
    assert not any(isinstance(e, v.DigitsCollected) for e in w.events)
    w.run(0.2)
    got = w.last(v.DigitsCollected)
    assert (got.digits, got.reason) == ("", v.CollectReason.TIMEOUT)

    second = v.CollectDigits(
        command_id=cid(),
        call_id=call,
        max_digits=8,
        first_digit_timeout_s=5,
        inter_digit_timeout_s=2,
    )
    w.do(second)
    w.sim.press(call, "12")
    w.run(1.9)
    w.sim.press(call, "3")  # restarts the inter-digit timeout
    w.run(1.9)
    assert w.last(v.DigitsCollected).command_id == first.command_id
    w.run(0.2)
    got = w.last(v.DigitsCollected)
    assert (got.command_id, got.digits, got.reason) == (
        second.command_id,
        "123",
        v.CollectReason.TIMEOUT,
    )


def test_a_key_interrupts_the_question_of_a_collection() -> None:
    w = World()
    call = w.answered_call()
    w.do(v.CollectDigits(command_id=cid(), call_id=call, prompt=tts("word " * 50)))
    w.sim.press(call, "1")
    assert w.last(v.DigitsCollected).digits == "1"
    w.run(60)  # the interrupted prompt does not complete later
    assert not any(isinstance(e, v.MediaCompleted) for e in w.events)


def test_keys_before_the_call_is_answered_are_refused() -> None:
    w = World()
    call = w.sim.place_call(CALLER, "hotline@acme.test")
    with pytest.raises(SimulatorError) as refused:
        w.sim.press(call.call_id, "1")
    assert refused.value.code == "not_answered"
    w.do(v.Answer(command_id=cid(), call_id=call.call_id))
    with pytest.raises(SimulatorError) as bad:
        w.sim.press(call.call_id, "1a")
    assert bad.value.code == "invalid_format" and "'a'" in str(bad.value)


def test_a_recording_lasts_from_the_beep_to_the_last_word() -> None:
    w = World()
    call = w.answered_call()
    rec = v.Record(command_id=cid(), call_id=call, max_silence_timeout_s=3)
    w.do(rec)
    w.run(1)
    w.sim.say(call, "Please call me back about my order.", 4)
    w.run(6.9)
    assert not any(isinstance(e, v.RecordingCompleted) for e in w.events)
    w.run(0.2)
    done = w.last(v.RecordingCompleted)
    assert done.command_id == rec.command_id
    assert done.duration_ms == 5000
    assert done.recording_ref.startswith("sim-recording:")
    assert w.transcript(call)[-4:] == [
        "switchboard:beep",
        "switchboard:recording",
        "caller:said",
        "switchboard:recorded",
    ]


def test_a_recording_nobody_speaks_into_ends_empty_after_the_initial_silence() -> None:
    w = World()
    call = w.answered_call()
    w.do(v.Record(command_id=cid(), call_id=call, initial_silence_timeout_s=5))
    w.run(5.1)
    done = w.last(v.RecordingCompleted)
    assert (done.recording_ref, done.duration_ms) == ("", 0)


# ------------------------------------------------------------------ user phones


def _ring(w: World, call: str, user: str, leg: str = "leg-1", **more: Any) -> v.RingUser:
    cmd = v.RingUser(command_id=cid(), call_id=call, leg_id=leg, user_id=user, **more)
    w.do(cmd)
    return cmd


def test_a_manual_phone_rings_until_the_user_answers_through_the_control_api() -> None:
    w = World()
    call = w.answered_call()
    _ring(w, call, "anna", timeout_s=20)
    ringing = w.last(v.LegRinging)
    assert (ringing.leg_id, ringing.user_id) == ("leg-1", "anna")
    w.run(10)
    w.sim.user_answer("anna")
    answered = w.last(v.LegAnswered)
    assert (answered.call_id, answered.leg_id) == (call, "leg-1")
    w.run(60)  # the ring timeout no longer applies
    assert not any(isinstance(e, v.LegEnded) for e in w.events)
    w.sim.user_hang_up("anna")
    ended = w.last(v.LegEnded)
    assert (ended.reason, ended.user_id) == (v.CallEndReason.HUNG_UP, "anna")
    assert w.sim.calls[call].live  # the caller is still there


def test_ringing_ends_with_declined_no_answer_busy_or_unreachable() -> None:
    w = World()
    call = w.answered_call()
    _ring(w, call, "anna", "l1")
    w.sim.user_decline("anna")
    assert w.last(v.LegEnded).reason is v.CallEndReason.DECLINED

    w.sim.set_phone("ben", Phone(Behaviour.IGNORE))
    _ring(w, call, "ben", "l2", timeout_s=15)
    w.run(14.9)
    assert w.last(v.LegEnded).leg_id == "l1"
    w.run(0.2)
    assert (w.last(v.LegEnded).leg_id, w.last(v.LegEnded).reason) == (
        "l2",
        v.CallEndReason.NO_ANSWER,
    )

    for user, behaviour, reason in (
        ("cleo", Behaviour.BUSY, v.CallEndReason.BUSY),
        ("dan", Behaviour.OFFLINE, v.CallEndReason.UNREACHABLE),
    ):
        w.sim.set_phone(user, Phone(behaviour))
        before = len(w.events)
        _ring(w, call, user, f"leg-{user}")
        fresh = w.events[before:]
        assert [e.name for e in fresh] == ["leg_ended"]  # refused without ringing
        assert fresh[0].reason is reason  # type: ignore[attr-defined]


def test_scripted_phones_answer_or_decline_after_their_delay_and_hang_up_after_talking() -> None:
    w = World()
    call = w.answered_call()
    w.sim.set_phone("anna", Phone(Behaviour.ANSWER, after_s=3, talk_s=60))
    _ring(w, call, "anna")
    w.run(2.9)
    assert w.names()[-1] == "leg_ringing"
    w.run(0.2)
    assert w.names()[-1] == "leg_answered"
    w.run(60)
    assert w.last(v.LegEnded).reason is v.CallEndReason.HUNG_UP

    w.sim.set_phone("ben", Phone(Behaviour.DECLINE, after_s=1))
    _ring(w, call, "ben", "leg-2")
    w.run(1.1)
    assert (w.last(v.LegEnded).leg_id, w.last(v.LegEnded).reason) == (
        "leg-2",
        v.CallEndReason.DECLINED,
    )


def test_cancel_ring_and_hang_up_of_a_leg_end_only_that_leg() -> None:
    w = World()
    call = w.answered_call()
    _ring(w, call, "anna", "l1")
    _ring(w, call, "ben", "l2")
    w.do(v.CancelRing(command_id=cid(), leg_id="l1"))
    assert (w.last(v.LegEnded).leg_id, w.last(v.LegEnded).reason) == (
        "l1",
        v.CallEndReason.CANCELLED,
    )
    w.sim.user_answer("ben")
    w.do(v.HangUp(command_id=cid(), call_id=call, leg_id="l2"))
    assert (w.last(v.LegEnded).leg_id, w.last(v.LegEnded).reason) == (
        "l2",
        v.CallEndReason.HUNG_UP,
    )
    assert w.sim.calls[call].live


def test_a_conference_ring_needs_an_answered_call_and_p2p_legs_are_bridged() -> None:
    w = World()
    call = w.sim.place_call(CALLER, "hotline@acme.test").call_id
    ack = _ring(w, call, "anna")
    failed = w.last(v.OperationFailed)
    assert (failed.code, failed.call_id) == ("call_not_established", call)
    w.do(v.Answer(command_id=cid(), call_id=call))
    w.do(v.Bridge(command_id=cid(), call_id=call, leg_id="nowhere"))
    assert w.last(v.BridgeFailed).code == "leg_not_answered"
    _ring(w, call, "anna", "p1", mode=v.RingMode.P2P)
    w.sim.user_answer("anna")
    assert w.sim.calls[call].transcript[-1].text == "anna answers."  # not in the call yet
    w.do(v.Bridge(command_id=cid(), call_id=call, leg_id="p1"))
    assert w.last(v.Bridged).leg_id == "p1"
    assert w.sim.calls[call].transcript[-1].what == "bridged"
    # A p2p leg still ringing when bridged was taken in the user's client.
    _ring(w, call, "ben", "p2", mode=v.RingMode.P2P)
    w.do(v.Bridge(command_id=cid(), call_id=call, leg_id="p2"))
    assert (w.last(v.LegAnswered).leg_id, w.last(v.Bridged).leg_id) == ("p2", "p2")
    assert ack.command_id  # the refused ring was acknowledged as a command


def test_answering_with_nothing_ringing_or_several_calls_ringing_is_refused() -> None:
    w = World()
    with pytest.raises(SimulatorError) as none:
        w.sim.user_answer("anna")
    assert none.value.code == "no_such_leg"
    first, second = w.answered_call(), w.answered_call()
    _ring(w, first, "anna", "a1")
    _ring(w, second, "anna", "a2")
    with pytest.raises(SimulatorError) as ambiguous:
        w.sim.user_answer("anna")
    assert ambiguous.value.code == "ambiguous"
    assert w.sim.user_answer("anna", second).leg_id == "a2"


def test_the_caller_hanging_up_ends_ringing_legs_with_the_call() -> None:
    w = World()
    call = w.answered_call()
    _ring(w, call, "anna")
    w.sim.caller_hang_up(call)
    assert w.names()[-1] == "call_ended"
    w.run(60)
    assert w.names()[-1] == "call_ended"  # the leg's ring timeout died with the call
    assert w.do(v.CancelRing(command_id=cid(), leg_id="leg-1")).accepted  # a no-op


# ------------------------------------------------------------------ hold, transfer


def test_hold_and_resume_report_their_events_once() -> None:
    w = World()
    call = w.answered_call()
    w.do(v.Hold(command_id=cid(), call_id=call, music=tts("Soft jazz")))
    w.do(v.Hold(command_id=cid(), call_id=call))
    w.do(v.Resume(command_id=cid(), call_id=call))
    assert w.names()[-2:] == ["hold_started", "hold_ended"]
    assert "Soft jazz" in w.sim.calls[call].transcript[-2].text


def test_a_blind_transfer_to_a_user_who_answers_ends_the_call_as_transferred() -> None:
    w = World()
    call = w.answered_call()
    target = v.Target(type=v.TargetType.USER, value="ben")
    transfer = v.TransferBlind(command_id=cid(), call_id=call, target=target)
    w.do(transfer)
    w.sim.user_answer("ben")
    states = [e.state for e in w.events if isinstance(e, v.TransferState)]
    assert states == [
        v.TransferStatus.STARTED,
        v.TransferStatus.ACCEPTED,
        v.TransferStatus.COMPLETED,
    ]
    ended = w.last(v.CallEnded)
    assert ended.reason is v.CallEndReason.TRANSFERRED
    assert not any(isinstance(e, v.LegRinging) for e in w.events)  # no engine leg for it


def test_a_blind_transfer_that_is_declined_fails_and_the_call_stays() -> None:
    w = World()
    call = w.answered_call()
    target = v.Target(type=v.TargetType.USER, value="ben")
    w.do(v.TransferBlind(command_id=cid(), call_id=call, target=target))
    w.sim.user_decline("ben")
    failed = w.last(v.TransferState)
    assert (failed.state, failed.code) == (v.TransferStatus.FAILED, "declined")
    assert w.sim.calls[call].live


# ------------------------------------------------------------------ failures, idempotency


def test_injected_failures_use_the_normalised_reasons() -> None:
    w = World()
    call = w.answered_call()
    w.sim.inject(Failure("ring_user", "busy", user_id="anna"))
    _ring(w, call, "anna", "l1")
    assert w.last(v.LegEnded).reason is v.CallEndReason.BUSY
    _ring(w, call, "anna", "l2")  # used up: rings normally
    assert w.last(v.LegRinging).leg_id == "l2"

    w.sim.inject(Failure("transfer_blind", "no_answer", call_id=call))
    w.do(
        v.TransferBlind(
            command_id=cid(), call_id=call, target=v.Target(type=v.TargetType.PHONE, value="+1")
        )
    )
    assert (w.last(v.TransferState).state, w.last(v.TransferState).code) == (
        v.TransferStatus.FAILED,
        "no_answer",
    )

    w.sim.inject(Failure("play_prompt", "provider_error", times=2))
    for _ in range(2):
        ack = w.do(v.PlayPrompt(command_id=cid(), call_id=call, prompts=(tts("Hi"),)))
        assert (ack.accepted, ack.code) == (False, "provider_error")
        failed = w.last(v.OperationFailed)
        assert (failed.command_id, failed.retriable) == (ack.command_id, True)
    assert w.do(v.PlayPrompt(command_id=cid(), call_id=call, prompts=(tts("Hi"),))).accepted


def test_failures_that_cannot_happen_are_refused_with_the_field_named() -> None:
    w = World()
    with pytest.raises(SimulatorError, match="reason for hold must be one of provider_error"):
        w.sim.inject(Failure("hold", "busy"))
    with pytest.raises(SimulatorError, match="command must be one of"):
        w.sim.inject(Failure("teleport", "busy"))
    with pytest.raises(SimulatorError, match="times must be at least 1"):
        w.sim.inject(Failure("hold", "provider_error", times=0))


def test_a_command_seen_twice_is_carried_out_once() -> None:
    w = World()
    call = w.answered_call()
    ring = v.RingUser(command_id="same", call_id=call, leg_id="leg", user_id="anna")
    first, second = w.do(ring), w.do(ring)
    assert (first.duplicate, second.duplicate, second.accepted) == (False, True, True)
    assert w.names().count("leg_ringing") == 1
    assert asyncio.run(w.sim.execute(ring)).duplicate


def test_commands_for_unknown_or_ended_calls_fail_as_events() -> None:
    w = World()
    ack = w.do(v.PlayPrompt(command_id="p", call_id="nope", prompts=(tts("Hi"),)))
    assert (ack.accepted, ack.code) == (False, "call_not_found")
    failed = w.last(v.OperationFailed)
    assert (failed.command_id, failed.code, failed.retriable) == ("p", "call_not_found", False)
    call = w.answered_call()
    w.sim.caller_hang_up(call)
    w.do(v.Hold(command_id="h", call_id=call))
    assert w.last(v.OperationFailed).code == "call_ended"


def test_reconcile_reports_live_calls_and_their_legs() -> None:
    w = World()
    call = w.answered_call()
    gone = w.answered_call()
    w.sim.caller_hang_up(gone)
    _ring(w, call, "anna")
    (snap,) = asyncio.run(w.sim.reconcile())
    assert (snap.call_id, snap.state, [(leg.user_id, leg.state) for leg in snap.legs]) == (
        call,
        "established",
        [("anna", "ringing")],
    )
    assert w.sim.capabilities().whisper and w.sim.capabilities().max_record_s >= 120


def test_events_before_a_sink_is_bound_are_delivered_when_it_is() -> None:
    sim = VoiceSimulator("t1", VirtualClock())
    sim.place_call(CALLER, "x@acme.test")
    got: list[v.VoiceEvent] = []
    sim.bind(got.append)
    assert [e.name for e in got] == ["incoming_call"]


def test_the_driver_runs_deadlines_on_a_real_clock() -> None:
    async def scenario() -> list[str]:
        sim = VoiceSimulator("t1", RealClock(), SimulatorConfig(min_prompt_s=0.05))
        events: list[v.VoiceEvent] = []
        sim.bind(events.append)
        driver = SimulatorDriver(sim)
        driver.start()
        call = sim.place_call(CALLER, "x@acme.test").call_id
        sim.execute_now(v.Answer(command_id="a", call_id=call))
        sim.execute_now(
            v.PlayPrompt(command_id="p", call_id=call, prompts=(tts("Hi"),), barge_in=False)
        )
        started = time.monotonic()
        while not any(e.name == "media_completed" for e in events):
            assert time.monotonic() - started < 5, "the driver did not fire the prompt's end"
            await asyncio.sleep(0.01)
        await driver.stop()
        return [e.name for e in events]

    assert asyncio.run(scenario())[-1] == "media_completed"
