"""Closed-form queueing estimates for staffing: Erlang B, Erlang C and Erlang A.

Everything here is pure Python on top of :mod:`math`, so the simulator can call it in
a tight loop without pulling in a numerical stack. Notation used throughout:

* ``λ`` arrival rate (per second), ``AHT`` mean handle time (seconds), ``μ = 1/AHT``;
* ``A = λ·AHT`` offered load in Erlangs, ``N`` number of agents;
* ``θ = 1/patience`` abandonment rate of one waiting caller (Erlang A only);
* ``t`` service-level threshold in seconds ("answered within t").

The public entry points take the units people actually configure (arrivals per hour,
seconds) and return small frozen result objects; the lower-level helpers below them
are written in rates so that each formula can be read next to its derivation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangAResult",
    "ErlangCResult",
    "answered_within_probabilities",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "offered_load",
]

_SECONDS_PER_HOUR = 3600.0

#: Relative size below which the remaining terms of a positive series are dropped.
_SERIES_TOLERANCE = 1e-17

#: Probability mass of the queue-length distribution we allow ourselves to ignore
#: when building the finite chain used for the Erlang A service level.
_TAIL_MASS = 1e-14

#: Above this many factors the log of a product of ratios is taken from `lgamma`
#: instead of being summed factor by factor (only reached under extreme overload).
_DIRECT_LOG_PRODUCT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class ErlangCResult:
    """Steady-state figures of an M/M/N queue whose callers never give up.

    `p_wait` is the share of callers that find every agent busy, `asa_s` the mean
    wait over all callers (answered immediately ones count as zero), `service_level`
    the share answered within the threshold, and `occupancy` the share of agent time
    spent handling calls.
    """

    p_wait: float
    asa_s: float
    service_level: float
    occupancy: float


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Steady-state figures of an M/M/N+M queue (callers abandon after a random wait).

    `p_wait` is the share of callers that have to queue, `p_abandon` the share of all
    callers that hang up before being answered, `p_abandon_given_wait` the same share
    among those that queued, `mean_wait_s` the mean time spent in queue over all
    callers (until answer or abandonment), `service_level` the share of all callers
    answered within the threshold (abandoned callers count as misses), and `occupancy`
    the share of agent time spent handling the calls that were actually answered.
    """

    p_wait: float
    p_abandon: float
    p_abandon_given_wait: float
    mean_wait_s: float
    service_level: float
    occupancy: float


# --------------------------------------------------------------------------- validation


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a positive, finite number; got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number; got {value!r}")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)


def _count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


# --------------------------------------------------------------------------- Erlang B


def offered_load(arrivals_per_hour: float, aht_s: float) -> float:
    """Offered load in Erlangs: arrivals per second times the mean handle time."""
    rate = _positive("arrivals_per_hour", arrivals_per_hour) / _SECONDS_PER_HOUR
    return rate * _positive("aht_s", aht_s)


def erlang_b(n: int, a: float) -> float:
    """Blocking probability of `n` servers offered `a` Erlangs with no waiting room.

    The textbook expression ``(a^n/n!) / Σ_{k≤n} a^k/k!`` overflows for a few hundred
    servers and loses precision long before that. Adding one server at a time,
    ``B(k) = a·B(k−1) / (k + a·B(k−1))`` starting from ``B(0) = 1``, only ever combines
    numbers in ``[0, 1]`` with positive weights, so it is exact to rounding for any `n`
    and costs ``O(n)``. Erlang C and Erlang A both reuse this value as their building
    block, which is why they inherit the same stability.
    """
    _count("n", n, 0)
    load = _non_negative("a", a)
    blocking = 1.0
    for k in range(1, n + 1):
        carried = load * blocking
        blocking = carried / (k + carried)
    return blocking


# --------------------------------------------------------------------------- Erlang C


def erlang_c(
    arrivals_per_hour: float, aht_s: float, agents: int, sl_threshold_s: float
) -> ErlangCResult:
    """Waiting probability, ASA and service level of an M/M/N queue without abandonment.

    Without abandonment the queue only has a steady state when the agents can carry
    more than the offered load, so ``agents <= A`` is rejected rather than answered
    with a meaningless number. The waiting probability is derived from Erlang B,
    ``P_w = N·B / (N − A·(1 − B))``, which keeps the stability of the B recursion; the
    wait of a queued caller is then exponential with rate ``(N − A)/AHT``, which gives
    ``ASA = P_w·AHT/(N − A)`` and ``SL(t) = 1 − P_w·exp(−(N − A)·t/AHT)``.
    """
    aht = _positive("aht_s", aht_s)
    load = offered_load(arrivals_per_hour, aht)
    n = _count("agents", agents, 1)
    threshold = _non_negative("sl_threshold_s", sl_threshold_s)
    if n <= load:
        raise ValueError(
            f"agents must be greater than the offered load for Erlang C; got agents={n} "
            f"for an offered load of {load:.6g} Erlangs (use erlang_a for overload)"
        )
    blocking = erlang_b(n, load)
    spare = n - load
    p_wait = n * blocking / (n - load * (1.0 - blocking))
    return ErlangCResult(
        p_wait=p_wait,
        asa_s=p_wait * aht / spare,
        service_level=1.0 - p_wait * math.exp(-spare * threshold / aht),
        occupancy=load / n,
    )


# --------------------------------------------------------------------------- Erlang A


def _log_ratio_product(x: float, y: float, count: int) -> float:
    """``log(y^count / Π_{k=1..count} (x + k))``, the log of the series term of rank `count`."""
    if count <= _DIRECT_LOG_PRODUCT_LIMIT:
        return math.fsum(math.log(y / (x + k)) for k in range(1, count + 1))
    return count * math.log(y) - (math.lgamma(x + count + 1.0) - math.lgamma(x + 1.0))


def _waiting_terms(x: float, y: float) -> tuple[int, list[float], float]:
    """Terms ``t_j = y^j / Π_{k=1..j}(x + k)`` that carry the Erlang A series.

    With ``x = Nμ/θ`` and ``y = λ/θ`` these terms are, up to a common factor, the
    stationary probabilities of having ``j`` callers waiting, and their sum is the
    Erlang A function ``𝒜(x, y) = 1 + Σ_{j≥1} t_j``.

    The sum has a closed form through ``e^y`` and the incomplete gamma function, but
    ``e^y`` overflows as soon as patience is long compared with the inter-arrival
    time, and the stdlib has no incomplete gamma anyway. Summing the terms directly
    is robust because consecutive terms differ by the ratio ``y/(x + j)``, which only
    shrinks as ``j`` grows: we can stop as soon as a geometric bound on the remainder
    is negligible. Under overload (``y > x``) the terms first grow, possibly beyond
    the float range, so the walk starts at the largest term, sums outwards in both
    directions relative to it, and reports the size of that largest term as a log.

    Returns ``(first, rel, log_scale)`` such that ``t_j = rel[j − first]·exp(log_scale)``
    for ``first <= j < first + len(rel)``; the terms left out on either side of that
    window weigh less than ``_SERIES_TOLERANCE`` of the total each. The work is
    ``O(1/(1 − y/x))`` terms when ``y < x`` and ``O(√y)`` near or above critical load.
    """
    peak = max(0, math.ceil(y - x) - 1)  # terms grow while j < y − x
    log_scale = _log_ratio_product(x, y, peak) if peak > 0 else 0.0

    upper = [1.0]
    total = 1.0
    term = 1.0
    j = peak
    while True:
        ratio = y / (x + j + 1)
        term *= ratio
        j += 1
        upper.append(term)
        total += term
        # Later ratios are smaller than `ratio`, so the rest is below a geometric tail.
        if ratio < 1.0 and term * ratio <= _SERIES_TOLERANCE * total * (1.0 - ratio):
            break

    lower: list[float] = []
    term = 1.0
    j = peak
    while j > 0:
        ratio = (x + j) / y  # t_{j-1} / t_j, smaller for every step further down
        term *= ratio
        j -= 1
        lower.append(term)
        total += term
        if term * ratio <= _SERIES_TOLERANCE * total * (1.0 - ratio):
            break

    lower.reverse()
    return j, lower + upper, log_scale


def answered_within_probabilities(
    agents: int, aht_s: float, patience_s: float, threshold_s: float, max_ahead: int
) -> list[float]:
    """``G_k(t)`` for ``k = 0..max_ahead``: chance that a caller who finds `k` others
    waiting is answered within `threshold_s` seconds in an M/M/N+M queue.

    Seen from the tagged caller, the only thing that matters is how many callers are
    still ahead. With ``j`` ahead that number drops by one at rate ``Nμ + jθ`` (an
    agent frees up, or one of the ``j`` gives up) and becomes "answered" from
    ``j = 0``; meanwhile the caller's own patience runs out at rate ``θ``. This is a
    pure-death chain with two absorbing outcomes, and ``G_k(t)`` is the probability of
    reaching "answered" by time ``t`` from state ``k``.

    The transient law is computed by uniformization: with ``Λ`` at least every exit
    rate, ``G(t) = Σ_n Poisson(n; Λt)·v_n`` where ``v_n`` is the probability of being
    absorbed in "answered" within ``n`` jumps of the discrete chain ``I + Q/Λ``. Only
    non-negative numbers are added, so nothing cancels, and the Poisson series is
    truncated far enough in its tail (mean plus 12 standard deviations plus 40) that
    the dropped weight is below 1e-25. The jump matrix is bidiagonal, so one step
    costs ``O(max_ahead)`` and every ``G_k`` comes out of the same pass.

    As ``t → ∞`` the caller is answered if it outlasts ``k + 1`` successive departures
    ahead of it, which gives ``G_k(∞) = x/(x + k + 1)`` with ``x = Nμ/θ``.
    """
    n = _count("agents", agents, 1)
    mu = 1.0 / _positive("aht_s", aht_s)
    theta = 1.0 / _positive("patience_s", patience_s)
    t = _non_negative("threshold_s", threshold_s)
    size = _count("max_ahead", max_ahead, 0) + 1
    answered = _answered_within(n * mu, theta, size, t)
    return answered + [0.0] * (size - len(answered))


def _answered_within(service_rate: float, theta: float, size: int, t: float) -> list[float]:
    """Uniformization behind `answered_within_probabilities` (see its docstring).

    Returns ``G_k(t)`` for the first ``min(size, J)`` states only, where ``J`` is the
    number of jumps simulated: from ``k`` ahead the caller needs ``k + 1`` jumps to be
    answered, so every later state has ``G_k(t)`` below the dropped Poisson tail and
    is left out (callers treat missing entries as zero). This keeps the work bounded
    by ``O(J²)`` even when the queue-length law sits millions of places deep.
    """
    if t <= 0.0:
        return []  # a caller who has to queue is never answered within zero seconds

    def jumps_needed(states: int) -> tuple[float, int]:
        rate = service_rate + states * theta  # exit rate of the highest tracked state
        mean = rate * t
        return rate, math.ceil(mean + 12.0 * math.sqrt(mean) + 40.0)

    uniform_rate, last_jump = jumps_needed(size)
    if last_jump < size:
        # Fewer states means a smaller uniformization rate and fewer jumps, so the
        # shorter chain still covers every state that can be answered in time.
        size = last_jump
        uniform_rate, last_jump = jumps_needed(size)

    down = [(service_rate + j * theta) / uniform_rate for j in range(size)]
    stay = [max(0.0, 1.0 - (service_rate + (j + 1) * theta) / uniform_rate) for j in range(size)]
    absorbed = [0.0] * size  # v_n: answered within n jumps, from each starting state
    result = [0.0] * size
    mean_jumps = uniform_rate * t
    if mean_jumps <= 0.0:
        return []  # t so small that rate × t underflows: no jump, so nobody is answered yet
    log_mean = math.log(mean_jumps)
    for jumps in range(1, last_jump + 1):
        # One jump: from j the caller reaches j − 1 (or "answered" from 0, worth 1).
        absorbed = [
            d * ahead + s * here
            for d, s, ahead, here in zip(down, stay, [1.0, *absorbed[:-1]], absorbed, strict=True)
        ]
        weight = math.exp(jumps * log_mean - mean_jumps - math.lgamma(jumps + 1.0))
        if weight > 0.0:
            result = [r + weight * v for r, v in zip(result, absorbed, strict=True)]
    return result


def erlang_a(
    arrivals_per_hour: float,
    aht_s: float,
    agents: int,
    patience_s: float,
    sl_threshold_s: float,
) -> ErlangAResult:
    """Steady state of the M/M/N+M (Palm/Erlang A) queue: callers abandon after an
    exponential patience with mean `patience_s`.

    Because waiting callers leave on their own, the queue is stable at any load, so
    ``agents <= A`` is allowed. With ``x = Nμ/θ``, ``y = λ/θ``, ``ρ = λ/(Nμ)`` and
    ``E = B(N, A)`` from Erlang B:

    * ``P(W>0) = 𝒜·E / (1 + (𝒜 − 1)·E)`` with ``𝒜`` the Erlang A function (see
      `_waiting_terms`); it is evaluated divided through by ``𝒜`` so that an
      astronomically large ``𝒜`` under heavy overload is harmless;
    * ``P(Ab | W>0)`` is the textbook ``1/(ρ𝒜) + 1 − 1/ρ``. Near the Erlang C limit
      (long patience) that expression subtracts two nearly equal numbers, so we use
      the identical form ``E[waiting | W>0]/y``, a ratio of two positive sums over the
      same series terms (Little's law applied to the abandonment flow ``θ·E[queue]``);
    * ``P(Ab) = P(Ab | W>0)·P(W>0)``, ``E[W] = P(Ab)/θ`` (Little's law again) and
      occupancy ``λ·(1 − P(Ab))/(Nμ)``, since only answered calls use agent time;
    * the service level counts callers who find a free agent plus, for a caller who
      finds ``k`` others waiting (probability ``π_{N+k}`` by PASTA), the chance
      ``G_k(t)`` of being answered within ``t`` (see `answered_within_probabilities`).
      The queue-length law is cut where its remaining tail weighs less than 1e-14.
    """
    arrival_rate = _positive("arrivals_per_hour", arrivals_per_hour) / _SECONDS_PER_HOUR
    aht = _positive("aht_s", aht_s)
    n = _count("agents", agents, 1)
    theta = 1.0 / _positive("patience_s", patience_s)
    threshold = _non_negative("sl_threshold_s", sl_threshold_s)

    load = arrival_rate * aht
    service_rate = n / aht  # Nμ
    x = service_rate / theta
    y = arrival_rate / theta
    blocking = erlang_b(n, load)

    first, terms, log_scale = _waiting_terms(x, y)
    total = math.fsum(terms)
    log_a = log_scale + math.log(total)
    inverse_a = math.exp(-log_a)  # 1/𝒜 in (0, 1]; may underflow to 0 under overload
    p_wait = blocking / (inverse_a * (1.0 - blocking) + blocking) if blocking > 0.0 else 0.0

    # Conditional law of the number already waiting, seen by a caller who must wait.
    queue_law = [term / total for term in terms]
    mean_ahead = math.fsum((first + i) * q for i, q in enumerate(queue_law))
    p_abandon_given_wait = mean_ahead / y
    p_abandon = p_abandon_given_wait * p_wait

    # Drop the far tail of the queue-length law before building the caller's chain.
    tail = 0.0
    keep = len(queue_law)
    while keep > 1 and (tail + queue_law[keep - 1]) * p_wait < _TAIL_MASS:
        keep -= 1
        tail += queue_law[keep]
    answered = _answered_within(service_rate, theta, first + keep, threshold)
    # `answered` may stop short of the window: deeper callers count as not answered.
    p_answered_if_queued = math.fsum(
        q * g for q, g in zip(queue_law[:keep], answered[first:], strict=False)
    )
    service_level = (1.0 - p_wait) + p_wait * p_answered_if_queued

    return ErlangAResult(
        p_wait=p_wait,
        p_abandon=p_abandon,
        p_abandon_given_wait=p_abandon_given_wait,
        mean_wait_s=p_abandon / theta,
        service_level=service_level,
        # Mathematically at most 1; the clamp only absorbs rounding under heavy overload.
        occupancy=min(1.0, arrival_rate * (1.0 - p_abandon) / service_rate),
    )
