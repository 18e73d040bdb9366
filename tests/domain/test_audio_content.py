"""Audio resources (01 §9): what uploaded bytes are, checked from the bytes themselves."""

from __future__ import annotations

import io
import struct
import wave

from switchboard.domain import config as cfg
from switchboard.domain.audio_content import AudioFacts, inspect_audio
from switchboard.domain.validation import Catalog, validate_audio_resource


def wav(seconds: float = 0.5, rate: int = 8000, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(b"\x00" * width * int(seconds * rate))
    return out.getvalue()


def mp3_frames(count: int) -> bytes:
    """`count` MPEG-1 layer III frames, 128 kbit/s at 44.1 kHz, no padding (417 bytes each)."""
    header = struct.pack(">I", 0xFFFB9000)
    return (header + b"\x00" * 413) * count


def test_a_pcm_wav_at_8_or_16_khz_is_accepted_with_its_duration() -> None:
    data = wav(0.5, 8000)
    assert inspect_audio(data, "audio/wav") == AudioFacts("audio/wav", 0.5, len(data))
    facts = inspect_audio(wav(1.25, 16000), "audio/wav; charset=binary")
    assert isinstance(facts, AudioFacts) and facts.duration_s == 1.25


def test_other_wavs_are_refused_naming_what_is_wrong() -> None:
    issues = inspect_audio(wav(0.1, 44100, width=1), "audio/wav")
    assert isinstance(issues, list) and [(i.code, i.path) for i in issues] == [
        ("invalid_format", "content")
    ]
    assert "16-bit" in issues[0].message and "44100 Hz" in issues[0].message
    not_wav = inspect_audio(b"RIFF....not a wave at all", "audio/wav")
    assert isinstance(not_wav, list) and not_wav[0].code == "invalid_format"


def test_mp3_frames_are_walked_for_the_duration() -> None:
    data = b"ID3\x03\x00\x00\x00\x00\x00\x05" + b"\x00" * 5 + mp3_frames(10) + b"TAG"
    facts = inspect_audio(data, "audio/mpeg")
    assert isinstance(facts, AudioFacts)
    assert facts.duration_s == round(10 * 1152 / 44100, 3) and facts.size_bytes == len(data)
    refused = inspect_audio(wav(), "audio/mpeg")  # a WAV sent as MP3
    assert isinstance(refused, list) and "not MP3" in refused[0].message


def test_size_and_media_type_limits() -> None:
    too_big = inspect_audio(b"\x00" * (cfg.MAX_AUDIO_BYTES + 1), "audio/wav")
    assert isinstance(too_big, list) and too_big[0].code == "out_of_range"
    other = inspect_audio(wav(), "audio/ogg")
    assert isinstance(other, list) and "audio/wav or audio/mpeg" in other[0].message


def test_the_entity_rules_report_every_issue() -> None:
    bad = cfg.AudioResource(
        id="a", name="", content_type="audio/ogg", duration_s=-1.0, size_bytes=0
    )
    issues = validate_audio_resource(bad, Catalog())
    assert {(i.code, i.path) for i in issues} == {
        ("required", "name"),
        ("invalid_format", "content_type"),
        ("out_of_range", "duration_s"),
        ("out_of_range", "size_bytes"),
    }
    assert validate_audio_resource(cfg.AudioResource(id="a", name="Welcome"), Catalog()) == []
