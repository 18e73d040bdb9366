"""The live stream of a partner admin: masked like its REST answers (10 PV2), and ended
once the tenant it selected is no longer its partner's (10 R3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sign_in_harness import PASSWORD
from stream_harness import LiveServer, live_server, quick_keepalives, ws_read
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from switchboard.api import event_feed
from switchboard.api.masking import MASK
from switchboard.api.security.passwords import hash_password
from switchboard.store.repositories import PartnerRepository, SystemAccountRepository


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    quick_keepalives(monkeypatch)
    monkeypatch.setattr(event_feed, "REAUTH_S", 0.3)
    with live_server(tmp_path) as running:
        yield running


def test_a_partner_admins_stream_is_masked_and_ends_when_the_tenant_moves(
    server: LiveServer,
) -> None:
    partners = PartnerRepository(server.tenancy.db)
    partner = partners.create("Partner A")
    server.tenancy.tenants.set_partner("tenant-a", partner.id)
    SystemAccountRepository(server.tenancy.db).create(
        "pa", hash_password(PASSWORD), role="partner_admin", partner_id=partner.id
    )
    signed = httpx.post(
        f"{server.base}/api/v1/auth/system/sign-in",
        json={"username": "pa", "password": PASSWORD},
    )
    assert signed.status_code == 200, signed.text
    headers = {
        "Cookie": f"sb_session={signed.cookies['sb_session']}",
        "X-Switchboard-Tenant": "tenant-a",
    }
    service = server.call(
        "POST",
        "/api/v1/services",
        {
            "name": "Support",
            "upn": "support@acme.test",
            "user_assignment_type": "teams_based",
            "enabled_modalities": ["external_task"],
        },
    )
    with connect(
        f"{server.ws}/api/v1/events/ws", additional_headers=headers, origin=Origin(server.base)
    ) as socket_:
        assert json.loads(socket_.recv(timeout=5))["type"] == "ready"
        server.call(
            "POST",
            "/api/v1/tasks",
            {"service_id": service["id"], "caller": "+41445550101", "customer_identifier": "C"},
        )
        seq = server.tenancy.hosts["tenant-a"].engine.state.seq
        received = ws_read(socket_, seq)
        created = next(m for m in received if m.get("event") == "task.created")
        assert (created["data"]["caller"], created["data"]["customer_identifier"]) == (MASK, MASK)
        assert "+41445550101" not in json.dumps(received)

        server.tenancy.tenants.set_partner("tenant-a", partners.default().id)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                socket_.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4404, "tenant_not_found")
