"""Who may receive a waiting task, and in which order (03 §3–§5).

`eligibility` answers for one (task, user) pair with a reason code when the
answer is no; `rank` orders the eligible users by the service's strategy with
preferred users first and users who just missed the task last. Both read the
state and change nothing.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterable, Iterator

from switchboard.domain.availability import modality_reasons
from switchboard.domain.enums import UserOrdering
from switchboard.domain.skills import effective_skills, skill_score
from switchboard.domain.task import Task
from switchboard.engine.state import TenantState

NOT_MATCHING_LEVEL = "not_matching_current_level"
SKIPPED_AFTER_RONA = "skipped_after_rona"
DECLINED_THIS_TASK = "declined_this_task"
RESERVED = "reserved_for_preferred_users"
PREFERRED_NOT_MEMBER = "preferred_user_not_member"
OFFERED_OTHER_TASK = "offered_other_task"


def reserved_until(state: TenantState, task: Task) -> float | None:
    """End of the preferred-users-only window, if the task has one (PU4)."""
    if not task.preferred_users or task.first_enqueued_at is None:
        return None
    service = state.services.get(task.service_id)
    if service is None or not service.distribution.preferred_wait_s:
        return None
    # PU2: preferred users who are not members, or whose skills match no level, are
    # ignored — they must not hold the task back either.
    if not any(state.qlevel.get((p.user_id, task.service_id)) for p in task.preferred_users):
        return None
    return task.first_enqueued_at + service.distribution.preferred_wait_s


def preferred_rank(task: Task, user_id: str) -> int | None:
    """0 for a preferred user without priority, else its priority; None if not preferred."""
    for p in task.preferred_users:
        if p.user_id == user_id:
            return 0 if p.priority is None else p.priority
    return None


def eligibility(state: TenantState, task: Task, user_id: str, now: float) -> str | None:
    """Why `user_id`, already selectable for the task's service, may not get `task` (None: may)."""
    user = state.users[user_id]
    service = state.services[task.service_id]
    blocked = modality_reasons(user, state.live[user_id], service, task.kind.modality)
    if blocked:
        return blocked[0].value
    level = state.qlevel.get((user_id, task.service_id))
    preferred = preferred_rank(task, user_id) is not None
    if level is None or (level > task.policy_level and not preferred):
        return NOT_MATCHING_LEVEL
    until = task.skip_until.get(user_id)
    if until is not None and until > now:
        return DECLINED_THIS_TASK if task.skipped.get(user_id) == "declined" else SKIPPED_AFTER_RONA
    if not preferred:
        end = reserved_until(state, task)
        if end is not None and now < end:
            return RESERVED
    return None


def _pool(state: TenantState, task: Task) -> Iterator[str]:
    """Selectable users of the task's service whose level admits them, plus preferred users."""
    sid = task.service_id
    for level in range(1, task.policy_level + 1):
        index = state.idle_index.get((sid, level))
        if index:
            for _since, user_id in index:
                yield user_id
    free = state.free.get(sid, ())
    for p in task.preferred_users:
        above = state.qlevel.get((p.user_id, sid))
        if p.user_id in free and above is not None and above > task.policy_level:
            yield p.user_id


def candidates(
    state: TenantState, task: Task, now: float, exclude: Iterable[str] = ()
) -> list[str]:
    """Every user free for `task` right now (I1's definition), in no particular order."""
    excluded = set(exclude)
    return [
        u
        for u in _pool(state, task)
        if u not in excluded and eligibility(state, task, u, now) is None
    ]


def best_longest_idle(state: TenantState, task: Task, now: float, exclude: set[str]) -> str | None:
    """The single best user under longest-idle order without ranking every candidate.

    Walks each admitted level's index from the longest-idle end and stops at the first
    eligible user; users who missed the task and preferred users need the general path.
    """
    if task.preferred_users or task.skipped:
        found = rank(state, task, candidates(state, task, now, exclude), 1)
        return found[0] if found else None
    best: tuple[float, str] | None = None
    for level in range(1, task.policy_level + 1):
        index = state.idle_index.get((task.service_id, level))
        if not index:
            continue
        for entry in index:
            if best is not None and entry >= best:
                break
            if entry[1] not in exclude and eligibility(state, task, entry[1], now) is None:
                best = entry
                break
    return best[1] if best is not None else None


def _seed(task: Task, seed: int | None, service_id: str) -> int:
    material = f"{seed if seed is not None else service_id}|{task.id}|{task.offer_round}"
    return int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big")


def rank(state: TenantState, task: Task, users: list[str], limit: int) -> list[str]:
    """The best `limit` users for `task`, deterministic for a given state."""
    if not users:
        return []
    service = state.services[task.service_id]
    ordering = (task.queue.user_ordering if task.queue else None) or (
        service.distribution.user_ordering
    )
    sid = service.id
    live = state.live

    def idle(u: str) -> float:
        return live[u].idle_since.get(sid, 0.0)

    if ordering is UserOrdering.ROUND_ROBIN:
        cursor = state.rr_cursor.get(sid, "")

        def strategy(u: str) -> tuple[object, ...]:
            return (0 if u > cursor else 1, u)

    elif ordering is UserOrdering.MOST_SKILLED:
        policy = state.policy_of(service)
        level = policy.levels[task.policy_level - 1] if policy is not None else None

        def strategy(u: str) -> tuple[object, ...]:
            if level is None:
                return (0, idle(u), u)
            user = state.users[u]
            score = skill_score(level, effective_skills(user, state.profile_of(user)))
            return (-score, idle(u), u)

    elif ordering is UserOrdering.RANDOM:
        shuffled = sorted(users)
        random.Random(_seed(task, service.distribution.random_seed, sid)).shuffle(shuffled)
        position = {u: i for i, u in enumerate(shuffled)}

        def strategy(u: str) -> tuple[object, ...]:
            return (position[u],)

    else:

        def strategy(u: str) -> tuple[object, ...]:
            return (idle(u), u)

    def key(u: str) -> tuple[object, ...]:
        pref = preferred_rank(task, u)
        return (u in task.skipped, pref is None, pref or 0, *strategy(u))

    if limit == 1:
        return [min(users, key=key)]
    return heapq.nsmallest(limit, users, key=key)
