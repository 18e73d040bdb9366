"""The projection's sessions and outcomes (08 §2–§3), from real engine runs in virtual time."""

from __future__ import annotations

from dataclasses import replace

from reporting_harness import START, Scene, service, user, utc, workflow

from switchboard.domain import config as cfg
from switchboard.domain.enums import TaskKind
from switchboard.reporting.outcomes import Outcome, UserOutcome
from switchboard.reporting.projection import Output, Projector, state_from_json
from switchboard.reporting.rows import to_dt, to_ms
from workflow_nodes import node


def _scene(**service_fields: object) -> Scene:
    scene = Scene()
    svc = service(**service_fields)  # type: ignore[arg-type]
    scene.add("service", svc)
    scene.add("user", user("anna", "svc"))
    scene.add("user", user("ben", "svc"))
    return scene


def _one(out: Output) -> Output:
    assert len(out.unified) == 1 and len(out.service) == 1, out
    return out


def test_an_answered_call_with_hold_and_after_call_work() -> None:
    scene = _scene()
    svc = scene.engine.state.services["svc"]
    svc = replace(svc, distribution=replace(svc.distribution, acw_enabled=True, acw_duration_s=30))
    scene.add("service", svc)
    scene.available("anna")
    task = scene.do(lambda e: e.create_task(service_id="svc", caller="+41790000001"))
    scene.wait(4)
    scene.do(lambda e: e.accept("anna", task.id))
    scene.wait(6)
    scene.do(lambda e: e.hold("anna", task.id))
    scene.wait(15)
    scene.do(lambda e: e.resume("anna", task.id))
    scene.wait(39)
    scene.do(lambda e: e.hang_up("anna", task.id))
    assert scene.rows().service == []  # after-call work still runs: not concluded (RP2)
    scene.wait(30)
    out = _one(scene.rows())
    (s,) = out.service
    start = to_dt(to_ms(START))
    assert (s.outcome_id, s.outcome_group_id, s.handled) == (Outcome.USER_ACCEPTED, 1, True)
    assert s.started_at == s.accepted_at == s.first_enqueued_at == s.first_offered_at == start
    assert s.user_connected_at == s.queue_left_at == to_dt(to_ms(START + 4))
    assert s.ended_at == to_dt(to_ms(START + 64)) and s.customer_left_at is None
    assert (s.queue_ms, s.answer_wait_ms, s.ring_ms, s.ivr_ms) == (4000, 4000, 4000, 0)
    assert (s.connected_ms, s.hold_ms, s.acw_ms) == (60_000, 15_000, 30_000)
    assert (s.end_reason, s.queue_exit_reason, s.offer_count, s.rona_count) == (
        "user_ended",
        "accepted",
        1,
        0,
    )
    assert (s.first_accepting_user_id, s.last_user_id, s.sequence) == ("anna", "anna", 1)
    assert (s.modality, s.direction, s.task_kind) == ("audio", "inbound", "audio_inbound")
    assert (s.sla_acceptance_s, s.sla_hangup_s, s.kpi_excluded) == (20, 20, False)
    (u,) = out.user
    assert (u.outcome_id, u.outcome_group_id, u.offer_kind) == (
        UserOutcome.ACCEPTED,
        1,
        "distribution",
    )
    assert (u.ring_ms, u.connected_ms, u.hold_ms, u.acw_ms, u.acw_end_reason) == (
        4000,
        60_000,
        15_000,
        30_000,
        "elapsed",
    )
    assert u.ended_at == to_dt(to_ms(START + 94)) and u.service_session_id == s.id
    (unified,) = out.unified
    assert unified.id == s.unified_session_id and unified.outcome_id == Outcome.USER_ACCEPTED
    assert (unified.service_session_count, unified.user_session_count) == (1, 1)
    assert (unified.caller_id, unified.connected_ms, unified.handled) == (
        "+41790000001",
        60_000,
        True,
    )


def test_misses_then_a_hang_up_in_the_queue() -> None:
    scene = _scene()
    svc = scene.engine.state.services["svc"]
    scene.add("service", replace(svc, queue=replace(svc.queue, rona_timeout_s=10)))
    scene.available("anna", "ben")
    task = scene.do(lambda e: e.create_task(service_id="svc"))
    first = scene.engine.state.tasks[task.id]
    (offer,) = first.offers.values()
    scene.wait(2)
    scene.do(lambda e: e.decline(offer.user_id, task.id))  # the other user is offered now
    scene.wait(10)  # ... and does not answer: RONA
    scene.wait(5)
    scene.do(lambda e: e.customer_hang_up(task.id))
    out = _one(scene.rows())
    (s,) = out.service
    assert s.outcome_id == Outcome.CUSTOMER_HANGUP_IN_QUEUE and s.outcome_group_id == 3
    assert (s.offer_count, s.rona_count) == (3, 1)  # the declining user got it back later
    assert s.customer_left_at is not None and s.hangup_wait_ms == s.queue_ms
    outcomes = sorted(u.outcome_id for u in out.user)
    assert outcomes == sorted([UserOutcome.DECLINED, UserOutcome.RONA, UserOutcome.CANCELLED])
    assert all(u.answered_at is None and u.connected_ms == 0 for u in out.user)


def test_system_outcomes_of_the_built_in_workflow() -> None:
    scene = _scene()
    svc = scene.engine.state.services["svc"]
    scene.add(
        "service",
        replace(
            svc,
            queue=replace(svc.queue, max_queue_time_s=60),
            distribution=replace(svc.distribution, max_queue_size=1),
        ),
    )
    timed_out = scene.do(lambda e: e.create_task(service_id="svc"))
    full = scene.do(lambda e: e.create_task(service_id="svc"))
    scene.wait(60)
    out = scene.rows()
    by_task = {s.task_id: s for s in out.service}
    assert by_task[full.id].outcome_id == Outcome.QUEUE_FULL
    assert by_task[full.id].first_enqueued_at is None
    assert by_task[timed_out.id].outcome_id == Outcome.QUEUE_TIMEOUT
    assert by_task[timed_out.id].queue_ms == 60_000
    scene.add("service", replace(scene.engine.state.services["svc"], enabled=False))
    rejected = scene.do(lambda e: e.create_task(service_id="svc"))
    (s,) = scene.rows().service
    assert (s.task_id, s.outcome_id, s.end_reason) == (
        rejected.id,
        Outcome.REJECTED_BY_SYSTEM,
        "rejected",
    )


def test_cancellation_is_abandoned_only_while_a_user_has_the_task() -> None:
    scene = _scene()
    waiting = scene.do(lambda e: e.create_task(service_id="svc"))
    scene.wait(3)
    scene.do(lambda e: e.cancel_task(waiting.id))
    (s,) = scene.rows().service
    assert s.outcome_id == Outcome.TASK_CANCELLED and s.outcome_group_id == 4
    scene.available("anna")
    ringing = scene.do(lambda e: e.create_task(service_id="svc"))
    scene.wait(1)
    scene.do(lambda e: e.cancel_task(ringing.id))
    (s,) = scene.rows().service
    assert s.outcome_id == Outcome.ABANDONED


def test_a_workflow_transfer_makes_two_service_sessions_and_a_transfer_session() -> None:
    scene = Scene()
    scene.add("service", service("front"))
    scene.add("service", service("back"))
    scene.add("user", user("anna", "back"))
    scene.publish(
        workflow(
            [
                node("acc", "accept", {"next": "xfer"}),
                node("xfer", "transfer", {"failed": "bye"}, target_type="service", target="back"),
                node("bye", "disconnect"),
            ]
        ),
        "front",
    )
    scene.available("anna")
    task = scene.do(lambda e: e.create_task(service_id="front", kind=TaskKind.AUDIO_INBOUND))
    scene.wait(5)
    scene.do(lambda e: e.accept("anna", task.id))
    scene.wait(20)
    scene.do(lambda e: e.hang_up("anna", task.id))
    out = scene.rows()
    first, second = sorted(out.service, key=lambda s: s.sequence)
    assert (first.service_id, first.outcome_id, first.end_reason) == (
        "front",
        Outcome.TRANSFERRED_BY_SYSTEM,
        "transferred",
    )
    assert first.outcome_group_id == 2 and first.handled
    assert (second.service_id, second.sequence, second.outcome_id) == (
        "back",
        2,
        Outcome.USER_ACCEPTED,
    )
    assert second.transferred_from_service_session_id == first.id
    assert second.accepted_at == second.started_at  # arrived answered
    (transfer,) = out.transfer
    assert (transfer.result, transfer.target_type, transfer.target_id) == (
        "succeeded",
        "service",
        "back",
    )
    assert (transfer.service_session_id, transfer.to_service_session_id) == (first.id, second.id)
    assert (transfer.initiated_by, transfer.transfer_type) == ("workflow", "workflow")
    (unified,) = out.unified
    assert (unified.first_service_id, unified.last_service_id) == ("front", "back")
    assert (unified.service_session_count, unified.transfer_session_count) == (2, 1)
    assert unified.outcome_id == Outcome.USER_ACCEPTED


def test_a_failed_workflow_transfer_is_recorded_and_decides_the_outcome() -> None:
    scene = Scene()
    scene.add("service", service("front"))
    scene.add("service", service("back", enabled=False))
    scene.publish(
        workflow(
            [
                node("acc", "accept", {"next": "xfer"}),
                node("xfer", "transfer", {"failed": "bye"}, target_type="service", target="back"),
                node("bye", "disconnect"),
            ]
        ),
        "front",
    )
    scene.do(lambda e: e.create_task(service_id="front"))
    out = scene.rows()
    (s,) = out.service
    assert s.outcome_id == Outcome.TRANSFER_FAILED and s.outcome_group_id == 5
    (transfer,) = out.transfer
    assert (transfer.result, transfer.error, transfer.target_id) == (
        "failed",
        "service_disabled",
        "back",
    )
    assert transfer.started_at == transfer.ended_at


def test_where_the_customer_left_decides_between_outcomes_1_to_4() -> None:
    scene = Scene()
    scene.add("service", service("svc"))
    scene.add("service", service("early"))
    scene.add("user", user("anna", "svc"))
    scene.publish(
        workflow(
            [
                # Without media an announcement lasts 2 s a repetition (no_media).
                node("acc", "accept", {"next": "menu"}),
                node("menu", "announcement", {"next": "q"}, prompt={"text": "Hold."}, repeat=5),
                node(
                    "q",
                    "queue",
                    {"timeout": "sorry", "no_users": "sorry", "full": "sorry"},
                    max_queue_time_s=30,
                ),
                node("sorry", "announcement", {"next": "bye"}, prompt={"text": "Sorry."}, repeat=5),
                node("bye", "disconnect"),
            ]
        )
    )
    # Only a transfer runs before `accept` and waits: ringing a user (T34).
    scene.publish(
        workflow(
            [
                node("xfer", "transfer", {"failed": "bye"}, target_type="user", target="anna"),
                node("bye", "disconnect"),
            ],
            workflow_id="wf-early",
        ),
        "early",
    )
    task = scene.do(lambda e: e.create_task(service_id="early"))
    scene.wait(1)
    scene.do(lambda e: e.customer_hang_up(task.id))
    out = scene.rows()
    (s,) = out.service
    assert (s.outcome_id, s.accepted_at) == (Outcome.CUSTOMER_HANGUP_BEFORE_ACCEPT, None)
    (transfer,) = out.transfer
    assert (transfer.result, transfer.target_type, transfer.target_id) == (
        "cancelled",
        "user",
        "anna",
    )
    (ringing,) = out.user
    assert (ringing.outcome_id, ringing.offer_kind, ringing.is_transfer_target) == (
        UserOutcome.CANCELLED,
        "transfer",
        True,
    )
    outcomes = []
    for wait in (5, 20, 45):  # in the IVR, in the queue, after the queue
        task = scene.do(lambda e: e.create_task(service_id="svc"))
        scene.wait(wait)
        scene.engine.customer_hang_up(task.id)
        scene.commit()
        (s,) = scene.rows().service
        outcomes.append(s.outcome_id)
    assert outcomes == [
        Outcome.CUSTOMER_HANGUP_IN_IVR,
        Outcome.CUSTOMER_HANGUP_IN_QUEUE,
        Outcome.CUSTOMER_HANGUP_IN_IVR_AFTER_QUEUE,
    ]
    task = scene.do(lambda e: e.create_task(service_id="svc"))
    scene.wait(120)
    (s,) = scene.rows().service
    assert (s.task_id, s.outcome_id, s.queue_exit_reason) == (
        task.id,
        Outcome.QUEUE_TIMEOUT,
        "timeout",
    )
    assert (s.ivr_ms, s.queue_ms) == (20_000, 30_000)
    assert s.ivr_ms + 30_000 == int((s.ended_at - s.started_at).total_seconds() * 1000)


def test_resuming_from_a_snapshot_gives_the_same_rows() -> None:
    scene = _scene()
    scene.available("anna", "ben")
    for i in range(6):
        task = scene.do(lambda e: e.create_task(service_id="svc"))
        scene.wait(2 + i)
        if i % 2:
            scene.engine.customer_hang_up(task.id)
            scene.commit()
    scene.wait(3)
    for task_id, live in list(scene.engine.state.tasks.items()):
        for offer in list(live.offers.values()):
            scene.engine.accept(offer.user_id, task_id)
            scene.commit()
    scene.wait(30)
    for task_id, live in list(scene.engine.state.tasks.items()):
        if live.connected_user_id:
            scene.engine.hang_up(live.connected_user_id, task_id)
            scene.commit()
    events = scene.events
    whole = Projector()
    for event in events:
        whole.apply(event)
    expected = whole.take()
    for cut in range(1, len(events), 7):
        first = Projector()
        for event in events[:cut]:
            first.apply(event)
        resumed = Projector(state_from_json(first.snapshot()))
        for event in events[cut:]:
            resumed.apply(event)
        got = first.take()
        got.extend(resumed.take())
        assert got == expected, cut


def test_the_projection_refuses_an_event_it_has_folded_already() -> None:
    scene = _scene()
    projector = Projector()
    for event in scene.events:
        projector.apply(event)
    try:
        projector.apply(scene.events[-1])
    except ValueError as error:
        assert "is not after" in str(error)
    else:
        raise AssertionError("a repeated event was folded twice")


def test_timestamps_keep_milliseconds() -> None:
    assert to_dt(to_ms(1_767_603_600.1234)) == utc("2026-01-05T09:00:00.123+00:00")


def test_codes_and_tags_chosen_by_the_user_are_kept() -> None:
    scene = Scene()
    scene.add("code", cfg.Code(id="code-ok", name="Solved", short_code="OK"))
    scene.add("code", cfg.Code(id="code-cb", name="Callback", short_code="CB"))
    scene.add("tag", cfg.Tag(id="tag-vip", name="VIP"))
    scene.add("service", service(codes=("code-ok", "code-cb"), tags=("tag-vip",)))
    scene.add("user", user("anna", "svc"))
    scene.available("anna")
    task = scene.do(lambda e: e.create_task(service_id="svc"))
    scene.do(lambda e: e.accept("anna", task.id))
    scene.do(lambda e: e.set_codes("anna", task.id, primary_code_id="code-cb"))
    scene.do(
        lambda e: e.set_codes(
            "anna",
            task.id,
            primary_code_id="code-ok",
            secondary_code_ids=["code-cb"],
            tag_ids=["tag-vip"],
        )
    )
    scene.wait(30)
    scene.do(lambda e: e.hang_up("anna", task.id))
    out = scene.rows()
    (s,) = out.service
    (u,) = out.user
    assert (s.primary_code, s.secondary_codes, s.tags) == ("code-ok", "code-cb", "tag-vip")
    assert (u.primary_code, u.secondary_codes, u.tags) == ("code-ok", "code-cb", "tag-vip")
