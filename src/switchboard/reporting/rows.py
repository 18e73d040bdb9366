"""The rows of the reporting tables (spec 08 §2), as the projection produces them.

Field names are the column names of `switchboard.store.schema`'s reporting tables
(docs/reporting.md describes each). Timestamps are aware UTC `datetime`s with
millisecond precision; durations are integer milliseconds (`*_ms`, RP3).
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

#: Namespace of the deterministic ids the projection derives (uuid5), so a rebuild
#: gives every row the id it had.
ID_NAMESPACE: Final = uuid.UUID("5b0a7d4e-8d2c-4f7e-9a51-2f0c3e6d8b17")
#: The width of an aggregate bucket (08 §2.2): 15 minutes, in milliseconds.
BUCKET_MS: Final = 15 * 60 * 1000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def derived_id(*parts: object) -> str:
    """A stable UUID (text) for what `parts` name, the same on every rebuild."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(str(p) for p in parts)))


def as_guid(value: str) -> str:
    """`value` if it is a UUID (normalised), else a UUID derived from it (OData keys are Guids)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return derived_id("id", value)


def to_ms(at: float) -> int:
    """An event time (seconds since the epoch) in whole milliseconds (RP3)."""
    return round(at * 1000)


def to_dt(ms: int) -> datetime:
    """Milliseconds since the epoch as an aware UTC datetime (exact: no float rounding)."""
    return _EPOCH + timedelta(milliseconds=ms)


def opt_dt(ms: int | None) -> datetime | None:
    return None if ms is None else to_dt(ms)


def to_epoch_ms(at: datetime) -> int:
    """An aware datetime as milliseconds since the epoch (exact for millisecond values)."""
    return duration_ms(at - _EPOCH)


def duration_ms(delta: timedelta) -> int:
    """A timedelta in whole milliseconds, by integer arithmetic (no float rounding)."""
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def bucket_of(ms: int) -> int:
    """The start of the 15-minute UTC bucket holding `ms` (08 §2.2)."""
    return ms - ms % BUCKET_MS


class Row:
    """Base of the row classes: `TABLE` names the store table, `values()` the columns."""

    __slots__ = ()
    TABLE: ClassVar[str]

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass(slots=True)
class UnifiedSessionRow(Row):
    TABLE: ClassVar[str] = "report_unified_sessions"
    id: str
    task_id: str
    first_service_id: str
    last_service_id: str
    modality: str
    direction: str
    task_kind: str
    customer_identifier: str | None
    caller_id: str | None
    started_at: datetime
    ended_at: datetime
    service_session_count: int
    user_session_count: int
    transfer_session_count: int
    outcome_id: int
    outcome_group_id: int
    handled: bool
    connected_ms: int
    first_accepting_user_id: str | None


@dataclass(slots=True)
class ServiceSessionRow(Row):
    TABLE: ClassVar[str] = "report_service_sessions"
    id: str
    unified_session_id: str
    task_id: str
    service_id: str
    ou_id: str | None
    modality: str
    direction: str
    task_kind: str
    sequence: int
    started_at: datetime
    accepted_at: datetime | None
    first_enqueued_at: datetime | None
    first_offered_at: datetime | None
    user_connected_at: datetime | None
    queue_left_at: datetime | None
    customer_left_at: datetime | None
    ended_at: datetime
    ivr_ms: int
    queue_ms: int | None
    ring_ms: int
    connected_ms: int
    hold_ms: int
    acw_ms: int
    answer_wait_ms: int | None
    hangup_wait_ms: int | None
    outcome_id: int
    outcome_group_id: int
    handled: bool
    kpi_excluded: bool
    end_reason: str
    queue_exit_reason: str | None
    max_policy_level: int | None
    offer_count: int
    rona_count: int
    priority: int
    first_accepting_user_id: str | None
    last_user_id: str | None
    primary_code: str | None
    secondary_codes: str | None
    tags: str | None
    result_detail_id: str | None
    reference_id: str | None
    outbound_call_id: str | None
    outbound_attempt: int | None
    transferred_from_service_session_id: str | None
    sla_acceptance_s: int
    sla_hangup_s: int


@dataclass(slots=True)
class UserSessionRow(Row):
    TABLE: ClassVar[str] = "report_user_sessions"
    id: str
    service_session_id: str
    unified_session_id: str
    task_id: str
    user_id: str
    service_id: str
    offer_kind: str
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    ring_ms: int
    connected_ms: int
    hold_ms: int
    parked_ms: int
    acw_ms: int
    acw_end_reason: str | None
    outcome_id: int
    outcome_group_id: int
    is_transfer_target: bool
    primary_code: str | None
    secondary_codes: str | None
    tags: str | None
    result_detail_id: str | None


@dataclass(slots=True)
class TransferSessionRow(Row):
    TABLE: ClassVar[str] = "report_transfer_sessions"
    id: str
    service_session_id: str
    unified_session_id: str
    task_id: str
    from_user_session_id: str | None
    initiated_by: str
    transfer_type: str
    target_type: str
    target_id: str | None
    target_value: str | None
    started_at: datetime
    ended_at: datetime
    result: str
    error: str | None
    to_service_session_id: str | None
    to_user_session_id: str | None


@dataclass(slots=True)
class UserStateRow(Row):
    TABLE: ClassVar[str] = "report_user_states"
    id: str
    user_id: str
    state: str
    not_available_reason_id: str | None
    presence: str
    started_at: datetime
    ended_at: datetime
    duration_ms: int


#: Every session table, in the order rows are written.
SESSION_ROWS: Final = (
    UnifiedSessionRow,
    ServiceSessionRow,
    UserSessionRow,
    TransferSessionRow,
    UserStateRow,
)
