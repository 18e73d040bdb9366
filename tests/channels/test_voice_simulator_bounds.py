"""The simulator keeps ended calls for the control API only up to a count and an age
(`SimulatorConfig.ended_calls_kept`, `ended_call_max_age_s`); live calls are always
kept, and the counts of calls placed and ended cover everything."""

from __future__ import annotations

import pytest
from voice_harness import CALLER

from switchboard.channels.voice.sim_world import SimulatorConfig
from switchboard.channels.voice.simulator import VoiceSimulator
from switchboard.domain import voice as v
from switchboard.engine.clock import VirtualClock

Sim = tuple[VoiceSimulator, VirtualClock, list[v.VoiceEvent]]


def _sim(**config: object) -> Sim:
    clock = VirtualClock()
    sim = VoiceSimulator("t", clock, SimulatorConfig(seed=1, **config))  # type: ignore[arg-type]
    events: list[v.VoiceEvent] = []
    sim.bind(events.append)
    return sim, clock, events


def _answered_call(sim: VoiceSimulator, n: int) -> str:
    call = sim.place_call(CALLER, "hotline@acme.test")
    sim.execute_now(v.Answer(command_id=f"answer-{n}", call_id=call.call_id))
    return call.call_id


def test_only_the_most_recent_ended_calls_are_kept() -> None:
    sim, clock, _ = _sim(ended_calls_kept=2)
    calls = [_answered_call(sim, n) for n in range(4)]
    sim.execute_now(v.RingUser(command_id="ring", call_id=calls[0], leg_id="leg-0", user_id="anna"))
    for call_id in calls:
        clock.set(clock.now() + 1)
        sim.caller_hang_up(call_id)
    assert list(sim.calls) == calls[2:]
    assert (sim.calls_placed, sim.calls_ended) == (4, 4)
    # The forgotten call's leg went with it.
    ack = sim.execute_now(v.CancelRing(command_id="cancel", leg_id="leg-0"))
    assert (ack.accepted, ack.code) == (False, "leg_not_found")


def test_ended_calls_older_than_the_age_limit_are_forgotten() -> None:
    sim, clock, _ = _sim(ended_call_max_age_s=60)
    first = _answered_call(sim, 1)
    sim.caller_hang_up(first)
    clock.set(clock.now() + 60)
    _answered_call(sim, 2)
    assert first in sim.calls  # exactly 60 s: still kept
    clock.set(clock.now() + 1)
    live = _answered_call(sim, 3)
    assert first not in sim.calls and live in sim.calls


def test_live_calls_are_kept_whatever_the_limits() -> None:
    sim, clock, _ = _sim(ended_calls_kept=0, ended_call_max_age_s=0)
    live = [_answered_call(sim, n) for n in range(3)]
    ended = _answered_call(sim, 9)
    sim.caller_hang_up(ended)
    assert list(sim.calls) == live
    clock.set(clock.now() + 86_400)
    _answered_call(sim, 10)
    assert set(live) <= set(sim.calls)


@pytest.mark.parametrize(
    ("field", "value"),
    [("ended_calls_kept", -1), ("ended_calls_kept", 1.5), ("ended_call_max_age_s", -1)],
)
def test_limits_must_be_sensible(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SimulatorConfig(**{field: value})  # type: ignore[arg-type]
