"""The transfer activity: to a service (a new service session), to a user (a transfer
offer without RONA), to a number or UPN through the provider (blind transfer after
accept, redirect before), with every way it can fail (05 §9)."""

from __future__ import annotations

from workflow_harness import SERVICE, World, api_task, document, world

from switchboard.domain import config as cfg
from switchboard.domain import voice as v
from switchboard.domain.enums import (
    AssignmentType,
    EndReason,
    OfferKind,
    Presence,
    TaskState,
)
from workflow_nodes import node

BYE = node("bye", "disconnect")
FAILED = node("failed", "announcement", {"next": "bye"}, prompt={"text": "That did not work."})


def _transfer(*, before_accept: bool = False, **settings: object) -> list[dict[str, object]]:
    if before_accept:  # nothing but routing may run before accept (V4)
        return [node("xfer", "transfer", {"failed": "bye"}, **settings), BYE]
    return [node("xfer", "transfer", {"failed": "failed"}, **settings), FAILED, BYE]


def _with_second_service(w: World, *, workflow: bool = True, enabled: bool = True) -> None:
    w.engine.upsert(
        "service",
        cfg.Service(
            id="svc-2",
            name="Second line",
            upn="second@acme.test",
            user_assignment_type=AssignmentType.TEAMS_BASED,
            enabled=enabled,
        ),
    )
    w.engine.upsert(
        "user",
        cfg.User(
            id="ben",
            upn="ben@acme.test",
            display_name="Ben",
            memberships={"svc-2": cfg.Membership("svc-2")},
        ),
    )
    if workflow:
        w.publish(
            document(
                [
                    node("hi", "announcement", {"next": "q"}, prompt={"text": "Second line."}),
                    node("q", "queue", {"timeout": "bye", "no_users": "bye", "full": "bye"}),
                    BYE,
                ],
                workflow_id="wf-2",
                name="Second",
            ),
            service="svc-2",
        )


def test_a_transfer_to_a_service_starts_a_new_session_with_its_workflow() -> None:
    w = world()
    _with_second_service(w)
    w.publish(document(_transfer(target_type="service", target="svc-2")))
    task = w.call()
    live = w.task(task.id)
    assert live.service_id == "svc-2" and live.transfer_count == 1
    assert [d["workflow_id"] for d in w.named("workflow.started", task.id)] == ["wf", "wf-2"]
    assert w.named("workflow.ended", task.id)[0]["reason"] == "handed_over"
    assert w.engine.state.runs[task.id].workflow.id == "wf-2"
    assert sum(isinstance(c, v.Answer) for c in w.commands) == 1  # accepted once only
    w.played(w.last(v.PlayPrompt))
    assert live.state is TaskState.QUEUED
    w.set_presence("ben", Presence.AVAILABLE)
    assert [o.user_id for o in live.offers.values()] == ["ben"]
    assert w.engine.state.live_counts[("svc-2", live.modality)] == 1
    assert w.engine.state.live_counts[(SERVICE, live.modality)] == 0


def test_a_service_without_a_workflow_gets_the_built_in_one() -> None:
    w = world()
    _with_second_service(w, workflow=False)
    w.publish(document(_transfer(target_type="service", target="svc-2")))
    task = api_task(w)
    live = w.task(task.id)
    assert (live.service_id, live.state) == ("svc-2", TaskState.QUEUED)
    assert task.id not in w.engine.state.runs


def test_a_transfer_to_a_missing_or_disabled_service_fails() -> None:
    w = world()
    _with_second_service(w, workflow=False, enabled=False)
    w.publish(document(_transfer(target_type="service", target="svc-2")))
    task = api_task(w)
    assert w.path(task.id)[-1] == ("xfer", "failed")
    assert w.named("workflow.node_completed", task.id)[-1]["error"] == "service_disabled"
    assert w.task(task.id).service_id == SERVICE


def test_a_transfer_to_a_user_rings_without_rona_and_connects() -> None:
    w = world()
    w.publish(document(_transfer(target_type="user", target="anna", ring_timeout_s=15)))
    task = api_task(w)
    live = w.task(task.id)
    assert live.state is TaskState.OFFERED
    (offer,) = live.offers.values()
    assert (offer.kind, offer.user_id, offer.expires_at) == (
        OfferKind.TRANSFER,
        "anna",
        w.clock.now() + 15,
    )
    w.engine.accept("anna", task.id)
    w.commit()
    connected = w.task(task.id)
    assert connected.state is TaskState.CONNECTED and connected.connected_user_id == "anna"
    assert w.ended(task.id)["reason"] == "handed_over"


def test_an_unanswered_or_declined_user_transfer_takes_failed() -> None:
    w = world()
    w.publish(document(_transfer(target_type="user", target="anna", ring_timeout_s=15)))
    first = api_task(w)
    w.advance(15)
    assert ("xfer", "failed") in w.path(first.id)
    assert not w.named("task.rona")  # no RONA for transfer offers (R3)
    assert w.engine.state.live["anna"].rona is None
    second = api_task(w)
    w.engine.decline("anna", second.id)
    w.commit()
    assert w.named("workflow.node_completed", second.id)[-1]["error"] == "declined"


def test_a_busy_or_unknown_user_fails_at_once() -> None:
    w = world(members=("anna", "ben"))
    w.publish(document(_transfer(target_type="user", target="anna")))
    w.set_presence("ben", Presence.AVAILABLE)
    first = api_task(w)
    w.engine.accept("anna", first.id)  # anna is now handling a transfer
    w.commit()
    second = api_task(w)
    errors = [
        d["error"] for d in w.named("workflow.node_completed", second.id) if d["node_id"] == "xfer"
    ]
    assert errors == ["target_in_task"]


def test_a_blind_transfer_to_a_number_is_tracked_until_answered() -> None:
    w = world()
    w.publish(
        document(
            _transfer(
                target_type="external_number", target="+41445559999", prompt={"text": "Connecting."}
            )
        )
    )
    task = w.call()
    w.played(w.last(v.PlayPrompt))
    blind = w.last(v.TransferBlind)
    assert blind.target == v.Target(type=v.TargetType.PHONE, value="+41445559999")
    assert blind.keep_tracking and blind.timeout_s == 30
    w.send(
        v.TransferState,
        call_id="call-1",
        command_id=blind.command_id,
        state=v.TransferStatus.STARTED,
    )
    assert w.task(task.id).state is TaskState.IN_WORKFLOW
    w.send(
        v.TransferState,
        call_id="call-1",
        command_id=blind.command_id,
        state=v.TransferStatus.ACCEPTED,
    )
    live = w.task(task.id)
    assert (live.state, live.external_party) == (TaskState.CONNECTED, "+41445559999")
    w.hang_up()
    assert live.end_reason is EndReason.CUSTOMER_HANGUP


def test_a_transfer_with_leave_ends_the_task_and_a_failure_takes_failed() -> None:
    w = world()
    w.publish(document(_transfer(target_type="upn", target="desk@partner.test", leave=True)))
    task = w.call()
    blind = w.last(v.TransferBlind)
    assert blind.target.type is v.TargetType.UPN and not blind.keep_tracking
    w.send(
        v.TransferState,
        call_id="call-1",
        command_id=blind.command_id,
        state=v.TransferStatus.COMPLETED,
    )
    assert w.task(task.id).end_reason is EndReason.TRANSFERRED_OUT
    other = w.call("call-2")
    blind = w.last(v.TransferBlind)
    w.send(
        v.TransferState,
        call_id="call-2",
        command_id=blind.command_id,
        state=v.TransferStatus.FAILED,
        code="busy",
    )
    assert w.named("workflow.node_completed", other.id)[-1]["error"] == "busy"
    assert w.path(other.id)[-1] == ("xfer", "failed")


def test_before_accept_a_call_is_redirected() -> None:
    w = world()
    w.publish(
        document(
            _transfer(
                target_type="external_number",
                target="+41445559999",
                ring_timeout_s=5,
                before_accept=True,
            ),
            accept=False,
        )
    )
    w.send(
        v.IncomingCall, call_id="c", to="+41445550000", caller=v.Party(kind=v.PartyKind.ANONYMOUS)
    )
    task_id = w.engine.state.calls["c"]
    redirect = w.last(v.Redirect)
    assert redirect.timeout_s == 15  # the provider's lower bound
    assert w.pending(v.Answer) is None
    w.send(v.CallEnded, call_id="c", reason=v.CallEndReason.REDIRECTED, ended_by=v.EndedBy.SYSTEM)
    assert w.task(task_id).end_reason is EndReason.TRANSFERRED_OUT
    assert w.ended(task_id)["reason"] == "transferred_out"


def test_a_provider_error_or_no_call_fails_the_transfer() -> None:
    w = world()
    w.publish(document(_transfer(target_type="external_number", target="+41445559999")))
    task = w.call()
    blind = w.last(v.TransferBlind)
    w.send(v.OperationFailed, call_id="call-1", command_id=blind.command_id, code="503")
    assert w.named("workflow.node_completed", task.id)[-1]["error"] == "provider_error"
    api = api_task(w)
    assert [
        d["error"] for d in w.named("workflow.node_completed", api.id) if d["node_id"] == "xfer"
    ] == ["transfer_not_supported"]


def test_services_sending_a_task_back_and_forth_are_stopped() -> None:
    w = world()
    _with_second_service(w, workflow=False)
    w.publish(
        document(_transfer(target_type="service", target="svc-2", before_accept=True), accept=False)
    )
    w.publish(
        document(
            _transfer(target_type="service", target=SERVICE, before_accept=True),
            accept=False,
            workflow_id="wf-2",
            name="Back",
        ),
        service="svc-2",
    )
    task = api_task(w)
    live = w.task(task.id)
    assert live.transfer_count == 50
    assert live.end_reason is EndReason.WORKFLOW_DISCONNECT
    assert w.named("workflow.node_completed", task.id)[-1]["error"] == "transfer_limit"
