"""The voice-provider port: what every telephony adapter offers the engine (11 §1, VP1–VP5).

The engine never calls a provider. It decides a command, journals it as a
`voice.command` event, and the dispatcher (`dispatch`) hands the committed
command to the adapter through `execute`. The adapter answers at once with an
`Ack` — "taken" or "refused", nothing more — and reports what really happened
later, as `VoiceEvent`s through the sink the dispatcher gave it with `bind`.
That split is the shape of Microsoft Graph (202 Accepted, then notifications),
so the Teams adapter fits without engine changes, and the simulator behaves the
same way so the engine cannot come to rely on anything Teams will not do.

Rules every adapter keeps:

* **Idempotent by `command_id`** (VP2): a command seen before is acknowledged
  again with `duplicate=True` and not carried out twice.
* **Failures are events** (SI5): whatever goes wrong, after or during
  `execute`, reaches the engine as an event with a normalised reason
  (`operation_failed`, `leg_ended(busy)`, `call_ended(failed)`...). The `Ack`
  only tells the dispatcher whether to log a refusal.
* **No state the engine cannot rebuild** (VP3): after a restart `reconcile`
  says which calls the provider still has, so the engine can end the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from switchboard.domain.voice import VoiceCommand, VoiceEvent

#: Where an adapter delivers its events; the dispatcher feeds them to the engine in order.
EventSink = Callable[[VoiceEvent], None]


@dataclass(frozen=True, slots=True)
class Ack:
    """The provider's immediate answer to a command.

    `accepted` false means the provider refused the command outright (`code`
    says why, e.g. `call_not_found`); it has then also reported an
    `operation_failed` event, which is what the engine acts on.
    """

    command_id: str
    accepted: bool = True
    duplicate: bool = False
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider supports (VP4); the engine and the UI ask instead of assuming."""

    whisper: bool = False
    hold_music: bool = False
    p2p_ring: bool = False
    pstn: bool = False
    recording: bool = False
    #: Longest recording the provider makes, in seconds (Teams: 120).
    max_record_s: int = 0
    tts: bool = False


@dataclass(frozen=True, slots=True)
class LegSnapshot:
    leg_id: str
    user_id: str
    #: `ringing` or `answered` (ended legs are not reported).
    state: str


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """A call the provider still has, as `reconcile` reports it (12 SN4)."""

    call_id: str
    #: `incoming` (not answered yet) or `established`.
    state: str
    on_hold: bool = False
    legs: tuple[LegSnapshot, ...] = field(default=())


class VoiceProvider(Protocol):
    """A telephony adapter: the simulator today, Microsoft Teams (Graph) later."""

    def bind(self, sink: EventSink) -> None:
        """Deliver every event from now on to `sink` (one sink per provider instance)."""
        ...

    async def execute(self, command: VoiceCommand) -> Ack:
        """Carry out `command` (at most once per `command_id`); results come as events."""
        ...

    def capabilities(self) -> Capabilities:
        """What this provider supports (VP4)."""
        ...

    async def reconcile(self) -> Sequence[CallSnapshot]:
        """The live calls the provider has now (after a restart or failover, VP3)."""
        ...
