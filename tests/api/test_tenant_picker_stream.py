"""The live stream of a system session that chose its tenant in the web UI's picker (the
cookie, no header — what a browser's `EventSource` sends): the chosen tenant's events,
masked (10 PV2), and the end of the stream once that tenant leaves the partner (10 R3)."""

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


def test_a_stream_follows_the_pickers_choice_and_ends_out_of_reach(server: LiveServer) -> None:
    partners = PartnerRepository(server.tenancy.db)
    partner = partners.create("Partner A")
    for tenant_id in ("tenant-a", "tenant-b"):
        server.tenancy.tenants.set_partner(tenant_id, partner.id)
    SystemAccountRepository(server.tenancy.db).create(
        "pa", hash_password(PASSWORD), role="partner_admin", partner_id=partner.id
    )
    with httpx.Client(base_url=server.base) as browser:
        signed = browser.post(
            "/api/v1/auth/system/sign-in", json={"username": "pa", "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        chosen = browser.put(
            "/api/v1/auth/system/tenant",
            json={"tenant_id": "tenant-a"},
            headers={"X-CSRF-Token": signed.json()["csrf_token"], "Origin": server.base},
        )
        assert chosen.status_code == 200, chosen.text
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    assert "sb_tenant=tenant-a" in cookie
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
        f"{server.ws}/api/v1/events/ws",
        additional_headers={"Cookie": cookie},
        origin=Origin(server.base),
    ) as socket_:
        assert json.loads(socket_.recv(timeout=5))["type"] == "ready"
        server.call("POST", "/api/v1/tasks", {"service_id": service["id"], "caller": "+4144555"})
        seq = server.tenancy.hosts["tenant-a"].engine.state.seq
        received = ws_read(socket_, seq)
        created = next(m for m in received if m.get("event") == "task.created")
        assert created["data"]["caller"] == MASK
        assert "+4144555" not in json.dumps(received)
        # Tenant A leaves the partner: the stream ends, although tenant B is still in reach.
        server.tenancy.tenants.set_partner("tenant-a", partners.default().id)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                socket_.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4404, "tenant_not_found")
