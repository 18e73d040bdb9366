"""`switchboard tenant`: list tenants and link one to its directory for OIDC."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.cli.main import main
from switchboard.store.database import create_engine, default_url, migrate
from switchboard.store.repositories import TenantRepository


def _tenants(var: Path) -> TenantRepository:
    engine = create_engine(default_url(var))
    migrate(engine)
    return TenantRepository(engine)


def test_link_list_and_unlink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tenants = _tenants(tmp_path)
    tenants.create("Acme", id="t-acme")
    tenants.create("Other", id="t-other", directory_tenant_id="dir-other")
    assert main(["tenant", "link-directory", "t-acme", "dir-acme", "--var-dir", str(tmp_path)]) == 0
    assert tenants.get("t-acme").directory_tenant_id == "dir-acme"  # type: ignore[union-attr]
    assert main(["tenant", "list", "--var-dir", str(tmp_path)]) == 0
    assert "t-acme  Acme  directory: dir-acme" in capsys.readouterr().out
    assert main(["tenant", "link-directory", "t-acme", "none", "--var-dir", str(tmp_path)]) == 0
    assert tenants.get("t-acme").directory_tenant_id is None  # type: ignore[union-attr]


def test_refusals_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tenants = _tenants(tmp_path)
    tenants.create("Acme", id="t-acme")
    tenants.create("Other", id="t-other", directory_tenant_id="dir-other")
    with pytest.raises(SystemExit):
        main(["tenant", "link-directory", "t-acme", "dir-other", "--var-dir", str(tmp_path)])
    assert "linked to another tenant" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tenant", "link-directory", "t-nobody", "dir-x", "--var-dir", str(tmp_path)])
    assert "no tenant with id t-nobody" in capsys.readouterr().err
    assert tenants.get("t-acme").directory_tenant_id is None  # type: ignore[union-attr]
