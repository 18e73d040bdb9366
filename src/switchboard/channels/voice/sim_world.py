"""The simulated telephone world: calls, legs, phones, transcripts, scripted failures, time.

Plain data plus a timer heap, kept apart from `simulator` (which gives the
commands their meaning) so each stays small. Nothing here reads a system clock:
times are whatever the injected engine clock said when something happened,
which is what makes a run in virtual time repeatable for a seed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from switchboard.domain.voice import CallEndReason, Party, RingMode, VoiceCommand


class SimulatorError(ValueError):
    """A control request the simulated world cannot carry out; `code` names why."""

    def __init__(self, message: str, *, code: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How the simulated world behaves; every duration is in seconds of the engine clock."""

    #: Seeds call ids, event ids and the answer delays drawn for scripted phones.
    seed: int = 0
    #: Speaking time of synthesised text, per word (a prompt lasts at least `min_prompt_s`).
    seconds_per_word: float = 0.35
    min_prompt_s: float = 0.5
    #: How long an audio-file prompt plays.
    audio_prompt_s: float = 3.0
    #: An incoming call nobody answers ends after this long (Teams allows 15 s).
    answer_window_s: float = 15.0
    #: Delay range a phone scripted to answer or decline waits when it names no delay.
    answer_delay_s: tuple[float, float] = (2.0, 6.0)
    #: Time an external transfer target (number, UPN, service) takes to pick up.
    external_answer_s: float = 2.0
    #: Ended calls kept for the control API (`GET /sim/api/calls?state=ended`): at most
    #: this many, the most recent, and none that ended longer than `ended_call_max_age_s`
    #: ago. A call and its transcript take about 4 KB; live calls are always kept.
    ended_calls_kept: int = 1_000
    ended_call_max_age_s: float = 3_600.0

    def __post_init__(self) -> None:
        if isinstance(self.ended_calls_kept, bool) or not (
            isinstance(self.ended_calls_kept, int) and self.ended_calls_kept >= 0
        ):
            raise ValueError(
                f"ended_calls_kept must be a whole number ≥ 0; got {self.ended_calls_kept!r}."
            )
        for name in (
            "seconds_per_word",
            "min_prompt_s",
            "audio_prompt_s",
            "external_answer_s",
            "ended_call_max_age_s",
        ):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be a number of seconds ≥ 0; got {value}.")
        if not self.answer_window_s > 0:
            raise ValueError(f"answer_window_s must be positive; got {self.answer_window_s}.")
        low, high = self.answer_delay_s
        if not 0 <= low <= high:
            raise ValueError(
                "answer_delay_s must be (low, high) with 0 ≤ low ≤ high; "
                f"got {self.answer_delay_s}."
            )


class Behaviour(StrEnum):
    """How a user's phone reacts when it rings."""

    #: Rings until someone answers or declines through the control API, or it times out.
    MANUAL = "manual"
    ANSWER = "answer"
    DECLINE = "decline"
    #: Rings until the ring times out (`no_answer`).
    IGNORE = "ignore"
    #: Refuses at once (`busy`).
    BUSY = "busy"
    #: Cannot be reached at all (`unreachable`).
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Phone:
    """A user's endpoint script. `after_s` None: a delay drawn from the seeded range."""

    behaviour: Behaviour = Behaviour.MANUAL
    after_s: float | None = None
    #: Once answered, the user hangs up after talking this long (None: stays until told).
    talk_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("after_s", "talk_s"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be a number of seconds ≥ 0; got {value}.")


#: Injected reasons each command can fail with (11 SI5); any command can also fail with
#: `provider_error` (the provider refuses it: `operation_failed`, retriable).
FAILURE_REASONS: dict[str, frozenset[str]] = {
    "ring_user": frozenset({"no_answer", "busy", "declined", "unreachable", "forbidden", "failed"}),
    "transfer_blind": frozenset(
        {"no_answer", "busy", "declined", "unreachable", "invalid_number", "forbidden", "failed"}
    ),
    "redirect": frozenset(
        {"no_answer", "busy", "declined", "unreachable", "invalid_number", "forbidden", "failed"}
    ),
}
PROVIDER_ERROR = "provider_error"


@dataclass(slots=True)
class Failure:
    """The next `times` commands named `command` (on `call_id`, for `user_id`) fail."""

    command: str
    reason: str
    call_id: str | None = None
    user_id: str | None = None
    times: int = 1

    def matches(self, command: str, call_id: str | None, user_id: str | None) -> bool:
        return (
            self.times > 0
            and self.command == command
            and (self.call_id is None or self.call_id == call_id)
            and (self.user_id is None or self.user_id == user_id)
        )


# ------------------------------------------------------------------ calls


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One thing that happened on a call: when, who (`caller`, `switchboard`, `user`,
    `network`), what (a short verb), and a sentence a person reads."""

    at: float
    who: str
    what: str
    text: str
    user_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Media:
    """The one media operation running on a call: a playback, a digit collection or a
    recording. `timer` is whatever it waits for next."""

    command: VoiceCommand
    kind: str  # play | collect | record
    timer: Timer | None = None
    prompt_index: int = 0
    #: A prompt is still playing (collect and record play one before they listen).
    prompting: bool = False
    digits: str = ""
    listening_since: float | None = None
    speech_until: float | None = None


@dataclass(slots=True)
class Leg:
    """A user's phone ringing for, or talking on, a call."""

    leg_id: str
    call_id: str
    user_id: str
    mode: RingMode
    state: str = "ringing"  # ringing | answered | ended
    #: Set for the internal leg of a blind transfer to a user (no leg events for it).
    transfer_command_id: str | None = None
    bridged: bool = False
    timer: Timer | None = None
    talk_timer: Timer | None = None


@dataclass(slots=True)
class Call:
    call_id: str
    caller: Party
    to: str
    started_at: float
    state: str = "incoming"  # incoming | established | ended
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: CallEndReason | None = None
    ended_by: str | None = None
    on_hold: bool = False
    digit_sequence: int = 0
    media: Media | None = None
    legs: dict[str, Leg] = field(default_factory=dict)
    transcript: list[TranscriptEntry] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    recordings: int = 0

    @property
    def live(self) -> bool:
        return self.state != "ended"

    def note(self, entry: TranscriptEntry) -> None:
        self.transcript.append(entry)


# ------------------------------------------------------------------ time


@dataclass(order=True, slots=True)
class Timer:
    due: float
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """Deadlines on the engine's clock; cancelled ones are dropped when they surface."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        #: Called with the due time of every new timer (a real-time driver wakes on it).
        self.on_arm: Callable[[float], None] | None = None

    def arm(self, due: float, action: Callable[[], None]) -> Timer:
        timer = Timer(due, next(self._seq), action)
        heapq.heappush(self._heap, timer)
        if self.on_arm is not None:
            self.on_arm(due)
        return timer

    def next_due(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> Timer | None:
        due = self.next_due()
        if due is None or due > now:
            return None
        return heapq.heappop(self._heap)
