"""The voice-provider commands and events as data: names, ids, and the JSON form."""

from __future__ import annotations

import dataclasses
from typing import TypedDict

import pytest

from switchboard.domain import voice as v

REQUIRED_COMMANDS = {
    "answer",
    "reject",
    "play_prompt",
    "collect_digits",
    "cancel_media",
    "ring_user",
    "cancel_ring",
    "bridge",
    "hold",
    "resume",
    "hang_up",
    "transfer_blind",
}
REQUIRED_EVENTS = {
    "incoming_call",
    "call_state",
    "call_ended",
    "digit",
    "digits_collected",
    "media_completed",
    "leg_ringing",
    "leg_answered",
    "leg_ended",
    "hold_started",
    "hold_ended",
    "operation_failed",
}
TTS = v.Prompt(tts="Welcome", language="en-US")


class _Envelope(TypedDict):
    tenant_id: str
    provider_event_id: str
    received_at: float


EVENT: _Envelope = {"tenant_id": "t", "provider_event_id": "pe-1", "received_at": 1.5}

SAMPLE_COMMANDS: list[v.VoiceCommand] = [
    v.Answer(command_id="c1", call_id="call", prefetch=(TTS,)),
    v.Reject(command_id="c2", call_id="call", reason=v.RejectReason.BUSY),
    v.Redirect(
        command_id="c3",
        call_id="call",
        targets=(v.Target(type=v.TargetType.PHONE, value="+41441234567"),),
        timeout_s=20,
    ),
    v.PlayPrompt(
        command_id="c4",
        call_id="call",
        prompts=(TTS, v.Prompt(audio_uri="res://music")),
        loop=True,
    ),
    v.CollectDigits(
        command_id="c5",
        call_id="call",
        prompt=TTS,
        min_digits=1,
        max_digits=4,
        terminators="#",
    ),
    v.Record(command_id="c6", call_id="call", prompt=None, max_duration_s=60),
    v.CancelMedia(command_id="c7", call_id="call"),
    v.RingUser(command_id="c8", call_id="call", leg_id="leg-1", user_id="anna"),
    v.CancelRing(command_id="c9", leg_id="leg-1"),
    v.Bridge(command_id="c10", call_id="call", leg_id="leg-1"),
    v.Hold(command_id="c11", call_id="call", music=TTS),
    v.Resume(command_id="c12", call_id="call"),
    v.HangUp(command_id="c13", call_id="call"),
    v.TransferBlind(
        command_id="c14",
        call_id="call",
        target=v.Target(type=v.TargetType.SERVICE, value="svc"),
        keep_tracking=True,
    ),
]

SAMPLE_EVENTS: list[v.VoiceEvent] = [
    v.IncomingCall(
        **EVENT,
        call_id="call",
        to="hotline@acme.test",
        caller=v.Party(kind=v.PartyKind.PHONE, id="+41790000000"),
    ),
    v.CallStateChanged(**EVENT, call_id="call", state=v.CallState.ESTABLISHED),
    v.CallEnded(
        **EVENT, call_id="call", reason=v.CallEndReason.HUNG_UP, ended_by=v.EndedBy.CUSTOMER
    ),
    v.Digit(**EVENT, call_id="call", digit="5", sequence=3, command_id="c5"),
    v.DigitsCollected(
        **EVENT, call_id="call", command_id="c5", digits="12", reason=v.CollectReason.TERMINATOR
    ),
    v.MediaCompleted(**EVENT, call_id="call", command_id="c4", status=v.MediaStatus.CANCELLED),
    v.RecordingCompleted(
        **EVENT, call_id="call", command_id="c6", recording_ref="rec-1", duration_ms=4200
    ),
    v.LegRinging(**EVENT, call_id="call", leg_id="leg-1", user_id="anna"),
    v.LegAnswered(**EVENT, call_id="call", leg_id="leg-1", user_id="anna"),
    v.LegEnded(
        **EVENT, call_id="call", leg_id="leg-1", user_id="anna", reason=v.CallEndReason.DECLINED
    ),
    v.Bridged(**EVENT, call_id="call", leg_id="leg-1", command_id="c10"),
    v.BridgeFailed(**EVENT, call_id="call", leg_id="leg-1", command_id="c10"),
    v.HoldStarted(**EVENT, call_id="call"),
    v.HoldEnded(**EVENT, call_id="call"),
    v.TransferState(
        **EVENT, call_id="call", command_id="c14", state=v.TransferStatus.FAILED, code="busy"
    ),
    v.OperationFailed(**EVENT, command_id="c4", code="media_unavailable", retriable=True),
]


def test_the_port_has_every_command_and_event_the_engine_needs() -> None:
    assert set(v.COMMANDS) >= REQUIRED_COMMANDS
    assert set(v.EVENTS) >= REQUIRED_EVENTS
    assert {type(c).name for c in SAMPLE_COMMANDS} == set(v.COMMANDS)
    assert {type(e).name for e in SAMPLE_EVENTS} == set(v.EVENTS)


@pytest.mark.parametrize("cls", list(v.COMMANDS.values()), ids=lambda c: c.name)
def test_every_command_carries_a_command_id(cls: type[v.VoiceCommand]) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[0] == "command_id"
    assert dataclasses.fields(cls)[0].default is dataclasses.MISSING


@pytest.mark.parametrize("cls", list(v.EVENTS.values()), ids=lambda c: c.name)
def test_every_event_carries_tenant_provider_id_and_time(cls: type[v.VoiceEvent]) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[:3] == ["tenant_id", "provider_event_id", "received_at"]


@pytest.mark.parametrize("command", SAMPLE_COMMANDS, ids=lambda c: c.name)
def test_commands_round_trip_through_json(command: v.VoiceCommand) -> None:
    data = v.to_json(command)
    assert data["type"] == command.name
    assert v.from_json(data, v.VoiceCommand) == command


@pytest.mark.parametrize("event", SAMPLE_EVENTS, ids=lambda e: e.name)
def test_events_round_trip_through_json(event: v.VoiceEvent) -> None:
    data = v.to_json(event)
    assert v.from_json(data, v.VoiceEvent) == event


def test_json_form_is_plain() -> None:
    data = v.to_json(SAMPLE_COMMANDS[3])
    assert data == {
        "type": "play_prompt",
        "command_id": "c4",
        "call_id": "call",
        "prompts": [
            {"tts": "Welcome", "language": "en-US", "voice": None, "audio_uri": None},
            {"tts": None, "language": None, "voice": None, "audio_uri": "res://music"},
        ],
        "loop": True,
        "barge_in": False,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "dance", "command_id": "x"}, "type must be a voice command"),
        ({"type": "hang_up", "call_id": "c"}, "command_id is required"),
        ({"type": "hang_up", "command_id": "x", "call_id": 5}, "call_id must be text"),
        ({"type": "hang_up", "command_id": "x", "call_id": "c", "oops": 1}, "oops is not a field"),
        (
            {"type": "reject", "command_id": "x", "call_id": "c", "reason": "angry"},
            "reason must be one of busy, forbidden, none",
        ),
        (
            {"type": "play_prompt", "command_id": "x", "call_id": "c", "prompts": [{}]},
            "prompts[0]: A prompt needs exactly one of tts and audio_uri",
        ),
        (
            {"type": "collect_digits", "command_id": "x", "call_id": "c", "max_digits": True},
            "max_digits must be a whole number",
        ),
        ([], "expected an object"),
    ],
)
def test_bad_json_names_the_field(data: object, message: str) -> None:
    with pytest.raises(v.VoiceFormatError) as failed:
        v.from_json(data, v.VoiceCommand)
    assert message in str(failed.value)


def test_an_event_is_not_read_as_a_command() -> None:
    data = v.to_json(SAMPLE_EVENTS[1])
    with pytest.raises(v.VoiceFormatError, match="type must be a voice command"):
        v.from_json(data, v.VoiceCommand)
