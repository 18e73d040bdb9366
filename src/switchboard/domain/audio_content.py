"""What an uploaded recording is (01 §9): checked from its bytes, not from its name.

Workflow prompts play audio resources on calls, so only what a telephony media
path plays as is accepted: WAV holding 16-bit PCM at 8 or 16 kHz, or MP3
(MPEG audio layer III), at most 10 MB. The standard library reads WAV
(`wave`); for MP3 a walk over the frame headers is enough to know that the
bytes are MP3 and how long they play, without decoding any audio. Everything
works on bytes in memory: no I/O here.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Final

from switchboard.domain.config import AUDIO_CONTENT_TYPES, MAX_AUDIO_BYTES
from switchboard.domain.validation import Issue

__all__ = ["AudioFacts", "inspect_audio"]

#: The path issues name: the uploaded body as a whole.
CONTENT = "content"
WAV_RATES: Final = (8000, 16000)

# MPEG audio layer III: kbit/s by bitrate index, for MPEG-1 and for MPEG-2/2.5.
_MP3_KBPS: Final = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by the header's version bits (0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1).
_MP3_RATES: Final = {
    0: (11025, 12000, 8000),
    2: (22050, 24000, 16000),
    3: (44100, 48000, 32000),
}


@dataclass(frozen=True, slots=True)
class AudioFacts:
    """What the server records about valid content."""

    content_type: str
    duration_s: float
    size_bytes: int


def inspect_audio(data: bytes, content_type: str) -> AudioFacts | list[Issue]:
    """The facts of `data` declared as `content_type`, or every reason it is refused."""
    media = content_type.partition(";")[0].strip().lower()
    if media not in AUDIO_CONTENT_TYPES:
        return [
            Issue(
                "invalid_format",
                CONTENT,
                f"content must be sent as {' or '.join(AUDIO_CONTENT_TYPES)}; "
                f"got Content-Type {content_type[:100]!r}.",
            )
        ]
    issues: list[Issue] = []
    if len(data) > MAX_AUDIO_BYTES:
        issues.append(
            Issue(
                "out_of_range",
                CONTENT,
                f"content must be at most {MAX_AUDIO_BYTES} bytes (10 MB); got {len(data)}.",
            )
        )
        return issues
    duration = _wav_duration(data) if media == "audio/wav" else _mp3_duration(data)
    if isinstance(duration, str):
        return [Issue("invalid_format", CONTENT, duration)]
    return AudioFacts(media, round(duration, 3), len(data))


def _wav_duration(data: bytes) -> float | str:
    """Seconds of 16-bit PCM at 8 or 16 kHz, or why the bytes are not that."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            width, rate = reader.getsampwidth(), reader.getframerate()
            frames = reader.getnframes()
    except (wave.Error, EOFError) as error:
        return f"content is not a PCM WAV file ({error})."
    problems = []
    if width != 2:
        problems.append(f"16-bit samples (got {8 * width}-bit)")
    if rate not in WAV_RATES:
        problems.append(f"a sample rate of 8000 or 16000 Hz (got {rate} Hz)")
    if problems:
        return f"content must be WAV with {' and '.join(problems)}."
    if frames == 0:
        return "content is a WAV file without any audio."
    return frames / rate


def _mp3_duration(data: bytes) -> float | str:
    """Seconds of MPEG layer III frames, walked header to header, or why it is not MP3."""
    at = _after_id3(data)
    frames = 0
    seconds = 0.0
    while at + 4 <= len(data):
        frame = _mp3_frame(data[at : at + 4])
        if frame is None:
            break  # trailing tags (ID3v1, APE) or garbage end the audio
        length, duration = frame
        frames += 1
        seconds += duration
        at += length
    if frames == 0:
        return "content is not MP3: no MPEG audio layer III frame header where the audio starts."
    return seconds


def _after_id3(data: bytes) -> int:
    """Where the audio starts: past an ID3v2 tag, if the file begins with one."""
    if len(data) >= 10 and data[:3] == b"ID3":
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)  # "syncsafe": 7 bits per byte
        footer = 10 if data[5] & 0x10 else 0
        return 10 + size + footer
    return 0


def _mp3_frame(header: bytes) -> tuple[int, float] | None:
    """(frame length in bytes, seconds) of a layer III frame header, else None."""
    b1, b2 = header[1], header[2]
    if header[0] != 0xFF or b1 & 0xE0 != 0xE0:
        return None
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    kbps = _MP3_KBPS[1 if mpeg1 else 2][bitrate_index]
    rate = _MP3_RATES[version][rate_index]
    samples = 1152 if mpeg1 else 576
    padding = (b2 >> 1) & 1
    length = samples // 8 * kbps * 1000 // rate + padding
    return length, samples / rate
