"""The engine, run as a pure M/M/N queue, must reproduce Erlang C and Erlang A.

The quick variant (2 × 50,000 calls, tolerance 0.02 on probabilities) runs with
the normal suite; the full acceptance run of 03 §9 (10 × 200,000 calls after a
5,000-call warm-up, tolerance 0.01) is marked slow: `make test-slow`.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest

from switchboard.engine.erlang import erlang_a, erlang_c
from switchboard.engine.scenarios import erlang_scenario
from switchboard.engine.simulation import RunResult, Simulator, Summary, TrafficParams

ARRIVALS, AHT, AGENTS, T = 200.0, 180.0, 14, 20.0


def _run(params: TrafficParams) -> RunResult:
    return Simulator(erlang_scenario(AGENTS), params).run()


def _summary(calls: int, warmup: int, reps: int, patience: float | None) -> Summary:
    params = [
        TrafficParams(
            arrivals_per_hour=ARRIVALS,
            aht_s=AHT,
            calls=calls,
            seed=1000 + i,
            sl_threshold_s=T,
            patience_s=patience,
            warmup_calls=warmup,
        )
        for i in range(reps)
    ]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return Summary(list(pool.map(_run, params)))


def _check_c(summary: Summary, tol: float, asa_rel: float) -> None:
    theory = erlang_c(ARRIVALS, AHT, AGENTS, T)
    assert summary.mean("service_level") == pytest.approx(theory.service_level, abs=tol)
    assert summary.mean("p_wait") == pytest.approx(theory.p_wait, abs=tol)
    assert summary.mean("asa_seconds") == pytest.approx(theory.asa_s, rel=asa_rel)
    assert summary.mean("abandon_rate") == 0.0
    assert all(r.sweeper_recoveries == 0 for r in summary.replications)


def _check_a(summary: Summary, tol: float, abandon_tol: float, wait_rel: float) -> None:
    theory = erlang_a(ARRIVALS, AHT, AGENTS, 300.0, T)
    assert summary.mean("service_level_all") == pytest.approx(theory.service_level, abs=tol)
    assert summary.mean("p_wait") == pytest.approx(theory.p_wait, abs=tol)
    assert summary.mean("abandon_rate") == pytest.approx(theory.p_abandon, abs=abandon_tol)
    assert summary.mean("mean_wait_seconds") == pytest.approx(theory.mean_wait_s, rel=wait_rel)
    assert all(r.sweeper_recoveries == 0 for r in summary.replications)


def test_erlang_c_quick() -> None:
    _check_c(_summary(50_000, 2_000, 2, None), tol=0.02, asa_rel=0.2)


def test_erlang_a_quick() -> None:
    _check_a(_summary(50_000, 2_000, 2, 300.0), tol=0.02, abandon_tol=0.006, wait_rel=0.2)


@pytest.mark.slow
def test_erlang_c_full() -> None:
    summary = _summary(205_000, 5_000, 10, None)
    for r in summary.replications:
        print(f"SL {r.service_level:.4f} P_w {r.p_wait:.4f} ASA {r.asa_seconds:.3f}")
    _check_c(summary, tol=0.01, asa_rel=0.10)


@pytest.mark.slow
def test_erlang_a_full() -> None:
    summary = _summary(205_000, 5_000, 10, 300.0)
    for r in summary.replications:
        print(f"SL {r.service_level_all:.4f} P_w {r.p_wait:.4f} Ab {r.abandon_rate:.4f}")
    _check_a(summary, tol=0.01, abandon_tol=0.003, wait_rel=0.10)
