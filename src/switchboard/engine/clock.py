"""Time for the engine, injected so the same engine runs live and in virtual time.

The engine never sleeps and never reads the system clock itself: it asks its
clock for `now()` and exposes its next timer deadline; whoever drives it (the
service's runner, the simulator, a test) decides when that time has come.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch (UTC)."""
        ...


class RealClock:
    """Wall-clock time for the live service."""

    def now(self) -> float:
        return time.time()


class VirtualClock:
    """Time that moves only when told to: simulations, benchmarks and tests."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        if when < self._now:
            raise ValueError(f"virtual time cannot go back: {when} < {self._now}")
        self._now = when

    def advance(self, seconds: float) -> None:
        self.set(self._now + seconds)
