"""The demo tenant: valid, complete as the issue lists it, idempotent, with a working key."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_harness import open_tenancy
from fastapi.testclient import TestClient

from switchboard.api.app import create_app
from switchboard.api.demo import DEMO_KEY_ENV, DEMO_TENANT_ID, ensure_demo
from switchboard.api.security.api_keys import generate_api_key
from switchboard.domain.enums import AssignmentType, Modality


def test_demo_tenant_has_what_the_demo_promises(tmp_path: Path) -> None:
    tenancy = open_tenancy(tmp_path)
    info = ensure_demo(tenancy)
    state = tenancy.hosts[DEMO_TENANT_ID].engine.state
    assert len([o for o in state.ous.values() if o.parent_id == "root"]) == 2
    kinds = {s.user_assignment_type for s in state.services.values()}
    assert kinds == {AssignmentType.TEAMS_BASED, AssignmentType.SKILL_BASED, AssignmentType.NONE}
    assert any(Modality.CHAT in s.enabled_modalities for s in state.services.values())
    support = state.services[info.service_ids["support"]]
    assert support.distribution_policy_id is not None
    assert len(state.policies[support.distribution_policy_id].levels) == 3
    agents = [u for u in state.users.values() if u.memberships]
    assert len(agents) == 12
    assert all(u.skills for u in agents)
    assert state.parameters and state.codes and state.not_available_reasons


def test_demo_is_created_once_and_a_key_is_always_handed_out(tmp_path: Path) -> None:
    tenancy = open_tenancy(tmp_path)
    first = ensure_demo(tenancy)
    seq = tenancy.hosts[DEMO_TENANT_ID].engine.state.seq
    again = ensure_demo(tenancy)
    assert tenancy.hosts[DEMO_TENANT_ID].engine.state.seq == seq  # nothing seeded twice
    assert first.api_key != again.api_key  # a fresh key when none is pinned
    with TestClient(create_app(tenancy=tenancy)) as client:
        for key in (first.api_key, again.api_key):
            listed = client.get("/api/v1/services", headers={"X-API-Key": key})
            assert listed.status_code == 200 and listed.json()["total"] == 4


def test_pinned_demo_key_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pinned, _, _ = generate_api_key()
    monkeypatch.setenv(DEMO_KEY_ENV, pinned)
    tenancy = open_tenancy(tmp_path)
    assert ensure_demo(tenancy).api_key == pinned
    assert ensure_demo(tenancy).api_key == pinned  # second start: same key, no duplicate


def test_a_malformed_pinned_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEMO_KEY_ENV, "not-a-key")
    with pytest.raises(ValueError, match=DEMO_KEY_ENV):
        ensure_demo(open_tenancy(tmp_path))


def test_demo_logins_sign_in_with_their_roles(tmp_path: Path) -> None:
    tenancy = open_tenancy(tmp_path)
    info = ensure_demo(tenancy)
    assert {"admin", "supervisor", "anna"} <= set(info.logins)
    with TestClient(create_app(tenancy=tenancy)) as client:
        seen = {}
        for login in ("admin", "supervisor", "lena", "anna"):
            client.cookies.clear()
            signed = client.post(
                "/api/v1/auth/sign-in", json={"username": login, "password": info.password}
            )
            assert signed.status_code == 200, signed.text
            me = client.get("/api/v1/auth/me").json()
            seen[login] = {cap for cap, modes in me["may"].items() if "write" in modes}
        assert "users" in seen["admin"] and "api_keys" in seen["admin"]
        assert "user_duty" in seen["supervisor"] and "users" not in seen["supervisor"]
        assert "service_config" in seen["lena"]  # owner of Sales
        assert "service_config" not in seen["anna"]
        wrong = client.post(
            "/api/v1/auth/sign-in", json={"username": "anna", "password": "not the password"}
        )
        assert wrong.status_code == 401
