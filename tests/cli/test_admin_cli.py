"""`switchboard admin`: accounts of system and partner administrators (01 §3, 10 §1.3)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import Engine

from switchboard.api.security.passwords import verify_password
from switchboard.cli.main import main
from switchboard.store.database import create_engine, default_url, migrate
from switchboard.store.repositories import PartnerRepository, SystemAccountRepository

PASSWORD = "copper-meadow-signal-58"


def _engine_at(var: Path) -> Engine:
    engine = create_engine(default_url(var))
    migrate(engine)
    return engine


def _run(
    monkeypatch: pytest.MonkeyPatch, var: Path, *argv: str, stdin: str = PASSWORD + "\n"
) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["admin", *argv, "--var-dir", str(var)])


def test_create_list_and_remove_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = _engine_at(tmp_path)
    acme = PartnerRepository(engine).create("Acme")
    assert (
        _run(
            monkeypatch, tmp_path, "create", " Root ", "--role", "system_admin", "--password-stdin"
        )
        == 0
    )
    assert (
        _run(
            monkeypatch,
            tmp_path,
            "create",
            "pa",
            "--role",
            "partner_admin",
            "--partner",
            acme.id,
            "--password-stdin",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "created system_admin root" in out and f"of partner {acme.id}" in out
    assert PASSWORD not in out
    accounts = SystemAccountRepository(engine)
    root = accounts.by_username("root")
    assert root is not None and root.role == "system_admin" and root.partner_id is None
    assert verify_password(root.password_hash, PASSWORD)
    pa = accounts.by_username("pa")
    assert pa is not None and pa.partner_id == acme.id

    assert _run(monkeypatch, tmp_path, "list") == 0
    listed = capsys.readouterr().out
    assert "root  system_admin" in listed and f"pa  partner_admin  partner: {acme.id}" in listed
    assert f"{acme.id}  Acme" in listed and "(default)" in listed

    assert _run(monkeypatch, tmp_path, "remove", "PA") == 0
    assert accounts.by_username("pa") is None


def test_refusals_name_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _engine_at(tmp_path)
    cases = [
        (["create", "pa", "--role", "partner_admin", "--password-stdin"], PASSWORD, "--partner"),
        (
            ["create", "sa", "--role", "system_admin", "--partner", "x", "--password-stdin"],
            PASSWORD,
            "--partner",
        ),
        (
            ["create", "pa", "--role", "partner_admin", "--partner", "nope", "--password-stdin"],
            PASSWORD,
            "no partner with id nope",
        ),
        (
            ["create", "root", "--role", "system_admin", "--password-stdin"],
            "short",
            "fewer than 12 characters",
        ),
        (["create", "root", "--role", "system_admin"], PASSWORD, "--password-stdin"),
        (["remove", "nobody"], PASSWORD, "no system account named nobody"),
    ]
    for argv, stdin, message in cases:
        with pytest.raises(SystemExit):
            _run(monkeypatch, tmp_path, *argv, stdin=stdin)
        assert message in capsys.readouterr().err, argv
    assert (
        _run(monkeypatch, tmp_path, "create", "root", "--role", "system_admin", "--password-stdin")
        == 0
    )
    with pytest.raises(SystemExit):
        _run(monkeypatch, tmp_path, "create", "ROOT", "--role", "system_admin", "--password-stdin")
    assert "taken" in capsys.readouterr().err
