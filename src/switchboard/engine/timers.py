"""A min-heap of deadlines with lazy invalidation.

Timers are derived from state (an offer's ring deadline, an ACW end...). A
timer is never cancelled: when it fires, the engine checks that the state that
armed it still holds, so re-arming after a restart is just "arm everything
the live state implies".
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field


@dataclass(order=True, slots=True)
class Timer:
    due: float
    order: int
    kind: str = field(compare=False)
    ref: str = field(compare=False)
    token: object = field(compare=False, default=None)


class TimerHeap:
    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._counter = itertools.count()

    def arm(self, due: float, kind: str, ref: str, token: object = None) -> None:
        heapq.heappush(self._heap, Timer(due, next(self._counter), kind, ref, token))

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> Timer | None:
        if self._heap and self._heap[0].due <= now:
            return heapq.heappop(self._heap)
        return None

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
