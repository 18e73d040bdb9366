"""Repositories on SQLite and PostgreSQL: behaviour, errors and tenant isolation (spec 10 TI1)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from switchboard.store.repositories import (
    Account,
    AccountRepository,
    AlreadyExistsError,
    ApiKey,
    ApiKeyRepository,
    PartnerRepository,
    ReferenceNotFoundError,
    Tenant,
    TenantRepository,
    WebSession,
    WebSessionRepository,
)

T0 = datetime(2026, 1, 1, 9, 30, 15, 123456, tzinfo=UTC)
YEAR = timedelta(days=365)

NewTenant = Callable[[str], Tenant]


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------- tenants


def test_tenants_create_get_and_look_up(migrated: Engine) -> None:
    repository = TenantRepository(migrated)
    directory_id = str(uuid.uuid4())
    acme = repository.create("Acme", directory_tenant_id=directory_id, now=T0)
    plain = repository.create("Plain", now=T0 + timedelta(seconds=1))
    default = PartnerRepository(migrated).default().id
    assert acme == Tenant(acme.id, "Acme", directory_id, T0, default)
    assert str(uuid.UUID(acme.id)) == acme.id  # random UUIDs by default
    assert repository.get(acme.id) == acme
    assert repository.get(plain.id) == plain
    assert repository.get("nope") is None
    assert repository.by_directory_tenant_id(directory_id) == acme
    assert repository.by_directory_tenant_id(str(uuid.uuid4())) is None
    listed = repository.list()
    assert [t for t in listed if t.id in (acme.id, plain.id)] == [acme, plain]


def test_tenant_ids_and_directory_ids_are_unique(migrated: Engine) -> None:
    repository = TenantRepository(migrated)
    directory_id = str(uuid.uuid4())
    first = repository.create("First", directory_tenant_id=directory_id)
    with pytest.raises(AlreadyExistsError):
        repository.create("Second", directory_tenant_id=directory_id)
    with pytest.raises(AlreadyExistsError):
        repository.create("Again", id=first.id)
    # several tenants without a directory tenant id are fine
    repository.create("No directory 1")
    repository.create("No directory 2")


def test_timestamps_are_aware_utc_and_naive_ones_are_refused(migrated: Engine) -> None:
    repository = TenantRepository(migrated)
    cet = timezone(timedelta(hours=1))
    created = repository.create("Zoned", now=T0.astimezone(cet))
    stored = repository.get(created.id)
    assert stored is not None
    assert stored.created_at == T0 and stored.created_at.tzinfo is UTC
    assert created.created_at.tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        repository.create("Naive", now=datetime(2026, 1, 1))
    default = repository.create("Now")
    assert abs(datetime.now(UTC) - default.created_at) < timedelta(minutes=1)


def test_repositories_need_a_tenant(migrated: Engine) -> None:
    for cls in (ApiKeyRepository, AccountRepository, WebSessionRepository):
        with pytest.raises(ValueError, match="tenant id"):
            cls(migrated, "")


# ---------------------------------------------------------------------- API keys


def insert_key(repository: ApiKeyRepository, **fields: object) -> ApiKey:
    values: dict[str, object] = {
        "name": "Reporting",
        "scopes": ["reporting:read", "config:read"],
        "secret_hmac": "ab" * 32,
        "created_by": "u-admin",
        "expires_at": T0 + YEAR,
        "now": T0,
    }
    values.update(fields)
    key_id = str(values.pop("key_id", unique("k")))
    return repository.insert(key_id, **values)  # type: ignore[arg-type]


def test_api_keys_insert_get_list(migrated: Engine, new_tenant: NewTenant) -> None:
    repository = ApiKeyRepository(migrated, new_tenant("A").id)
    key = insert_key(repository, key_id=unique("k"))
    assert key.tenant_id == repository.tenant_id
    assert key.scopes == ("reporting:read", "config:read")
    assert (key.ou_id, key.service_ids, key.last_used_at, key.revoked_at) == (None,) * 4
    assert repository.get(key.key_id) == key
    ou_key = insert_key(repository, ou_id="ou-1", now=T0 + timedelta(seconds=1))
    service_key = insert_key(
        repository, service_ids=("s-1", "s-2"), scopes=(), now=T0 + timedelta(seconds=2)
    )
    assert repository.get(ou_key.key_id) == ou_key
    assert repository.get(service_key.key_id) == service_key
    assert service_key.service_ids == ("s-1", "s-2") and service_key.scopes == ()
    assert repository.list() == (key, ou_key, service_key)
    assert repository.get("missing") is None
    assert key.is_usable(T0) and not key.is_usable(T0 + YEAR)


def test_api_key_fields_are_validated(migrated: Engine, new_tenant: NewTenant) -> None:
    repository = ApiKeyRepository(migrated, new_tenant("A").id)
    with pytest.raises(ValueError, match="not both"):
        insert_key(repository, ou_id="ou-1", service_ids=["s-1"])
    with pytest.raises(TypeError, match="collection of strings"):
        insert_key(repository, scopes="reporting:read")
    with pytest.raises(TypeError, match="hold strings"):
        insert_key(repository, service_ids=[1])
    with pytest.raises(ValueError, match="naive"):
        insert_key(repository, expires_at=datetime(2027, 1, 1))
    assert repository.list() == ()


def test_api_key_ids_are_unique_and_the_tenant_must_exist(
    migrated: Engine, new_tenant: NewTenant
) -> None:
    repository = ApiKeyRepository(migrated, new_tenant("A").id)
    key = insert_key(repository)
    with pytest.raises(AlreadyExistsError):
        insert_key(repository, key_id=key.key_id)
    with pytest.raises(ReferenceNotFoundError, match="does not exist"):
        insert_key(ApiKeyRepository(migrated, unique("ghost-")))


def test_api_keys_revoke_and_touch(migrated: Engine, new_tenant: NewTenant) -> None:
    repository = ApiKeyRepository(migrated, new_tenant("A").id)
    key = insert_key(repository)
    other = insert_key(repository, now=T0 + timedelta(seconds=1))
    used = T0 + timedelta(hours=1)
    assert repository.touch(key.key_id, now=used)
    assert repository.get(key.key_id) == replace(key, last_used_at=used)
    # throttled: a touch within min_interval of the last one writes nothing
    later = used + timedelta(seconds=30)
    assert not repository.touch(key.key_id, now=later, min_interval=timedelta(minutes=1))
    assert repository.touch(key.key_id, now=later, min_interval=timedelta(seconds=10))
    revoked_at = T0 + timedelta(days=2)
    assert repository.revoke(key.key_id, now=revoked_at)
    assert not repository.revoke(key.key_id, now=revoked_at + timedelta(days=1))
    assert not repository.touch(key.key_id, now=revoked_at + timedelta(days=1))
    stored = repository.get(key.key_id)
    assert stored == replace(key, last_used_at=later, revoked_at=revoked_at)
    assert not stored.is_usable(T0)
    assert repository.list(include_revoked=False) == (other,)
    assert [k.key_id for k in repository.list()] == [key.key_id, other.key_id]


def test_api_keys_are_isolated_between_tenants(migrated: Engine, new_tenant: NewTenant) -> None:
    a, b = new_tenant("A"), new_tenant("B")
    keys_a, keys_b = ApiKeyRepository(migrated, a.id), ApiKeyRepository(migrated, b.id)
    key_a = insert_key(keys_a)
    key_b = insert_key(keys_b)
    assert keys_b.get(key_a.key_id) is None
    assert keys_b.list() == (key_b,)
    assert keys_a.list() == (key_a,)
    assert not keys_b.revoke(key_a.key_id)
    assert not keys_b.touch(key_a.key_id)
    assert keys_a.get(key_a.key_id) == key_a  # untouched by B
    # the system-level lookup says whose key it is (the first step of authentication)
    tenants = TenantRepository(migrated)
    assert tenants.tenant_id_for_api_key(key_a.key_id) == a.id
    assert tenants.tenant_id_for_api_key(key_b.key_id) == b.id
    assert tenants.tenant_id_for_api_key("missing") is None


# ---------------------------------------------------------------------- accounts


def failures_delay(count: int) -> timedelta | None:
    """Spec 10 L3 as a test policy: from the 5th failure 1 s, doubling, at most 15 min."""
    if count < 5:
        return None
    return min(timedelta(seconds=2 ** (count - 5)), timedelta(minutes=15))


WINDOW = timedelta(minutes=15)


def test_accounts_create_and_find(migrated: Engine, new_tenant: NewTenant) -> None:
    repository = AccountRepository(migrated, new_tenant("A").id)
    account = repository.create("alice", "$argon2id$hash", user_id="u-1", now=T0)
    assert account == Account(
        account.id, repository.tenant_id, "u-1", "alice", "$argon2id$hash", T0, 0, None, None
    )
    assert repository.get(account.id) == account
    assert repository.by_username("alice") == account
    assert repository.by_username("Alice") is None  # stored as given; callers normalise
    assert repository.get("missing") is None


def test_usernames_are_unique_per_tenant(migrated: Engine, new_tenant: NewTenant) -> None:
    a = AccountRepository(migrated, new_tenant("A").id)
    b = AccountRepository(migrated, new_tenant("B").id)
    a.create("alice", "h1", user_id="u-1")
    with pytest.raises(AlreadyExistsError, match="alice"):
        a.create("alice", "h2", user_id="u-2")
    in_b = b.create("alice", "h3", user_id="u-9")  # another tenant may use the name
    assert b.by_username("alice") == in_b
    with pytest.raises(ReferenceNotFoundError):
        AccountRepository(migrated, unique("ghost-")).create("x", "h", user_id="u")


def test_accounts_count_failures_in_a_window_and_delay(
    migrated: Engine, new_tenant: NewTenant
) -> None:
    repository = AccountRepository(migrated, new_tenant("A").id)
    account = repository.create("alice", "h", user_id="u-1", now=T0)
    now = T0
    for count in range(1, 5):
        now = T0 + timedelta(minutes=count)
        updated = repository.record_failure(
            account.id, now=now, window=WINDOW, delay_for=failures_delay
        )
        assert updated is not None
        assert (updated.failed_count, updated.failed_since, updated.delay_until) == (
            count,
            T0 + timedelta(minutes=1),
            None,
        )
    fifth = repository.record_failure(
        account.id, now=now + timedelta(seconds=1), window=WINDOW, delay_for=failures_delay
    )
    assert fifth is not None and fifth.failed_count == 5
    assert fifth.delay_until == now + timedelta(seconds=2)
    assert fifth.is_delayed(now + timedelta(seconds=1)) and not fifth.is_delayed(fifth.delay_until)
    assert repository.get(account.id) == fifth
    # a failure after the window starts a new count
    fresh = repository.record_failure(
        account.id, now=T0 + timedelta(hours=1), window=WINDOW, delay_for=failures_delay
    )
    assert fresh is not None
    assert (fresh.failed_count, fresh.failed_since, fresh.delay_until) == (
        1,
        T0 + timedelta(hours=1),
        None,
    )
    assert repository.record_success(account.id)
    assert repository.get(account.id) == replace(
        fresh, failed_count=0, failed_since=None, delay_until=None
    )
    assert repository.set_password_hash(account.id, "rehashed")
    stored = repository.get(account.id)
    assert stored is not None and stored.password_hash == "rehashed"


def test_accounts_are_isolated_between_tenants(migrated: Engine, new_tenant: NewTenant) -> None:
    a = AccountRepository(migrated, new_tenant("A").id)
    b = AccountRepository(migrated, new_tenant("B").id)
    alice = a.create("alice", "h", user_id="u-1", now=T0)
    assert b.get(alice.id) is None
    assert b.by_username("alice") is None
    failure = b.record_failure(alice.id, now=T0, window=WINDOW, delay_for=lambda _: YEAR)
    assert failure is None
    assert not b.record_success(alice.id)
    assert not b.set_password_hash(alice.id, "stolen")
    assert a.get(alice.id) == alice  # untouched by B


# ---------------------------------------------------------------------- web sessions


def create_session(
    repository: WebSessionRepository, account_id: str, *, now: datetime = T0
) -> WebSession:
    return repository.create(
        unique("h"),
        account_id=account_id,
        csrf_token=unique("csrf"),
        expires_at=now + timedelta(hours=2),
        now=now,
    )


def test_web_sessions_create_get_touch_revoke(migrated: Engine, new_tenant: NewTenant) -> None:
    tenant_id = new_tenant("A").id
    account = AccountRepository(migrated, tenant_id).create("alice", "h", user_id="u-1")
    repository = WebSessionRepository(migrated, tenant_id)
    session = create_session(repository, account.id)
    assert session.created_at == session.last_seen_at == T0
    assert repository.get(session.id_hash) == session
    assert session.is_active(T0) and not session.is_active(T0 + timedelta(hours=2))
    seen = T0 + timedelta(minutes=5)
    assert repository.touch(session.id_hash, now=seen)
    assert repository.get(session.id_hash) == replace(session, last_seen_at=seen)
    extended = seen + timedelta(hours=2)
    assert repository.touch(session.id_hash, now=seen, expires_at=extended)
    assert repository.revoke(session.id_hash, now=seen)
    assert not repository.revoke(session.id_hash, now=seen)
    assert not repository.touch(session.id_hash, now=extended)  # revoked: no more activity
    stored = repository.get(session.id_hash)
    assert stored == replace(session, last_seen_at=seen, expires_at=extended, revoked_at=seen)
    assert not stored.is_active(seen)
    assert repository.get("missing") is None
    with pytest.raises(AlreadyExistsError):
        repository.create(
            session.id_hash, account_id=account.id, csrf_token="c", expires_at=extended
        )


def test_revoke_all_sessions_of_an_account(migrated: Engine, new_tenant: NewTenant) -> None:
    tenant_id = new_tenant("A").id
    accounts = AccountRepository(migrated, tenant_id)
    alice = accounts.create("alice", "h", user_id="u-1")
    bob = accounts.create("bob", "h", user_id="u-2")
    repository = WebSessionRepository(migrated, tenant_id)
    alice_sessions = [create_session(repository, alice.id) for _ in range(3)]
    bob_session = create_session(repository, bob.id)
    assert repository.revoke(alice_sessions[0].id_hash, now=T0)
    assert repository.revoke_all(alice.id, now=T0) == 2
    assert repository.revoke_all(alice.id, now=T0) == 0
    assert all(repository.get(s.id_hash).revoked_at == T0 for s in alice_sessions)  # type: ignore[union-attr]
    assert repository.get(bob_session.id_hash) == bob_session


def test_a_session_needs_an_account_of_its_own_tenant(
    migrated: Engine, new_tenant: NewTenant
) -> None:
    a, b = new_tenant("A"), new_tenant("B")
    alice = AccountRepository(migrated, a.id).create("alice", "h", user_id="u-1")
    with pytest.raises(ReferenceNotFoundError, match="no account"):
        create_session(WebSessionRepository(migrated, b.id), alice.id)
    with pytest.raises(ReferenceNotFoundError):
        create_session(WebSessionRepository(migrated, a.id), "missing-account")


def test_web_sessions_are_isolated_between_tenants(migrated: Engine, new_tenant: NewTenant) -> None:
    a, b = new_tenant("A"), new_tenant("B")
    alice = AccountRepository(migrated, a.id).create("alice", "h", user_id="u-1")
    sessions_a = WebSessionRepository(migrated, a.id)
    sessions_b = WebSessionRepository(migrated, b.id)
    session = create_session(sessions_a, alice.id)
    assert sessions_b.get(session.id_hash) is None
    assert not sessions_b.touch(session.id_hash, now=T0 + YEAR, expires_at=T0 + YEAR)
    assert not sessions_b.revoke(session.id_hash)
    assert sessions_b.revoke_all(alice.id) == 0
    assert sessions_a.get(session.id_hash) == session  # untouched by B
    tenants = TenantRepository(migrated)
    assert tenants.tenant_id_for_web_session(session.id_hash) == a.id
    assert tenants.tenant_id_for_web_session("missing") is None


def test_tenant_b_never_sees_tenant_a(migrated: Engine, new_tenant: NewTenant) -> None:
    """Everything of A seeded, then every read of B's repositories: none of A's rows."""
    a, b = new_tenant("A"), new_tenant("B")
    alice = AccountRepository(migrated, a.id).create("alice", "h", user_id="u-1")
    session = create_session(WebSessionRepository(migrated, a.id), alice.id)
    key = insert_key(ApiKeyRepository(migrated, a.id))

    keys_b = ApiKeyRepository(migrated, b.id)
    accounts_b = AccountRepository(migrated, b.id)
    sessions_b = WebSessionRepository(migrated, b.id)
    seen = [
        keys_b.get(key.key_id),
        *keys_b.list(),
        *keys_b.list(include_revoked=False),
        accounts_b.get(alice.id),
        accounts_b.by_username(alice.username),
        sessions_b.get(session.id_hash),
    ]
    assert [row for row in seen if row is not None] == []
