""" "Why is this task not being offered?": the diagnosis of 03 §10.

The checks run in a fixed order and the first failing one sets the verdict; the
per-user list says, for every member of the service, whether they are
selectable (with every reason if not) and, if they are, why this particular
task still does not go to them. The answer is computed from the same functions
dispatch uses, so it cannot drift from what the engine actually does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchboard.domain.availability import evaluate
from switchboard.domain.enums import AssignmentType, DistributionType, Presence, TaskState
from switchboard.domain.errors import NotFound
from switchboard.engine import selection

if TYPE_CHECKING:
    from switchboard.engine.engine import Engine

VERDICT_MESSAGES = {
    "terminated": "The task has ended.",
    "in_workflow": "The task is in its workflow, not waiting in a queue.",
    "not_in_queue": "The task is not waiting in a queue (it is in its workflow or with a user).",
    "pickup_mode": "The task waits in a pickup list: a user must take it; nobody is offered it.",
    "offer_outstanding": "The task is being offered right now and waits for an answer.",
    "reserved_for_preferred_users": "The task is reserved for its preferred users for now.",
    "no_members": "The service has no members.",
    "no_member_online": "No member of the service is online, active and on duty.",
    "no_member_selectable": "Members are online, but none can take a task right now.",
    "no_member_eligible_at_level": (
        "Members can take tasks, but none has the skills the current policy level asks for."
    ),
    "all_eligible_skipped": (
        "The users who could take it missed or declined it moments ago and are held back briefly."
    ),
    "waiting_behind_earlier_tasks": "Suitable users are busy with tasks that were queued earlier.",
    "invariant_violation": (
        "A suitable user is free but was not offered the task: this is a defect; dispatch runs now."
    ),
}

#: Why a selectable user still does not get this particular task (the per-user
#: `eligibility_reason` of the diagnosis), as a sentence.
ELIGIBILITY_MESSAGES = {
    selection.NOT_MATCHING_LEVEL: "Their skills do not meet the task's current policy level.",
    selection.SKIPPED_AFTER_RONA: "They let this task ring out moments ago; held back briefly.",
    selection.DECLINED_THIS_TASK: "They declined this task moments ago and are held back briefly.",
    selection.RESERVED: "The task is reserved for its preferred users for now.",
    selection.PREFERRED_NOT_MEMBER: "This preferred user is not a member of the service.",
    selection.OFFERED_OTHER_TASK: "They are being offered another task.",
}


@dataclass(slots=True)
class Check:
    check: str
    passed: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Diagnosis:
    task_id: str
    verdict: str | None
    checks: list[Check]
    counts: dict[str, int]
    users: list[dict[str, Any]]
    #: Where the task's workflow is (04 RT5), while one runs; None otherwise.
    workflow: dict[str, Any] | None = None

    @property
    def message(self) -> str:
        if self.verdict is None:
            return "Nothing holds the task back."
        if self.verdict == "in_workflow" and self.workflow is not None:
            flow = self.workflow
            return (
                f"The task is in its workflow at node {flow['node_id']!r} ({flow['activity']}), "
                "not waiting in a queue."
            )
        return VERDICT_MESSAGES[self.verdict]

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "verdict": self.verdict,
            "message": self.message,
            "checks": [
                {"check": c.check, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
            "counts": self.counts,
            "users": self.users,
            "workflow": self.workflow,
        }


def explain(engine: Engine, task_id: str) -> Diagnosis:
    st = engine.state
    now = engine.clock.now()
    checks: list[Check] = []
    counts = {"members": 0, "online": 0, "selectable": 0, "eligible_now": 0}
    task = st.task(task_id)
    if task is None:
        raise NotFound(f"No task with id '{task_id}'.", code="task_not_found")

    def verdict_of(name: str, passed: bool, **detail: Any) -> bool:
        checks.append(Check(name, passed, detail))
        return not passed

    flow = _workflow(engine, task_id)

    def done(verdict: str, users: list[dict[str, Any]] | None = None) -> Diagnosis:
        return Diagnosis(task_id, verdict, checks, counts, users or [], flow)

    if verdict_of(
        "task_live",
        task.state is not TaskState.TERMINATED,
        end_reason=task.end_reason.value if task.end_reason else None,
    ):
        return done("terminated")
    if verdict_of("in_queue", task.is_waiting, state=task.state.value):
        in_workflow = flow is not None and task.state is TaskState.IN_WORKFLOW
        return done("in_workflow" if in_workflow else "not_in_queue")
    # A workflow's transfer offer (no queue behind it) skips the queue's checks.
    if task.queue is not None and verdict_of(
        "not_pickup",
        task.queue.distribution_type is not DistributionType.PICKUP,
        distribution_type=task.queue.distribution_type.value,
    ):
        return done("pickup_mode")
    offers = list(task.offers.values())
    if verdict_of(
        "no_offer_outstanding",
        not offers,
        users=[o.user_id for o in offers],
        since=min((o.created_at for o in offers), default=None),
        ring_time_left_s=max(((o.expires_at or now) - now for o in offers), default=None),
    ):
        return done("offer_outstanding")

    service = st.services[task.service_id]
    members = sorted(st.members.get(service.id, set()))
    users: list[dict[str, Any]] = []
    online = selectable = matching = eligible = 0
    skipped_only = True
    for user_id in members:
        user = st.users[user_id]
        live = st.user_live(user_id)
        membership = user.memberships.get(service.id)
        is_online = (
            user.enabled
            and live.presence not in (Presence.OFFLINE, Presence.UNKNOWN)
            and membership is not None
            and (
                membership.active
                if service.user_assignment_type is AssignmentType.TEAMS_BASED
                else st.on_duty(user)
            )
        )
        online += is_online
        verdict = evaluate(
            user,
            live,
            service,
            on_duty=st.on_duty(user),
            qualifying_level=st.qlevel.get((user_id, service.id)),
            now=now,
            modality=task.kind.modality,
        )
        entry: dict[str, Any] = {"user_id": user_id, **verdict.as_dict()}
        entry["eligibility_reason"] = None
        entry["eligibility_message"] = None
        if verdict.selectable:
            selectable += 1
            why = selection.eligibility(st, task, user_id, now)
            entry["eligibility_reason"] = why
            entry["eligibility_message"] = ELIGIBILITY_MESSAGES.get(why) if why else None
            if why != selection.NOT_MATCHING_LEVEL:
                matching += 1
            if why is None:
                eligible += 1
            elif why not in (
                selection.SKIPPED_AFTER_RONA,
                selection.DECLINED_THIS_TASK,
                selection.NOT_MATCHING_LEVEL,
            ):
                skipped_only = False
        users.append(entry)
    for pref in task.preferred_users:
        if pref.user_id not in st.members.get(service.id, set()):
            users.append(
                {
                    "user_id": pref.user_id,
                    "selectable": False,
                    "reason": "not_member",
                    "reasons": ["not_member"],
                    "detail": {},
                    "eligibility_reason": selection.PREFERRED_NOT_MEMBER,
                    "eligibility_message": ELIGIBILITY_MESSAGES[selection.PREFERRED_NOT_MEMBER],
                    "message": "This preferred user is not a member of the service.",
                }
            )
    counts.update(members=len(members), online=online, selectable=selectable)
    counts["eligible_now"] = eligible

    until = selection.reserved_until(st, task)
    if verdict_of(
        "no_preferred_reservation",
        until is None or now >= until or eligible > 0,
        until=until,
    ):
        return done("reserved_for_preferred_users", users)
    if verdict_of("has_members", bool(members)):
        return done("no_members", users)
    if verdict_of("member_online", online > 0, online=online):
        return done("no_member_online", users)
    if verdict_of("member_selectable", selectable > 0, selectable=selectable):
        return done("no_member_selectable", users)
    next_at = _next_escalation(engine, task)
    if verdict_of(
        "member_matches_level",
        matching > 0,
        policy_level=task.policy_level,
        next_level_at=next_at,
    ):
        return done("no_member_eligible_at_level", users)
    if eligible == 0:
        verdict_of("eligible_user_free", False)
        return done(
            "all_eligible_skipped" if skipped_only else "waiting_behind_earlier_tasks", users
        )
    checks.append(Check("eligible_user_free", True, {"eligible_now": eligible}))
    return done("invariant_violation", users)


def _workflow(engine: Engine, task_id: str) -> dict[str, Any] | None:
    """The run of the task's service session: version, node, what it waits for (RT5)."""
    run = engine.state.runs.get(task_id)
    if run is None:
        return None
    node = run.workflow.document.node(run.node_id) if run.node_id else None
    wait = run.wait
    return {
        "workflow_id": run.workflow.id,
        "version": run.workflow.version,
        "name": run.workflow.name,
        "node_id": run.node_id,
        "node_name": node.name if node is not None else None,
        "activity": node.type if node is not None else None,
        "entered_at": run.node_entered_at,
        "executions": run.executions,
        "waiting_for": wait.phase if wait is not None else None,
        "attempt": wait.attempt if wait is not None else None,
        "deadline": wait.deadline if wait is not None else None,
        "trail": [{"node_id": node_id, "exit": exit_} for node_id, exit_ in run.trail],
    }


def _next_escalation(engine: Engine, task: Any) -> float | None:
    st = engine.state
    service = st.services[task.service_id]
    policy = st.policy_of(service)
    if policy is None or task.policy_level >= len(policy.levels):
        return None
    level = policy.levels[task.policy_level - 1]
    if level.time_in_level_s is None or task.level_entered_at is None:
        return None
    return float(task.level_entered_at + level.time_in_level_s)
