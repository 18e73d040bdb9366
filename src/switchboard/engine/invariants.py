"""The routing invariants of 03 §8 as executable checks over live state.

Used by the property-based tests after every step and by the simulator's
`--check` mode; each violation is a sentence naming the task and user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard.domain.enums import DistributionType, SessionState, TaskState
from switchboard.engine import selection

if TYPE_CHECKING:
    from switchboard.engine.engine import Engine


def violations(engine: Engine) -> list[str]:
    st = engine.state
    now = engine.clock.now()
    found: list[str] = []
    # I1 no stuck work: no queued (non-pickup) task has a free user.
    for task in st.tasks.values():
        if task.state is not TaskState.QUEUED or task.queue is None:
            continue
        if task.queue.distribution_type is DistributionType.PICKUP:
            continue
        free = selection.candidates(st, task, now)
        if free:
            found.append(f"I1: task {task.id} waits while {sorted(free)} are free for it")
    # I2 single owner / I3 capacity / I6 blocking.
    for task in st.tasks.values():
        if (
            task.queue is not None
            and task.queue.distribution_type
            in (
                DistributionType.DIRECT,
                DistributionType.DIRECT_CONFERENCE,
            )
            and len(task.offers) > 1
        ):
            found.append(f"I2: direct task {task.id} has {len(task.offers)} offers")
        working = [
            st.sessions[s]
            for s in st.task_sessions.get(task.id, ())
            if st.sessions[s].state
            not in (SessionState.INCOMING, SessionState.IN_ACW, SessionState.ENDED)
        ]
        if len(working) > 1:
            found.append(f"I2: task {task.id} is worked by {[s.user_id for s in working]}")
    for user_id, live in st.live.items():
        user = st.users.get(user_id)
        if user is None:
            continue
        slots = live.slot_count()
        if slots > user.parallelization.total_limit():
            found.append(f"I3: user {user_id} holds {slots} tasks")
        blocking = [s for s in live.sessions.values() if s.is_blocking]
        if len(blocking) > 1:
            found.append(f"I3/I6: user {user_id} has {len(blocking)} blocking sessions")
        ringing = [s for s in live.sessions.values() if s.state is SessionState.INCOMING]
        if len(ringing) > 1:
            found.append(f"I3: user {user_id} has {len(ringing)} offers at once")
        if live.rona is not None and live.rona.service_id not in st.services:
            found.append(f"user {user_id} has a RONA flag from an unknown service")
    # Offers only on live, waiting tasks (I4).
    for session in st.sessions.values():
        owner = st.tasks.get(session.task_id)
        if session.state is SessionState.INCOMING and (owner is None or not owner.is_waiting):
            found.append(f"I4: user {session.user_id} rings for task {session.task_id} not waiting")
    return found
