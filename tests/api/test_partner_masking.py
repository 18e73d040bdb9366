"""What system and partner admins see of a tenant's people and customers (10 PV2).

While the tenant's `partner_may_see_*` settings are off (the default), their
answers show `***` for user identifiers (users) and customer identifiers
(tasks), on REST and on the live stream; a tenant admin turns them on (PV1).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from api_harness import Service, service
from sign_in_harness import Session, person, sign_in
from system_harness import in_tenant, partner_for, system_account, system_sign_in

from switchboard.api.event_visibility import EventVisibility
from switchboard.api.masking import MASK
from switchboard.domain import config as cfg
from switchboard.domain.access import Access
from switchboard.domain.enums import AssignmentType, Modality, TaskKind
from switchboard.domain.roles import Role, RoleAssignment, ScopeType
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event

__all__ = ["service"]

USER = {
    "upn": "anna.meier@acme.test",
    "display_name": "Anna Meier",
    "email": "anna@acme.test",
    "directory_object_id": "dir-anna",
}


@pytest.fixture
def admins(service: Service) -> dict[str, dict[str, str]]:
    """Headers of the system admin and a partner admin, both inside tenant A, and of
    tenant A's tenant admin."""
    partner = partner_for(service, "Partner A", "tenant-a")
    system_account(service, "root", "system_admin")
    system_account(service, "pa", "partner_admin", partner)
    person(service, "boss", roles=[{"role": "tenant_admin", "scope_type": "tenant"}])
    boss: Session = sign_in(service, "boss")
    return {
        "SA": in_tenant(system_sign_in(service, "root"), "tenant-a"),
        "PA": in_tenant(system_sign_in(service, "pa"), "tenant-a"),
        "TA": boss.headers(),
    }


def _toggle(service: Service, headers: dict[str, str], name: str, value: bool) -> None:
    settings = service.client.get("/api/v1/tenant", headers=headers).json()["settings"]
    answer = service.client.put(
        "/api/v1/tenant/settings", json={**settings, name: value}, headers=headers
    )
    assert answer.status_code == 200, answer.text


def _user(service: Service) -> dict[str, Any]:
    created = service.client.post("/api/v1/users", json=USER, headers=service.auth())
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_user_identifiers_are_masked_until_the_tenant_allows_them(
    service: Service, admins: dict[str, dict[str, str]]
) -> None:
    user = _user(service)
    path = f"/api/v1/users/{user['id']}"
    for role in ("SA", "PA"):
        shown = service.client.get(path, headers=admins[role]).json()
        assert {k: shown[k] for k in USER} == dict.fromkeys(USER, MASK), role
        assert shown["id"] == user["id"] and shown["ou_id"] == user["ou_id"]
        listed = service.client.get("/api/v1/users", headers=admins[role]).json()["items"]
        assert all(item["upn"] == MASK for item in listed)
        assert "Anna" not in service.client.get("/api/v1/users", headers=admins[role]).text
    assert service.client.get(path, headers=admins["TA"]).json()["upn"] == USER["upn"]
    _toggle(service, admins["TA"], "partner_may_see_user_identifiers", True)
    assert service.client.get(path, headers=admins["PA"]).json()["upn"] == USER["upn"]


def test_a_masked_record_written_back_keeps_what_it_hid(
    service: Service, admins: dict[str, dict[str, str]]
) -> None:
    user = _user(service)
    path = f"/api/v1/users/{user['id']}"
    seen = service.client.get(path, headers=admins["PA"]).json()
    body = {k: v for k, v in seen.items() if k not in ("id", "version")}
    changed = service.client.put(path, json={**body, "enabled": False}, headers=admins["PA"])
    assert changed.status_code == 200, changed.text
    assert changed.json()["upn"] == MASK and changed.json()["enabled"] is False
    stored = service.client.get(path, headers=service.auth()).json()
    assert {k: stored[k] for k in USER} == USER and stored["enabled"] is False
    # A field the admin did change is changed.
    renamed = service.client.put(
        path, json={**body, "display_name": "Anna M."}, headers=admins["SA"]
    )
    assert renamed.status_code == 200, renamed.text
    assert service.client.get(path, headers=service.auth()).json()["display_name"] == "Anna M."


def test_customer_identifiers_of_tasks_are_masked_until_the_tenant_allows_them(
    service: Service, admins: dict[str, dict[str, str]]
) -> None:
    sid = service.client.post(
        "/api/v1/services",
        json={
            "name": "Support",
            "upn": "support@acme.test",
            "user_assignment_type": "teams_based",
            "enabled_modalities": ["external_task"],
        },
        headers=service.auth(),
    ).json()["id"]
    task = service.client.post(
        "/api/v1/tasks",
        json={"service_id": sid, "caller": "+41445550101", "customer_identifier": "C-77"},
        headers=service.auth(),
    ).json()
    for role in ("SA", "PA"):
        shown = service.client.get(f"/api/v1/tasks/{task['id']}", headers=admins[role]).json()
        assert (shown["caller"], shown["customer_identifier"]) == (MASK, MASK)
        listed = service.client.get("/api/v1/tasks", headers=admins[role]).text
        assert "+41445550101" not in listed and "C-77" not in listed
    created = service.client.post(
        "/api/v1/tasks",
        json={"service_id": sid, "caller": "+41445550102"},
        headers=admins["SA"],
    )
    assert created.status_code == 201 and created.json()["caller"] == MASK
    assert created.json()["customer_identifier"] is None  # absent stays absent
    _toggle(service, admins["TA"], "partner_may_see_customer_identifiers", True)
    shown = service.client.get(f"/api/v1/tasks/{task['id']}", headers=admins["SA"]).json()
    assert shown["caller"] == "+41445550101"


# ---------------------------------------------------------------------- live stream


def _engine() -> Engine:
    engine = Engine(cfg.Tenant(id="t", name="T"), VirtualClock())
    engine.upsert(
        "service",
        cfg.Service(
            id="svc",
            name="S",
            upn="s@t.test",
            user_assignment_type=AssignmentType.TEAMS_BASED,
            enabled_modalities=frozenset({Modality.EXTERNAL_TASK}),
        ),
    )
    engine.drain()
    return engine


def _batch(engine: Engine) -> list[Event]:
    engine.upsert("user", cfg.User(id="u1", upn="anna@t.test", display_name="Anna"))
    engine.create_task(
        service_id="svc",
        kind=TaskKind.EXTERNAL_TASK,
        caller="+41445550101",
        customer_identifier="C",
    )
    return engine.drain()


def _seen(events: Any) -> str:
    return repr([(e.name, e.data) for e in events])


def test_the_live_stream_masks_the_same_identifiers(service: Service) -> None:
    engine = _engine()
    admin = EventVisibility(lambda _: Access.for_system(Role.PARTNER_ADMIN, "p"), engine)
    tenant_admin = EventVisibility(
        lambda _: Access.for_user(
            cfg.User(
                id="boss",
                upn="boss@t.test",
                display_name="Boss",
                roles=(RoleAssignment(Role.TENANT_ADMIN, ScopeType.TENANT),),
            )
        ),
        engine,
    )
    batch = _batch(engine)
    masked = admin.live(batch, engine)
    assert "Anna" not in _seen(masked) and "+41445550101" not in _seen(masked)
    created = next(e for e in masked if e.name == "task.created")
    assert (created.data["caller"], created.data["customer_identifier"]) == (MASK, MASK)
    upserted = next(e for e in masked if e.name == "config.upserted")
    assert (upserted.data["entity"].upn, upserted.data["entity"].email) == (MASK, None)
    assert "Anna" in _seen(batch)  # the journal's events are not touched
    assert tenant_admin.live(batch, engine) is batch
    # The tenant allows user identifiers: from the next batch on they are shown.
    tenant = engine.state.tenant
    allowed = dataclasses.replace(tenant.settings, partner_may_see_user_identifiers=True)
    engine.upsert("tenant", dataclasses.replace(tenant, settings=allowed))
    engine.drain()
    later = admin.live(_batch(engine), engine)
    assert "Anna" in _seen(later) and "+41445550101" not in _seen(later)


def test_contact_data_of_address_books_is_masked_and_kept_on_write_back(
    service: Service, admins: dict[str, dict[str, str]]
) -> None:
    book = service.client.post(
        "/api/v1/address-books", json={"name": "Customers"}, headers=service.auth()
    ).json()["id"]
    path = f"/api/v1/address-books/{book}/contacts"
    contact = {
        "external_id": "c1",
        "display_name": "Hans Muster",
        "company": "Muster AG",
        "email_addresses": ["hans@muster.test"],
        "mobile_phones": ["+41791234567"],
    }
    assert service.client.post(path, json=contact, headers=service.auth()).status_code == 201
    shown = service.client.get(path, headers=admins["PA"]).json()["items"][0]
    assert (shown["display_name"], shown["email_addresses"]) == (MASK, [MASK])
    assert shown["mobile_phones"] == [MASK] and shown["e164"]["mobile_phones"] == [MASK]
    assert (shown["external_id"], shown["company"]) == ("c1", "Muster AG")
    body = {k: shown[k] for k in contact} | {"company": "Muster GmbH"}
    written = service.client.put(path, json=body, headers=admins["SA"])
    assert written.status_code == 200, written.text
    stored = service.client.get(path, headers=service.auth()).json()["items"][0]
    assert stored["display_name"] == "Hans Muster" and stored["mobile_phones"] == ["+41791234567"]
    assert stored["company"] == "Muster GmbH"
    _toggle(service, admins["TA"], "partner_may_see_customer_identifiers", True)
    assert service.client.get(path, headers=admins["PA"]).json()["items"][0]["display_name"] == (
        "Hans Muster"
    )
