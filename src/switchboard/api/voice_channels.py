"""Each tenant's voice line: the provider, its clock driver and the outbox dispatcher.

In development and test mode every tenant gets the in-process simulator as its
provider (11 SI1); production has no provider yet (the Teams adapter comes
later and plugs in here, behind the same port), so its `voice.command`s stay in
the journal. Lines are attached when the hosts start — they need the running
event loop — and stopped before the hosts, so no provider event is fed to an
engine that is shutting down.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from dataclasses import dataclass

from switchboard.api.problems import ApiProblem
from switchboard.channels.voice.dispatch import VoiceDispatcher
from switchboard.channels.voice.outbox import Feed
from switchboard.channels.voice.sim_world import SimulatorConfig
from switchboard.channels.voice.simulator import SimulatorDriver, VoiceSimulator
from switchboard.engine.clock import Clock
from switchboard.runtime.host import TenantHost

log = logging.getLogger(__name__)


@dataclass
class VoiceLine:
    simulator: VoiceSimulator
    driver: SimulatorDriver
    dispatcher: VoiceDispatcher


class VoiceChannels:
    """The voice lines of the tenants this process serves."""

    def __init__(
        self, *, simulate: bool, clock: Clock, feed: Feed, config: SimulatorConfig | None
    ) -> None:
        self.simulate = simulate
        self.clock = clock
        self.feed = feed
        #: Without a configured seed every process start draws one, so event ids of
        #: one run never repeat those of an earlier run in the journal.
        self.config = config or SimulatorConfig(seed=secrets.randbits(32))
        self.lines: dict[str, VoiceLine] = {}

    def attach(self, host: TenantHost) -> None:
        """Give `host`'s tenant its line and start it (inside the running event loop)."""
        tenant_id = host.tenant_id
        if not self.simulate or tenant_id in self.lines:
            return
        # One world per tenant; tenants get different seeds, so their call ids differ.
        config = dataclasses.replace(self.config, seed=self.config.seed + len(self.lines))
        simulator = VoiceSimulator(tenant_id, self.clock, config)
        line = VoiceLine(
            simulator, SimulatorDriver(simulator), VoiceDispatcher(host, simulator, self.feed)
        )
        line.dispatcher.start()
        line.driver.start()
        self.lines[tenant_id] = line
        log.info("tenant %s: voice simulator attached (seed %d)", tenant_id, config.seed)

    async def stop(self) -> None:
        lines, self.lines = self.lines, {}
        for line in lines.values():
            await line.driver.stop()
            await line.dispatcher.stop()

    def line(self, tenant_id: str) -> VoiceLine:
        line = self.lines.get(tenant_id)
        if line is None:
            raise ApiProblem(
                503,
                "simulator_unavailable",
                "The voice simulator of this tenant is not running.",
            )
        return line
