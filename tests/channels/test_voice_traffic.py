"""The simulation's traffic as phone calls (`switchboard simulate --voice`): a few hundred
callers dial, hear the workflow's welcome, queue, ring agents' phones or give up, and every
call ends; the KPIs are those of the same traffic without voice, and a seed repeats a run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switchboard.channels.voice.traffic import VoiceRunResult, VoiceTraffic
from switchboard.engine.scenarios import erlang_scenario
from switchboard.engine.simulation import Simulator, TrafficParams

CALLS = 400
PARAMS = TrafficParams(
    arrivals_per_hour=200.0,
    aht_s=180.0,
    calls=CALLS,
    seed=7,
    patience_s=60.0,
    ring_s=2.0,
    warmup_calls=20,
)
AGENTS = 12  # 10 Erlangs on 12 agents: callers wait, and some give up
ACW_S = 5
WELCOME = "Welcome. The next available person will be with you shortly."


def voice_run(params: TrafficParams = PARAMS) -> tuple[VoiceTraffic, VoiceRunResult]:
    traffic = VoiceTraffic(erlang_scenario(AGENTS, acw_s=ACW_S), params, keep_ended_calls=True)
    return traffic, traffic.run()


def test_every_call_goes_through_the_workflow_and_ends() -> None:
    traffic, outcome = voice_run()
    assert outcome.calls_placed == CALLS and outcome.calls_ended == CALLS
    assert all(not call.live for call in traffic.simulator.calls.values())
    assert traffic.engine.state.tasks == {}  # no task left behind
    run = outcome.run
    assert run.calls == CALLS and run.sweeper_recoveries == 0
    abandoned = [r for r in traffic.records.values() if r.abandoned is not None]
    answered = [r for r in traffic.records.values() if r.answered is not None]
    assert abandoned and answered and len(abandoned) + len(answered) == CALLS
    # The only refusals: the provider's report of a call the agent hung up (its task ended).
    assert outcome.refused == {"call_ended": len(answered)}
    # The welcome (10 words at 0.35 s) plays before the queue.
    assert outcome.ivr_seconds == pytest.approx(3.5)
    assert outcome.answer_from_dial_seconds == pytest.approx(run.asa_seconds + 3.5, abs=0.01)
    ends = {"caller_hung_up": 0, "hung_up": 0}
    for call in traffic.simulator.calls.values():
        said = [e.what for e in call.transcript]
        assert said[:3] == ["dialled", "answered", "prompt"]
        assert call.transcript[2].text == WELCOME
        ends[said[-1]] += 1
        if said[-1] == "hung_up":  # the agent's hang-up in the client ended the call
            assert call.ended_by == "system"
            assert said.count("ringing") >= 1 and said.count("answered") == 2
        else:
            assert call.ended_by == "customer"
    assert ends == {"caller_hung_up": len(abandoned), "hung_up": len(answered)}


def test_phones_answer_after_the_ring_time_and_talk_for_the_handle_time() -> None:
    traffic, _ = voice_run()
    for call_id, record in traffic.records.items():
        call = traffic.simulator.calls[call_id]
        if record.answered is None:
            continue
        rang = next(e.at for e in call.transcript if e.what == "ringing")
        picked_up = next(e.at for e in call.transcript[3:] if e.what == "answered")
        assert picked_up - rang == pytest.approx(PARAMS.ring_s)
        assert record.answered == picked_up
        assert call.ended_at == pytest.approx(record.answered + record.handle_s)


def test_kpis_match_the_same_traffic_without_voice() -> None:
    """Same callers, same queue: the waits agree; only the IVR before the queue is extra
    (reported apart), and the voice path journals many more events (docs/simulation.md)."""
    _, outcome = voice_run()
    voice = outcome.run
    plain = Simulator(erlang_scenario(AGENTS, acw_s=ACW_S), PARAMS).run()
    assert voice.abandon_rate > 0.01  # the comparison covers callers who give up
    for key in ("service_level", "service_level_all", "p_wait", "abandon_rate", "occupancy"):
        assert getattr(voice, key) == pytest.approx(getattr(plain, key), abs=0.01), key
    for key in ("asa_seconds", "mean_wait_seconds"):
        assert getattr(voice, key) == pytest.approx(getattr(plain, key), abs=0.5), key
    assert voice.measured_calls == plain.measured_calls
    assert voice.offers == pytest.approx(plain.offers, rel=0.02)
    assert voice.events > 2 * plain.events  # workflow steps and voice commands
    assert voice.virtual_seconds == pytest.approx(plain.virtual_seconds, abs=60)


def test_a_seed_repeats_a_run_and_another_seed_does_not() -> None:
    _, one = voice_run()
    _, two = voice_run()
    assert one.run.kpis() == two.run.kpis() and one.run.waits == two.run.waits
    assert one.figures() == two.figures()
    _, other = voice_run(replace(PARAMS, seed=8))
    assert other.run.kpis() != one.run.kpis()


def test_a_long_run_keeps_only_the_recent_ended_calls() -> None:
    """Memory stays flat: the simulator forgets ended calls beyond its limits (about
    4 KB each), while the counts and the KPIs cover every call."""
    traffic = VoiceTraffic(erlang_scenario(AGENTS, acw_s=ACW_S), PARAMS)
    outcome = traffic.run()
    assert (outcome.calls_placed, outcome.calls_ended) == (CALLS, CALLS)
    kept = traffic.simulator.calls.values()
    # 400 calls over about two hours: those that ended more than an hour before the last
    # call ended are gone; the rest are the most recent ones.
    assert 0 < len(kept) < CALLS
    last = max(call.ended_at or 0.0 for call in kept)
    assert all(last - (call.ended_at or 0.0) <= 3_600 for call in kept)
    assert outcome.run.calls == CALLS
