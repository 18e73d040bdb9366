"""User-state intervals (08 §2.1): one reporting state per instant, by precedence."""

from __future__ import annotations

from dataclasses import replace

from reporting_harness import START, Scene, service, user

from switchboard.domain import config as cfg
from switchboard.domain.enums import Presence
from switchboard.reporting.aggregates import state_slices
from switchboard.reporting.rows import UserStateRow, to_dt, to_ms


def _scene(persist: bool = True) -> Scene:
    scene = Scene(persist_user_states=persist)
    svc = service()
    svc.distribution.acw_enabled = True
    svc.distribution.acw_duration_s = 30
    svc.distribution.persistent_rona = True
    svc.distribution.rona_reset_s = 60
    scene.add("service", svc)
    scene.add("not_available_reason", cfg.NotAvailableReason(id="na-break", name="Break"))
    scene.add("user", user("anna", "svc", not_available_reason_ids=("na-break",)))
    return scene


def _intervals(rows: list[UserStateRow]) -> list[tuple[str, str | None, str, float, float]]:
    return [
        (
            r.state,
            r.not_available_reason_id,
            r.presence,
            (r.started_at - to_dt(to_ms(START))).total_seconds(),
            (r.ended_at - to_dt(to_ms(START))).total_seconds(),
        )
        for r in rows
    ]


def test_a_working_day_in_reporting_states() -> None:
    scene = _scene()
    engine = scene.engine
    scene.at(10)
    scene.available("anna")
    scene.at(20)
    task = scene.do(lambda e: e.create_task(service_id="svc"))
    scene.at(24)
    scene.do(lambda e: e.accept("anna", task.id))
    scene.at(84)
    scene.do(lambda e: e.hang_up("anna", task.id))
    scene.at(130)  # ACW ended at 114
    scene.do(lambda e: e.set_not_available("anna", "na-break"))
    scene.at(190)
    scene.do(lambda e: e.set_not_available("anna", None))
    scene.at(200)
    scene.do(lambda e: e.set_presence("anna", Presence.DO_NOT_DISTURB))
    scene.at(260)
    scene.do(lambda e: e.set_presence("anna", Presence.OFFLINE))
    scene.at(300)
    scene.available("anna")
    scene.at(310)
    missed = scene.do(lambda e: e.create_task(service_id="svc"))
    scene.at(330)  # the offer rang out: RONA, flagged for 60 s
    assert engine.state.live["anna"].rona is not None
    scene.at(395)  # cleared at 390, offered again at once
    scene.do(lambda e: e.customer_hang_up(missed.id))
    scene.at(400)
    scene.do(lambda e: e.set_presence("anna", Presence.AWAY))
    assert _intervals(scene.rows().states) == [
        ("offline", None, "offline", 0, 10),
        ("available", None, "available", 10, 20),
        ("ringing", None, "available", 20, 24),
        ("in_task", None, "available", 24, 84),
        ("in_acw", None, "available", 84, 114),
        ("available", None, "available", 114, 130),
        ("not_available", "na-break", "available", 130, 190),
        ("available", None, "available", 190, 200),
        ("presence_unavailable", None, "do_not_disturb", 200, 260),
        ("offline", None, "offline", 260, 300),
        ("available", None, "available", 300, 310),
        ("ringing", None, "available", 310, 330),
        ("rona", None, "available", 330, 390),
        ("ringing", None, "available", 390, 395),
    ]
    # The interval that ended at the latest instant may still go on (a change back at
    # that same instant would extend it): it is written once time has moved past it.
    scene.at(410)
    scene.do(lambda e: e.set_presence("anna", Presence.AVAILABLE))
    assert _intervals(scene.rows().states) == [("available", None, "available", 395, 400)]
    scene.wait(1)
    scene.do(lambda e: e.set_presence("anna", Presence.OFFLINE))
    assert _intervals(scene.rows().states) == [("presence_unavailable", None, "away", 400, 410)]


def test_off_duty_and_no_intervals_without_persist_user_states() -> None:
    scene = _scene(persist=False)
    scene.available("anna")
    scene.wait(30)
    scene.do(lambda e: e.set_presence("anna", Presence.OFFLINE))
    scene.wait(30)
    scene.do(lambda e: e.set_presence("anna", Presence.AVAILABLE))
    assert scene.rows().states == []
    # Turning the setting on starts the intervals then; inactive everywhere is off duty.
    tenant = scene.engine.state.tenant
    settings = replace(tenant.settings, persist_user_states=True)
    scene.add("tenant", replace(tenant, settings=settings))
    scene.wait(5)
    scene.do(lambda e: e.set_active("anna", "svc", False))
    scene.wait(5)
    scene.do(lambda e: e.set_presence("anna", Presence.OFFLINE))
    scene.wait(1)
    scene.do(lambda e: e.set_presence("anna", Presence.AVAILABLE))
    scene.wait(1)
    scene.do(lambda e: e.set_active("anna", "svc", True))
    states = [(r.state, r.duration_ms) for r in scene.rows().states]
    assert states == [("available", 5000), ("off_duty", 5000), ("offline", 1000)]


def test_a_change_back_at_the_same_instant_keeps_one_interval() -> None:
    scene = _scene()
    scene.available("anna")
    scene.wait(10)
    # Offline and back within one instant: no zero-length interval, no split.
    scene.engine.set_presence("anna", Presence.OFFLINE)
    scene.engine.set_presence("anna", Presence.AVAILABLE)
    scene.commit()
    scene.wait(10)
    scene.do(lambda e: e.set_presence("anna", Presence.OFFLINE))
    scene.wait(1)
    scene.do(lambda e: e.set_presence("anna", Presence.AVAILABLE))
    scene.wait(1)
    scene.do(lambda e: e.set_presence("anna", Presence.AWAY))
    assert [(r.state, r.duration_ms) for r in scene.rows().states] == [
        ("available", 20_000),
        ("offline", 1000),
    ]


def test_an_interval_counts_in_every_quarter_hour_it_covers() -> None:
    row = UserStateRow(
        id="x",
        user_id="anna",
        state="available",
        not_available_reason_id=None,
        presence="available",
        started_at=to_dt(to_ms(START + 600)),  # 09:10
        ended_at=to_dt(to_ms(START + 2_400)),  # 09:40
        duration_ms=1_800_000,
    )
    slices = state_slices(row)
    assert [ms for _, ms in slices] == [300_000, 900_000, 600_000]
    assert sum(ms for _, ms in slices) == row.duration_ms
    assert [key[3] - slices[0][0][3] for key, _ in slices] == [0, 900_000, 1_800_000]
