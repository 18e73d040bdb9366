"""The voice-provider port as data: the commands the engine issues and the events
a provider reports back (spec 11 §1.2 and §1.3).

Why data and not methods: a command is *decided* by the engine and journaled
(as the outbox event `voice.command`) before any adapter sees it (11 VP2), and a
provider event is *input* to the engine. Both cross a process boundary in the
journal, the simulator's control API and the Teams adapter, so they are plain
frozen dataclasses with a JSON form (`to_json` / `from_json`), shared by every
adapter (the simulator, Microsoft Teams) and by the engine. The async
`VoiceProvider` protocol that sends them lives with the channels.

Every command carries a `command_id` chosen by the engine: it is the
idempotency key (an adapter that receives the same id twice acts once, VP2) and
the correlation key of the results (`media_completed`, `digits_collected`,
`operation_failed`... name the command they answer). Ids of things a command
creates (a ringing leg) are chosen by the engine too, so a replayed journal
names the same leg.

Every event carries `tenant_id`, `provider_event_id` (for de-duplication) and
`received_at` (seconds since the epoch, the adapter's clock).

The module is pure: standard library only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, ClassVar, TypeVar, Union

__all__ = [
    "COMMANDS",
    "EVENTS",
    "Answer",
    "Bridge",
    "BridgeFailed",
    "Bridged",
    "CallEndReason",
    "CallEnded",
    "CallState",
    "CallStateChanged",
    "CancelMedia",
    "CancelRing",
    "CollectDigits",
    "CollectReason",
    "Digit",
    "DigitsCollected",
    "EndedBy",
    "HangUp",
    "Hold",
    "HoldEnded",
    "HoldStarted",
    "IncomingCall",
    "LegAnswered",
    "LegEnded",
    "LegRinging",
    "MediaCompleted",
    "MediaStatus",
    "OperationFailed",
    "Party",
    "PartyKind",
    "PlayPrompt",
    "Prompt",
    "Record",
    "RecordingCompleted",
    "Redirect",
    "Reject",
    "RejectReason",
    "Resume",
    "RingMode",
    "RingUser",
    "Target",
    "TargetType",
    "TransferBlind",
    "TransferState",
    "TransferStatus",
    "VoiceCommand",
    "VoiceEvent",
    "VoiceFormatError",
    "from_json",
    "to_json",
]


# ------------------------------------------------------------------ vocabularies


class CallState(StrEnum):
    """States a provider reports for a call (`call_state`)."""

    ESTABLISHING = "establishing"
    RINGING = "ringing"
    ESTABLISHED = "established"
    REMOTE_HOLD = "remote_hold"
    TRANSFERRING = "transferring"
    TERMINATING = "terminating"


class CallEndReason(StrEnum):
    """Normalised end reasons (11 §1.3): every adapter maps its own codes to these."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"
    INVALID_NUMBER = "invalid_number"
    FORBIDDEN = "forbidden"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REDIRECTED = "redirected"
    TRANSFERRED = "transferred"
    #: A party hung up a call that was up (the usual end of a conversation).
    HUNG_UP = "hung_up"


class EndedBy(StrEnum):
    CUSTOMER = "customer"
    USER = "user"
    SYSTEM = "system"
    NETWORK = "network"


class RejectReason(StrEnum):
    BUSY = "busy"
    FORBIDDEN = "forbidden"
    NONE = "none"


class RingMode(StrEnum):
    """`conference`: the user joins the customer's call; `p2p`: a separate leg, bridged."""

    CONFERENCE = "conference"
    P2P = "p2p"


class MediaStatus(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class CollectReason(StrEnum):
    """Why digit collection ended: enough digits, the terminator key, or silence."""

    MAX = "max"
    TERMINATOR = "terminator"
    TIMEOUT = "timeout"


class TransferStatus(StrEnum):
    STARTED = "started"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    FAILED = "failed"


class PartyKind(StrEnum):
    """Who is calling (`incoming_call.from`)."""

    PHONE = "phone"
    USER = "user"
    ANONYMOUS = "anonymous"
    ENCRYPTED = "encrypted"


class TargetType(StrEnum):
    """Where a call may be sent (11 VP5)."""

    USER = "user"
    SERVICE = "service"
    PHONE = "phone"
    UPN = "upn"
    VOICEMAIL = "voicemail"


# ------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    """Something to play: synthesised text, or an audio file (exactly one of them).

    `tts` is the text to speak, already rendered (placeholders resolved) and
    XML-escaped for synthesis (04 RT4).
    """

    tts: str | None = None
    language: str | None = None
    voice: str | None = None
    audio_uri: str | None = None

    def __post_init__(self) -> None:
        if (self.tts is None) == (self.audio_uri is None):
            raise VoiceFormatError("A prompt needs exactly one of tts and audio_uri.")


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """A caller: a phone number, a directory user, or someone who hides who they are."""

    kind: PartyKind
    #: E.164 number, user id or UPN; None for anonymous and encrypted callers.
    id: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where to send a call: a user, a service, a number, a UPN, or a user's voicemail."""

    type: TargetType
    #: user id (user, voicemail), service id, E.164 number or UPN.
    value: str


# ------------------------------------------------------------------ commands


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceCommand:
    """Base of every command; `name` is its key in 11 §1.2 and in JSON (`type`)."""

    name: ClassVar[str] = ""
    command_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer(VoiceCommand):
    """Pick up an incoming call; prompts to fetch ahead may be named."""

    name: ClassVar[str] = "answer"
    call_id: str
    prefetch: tuple[Prompt, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject(VoiceCommand):
    name: ClassVar[str] = "reject"
    call_id: str
    reason: RejectReason = RejectReason.NONE


@dataclass(frozen=True, slots=True, kw_only=True)
class Redirect(VoiceCommand):
    """Send an unanswered call elsewhere (1–25 targets, ring 15–90 s)."""

    name: ClassVar[str] = "redirect"
    call_id: str
    targets: tuple[Target, ...]
    timeout_s: int = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayPrompt(VoiceCommand):
    """Play 1–20 prompts in order, optionally looping until cancelled."""

    name: ClassVar[str] = "play_prompt"
    call_id: str
    prompts: tuple[Prompt, ...]
    loop: bool = False
    #: A key press ends the playback (reported as `media_completed(completed)` plus the digit).
    barge_in: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectDigits(VoiceCommand):
    """Play a prompt and collect digits (at most 32) until a limit, terminator or timeout."""

    name: ClassVar[str] = "collect_digits"
    call_id: str
    prompt: Prompt | None = None
    min_digits: int = 1
    max_digits: int = 1
    first_digit_timeout_s: int = 5
    inter_digit_timeout_s: int = 5
    #: Keys that end the input early ("" for none).
    terminators: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Record(VoiceCommand):
    """Record the caller (a voice message), after an optional prompt and beep."""

    name: ClassVar[str] = "record"
    call_id: str
    prompt: Prompt | None = None
    max_duration_s: int = 120
    initial_silence_timeout_s: int = 5
    max_silence_timeout_s: int = 5
    stop_tones: str = "#"
    beep: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelMedia(VoiceCommand):
    """End whatever plays, collects or records on the call (it ends `cancelled`)."""

    name: ClassVar[str] = "cancel_media"
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RingUser(VoiceCommand):
    """Ring a user for the call on a new leg whose id the engine chose."""

    name: ClassVar[str] = "ring_user"
    call_id: str
    leg_id: str
    user_id: str
    mode: RingMode = RingMode.CONFERENCE
    timeout_s: int = 20
    #: The service whose identity the user's phone shows.
    presented_service_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRing(VoiceCommand):
    name: ClassVar[str] = "cancel_ring"
    leg_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bridge(VoiceCommand):
    """Join an answered p2p leg to the call (conference legs join on answer)."""

    name: ClassVar[str] = "bridge"
    call_id: str
    leg_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold(VoiceCommand):
    name: ClassVar[str] = "hold"
    call_id: str
    music: Prompt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume(VoiceCommand):
    name: ClassVar[str] = "resume"
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HangUp(VoiceCommand):
    """End the call, or only one leg of it when `leg_id` is given."""

    name: ClassVar[str] = "hang_up"
    call_id: str
    leg_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferBlind(VoiceCommand):
    """Hand the call to a target; with `keep_tracking` the engine follows it there."""

    name: ClassVar[str] = "transfer_blind"
    call_id: str
    target: Target
    keep_tracking: bool = False
    timeout_s: int = 30


# ------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceEvent:
    """Base of every provider event; `name` is its key in 11 §1.3 and in JSON (`type`)."""

    name: ClassVar[str] = ""
    tenant_id: str
    provider_event_id: str
    received_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingCall(VoiceEvent):
    """A call reaches a service identity (`to`: the service's UPN, number or id)."""

    name: ClassVar[str] = "incoming_call"
    call_id: str
    to: str
    caller: Party
    transferor: Party | None = None
    on_behalf_of: str | None = None
    #: When the provider stops waiting for an answer (epoch seconds), if it says.
    answer_deadline: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStateChanged(VoiceEvent):
    name: ClassVar[str] = "call_state"
    call_id: str
    state: CallState


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(VoiceEvent):
    name: ClassVar[str] = "call_ended"
    call_id: str
    reason: CallEndReason
    ended_by: EndedBy
    provider_code: str | None = None
    provider_subcode: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Digit(VoiceEvent):
    """One key press, in the provider's order (`sequence`); `command_id` of the media
    operation it arrived during, if any."""

    name: ClassVar[str] = "digit"
    call_id: str
    digit: str
    sequence: int
    command_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitsCollected(VoiceEvent):
    name: ClassVar[str] = "digits_collected"
    call_id: str
    command_id: str
    digits: str
    reason: CollectReason


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaCompleted(VoiceEvent):
    name: ClassVar[str] = "media_completed"
    call_id: str
    command_id: str
    status: MediaStatus
    #: For a barge-in playback ended by a key: the key.
    digit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingCompleted(VoiceEvent):
    name: ClassVar[str] = "recording_completed"
    call_id: str
    command_id: str
    recording_ref: str
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LegRinging(VoiceEvent):
    name: ClassVar[str] = "leg_ringing"
    call_id: str
    leg_id: str
    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LegAnswered(VoiceEvent):
    name: ClassVar[str] = "leg_answered"
    call_id: str
    leg_id: str
    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LegEnded(VoiceEvent):
    """A user's leg ended: `no_answer`, `declined`, `busy`, `cancelled` or `failed`
    before it was answered, or `hung_up` after."""

    name: ClassVar[str] = "leg_ended"
    call_id: str
    leg_id: str
    user_id: str
    reason: CallEndReason


@dataclass(frozen=True, slots=True, kw_only=True)
class Bridged(VoiceEvent):
    name: ClassVar[str] = "bridged"
    call_id: str
    leg_id: str
    command_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeFailed(VoiceEvent):
    name: ClassVar[str] = "bridge_failed"
    call_id: str
    leg_id: str
    command_id: str
    code: str = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldStarted(VoiceEvent):
    name: ClassVar[str] = "hold_started"
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldEnded(VoiceEvent):
    name: ClassVar[str] = "hold_ended"
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferState(VoiceEvent):
    name: ClassVar[str] = "transfer_state"
    call_id: str
    command_id: str
    state: TransferStatus
    #: Why a transfer failed (a normalised end reason, e.g. busy or no_answer).
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationFailed(VoiceEvent):
    """The provider could not carry out a command (`retriable`: the same command may
    succeed later)."""

    name: ClassVar[str] = "operation_failed"
    command_id: str
    code: str
    retriable: bool = False
    call_id: str | None = None


# ------------------------------------------------------------------ registry

COMMANDS: dict[str, type[VoiceCommand]] = {
    cls.name: cls
    for cls in (
        Answer,
        Reject,
        Redirect,
        PlayPrompt,
        CollectDigits,
        Record,
        CancelMedia,
        RingUser,
        CancelRing,
        Bridge,
        Hold,
        Resume,
        HangUp,
        TransferBlind,
    )
}

EVENTS: dict[str, type[VoiceEvent]] = {
    cls.name: cls
    for cls in (
        IncomingCall,
        CallStateChanged,
        CallEnded,
        Digit,
        DigitsCollected,
        MediaCompleted,
        RecordingCompleted,
        LegRinging,
        LegAnswered,
        LegEnded,
        Bridged,
        BridgeFailed,
        HoldStarted,
        HoldEnded,
        TransferState,
        OperationFailed,
    )
}


# ------------------------------------------------------------------ JSON form


class VoiceFormatError(ValueError):
    """A command or event in JSON that does not fit its type; the message names the field."""


Message = TypeVar("Message", VoiceCommand, VoiceEvent)


def to_json(message: VoiceCommand | VoiceEvent) -> dict[str, Any]:
    """The JSON object of a command or event: `type` (its name) and its fields.

    Enums become their values, tuples lists, nested values objects; absent
    optional values are written as null, so the form is complete and stable.
    """
    out: dict[str, Any] = {"type": message.name}
    out.update(_encode(message))
    return out


def from_json(data: object, kind: type[Message]) -> Message:
    """Read a command (`kind=VoiceCommand`) or an event (`kind=VoiceEvent`) back.

    Raises `VoiceFormatError` naming the field and what was expected; unknown
    fields are refused, so a misspelt field is not silently dropped.
    """
    if not isinstance(data, dict):
        raise VoiceFormatError(f"expected an object; got {_shown(data)}.")
    registry: dict[str, type[Any]] = dict(COMMANDS if kind is VoiceCommand else EVENTS)
    what = "command" if kind is VoiceCommand else "event"
    name = data.get("type")
    cls = registry.get(name) if isinstance(name, str) else None
    if cls is None:
        raise VoiceFormatError(
            f"type must be a voice {what}, one of {', '.join(registry)}; got {_shown(name)}."
        )
    fields = {k: v for k, v in data.items() if k != "type"}
    decoded: Message = _decode_dataclass(cls, fields, "")
    return decoded


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    return value


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _decode_dataclass(cls: type[Any], data: dict[str, Any], path: str) -> Any:
    hints = _hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise VoiceFormatError(f"{path}{key} is not a field of {cls.__name__}.")
    values: dict[str, Any] = {}
    for name, f in known.items():
        here = f"{path}{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise VoiceFormatError(f"{here} is required.")
            continue
        values[name] = _decode(hints[name], data[name], here)
    try:
        return cls(**values)
    except VoiceFormatError as error:
        raise VoiceFormatError(f"{path.rstrip('.') or cls.__name__}: {error}") from None


def _decode(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _decode(options[0], value, path)
    if origin is tuple:
        if not isinstance(value, list):
            raise VoiceFormatError(f"{path} must be a list; got {_shown(value)}.")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_decode(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in hint)
            raise VoiceFormatError(
                f"{path} must be one of {choices}; got {_shown(value)}."
            ) from None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise VoiceFormatError(f"{path} must be an object; got {_shown(value)}.")
        return _decode_dataclass(hint, value, f"{path}.")
    if hint is bool:
        if not isinstance(value, bool):
            raise VoiceFormatError(f"{path} must be true or false; got {_shown(value)}.")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise VoiceFormatError(f"{path} must be a whole number; got {_shown(value)}.")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise VoiceFormatError(f"{path} must be a number; got {_shown(value)}.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise VoiceFormatError(f"{path} must be text; got {_shown(value)}.")
        return value
    raise TypeError(f"no JSON decoding for {hint!r}")  # pragma: no cover - a bug here


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
