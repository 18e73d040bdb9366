"""The additive aggregates of 08 §2.2: what one session adds to its 15-minute bucket.

Every column is a count or a sum, so any period's figures are sums of buckets
(K2: ratios of sums). The counts a service session adds are computed here once,
by `ServiceCounts.of`, for the aggregate tables and for KPIs over arbitrary
periods alike (`switchboard.reporting.kpis`), so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Self

from switchboard.reporting.outcomes import Outcome, OutcomeGroup, UserOutcome
from switchboard.reporting.rows import (
    BUCKET_MS,
    ServiceSessionRow,
    UserSessionRow,
    UserStateRow,
    bucket_of,
    to_dt,
    to_epoch_ms,
)

#: The outcome-group count columns, by group (08 §2.2, "count per outcome group").
GROUP_COLUMNS: Final[dict[OutcomeGroup, str]] = {g: f"group_{g.code}" for g in OutcomeGroup}


class _Additive:
    """Counts and sums that add up field by field (`FIELDS`, each an int)."""

    __slots__ = ()

    FIELDS: ClassVar[tuple[str, ...]]

    def add(self, other: Self) -> None:
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def values(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def total(cls, items: Iterable[Self]) -> Self:
        out = cls()
        for item in items:
            out.add(item)
        return out

    @classmethod
    def summed(cls, row: Mapping[Any, Any]) -> Self:
        """The counts of a SQL row holding a sum of each field under its own name."""
        return cls(**{name: int(row[name]) for name in cls.FIELDS})


@dataclass(slots=True)
class ServiceCounts(_Additive):
    """What service sessions add up to (one session's contribution, or any sum).

    Notation of 08 §5: Q = queued (`first_enqueued_at` set); H = outcome group 1;
    HQ = H ∩ Q; W = `answer_wait_ms`; Ab = Q with outcome 4 (K4: 18 is not one);
    A = `hangup_wait_ms`; t, t_h = the session's SLA snapshots.
    """

    tasks: int = 0
    accepted: int = 0  # accepted by the system (`accepted_at` set)
    queued: int = 0  # |Q|
    handled_by_user: int = 0  # |H|
    handled_by_user_queued: int = 0  # |HQ|
    group_handled_by_user: int = 0
    group_handled_by_system: int = 0
    group_hangup_by_customer: int = 0
    group_not_handled: int = 0
    group_error: int = 0
    group_outbound_accepted: int = 0
    group_outbound_not_accepted: int = 0
    answered_within_sla: int = 0  # |{HQ : W ≤ t}|
    short_abandons: int = 0  # |{Ab : A ≤ t}|
    queue_hangups: int = 0  # |Ab|
    queue_hangups_within_hangup_sla: int = 0  # |{Ab : A ≤ t_h}|
    sum_queue_ms: int = 0  # Σ_Q L
    sum_answer_wait_ms: int = 0  # Σ_HQ W
    sum_connected_ms: int = 0  # Σ_H connected
    sum_acw_ms: int = 0  # Σ_H acw

    @classmethod
    def of(cls, s: Any) -> ServiceCounts:
        """One service session's contribution: a `ServiceSessionRow`, or a mapping of
        its columns (a SQL result row)."""
        get = _getter(s)
        counts = cls(tasks=1)
        group = OutcomeGroup(get("outcome_group_id"))
        setattr(counts, GROUP_COLUMNS[group], 1)
        counts.accepted = int(get("accepted_at") is not None)
        queued = get("first_enqueued_at") is not None
        handled = group is OutcomeGroup.HANDLED_BY_USER
        t_ms = int(get("sla_acceptance_s")) * 1000
        if queued:
            counts.queued = 1
            counts.sum_queue_ms = get("queue_ms") or 0
        if handled:
            counts.handled_by_user = 1
            counts.sum_connected_ms = get("connected_ms") or 0
            counts.sum_acw_ms = get("acw_ms") or 0
            wait = get("answer_wait_ms")
            if queued and wait is not None:
                counts.handled_by_user_queued = 1
                counts.sum_answer_wait_ms = wait
                counts.answered_within_sla = int(wait <= t_ms)
        if queued and get("outcome_id") == Outcome.CUSTOMER_HANGUP_IN_QUEUE:
            counts.queue_hangups = 1
            waited = get("hangup_wait_ms")
            if waited is not None:
                counts.short_abandons = int(waited <= t_ms)
                th_ms = int(get("sla_hangup_s")) * 1000
                counts.queue_hangups_within_hangup_sla = int(waited <= th_ms)
        return counts


ServiceCounts.FIELDS = tuple(f.name for f in dataclasses.fields(ServiceCounts))


@dataclass(slots=True)
class UserCounts(_Additive):
    """What user sessions add up to (08 §2.2 UserSessionAggregates)."""

    offered: int = 0
    accepted: int = 0  # answered (reached connected)
    declined: int = 0
    rona: int = 0
    cancelled: int = 0
    transferred: int = 0  # transferred internally or externally
    handled: int = 0  # user-outcome group 1
    sum_ring_ms: int = 0
    sum_connected_ms: int = 0
    sum_hold_ms: int = 0
    sum_acw_ms: int = 0

    @classmethod
    def of(cls, s: Any) -> UserCounts:
        """One user session's contribution: a `UserSessionRow` or a mapping of its columns."""
        get = _getter(s)
        outcome = UserOutcome(get("outcome_id"))
        counts = cls(offered=1)
        counts.accepted = int(get("answered_at") is not None)
        counts.declined = int(outcome is UserOutcome.DECLINED)
        counts.rona = int(outcome is UserOutcome.RONA)
        counts.cancelled = int(outcome is UserOutcome.CANCELLED)
        counts.transferred = int(
            outcome in (UserOutcome.TRANSFERRED_INTERNALLY, UserOutcome.TRANSFERRED_EXTERNALLY)
        )
        counts.handled = int(get("outcome_group_id") == 1)
        counts.sum_ring_ms = get("ring_ms")
        counts.sum_connected_ms = get("connected_ms")
        counts.sum_hold_ms = get("hold_ms")
        counts.sum_acw_ms = get("acw_ms")
        return counts


UserCounts.FIELDS = tuple(f.name for f in dataclasses.fields(UserCounts))


def _getter(s: Mapping[str, Any] | Any) -> Callable[[str], Any]:
    """Column access for a mapping (a SQL result row) or a row object alike."""
    if isinstance(s, Mapping):
        return s.__getitem__
    return lambda name: getattr(s, name)


# ---------------------------------------------------------------------- keys and buckets


def service_key(row: ServiceSessionRow) -> tuple[str, int, str, str, bool]:
    """(service, bucket start ms, modality, direction, kpi_excluded) of a service session."""
    bucket = bucket_of(to_epoch_ms(row.started_at))
    return (row.service_id, bucket, row.modality, row.direction, row.kpi_excluded)


def service_aggregate_id(key: tuple[str, int, str, str, bool]) -> str:
    service_id, bucket, modality, direction, excluded = key
    return f"{service_id}|{_iso(bucket)}|{modality}|{direction}|{int(excluded)}"


def user_key(row: UserSessionRow, service_started_at: datetime) -> tuple[str, str, int]:
    """(user, service, bucket start ms): by the service session's start (08 §2.2)."""
    return (row.user_id, row.service_id, bucket_of(to_epoch_ms(service_started_at)))


def user_aggregate_id(key: tuple[str, str, int]) -> str:
    user_id, service_id, bucket = key
    return f"{user_id}|{service_id}|{_iso(bucket)}"


def state_slices(row: UserStateRow) -> list[tuple[tuple[str, str, str | None, int], int]]:
    """An interval's milliseconds per bucket it overlaps: [((user, state, reason, bucket), ms)].

    A duration is spread over the time it took, unlike sessions (decision,
    docs/decisions.md): an afternoon available counts in every quarter hour of it.
    """
    start, end = to_epoch_ms(row.started_at), to_epoch_ms(row.ended_at)
    out: list[tuple[tuple[str, str, str | None, int], int]] = []
    bucket = bucket_of(start)
    while bucket < end:
        piece = min(end, bucket + BUCKET_MS) - max(start, bucket)
        if piece > 0:
            out.append(((row.user_id, row.state, row.not_available_reason_id, bucket), piece))
        bucket += BUCKET_MS
    return out


def state_aggregate_id(key: tuple[str, str, str | None, int]) -> str:
    user_id, state, reason, bucket = key
    return f"{user_id}|{state}|{reason or ''}|{_iso(bucket)}"


def _iso(bucket_ms: int) -> str:
    return to_dt(bucket_ms).strftime("%Y-%m-%dT%H:%M:%SZ")
