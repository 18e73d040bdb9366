"""Runtime state of users: their sessions, presence, flags and after-call work.

These are facts the engine keeps per user; `availability` turns them into a
selectable/not-selectable verdict with reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.domain import blocking_matrix
from switchboard.domain.enums import Modality, Presence, SessionOutcome, SessionState, TaskKind
from switchboard.domain.transitions import check_session_move


@dataclass(slots=True)
class UserSession:
    """One user's participation in one task (an offer that may become work)."""

    id: str
    task_id: str
    user_id: str
    service_id: str
    kind: TaskKind
    started_at: float
    state: SessionState = SessionState.INCOMING
    offer_id: str | None = None
    outcome: SessionOutcome | None = None
    reached_work: bool = False  # reached dialing_out or connected (ACW rule A1)
    #: When the session entered its current state (None: when it started); live views
    #: show how long an agent has been talking, on hold or parked.
    state_since: float | None = None
    #: The codes and tags the user chose for this session (01 §9), usually during ACW.
    primary_code_id: str | None = None
    secondary_code_ids: tuple[str, ...] = ()
    tag_ids: tuple[str, ...] = ()

    @property
    def modality(self) -> Modality:
        return self.kind.modality

    @property
    def is_blocking(self) -> bool:
        return blocking_matrix.is_blocking(self.state, self.kind)

    @property
    def occupies_slot(self) -> bool:
        """Counts against parallelization limits (every live state except ACW)."""
        return self.state not in (SessionState.IN_ACW, SessionState.ENDED)

    def move_to(self, state: SessionState, at: float | None = None) -> None:
        check_session_move(self.kind, self.state, state)
        if state in (SessionState.CONNECTED, SessionState.DIALING_OUT):
            self.reached_work = True
        self.state = state
        self.state_since = at

    @property
    def in_state_since(self) -> float:
        """When the current state began."""
        return self.started_at if self.state_since is None else self.state_since


@dataclass(slots=True)
class Acw:
    task_id: str
    service_id: str
    started_at: float
    ends_at: float
    extended: bool = False
    allow_early_end: bool = True
    allow_extension: bool = False
    max_extension_s: int = 60


@dataclass(slots=True)
class RonaFlag:
    service_id: str
    set_at: float
    clears_at: float


@dataclass(slots=True)
class UserLive:
    """Everything routing needs to know about a user right now, besides configuration."""

    user_id: str
    presence: Presence = Presence.OFFLINE
    presence_at: float = 0.0
    not_available_reason_id: str | None = None
    #: When the not-available reason was set (live views show how long a break lasts).
    not_available_since: float | None = None
    rona: RonaFlag | None = None
    acw: Acw | None = None
    sessions: dict[str, UserSession] = field(default_factory=dict)  # live sessions by id
    #: last time the user ended an audio session (presence lag rule, 02 §6.1)
    last_audio_end_at: float | None = None
    #: per service: when the user last became selectable there (longest-idle order)
    idle_since: dict[str, float] = field(default_factory=dict)

    def slot_count(self, modality: Modality | None = None) -> int:
        return sum(
            1
            for s in self.sessions.values()
            if s.occupies_slot and (modality is None or s.modality is modality)
        )

    def ringing(self) -> UserSession | None:
        for s in self.sessions.values():
            if s.state is SessionState.INCOMING:
                return s
        return None

    def blocking_task(self) -> UserSession | None:
        """A blocking session other than `incoming` (ringing) and ACW (reported apart)."""
        for s in self.sessions.values():
            if s.state not in (SessionState.INCOMING, SessionState.IN_ACW) and s.is_blocking:
                return s
        return None

    def has_live_audio(self) -> bool:
        return any(s.kind.is_audio and s.occupies_slot for s in self.sessions.values())
