"""Tenants to simulate: the pure Erlang setting and the large routing benchmark.

Both return a `Scenario` (configuration plus where calls arrive); the simulator
feeds the configuration through the engine's normal `upsert` commands.
"""

from __future__ import annotations

import random

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, DistributionType
from switchboard.engine.simulation import Scenario


def erlang_scenario(agents: int, *, acw_s: int | None = None, rona_timeout_s: int = 20) -> Scenario:
    """One service, N always-available agents, direct distribution, longest idle (03 §9)."""
    if agents < 1:
        raise ValueError(f"agents must be at least 1; got {agents}.")
    service = cfg.Service(
        id="svc-erlang",
        name="Erlang",
        upn="erlang@sim.switchboard.test",
        user_assignment_type=AssignmentType.TEAMS_BASED,
    )
    service.queue.distribution_type = DistributionType.DIRECT
    service.queue.rona_timeout_s = rona_timeout_s
    if acw_s is not None:
        service.distribution.acw_enabled = True
        service.distribution.acw_duration_s = acw_s
    users = [
        cfg.User(
            id=f"agent-{i:05d}",
            upn=f"agent{i}@sim.switchboard.test",
            display_name=f"Agent {i}",
            memberships={service.id: cfg.Membership(service.id)},
        )
        for i in range(agents)
    ]
    tenant = cfg.Tenant(id="sim", name="Simulation")
    tenant.settings.max_concurrent_tasks_per_service.audio = None
    return Scenario(
        tenant=tenant,
        entities=[("service", service), *(("user", u) for u in users)],
        user_ids=[u.id for u in users],
        service_weights=[(service.id, 1.0)],
    )


def large_scenario(
    *,
    agents: int = 10_000,
    services: int = 200,
    skills: int = 50,
    levels: int = 3,
    seed: int = 7,
    acw_s: int | None = 10,
) -> Scenario:
    """Skill-based services with `levels`-level policies over a shared skill catalogue.

    Each service asks for one primary skill: level 1 wants an expert (≥ 4 of 5),
    level 2 anyone with the skill, the last level any member. Each agent belongs
    to 2–4 services and holds its services' primary skills at random levels plus
    a few other skills, so pools overlap the way real centres' do.
    """
    for name, value, least in (
        ("agents", agents, 1),
        ("services", services, 4),
        ("skills", skills, 2),
        ("levels", levels, 1),
    ):
        if value < least:
            raise ValueError(f"{name} must be at least {least}; got {value}.")
    rng = random.Random(seed)
    category = cfg.SkillCategory(
        id="cat-lang",
        name="Product knowledge",
        levelled=True,
        levels=tuple(cfg.SkillLevel(v, f"L{v}") for v in range(1, 6)),
    )
    skill_ids = [f"skill-{i:03d}" for i in range(skills)]
    entities: list[tuple[str, object]] = [("skill_category", category)]
    entities += [
        ("skill", cfg.Skill(id=sid, category_id=category.id, name=f"Skill {i}"))
        for i, sid in enumerate(skill_ids)
    ]
    service_list: list[cfg.Service] = []
    primary: dict[str, str] = {}
    for i in range(services):
        skill_id = skill_ids[i % skills]
        policy_levels = [
            cfg.PolicyLevel(
                requirements=(cfg.Requirement(skill_id, min_level=max(1, 5 - 2 * k)),),
                time_in_level_s=10 * (k + 1),
            )
            for k in range(levels - 1)
        ]
        policy_levels.append(cfg.PolicyLevel(requirements=(), time_in_level_s=None))
        policy = cfg.DistributionPolicy(
            id=f"policy-{i:03d}", name=f"Policy {i}", levels=tuple(policy_levels)
        )
        service = cfg.Service(
            id=f"svc-{i:03d}",
            name=f"Service {i}",
            upn=f"service{i}@bench.switchboard.test",
            user_assignment_type=AssignmentType.SKILL_BASED,
            distribution_policy_id=policy.id,
        )
        service.queue.distribution_type = DistributionType.DIRECT_CONFERENCE
        if acw_s is not None:
            service.distribution.acw_enabled = True
            service.distribution.acw_duration_s = acw_s
        entities.append(("policy", policy))
        service_list.append(service)
        primary[service.id] = skill_id
    entities += [("service", s) for s in service_list]
    user_ids: list[str] = []
    for i in range(agents):
        member_of = rng.sample(service_list, rng.randint(2, 4))
        user_skills = {
            primary[s.id]: cfg.UserSkill(primary[s.id], level=rng.randint(1, 5)) for s in member_of
        }
        for extra in rng.sample(skill_ids, 2):
            user_skills.setdefault(extra, cfg.UserSkill(extra, level=rng.randint(1, 5)))
        user = cfg.User(
            id=f"agent-{i:05d}",
            upn=f"agent{i}@bench.switchboard.test",
            display_name=f"Agent {i}",
            memberships={s.id: cfg.Membership(s.id) for s in member_of},
            skills=user_skills,
            active_profile_id=cfg.ON_DUTY_PROFILE_ID,
        )
        entities.append(("user", user))
        user_ids.append(user.id)
    tenant = cfg.Tenant(id="bench", name="Benchmark")
    tenant.settings.max_concurrent_tasks_per_service.audio = None
    weights = [(s.id, 1.0) for s in service_list]
    return Scenario(tenant=tenant, entities=entities, user_ids=user_ids, service_weights=weights)
