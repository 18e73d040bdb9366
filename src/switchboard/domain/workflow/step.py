"""One step of a workflow: a node, what it waits for and one input in; a `Step` out.

Every activity of 04 §3 is a function here, written as the stages it goes
through. A stage that needs the caller or the provider issues a command and
waits for its result by `command_id`; a result for any other command (one that
was replaced or cancelled) is stale and leaves the node as it was. Timeouts of
key presses and recordings are the provider's (they arrive as results); the
engine's clock is needed only for pauses and waits of the workflow itself
(`message.delay_s`, `wait_for_parameter.timeout_s`) and as a guard on answering.

Failures follow RT6: a failed `announcement` or `message` continues with a
warning, a failed `transfer` takes its `failed` exit, anything else ends the
task in error.

Decisions (docs/workflows.md, "Runtime"):

* **A task without a call** (an audio task created over the API, with no
  provider call behind it) cannot play or hear anything. Rather than fail, its
  voice activities take the path of a caller who does nothing, in the time
  that takes: an announcement lasts `NO_MEDIA_PROMPT_S` per repetition, a
  menu ends `no_input` after its timeout for every try, digit input likewise,
  consent is `not_granted` after its timeout, a voice message `no_recording`
  after the silence timeout — each with a warning. The same document then
  works for calls and for API-created test tasks, and a loop through
  announcements still waits (V12) instead of spinning.
* **Menus** (`input_customer`) collect one key. An invalid or missing key
  plays `invalid_prompt` / `no_input_prompt` (if set) and then the menu again,
  `retries` times in all; after that the `invalid` / `no_input` exit is taken.
* **`accept`** on a call answers it and waits for the provider to report the
  call established (at most `ANSWER_TIMEOUT_S`), since nothing can be played
  to a call that is not up yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from switchboard.domain import voice as v
from switchboard.domain.enums import Modality
from switchboard.domain.workflow.activities import option_exit
from switchboard.domain.workflow.document import JsonValue, Node
from switchboard.domain.workflow.effective import effective_settings
from switchboard.domain.workflow.rendering import compare, prompt_of, render
from switchboard.domain.workflow.runtime import (
    MAX_PARAMETER_LENGTH,
    Accept,
    ConnectExternal,
    Effect,
    Ending,
    Enqueue,
    Enter,
    Facts,
    Input,
    LeaveQueue,
    Note,
    OfferToUser,
    ParameterChanged,
    Queued,
    QueueLeft,
    RecordConsent,
    SendEmail,
    SendMessage,
    SetParameter,
    Step,
    Timeout,
    TransferFailed,
    TransferToService,
    Voice,
    VoiceMessage,
    Wait,
)

__all__ = ["ANSWER_TIMEOUT_S", "NO_MEDIA_PROMPT_S", "step"]

#: How long `accept` waits for the provider to report the answered call established.
ANSWER_TIMEOUT_S: Final = 10.0
#: How long a prompt "plays" to a task without a call (see the module's decisions).
NO_MEDIA_PROMPT_S: Final = 2.0
#: Ring time bounds of a provider redirect (11 §1.2).
_REDIRECT_TIMEOUT: Final = (15, 90)
_STAY: Final = Step()
#: The phase of a task without a call that stands in for a silent caller.
_NO_MEDIA: Final = "no_media"


@dataclass(frozen=True, slots=True)
class _Ctx:
    node: Node
    settings: dict[str, JsonValue]
    wait: Wait | None
    facts: Facts

    @property
    def audio(self) -> bool:
        return self.facts.modality is Modality.AUDIO

    @property
    def call(self) -> str | None:
        return self.facts.call_id if self.audio else None

    def text(self, name: str, default: str = "") -> str:
        value = self.settings.get(name)
        return value if isinstance(value, str) else default

    def number(self, name: str) -> int:
        value = self.settings.get(name)
        assert isinstance(value, int)  # defaults fill every number of a valid document
        return value

    def flag(self, name: str) -> bool:
        return self.settings.get(name) is True

    def prompt(self, name: str) -> tuple[v.Prompt | None, list[Note]]:
        data = self.settings.get(name)
        if data is None:
            return None, []
        return prompt_of(data, self.facts, node_id=self.node.id, what=name)

    def render(self, name: str, default: str = "") -> tuple[str, list[Note]]:
        return render(self.text(name, default), self.facts, node_id=self.node.id, what=name)

    def result_of(self, given: Input) -> v.VoiceEvent | None:
        """The provider event if it answers the command this node waits for."""
        if not isinstance(given, Voice) or self.wait is None:
            return None
        command_id = getattr(given.event, "command_id", None)
        return given.event if command_id == self.wait.command_id else None

    def note(self, code: str, message: str) -> Note:
        return Note(code, f"Node {self.node.id!r} ({self.node.type}): {message}")


def step(node: Node, modality: Modality, wait: Wait | None, given: Input, facts: Facts) -> Step:
    """What `given` does to `node`, which waits for `wait` (None: just entered).

    A `_no_media` wait is the same for every activity that makes one: only its
    timeout ends it, through the exit it names. It is handled here, once.
    """
    if wait is not None and wait.phase == _NO_MEDIA:
        return _silent(wait, given)
    ctx = _Ctx(node, effective_settings(node, modality), wait, facts)
    return _ACTIVITIES[node.type](ctx, given)


def _no_media(
    ctx: _Ctx, exit_name: str, seconds: float, *, effects: tuple[Effect, ...] = ()
) -> Step:
    """A caller who does nothing, for as long as the activity would wait for them."""
    return Step(
        effects=effects,
        wait=Wait(_NO_MEDIA, deadline=ctx.facts.now + seconds, memo=exit_name),
        notes=(
            ctx.note(
                "no_media",
                f"the task has no call to play or listen on; it takes {exit_name} "
                f"after {seconds:g} s.",
            ),
        ),
    )


def _silent(wait: Wait, given: Input) -> Step:
    """A `_no_media` wait: the silent caller's time is up at its timeout, not before."""
    if not isinstance(given, Timeout):
        return _STAY
    assert wait.memo is not None
    return Step(exit=wait.memo)


def _media_failed(event: v.VoiceEvent) -> bool:
    if isinstance(event, v.OperationFailed):
        return True
    return isinstance(event, v.MediaCompleted) and event.status is v.MediaStatus.FAILED


def _media_done(event: v.VoiceEvent | None) -> bool:
    """A playback or collection ended, one way or another (a key press along the way
    is not an end)."""
    return isinstance(event, v.MediaCompleted | v.OperationFailed)


def _fail(ctx: _Ctx, error: str, what: str) -> Step:
    return Step(end=Ending.FAILED, error=error, notes=(ctx.note(error, what),))


# ------------------------------------------------------------------ 3.1, 3.2


def _start(ctx: _Ctx, given: Input) -> Step:
    return Step(exit="next") if isinstance(given, Enter) else _STAY


def _accept(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        if ctx.facts.accepted:
            return Step(exit="next")  # accepted in an earlier service session
        call = ctx.call
        if call is None:
            return Step(exit="next", effects=(Accept(),))
        answer = v.Answer(command_id=ctx.facts.new_id(), call_id=call)
        return Step(
            effects=(Accept(),),
            commands=(answer,),
            wait=Wait("answering", answer.command_id, ctx.facts.now + ANSWER_TIMEOUT_S),
        )
    if isinstance(given, Timeout):
        return _fail(ctx, "answer_timeout", "the provider did not report the call answered.")
    if isinstance(given, Voice):
        event = given.event
        if isinstance(event, v.CallStateChanged) and event.state is v.CallState.ESTABLISHED:
            return Step(exit="next")
        if ctx.result_of(given) is not None and isinstance(event, v.OperationFailed):
            return _fail(ctx, "answer_failed", f"answering the call failed ({event.code}).")
    return _STAY


# ------------------------------------------------------------------ 3.3, 3.4


def _announcement(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        call = ctx.call
        if call is None:
            return _no_media(ctx, "next", NO_MEDIA_PROMPT_S * ctx.number("repeat"))
        prompt, notes = ctx.prompt("prompt")
        assert prompt is not None
        play = v.PlayPrompt(
            command_id=ctx.facts.new_id(),
            call_id=call,
            prompts=(prompt,) * ctx.number("repeat"),
            barge_in=ctx.flag("barge_in"),
        )
        return Step(commands=(play,), wait=Wait("play", play.command_id), notes=tuple(notes))
    event = ctx.result_of(given)
    if event is None:
        return _STAY
    if _media_failed(event):
        # RT6: an announcement that cannot be played is skipped, not fatal.
        return Step(
            exit="next", notes=(ctx.note("announcement_failed", "it could not be played."),)
        )
    if isinstance(event, v.MediaCompleted):
        return Step(exit="next")
    return _STAY


def _message(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        text, notes = ctx.render("text")
        return Step(
            effects=(SendMessage(text),),
            wait=Wait("delay", deadline=ctx.facts.now + ctx.number("delay_s")),
            notes=tuple(notes),
        )
    return Step(exit="next") if isinstance(given, Timeout) else _STAY


# ------------------------------------------------------------------ 3.5 menus


def _collect(ctx: _Ctx, attempt: int, *, max_digits: int = 1, notes: tuple[Note, ...] = ()) -> Step:
    call = ctx.call
    assert call is not None
    prompt, rendered = ctx.prompt("prompt")
    command = v.CollectDigits(
        command_id=ctx.facts.new_id(),
        call_id=call,
        prompt=prompt,
        min_digits=ctx.number("min_digits") if "min_digits" in ctx.settings else 1,
        max_digits=max_digits,
        first_digit_timeout_s=ctx.number(
            "first_digit_timeout_s" if "first_digit_timeout_s" in ctx.settings else "timeout_s"
        ),
        inter_digit_timeout_s=(
            ctx.number("inter_digit_timeout_s") if "inter_digit_timeout_s" in ctx.settings else 5
        ),
        terminators=_terminator(ctx),
    )
    return Step(
        commands=(command,),
        wait=Wait("collect", command.command_id, attempt=attempt),
        notes=(*notes, *rendered),
    )


def _terminator(ctx: _Ctx) -> str:
    value = ctx.settings.get("terminator")
    return value if isinstance(value, str) and value != "none" else ""


def _retry_menu(ctx: _Ctx, outcome: str) -> Step:
    """After an invalid or missing key: a notice and the menu again, or the exit."""
    assert ctx.wait is not None
    attempt = ctx.wait.attempt
    if attempt >= ctx.number("retries"):
        return Step(exit=outcome)
    notice, notes = ctx.prompt("invalid_prompt" if outcome == "invalid" else "no_input_prompt")
    if notice is None:
        return _collect(ctx, attempt + 1)
    call = ctx.call
    assert call is not None
    play = v.PlayPrompt(command_id=ctx.facts.new_id(), call_id=call, prompts=(notice,))
    return Step(
        commands=(play,),
        wait=Wait("notice", play.command_id, attempt=attempt + 1, memo=outcome),
        notes=tuple(notes),
    )


def _input_customer(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        if ctx.call is None:
            tries = ctx.number("retries") + 1
            return _no_media(ctx, "no_input", ctx.number("timeout_s") * tries)
        return _collect(ctx, 0)
    event = ctx.result_of(given)
    if event is None or ctx.wait is None:
        return _STAY
    if ctx.wait.phase == "notice":
        if not _media_done(event):
            return _STAY
        notes = (ctx.note("prompt_failed", "a notice could not be played."),)
        return _collect(ctx, ctx.wait.attempt, notes=notes if _media_failed(event) else ())
    if _media_failed(event):
        return _fail(ctx, "media_failed", "the menu could not be played or heard.")
    if isinstance(event, v.MediaCompleted):  # cancelled from elsewhere: as if nothing was pressed
        return _retry_menu(ctx, "no_input")
    if not isinstance(event, v.DigitsCollected):
        return _STAY
    key = event.digits[:1]
    options = ctx.settings.get("options")
    assert isinstance(options, list)
    if key and key in options:
        store = ctx.settings.get("store_parameter_id")
        effects = (SetParameter(store, key),) if isinstance(store, str) else ()
        return Step(exit=option_exit(key), effects=effects)
    return _retry_menu(ctx, "invalid" if key else "no_input")


# ------------------------------------------------------------------ 3.6 digits


def _collect_information(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        if ctx.call is None:
            tries = ctx.number("retries") + 1
            return _no_media(ctx, "no_input", ctx.number("first_digit_timeout_s") * tries)
        return _collect(ctx, 0, max_digits=ctx.number("max_digits"))
    event = ctx.result_of(given)
    if event is None or ctx.wait is None:
        return _STAY
    if _media_failed(event):
        return _fail(ctx, "media_failed", "the digits could not be asked for or heard.")
    if isinstance(event, v.MediaCompleted):
        digits = ""
    elif isinstance(event, v.DigitsCollected):
        digits = event.digits
        terminator = _terminator(ctx)
        if terminator and digits.endswith(terminator):
            digits = digits[: -len(terminator)]
    else:
        return _STAY
    if digits and _digits_fit(ctx, digits):
        return Step(exit="collected", effects=(SetParameter(ctx.text("parameter_id"), digits),))
    outcome = "invalid" if digits else "no_input"
    if ctx.wait.attempt >= ctx.number("retries"):
        return Step(exit=outcome)
    return _collect(ctx, ctx.wait.attempt + 1, max_digits=ctx.number("max_digits"))


def _digits_fit(ctx: _Ctx, digits: str) -> bool:
    if not ctx.number("min_digits") <= len(digits) <= ctx.number("max_digits"):
        return False
    pattern = ctx.settings.get("pattern")
    return not isinstance(pattern, str) or compare("matches", digits, value=pattern)


# ------------------------------------------------------------------ 3.7 – 3.10 decisions


def _check_opening_hours(ctx: _Ctx, given: Input) -> Step:
    if not isinstance(given, Enter):
        return _STAY
    return Step(exit=ctx.facts.opening_state(ctx.text("calendar", "service")))


def _check_parameter(ctx: _Ctx, given: Input) -> Step:
    if not isinstance(given, Enter):
        return _STAY
    subject = ctx.text("subject")
    actual = ctx.facts.lookup(subject) or ""
    namespace, _, name = subject.partition(".")
    default = ctx.facts.parameter_default(name) if namespace == "param" else None
    values = ctx.settings.get("values")
    value = ctx.settings.get("value")
    matched = compare(
        ctx.text("operator"),
        actual,
        value=value if isinstance(value, str) else None,
        values=[x for x in values if isinstance(x, str)] if isinstance(values, list) else [],
        case_sensitive=ctx.flag("case_sensitive"),
        default=default,
    )
    return Step(exit="match" if matched else "no_match")


def _set_parameter(ctx: _Ctx, given: Input) -> Step:
    if not isinstance(given, Enter):
        return _STAY
    value, notes = ctx.render("value")
    if len(value) > MAX_PARAMETER_LENGTH:
        notes.append(
            ctx.note(
                "value_truncated",
                f"the value has {len(value)} characters; it was cut to {MAX_PARAMETER_LENGTH}.",
            )
        )
        value = value[:MAX_PARAMETER_LENGTH]
    return Step(
        exit="next",
        effects=(SetParameter(ctx.text("parameter_id"), value),),
        notes=tuple(notes),
    )


def _availability_based_routing(ctx: _Ctx, given: Input) -> Step:
    if not isinstance(given, Enter):
        return _STAY
    service = ctx.settings.get("service_id")
    modality = ctx.settings.get("modality")
    return Step(
        exit=ctx.facts.availability(
            service if isinstance(service, str) else None,
            modality if isinstance(modality, str) else None,
        )
    )


# ------------------------------------------------------------------ 3.11 – 3.15 queues


def _enqueue(ctx: _Ctx, *, background: bool) -> Step:
    if ctx.facts.queued_this_session:
        # V6 at run time, as defence in depth: never a second queue entry per session.
        return Step(
            exit="full",
            notes=(
                ctx.note(
                    "queue_more_than_once",
                    "the task was queued in this service session already; took full.",
                ),
            ),
        )
    priority = ctx.settings.get("priority")
    ordering = ctx.settings.get("user_ordering")
    return Step(
        effects=(
            Enqueue(
                distribution_type=ctx.text("distribution_type"),
                rona_timeout_s=ctx.number("rona_timeout_s"),
                max_queue_time_s=ctx.number("max_queue_time_s"),
                exit_when_no_users=ctx.flag("exit_when_no_users"),
                priority=priority if isinstance(priority, str) else None,
                user_ordering=ordering if isinstance(ordering, str) else None,
                background=background,
            ),
        ),
        wait=Wait("queuing"),
    )


def _queue(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        return _enqueue(ctx, background=False)
    if isinstance(given, Queued):
        return _waiting_media(ctx)
    if isinstance(given, QueueLeft):
        playing = ctx.wait.command_id if ctx.wait is not None else None
        call = ctx.call
        commands: tuple[v.VoiceCommand, ...] = ()
        if playing is not None and call is not None:
            commands = (v.CancelMedia(command_id=ctx.facts.new_id(), call_id=call),)
        return Step(exit=given.reason, commands=commands)
    event = ctx.result_of(given)
    if event is not None and _media_failed(event):
        return Step(
            wait=Wait("queued"),
            notes=(ctx.note("waiting_prompt_failed", "the waiting prompts stopped playing."),),
        )
    return _STAY


def _waiting_media(ctx: _Ctx) -> Step:
    """On entering the queue: waiting prompts looped (audio) or a message (chat)."""
    prompts = ctx.settings.get("waiting_prompts")
    call = ctx.call
    if isinstance(prompts, list) and prompts and call is not None:
        rendered = [
            prompt_of(p, ctx.facts, node_id=ctx.node.id, what="waiting_prompts") for p in prompts
        ]
        play = v.PlayPrompt(
            command_id=ctx.facts.new_id(),
            call_id=call,
            prompts=tuple(p for p, _ in rendered),
            loop=True,
        )
        played = tuple(n for _, ns in rendered for n in ns)
        return Step(commands=(play,), wait=Wait("queued", play.command_id), notes=played)
    if ctx.facts.modality is Modality.CHAT and "waiting_message" in ctx.settings:
        text, notes = ctx.render("waiting_message")
        return Step(effects=(SendMessage(text),), wait=Wait("queued"), notes=tuple(notes))
    return Step(wait=Wait("queued"))


def _queue_task(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        return _enqueue(ctx, background=True)
    if isinstance(given, Queued):
        return Step(exit="next")
    if isinstance(given, QueueLeft):
        # Full: nothing was queued. Otherwise the queue gave up at once (no users);
        # check_task will say so.
        return Step(exit="full" if given.reason == "full" else "next")
    return _STAY


def _check_task(ctx: _Ctx, given: Input) -> Step:
    return Step(exit=ctx.facts.queue_status) if isinstance(given, Enter) else _STAY


def _cancel_task(ctx: _Ctx, given: Input) -> Step:
    return Step(exit="next", effects=(LeaveQueue(),)) if isinstance(given, Enter) else _STAY


def _wait_for_parameter(ctx: _Ctx, given: Input) -> Step:
    parameter = ctx.text("parameter_id")
    equals = ctx.text("condition") == "equals"
    expected = ctx.text("value")
    if isinstance(given, Enter):
        if equals and (ctx.facts.lookup(f"param.{parameter}") or "") == expected:
            return Step(exit="updated")
        return Step(wait=Wait("waiting", deadline=ctx.facts.now + ctx.number("timeout_s")))
    if isinstance(given, Timeout):
        return Step(exit="timeout")
    if (
        isinstance(given, ParameterChanged)
        and given.parameter_id == parameter
        and (not equals or given.value == expected)
    ):
        return Step(exit="updated")
    return _STAY


# ------------------------------------------------------------------ 3.16 transfer


def _leave_background_queue(ctx: _Ctx) -> tuple[Effect, ...]:
    """RT9: transfer, voice_message and disconnect first take the task out of the queue."""
    return (LeaveQueue(),) if ctx.facts.queued_in_background else ()


def _transfer(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        leave = _leave_background_queue(ctx)
        prompt, notes = ctx.prompt("prompt")
        call = ctx.call
        if prompt is not None and call is not None:
            play = v.PlayPrompt(command_id=ctx.facts.new_id(), call_id=call, prompts=(prompt,))
            return Step(
                effects=leave,
                commands=(play,),
                wait=Wait("prompt", play.command_id),
                notes=tuple(notes),
            )
        begun = _begin_transfer(ctx)
        return replace(begun, effects=(*leave, *begun.effects), notes=(*notes, *begun.notes))
    if isinstance(given, TransferFailed):
        return _transfer_failed(ctx, given.error)
    if ctx.wait is not None and ctx.wait.phase == "prompt":
        return _begin_transfer(ctx) if _media_done(ctx.result_of(given)) else _STAY
    event = ctx.result_of(given)
    if event is None:
        if (
            ctx.wait is not None
            and ctx.wait.phase == "redirect"
            and isinstance(given, Voice)
            and isinstance(given.event, v.CallEnded)
            and given.event.reason is v.CallEndReason.REDIRECTED
        ):
            return Step(end=Ending.TRANSFERRED_OUT)
        return _STAY
    if isinstance(event, v.OperationFailed):
        return _transfer_failed(ctx, "provider_error")
    if isinstance(event, v.TransferState):
        if event.state in (v.TransferStatus.ACCEPTED, v.TransferStatus.COMPLETED):
            if ctx.flag("leave"):
                return Step(end=Ending.TRANSFERRED_OUT)
            return Step(end=Ending.HANDED_OVER, effects=(ConnectExternal(ctx.text("target")),))
        if event.state is v.TransferStatus.FAILED:
            return _transfer_failed(ctx, event.code or "no_answer")
    return _STAY


def _begin_transfer(ctx: _Ctx) -> Step:
    kind, target = ctx.text("target_type"), ctx.text("target")
    if kind == "service":
        return Step(
            effects=(TransferToService(target, ctx.flag("keep_queue_position")),),
            wait=Wait("transferring", memo=kind),
        )
    call = ctx.call
    ring = ctx.number("ring_timeout_s")
    if kind == "user" and (call is None or ctx.facts.accepted):
        # The user's phone is rung into the answered call (a transfer offer, T34).
        return Step(effects=(OfferToUser(target, ring),), wait=Wait("ringing", memo=kind))
    if call is None:
        return _transfer_failed(ctx, "transfer_not_supported")
    to = v.Target(
        type={"user": v.TargetType.USER, "external_number": v.TargetType.PHONE}.get(
            kind, v.TargetType.UPN
        ),
        value=target,
    )
    if ctx.facts.accepted:
        blind = v.TransferBlind(
            command_id=ctx.facts.new_id(),
            call_id=call,
            target=to,
            keep_tracking=not ctx.flag("leave"),
            timeout_s=ring,
        )
        return Step(commands=(blind,), wait=Wait("external", blind.command_id, memo=kind))
    # Before accept the call is not answered: the provider redirects it (04 §3 P).
    low, high = _REDIRECT_TIMEOUT
    redirect = v.Redirect(
        command_id=ctx.facts.new_id(),
        call_id=call,
        targets=(to,),
        timeout_s=min(max(ring, low), high),
    )
    return Step(commands=(redirect,), wait=Wait("redirect", redirect.command_id, memo=kind))


def _transfer_failed(ctx: _Ctx, error: str) -> Step:
    return Step(
        exit="failed",
        error=error,
        notes=(
            ctx.note(
                "transfer_failed", f"the transfer to {ctx.text('target')!r} failed ({error})."
            ),
        ),
    )


# ------------------------------------------------------------------ 3.17, 3.18 recording, consent


def _voice_message(ctx: _Ctx, given: Input) -> Step:
    if isinstance(given, Enter):
        leave = _leave_background_queue(ctx)
        call = ctx.call
        if call is None:
            return _no_media(ctx, "no_recording", ctx.number("silence_timeout_s"), effects=leave)
        prompt, notes = ctx.prompt("prompt")
        silence = ctx.number("silence_timeout_s")
        record = v.Record(
            command_id=ctx.facts.new_id(),
            call_id=call,
            prompt=prompt,
            max_duration_s=ctx.number("max_duration_s"),
            initial_silence_timeout_s=silence,
            max_silence_timeout_s=silence,
            stop_tones=ctx.text("stop_keys"),
            beep=ctx.flag("beep"),
        )
        return Step(
            effects=leave,
            commands=(record,),
            wait=Wait("recording", record.command_id),
            notes=tuple(notes),
        )
    event = ctx.result_of(given)
    if event is None:
        return _STAY
    if _media_failed(event):
        return _fail(ctx, "recording_failed", "the voice message could not be recorded.")
    if isinstance(event, v.MediaCompleted):  # cancelled: nothing kept
        return Step(exit="no_recording")
    if isinstance(event, v.RecordingCompleted):
        if not event.recording_ref or event.duration_ms <= 0:
            return Step(exit="no_recording")
        notify = ctx.settings.get("notify")
        effects: list[Effect] = [
            VoiceMessage(
                recording_ref=event.recording_ref,
                duration_s=event.duration_ms / 1000,
                mailbox=ctx.text("mailbox", "service"),
                notify=tuple(
                    {str(k): str(val) for k, val in item.items()}
                    for item in (notify if isinstance(notify, list) else [])
                    if isinstance(item, Mapping)
                ),
            )
        ]
        store = ctx.settings.get("store_parameter_id")
        if isinstance(store, str):
            effects.append(SetParameter(store, event.recording_ref))
        return Step(exit="recorded", effects=tuple(effects))
    return _STAY


def _consent_purpose(ctx: _Ctx) -> str:
    purpose = ctx.text("purpose", "transfer_on_user_exit")
    return ctx.text("purpose_name") if purpose == "custom" else purpose


def _record_consent(ctx: _Ctx, given: Input) -> Step:
    purpose = _consent_purpose(ctx)
    if isinstance(given, Enter):
        call = ctx.call
        if call is None:
            return _no_media(
                ctx,
                "not_granted",
                ctx.number("timeout_s"),
                effects=(RecordConsent(purpose, False),),
            )
        prompt, notes = ctx.prompt("prompt")
        ask = v.CollectDigits(
            command_id=ctx.facts.new_id(),
            call_id=call,
            prompt=prompt,
            min_digits=1,
            max_digits=1,
            first_digit_timeout_s=ctx.number("timeout_s"),
        )
        return Step(commands=(ask,), wait=Wait("collect", ask.command_id), notes=tuple(notes))
    event = ctx.result_of(given)
    if event is None:
        return _STAY
    if _media_failed(event):
        return _fail(ctx, "media_failed", "consent could not be asked for.")
    if isinstance(event, v.DigitsCollected | v.MediaCompleted):
        granted = isinstance(event, v.DigitsCollected) and event.digits[:1] == ctx.text("grant_key")
        return Step(
            exit="granted" if granted else "not_granted",
            effects=(RecordConsent(purpose, granted),),
        )
    return _STAY


# ------------------------------------------------------------------ 3.19, 3.20


def _disconnect(ctx: _Ctx, given: Input) -> Step:
    call = ctx.call
    if isinstance(given, Enter):
        leave = _leave_background_queue(ctx)
        if ctx.facts.modality is Modality.CHAT and "final_message" in ctx.settings:
            text, notes = ctx.render("final_message")
            return Step(
                end=Ending.DISCONNECTED,
                effects=(*leave, SendMessage(text)),
                notes=tuple(notes),
            )
        prompt, notes = ctx.prompt("final_prompt")
        if prompt is not None and call is not None:
            play = v.PlayPrompt(command_id=ctx.facts.new_id(), call_id=call, prompts=(prompt,))
            return Step(
                effects=leave,
                commands=(play,),
                wait=Wait("final", play.command_id),
                notes=tuple(notes),
            )
        return Step(end=Ending.DISCONNECTED, effects=leave, commands=_hang_up(ctx))
    if _media_done(ctx.result_of(given)):
        return Step(end=Ending.DISCONNECTED, commands=_hang_up(ctx))
    return _STAY


def _hang_up(ctx: _Ctx) -> tuple[v.VoiceCommand, ...]:
    call = ctx.call
    return (v.HangUp(command_id=ctx.facts.new_id(), call_id=call),) if call is not None else ()


def _email_reply(ctx: _Ctx, given: Input) -> Step:
    if not isinstance(given, Enter):
        return _STAY
    subject, first = ctx.render("subject", "Re: {{system.email_subject}}")
    body, second = ctx.render("body")
    return Step(exit="next", effects=(SendEmail(subject, body),), notes=(*first, *second))


_ACTIVITIES: Final[dict[str, Callable[[_Ctx, Input], Step]]] = {
    "start": _start,
    "accept": _accept,
    "announcement": _announcement,
    "message": _message,
    "input_customer": _input_customer,
    "collect_information": _collect_information,
    "check_opening_hours": _check_opening_hours,
    "check_parameter": _check_parameter,
    "set_parameter": _set_parameter,
    "availability_based_routing": _availability_based_routing,
    "queue": _queue,
    "queue_task": _queue_task,
    "check_task": _check_task,
    "cancel_task": _cancel_task,
    "wait_for_parameter": _wait_for_parameter,
    "transfer": _transfer,
    "voice_message": _voice_message,
    "record_consent": _record_consent,
    "disconnect": _disconnect,
    "email_reply": _email_reply,
}
