"""Tests for the virtual-time simulator (`switchboard.engine.simulation`).

Small, loaded systems keep every run well under a second; the KPI definitions
under test are the ones stated in the module docstring of `simulation.py`.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.engine.scenarios import erlang_scenario
from switchboard.engine.simulation import (
    RunResult,
    Simulator,
    Summary,
    TrafficParams,
    replicate,
    sequential_ids,
)
from switchboard.store.journal import SqliteJournal

# ============================================================================ helpers


def params(**overrides: Any) -> TrafficParams:
    base: dict[str, Any] = {"arrivals_per_hour": 60.0, "aht_s": 120.0, "calls": 300, "seed": 1}
    base.update(overrides)
    return TrafficParams(**base)


def run(agents: int, p: TrafficParams, *, acw_s: int | None = None) -> RunResult:
    return Simulator(erlang_scenario(agents, acw_s=acw_s), p).run()


def event_counter(counter: Counter[str]) -> Any:
    """An engine hook that counts the names of committed events."""

    def hook(engine: Engine) -> None:
        def listen(events: Sequence[Event]) -> None:
            counter.update(e.name for e in events)

        engine.subscribe(listen)

    return hook


# ============================================================================ TrafficParams


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"arrivals_per_hour": 0.0}, "arrivals_per_hour"),
        ({"arrivals_per_hour": -5.0}, "arrivals_per_hour"),
        ({"arrivals_per_hour": math.nan}, "arrivals_per_hour"),
        ({"arrivals_per_hour": math.inf}, "arrivals_per_hour"),
        ({"aht_s": 0.0}, "aht_s"),
        ({"aht_s": -1.0}, "aht_s"),
        ({"aht_s": math.inf}, "aht_s"),
        ({"calls": 0}, "calls"),
        ({"calls": -3}, "calls"),
        ({"patience_s": 0.0}, "patience_s"),
        ({"patience_s": -10.0}, "patience_s"),
        ({"patience_s": math.nan}, "patience_s"),
        ({"handle_distribution": "gamma"}, "handle_distribution"),
        ({"sl_threshold_s": -1.0}, "sl_threshold_s"),
        ({"ring_s": -0.5}, "ring_s"),
        ({"warmup_calls": -1}, "warmup_calls"),
        ({"warmup_calls": 300}, "warmup_calls"),
    ],
)
def test_traffic_params_validation_names_the_parameter(
    overrides: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        params(**overrides)


def test_traffic_params_accepts_edge_values() -> None:
    p = params(sl_threshold_s=0.0, ring_s=0.0, warmup_calls=299, patience_s=0.5)
    assert p.warmup_calls == 299
    lognormal = params(handle_distribution="lognormal", handle_cv=0.3)
    assert lognormal.handle_distribution == "lognormal"


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"ring_s": math.nan}, "ring_s"),
        ({"sl_threshold_s": math.nan}, "sl_threshold_s"),
        ({"patience_s": math.inf}, "patience_s"),
        ({"handle_distribution": "lognormal", "handle_cv": math.nan}, "handle_cv"),
        ({"handle_distribution": "lognormal", "handle_cv": -1.0}, "handle_cv"),
    ],
)
def test_traffic_params_rejects_non_finite_values(overrides: dict[str, Any], name: str) -> None:
    # Only construction is exercised: running with ring_s=nan would never return.
    with pytest.raises(ValueError, match=name):
        params(**overrides)


# ============================================================================ determinism


def test_sequential_ids_are_deterministic_and_distinct() -> None:
    a, b = sequential_ids(), sequential_ids()
    first = [a() for _ in range(5)]
    assert first == [b() for _ in range(5)]
    assert len(set(first)) == 5
    assert sequential_ids(1)() != sequential_ids(0)()


def test_same_seed_same_kpis_and_different_seeds_differ() -> None:
    p = params(arrivals_per_hour=100.0, aht_s=150.0, calls=400, seed=11, patience_s=200.0)
    one, two = run(5, p), run(5, p)
    assert one.kpis() == two.kpis()
    assert one.waits == two.waits
    other = run(5, params(arrivals_per_hour=100.0, aht_s=150.0, calls=400, seed=12))
    assert other.kpis() != one.kpis()
    assert other.waits != one.waits


# ============================================================================ KPIs


def test_abandonment_with_patience_under_overload() -> None:
    # 6 Erlangs offered to 2 agents: most callers give up.
    p = params(arrivals_per_hour=120.0, aht_s=180.0, calls=400, seed=2, patience_s=60.0)
    r = run(2, p)
    assert r.calls == 400
    assert r.measured_calls == 400
    assert r.abandon_rate > 0.3
    assert 0.0 <= r.service_level_all <= r.service_level <= 1.0
    assert r.service_level > r.service_level_all  # some abandons were short ones
    # Abandoned calls count with their time until hang-up, which is shorter than an answer.
    assert r.mean_wait_seconds > 0
    assert r.p_wait > 0.5
    assert 0.0 < r.occupancy <= 1.0 + 1e-9
    assert r.sweeper_recoveries == 0


def test_no_patience_means_no_abandons_and_equal_service_levels() -> None:
    p = params(arrivals_per_hour=80.0, aht_s=150.0, calls=400, seed=4)
    r = run(4, p)
    assert r.abandon_rate == 0.0
    assert r.service_level == r.service_level_all
    assert r.mean_wait_seconds == pytest.approx(r.asa_seconds)
    assert len(r.waits) == r.measured_calls  # everyone was answered
    assert 0.0 < r.p_wait < 1.0
    assert r.sweeper_recoveries == 0


def test_warmup_calls_are_left_out_of_the_kpis() -> None:
    r = run(4, params(arrivals_per_hour=80.0, aht_s=150.0, calls=300, warmup_calls=50))
    assert r.calls == 300
    assert r.measured_calls == 250
    assert len(r.waits) == 250


def test_ring_time_makes_every_answered_call_wait() -> None:
    ring = 4.0
    r = run(3, params(arrivals_per_hour=40.0, aht_s=120.0, calls=300, seed=5, ring_s=ring))
    assert r.waits
    assert min(r.waits) >= ring - 1e-9
    assert r.asa_seconds >= ring
    assert r.p_wait == 1.0  # nobody is connected the instant they arrive
    assert r.sweeper_recoveries == 0


def test_ring_time_keeps_calls_waiting_for_at_least_the_ring_with_patience() -> None:
    ring = 3.0
    p = params(arrivals_per_hour=90.0, aht_s=150.0, calls=300, seed=6, ring_s=ring, patience_s=90)
    r = run(3, p)
    assert r.abandon_rate > 0
    assert min(r.waits) >= ring - 1e-9


def test_after_call_work_lowers_answer_throughput() -> None:
    base = params(arrivals_per_hour=100.0, aht_s=150.0, calls=800, seed=3)
    seen: Counter[str] = Counter()
    with_acw = Simulator(erlang_scenario(6, acw_s=30), base, engine_hook=event_counter(seen)).run()
    without = run(6, base)
    # Agents are blocked 30 s after each call: callers wait longer, fewer within threshold.
    assert with_acw.asa_seconds > without.asa_seconds
    assert with_acw.service_level < without.service_level
    assert with_acw.p_wait > without.p_wait
    assert seen["user.acw_started"] > 0
    assert seen["user.acw_ended"] > 0
    assert with_acw.sweeper_recoveries == without.sweeper_recoveries == 0

    # With impatient callers the blocked time turns into lost calls.
    impatient = params(arrivals_per_hour=100.0, aht_s=150.0, calls=800, seed=3, patience_s=120.0)
    lost_acw = run(6, impatient, acw_s=30)
    lost_plain = run(6, impatient)
    assert lost_acw.abandon_rate > lost_plain.abandon_rate
    assert len(lost_acw.waits) < len(lost_plain.waits)  # fewer answers
    assert lost_acw.occupancy < lost_plain.occupancy


def test_no_acw_events_without_acw() -> None:
    seen: Counter[str] = Counter()
    Simulator(erlang_scenario(3), params(calls=100), engine_hook=event_counter(seen)).run()
    assert seen["task.connected"] == 100
    assert seen["task.terminated"] == 100
    assert seen["user.acw_started"] == 0


@pytest.mark.parametrize("ring_s", [0.0, 3.0])
def test_journal_does_not_change_outcomes(ring_s: float) -> None:
    p = params(
        arrivals_per_hour=100.0, aht_s=150.0, calls=300, seed=9, patience_s=150.0, ring_s=ring_s
    )
    plain = Simulator(erlang_scenario(5, acw_s=10), p)
    plain_result = plain.run()
    scenario = erlang_scenario(5, acw_s=10)
    journal = SqliteJournal(":memory:", tenant_id=scenario.tenant.id)
    try:
        journaled = Simulator(scenario, p, journal=journal)
        journaled_result = journaled.run()
        assert journaled_result.kpis() == plain_result.kpis()
        assert journaled_result.waits == plain_result.waits
        assert journaled.engine.state.seq == plain.engine.state.seq
        assert journal.last_seq() == journaled.engine.state.seq
        assert journaled.engine.uncommitted == 0
        events = list(journal.read())
        assert len(events) == journaled.engine.state.seq
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert journaled_result.sweeper_recoveries == 0
    finally:
        journal.close()


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"patience_s": 100.0},
        {"ring_s": 2.0},
        {"handle_distribution": "lognormal", "handle_cv": 0.5},
    ],
)
def test_no_sweeper_recoveries(overrides: dict[str, Any]) -> None:
    p = params(arrivals_per_hour=110.0, aht_s=150.0, calls=300, seed=7, **overrides)
    sim = Simulator(erlang_scenario(5, acw_s=5), p)
    r = sim.run()
    assert r.sweeper_recoveries == 0
    assert sim.engine.metrics.sweeper_runs > 0  # the safety net did run
    assert sim.engine.check_invariants() == []
    assert not sim.engine.state.tasks  # every call ended


@pytest.mark.parametrize(("distribution", "cv"), [("lognormal", 0.5), ("exponential", 1.0)])
def test_handle_time_distribution_mean_is_aht(distribution: str, cv: float) -> None:
    aht = 120.0
    p = params(
        arrivals_per_hour=60.0,
        aht_s=aht,
        calls=2000,
        seed=21,
        handle_distribution=distribution,
        handle_cv=cv,
    )
    sim = Simulator(erlang_scenario(4), p)
    r = sim.run()
    handles = [rec.handle_s for rec in sim.records.values()]
    assert len(handles) == 2000
    mean = statistics.fmean(handles)
    assert mean == pytest.approx(aht, rel=0.08)
    assert statistics.stdev(handles) / mean == pytest.approx(cv, abs=0.15)
    # The talk each answered caller got is exactly the drawn handle time.
    talks = [
        rec.ended - rec.answered
        for rec in sim.records.values()
        if rec.answered is not None and rec.ended is not None
    ]
    assert len(talks) == 2000
    assert statistics.fmean(talks) == pytest.approx(mean, rel=1e-9)
    assert r.abandon_rate == 0.0


def test_lognormal_occupancy_matches_offered_load() -> None:
    # 2 Erlangs on 4 agents: occupancy ≈ 0.5 when the handle mean is right.
    p = params(
        arrivals_per_hour=60.0,
        aht_s=120.0,
        calls=2000,
        seed=8,
        handle_distribution="lognormal",
        handle_cv=0.5,
    )
    r = run(4, p)
    assert r.occupancy == pytest.approx(0.5, abs=0.05)


# ============================================================================ Summary / replicate


def _result(**values: float) -> RunResult:
    base: dict[str, Any] = {
        "calls": 10,
        "measured_calls": 10,
        "service_level": 0.0,
        "service_level_all": 0.0,
        "asa_seconds": 0.0,
        "mean_wait_seconds": 0.0,
        "p_wait": 0.0,
        "abandon_rate": 0.0,
        "occupancy": 0.0,
        "virtual_seconds": 0.0,
        "events": 0,
        "offers": 0,
        "sweeper_recoveries": 0,
    }
    base.update(values)
    return RunResult(**base)


def test_summary_mean_and_stdev() -> None:
    summary = Summary([_result(service_level=v, events=e) for v, e in ((0.8, 1), (0.9, 3))])
    assert summary.mean("service_level") == pytest.approx(0.85)
    assert summary.stdev("service_level") == pytest.approx(statistics.stdev([0.8, 0.9]))
    assert summary.mean("events") == 2.0
    assert summary.stdev("events") == pytest.approx(math.sqrt(2))
    single = Summary([_result(asa_seconds=4.0)])
    assert single.mean("asa_seconds") == 4.0
    assert single.stdev("asa_seconds") == 0.0


def test_run_result_kpis_leave_out_waits() -> None:
    r = _result(asa_seconds=3.0)
    r.waits.extend([1.0, 5.0])
    kpis = r.kpis()
    assert "waits" not in kpis
    assert kpis["asa_seconds"] == 3.0
    assert set(kpis) == {
        "calls",
        "measured_calls",
        "service_level",
        "service_level_all",
        "asa_seconds",
        "mean_wait_seconds",
        "p_wait",
        "abandon_rate",
        "occupancy",
        "virtual_seconds",
        "events",
        "offers",
        "sweeper_recoveries",
    }


def test_replicate_runs_consecutive_seeds() -> None:
    seeds: list[int] = []

    def make(seed: int) -> Simulator:
        seeds.append(seed)
        p = params(arrivals_per_hour=80.0, aht_s=150.0, calls=150, seed=seed)
        return Simulator(erlang_scenario(4), p)

    summary = replicate(make, 3, seed=5)
    assert seeds == [5, 6, 7]
    assert len(summary.replications) == 3
    values = [r.asa_seconds for r in summary.replications]
    assert len(set(values)) > 1  # independent replications
    assert summary.mean("asa_seconds") == pytest.approx(statistics.fmean(values))
    assert summary.stdev("asa_seconds") == pytest.approx(statistics.stdev(values))
    # A replication equals a standalone run with the same seed.
    alone = run(4, params(arrivals_per_hour=80.0, aht_s=150.0, calls=150, seed=6))
    assert summary.replications[1].kpis() == alone.kpis()
