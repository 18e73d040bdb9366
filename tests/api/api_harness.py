"""A real service on a temporary SQLite database with two tenants and their keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from switchboard.api.app import create_app
from switchboard.api.keys import issue_api_key
from switchboard.api.tenancy import Settings, Tenancy
from switchboard.engine.clock import Clock

ALL_SCOPES = [
    "config:read",
    "config:write",
    "tasks:write",
    "flows:read",
    "addressbooks:write",
    "reporting:read",
]


@dataclass
class Service:
    client: TestClient
    tenancy: Tenancy
    settings: Settings
    key_a: str
    key_b: str
    read_only_a: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key_a}"}


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        db_url=f"sqlite:///{tmp_path / 'switchboard.sqlite3'}",
        var_dir=tmp_path,
        secret_key=b"test-pepper-0123456789abcdef0123",
        mode="test",  # the voice simulator answers calls, as in every test (11 SI1)
    )


def open_tenancy(tmp_path: Path, clock: Clock | None = None) -> Tenancy:
    """A tenancy opened (migrated) on a fresh SQLite file in `tmp_path`, with no tenants."""
    tenancy = Tenancy(
        Settings(
            db_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            var_dir=tmp_path,
            secret_key=b"demo-test-pepper-0123456789abcdef",
        ),
        clock=clock,
    )
    tenancy.open()
    return tenancy


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = _settings(tmp_path)
    tenancy = Tenancy(settings)
    tenancy.open()
    tenancy.create_tenant("Tenant A", tenant_id="tenant-a")
    tenancy.create_tenant("Tenant B", tenant_id="tenant-b")
    key_a = issue_api_key(tenancy, "tenant-a", name="a", scopes=ALL_SCOPES, created_by="test")
    key_b = issue_api_key(tenancy, "tenant-b", name="b", scopes=ALL_SCOPES, created_by="test")
    read_only = issue_api_key(
        tenancy, "tenant-a", name="ro", scopes=["config:read"], created_by="test"
    )
    with TestClient(create_app(tenancy=tenancy)) as client:
        yield Service(client, tenancy, settings, key_a, key_b, read_only)
