"""Events: the only way live state changes.

An event is a fact, named as in the event catalogue (spec 02 §12), with the
data needed to apply it to state without re-deciding anything. Replaying the
journal applies the same events and reaches the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Event:
    name: str
    at: float
    data: dict[str, Any]
    #: Position in the tenant's journal: gap-free and strictly increasing.
    seq: int = 0

    @property
    def task_id(self) -> str | None:
        value = self.data.get("task_id")
        return value if isinstance(value, str) else None

    @property
    def user_id(self) -> str | None:
        value = self.data.get("user_id")
        return value if isinstance(value, str) else None
