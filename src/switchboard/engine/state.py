"""In-memory live state of one tenant, changed only by applying events.

`TenantState.apply(event)` is the single place where state moves. The engine
decides (validates a command, picks users) and then applies the events it
decided on; recovery applies the journal's events in order. Both paths run the
same code, so a restarted engine reaches exactly the state the old one had.

Besides the facts, the state keeps indexes that make dispatch cheap:
per-service queues in order, per-service sets of selectable users, each user's
qualifying policy level per service, and counters for caps and queue sizes.
Indexes are maintained by `apply` too, so they are rebuilt by replay.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sortedcontainers import SortedList

from switchboard.domain import config as cfg
from switchboard.domain.availability import PRESENCE_LAG_S, Reason
from switchboard.domain.enums import (
    AssignmentType,
    DistributionType,
    EndReason,
    Modality,
    OfferKind,
    Presence,
    Priority,
    ProfileKind,
    SessionOutcome,
    SessionState,
    TaskKind,
    TaskState,
    UserOrdering,
)
from switchboard.domain.live import Acw, RonaFlag, UserLive, UserSession
from switchboard.domain.skills import effective_skills, qualifying_level
from switchboard.domain.task import Offer, PreferredUser, QueueSpec, Task
from switchboard.domain.workflow.kinds import WorkflowStatus
from switchboard.domain.workflow.named import named_ids
from switchboard.domain.workflow.references import RefKind
from switchboard.domain.workflow.runtime import Wait, WorkflowRun
from switchboard.engine.events import Event

#: How long a user who missed a task (RONA or decline) is not offered it again (02 §7 R4).
SKIP_WINDOW_S = 10.0
#: Id of every tenant's root organisation unit (the default `ou_id` of entities).
ROOT_OU_ID = "root"
#: How many recently ended tasks stay in memory for `explain` and late commands.
ENDED_TASKS_KEPT = 10_000
#: How many of a workflow run's last exits are kept for the diagnosis.
TRAIL_KEPT = 20
#: How many removed configuration entities are remembered (see `TenantState.removed`).
REMOVED_KEPT = 10_000

CONFIG_TYPES: dict[str, type[Any]] = {
    "tenant": cfg.Tenant,
    "ou": cfg.OrganisationUnit,
    "service": cfg.Service,
    "user": cfg.User,
    "skill_category": cfg.SkillCategory,
    "skill": cfg.Skill,
    "profile": cfg.ResponsibilityProfile,
    "policy": cfg.DistributionPolicy,
    "not_available_reason": cfg.NotAvailableReason,
    "parameter": cfg.CustomParameter,
    "code": cfg.Code,
    "tag": cfg.Tag,
    "address_book": cfg.AddressBook,
    "audio_resource": cfg.AudioResource,
    "calendar": cfg.Calendar,
    "workflow": cfg.Workflow,
}


@dataclass(slots=True)
class Selection:
    """Last published selectability of a user for a service (modality-independent)."""

    selectable: bool
    reason: Reason | None


@dataclass
class TenantState:
    tenant: cfg.Tenant
    ous: dict[str, cfg.OrganisationUnit] = field(default_factory=dict)
    services: dict[str, cfg.Service] = field(default_factory=dict)
    users: dict[str, cfg.User] = field(default_factory=dict)
    categories: dict[str, cfg.SkillCategory] = field(default_factory=dict)
    skills: dict[str, cfg.Skill] = field(default_factory=dict)
    profiles: dict[str, cfg.ResponsibilityProfile] = field(
        default_factory=lambda: {p.id: p for p in cfg.BUILTIN_PROFILES}
    )
    policies: dict[str, cfg.DistributionPolicy] = field(default_factory=dict)
    not_available_reasons: dict[str, cfg.NotAvailableReason] = field(default_factory=dict)
    parameters: dict[str, cfg.CustomParameter] = field(default_factory=dict)
    codes: dict[str, cfg.Code] = field(default_factory=dict)
    tags: dict[str, cfg.Tag] = field(default_factory=dict)
    address_books: dict[str, cfg.AddressBook] = field(default_factory=dict)
    audio_resources: dict[str, cfg.AudioResource] = field(default_factory=dict)
    calendars: dict[str, cfg.Calendar] = field(default_factory=dict)
    #: workflow id -> its current document (a draft, or the latest published version)
    workflows: dict[str, cfg.Workflow] = field(default_factory=dict)
    #: workflow id -> its latest published version (what services may refer to)
    published_workflows: dict[str, cfg.Workflow] = field(default_factory=dict)
    #: (workflow id, version) -> every published version, for the sessions running it (RT1)
    workflow_versions: dict[tuple[str, int], cfg.Workflow] = field(default_factory=dict)

    # live facts
    tasks: dict[str, Task] = field(default_factory=dict)
    ended: OrderedDict[str, Task] = field(default_factory=OrderedDict)
    #: (kind, id) -> the entity as it was when removed, the `REMOVED_KEPT` most recent:
    #: a `config.removed` event names only the id, and whoever reads it after the fact
    #: (the live event stream deciding who may see it) needs to know where it lay.
    removed: OrderedDict[tuple[str, str], Any] = field(default_factory=OrderedDict)
    live: dict[str, UserLive] = field(default_factory=dict)
    sessions: dict[str, UserSession] = field(default_factory=dict)
    task_sessions: dict[str, set[str]] = field(default_factory=dict)
    #: task id -> the workflow its service session runs (04 §4), while it runs
    runs: dict[str, WorkflowRun] = field(default_factory=dict)
    #: provider call id -> the live task it belongs to
    calls: dict[str, str] = field(default_factory=dict)
    #: provider call id -> the ended task it belonged to, for the tasks `ended` keeps: a
    #: provider that reports the call again (`incoming_call` re-delivered) is recognised
    ended_calls: dict[str, str] = field(default_factory=dict)
    #: The voice outbox's watermark: every `voice.command` up to this journal position
    #: reached the provider (`voice.commands_done`); later ones are re-sent on restart.
    voice_done_seq: int = 0

    # indexes
    queues: dict[str, SortedList] = field(default_factory=dict)  # service -> queued tasks
    free: dict[str, set[str]] = field(default_factory=dict)  # service -> selectable users
    #: (service, qualifying level) -> selectable users ordered by (idle_since, user id)
    idle_index: dict[tuple[str, int], SortedList] = field(default_factory=dict)
    #: (user, service) -> (level, idle_since) under which the user sits in `idle_index`
    idle_pos: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)  # service -> user ids
    qlevel: dict[tuple[str, str], int | None] = field(default_factory=dict)
    selection: dict[tuple[str, str], Selection] = field(default_factory=dict)
    published: dict[str, set[str]] = field(default_factory=dict)  # user -> services
    live_counts: dict[tuple[str, Modality], int] = field(default_factory=dict)
    waiting_counts: dict[str, int] = field(default_factory=dict)
    #: service -> waiting tasks queued with the `no_users` exit (X2)
    exit_when_no_users: dict[str, set[str]] = field(default_factory=dict)
    rr_cursor: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    enqueue_seq: int = 0

    # bookkeeping for the engine's settle loop (not part of the replayed truth)
    touched_users: set[str] = field(default_factory=set)
    dirty_tasks: set[str] = field(default_factory=set)
    newly_free: set[str] = field(default_factory=set)
    full_dispatch: bool = False
    on_arm: Callable[[float, str, str, object], None] | None = None

    def __post_init__(self) -> None:
        # The root OU exists with the tenant (01 §2) and cannot be deleted.
        self.ous.setdefault(ROOT_OU_ID, cfg.OrganisationUnit(id=ROOT_OU_ID, name=self.tenant.name))

    # ------------------------------------------------------------------ lookups

    def task(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id) or self.ended.get(task_id)

    def user_live(self, user_id: str) -> UserLive:
        live = self.live.get(user_id)
        if live is None:
            live = self.live[user_id] = UserLive(user_id)
        return live

    def profile_of(self, user: cfg.User) -> cfg.ResponsibilityProfile | None:
        return self.profiles.get(user.active_profile_id)

    def on_duty(self, user: cfg.User) -> bool:
        profile = self.profile_of(user)
        return profile is not None and profile.kind is not ProfileKind.OFF_DUTY

    def referrers(self, kind: str, entity_id: str) -> list[str]:
        """Entities (as "kind:id") that reference `entity_id` and block its deletion (01)."""
        found: list[str] = []
        if kind == "ou":
            for table_kind in CONFIG_TYPES:
                if table_kind == "tenant":
                    continue
                for entity in self.table(table_kind).values():
                    if getattr(entity, "ou_id", None) == entity_id or (
                        table_kind == "ou" and entity.parent_id == entity_id
                    ):
                        found.append(f"{table_kind}:{entity.id}")
            found += self._role_holders(entity_id)
        elif kind == "service":
            found += [f"user:{u.id}" for u in self.users.values() if entity_id in u.memberships]
            found += self._role_holders(entity_id)
            found += [f"task:{t.id}" for t in self.tasks.values() if t.service_id == entity_id]
        elif kind == "policy":
            found += [
                f"service:{s.id}"
                for s in self.services.values()
                if s.distribution_policy_id == entity_id
            ]
        elif kind == "skill":
            found += [f"user:{u.id}" for u in self.users.values() if entity_id in u.skills]
            found += [
                f"policy:{p.id}"
                for p in self.policies.values()
                if any(r.skill_id == entity_id for lvl in p.levels for r in lvl.requirements)
            ]
            found += [
                f"profile:{p.id}"
                for p in self.profiles.values()
                if any(e.skill_id == entity_id for e in p.entries)
            ]
        elif kind == "skill_category":
            found += [f"skill:{s.id}" for s in self.skills.values() if s.category_id == entity_id]
        elif kind == "profile":
            found += [
                f"user:{u.id}"
                for u in self.users.values()
                if u.active_profile_id == entity_id or entity_id in u.responsibility_profile_ids
            ]
        elif kind == "not_available_reason":
            found += [
                f"user:{u.id}"
                for u in self.users.values()
                if entity_id in u.not_available_reason_ids
            ]
        elif kind in ("code", "tag"):
            attr = "codes" if kind == "code" else "tags"
            found += [
                f"service:{s.id}" for s in self.services.values() if entity_id in getattr(s, attr)
            ]
        elif kind == "calendar":
            found += [
                f"service:{s.id}"
                for s in self.services.values()
                if entity_id in (s.primary_calendar_id, s.secondary_calendar_id)
            ]
        elif kind == "workflow":
            found += [
                f"service:{s.id}"
                for s in self.services.values()
                if entity_id in s.workflows.values()
            ]
        elif kind == "user":
            found += [f"task:{s.task_id}" for s in self.sessions.values() if s.user_id == entity_id]
        elif kind == "audio_resource":
            # Drafts and published versions alike: either may be played or published.
            found += sorted(
                {
                    f"workflow:{w.id}"
                    for w in (*self.workflows.values(), *self.published_workflows.values())
                    if entity_id in named_ids(w, RefKind.AUDIO_RESOURCE)
                }
            )
            error_prompt = self.tenant.settings.error_prompt
            if error_prompt is not None and error_prompt.audio_resource_id == entity_id:
                found.append(f"tenant:{self.tenant.id}")  # its error prompt (04 RT6)
        return found

    def _role_holders(self, scope_id: str) -> list[str]:
        """Users holding a role on the OU or service `scope_id`."""
        return [
            f"user:{u.id}"
            for u in self.users.values()
            if any(r.scope_id == scope_id for r in u.roles)
        ]

    def member_online(self, user_id: str, service: cfg.Service) -> bool:
        """X2's "online": enabled, present, and active (teams-based) or on duty (skill-based)."""
        user = self.users.get(user_id)
        membership = user.memberships.get(service.id) if user is not None else None
        if user is None or membership is None or not user.enabled:
            return False
        live = self.live.get(user_id)
        if live is None or live.presence in (Presence.OFFLINE, Presence.UNKNOWN):
            return False
        if service.user_assignment_type is AssignmentType.TEAMS_BASED:
            return membership.active
        return self.on_duty(user)

    def service_online(self, service: cfg.Service) -> bool:
        return any(self.member_online(u, service) for u in self.members.get(service.id, ()))

    def policy_of(self, service: cfg.Service) -> cfg.DistributionPolicy | None:
        if service.distribution_policy_id is None:
            return None
        return self.policies.get(service.distribution_policy_id)

    def queue_of(self, service_id: str) -> SortedList:
        q = self.queues.get(service_id)
        if q is None:
            q = self.queues[service_id] = SortedList(key=Task.queue_key)
        return q

    def task_session(self, task: Task, user_id: str) -> UserSession | None:
        for sid in self.task_sessions.get(task.id, ()):
            s = self.sessions[sid]
            if s.user_id == user_id:
                return s
        return None

    def connected_session(self, task: Task) -> UserSession | None:
        if task.connected_user_id is None:
            return None
        return self.task_session(task, task.connected_user_id)

    # ------------------------------------------------------------------ indexes

    def recompute_qualifying(self, user_id: str) -> None:
        """Refresh the user's qualifying policy level in each service it belongs to."""
        user = self.users.get(user_id)
        stale = [key for key in self.qlevel if key[0] == user_id] if user is None else []
        for key in stale:
            del self.qlevel[key]
        if user is None:
            return
        skills = effective_skills(user, self.profile_of(user))
        for service_id in user.memberships:
            service = self.services.get(service_id)
            level: int | None = None
            if service is not None:
                if service.user_assignment_type is AssignmentType.SKILL_BASED:
                    policy = self.policy_of(service)
                    level = qualifying_level(policy, skills) if policy is not None else None
                elif service.user_assignment_type is AssignmentType.TEAMS_BASED:
                    level = 1
            self.qlevel[(user_id, service_id)] = level
            pos = self.idle_pos.get((user_id, service_id))
            if pos is not None and pos[0] != level:
                self._unindex_idle(user_id, service_id)
                if level is not None:
                    self._index_idle(user_id, service_id, level, pos[1])

    def _index_idle(self, user_id: str, service_id: str, level: int, since: float) -> None:
        index = self.idle_index.get((service_id, level))
        if index is None:
            index = self.idle_index[(service_id, level)] = SortedList()
        index.add((since, user_id))
        self.idle_pos[(user_id, service_id)] = (level, since)

    def _unindex_idle(self, user_id: str, service_id: str) -> None:
        pos = self.idle_pos.pop((user_id, service_id), None)
        if pos is not None:
            self.idle_index[(service_id, pos[0])].remove((pos[1], user_id))

    def _index_members(self, user: cfg.User, previous: cfg.User | None) -> None:
        if previous is not None:
            for service_id in previous.memberships:
                self.members.get(service_id, set()).discard(user.id)
        for service_id in user.memberships:
            self.members.setdefault(service_id, set()).add(user.id)

    def _arm(self, due: float, kind: str, ref: str, token: object = None) -> None:
        if self.on_arm is not None:
            self.on_arm(due, kind, ref, token)

    def _touch_task_users(self, task: Task) -> None:
        for sid in self.task_sessions.get(task.id, ()):
            self.touched_users.add(self.sessions[sid].user_id)

    def _enter_queue(self, task: Task) -> None:
        assert task.queue is not None
        if task.queue.distribution_type is not DistributionType.PICKUP:
            self.queue_of(task.service_id).add(task)
            self.dirty_tasks.add(task.id)

    def _leave_queue(self, task: Task) -> None:
        q = self.queues.get(task.service_id)
        if q is not None and task in q:
            q.remove(task)

    def _set_waiting(self, task: Task, waiting: bool) -> None:
        if task.counted_waiting is waiting:
            return  # e.g. a queue refused as full: never counted, so nothing to take back
        task.counted_waiting = waiting
        delta = 1 if waiting else -1
        self.waiting_counts[task.service_id] = self.waiting_counts.get(task.service_id, 0) + delta
        if task.queue is not None and task.queue.exit_when_no_users:
            flagged = self.exit_when_no_users.setdefault(task.service_id, set())
            if waiting:
                flagged.add(task.id)
            else:
                flagged.discard(task.id)

    # ------------------------------------------------------------------ apply

    def apply(self, event: Event) -> None:
        """Apply one event. Raises on an impossible event (a bug, never user input)."""
        self.seq = event.seq
        handler = _HANDLERS.get(event.name)
        if handler is not None:
            handler(self, event)

    # config ---------------------------------------------------------------

    def _config_upserted(self, e: Event) -> None:
        kind: str = e.data["type"]
        entity = e.data["entity"]
        if kind == "tenant":
            self.tenant = entity
            self.full_dispatch = True
            return
        table: dict[str, Any] = self.table(kind)
        previous = table.get(entity.id)
        table[entity.id] = entity
        if kind == "workflow":
            if entity.status is WorkflowStatus.PUBLISHED:
                self.published_workflows[entity.id] = entity
                self.workflow_versions[(entity.id, entity.version)] = entity
            return  # nothing routing depends on changed
        if kind == "user":
            self._index_members(entity, previous)
            self.user_live(entity.id)
            self.recompute_qualifying(entity.id)
            self.touched_users.add(entity.id)
            if previous is not None:
                for service_id in set(previous.memberships) - set(entity.memberships):
                    self.qlevel.pop((entity.id, service_id), None)
        elif kind in ("service", "policy", "profile", "skill", "skill_category"):
            for user_id in self.users:
                self.recompute_qualifying(user_id)
                self.touched_users.add(user_id)
            if kind in ("service", "policy"):
                # New escalation times or preferred wait apply to tasks already waiting.
                for task in self.tasks.values():
                    self.arm_task(task)
        self.full_dispatch = True

    def _config_removed(self, e: Event) -> None:
        kind: str = e.data["type"]
        table: dict[str, Any] = self.table(kind)
        entity = table.pop(e.data["id"], None)
        if entity is not None:
            self.removed[(kind, entity.id)] = entity
            self.removed.move_to_end((kind, entity.id))
            while len(self.removed) > REMOVED_KEPT:
                self.removed.popitem(last=False)
        if kind == "workflow":
            # Sessions running a version hold it themselves (RT1); nothing else may.
            self.published_workflows.pop(e.data["id"], None)
            for key in [k for k in self.workflow_versions if k[0] == e.data["id"]]:
                del self.workflow_versions[key]
            return
        if kind == "user" and entity is not None:
            for service_id in entity.memberships:
                self.members.get(service_id, set()).discard(entity.id)
            self.recompute_qualifying(entity.id)
            self.touched_users.add(entity.id)
        self.full_dispatch = True

    def table(self, kind: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "ou": self.ous,
            "service": self.services,
            "user": self.users,
            "skill_category": self.categories,
            "skill": self.skills,
            "profile": self.profiles,
            "policy": self.policies,
            "not_available_reason": self.not_available_reasons,
            "parameter": self.parameters,
            "code": self.codes,
            "tag": self.tags,
            "address_book": self.address_books,
            "audio_resource": self.audio_resources,
            "calendar": self.calendars,
            "workflow": self.workflows,
        }
        return tables[kind]

    # tasks ------------------------------------------------------------------

    def _task_created(self, e: Event) -> None:
        d = e.data
        kind = TaskKind(d["kind"])
        task = Task(
            id=d["task_id"],
            kind=kind,
            service_id=d["service_id"],
            created_at=e.at,
            priority=Priority(d["priority"]),
            unified_session_id=d.get("unified_session_id") or d["task_id"],
            origin_service_id=d["service_id"],
            caller=d.get("caller"),
            customer_identifier=d.get("customer_identifier"),
            reference_id=d.get("reference_id"),
            custom_context=dict(d.get("custom_context") or {}),
            preferred_users=tuple(
                PreferredUser(p["user_id"], p.get("priority")) for p in d.get("preferred_users", ())
            ),
            explicit_enqueue_at=d.get("virtual_enqueue_at"),
            call_id=d.get("call_id"),
        )
        self.tasks[task.id] = task
        if task.call_id is not None:
            self.calls[task.call_id] = task.id
        self.task_sessions[task.id] = set()
        key = (task.service_id, kind.modality)
        self.live_counts[key] = self.live_counts.get(key, 0) + 1

    def _task_workflow_started(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        if task.state is not TaskState.IN_WORKFLOW:
            task.move_to(TaskState.IN_WORKFLOW)

    def _task_accepted(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        task.move_to(TaskState.IN_WORKFLOW)
        task.accepted_at = e.at

    def _task_queued(self, e: Event) -> None:
        d = e.data
        task = self.tasks[d["task_id"]]
        task.move_to(TaskState.QUEUED)
        task.queue = QueueSpec(
            distribution_type=DistributionType(d["distribution_type"]),
            rona_timeout_s=d["rona_timeout_s"],
            max_queue_time_s=d.get("max_queue_time_s"),
            user_ordering=UserOrdering(d["user_ordering"]) if d.get("user_ordering") else None,
            exit_when_no_users=d.get("exit_when_no_users", False),
        )
        task.virtual_enqueue_at = d["virtual_enqueue_at"]
        task.enqueue_seq = d["enqueue_seq"]
        self.enqueue_seq = max(self.enqueue_seq, task.enqueue_seq)
        task.enqueued_at = e.at
        if task.first_enqueued_at is None:
            task.first_enqueued_at = e.at
        task.policy_level = d["policy_level"]
        task.level_entered_at = e.at
        task.queued_once = True
        self._set_waiting(task, True)
        self._enter_queue(task)
        self.arm_task(task)

    def _task_policy_level_changed(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        task.policy_level = e.data["policy_level"]
        task.level_entered_at = e.at
        self.dirty_tasks.add(task.id)
        self.arm_task(task)

    def _task_priority_changed(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        in_queue = task.state is TaskState.QUEUED
        if in_queue:
            self._leave_queue(task)
        task.priority = Priority(e.data["priority"])
        if in_queue:
            self._enter_queue(task)

    def _task_preferred_users_changed(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        task.preferred_users = tuple(
            PreferredUser(p["user_id"], p.get("priority")) for p in e.data["preferred_users"]
        )
        if task.state is TaskState.QUEUED:
            self.dirty_tasks.add(task.id)
        self.arm_task(task)

    def _task_offered(self, e: Event) -> None:
        d = e.data
        task = self.tasks[d["task_id"]]
        if task.state is TaskState.QUEUED:
            self._leave_queue(task)
            task.move_to(TaskState.OFFERED)
            task.offer_round += 1
        elif task.state is TaskState.IN_WORKFLOW:
            task.move_to(TaskState.OFFERED)  # T34: a workflow offers the task to a user
        task.offer_generation = d["generation"]
        offer = Offer(
            id=d["offer_id"],
            task_id=task.id,
            user_id=d["user_id"],
            session_id=d["offer_id"],
            kind=OfferKind(d["offer_kind"]),
            created_at=e.at,
            expires_at=d.get("expires_at"),
            generation=d["generation"],
        )
        task.offers[offer.id] = offer
        self._open_session(offer.id, task, offer.user_id, e.at, offer_id=offer.id)
        self.touched_users.add(offer.user_id)
        if offer.kind is OfferKind.DISTRIBUTION:
            self.rr_cursor[task.service_id] = offer.user_id
        if offer.expires_at is not None:
            self._arm(offer.expires_at, "offer", task.id, offer.id)

    def _open_session(
        self, session_id: str, task: Task, user_id: str, at: float, offer_id: str | None = None
    ) -> UserSession:
        session = UserSession(
            id=session_id,
            task_id=task.id,
            user_id=user_id,
            service_id=task.service_id,
            kind=task.kind,
            started_at=at,
            offer_id=offer_id,
        )
        self.sessions[session.id] = session
        self.task_sessions[task.id].add(session.id)
        self.user_live(user_id).sessions[session.id] = session
        return session

    def _end_session(self, session: UserSession, outcome: SessionOutcome, at: float) -> None:
        session.outcome = outcome
        if session.state is not SessionState.ENDED:
            session.move_to(SessionState.ENDED, at)
        self.sessions.pop(session.id, None)
        remaining = self.task_sessions.get(session.task_id)
        if remaining is not None:
            remaining.discard(session.id)
            if not remaining and session.task_id not in self.tasks:
                del self.task_sessions[session.task_id]
        live = self.user_live(session.user_id)
        live.sessions.pop(session.id, None)
        if session.kind.is_audio and session.reached_work:
            live.last_audio_end_at = at
            self._arm_presence_lag(live)
        self.touched_users.add(session.user_id)

    def _close_offer(self, task: Task, offer_id: str, outcome: SessionOutcome, at: float) -> None:
        offer = task.offers.pop(offer_id)
        session = self.sessions.get(offer.session_id)
        if session is not None and session.state is SessionState.INCOMING:
            self._end_session(session, outcome, at)
        if not task.offers and task.state is TaskState.OFFERED:
            if offer.kind is OfferKind.TRANSFER:
                task.move_to(TaskState.IN_WORKFLOW)  # back to the workflow that offered it
            else:
                task.move_to(TaskState.QUEUED)  # T10
                self._enter_queue(task)

    def _task_offer_withdrawn(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        self._close_offer(task, e.data["offer_id"], SessionOutcome.CANCELLED, e.at)

    def _task_declined(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        self._missed(task, e.data["user_id"], e.at, "declined", skip=e.data.get("skip", True))
        self._close_offer(task, e.data["offer_id"], SessionOutcome.DECLINED, e.at)

    def _task_rona(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        persistent = e.data.get("persistent", False)
        self._missed(task, e.data["user_id"], e.at, "rona", skip=not persistent)
        self._close_offer(task, e.data["offer_id"], SessionOutcome.RONA, e.at)

    def _missed(self, task: Task, user_id: str, at: float, how: str, *, skip: bool) -> None:
        if skip:
            until = at + SKIP_WINDOW_S
            task.skip_until[user_id] = until
            task.skipped[user_id] = how
            self._arm(until, "skip", task.id, user_id)

    def _task_queue_exited(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        if task.state is TaskState.QUEUED:
            self._leave_queue(task)
        self._set_waiting(task, False)
        task.last_queue_exit = e.data["reason"]
        task.move_to(TaskState.IN_WORKFLOW)

    def _task_connected(self, e: Event) -> None:
        d = e.data
        task = self.tasks[d["task_id"]]
        if "external_party" in d:  # T35: a tracked workflow transfer was answered
            task.move_to(TaskState.CONNECTED)
            task.external_party = d["external_party"]
            return
        user_id: str = d["user_id"]
        was_waiting = task.is_waiting
        if task.state is TaskState.QUEUED:
            self._leave_queue(task)
        task.move_to(TaskState.CONNECTED)
        if was_waiting:
            self._set_waiting(task, False)
        offer_id = d.get("offer_id")
        if offer_id is not None:
            task.offers.pop(offer_id)
            session = self.sessions[offer_id]
        else:  # pickup: a session without an offer
            session = self._open_session(d["session_id"], task, user_id, e.at)
        session.move_to(SessionState.CONNECTED, e.at)
        task.connected_user_id = user_id
        task.last_connected_user_id = user_id
        self.touched_users.add(user_id)

    def _task_user_move(self, e: Event, task_to: TaskState, session_to: SessionState) -> None:
        task = self.tasks[e.data["task_id"]]
        session = self.connected_session(task)
        assert session is not None
        task.move_to(task_to)
        session.move_to(session_to, e.at)
        self.touched_users.add(session.user_id)

    def _task_held(self, e: Event) -> None:
        self._task_user_move(e, TaskState.ON_HOLD, SessionState.ON_HOLD)

    def _task_resumed(self, e: Event) -> None:
        self._task_user_move(e, TaskState.CONNECTED, SessionState.CONNECTED)

    def _task_parked(self, e: Event) -> None:
        self._task_user_move(e, TaskState.PARKED, SessionState.PARKED)

    def _task_unparked(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        if task.kind.is_audio:
            self._task_user_move(e, TaskState.UNPARKING, SessionState.UNPARKING)
        self._task_user_move(e, TaskState.CONNECTED, SessionState.CONNECTED)

    def _task_terminated(self, e: Event) -> None:
        task = self.tasks.pop(e.data["task_id"])
        was_waiting = task.is_waiting
        if task.state is TaskState.QUEUED:
            self._leave_queue(task)
        if was_waiting:
            self._set_waiting(task, False)
        task.move_to(TaskState.TERMINATED)
        task.terminated_at = e.at
        task.end_reason = EndReason(e.data["end_reason"])
        task.end_detail = e.data.get("detail")
        acw_users = set(e.data.get("acw_user_ids", ()))
        for sid in list(self.task_sessions.get(task.id, ())):
            session = self.sessions[sid]
            if session.state is SessionState.INCOMING:
                self._end_session(session, SessionOutcome.CANCELLED, e.at)
            elif session.user_id in acw_users:
                session.outcome = SessionOutcome.ACCEPTED
                session.move_to(SessionState.IN_ACW, e.at)
                self.touched_users.add(session.user_id)
            elif session.state is not SessionState.IN_ACW:
                self._end_session(session, SessionOutcome.ACCEPTED, e.at)
        task.offers.clear()
        task.connected_user_id = None
        self.runs.pop(task.id, None)
        if task.call_id is not None and self.calls.get(task.call_id) == task.id:
            del self.calls[task.call_id]
            self.ended_calls[task.call_id] = task.id
        key = (task.service_id, task.kind.modality)
        self.live_counts[key] = self.live_counts.get(key, 1) - 1
        if not self.task_sessions.get(task.id):
            self.task_sessions.pop(task.id, None)
        self.ended[task.id] = task
        while len(self.ended) > ENDED_TASKS_KEPT:
            gone_id, gone = self.ended.popitem(last=False)
            if gone.call_id is not None and self.ended_calls.get(gone.call_id) == gone_id:
                del self.ended_calls[gone.call_id]

    def _task_transferred(self, e: Event) -> None:
        """A workflow handed the task to another service: a new service session (05 §4)."""
        d = e.data
        task = self.tasks[d["task_id"]]
        modality = task.kind.modality
        old = (task.service_id, modality)
        self.live_counts[old] = self.live_counts.get(old, 1) - 1
        task.service_id = d["service_id"]
        new = (task.service_id, modality)
        self.live_counts[new] = self.live_counts.get(new, 0) + 1
        task.transfer_count += 1
        # Nothing of the old session's queueing carries over but, if asked, the position.
        task.queued_once = False
        task.queue = None
        task.last_queue_exit = None
        task.policy_level = 1
        task.level_entered_at = None
        task.skip_until.clear()
        task.skipped.clear()
        if not d.get("keep_queue_position"):
            task.virtual_enqueue_at = None

    def _task_codes_set(self, e: Event) -> None:
        d = e.data
        session = self.sessions[d["session_id"]]
        session.primary_code_id = d.get("primary_code_id")
        session.secondary_code_ids = tuple(d.get("secondary_code_ids", ()))
        session.tag_ids = tuple(d.get("tag_ids", ()))

    def _task_parameter_updated(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        task.custom_context[e.data["parameter_id"]] = e.data["value"]

    def _task_consent_recorded(self, e: Event) -> None:
        task = self.tasks[e.data["task_id"]]
        task.consents[e.data["purpose"]] = e.data["value"]

    # workflow runs (04 §4) -------------------------------------------------

    def _workflow_started(self, e: Event) -> None:
        d = e.data
        workflow = self.workflow_versions[(d["workflow_id"], d["workflow_version"])]
        self.runs[d["task_id"]] = WorkflowRun(
            task_id=d["task_id"], workflow=workflow, service_id=d["service_id"]
        )

    def _workflow_node_entered(self, e: Event) -> None:
        run = self.runs[e.data["task_id"]]
        run.node_id = e.data["node_id"]
        run.node_entered_at = e.at
        run.node_done = False
        run.executions = e.data["execution"]
        run.wait = None

    def _workflow_node_waiting(self, e: Event) -> None:
        run = self.runs[e.data["task_id"]]
        run.wait = Wait.from_json(e.data["wait"])
        run.wait_seq += 1
        if run.wait.deadline is not None:
            self._arm(run.wait.deadline, "workflow", run.task_id, run.wait_seq)

    def _workflow_node_completed(self, e: Event) -> None:
        run = self.runs[e.data["task_id"]]
        run.node_done = True
        run.wait = None
        run.trail.append((e.data["node_id"], e.data["exit"]))
        del run.trail[:-TRAIL_KEPT]

    def _workflow_ended(self, e: Event) -> None:
        self.runs.pop(e.data["task_id"], None)

    # the voice outbox (docs/voice.md) -------------------------------------

    def _voice_commands_done(self, e: Event) -> None:
        self.voice_done_seq = max(self.voice_done_seq, int(e.data["through_seq"]))

    # users ------------------------------------------------------------------

    def _user_state_changed(self, e: Event) -> None:
        user_id: str = e.data["user_id"]
        live = self.user_live(user_id)
        for change in e.data["changes"]:
            service_id: str = change["service_id"]
            selectable: bool = change["selectable"]
            reason = Reason(change["reason"]) if change["reason"] else None
            self.selection[(user_id, service_id)] = Selection(selectable, reason)
            self.published.setdefault(user_id, set()).add(service_id)
            free = self.free.setdefault(service_id, set())
            self._unindex_idle(user_id, service_id)
            if selectable:
                free.add(user_id)
                live.idle_since[service_id] = e.at
                self.newly_free.add(user_id)
                level = self.qlevel.get((user_id, service_id))
                if level is not None:
                    self._index_idle(user_id, service_id, level, e.at)
            else:
                free.discard(user_id)

    def _user_presence_changed(self, e: Event) -> None:
        live = self.user_live(e.data["user_id"])
        live.presence = Presence(e.data["presence"])
        live.presence_at = e.at
        self.touched_users.add(live.user_id)
        self._arm_presence_lag(live)

    def _arm_presence_lag(self, live: UserLive) -> None:
        """Re-check a user when our own call stops explaining a busy presence (02 §6.1).

        Only a raw busy presence is discounted, so only then does the end of the
        lag window change anything worth a timer.
        """
        if live.last_audio_end_at is not None and live.presence in _BUSY:
            self._arm(live.last_audio_end_at + PRESENCE_LAG_S, "presence_lag", live.user_id)

    # Configuration objects may be shared with the event that brought them, so runtime
    # changes replace them rather than mutate them.

    def _user_profile_changed(self, e: Event) -> None:
        user = self.users[e.data["user_id"]]
        user = self.users[user.id] = replace(user, active_profile_id=e.data["profile_id"])
        self.recompute_qualifying(user.id)
        self.touched_users.add(user.id)

    def _user_active_changed(self, e: Event) -> None:
        user = self.users[e.data["user_id"]]
        service_id: str = e.data["service_id"]
        memberships = dict(user.memberships)
        memberships[service_id] = replace(memberships[service_id], active=e.data["active"])
        self.users[user.id] = replace(user, memberships=memberships)
        self.touched_users.add(user.id)

    def _user_not_available_changed(self, e: Event) -> None:
        live = self.user_live(e.data["user_id"])
        live.not_available_reason_id = e.data.get("reason_id")
        live.not_available_since = e.at if live.not_available_reason_id is not None else None
        self.touched_users.add(live.user_id)

    def _user_acw_started(self, e: Event) -> None:
        d = e.data
        live = self.user_live(d["user_id"])
        live.acw = Acw(
            task_id=d["task_id"],
            service_id=d["service_id"],
            started_at=e.at,
            ends_at=d["ends_at"],
            allow_early_end=d["allow_early_end"],
            allow_extension=d["allow_extension"],
            max_extension_s=d["max_extension_s"],
        )
        self.touched_users.add(live.user_id)
        self._arm(live.acw.ends_at, "acw", live.user_id, live.acw.ends_at)

    def _user_acw_extended(self, e: Event) -> None:
        live = self.user_live(e.data["user_id"])
        assert live.acw is not None
        live.acw.ends_at = e.data["ends_at"]
        live.acw.extended = True
        self._arm(live.acw.ends_at, "acw", live.user_id, live.acw.ends_at)

    def _user_acw_ended(self, e: Event) -> None:
        live = self.user_live(e.data["user_id"])
        acw, live.acw = live.acw, None
        for session in list(live.sessions.values()):
            if session.state is SessionState.IN_ACW and (
                acw is None or session.task_id == acw.task_id
            ):
                self._end_session(session, SessionOutcome.ACCEPTED, e.at)
        self.touched_users.add(live.user_id)

    def _user_rona_set(self, e: Event) -> None:
        live = self.user_live(e.data["user_id"])
        live.rona = RonaFlag(e.data["service_id"], e.at, e.data["clears_at"])
        self.touched_users.add(live.user_id)
        self._arm(live.rona.clears_at, "rona_reset", live.user_id, live.rona.clears_at)

    def _user_rona_cleared(self, e: Event) -> None:
        live = self.user_live(e.data["user_id"])
        live.rona = None
        self.touched_users.add(live.user_id)

    # ------------------------------------------------------------------ timers

    def arm_task(self, task: Task) -> None:
        """Arm every deadline a waiting task's state implies."""
        if not task.is_waiting or task.queue is None or task.enqueued_at is None:
            return
        if task.queue.max_queue_time_s is not None:
            self._arm(task.enqueued_at + task.queue.max_queue_time_s, "queue_timeout", task.id)
        service = self.services.get(task.service_id)
        if service is None:
            return
        policy = self.policy_of(service)
        if policy is not None and task.policy_level < len(policy.levels):
            level = policy.levels[task.policy_level - 1]
            if level.time_in_level_s is not None and task.level_entered_at is not None:
                self._arm(
                    task.level_entered_at + level.time_in_level_s,
                    "level",
                    task.id,
                    task.policy_level,
                )
        wait = service.distribution.preferred_wait_s
        if wait and task.preferred_users and task.first_enqueued_at is not None:
            self._arm(task.first_enqueued_at + wait, "preferred", task.id)

    def arm_all(self, sweeper_at: float) -> None:
        """After a replay: arm every timer the live state implies."""
        for run in self.runs.values():
            if run.wait is not None and run.wait.deadline is not None:
                self._arm(run.wait.deadline, "workflow", run.task_id, run.wait_seq)
        for task in self.tasks.values():
            self.arm_task(task)
            for offer in task.offers.values():
                if offer.expires_at is not None:
                    self._arm(offer.expires_at, "offer", task.id, offer.id)
            for user_id, until in task.skip_until.items():
                self._arm(until, "skip", task.id, user_id)
        for live in self.live.values():
            if live.acw is not None:
                self._arm(live.acw.ends_at, "acw", live.user_id, live.acw.ends_at)
            if live.rona is not None:
                self._arm(live.rona.clears_at, "rona_reset", live.user_id, live.rona.clears_at)
            self._arm_presence_lag(live)
        self._arm(sweeper_at, "sweeper", "")


_BUSY = frozenset({Presence.BUSY, Presence.BUSY_IN_CALL})

_HANDLERS: dict[str, Callable[[TenantState, Event], None]] = {
    "config.upserted": TenantState._config_upserted,
    "config.removed": TenantState._config_removed,
    "task.created": TenantState._task_created,
    "task.workflow_started": TenantState._task_workflow_started,
    "task.accepted": TenantState._task_accepted,
    "task.queued": TenantState._task_queued,
    "task.policy_level_changed": TenantState._task_policy_level_changed,
    "task.priority_changed": TenantState._task_priority_changed,
    "task.preferred_users_changed": TenantState._task_preferred_users_changed,
    "task.offered": TenantState._task_offered,
    "task.offer_withdrawn": TenantState._task_offer_withdrawn,
    "task.declined": TenantState._task_declined,
    "task.rona": TenantState._task_rona,
    "task.queue_exited": TenantState._task_queue_exited,
    "task.connected": TenantState._task_connected,
    "task.held": TenantState._task_held,
    "task.resumed": TenantState._task_resumed,
    "task.parked": TenantState._task_parked,
    "task.unparked": TenantState._task_unparked,
    "task.terminated": TenantState._task_terminated,
    "task.transferred": TenantState._task_transferred,
    "task.parameter_updated": TenantState._task_parameter_updated,
    "task.codes_set": TenantState._task_codes_set,
    "task.consent_recorded": TenantState._task_consent_recorded,
    "workflow.started": TenantState._workflow_started,
    "workflow.node_entered": TenantState._workflow_node_entered,
    "workflow.node_waiting": TenantState._workflow_node_waiting,
    "workflow.node_completed": TenantState._workflow_node_completed,
    "workflow.ended": TenantState._workflow_ended,
    "voice.commands_done": TenantState._voice_commands_done,
    "user.state_changed": TenantState._user_state_changed,
    "user.presence_changed": TenantState._user_presence_changed,
    "user.profile_changed": TenantState._user_profile_changed,
    "user.active_changed": TenantState._user_active_changed,
    "user.not_available_changed": TenantState._user_not_available_changed,
    "user.acw_started": TenantState._user_acw_started,
    "user.acw_extended": TenantState._user_acw_extended,
    "user.acw_ended": TenantState._user_acw_ended,
    "user.rona_set": TenantState._user_rona_set,
    "user.rona_cleared": TenantState._user_rona_cleared,
}
