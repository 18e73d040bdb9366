"""Partners, tenants' partners and system accounts, on SQLite and PostgreSQL (spec 01 §2–§3).

The PostgreSQL database is shared by the test session, so names are fresh per test
and nothing here assumes which partner is the default when it starts.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from switchboard.store.database import transaction
from switchboard.store.repositories import (
    AlreadyExistsError,
    InUseError,
    Partner,
    PartnerRepository,
    ReferenceNotFoundError,
    SystemAccount,
    SystemAccountRepository,
    SystemSessionRepository,
    TenantRepository,
    VersionConflictError,
)
from switchboard.store.schema import partners

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_migrating_creates_exactly_one_default_partner(migrated: Engine) -> None:
    listed = PartnerRepository(migrated).list()
    assert [p.is_default for p in listed].count(True) == 1
    default = PartnerRepository(migrated).default()
    assert default.is_default and default in listed


def test_the_database_refuses_a_second_default_partner(migrated: Engine) -> None:
    """The partial unique index is the last line: even a raw insert cannot add one."""
    with pytest.raises(IntegrityError), transaction(migrated, write=True) as connection:
        connection.execute(
            insert(partners).values(
                id=fresh("p"), name=fresh("n"), is_default=True, version=1, created_at=T0
            )
        )


def test_partners_create_get_list_and_names_are_unique(migrated: Engine) -> None:
    repository = PartnerRepository(migrated)
    name = fresh("Acme")
    acme = repository.create(name, admin_group_id="group-1", now=T0)
    assert acme == Partner(acme.id, name, "group-1", False, 1, T0)
    assert str(uuid.UUID(acme.id)) == acme.id
    assert repository.get(acme.id) == acme
    assert repository.get("nope") is None
    assert acme in repository.list()
    with pytest.raises(AlreadyExistsError, match="exists already"):
        repository.create(name)


def test_making_a_partner_the_default_takes_the_flag_from_the_previous_one(
    migrated: Engine,
) -> None:
    repository = PartnerRepository(migrated)
    before = repository.default()
    other = repository.create(fresh("Other"))
    updated = repository.update(other.id, name=other.name, admin_group_id=None, is_default=True)
    assert updated is not None and updated.is_default and updated.version == 2
    assert repository.default().id == other.id
    previous = repository.get(before.id)
    assert previous is not None and not previous.is_default
    assert previous.version == before.version + 1
    # The default cannot just give the flag up: another partner must take it.
    with pytest.raises(InUseError, match="stays the default"):
        repository.update(other.id, name=other.name, admin_group_id=None, is_default=False)
    assert repository.default().id == other.id
    # A new partner can be created as the default, too.
    third = repository.create(fresh("Third"), is_default=True)
    assert repository.default().id == third.id
    assert [p.is_default for p in repository.list()].count(True) == 1


def test_partner_updates_check_the_version_and_the_name(migrated: Engine) -> None:
    repository = PartnerRepository(migrated)
    taken = repository.create(fresh("Taken"))
    partner = repository.create(fresh("Mine"))
    with pytest.raises(VersionConflictError) as conflict:
        repository.update(
            partner.id, name="x", admin_group_id=None, is_default=False, expected_version=7
        )
    assert conflict.value.current == 1
    with pytest.raises(AlreadyExistsError):
        repository.update(partner.id, name=taken.name, admin_group_id=None, is_default=False)
    assert repository.get(partner.id) == partner  # nothing half-changed
    renamed = repository.update(
        partner.id, name=partner.name + "!", admin_group_id="g", is_default=False
    )
    assert renamed == replace(partner, name=partner.name + "!", admin_group_id="g", version=2)
    assert repository.update("nope", name="x", admin_group_id=None, is_default=False) is None


def test_tenants_join_the_default_partner_or_the_one_named(migrated: Engine) -> None:
    tenants = TenantRepository(migrated)
    partners_ = PartnerRepository(migrated)
    acme = partners_.create(fresh("Acme"))
    plain = tenants.create(fresh("Plain"))
    assert plain.partner_id == partners_.default().id
    of_acme = tenants.create(fresh("OfAcme"), partner_id=acme.id)
    assert of_acme.partner_id == acme.id
    assert tenants.list(partner_id=acme.id) == (of_acme,)
    with pytest.raises(ReferenceNotFoundError, match="no partner"):
        tenants.create(fresh("Lost"), partner_id="no-such-partner")
    moved = tenants.set_partner(plain.id, acme.id)
    assert moved == replace(plain, partner_id=acme.id)
    assert tenants.get(plain.id) == moved
    assert tenants.set_partner("no-such-tenant", acme.id) is None
    with pytest.raises(ReferenceNotFoundError):
        tenants.set_partner(plain.id, "no-such-partner")
    assert tenants.get(plain.id) == moved


def test_a_partner_in_use_or_the_default_is_not_deleted(migrated: Engine) -> None:
    repository = PartnerRepository(migrated)
    with pytest.raises(InUseError, match="default"):
        repository.delete(repository.default().id)
    acme = repository.create(fresh("Acme"))
    tenant = TenantRepository(migrated).create(fresh("T"), partner_id=acme.id)
    admin = SystemAccountRepository(migrated).create(
        fresh("pa"), "hash", role="partner_admin", partner_id=acme.id
    )
    with pytest.raises(InUseError) as in_use:
        repository.delete(acme.id)
    assert in_use.value.referrers == (f"tenant:{tenant.id}", f"system_account:{admin.username}")
    assert repository.referrers(acme.id) == in_use.value.referrers
    assert repository.get(acme.id) == acme
    empty = repository.create(fresh("Empty"))
    with pytest.raises(VersionConflictError):
        repository.delete(empty.id, expected_version=2)
    assert repository.delete(empty.id, expected_version=1)
    assert repository.get(empty.id) is None
    assert not repository.delete(empty.id)


def test_system_accounts_hold_a_system_role_and_partner_admins_a_partner(
    migrated: Engine,
) -> None:
    accounts = SystemAccountRepository(migrated)
    acme = PartnerRepository(migrated).create(fresh("Acme"))
    root_name, pa_name = fresh("root"), fresh("pa")
    root = accounts.create(root_name, "h1", role="system_admin", now=T0)
    assert root == SystemAccount(root.id, root_name, "system_admin", None, "h1", T0, 0, None, None)
    pa = accounts.create(pa_name, "h2", role="partner_admin", partner_id=acme.id)
    assert accounts.get(pa.id) == pa and accounts.by_username(pa_name) == pa
    assert {root, pa} <= set(accounts.list())
    with pytest.raises(ValueError, match="role must be one of"):
        accounts.create(fresh("x"), "h", role="tenant_admin")
    with pytest.raises(ValueError, match="names their partner"):
        accounts.create(fresh("x"), "h", role="partner_admin")
    with pytest.raises(ValueError, match="names their partner"):
        accounts.create(fresh("x"), "h", role="system_admin", partner_id=acme.id)
    with pytest.raises(AlreadyExistsError):
        accounts.create(root_name, "h", role="system_admin")
    with pytest.raises(ReferenceNotFoundError):
        accounts.create(fresh("x"), "h", role="partner_admin", partner_id="no-such-partner")


def test_system_accounts_count_failures_like_tenant_accounts(migrated: Engine) -> None:
    accounts = SystemAccountRepository(migrated)
    account = accounts.create(fresh("root"), "h", role="system_admin", now=T0)
    window = timedelta(minutes=15)
    updated: SystemAccount | None = None
    for count in range(1, 6):
        updated = accounts.record_failure(
            account.id,
            now=T0 + timedelta(minutes=count),
            window=window,
            delay_for=lambda n: timedelta(seconds=1) if n >= 5 else None,
        )
        assert updated is not None and updated.failed_count == count
    assert updated is not None
    assert updated.delay_until == T0 + timedelta(minutes=5, seconds=1)
    assert updated.is_delayed(T0 + timedelta(minutes=5))
    assert accounts.record_success(account.id)
    assert accounts.get(account.id) == replace(
        updated, failed_count=0, failed_since=None, delay_until=None
    )
    assert accounts.set_password_hash(account.id, "rehashed")
    stored = accounts.get(account.id)
    assert stored is not None and stored.password_hash == "rehashed"
    assert accounts.record_failure("nope", window=window, delay_for=lambda n: None) is None


def test_system_sessions_live_and_die_with_their_account(migrated: Engine) -> None:
    accounts = SystemAccountRepository(migrated)
    sessions = SystemSessionRepository(migrated)
    account = accounts.create(fresh("root"), "h", role="system_admin")
    first = sessions.create(
        fresh("hash"),
        account_id=account.id,
        csrf_token="c1",
        expires_at=T0 + timedelta(hours=2),
        now=T0,
    )
    second = sessions.create(
        fresh("hash"),
        account_id=account.id,
        csrf_token="c2",
        expires_at=T0 + timedelta(hours=2),
        now=T0,
    )
    assert sessions.get(first.id_hash) == first and first.is_active(T0)
    later = T0 + timedelta(minutes=5)
    assert sessions.touch(first.id_hash, now=later, expires_at=later + timedelta(hours=2))
    touched = sessions.get(first.id_hash)
    assert touched is not None and touched.last_seen_at == later
    assert sessions.revoke(first.id_hash, now=later)
    assert not sessions.revoke(first.id_hash)
    assert sessions.revoke_all(account.id) == 1
    with pytest.raises(ReferenceNotFoundError):
        sessions.create(
            fresh("hash"),
            account_id="no-such-account",
            csrf_token="c",
            expires_at=T0 + timedelta(hours=1),
        )
    assert accounts.delete(account.id)
    assert sessions.get(second.id_hash) is None
    assert not accounts.delete(account.id)
