"""The in-process voice simulator: a telephone network that speaks the port (11 §2).

It is the default provider of the demo and of every test (SI1). Callers dial a
service's UPN or number (or its id), press keys, speak and hang up; users'
phones ring and are answered, declined, ignored or busy, by script or through
the control API; Switchboard's side is whatever commands the engine issues.
Media are text (SI2): a prompt is written to the call's transcript with its
placeholders already resolved by the engine, and takes as long to "play" as its
words take to say; digits are events; recordings are references with a duration.

Every command of the port is implemented and every capability claimed (SI3),
and whatever goes wrong — by script (`Phone`), by injection (`Failure`) or
because the engine asked for something impossible — reaches the engine as the
same normalised events Teams would produce (SI5): `leg_ended(busy)`,
`transfer_state(failed)`, `operation_failed(call_not_found)`...

Time is the engine's clock: the simulator never sleeps; it exposes
`next_deadline()` and does what fell due when `advance()` is called — by the
real-time driver (`SimulatorDriver`) in the service, by the test in virtual
time. Call ids, event ids and drawn delays come from one `random.Random(seed)`,
so a run is repeatable for a seed. The simulator lives in the process and dies
with it (SI6); `reconcile` after a restart therefore reports no calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any
from xml.sax.saxutils import unescape

from switchboard.channels.voice.port import (
    Ack,
    CallSnapshot,
    Capabilities,
    EventSink,
    LegSnapshot,
)
from switchboard.channels.voice.sim_world import (
    FAILURE_REASONS,
    PROVIDER_ERROR,
    Behaviour,
    Call,
    Failure,
    Leg,
    Media,
    Phone,
    SimulatorConfig,
    SimulatorError,
    Timer,
    Timers,
    TranscriptEntry,
)
from switchboard.domain import voice as v
from switchboard.engine.clock import Clock

#: How many executed command ids are remembered for de-duplication (VP2).
_SEEN_LIMIT = 100_000
_HANG_UP_VERB = {"customer": "caller_hung_up", "user": "user_hung_up", "system": "hung_up"}


def prompt_text(prompt: v.Prompt) -> str:
    """What a prompt says, for the transcript (the engine XML-escapes text for speech)."""
    if prompt.tts is not None:
        return unescape(prompt.tts, {"&quot;": '"', "&apos;": "'"})
    return f"[audio {prompt.audio_uri}]"


class VoiceSimulator:
    """One tenant's simulated telephone network (implements `VoiceProvider`)."""

    def __init__(self, tenant_id: str, clock: Clock, config: SimulatorConfig | None = None) -> None:
        self.tenant_id = tenant_id
        self.clock = clock
        self.config = config or SimulatorConfig()
        self.rng = random.Random(self.config.seed)
        self.timers = Timers()
        #: Live calls, and the ended ones still kept (`SimulatorConfig.ended_calls_kept`).
        self.calls: dict[str, Call] = {}
        #: Calls dialled and calls ended since the simulator started (kept or not).
        self.calls_placed = 0
        self.calls_ended = 0
        self._ended: deque[Call] = deque()  # kept ended calls, oldest end first
        self.phones: dict[str, Phone] = {}
        self.failures: list[Failure] = []
        self._legs: dict[str, Leg] = {}
        self._seen: dict[str, Ack] = {}
        #: blind transfers under way, by command id (their target leg reports on them)
        self._transfers: dict[str, v.TransferBlind] = {}
        self._sink: EventSink | None = None
        self._undelivered: list[v.VoiceEvent] = []
        self._run = f"{self.rng.getrandbits(32):08x}"
        self._event_no = 0

    # ================================================================ the port

    def bind(self, sink: EventSink) -> None:
        self._sink = sink
        waiting, self._undelivered = self._undelivered, []
        for event in waiting:
            sink(event)

    def capabilities(self) -> Capabilities:
        return Capabilities(
            whisper=True,
            hold_music=True,
            p2p_ring=True,
            pstn=True,
            recording=True,
            max_record_s=600,
            tts=True,
        )

    async def reconcile(self) -> Sequence[CallSnapshot]:
        return self.snapshot()

    def snapshot(self) -> list[CallSnapshot]:
        return [
            CallSnapshot(
                call_id=call.call_id,
                state=call.state,
                on_hold=call.on_hold,
                legs=tuple(
                    LegSnapshot(leg.leg_id, leg.user_id, leg.state)
                    for leg in call.legs.values()
                    if leg.state != "ended" and leg.transfer_command_id is None
                ),
            )
            for call in self.calls.values()
            if call.live
        ]

    async def execute(self, command: v.VoiceCommand) -> Ack:
        return self.execute_now(command)

    def execute_now(self, command: v.VoiceCommand) -> Ack:
        """`execute` without the coroutine, for synchronous drivers in virtual time."""
        seen = self._seen.get(command.command_id)
        if seen is not None:
            return Ack(command.command_id, seen.accepted, True, seen.code, seen.message)
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.pop(next(iter(self._seen)))
        handler = _HANDLERS.get(type(command))
        try:
            if handler is None:
                raise SimulatorError(
                    f"The simulator does not know the command '{command.name}'.",
                    code="not_supported",
                )
            call_id = getattr(command, "call_id", None)
            user_id = getattr(command, "user_id", None)
            if self._take_failure(command.name, call_id, user_id, PROVIDER_ERROR):
                raise SimulatorError(
                    f"Injected provider error for '{command.name}'.", code=PROVIDER_ERROR
                )
            handler(self, command)
            ack = Ack(command.command_id)
        except SimulatorError as error:
            ack = Ack(command.command_id, False, code=error.code, message=str(error))
            self._emit(
                v.OperationFailed,
                command_id=command.command_id,
                code=error.code,
                retriable=error.code == PROVIDER_ERROR,
                call_id=getattr(command, "call_id", None),
            )
        self._seen[command.command_id] = ack
        return ack

    # ================================================================ time

    def next_deadline(self) -> float | None:
        return self.timers.next_due()

    def advance(self) -> int:
        """Do everything due at the clock's current time, in deadline order."""
        fired = 0
        now = self.clock.now()
        while (timer := self.timers.pop_due(now)) is not None:
            fired += 1
            timer.action()
        return fired

    def _after(self, seconds: float, action: Callable[[], None], call: Call | None = None) -> Timer:
        timer = self.timers.arm(self.clock.now() + seconds, action)
        if call is not None:
            call.timers.append(timer)
        return timer

    # ================================================================ the outside world

    def place_call(
        self,
        caller: v.Party,
        to: str,
        *,
        call_id: str | None = None,
        hang_up_after_s: float | None = None,
    ) -> Call:
        """A caller dials `to` (a service's UPN, number or id); Switchboard hears of it."""
        if not to or not to.strip():
            raise SimulatorError("to must name the service dialled.", code="required", status=422)
        call_id = call_id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if call_id in self.calls:
            raise SimulatorError(f"A call with id '{call_id}' exists.", code="call_exists")
        now = self.clock.now()
        call = Call(call_id=call_id, caller=caller, to=to, started_at=now)
        self._forget_ended()
        self.calls[call_id] = call
        self.calls_placed += 1
        who = caller.id or caller.kind.value
        self._note(call, "caller", "dialled", f"{who} calls {to}.")
        deadline = now + self.config.answer_window_s
        self._after(self.config.answer_window_s, lambda: self._answer_window_over(call), call)
        if hang_up_after_s is not None:
            if not hang_up_after_s >= 0:
                raise SimulatorError(
                    f"hang_up_after_s must be ≥ 0; got {hang_up_after_s}.",
                    code="out_of_range",
                    status=422,
                )
            self._after(hang_up_after_s, lambda: self._caller_gives_up(call), call)
        self._emit(v.IncomingCall, call_id=call_id, to=to, caller=caller, answer_deadline=deadline)
        return call

    def press(self, call_id: str, digits: str) -> None:
        """The caller presses keys, one after another, at the current instant."""
        call = self._live_call(call_id)
        if not digits:
            raise SimulatorError("digits must not be empty.", code="required", status=422)
        bad = sorted({d for d in digits if d not in "0123456789*#"})
        if bad:
            raise SimulatorError(
                f"digits may contain only 0-9, * and #; got {''.join(bad)!r}.",
                code="invalid_format",
                status=422,
            )
        if call.state != "established":
            raise SimulatorError(
                "Keys can be pressed only once the call is answered.", code="not_answered"
            )
        for digit in digits:
            if call.live:
                self._digit(call, digit)

    def say(self, call_id: str, text: str, seconds: float) -> None:
        """The caller speaks for `seconds` (recorded if a recording is running)."""
        call = self._live_call(call_id)
        if not seconds > 0:
            raise SimulatorError(
                f"seconds must be positive; got {seconds}.", code="out_of_range", status=422
            )
        if call.state != "established":
            raise SimulatorError("The call is not answered yet.", code="not_answered")
        self._note(call, "caller", "said", text, seconds=seconds)
        media = call.media
        if (
            media is not None
            and isinstance(media.command, v.Record)
            and media.listening_since is not None
        ):
            until = self.clock.now() + seconds
            media.speech_until = max(media.speech_until or 0.0, until)
            self._rearm(media, until + media.command.max_silence_timeout_s, call)

    def caller_hang_up(self, call_id: str) -> None:
        call = self._live_call(call_id)
        self._end_call(call, _ended_reason(call), "customer")

    def set_phone(self, user_id: str, phone: Phone) -> None:
        """Script how `user_id`'s phone reacts from the next ring on."""
        self.phones[user_id] = phone

    def phone(self, user_id: str) -> Phone:
        return self.phones.get(user_id, Phone())

    def find_leg(self, user_id: str, call_id: str | None = None, *, ringing: bool) -> Leg:
        """The user's one leg that rings (or is answered), on `call_id` if given."""
        state = "ringing" if ringing else "answered"
        legs = [
            leg
            for leg in self._legs.values()
            if leg.user_id == user_id
            and leg.state == state
            and (call_id is None or leg.call_id == call_id)
        ]
        if not legs:
            where = f" call '{call_id}'" if call_id else " any call"
            doing = "ringing for" if ringing else "talking on"
            raise SimulatorError(f"{user_id}'s phone is not {doing}{where}.", code="no_such_leg")
        if len(legs) > 1:
            ids = ", ".join(sorted(leg.call_id for leg in legs))
            raise SimulatorError(
                f"{user_id}'s phone is {state} on several calls ({ids}); name the call_id.",
                code="ambiguous",
            )
        return legs[0]

    def user_answer(self, user_id: str, call_id: str | None = None) -> Leg:
        leg = self.find_leg(user_id, call_id, ringing=True)
        self._leg_answered(leg)
        return leg

    def user_decline(self, user_id: str, call_id: str | None = None) -> Leg:
        leg = self.find_leg(user_id, call_id, ringing=True)
        self._end_leg(leg, v.CallEndReason.DECLINED, "declined", f"{user_id} declines.")
        return leg

    def user_hang_up(self, user_id: str, call_id: str | None = None) -> Leg:
        """The user leaves the call they are talking on (the call itself goes on)."""
        leg = self.find_leg(user_id, call_id, ringing=False)
        self._end_leg(leg, v.CallEndReason.HUNG_UP, "user_hung_up", f"{user_id} hangs up.")
        return leg

    def inject(self, failure: Failure) -> None:
        """Make the next matching command(s) fail with a normalised reason (SI5)."""
        allowed = FAILURE_REASONS.get(failure.command, frozenset()) | {PROVIDER_ERROR}
        if failure.command not in v.COMMANDS:
            raise SimulatorError(
                f"command must be one of {', '.join(sorted(v.COMMANDS))}; got {failure.command!r}.",
                code="invalid_value",
                status=422,
            )
        if failure.reason not in allowed:
            raise SimulatorError(
                f"reason for {failure.command} must be one of {', '.join(sorted(allowed))}; "
                f"got {failure.reason!r}.",
                code="invalid_value",
                status=422,
            )
        if failure.times < 1:
            raise SimulatorError(
                f"times must be at least 1; got {failure.times}.", code="out_of_range", status=422
            )
        self.failures.append(failure)

    # ================================================================ commands

    def _answer(self, cmd: v.Answer) -> None:
        call = self._command_call(cmd.call_id)
        if call.state != "incoming":
            raise SimulatorError("The call is already answered.", code="invalid_state")
        call.state = "established"
        call.answered_at = self.clock.now()
        self._note(call, "switchboard", "answered", "Switchboard answers.")
        self._emit(v.CallStateChanged, call_id=call.call_id, state=v.CallState.ESTABLISHED)

    def _reject(self, cmd: v.Reject) -> None:
        call = self._command_call(cmd.call_id)
        if call.state != "incoming":
            raise SimulatorError("Only an unanswered call can be rejected.", code="invalid_state")
        reason = {
            v.RejectReason.BUSY: v.CallEndReason.BUSY,
            v.RejectReason.FORBIDDEN: v.CallEndReason.FORBIDDEN,
        }.get(cmd.reason, v.CallEndReason.DECLINED)
        self._end_call(call, reason, "system", verb="rejected")

    def _redirect(self, cmd: v.Redirect) -> None:
        call = self._command_call(cmd.call_id)
        if call.state != "incoming":
            raise SimulatorError("Only an unanswered call can be redirected.", code="invalid_state")
        targets = ", ".join(f"{t.type.value} {t.value}" for t in cmd.targets)
        failure = self._take_failure("redirect", call.call_id, None)
        if failure is not None:
            self._note(call, "network", "redirect_failed", f"Redirect to {targets} fails.")
            self._end_call(call, v.CallEndReason(failure), "network")
            return
        self._note(call, "switchboard", "redirected", f"Switchboard redirects to {targets}.")
        self._end_call(call, v.CallEndReason.REDIRECTED, "system", verb=None)

    def _play(self, cmd: v.PlayPrompt) -> None:
        call = self._established(cmd.call_id)
        if not cmd.prompts:
            raise SimulatorError("play_prompt needs at least one prompt.", code="invalid_command")
        media = self._start_media(call, cmd, "play")
        self._play_next(call, media)

    def _collect(self, cmd: v.CollectDigits) -> None:
        call = self._established(cmd.call_id)
        media = self._start_media(call, cmd, "collect")
        self._prompt_then(call, media, cmd.prompt, lambda: self._listen(call, media))

    def _record(self, cmd: v.Record) -> None:
        call = self._established(cmd.call_id)
        media = self._start_media(call, cmd, "record")
        self._prompt_then(call, media, cmd.prompt, lambda: self._start_recording(call, media))

    def _cancel_media(self, cmd: v.CancelMedia) -> None:
        call = self._command_call(cmd.call_id)
        if call.media is not None:
            self._finish_media(call, v.MediaStatus.CANCELLED)

    def _ring(self, cmd: v.RingUser) -> None:
        call = self._command_call(cmd.call_id)
        if cmd.leg_id in self._legs:
            raise SimulatorError(f"A leg with id '{cmd.leg_id}' exists.", code="leg_exists")
        if cmd.mode is v.RingMode.CONFERENCE and call.state != "established":
            raise SimulatorError(
                "A user can join only an answered call.", code="call_not_established"
            )
        leg = Leg(cmd.leg_id, call.call_id, cmd.user_id, cmd.mode)
        self._add_leg(call, leg)
        failure = self._take_failure("ring_user", call.call_id, cmd.user_id)
        phone = self.phone(cmd.user_id)
        behaviour = phone.behaviour
        if failure is not None:
            behaviour = _FAILURE_BEHAVIOUR.get(failure, Behaviour.OFFLINE)
        if behaviour in (Behaviour.BUSY, Behaviour.OFFLINE):
            reason = v.CallEndReason(failure) if failure else _REFUSAL[behaviour]
            self._end_leg(leg, reason, reason.value, f"{cmd.user_id}'s phone: {reason.value}.")
            return
        self._note(call, "user", "ringing", f"{cmd.user_id}'s phone rings.", cmd.user_id)
        self._emit(v.LegRinging, call_id=call.call_id, leg_id=leg.leg_id, user_id=cmd.user_id)
        self._let_ring(call, leg, behaviour, phone, cmd.timeout_s)

    def _cancel_ring(self, cmd: v.CancelRing) -> None:
        leg = self._legs.get(cmd.leg_id)
        if leg is None:
            raise SimulatorError(f"No leg with id '{cmd.leg_id}'.", code="leg_not_found")
        if leg.state == "ringing":
            self._end_leg(
                leg, v.CallEndReason.CANCELLED, "ring_cancelled", f"{leg.user_id} stops ringing."
            )

    def _bridge(self, cmd: v.Bridge) -> None:
        call = self._command_call(cmd.call_id)
        leg = call.legs.get(cmd.leg_id)
        envelope: dict[str, Any] = {
            "call_id": call.call_id,
            "leg_id": cmd.leg_id,
            "command_id": cmd.command_id,
        }
        if leg is not None and leg.state == "ringing" and call.state == "established":
            # The user accepted in their client while their phone rang: the client takes
            # the leg, a conference invite and a p2p call alike.
            self._leg_answered(leg)
        if leg is None or leg.state != "answered" or call.state != "established":
            self._emit(v.BridgeFailed, **envelope, code="leg_not_answered")
            return
        if not leg.bridged:
            leg.bridged = True
            self._note(call, "switchboard", "bridged", f"{leg.user_id} is connected.", leg.user_id)
        self._emit(v.Bridged, **envelope)

    def _hold(self, cmd: v.Hold) -> None:
        call = self._established(cmd.call_id)
        if call.on_hold:
            return
        call.on_hold = True
        music = f" Music: {prompt_text(cmd.music)}" if cmd.music is not None else ""
        self._note(call, "switchboard", "hold", f"The caller is put on hold.{music}")
        self._emit(v.HoldStarted, call_id=call.call_id)

    def _resume(self, cmd: v.Resume) -> None:
        call = self._established(cmd.call_id)
        if not call.on_hold:
            return
        call.on_hold = False
        self._note(call, "switchboard", "resumed", "The caller is taken off hold.")
        self._emit(v.HoldEnded, call_id=call.call_id)

    def _hang_up(self, cmd: v.HangUp) -> None:
        call = self._command_call(cmd.call_id)
        if cmd.leg_id is None:
            self._end_call(call, _ended_reason(call), "system")
            return
        leg = call.legs.get(cmd.leg_id)
        if leg is None:
            raise SimulatorError(f"No leg with id '{cmd.leg_id}'.", code="leg_not_found")
        if leg.state == "ringing":
            self._end_leg(
                leg, v.CallEndReason.CANCELLED, "ring_cancelled", f"{leg.user_id} stops ringing."
            )
        elif leg.state == "answered":
            self._end_leg(
                leg,
                v.CallEndReason.HUNG_UP,
                "user_removed",
                f"Switchboard ends {leg.user_id}'s part of the call.",
            )

    def _transfer(self, cmd: v.TransferBlind) -> None:
        call = self._established(cmd.call_id)
        target = f"{cmd.target.type.value} {cmd.target.value}"
        self._note(call, "switchboard", "transfer", f"Switchboard transfers the call to {target}.")
        self._transfer_state(call, cmd, v.TransferStatus.STARTED)
        failure = self._take_failure("transfer_blind", call.call_id, cmd.target.value)
        if failure is not None:
            self._transfer_failed(call, cmd, v.CallEndReason(failure))
            return
        if cmd.target.type is not v.TargetType.USER:
            self._after(
                self.config.external_answer_s, lambda: self._transfer_accepted(call, cmd), call
            )
            return
        phone = self.phone(cmd.target.value)
        if phone.behaviour in (Behaviour.BUSY, Behaviour.OFFLINE):
            self._transfer_failed(call, cmd, _REFUSAL[phone.behaviour])
            return
        leg = Leg(
            f"{cmd.command_id}:target",
            call.call_id,
            cmd.target.value,
            v.RingMode.CONFERENCE,
            transfer_command_id=cmd.command_id,
        )
        self._add_leg(call, leg)
        self._note(call, "user", "ringing", f"{leg.user_id}'s phone rings.", leg.user_id)
        self._let_ring(call, leg, phone.behaviour, phone, cmd.timeout_s)

    # ================================================================ media

    def _start_media(self, call: Call, cmd: v.VoiceCommand, kind: str) -> Media:
        if call.media is not None:  # a new operation replaces the running one
            self._finish_media(call, v.MediaStatus.CANCELLED)
        media = Media(cmd, kind)
        call.media = media
        return media

    def _play_next(self, call: Call, media: Media) -> None:
        cmd = media.command
        assert isinstance(cmd, v.PlayPrompt)
        if media.prompt_index >= len(cmd.prompts):
            if not cmd.loop:
                self._finish_media(call, v.MediaStatus.COMPLETED)
                return
            media.prompt_index = 0
        prompt = cmd.prompts[media.prompt_index]
        media.prompt_index += 1
        self._say_prompt(call, media, prompt, lambda: self._play_next(call, media))

    def _prompt_then(
        self, call: Call, media: Media, prompt: v.Prompt | None, then: Callable[[], None]
    ) -> None:
        """Collect and record play their prompt (if any) before they listen."""
        if prompt is None:
            then()
            return
        media.prompting = True
        self._say_prompt(call, media, prompt, then)

    def _say_prompt(
        self, call: Call, media: Media, prompt: v.Prompt, then: Callable[[], None]
    ) -> None:
        text = prompt_text(prompt)
        detail = {"language": prompt.language} if prompt.language else {}
        self._note(call, "switchboard", "prompt", text, **detail)
        media.timer = self._after(self._duration(prompt), then, call)

    def _listen(self, call: Call, media: Media) -> None:
        cmd = media.command
        assert isinstance(cmd, v.CollectDigits)
        media.prompting = False
        media.listening_since = self.clock.now()
        timeout = cmd.first_digit_timeout_s if not media.digits else cmd.inter_digit_timeout_s
        self._rearm(media, self.clock.now() + timeout, call)

    def _start_recording(self, call: Call, media: Media) -> None:
        cmd = media.command
        assert isinstance(cmd, v.Record)
        media.prompting = False
        if cmd.beep:
            self._note(call, "switchboard", "beep", "Beep.")
        now = self.clock.now()
        media.listening_since = now
        self._note(call, "switchboard", "recording", "Recording starts.")
        self._rearm(media, now + cmd.initial_silence_timeout_s, call)
        self._after(
            cmd.max_duration_s,
            lambda: (
                self._finish_media(call, v.MediaStatus.COMPLETED) if call.media is media else None
            ),
            call,
        )

    def _rearm(self, media: Media, due: float, call: Call) -> None:
        if media.timer is not None:
            media.timer.cancel()
        media.timer = self._after(
            due - self.clock.now(), lambda: self._media_timeout(call, media), call
        )

    def _media_timeout(self, call: Call, media: Media) -> None:
        if call.media is not media:
            return
        if media.kind == "collect":
            self._digits_done(call, media, v.CollectReason.TIMEOUT)
        else:
            self._finish_media(call, v.MediaStatus.COMPLETED)

    def _digit(self, call: Call, digit: str) -> None:
        call.digit_sequence += 1
        media = call.media
        self._note(call, "caller", "digit", f"The caller presses {digit}.")
        self._emit(
            v.Digit,
            call_id=call.call_id,
            digit=digit,
            sequence=call.digit_sequence,
            command_id=media.command.command_id if media is not None else None,
        )
        if media is None:
            return
        cmd = media.command
        if isinstance(cmd, v.PlayPrompt):
            if cmd.barge_in:
                self._finish_media(call, v.MediaStatus.COMPLETED, digit=digit)
        elif isinstance(cmd, v.CollectDigits):
            if media.prompting:  # a key press interrupts the question
                media.prompting = False
                if media.timer is not None:
                    media.timer.cancel()
            if digit in cmd.terminators:
                self._digits_done(call, media, v.CollectReason.TERMINATOR)
                return
            media.digits += digit
            if len(media.digits) >= cmd.max_digits:
                self._digits_done(call, media, v.CollectReason.MAX)
            else:
                self._listen(call, media)
        elif isinstance(cmd, v.Record) and digit in cmd.stop_tones and not media.prompting:
            self._finish_media(call, v.MediaStatus.COMPLETED)

    def _digits_done(self, call: Call, media: Media, reason: v.CollectReason) -> None:
        if media.timer is not None:
            media.timer.cancel()
        call.media = None
        shown = media.digits or "nothing"
        self._note(call, "switchboard", "digits_collected", f"Collected {shown} ({reason.value}).")
        self._emit(
            v.DigitsCollected,
            call_id=call.call_id,
            command_id=media.command.command_id,
            digits=media.digits,
            reason=reason,
        )

    def _finish_media(self, call: Call, status: v.MediaStatus, *, digit: str | None = None) -> None:
        media = call.media
        if media is None:
            return
        call.media = None
        if media.timer is not None:
            media.timer.cancel()
        cmd = media.command
        if isinstance(cmd, v.Record) and status is v.MediaStatus.COMPLETED:
            self._recording_done(call, media, cmd)
            return
        if status is v.MediaStatus.CANCELLED:
            self._note(call, "switchboard", "media_cancelled", f"{cmd.name} is stopped.")
        self._emit(
            v.MediaCompleted,
            call_id=call.call_id,
            command_id=cmd.command_id,
            status=status,
            digit=digit,
        )

    def _recording_done(self, call: Call, media: Media, cmd: v.Record) -> None:
        """A recording ends: its length is the time from the beep to the last word."""
        start = media.listening_since
        spoken_until = media.speech_until
        if start is None or spoken_until is None:
            duration_ms = 0
            ref = ""
        else:
            end = min(spoken_until, self.clock.now(), start + cmd.max_duration_s)
            duration_ms = max(0, round((end - start) * 1000))
            call.recordings += 1
            ref = f"sim-recording:{call.call_id}:{call.recordings}"
        self._note(
            call,
            "switchboard",
            "recorded",
            f"Recording ends ({duration_ms / 1000:.1f} s)." if ref else "Nothing was recorded.",
        )
        self._emit(
            v.RecordingCompleted,
            call_id=call.call_id,
            command_id=cmd.command_id,
            recording_ref=ref,
            duration_ms=duration_ms,
        )

    # ================================================================ legs

    def _add_leg(self, call: Call, leg: Leg) -> None:
        self._legs[leg.leg_id] = leg
        call.legs[leg.leg_id] = leg

    def _let_ring(
        self, call: Call, leg: Leg, behaviour: Behaviour, phone: Phone, timeout_s: float
    ) -> None:
        """A ringing leg rings out after `timeout_s`, unless its phone is scripted to
        answer or decline before (a ring to a user and a blind transfer alike)."""
        leg.timer = self._after(timeout_s, lambda: self._ring_timeout(leg), call)
        if behaviour in (Behaviour.ANSWER, Behaviour.DECLINE):
            action = self._leg_answered if behaviour is Behaviour.ANSWER else self._scripted_decline
            self._after(self._delay(phone), lambda: self._if_ringing(leg, action), call)

    def _leg_answered(self, leg: Leg) -> None:
        if leg.timer is not None:
            leg.timer.cancel()
        call = self.calls[leg.call_id]
        leg.state = "answered"
        if leg.transfer_command_id is not None:
            self._note(call, "user", "answered", f"{leg.user_id} answers.", leg.user_id)
            leg.state = "ended"
            cmd = self._transfer_command(leg)
            if cmd is not None:
                self._transfer_accepted(call, cmd)
            return
        joined = " and joins the call" if leg.mode is v.RingMode.CONFERENCE else ""
        self._note(call, "user", "answered", f"{leg.user_id} answers{joined}.", leg.user_id)
        self._emit(v.LegAnswered, call_id=call.call_id, leg_id=leg.leg_id, user_id=leg.user_id)
        talk = self.phone(leg.user_id).talk_s
        if talk is not None:
            leg.talk_timer = self._after(talk, lambda: self._scripted_hang_up(leg), call)

    def _scripted_decline(self, leg: Leg) -> None:
        self._end_leg(leg, v.CallEndReason.DECLINED, "declined", f"{leg.user_id} declines.")

    def _scripted_hang_up(self, leg: Leg) -> None:
        if leg.state == "answered" and self.calls[leg.call_id].live:
            self._end_leg(leg, v.CallEndReason.HUNG_UP, "user_hung_up", f"{leg.user_id} hangs up.")

    def _if_ringing(self, leg: Leg, action: Callable[[Leg], None]) -> None:
        if leg.state == "ringing" and self.calls[leg.call_id].live:
            action(leg)

    def _ring_timeout(self, leg: Leg) -> None:
        if leg.state == "ringing":
            self._end_leg(
                leg, v.CallEndReason.NO_ANSWER, "no_answer", f"{leg.user_id} does not answer."
            )

    def _end_leg(self, leg: Leg, reason: v.CallEndReason, what: str, text: str) -> None:
        """End a leg and tell the engine (a transfer's own leg reports on the transfer)."""
        for timer in (leg.timer, leg.talk_timer):
            if timer is not None:
                timer.cancel()
        leg.state = "ended"
        call = self.calls[leg.call_id]
        self._note(call, "user", what, text, leg.user_id)
        if leg.transfer_command_id is not None:
            cmd = self._transfer_command(leg)
            if cmd is not None:
                self._transfer_failed(call, cmd, reason)
            return
        self._emit(
            v.LegEnded,
            call_id=call.call_id,
            leg_id=leg.leg_id,
            user_id=leg.user_id,
            reason=reason,
        )

    # ================================================================ transfers

    def _transfer_command(self, leg: Leg) -> v.TransferBlind | None:
        return self._transfers.get(leg.transfer_command_id or "")

    def _transfer_state(
        self,
        call: Call,
        cmd: v.TransferBlind,
        state: v.TransferStatus,
        code: str | None = None,
    ) -> None:
        self._transfers[cmd.command_id] = cmd
        self._emit(
            v.TransferState,
            call_id=call.call_id,
            command_id=cmd.command_id,
            state=state,
            code=code,
        )

    def _transfer_failed(self, call: Call, cmd: v.TransferBlind, reason: v.CallEndReason) -> None:
        if not call.live:
            return
        self._note(call, "network", "transfer_failed", f"The transfer fails: {reason.value}.")
        self._transfer_state(call, cmd, v.TransferStatus.FAILED, reason.value)

    def _transfer_accepted(self, call: Call, cmd: v.TransferBlind) -> None:
        if not call.live:
            return
        target = f"{cmd.target.type.value} {cmd.target.value}"
        self._transfer_state(call, cmd, v.TransferStatus.ACCEPTED)
        self._transfer_state(call, cmd, v.TransferStatus.COMPLETED)
        if cmd.keep_tracking:
            self._note(
                call, "network", "transferred", f"{target} takes the call; tracking goes on."
            )
            return
        self._note(call, "network", "transferred", f"{target} takes the call.")
        self._end_call(call, v.CallEndReason.TRANSFERRED, "system", verb=None)

    # ================================================================ calls

    def _end_call(
        self, call: Call, reason: v.CallEndReason, ended_by: str, *, verb: str | None = "hang_up"
    ) -> None:
        """End the call and everything on it; only `call_ended` is reported (the legs end
        with it, as they do at Teams when the call goes away)."""
        if not call.live:
            return
        if call.media is not None:
            media, call.media = call.media, None
            if media.timer is not None:
                media.timer.cancel()
            if media.kind == "record" and media.speech_until is not None:
                cmd = media.command
                assert isinstance(cmd, v.Record)
                self._recording_done(call, media, cmd)
        for leg in call.legs.values():
            if leg.state != "ended":
                leg.state = "ended"
                for timer in (leg.timer, leg.talk_timer):
                    if timer is not None:
                        timer.cancel()
        for timer in call.timers:
            timer.cancel()
        call.timers.clear()
        call.state = "ended"
        call.on_hold = False
        call.ended_at = self.clock.now()
        call.end_reason = reason
        call.ended_by = ended_by
        if verb is not None:
            what = _HANG_UP_VERB.get(ended_by, "ended") if verb == "hang_up" else verb
            who = {"customer": "caller", "system": "switchboard"}.get(ended_by, ended_by)
            self._note(call, who, what, f"The call ends ({reason.value}, by {ended_by}).")
        self._emit(
            v.CallEnded,
            call_id=call.call_id,
            reason=reason,
            ended_by=v.EndedBy(ended_by),
        )
        self.calls_ended += 1
        self._ended.append(call)
        self._forget_ended()

    def _forget_ended(self) -> None:
        """Drop ended calls beyond the count and age the configuration keeps (checked
        whenever a call starts or ends), with their legs and transfers."""
        kept, max_age = self.config.ended_calls_kept, self.config.ended_call_max_age_s
        oldest = self.clock.now() - max_age
        ended = self._ended
        while ended and (len(ended) > kept or (ended[0].ended_at or 0.0) < oldest):
            call = ended.popleft()
            self.calls.pop(call.call_id, None)
            for leg_id in call.legs:
                self._legs.pop(leg_id, None)
            for command_id in [
                c for c, cmd in self._transfers.items() if cmd.call_id == call.call_id
            ]:
                del self._transfers[command_id]

    def _answer_window_over(self, call: Call) -> None:
        if call.state == "incoming":
            self._note(call, "network", "not_answered", "Nobody answers; the network gives up.")
            self._end_call(call, v.CallEndReason.NO_ANSWER, "network", verb=None)

    def _caller_gives_up(self, call: Call) -> None:
        if call.live:
            self._end_call(call, _ended_reason(call), "customer")

    # ================================================================ helpers

    def _emit(self, cls: type[v.VoiceEvent], **fields: Any) -> None:
        self._event_no += 1
        event = cls(
            tenant_id=self.tenant_id,
            provider_event_id=f"sim-{self._run}-{self._event_no}",
            received_at=self.clock.now(),
            **fields,
        )
        if self._sink is None:
            self._undelivered.append(event)
        else:
            self._sink(event)

    def _note(
        self, call: Call, who: str, what: str, text: str, user_id: str | None = None, **detail: Any
    ) -> None:
        call.note(TranscriptEntry(self.clock.now(), who, what, text, user_id, detail))

    def _duration(self, prompt: v.Prompt) -> float:
        if prompt.tts is None:
            return self.config.audio_prompt_s
        words = len(prompt_text(prompt).split())
        return max(self.config.min_prompt_s, words * self.config.seconds_per_word)

    def _delay(self, phone: Phone) -> float:
        if phone.after_s is not None:
            return phone.after_s
        low, high = self.config.answer_delay_s
        return self.rng.uniform(low, high)

    def _take_failure(
        self, command: str, call_id: str | None, user_id: str | None, only: str | None = None
    ) -> str | None:
        for failure in self.failures:
            if failure.matches(command, call_id, user_id) and (
                only is None or failure.reason == only
            ):
                failure.times -= 1
                if failure.times == 0:
                    self.failures.remove(failure)
                return failure.reason
        return None

    def _live_call(self, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise SimulatorError(f"No call with id '{call_id}'.", code="call_not_found", status=404)
        if not call.live:
            raise SimulatorError("The call has ended.", code="call_ended")
        return call

    def _command_call(self, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise SimulatorError(f"No call with id '{call_id}'.", code="call_not_found")
        if not call.live:
            raise SimulatorError(f"The call '{call_id}' has ended.", code="call_ended")
        return call

    def _established(self, call_id: str) -> Call:
        call = self._command_call(call_id)
        if call.state != "established":
            raise SimulatorError("The call is not answered yet.", code="call_not_established")
        return call


def _ended_reason(call: Call) -> v.CallEndReason:
    """A call that was up was hung up; one still ringing in was cancelled."""
    return v.CallEndReason.HUNG_UP if call.state == "established" else v.CallEndReason.CANCELLED


_REFUSAL = {Behaviour.BUSY: v.CallEndReason.BUSY, Behaviour.OFFLINE: v.CallEndReason.UNREACHABLE}
#: How an injected ring failure plays out: refused at once, or after ringing.
_FAILURE_BEHAVIOUR = {"no_answer": Behaviour.IGNORE, "declined": Behaviour.DECLINE}

_HANDLERS: dict[type[v.VoiceCommand], Callable[[VoiceSimulator, Any], None]] = {
    v.Answer: VoiceSimulator._answer,
    v.Reject: VoiceSimulator._reject,
    v.Redirect: VoiceSimulator._redirect,
    v.PlayPrompt: VoiceSimulator._play,
    v.CollectDigits: VoiceSimulator._collect,
    v.Record: VoiceSimulator._record,
    v.CancelMedia: VoiceSimulator._cancel_media,
    v.RingUser: VoiceSimulator._ring,
    v.CancelRing: VoiceSimulator._cancel_ring,
    v.Bridge: VoiceSimulator._bridge,
    v.Hold: VoiceSimulator._hold,
    v.Resume: VoiceSimulator._resume,
    v.HangUp: VoiceSimulator._hang_up,
    v.TransferBlind: VoiceSimulator._transfer,
}


class SimulatorDriver:
    """Runs a simulator's deadlines on a real clock inside the service's event loop."""

    def __init__(self, simulator: VoiceSimulator) -> None:
        self.simulator = simulator
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        simulator.timers.on_arm = lambda _due: self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                self._run(), name=f"voice-simulator-{self.simulator.tenant_id}"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        sim = self.simulator
        while True:
            due = sim.next_deadline()
            timeout = None if due is None else max(0.0, due - sim.clock.now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            sim.advance()
