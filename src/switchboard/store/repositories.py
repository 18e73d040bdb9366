"""Repositories of the store: partners, tenants, API keys, local accounts and web sessions.

System level. `PartnerRepository`, `TenantRepository`, `SystemAccountRepository`
and `SystemSessionRepository` hold what lies above the tenants (spec 01 §2–§3):
partners, the tenant records with their partner, and the local accounts and
sessions of system and partner administrators. They are bound to no tenant.

Tenant isolation (spec 10 TI1). Every other repository is bound
to one tenant when it is constructed — from the authenticated principal, never
from request data — and every query it runs filters by that tenant (and runs
in a transaction carrying the PostgreSQL row-level-security context). Asking
for another tenant's row by its id answers `None` / `False`, exactly like a
missing id (TI3). `TenantRepository` is system-level: it manages the tenant
records and answers the few questions asked before a tenant is known (which
tenant a directory tenant id, an API key id or a session belongs to); its
callers then bind a tenant repository to the answer.

No cryptography here. Password hashes, the HMAC of API-key secrets, hashes of
session tokens and CSRF tokens are computed (and compared) by the caller; the
repositories store what they are given. Policies (how long a delay after
failed sign-ins, session lifetimes) are the caller's too, passed in as values.

Results are small frozen dataclasses; timestamps are aware UTC `datetime`s
(naive ones are refused). `now` defaults to the system clock; pass it to use
another clock. Ids default to random UUIDs (TI3).

Errors: `AlreadyExistsError` when a unique key is taken (a tenant id, a
directory tenant id, a username in the tenant, an API key id, a session id
hash), `ReferenceNotFoundError` when a referenced row does not exist in the
repository's tenant (the tenant itself, a session's account).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from switchboard.store.database import integrity_kind, transaction
from switchboard.store.schema import (
    accounts,
    api_keys,
    partners,
    system_accounts,
    system_sessions,
    tenants,
    web_sessions,
)

__all__ = [
    "Account",
    "AccountRepository",
    "AlreadyExistsError",
    "ApiKey",
    "ApiKeyRepository",
    "InUseError",
    "Partner",
    "PartnerRepository",
    "ReferenceNotFoundError",
    "RepositoryError",
    "SystemAccount",
    "SystemAccountRepository",
    "SystemSession",
    "SystemSessionRepository",
    "Tenant",
    "TenantRepository",
    "VersionConflictError",
    "WebSession",
    "WebSessionRepository",
    "new_id",
]


class RepositoryError(RuntimeError):
    """A repository refused a write."""


class AlreadyExistsError(RepositoryError):
    """The row's unique key (id, username, ...) is taken already."""


class ReferenceNotFoundError(RepositoryError):
    """A row the new row refers to (its tenant, its account) does not exist in the tenant."""


class InUseError(RepositoryError):
    """A delete refused because other rows refer to the row (`referrers` names them)."""

    def __init__(self, message: str, referrers: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.referrers = referrers


class VersionConflictError(RepositoryError):
    """An update expected another version of the row (`current` is the stored one)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the row is at version {current}")
        self.current = current


def new_id() -> str:
    """A random UUID (spec 10 TI3: ids are not guessable)."""
    return str(uuid.uuid4())


def _utc(value: datetime | None, what: str = "now") -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, not the naive {value!r}")
    return value.astimezone(UTC)


def _strings(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a collection of strings, not the string {values!r}")
    result = tuple(values)
    for value in result:
        if not isinstance(value, str):
            raise TypeError(f"{what} must hold strings, not {value!r}")
    return result


@contextmanager
def _refusals(unique: str, foreign_key: str) -> Iterator[None]:
    """Turn a broken unique or foreign key into the repository's errors."""
    try:
        yield
    except IntegrityError as exc:
        kind = integrity_kind(exc)
        if kind == "unique":
            raise AlreadyExistsError(unique) from exc
        if kind == "foreign_key":
            raise ReferenceNotFoundError(foreign_key) from exc
        raise


# ---------------------------------------------------------------------- records

_R = TypeVar("_R")
_A = TypeVar("_A")


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner (spec 01 §2): a system-level record above its tenants."""

    id: str
    name: str
    admin_group_id: str | None
    is_default: bool
    version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    directory_tenant_id: str | None
    created_at: datetime
    partner_id: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's record (spec 10 K1–K2): its id and the HMAC of its secret."""

    key_id: str
    tenant_id: str
    name: str
    scopes: tuple[str, ...]
    ou_id: str | None
    #: None: not restricted to services
    service_ids: tuple[str, ...] | None
    secret_hmac: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def is_usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at `now` (the secret is the caller's to check)."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class Account:
    """A local account (spec 10 §1.3) of a user."""

    id: str
    tenant_id: str
    user_id: str
    username: str
    password_hash: str
    created_at: datetime
    #: failed sign-ins since `failed_since` (the current counting window)
    failed_count: int
    failed_since: datetime | None
    #: sign-in attempts are refused until then (spec 10 L3)
    delay_until: datetime | None

    def is_delayed(self, now: datetime) -> bool:
        return self.delay_until is not None and now < self.delay_until


@dataclass(frozen=True, slots=True)
class WebSession:
    """A server-side browser session (spec 10 B2), keyed by the hash of its token."""

    id_hash: str
    tenant_id: str
    account_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        """Neither revoked nor expired at `now`."""
        return self.revoked_at is None and now < self.expires_at


def _record(cls: type[_R], row: RowMapping | dict[str, Any]) -> _R:
    return cls(**dict(row))


def _api_key(row: RowMapping) -> ApiKey:
    values = dict(row)
    values["scopes"] = tuple(values["scopes"])
    if values["service_ids"] is not None:
        values["service_ids"] = tuple(values["service_ids"])
    return ApiKey(**values)


# ---------------------------------------------------------------------- tenants


class TenantRepository:
    """The tenant records: system-level, not bound to a tenant."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        *,
        id: str | None = None,
        directory_tenant_id: str | None = None,
        partner_id: str | None = None,
        now: datetime | None = None,
    ) -> Tenant:
        """A new tenant of `partner_id` (None: the default partner, 01 §2)."""
        created_at = _utc(now)
        with (
            _refusals(
                f"a tenant with id {id!r} or directory tenant id "
                f"{directory_tenant_id!r} exists already",
                f"there is no partner {partner_id!r}",
            ),
            transaction(self.engine, write=True) as connection,
        ):
            if partner_id is None:
                partner_id = _default_partner_id(connection)
            tenant = Tenant(
                id=id if id is not None else new_id(),
                name=name,
                directory_tenant_id=directory_tenant_id,
                created_at=created_at,
                partner_id=partner_id,
            )
            connection.execute(insert(tenants).values(dataclasses.asdict(tenant)))
        return tenant

    def set_partner(self, tenant_id: str, partner_id: str) -> Tenant | None:
        """Move a tenant to another partner; None if no such tenant.
        Raises `ReferenceNotFoundError` if there is no such partner."""
        statement = update(tenants).where(tenants.c.id == tenant_id).values(partner_id=partner_id)
        with (
            _refusals("a tenant is unique", f"there is no partner {partner_id!r}"),
            transaction(self.engine, write=True) as connection,
        ):
            if connection.execute(statement).rowcount != 1:
                return None
            row = connection.execute(select(tenants).where(tenants.c.id == tenant_id)).mappings()
            return _record(Tenant, row.one())

    def get(self, tenant_id: str) -> Tenant | None:
        return self._one(tenants.c.id == tenant_id)

    def set_directory_tenant_id(self, tenant_id: str, directory_tenant_id: str | None) -> bool:
        """Link a tenant to a directory tenant (or unlink with None); False if no such
        tenant. Raises `AlreadyExistsError` if another tenant holds that directory."""
        statement = (
            update(tenants)
            .where(tenants.c.id == tenant_id)
            .values(directory_tenant_id=directory_tenant_id)
        )
        with (
            _refusals(
                f"another tenant is linked to directory tenant {directory_tenant_id!r}",
                "a tenant refers to a missing row",
            ),
            transaction(self.engine, write=True) as connection,
        ):
            return connection.execute(statement).rowcount == 1

    def by_directory_tenant_id(self, directory_tenant_id: str) -> Tenant | None:
        """The tenant of an Entra ID (or other directory) tenant id (spec 10 A4)."""
        return self._one(tenants.c.directory_tenant_id == directory_tenant_id)

    def list(self, *, partner_id: str | None = None) -> tuple[Tenant, ...]:
        """Every tenant (or every tenant of `partner_id`), oldest first."""
        query = select(tenants).order_by(tenants.c.created_at, tenants.c.id)
        if partner_id is not None:
            query = query.where(tenants.c.partner_id == partner_id)
        with transaction(self.engine) as connection:
            return tuple(_record(Tenant, row) for row in connection.execute(query).mappings())

    def tenant_id_for_api_key(self, key_id: str) -> str | None:
        """Which tenant an API key id belongs to: the first step of authenticating a key.

        Answers only the tenant id; the caller then checks the key with an
        `ApiKeyRepository` bound to that tenant.
        """
        query = select(api_keys.c.tenant_id).where(api_keys.c.key_id == key_id)
        with transaction(self.engine) as connection:
            return connection.execute(query).scalar_one_or_none()

    def tenant_id_for_web_session(self, id_hash: str) -> str | None:
        """Which tenant a session (by its token's hash) belongs to; as `tenant_id_for_api_key`."""
        query = select(web_sessions.c.tenant_id).where(web_sessions.c.id_hash == id_hash)
        with transaction(self.engine) as connection:
            return connection.execute(query).scalar_one_or_none()

    def tenant_ids_for_username(self, username: str) -> tuple[str, ...]:
        """The tenants with a local account of this (normalised) username, for sign-in
        without a tenant named: usernames are unique per tenant, not system-wide."""
        query = select(accounts.c.tenant_id).where(accounts.c.username == username)
        with transaction(self.engine) as connection:
            return tuple(connection.execute(query).scalars())

    def _one(self, condition: Any) -> Tenant | None:
        with transaction(self.engine) as connection:
            row = connection.execute(select(tenants).where(condition)).mappings().one_or_none()
        return None if row is None else _record(Tenant, row)


def _default_partner_id(connection: Connection) -> str:
    found: str | None = connection.execute(
        select(partners.c.id).where(partners.c.is_default.is_(True))
    ).scalar_one_or_none()
    if found is None:  # the migration creates it and nothing removes it
        raise RuntimeError("the database has no default partner; was it migrated?")
    return found


def _count_failure(
    connection: Connection,
    table: Any,
    condition: Any,
    window: timedelta,
    delay_for: Callable[[int], timedelta | None],
    at: datetime,
) -> dict[str, Any] | None:
    """Count a failed sign-in of the account row `condition` selects (locked) and set its
    delay; the updated row, None if there is none. See `AccountRepository.record_failure`."""
    row = connection.execute(select(table).where(condition).with_for_update()).mappings()
    found = row.one_or_none()
    if found is None:
        return None
    since = found["failed_since"]
    if since is None or at - since > window:
        count, since = 1, at
    else:
        count = found["failed_count"] + 1
    pause = delay_for(count)
    delay_until = at + pause if pause is not None and pause > timedelta(0) else None
    values = {"failed_count": count, "failed_since": since, "delay_until": delay_until}
    connection.execute(update(table).where(condition).values(values))
    return {**found, **values}


# ---------------------------------------------------------------------- partners


class PartnerRepository:
    """The partners (spec 01 §2): system-level, not bound to a tenant.

    Exactly one partner is the default one, which new tenants join unless told
    otherwise: making a partner the default takes the flag from the previous
    one in the same transaction, and the default partner can neither give up
    the flag nor be deleted (`InUseError`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        *,
        admin_group_id: str | None = None,
        is_default: bool = False,
        id: str | None = None,
        now: datetime | None = None,
    ) -> Partner:
        partner = Partner(
            id=id if id is not None else new_id(),
            name=name,
            admin_group_id=admin_group_id,
            is_default=is_default,
            version=1,
            created_at=_utc(now),
        )
        with (
            _refusals(
                f"a partner named {name!r} (or with id {partner.id!r}) exists already",
                "a partner refers to a missing row",
            ),
            transaction(self.engine, write=True) as connection,
        ):
            if is_default:
                self._drop_default(connection)
            connection.execute(insert(partners).values(dataclasses.asdict(partner)))
        return partner

    def get(self, partner_id: str) -> Partner | None:
        with transaction(self.engine) as connection:
            return self._get(connection, partner_id)

    def default(self) -> Partner:
        with transaction(self.engine) as connection:
            found = self._get(connection, _default_partner_id(connection))
        assert found is not None
        return found

    def list(self) -> tuple[Partner, ...]:
        """Every partner, by name."""
        query = select(partners).order_by(partners.c.name, partners.c.id)
        with transaction(self.engine) as connection:
            return tuple(_record(Partner, row) for row in connection.execute(query).mappings())

    def update(
        self,
        partner_id: str,
        *,
        name: str,
        admin_group_id: str | None,
        is_default: bool,
        expected_version: int | None = None,
    ) -> Partner | None:
        """Replace the partner's fields (version + 1); None if there is no such partner.

        Raises `VersionConflictError` when `expected_version` is not the stored one,
        `AlreadyExistsError` for a taken name, and `InUseError` when the default
        partner would give up the flag (make another partner the default instead).
        """
        with (
            _refusals(f"a partner named {name!r} exists already", "a missing row"),
            transaction(self.engine, write=True) as connection,
        ):
            current = self._get(connection, partner_id, lock=True)
            if current is None:
                return None
            if expected_version is not None and expected_version != current.version:
                raise VersionConflictError(current.version)
            if current.is_default and not is_default:
                raise InUseError(
                    "the default partner stays the default until another partner is made "
                    "the default"
                )
            if is_default and not current.is_default:
                self._drop_default(connection)
            updated = dataclasses.replace(
                current,
                name=name,
                admin_group_id=admin_group_id,
                is_default=is_default,
                version=current.version + 1,
            )
            connection.execute(
                update(partners)
                .where(partners.c.id == partner_id)
                .values(
                    name=name,
                    admin_group_id=admin_group_id,
                    is_default=is_default,
                    version=updated.version,
                )
            )
        return updated

    def referrers(self, partner_id: str) -> tuple[str, ...]:
        """What refers to the partner: its tenants and its administrators' accounts."""
        with transaction(self.engine) as connection:
            return self._referrers(connection, partner_id)

    def delete(self, partner_id: str, *, expected_version: int | None = None) -> bool:
        """Delete the partner; False if there is no such partner.

        Raises `InUseError` for the default partner or one that tenants or partner
        administrators still refer to (listed in `referrers`), and
        `VersionConflictError` as `update` does.
        """
        with transaction(self.engine, write=True) as connection:
            current = self._get(connection, partner_id, lock=True)
            if current is None:
                return False
            if expected_version is not None and expected_version != current.version:
                raise VersionConflictError(current.version)
            if current.is_default:
                raise InUseError("the default partner cannot be deleted")
            referrers = self._referrers(connection, partner_id)
            if referrers:
                raise InUseError("the partner has tenants or administrators", referrers)
            connection.execute(delete(partners).where(partners.c.id == partner_id))
        return True

    @staticmethod
    def _referrers(connection: Connection, partner_id: str) -> tuple[str, ...]:
        tenant_ids = connection.execute(
            select(tenants.c.id).where(tenants.c.partner_id == partner_id).order_by(tenants.c.id)
        ).scalars()
        usernames = connection.execute(
            select(system_accounts.c.username)
            .where(system_accounts.c.partner_id == partner_id)
            .order_by(system_accounts.c.username)
        ).scalars()
        return tuple(f"tenant:{t}" for t in tenant_ids) + tuple(
            f"system_account:{u}" for u in usernames
        )

    @staticmethod
    def _get(connection: Connection, partner_id: str, *, lock: bool = False) -> Partner | None:
        query = select(partners).where(partners.c.id == partner_id)
        if lock:
            query = query.with_for_update()
        row = connection.execute(query).mappings().one_or_none()
        return None if row is None else _record(Partner, row)

    @staticmethod
    def _drop_default(connection: Connection) -> None:
        connection.execute(
            update(partners)
            .where(partners.c.is_default.is_(True))
            .values(is_default=False, version=partners.c.version + 1)
        )


# ---------------------------------------------------------------------- tenant-bound base


class _TenantBound:
    def __init__(self, engine: Engine, tenant_id: str) -> None:
        if not isinstance(tenant_id, str) or not tenant_id:
            raise ValueError(f"a repository needs a tenant id, not {tenant_id!r}")
        self.engine = engine
        self.tenant_id = tenant_id

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Connection]:
        with transaction(self.engine, self.tenant_id, write=write) as connection:
            yield connection

    def _missing_tenant(self) -> str:
        return f"tenant {self.tenant_id!r} does not exist"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant_id={self.tenant_id!r})"


# ---------------------------------------------------------------------- API keys


class ApiKeyRepository(_TenantBound):
    """The API keys of one tenant (spec 10 §1.4)."""

    def insert(
        self,
        key_id: str,
        *,
        name: str,
        scopes: Iterable[str],
        secret_hmac: str,
        created_by: str,
        expires_at: datetime,
        ou_id: str | None = None,
        service_ids: Iterable[str] | None = None,
        now: datetime | None = None,
    ) -> ApiKey:
        """Store a new key's record; `secret_hmac` is computed by the caller.

        A key is scoped to an OU (`ou_id`) or to services (`service_ids`), or
        to neither (the whole tenant), never both (spec 10 K2).
        """
        if ou_id is not None and service_ids is not None:
            raise ValueError("an API key is scoped to an OU or to services, not both")
        key = ApiKey(
            key_id=key_id,
            tenant_id=self.tenant_id,
            name=name,
            scopes=_strings(scopes, "scopes"),
            ou_id=ou_id,
            service_ids=None if service_ids is None else _strings(service_ids, "service_ids"),
            secret_hmac=secret_hmac,
            created_by=created_by,
            created_at=_utc(now),
            expires_at=_utc(expires_at, "expires_at"),
            last_used_at=None,
            revoked_at=None,
        )
        values = dataclasses.asdict(key)
        values["scopes"] = list(key.scopes)
        values["service_ids"] = None if key.service_ids is None else list(key.service_ids)
        with (
            _refusals(f"an API key with id {key_id!r} exists already", self._missing_tenant()),
            self._transaction(write=True) as connection,
        ):
            connection.execute(insert(api_keys).values(values))
        return key

    def get(self, key_id: str) -> ApiKey | None:
        """The key's record, revoked or expired ones included; None for another tenant's key."""
        query = select(api_keys).where(self._mine(), api_keys.c.key_id == key_id)
        with self._transaction() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else _api_key(row)

    def list(self, *, include_revoked: bool = True) -> tuple[ApiKey, ...]:
        """The tenant's keys, oldest first."""
        query = select(api_keys).where(self._mine())
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        query = query.order_by(api_keys.c.created_at, api_keys.c.key_id)
        with self._transaction() as connection:
            return tuple(_api_key(row) for row in connection.execute(query).mappings())

    def revoke(self, key_id: str, *, now: datetime | None = None) -> bool:
        """Revoke the key; False if it is not the tenant's or was revoked already."""
        statement = (
            update(api_keys)
            .where(self._mine(), api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=_utc(now))
        )
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount == 1

    def touch(
        self, key_id: str, *, now: datetime | None = None, min_interval: timedelta = timedelta(0)
    ) -> bool:
        """Set `last_used_at` of a non-revoked key; True if it was written.

        With `min_interval`, the write is skipped while the stored `last_used_at`
        is younger than that, so a busy key does not cost a write per request.
        """
        at = _utc(now)
        column = api_keys.c.last_used_at
        statement = (
            update(api_keys)
            .where(self._mine(), api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(last_used_at=at)
        )
        if min_interval > timedelta(0):
            statement = statement.where(or_(column.is_(None), column <= at - min_interval))
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount == 1

    def _mine(self) -> Any:
        return api_keys.c.tenant_id == self.tenant_id


# ---------------------------------------------------------------------- accounts


class _Accounts(Generic[_A]):
    """What both kinds of local account do once created: look up, change the password
    hash, count failed sign-ins (spec 10 L3)."""

    _table: ClassVar[Table]
    _type: type[_A]

    def _transaction(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _mine(self) -> Any:
        raise NotImplementedError

    def get(self, account_id: str) -> _A | None:
        return self._one(self._table.c.id == account_id)

    def by_username(self, username: str) -> _A | None:
        """The account with exactly this username (the caller normalises it first)."""
        return self._one(self._table.c.username == username)

    def set_password_hash(self, account_id: str, password_hash: str) -> bool:
        """Replace the hash (a changed password, or a rehash at sign-in, spec 10 L1)."""
        statement = (
            update(self._table)
            .where(self._mine(), self._table.c.id == account_id)
            .values(password_hash=password_hash)
        )
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount == 1

    def record_failure(
        self,
        account_id: str,
        *,
        window: timedelta,
        delay_for: Callable[[int], timedelta | None],
        now: datetime | None = None,
    ) -> _A | None:
        """Count a failed sign-in and set the delay; return the updated account.

        Failures are counted in a window that starts at the first failure: a
        failure more than `window` after `failed_since` starts a new count at 1.
        `delay_for(failed_count)` gives how long further attempts wait (None or
        zero: no delay), so the policy — 5 failures in 15 minutes, then 1 s
        doubling up to 15 min (spec 10 L3) — stays with the caller. The read and
        the update are one transaction (the row is locked), so concurrent
        failures are all counted. None if the account is not one of these.
        """
        condition = and_(self._mine(), self._table.c.id == account_id)
        with self._transaction(write=True) as connection:
            row = _count_failure(connection, self._table, condition, window, delay_for, _utc(now))
        return None if row is None else _record(self._type, row)

    def record_success(self, account_id: str) -> bool:
        """Clear the failure count and any delay after a successful sign-in."""
        statement = (
            update(self._table)
            .where(self._mine(), self._table.c.id == account_id)
            .values(failed_count=0, failed_since=None, delay_until=None)
        )
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount == 1

    def _one(self, condition: Any) -> _A | None:
        query = select(self._table).where(self._mine(), condition)
        with self._transaction() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else _record(self._type, row)


class AccountRepository(_TenantBound, _Accounts[Account]):
    """The local accounts of one tenant (spec 10 §1.3)."""

    _table = accounts
    _type = Account

    def create(
        self,
        username: str,
        password_hash: str,
        *,
        user_id: str,
        id: str | None = None,
        now: datetime | None = None,
    ) -> Account:
        """Store a new account; `username` as given (normalise it first), the hash as given."""
        account = Account(
            id=id if id is not None else new_id(),
            tenant_id=self.tenant_id,
            user_id=user_id,
            username=username,
            password_hash=password_hash,
            created_at=_utc(now),
            failed_count=0,
            failed_since=None,
            delay_until=None,
        )
        with (
            _refusals(
                f"tenant {self.tenant_id!r}: the username {username!r} or the account id "
                f"{account.id!r} is taken",
                self._missing_tenant(),
            ),
            self._transaction(write=True) as connection,
        ):
            connection.execute(insert(accounts).values(dataclasses.asdict(account)))
        return account

    def by_user(self, user_id: str) -> Account | None:
        """The local account of a configured user, if they have one."""
        return self._one(accounts.c.user_id == user_id)

    def delete(self, account_id: str) -> bool:
        """Remove an account and its sessions (deleted explicitly: SQLite may not cascade)."""
        statement = delete(accounts).where(self._mine(), accounts.c.id == account_id)
        with self._transaction(write=True) as connection:
            connection.execute(
                delete(web_sessions).where(
                    web_sessions.c.tenant_id == self.tenant_id,
                    web_sessions.c.account_id == account_id,
                )
            )
            return connection.execute(statement).rowcount == 1

    def _mine(self) -> Any:
        return accounts.c.tenant_id == self.tenant_id


# ---------------------------------------------------------------------- web sessions


class _Sessions:
    """What both kinds of browser session do once created: read, touch, revoke."""

    _table: ClassVar[Table]
    _type: ClassVar[type[Any]]

    def _transaction(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _mine(self) -> Any:
        raise NotImplementedError

    def get(self, id_hash: str) -> Any:
        """The session, revoked or expired ones included; None if not one of these."""
        query = select(self._table).where(self._mine(), self._table.c.id_hash == id_hash)
        with self._transaction() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else _record(self._type, row)

    def touch(
        self, id_hash: str, *, now: datetime | None = None, expires_at: datetime | None = None
    ) -> bool:
        """Record activity (`last_seen_at`) on a non-revoked session, optionally moving
        its expiry (the caller computes it from the idle and absolute timeouts)."""
        values: dict[str, datetime] = {"last_seen_at": _utc(now)}
        if expires_at is not None:
            values["expires_at"] = _utc(expires_at, "expires_at")
        statement = update(self._table).where(self._active(id_hash)).values(values)
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount == 1

    def revoke(self, id_hash: str, *, now: datetime | None = None) -> bool:
        """Revoke (sign out); False if not one of these or revoked already."""
        statement = update(self._table).where(self._active(id_hash)).values(revoked_at=_utc(now))
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount == 1

    def revoke_all(self, account_id: str, *, now: datetime | None = None) -> int:
        """Revoke every session of an account (password change, disabled user); how many."""
        statement = (
            update(self._table)
            .where(
                self._mine(),
                self._table.c.account_id == account_id,
                self._table.c.revoked_at.is_(None),
            )
            .values(revoked_at=_utc(now))
        )
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount

    def _active(self, id_hash: str) -> Any:
        return and_(
            self._mine(), self._table.c.id_hash == id_hash, self._table.c.revoked_at.is_(None)
        )


class WebSessionRepository(_TenantBound, _Sessions):
    """The browser sessions of one tenant (spec 10 B2)."""

    _table = web_sessions
    _type = WebSession

    def create(
        self,
        id_hash: str,
        *,
        account_id: str,
        csrf_token: str,
        expires_at: datetime,
        now: datetime | None = None,
    ) -> WebSession:
        """Store a new session; `id_hash` is the hash of the cookie's token (caller's)."""
        at = _utc(now)
        session = WebSession(
            id_hash=id_hash,
            tenant_id=self.tenant_id,
            account_id=account_id,
            csrf_token=csrf_token,
            created_at=at,
            last_seen_at=at,
            expires_at=_utc(expires_at, "expires_at"),
            revoked_at=None,
        )
        with (
            _refusals(
                "a session with this id hash exists already",
                f"tenant {self.tenant_id!r} has no account {account_id!r}",
            ),
            self._transaction(write=True) as connection,
        ):
            connection.execute(insert(web_sessions).values(dataclasses.asdict(session)))
        return session

    def get(self, id_hash: str) -> WebSession | None:
        """The session, revoked or expired ones included; None for another tenant's."""
        found: WebSession | None = super().get(id_hash)
        return found

    def _mine(self) -> Any:
        return web_sessions.c.tenant_id == self.tenant_id


# ---------------------------------------------------------------------- system accounts

#: The roles a system account holds (spec 01 §3): above every tenant.
SYSTEM_ROLES = ("system_admin", "partner_admin")


@dataclass(frozen=True, slots=True)
class SystemAccount:
    """A local account of a system or partner administrator (`partner_id` for the latter)."""

    id: str
    username: str
    role: str
    partner_id: str | None
    password_hash: str
    created_at: datetime
    failed_count: int
    failed_since: datetime | None
    delay_until: datetime | None

    def is_delayed(self, now: datetime) -> bool:
        return self.delay_until is not None and now < self.delay_until


@dataclass(frozen=True, slots=True)
class SystemSession:
    """A browser session of a system account."""

    id_hash: str
    account_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class _SystemLevel:
    """A repository above the tenants: its transactions carry no tenant, it sees every row."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Connection]:
        with transaction(self.engine, write=write) as connection:
            yield connection

    def _mine(self) -> Any:
        return true()


class SystemAccountRepository(_SystemLevel, _Accounts[SystemAccount]):
    """Local accounts of system and partner administrators: system-level, no tenant.

    Usernames are unique among system accounts (their own namespace: a tenant's
    usernames may repeat them). The caller normalises usernames and hashes passwords.
    """

    _table = system_accounts
    _type = SystemAccount

    def create(
        self,
        username: str,
        password_hash: str,
        *,
        role: str,
        partner_id: str | None = None,
        id: str | None = None,
        now: datetime | None = None,
    ) -> SystemAccount:
        """Raises `ValueError` for a role other than `SYSTEM_ROLES` or a partner given to a
        system admin (or missing for a partner admin), `AlreadyExistsError` for a taken
        username and `ReferenceNotFoundError` for an unknown partner."""
        if role not in SYSTEM_ROLES:
            raise ValueError(f"role must be one of {', '.join(SYSTEM_ROLES)}, not {role!r}")
        if (role == "partner_admin") != (partner_id is not None):
            raise ValueError("a partner_admin names their partner; a system_admin has none")
        account = SystemAccount(
            id=id if id is not None else new_id(),
            username=username,
            role=role,
            partner_id=partner_id,
            password_hash=password_hash,
            created_at=_utc(now),
            failed_count=0,
            failed_since=None,
            delay_until=None,
        )
        with (
            _refusals(
                f"the username {username!r} (or account id {account.id!r}) is taken",
                f"there is no partner {partner_id!r}",
            ),
            transaction(self.engine, write=True) as connection,
        ):
            connection.execute(insert(system_accounts).values(dataclasses.asdict(account)))
        return account

    def list(self) -> tuple[SystemAccount, ...]:
        query = select(system_accounts).order_by(system_accounts.c.username)
        with transaction(self.engine) as connection:
            rows = connection.execute(query).mappings()
            return tuple(_record(SystemAccount, row) for row in rows)

    def delete(self, account_id: str) -> bool:
        """Remove an account and its sessions (deleted explicitly: SQLite may not cascade)."""
        with transaction(self.engine, write=True) as connection:
            connection.execute(
                delete(system_sessions).where(system_sessions.c.account_id == account_id)
            )
            statement = delete(system_accounts).where(system_accounts.c.id == account_id)
            return connection.execute(statement).rowcount == 1


class SystemSessionRepository(_SystemLevel, _Sessions):
    """The browser sessions of system accounts (as `WebSessionRepository`, no tenant)."""

    _table = system_sessions
    _type = SystemSession

    def create(
        self,
        id_hash: str,
        *,
        account_id: str,
        csrf_token: str,
        expires_at: datetime,
        now: datetime | None = None,
    ) -> SystemSession:
        at = _utc(now)
        session = SystemSession(
            id_hash=id_hash,
            account_id=account_id,
            csrf_token=csrf_token,
            created_at=at,
            last_seen_at=at,
            expires_at=_utc(expires_at, "expires_at"),
            revoked_at=None,
        )
        with (
            _refusals(
                "a session with this id hash exists already",
                f"there is no system account {account_id!r}",
            ),
            self._transaction(write=True) as connection,
        ):
            connection.execute(insert(system_sessions).values(dataclasses.asdict(session)))
        return session

    def get(self, id_hash: str) -> SystemSession | None:
        found: SystemSession | None = super().get(id_hash)
        return found
