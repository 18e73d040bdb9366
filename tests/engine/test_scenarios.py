"""Tests for the simulated tenants of `switchboard.engine.scenarios`."""

from __future__ import annotations

from collections import Counter

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType, DistributionType
from switchboard.engine.scenarios import erlang_scenario, large_scenario
from switchboard.engine.simulation import Simulator, TrafficParams

AGENTS, SERVICES, SKILLS, LEVELS = 200, 10, 5, 3


def bench_params(calls: int, agents: int = AGENTS, seed: int = 1) -> TrafficParams:
    aht = 300.0
    return TrafficParams(
        arrivals_per_hour=0.85 * agents / aht * 3600,
        aht_s=aht,
        calls=calls,
        seed=seed,
        ring_s=3.0,
    )


# ============================================================================ erlang_scenario


def test_erlang_scenario_shape() -> None:
    scenario = erlang_scenario(3, acw_s=15, rona_timeout_s=7)
    kinds = Counter(kind for kind, _ in scenario.entities)
    assert kinds == {"service": 1, "user": 3}
    service = next(e for k, e in scenario.entities if k == "service")
    assert isinstance(service, cfg.Service)
    assert service.queue.distribution_type is DistributionType.DIRECT
    assert service.queue.rona_timeout_s == 7
    assert service.distribution.acw_enabled
    assert service.distribution.acw_duration_s == 15
    assert scenario.service_weights == [(service.id, 1.0)]
    assert len(scenario.user_ids) == 3
    plain = next(e for k, e in erlang_scenario(1).entities if k == "service")
    assert isinstance(plain, cfg.Service)
    assert not plain.distribution.acw_enabled
    with pytest.raises(ValueError, match="agents"):
        erlang_scenario(0)


# ============================================================================ large_scenario


def test_large_scenario_policies_and_memberships() -> None:
    scenario = large_scenario(agents=AGENTS, services=SERVICES, skills=SKILLS, levels=LEVELS)
    services = [e for k, e in scenario.entities if k == "service"]
    policies = {e.id: e for k, e in scenario.entities if k == "policy"}
    users = [e for k, e in scenario.entities if k == "user"]
    skills = {e.id for k, e in scenario.entities if k == "skill"}
    assert len(services) == SERVICES
    assert len(users) == AGENTS
    assert len(skills) == SKILLS
    assert scenario.user_ids == [u.id for u in users]
    assert sorted(s for s, _ in scenario.service_weights) == sorted(s.id for s in services)
    for service in services:
        assert isinstance(service, cfg.Service)
        assert service.user_assignment_type is AssignmentType.SKILL_BASED
        assert service.distribution_policy_id in policies
        policy = policies[service.distribution_policy_id]
        assert isinstance(policy, cfg.DistributionPolicy)
        assert len(policy.levels) == LEVELS
        last = policy.levels[-1]
        assert last.requirements == ()
        assert last.time_in_level_s is None
        for level in policy.levels[:-1]:
            assert level.time_in_level_s is not None and level.time_in_level_s > 0
            assert len(level.requirements) == 1
            assert level.requirements[0].skill_id in skills
    service_ids = {s.id for s in services}
    for user in users:
        assert isinstance(user, cfg.User)
        assert 2 <= len(user.memberships) <= 4
        assert set(user.memberships) <= service_ids
        assert set(user.skills) <= skills
        assert user.active_profile_id == cfg.ON_DUTY_PROFILE_ID


def test_large_scenario_is_deterministic_per_seed() -> None:
    def memberships(seed: int) -> list[list[str]]:
        scenario = large_scenario(agents=50, services=6, skills=4, seed=seed)
        return [sorted(e.memberships) for k, e in scenario.entities if k == "user"]

    assert memberships(3) == memberships(3)
    assert memberships(3) != memberships(4)


@pytest.mark.parametrize("levels", [1, 2, 4])
def test_large_scenario_level_counts(levels: int) -> None:
    scenario = large_scenario(agents=20, services=4, skills=3, levels=levels)
    for kind, policy in scenario.entities:
        if kind == "policy":
            assert len(policy.levels) == levels
            assert policy.levels[-1].requirements == ()
            assert policy.levels[-1].time_in_level_s is None


def test_large_scenario_rejects_zero_levels() -> None:
    with pytest.raises(ValueError, match="levels"):
        large_scenario(agents=10, services=4, skills=3, levels=0)


@pytest.mark.parametrize("sizes", [{"services": 2, "skills": 5}, {"services": 10, "skills": 1}])
def test_large_scenario_small_catalogues_work_or_name_the_parameter(
    sizes: dict[str, int],
) -> None:
    try:
        scenario = large_scenario(agents=20, **sizes)
    except ValueError as error:
        assert "services" in str(error) or "skills" in str(error), str(error)
    else:
        for kind, user in scenario.entities:
            if kind == "user":
                assert 1 <= len(user.memberships) <= sizes["services"]


def test_large_scenario_loads_into_engine() -> None:
    scenario = large_scenario(agents=AGENTS, services=SERVICES, skills=SKILLS, levels=LEVELS)
    sim = Simulator(scenario, bench_params(calls=10))
    st = sim.engine.state
    assert len(st.services) == SERVICES
    assert len(st.users) == AGENTS
    assert len(st.policies) == SERVICES
    assert len(st.skills) == SKILLS
    assert sim.engine.uncommitted == 0
    for user_id in scenario.user_ids:
        for service_id in st.users[user_id].memberships:
            level = st.qlevel[(user_id, service_id)]
            # The catch-all last level admits every on-duty member.
            assert level is not None and 1 <= level <= LEVELS
            assert user_id in st.free[service_id]
    for service_id in st.services:
        assert st.free.get(service_id, set()) == st.members[service_id]
    assert sim.engine.check_invariants() == []


def test_large_scenario_short_run_terminates_every_call() -> None:
    calls = 2_000
    scenario = large_scenario(agents=AGENTS, services=SERVICES, skills=SKILLS, levels=LEVELS)
    sim = Simulator(scenario, bench_params(calls=calls, seed=3))
    result = sim.run()
    assert result.calls == calls
    assert sim.ended == calls
    assert all(r.ended is not None for r in sim.records.values())
    assert not sim.engine.state.tasks
    assert sim.engine.uncommitted == 0
    assert result.abandon_rate == 0.0
    assert result.sweeper_recoveries == 0
    assert result.offers >= calls
    assert sim.engine.check_invariants() == []
