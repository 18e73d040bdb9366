"""An engine and the voice simulator in one loop on a virtual clock.

The same journal-first contract as the live dispatcher, without asyncio: the
engine commits (to its journal, if it has one), its committed `voice.command`s
go to the simulator, the simulator's events go back to the engine, and so on
until both are quiet; then virtual time jumps to the next deadline of either.
Simulations, benchmarks and tests of whole calls use it; a run is repeatable
for a seed because nothing here reads a real clock or depends on scheduling.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

from switchboard.channels.voice.outbox import Feed, voice_commands
from switchboard.channels.voice.simulator import VoiceSimulator
from switchboard.domain.errors import DomainError
from switchboard.domain.voice import VoiceCommand, VoiceEvent
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event

log = logging.getLogger(__name__)
_SETTLE_GUARD = 100_000
#: Command ids remembered as sent, as the live dispatcher does: memory stays flat.
_SENT_LIMIT = 100_000


class VirtualVoice:
    def __init__(
        self, engine: Engine, simulator: VoiceSimulator, feed: Feed, clock: VirtualClock
    ) -> None:
        if simulator.clock is not clock or engine.clock is not clock:
            raise ValueError("the engine and the simulator must run on the same virtual clock")
        self.engine = engine
        self.simulator = simulator
        self.feed = feed
        self.clock = clock
        #: Provider events the engine refused, with why (late reports; tests look at them).
        self.refused: list[tuple[VoiceEvent, DomainError]] = []
        self._commands: list[VoiceCommand] = []
        self._events: list[VoiceEvent] = []
        #: Command ids sent, the last `_SENT_LIMIT` (a re-published batch is not re-sent).
        self._sent: OrderedDict[str, None] = OrderedDict()
        engine.subscribe(self._on_batch)
        simulator.bind(self._events.append)

    def _on_batch(self, batch: Sequence[Event]) -> None:
        for _, command in voice_commands(batch):
            if command.command_id not in self._sent:
                self._sent[command.command_id] = None
                if len(self._sent) > _SENT_LIMIT:
                    self._sent.popitem(last=False)
                self._commands.append(command)

    def settle(self) -> None:
        """Commit, send, feed back — until neither side has anything left to say."""
        for _ in range(_SETTLE_GUARD):
            self.engine.commit()
            if self._commands:
                commands = list(self._commands)
                self._commands.clear()  # the lists are the sinks: empty them in place
                for command in commands:
                    self.simulator.execute_now(command)
                continue
            if self._events:
                events = list(self._events)
                self._events.clear()
                for event in events:
                    try:
                        self.feed(self.engine, event)
                    except DomainError as error:
                        log.info("voice event %s refused by the engine: %s", event.name, error)
                        self.refused.append((event, error))
                continue
            return
        raise RuntimeError("the engine and the simulator keep talking without end")

    def run_until(self, when: float) -> None:
        """Let virtual time pass until `when`, handling every deadline on the way in order."""
        self.settle()
        while True:
            due = [
                d
                for d in (self.engine.next_deadline(), self.simulator.next_deadline())
                if d is not None
            ]
            if not due or min(due) > when:
                break
            self.clock.set(max(min(due), self.clock.now()))
            self.engine.advance()
            self.simulator.advance()
            self.settle()
        self.clock.set(max(when, self.clock.now()))
        self.settle()

    def run(self, seconds: float) -> None:
        self.run_until(self.clock.now() + seconds)
