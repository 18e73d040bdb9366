"""Tests for the Erlang B / C / A formulas in `switchboard.engine.erlang`."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.engine.erlang import (
    ErlangAResult,
    ErlangCResult,
    _waiting_terms,
    answered_within_probabilities,
    erlang_a,
    erlang_b,
    erlang_c,
    offered_load,
)

# Reference scenario: 200 calls/hour, 180 s handle time (10 Erlangs), 20 s threshold.
ARRIVALS_PER_HOUR = 200.0
AHT_S = 180.0
THRESHOLD_S = 20.0
PATIENCE_S = 300.0


# --------------------------------------------------------------------------- Erlang B


def test_erlang_b_small_cases_match_the_direct_formula() -> None:
    for n in range(0, 8):
        for a in (0.5, 1.0, 3.7, 10.0):
            direct = (a**n / math.factorial(n)) / sum(
                a**k / math.factorial(k) for k in range(n + 1)
            )
            assert erlang_b(n, a) == pytest.approx(direct, rel=1e-12)


def test_erlang_b_edge_cases() -> None:
    assert erlang_b(0, 5.0) == 1.0
    assert erlang_b(3, 0.0) == 0.0
    # Large systems stay finite and in range where the factorial form would overflow.
    big = erlang_b(5000, 4800.0)
    assert 0.0 < big < 1.0


def test_offered_load() -> None:
    assert offered_load(ARRIVALS_PER_HOUR, AHT_S) == pytest.approx(10.0, rel=1e-15)


# --------------------------------------------------------------------------- Erlang C


def test_erlang_c_reference_vector() -> None:
    result = erlang_c(ARRIVALS_PER_HOUR, AHT_S, 14, THRESHOLD_S)
    assert isinstance(result, ErlangCResult)
    assert result.p_wait == pytest.approx(0.174132, abs=1e-6)
    assert result.asa_s == pytest.approx(7.8359, abs=1e-4)
    assert result.service_level == pytest.approx(0.888350, abs=1e-6)
    assert result.occupancy == pytest.approx(0.7142857, abs=1e-6)


@pytest.mark.parametrize(
    ("agents", "p_wait", "asa_s", "service_level"),
    [
        (11, 0.682118, 122.7813, 0.389614),
        (12, 0.449388, 40.4449, 0.640158),
        (13, 0.285270, 17.1162, 0.795595),
        (15, 0.102042, 3.6735, 0.941453),
    ],
)
def test_erlang_c_staffing_table(
    agents: int, p_wait: float, asa_s: float, service_level: float
) -> None:
    result = erlang_c(ARRIVALS_PER_HOUR, AHT_S, agents, THRESHOLD_S)
    assert result.p_wait == pytest.approx(p_wait, abs=6e-7)
    assert result.asa_s == pytest.approx(asa_s, abs=6e-5)
    assert result.service_level == pytest.approx(service_level, abs=6e-7)
    assert result.occupancy == pytest.approx(10.0 / agents, rel=1e-12)


def test_erlang_c_zero_threshold_is_share_answered_immediately() -> None:
    result = erlang_c(ARRIVALS_PER_HOUR, AHT_S, 14, 0.0)
    assert result.service_level == pytest.approx(1.0 - result.p_wait, abs=1e-15)


@pytest.mark.parametrize("agents", [5, 10])
def test_erlang_c_rejects_overload(agents: int) -> None:
    with pytest.raises(ValueError, match="agents"):
        erlang_c(ARRIVALS_PER_HOUR, AHT_S, agents, THRESHOLD_S)


# --------------------------------------------------------------------------- Erlang A


def test_erlang_a_reference_vector() -> None:
    result = erlang_a(ARRIVALS_PER_HOUR, AHT_S, 14, PATIENCE_S, THRESHOLD_S)
    assert isinstance(result, ErlangAResult)
    assert result.p_wait == pytest.approx(0.145260, abs=6e-7)
    assert result.p_abandon == pytest.approx(0.013984, abs=6e-7)
    assert result.p_abandon_given_wait == pytest.approx(0.096267, abs=6e-7)
    assert result.mean_wait_s == pytest.approx(4.1951, abs=6e-5)
    assert result.service_level == pytest.approx(0.916792, abs=6e-7)
    assert result.occupancy == pytest.approx(10.0 * (1.0 - result.p_abandon) / 14, rel=1e-12)


def test_erlang_a_abandonment_matches_textbook_expression() -> None:
    """The module uses a cancellation-free form of P(Ab|W>0); check it against
    ``1/(ρ𝒜) + 1 − 1/ρ`` with 𝒜 summed naively where that is well conditioned."""
    lam, mu, n, theta = ARRIVALS_PER_HOUR / 3600.0, 1.0 / AHT_S, 14, 1.0 / PATIENCE_S
    x, y, rho = n * mu / theta, lam / theta, lam / (n * mu)
    a_function, term = 1.0, 1.0
    for j in range(1, 400):
        term *= y / (x + j)
        a_function += term
    expected = 1.0 / (rho * a_function) + 1.0 - 1.0 / rho
    result = erlang_a(ARRIVALS_PER_HOUR, AHT_S, n, PATIENCE_S, THRESHOLD_S)
    assert result.p_abandon_given_wait == pytest.approx(expected, rel=1e-12)


def test_erlang_a_matches_brute_force_birth_death_chain() -> None:
    lam, mu, n, theta = ARRIVALS_PER_HOUR / 3600.0, 1.0 / AHT_S, 14, 1.0 / PATIENCE_S
    weights = [1.0]
    for state in range(1, 400):
        death = min(state, n) * mu + max(state - n, 0) * theta
        weights.append(weights[-1] * lam / death)
    total = math.fsum(weights)
    pi = [w / total for w in weights]
    p_wait = math.fsum(pi[n:])
    mean_queue = math.fsum((state - n) * p for state, p in enumerate(pi) if state > n)
    result = erlang_a(ARRIVALS_PER_HOUR, AHT_S, n, PATIENCE_S, THRESHOLD_S)
    assert result.p_wait == pytest.approx(p_wait, rel=1e-12)
    assert result.p_abandon == pytest.approx(theta * mean_queue / lam, rel=1e-12)
    assert result.mean_wait_s == pytest.approx(mean_queue / lam, rel=1e-12)


def test_erlang_a_with_endless_patience_approaches_erlang_c() -> None:
    c = erlang_c(ARRIVALS_PER_HOUR, AHT_S, 14, THRESHOLD_S)
    a = erlang_a(ARRIVALS_PER_HOUR, AHT_S, 14, 1e9, THRESHOLD_S)
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-6)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-6)
    assert a.mean_wait_s == pytest.approx(c.asa_s, abs=1e-4)
    assert a.occupancy == pytest.approx(c.occupancy, abs=1e-6)
    assert 0.0 < a.p_abandon < 1e-7


@pytest.mark.parametrize(("agents", "patience_s"), [(10, 300.0), (8, 300.0), (3, 60.0), (8, 1e9)])
def test_erlang_a_handles_overload(agents: int, patience_s: float) -> None:
    assert agents <= offered_load(ARRIVALS_PER_HOUR, AHT_S)
    result = erlang_a(ARRIVALS_PER_HOUR, AHT_S, agents, patience_s, THRESHOLD_S)
    for value in (result.p_wait, result.service_level, result.occupancy):
        assert 0.0 <= value <= 1.0
    assert 0.0 < result.p_abandon < 1.0
    assert result.p_abandon <= result.p_wait
    assert math.isfinite(result.mean_wait_s)
    # Every answered call uses an agent, so at most N·μ calls per second are answered.
    load = offered_load(ARRIVALS_PER_HOUR, AHT_S)
    assert result.p_abandon >= 1.0 - agents / load - 1e-12


def test_erlang_a_service_level_limits() -> None:
    now = erlang_a(ARRIVALS_PER_HOUR, AHT_S, 14, PATIENCE_S, 0.0)
    assert now.service_level == pytest.approx(1.0 - now.p_wait, abs=1e-15)
    # Waiting long enough, every caller who does not abandon gets answered.
    eventually = erlang_a(ARRIVALS_PER_HOUR, AHT_S, 14, PATIENCE_S, 5000.0)
    assert eventually.service_level == pytest.approx(1.0 - eventually.p_abandon, abs=1e-10)
    levels = [
        erlang_a(ARRIVALS_PER_HOUR, AHT_S, 14, PATIENCE_S, t).service_level
        for t in (0.0, 5.0, 20.0, 60.0, 300.0)
    ]
    assert levels == sorted(levels)


def test_erlang_a_service_level_is_fast() -> None:
    start = time.perf_counter()
    for _ in range(10):
        erlang_a(ARRIVALS_PER_HOUR, AHT_S, 14, PATIENCE_S, THRESHOLD_S)
    assert (time.perf_counter() - start) / 10 < 0.1


# --------------------------------------------------------------------------- internals


@pytest.mark.parametrize(("x", "y"), [(2.0, 1.0), (5.0, 5.0), (3.0, 12.0), (20.0, 60.0)])
def test_waiting_terms_sum_to_the_series(x: float, y: float) -> None:
    first, terms, log_scale = _waiting_terms(x, y)
    naive, term = 1.0, 1.0
    for j in range(1, 2000):
        term *= y / (x + j)
        naive += term
    assert first >= 0
    assert math.log(math.fsum(terms)) + log_scale == pytest.approx(math.log(naive), rel=1e-12)


def test_waiting_terms_survive_extreme_overload() -> None:
    _, terms, log_scale = _waiting_terms(10.0, 1e6)
    assert log_scale > 700.0  # 𝒜 itself is far beyond the float range
    assert all(math.isfinite(t) for t in terms)


def test_answered_within_tends_to_the_survival_product() -> None:
    agents, patience_s, max_ahead = 14, PATIENCE_S, 6
    x = (agents / AHT_S) * patience_s
    probabilities = answered_within_probabilities(agents, AHT_S, patience_s, 1e4, max_ahead)
    assert len(probabilities) == max_ahead + 1
    for k, g in enumerate(probabilities):
        assert g == pytest.approx(x / (x + k + 1), abs=1e-10)


def test_answered_within_matches_closed_forms_for_the_first_states() -> None:
    agents, t = 14, THRESHOLD_S
    service, theta = agents / AHT_S, 1.0 / PATIENCE_S
    g0, g1 = answered_within_probabilities(agents, AHT_S, PATIENCE_S, t, 1)
    r0, r1 = service + theta, service + 2.0 * theta
    assert g0 == pytest.approx(service / r0 * (1.0 - math.exp(-r0 * t)), abs=1e-13)
    hypo = 1.0 - (r1 * math.exp(-r0 * t) - r0 * math.exp(-r1 * t)) / (r1 - r0)
    assert g1 == pytest.approx(service * (service + theta) / (r0 * r1) * hypo, abs=1e-13)


def test_answered_within_is_zero_at_zero_threshold() -> None:
    assert answered_within_probabilities(14, AHT_S, PATIENCE_S, 0.0, 3) == [0.0] * 4


def test_a_threshold_too_small_to_hold_a_jump_answers_nobody_in_the_queue() -> None:
    # 5e-324 s × the exit rate underflows to 0.0; found by Hypothesis (math domain error).
    assert answered_within_probabilities(14, AHT_S, PATIENCE_S, 5e-324, 3) == [0.0] * 4
    result = erlang_a(100.0, 100.0, 5, 100.0, 5e-324)
    assert result.service_level == pytest.approx(1.0 - result.p_wait)


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.floats(min_value=1.0, max_value=2000.0),
    aht=st.floats(min_value=10.0, max_value=900.0),
    agents=st.integers(min_value=1, max_value=80),
    patience=st.floats(min_value=5.0, max_value=3600.0),
    threshold=st.floats(min_value=0.0, max_value=120.0),
)
def test_erlang_a_results_are_coherent(
    arrivals: float, aht: float, agents: int, patience: float, threshold: float
) -> None:
    result = erlang_a(arrivals, aht, agents, patience, threshold)
    assert 0.0 <= result.p_abandon <= result.p_wait <= 1.0
    assert 0.0 <= result.p_abandon_given_wait <= 1.0
    assert 0.0 <= result.occupancy <= 1.0
    assert result.mean_wait_s >= 0.0
    assert 1.0 - result.p_wait - 1e-12 <= result.service_level
    assert result.service_level <= 1.0 - result.p_abandon + 1e-12


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"arrivals_per_hour": 0.0}, "arrivals_per_hour"),
        ({"arrivals_per_hour": -5.0}, "arrivals_per_hour"),
        ({"arrivals_per_hour": math.nan}, "arrivals_per_hour"),
        ({"aht_s": 0.0}, "aht_s"),
        ({"aht_s": math.inf}, "aht_s"),
        ({"agents": 0}, "agents"),
        ({"agents": 14.0}, "agents"),
        ({"agents": True}, "agents"),
        ({"sl_threshold_s": -1.0}, "sl_threshold_s"),
        ({"patience_s": 0.0}, "patience_s"),
        ({"patience_s": -300.0}, "patience_s"),
    ],
)
def test_invalid_inputs_name_the_parameter(kwargs: dict[str, object], name: str) -> None:
    arguments: dict[str, object] = {
        "arrivals_per_hour": ARRIVALS_PER_HOUR,
        "aht_s": AHT_S,
        "agents": 14,
        "patience_s": PATIENCE_S,
        "sl_threshold_s": THRESHOLD_S,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=name):
        erlang_a(**arguments)  # type: ignore[arg-type]
    if name != "patience_s":
        del arguments["patience_s"]
        with pytest.raises(ValueError, match=name):
            erlang_c(**arguments)  # type: ignore[arg-type]


def test_erlang_b_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="n must be an integer"):
        erlang_b(-1, 2.0)
    with pytest.raises(ValueError, match="a must be"):
        erlang_b(3, -2.0)


def test_answered_within_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="max_ahead"):
        answered_within_probabilities(14, AHT_S, PATIENCE_S, THRESHOLD_S, -1)
    with pytest.raises(ValueError, match="threshold_s"):
        answered_within_probabilities(14, AHT_S, PATIENCE_S, -1.0, 3)
