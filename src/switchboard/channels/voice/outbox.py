"""What the engine's journal says to a voice provider, and how provider events go back.

Shared by the live dispatcher (`dispatch`) and its virtual-time twin
(`virtual_time`): the engine journals every command it decides as a
`voice.command` event; whoever drives a provider reads them back from committed
batches only, and hands provider events to the engine through `Feed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from switchboard.domain.voice import VoiceCommand, VoiceEvent, VoiceFormatError, from_json
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event

log = logging.getLogger(__name__)

#: The outbox event the engine journals for every command it decides.
VOICE_COMMAND = "voice.command"

#: How an engine takes a provider event (the engine's voice input command).
Feed = Callable[[Engine, VoiceEvent], Any]


def voice_commands(batch: Iterable[Event]) -> Iterator[tuple[Event, VoiceCommand]]:
    """The commands in committed events, in journal order, each with its event (for its
    position and call); malformed ones are logged and skipped."""
    for event in batch:
        if event.name != VOICE_COMMAND:
            continue
        try:
            yield event, from_json(event.data.get("command"), VoiceCommand)
        except VoiceFormatError as error:
            log.error("voice.command at seq %d cannot be read: %s", event.seq, error)
