"""KPIs (08 §5) against hand-computed fixtures: K5 end to end, and the K6 edge cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from reporting_harness import Scene, report_db, service, user, workflow
from sqlalchemy import Engine as Database

from switchboard.domain import voice as v
from switchboard.domain.enums import Presence
from switchboard.reporting.kpis import Period, ServiceKpis, service_kpis, user_kpis
from switchboard.reporting.outcomes import Outcome
from switchboard.reporting.projection import Output
from switchboard.reporting.rows import ServiceSessionRow, derived_id, to_dt, to_ms
from switchboard.reporting.storage import ReportStore
from workflow_nodes import node

SOURCES = ("aggregates", "sessions")


def _write(db: Database, out: Output, tenant_id: str = "t") -> None:
    store = ReportStore(db, tenant_id)
    cursor = store.cursor()
    store.write(out, after=cursor.seq, seq=cursor.seq + 1)


# ---------------------------------------------------------------------- K5, end to end


def _k5_scene() -> Scene:
    """The K5 service: welcome, a queue of at most 60 s, then voicemail; t = t_h = 20 s."""
    scene = Scene(voice=True)
    svc = service("svc", pstn_number="+41445550000")
    scene.add("service", replace(svc, queue=replace(svc.queue, rona_timeout_s=30)))
    scene.add("user", user("anna", "svc"))
    scene.publish(
        workflow(
            [
                node("acc", "accept", {"next": "hello"}),
                node("hello", "announcement", {"next": "q"}, prompt={"text": "Welcome to Acme."}),
                node(
                    "q",
                    "queue",
                    {"timeout": "vm", "no_users": "vm", "full": "vm"},
                    max_queue_time_s=60,
                    rona_timeout_s=30,
                ),
                node(
                    "vm",
                    "voice_message",
                    {"recorded": "bye", "no_recording": "bye"},
                    prompt={"text": "Leave a message."},
                    silence_timeout_s=3,
                ),
                node("bye", "disconnect"),
            ]
        )
    )
    assert scene.simulator is not None
    scene.simulator.set_phone("anna", scene.simulator.phone("anna"))  # rings until told
    return scene


def _dial(scene: Scene, n: int) -> tuple[str, str]:
    assert scene.simulator is not None
    call_id = f"call-{n}"
    caller = v.Party(kind=v.PartyKind.PHONE, id=f"+4179000000{n}")
    scene.simulator.place_call(caller, "svc@acme.test", call_id=call_id)
    scene.commit()
    return call_id, scene.task_of_call(call_id)


def _until_queued(scene: Scene, task_id: str) -> float:
    for _ in range(100):
        queued = scene.engine.state.tasks[task_id].first_enqueued_at
        if queued is not None:
            return queued
        scene.wait(0.25)
    raise AssertionError("the call never reached the queue")


def _answered(scene: Scene, n: int, wait: float, talk: float) -> None:
    """s1, s2: queued, anna comes free, answers `wait` s after queueing, talks `talk` s."""
    assert scene.simulator is not None
    _, task_id = _dial(scene, n)
    queued = _until_queued(scene, task_id)
    scene.wait(queued + wait / 2 - scene.now)
    scene.available("anna")
    scene.wait(queued + wait - scene.now)
    scene.simulator.user_answer("anna")
    scene.commit()
    scene.wait(talk)
    scene.do(lambda e: e.hang_up("anna", task_id))
    scene.do(lambda e: e.set_presence("anna", Presence.OFFLINE))
    scene.wait(60)


def _hangs_up(scene: Scene, n: int, after: float) -> None:
    """s3, s4: queued, nobody free, the caller hangs up `after` s after queueing."""
    assert scene.simulator is not None
    call_id, task_id = _dial(scene, n)
    queued = _until_queued(scene, task_id)
    scene.wait(queued + after - scene.now)
    scene.simulator.caller_hang_up(call_id)
    scene.commit()
    scene.wait(60)


def test_k5_fixture_end_to_end(tmp_path: Path) -> None:
    scene = _k5_scene()
    assert scene.simulator is not None
    _answered(scene, 1, wait=10, talk=100)
    _answered(scene, 2, wait=30, talk=50)
    _hangs_up(scene, 3, after=5)
    _hangs_up(scene, 4, after=40)
    call_id, task_id = _dial(scene, 5)  # s5: times out after 60 s, leaves a message
    queued = _until_queued(scene, task_id)
    scene.wait(queued + 62 - scene.now)
    scene.simulator.say(call_id, "Please call me back.", 4)
    scene.commit()
    scene.wait(60)
    call_id, _ = _dial(scene, 6)  # s6: hangs up during the welcome, in the IVR
    scene.simulator.caller_hang_up(call_id)
    scene.commit()
    scene.wait(60)
    out = scene.rows()
    outcomes = [s.outcome_id for s in sorted(out.service, key=lambda s: s.started_at)]
    assert outcomes == [
        Outcome.USER_ACCEPTED,
        Outcome.USER_ACCEPTED,
        Outcome.CUSTOMER_HANGUP_IN_QUEUE,
        Outcome.CUSTOMER_HANGUP_IN_QUEUE,
        Outcome.VOICE_MESSAGE_RECORDED,
        Outcome.CUSTOMER_HANGUP_IN_IVR,
    ]
    db = report_db(tmp_path)
    _write(db, out)
    day = Period.day(to_dt(to_ms(scene.now)).date(), "UTC")
    for source in SOURCES:
        k = service_kpis(db, "t", day, source=source)  # type: ignore[arg-type]
        assert k.tasks == 6
        assert k.reachability == pytest.approx(0.40)
        assert k.acceptance_sla == pytest.approx(0.50)
        assert k.hangup_sla == pytest.approx(0.50)
        assert k.queue_time_s == pytest.approx(29.0)
        assert k.connected_time_s == pytest.approx(75.0)
        assert k.asa_s == pytest.approx(20.0)
        assert k.service_level == pytest.approx(0.25)
        assert k.service_level_all == pytest.approx(0.20)
        assert k.queue_abandon_rate == pytest.approx(0.40)
        assert k.accepted_by_system == 6
        assert k.aht_s == pytest.approx(75.0)
    anna = user_kpis(db, "t", day, user_ids=["anna"], source="aggregates")
    assert user_kpis(db, "t", day, user_ids=["anna"], source="sessions") == anna
    assert (anna.offered, anna.accepted, anna.handled, anna.missed) == (2, 2, 2, 0)
    assert anna.mean_connected_s == pytest.approx(75.0)


# ---------------------------------------------------------------------- hand-made sessions


def session(
    started: datetime,
    *,
    service_id: str = "svc",
    wait_ms: int | None = None,  # answered after this long in the queue
    abandon_ms: int | None = None,  # hung up in the queue after this long
    connected_ms: int = 60_000,
    sla_s: int = 20,
    sla_hangup_s: int = 20,
    direction: str = "inbound",
    excluded: bool = False,
    ended: datetime | None = None,
) -> ServiceSessionRow:
    """A queued service session, answered (`wait_ms`) or abandoned (`abandon_ms`)."""
    start_ms = to_ms(started.timestamp())
    answered = wait_ms is not None
    queue_ms = wait_ms if answered else abandon_ms
    assert queue_ms is not None
    outcome = Outcome.USER_ACCEPTED if answered else Outcome.CUSTOMER_HANGUP_IN_QUEUE
    end = ended or to_dt(start_ms + queue_ms + (connected_ms if answered else 0))
    fields: dict[str, Any] = {
        "id": derived_id("test-session", service_id, start_ms, queue_ms),
        "unified_session_id": derived_id("test-unified", service_id, start_ms),
        "task_id": f"task-{start_ms}",
        "service_id": service_id,
        "ou_id": "root",
        "modality": "audio",
        "direction": direction,
        "task_kind": "audio_inbound" if direction == "inbound" else "audio_outbound_scheduled",
        "sequence": 1,
        "started_at": to_dt(start_ms),
        "accepted_at": to_dt(start_ms),
        "first_enqueued_at": to_dt(start_ms),
        "first_offered_at": None,
        "user_connected_at": to_dt(start_ms + queue_ms) if answered else None,
        "queue_left_at": to_dt(start_ms + queue_ms),
        "customer_left_at": None if answered else to_dt(start_ms + queue_ms),
        "ended_at": end,
        "ivr_ms": 0,
        "queue_ms": queue_ms,
        "ring_ms": 0,
        "connected_ms": connected_ms if answered else 0,
        "hold_ms": 0,
        "acw_ms": 0,
        "answer_wait_ms": wait_ms,
        "hangup_wait_ms": abandon_ms,
        "outcome_id": int(outcome),
        "outcome_group_id": int(outcome.group),
        "handled": outcome.group.handled,
        "kpi_excluded": excluded,
        "end_reason": "user_ended" if answered else "customer_hangup",
        "queue_exit_reason": "accepted" if answered else None,
        "max_policy_level": 1,
        "offer_count": int(answered),
        "rona_count": 0,
        "priority": 3,
        "first_accepting_user_id": "anna" if answered else None,
        "last_user_id": "anna" if answered else None,
        "primary_code": None,
        "secondary_codes": None,
        "tags": None,
        "result_detail_id": None,
        "reference_id": None,
        "outbound_call_id": None,
        "outbound_attempt": None,
        "transferred_from_service_session_id": None,
        "sla_acceptance_s": sla_s,
        "sla_hangup_s": sla_hangup_s,
    }
    return ServiceSessionRow(**fields)


def _kpis(db: Database, period: Period, **scope: Any) -> ServiceKpis:
    """The KPIs from both sources, which must agree; aggregates only on whole quarters."""
    sources = SOURCES if period.aligned else ("sessions",)
    found = [service_kpis(db, "t", period, source=s, **scope) for s in sources]  # type: ignore[arg-type]
    assert all(k == found[0] for k in found), found
    return found[0]


NOON = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)


def test_a_hang_up_or_an_answer_exactly_at_the_threshold_counts_as_within(tmp_path: Path) -> None:
    db = report_db(tmp_path)
    rows = [
        session(NOON, wait_ms=20_000),  # answered at t: within
        session(NOON + timedelta(minutes=1), wait_ms=20_001),  # one ms late
        session(NOON + timedelta(minutes=2), abandon_ms=20_000),  # hang-up at t: short
        session(NOON + timedelta(minutes=3), abandon_ms=20_001),
    ]
    _write(db, Output(service=rows))
    k = _kpis(db, Period.day(NOON.date(), "UTC"))
    assert k.acceptance_sla == pytest.approx(0.5)  # 1 of 2 answered within
    assert k.hangup_sla == pytest.approx(0.5)  # 1 of 2 hang-ups within t_h
    assert k.service_level == pytest.approx(1 / 3)  # 1 / (4 − 1 short abandon)
    assert k.service_level_all == pytest.approx(0.25)


def test_each_session_is_judged_by_its_own_sla_snapshot(tmp_path: Path) -> None:
    db = report_db(tmp_path)
    rows = [
        session(NOON, wait_ms=25_000, sla_s=30),  # within its 30 s
        session(NOON + timedelta(minutes=1), wait_ms=25_000, sla_s=20),  # late for 20 s
        session(NOON + timedelta(minutes=2), abandon_ms=25_000, sla_s=30, sla_hangup_s=10),
    ]
    _write(db, Output(service=rows))
    k = _kpis(db, Period.day(NOON.date(), "UTC"))
    assert k.acceptance_sla == pytest.approx(0.5)
    assert k.service_level == pytest.approx(1 / 2)  # the abandon is short for its t = 30
    assert k.hangup_sla == pytest.approx(0.0)  # but not within its t_h = 10


def test_a_session_spanning_midnight_belongs_to_the_day_it_started(tmp_path: Path) -> None:
    db = report_db(tmp_path)
    zone = "Europe/Zurich"
    late = datetime(2026, 2, 2, 23, 59, 30, tzinfo=ZoneInfo(zone))
    rows = [session(late, wait_ms=40_000, connected_ms=600_000)]  # answered and ended tomorrow
    _write(db, Output(service=rows))
    today = _kpis(db, Period.day(date(2026, 2, 2), zone))
    tomorrow = _kpis(db, Period.day(date(2026, 2, 3), zone))
    assert (today.tasks, today.connected_time_s, today.asa_s) == (1, 600.0, 40.0)
    assert (tomorrow.tasks, tomorrow.asa_s, tomorrow.reachability) == (0, None, None)


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        ("Europe/Zurich", date(2026, 3, 29), date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ],
)
def test_today_around_both_daylight_saving_changes(
    tmp_path: Path, zone: str, spring: date, autumn: date
) -> None:
    db = report_db(tmp_path)
    rows = []
    for day in (spring, autumn):
        period = Period.day(day, zone)
        first, last = period.start, period.end - timedelta(seconds=1)
        rows += [
            session(first - timedelta(seconds=1), wait_ms=1_000),  # yesterday's last second
            session(first, wait_ms=2_000),  # today's first instant
            session(last, wait_ms=30_000),  # today's last second
            session(period.end, abandon_ms=5_000),  # tomorrow's first instant
        ]
    _write(db, Output(service=rows))
    for day, hours in ((spring, 23), (autumn, 25)):
        period = Period.day(day, zone)
        assert period.end - period.start == timedelta(hours=hours)
        local_noon = datetime.combine(day, time(12), tzinfo=ZoneInfo(zone))
        assert Period.today(local_noon.astimezone(UTC), zone) == period
        k = _kpis(db, period)
        assert (k.tasks, k.handled_by_user, k.queue_hangups) == (2, 2, 0)
        assert k.asa_s == pytest.approx(16.0)  # (2 + 30) / 2
        assert k.acceptance_sla == pytest.approx(0.5)


def test_ratios_of_sums_over_services_and_null_for_empty_denominators(tmp_path: Path) -> None:
    db = report_db(tmp_path)
    rows = [session(NOON + timedelta(minutes=i), wait_ms=5_000) for i in range(9)]
    rows.append(session(NOON, service_id="small", wait_ms=60_000))
    _write(db, Output(service=rows))
    day = Period.day(NOON.date(), "UTC")
    both = _kpis(db, day)
    assert both.acceptance_sla == pytest.approx(0.9)  # 9 of 10, not the mean of 1.0 and 0.0
    assert _kpis(db, day, service_ids=["small"]).acceptance_sla == 0.0
    nothing = _kpis(db, day, service_ids=["none"])
    assert nothing.tasks == 0
    assert all(
        getattr(nothing, name) is None
        for name in ("reachability", "acceptance_sla", "hangup_sla", "asa_s", "service_level")
    )


def test_unconnected_outbound_is_left_out_unless_the_tenant_includes_it(tmp_path: Path) -> None:
    db = report_db(tmp_path)
    rows = [
        session(NOON, direction="outbound", wait_ms=3_000),
        session(NOON + timedelta(minutes=1), direction="outbound", abandon_ms=9_000, excluded=True),
    ]
    _write(db, Output(service=rows))
    day = Period.day(NOON.date(), "UTC")
    kept = _kpis(db, day, direction="outbound")
    assert (kept.tasks, kept.outbound_connect_rate) == (1, 0.0)
    every = _kpis(db, day, direction="outbound", include_unconnected_outbound=True)
    assert every.tasks == 2
    assert _kpis(db, day).tasks == 0  # inbound by default


def test_periods_off_the_quarter_hour_count_sessions(tmp_path: Path) -> None:
    db = report_db(tmp_path)
    rows = [session(NOON + timedelta(minutes=m), wait_ms=1_000) for m in (0, 5, 10, 20)]
    _write(db, Output(service=rows))
    odd = Period(NOON + timedelta(minutes=4), NOON + timedelta(minutes=11))
    assert not odd.aligned
    assert service_kpis(db, "t", odd).tasks == 2
    with pytest.raises(ValueError, match="quarter hours"):
        service_kpis(db, "t", odd, source="aggregates")


def test_periods_refuse_naive_times_unknown_zones_and_empty_spans() -> None:
    with pytest.raises(ValueError, match="aware"):
        Period(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="IANA"):
        Period.day(date(2026, 1, 1), "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="before"):
        Period(NOON, NOON)
