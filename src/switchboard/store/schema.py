"""The relational schema of the store, as SQLAlchemy Core tables.

This module is the *current* shape of the database. The Alembic revisions in
`switchboard/store/migrations/versions/` are its history and create it; they
never import this module (a revision must keep producing the schema of its day),
and `tests/store/test_database.py` checks that migrating to head yields exactly
these tables (Alembic's `compare_metadata` finds no difference) on SQLite and
PostgreSQL.

Tenant isolation (security spec 10 §4). Every table but the system-level ones
(`partners`, `tenants`, `system_accounts`, `system_sessions`) is a tenant
table: it has a `tenant_id` column referencing `tenants.id`, and an index whose
first column is `tenant_id` (the primary key, a unique constraint or a plain
index, whichever the table's queries need). On PostgreSQL each tenant table also
has a row-level-security policy (created by the migrations, listed in
`TENANT_TABLES`); see `switchboard.store.database` for how the tenant context
is set and why RLS is enabled but not forced.

Types. Timestamps are `UtcDateTime`: timezone-aware UTC `datetime`s in Python
on both databases. Identifiers are strings (random UUIDs unless the caller
brings its own id). The journal's `data` is the JSON text written by
`switchboard.store.codec` — the same encoding as the SQLite journal — not a
JSON column, so the text round-trips byte for byte.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NAMING_CONVENTION",
    "REPORT_TABLES",
    "TENANT_TABLES",
    "UtcDateTime",
    "accounts",
    "address_book_contacts",
    "api_keys",
    "audio_contents",
    "journal",
    "metadata",
    "partners",
    "report_cursors",
    "report_service_aggregates",
    "report_service_sessions",
    "report_transfer_sessions",
    "report_unified_sessions",
    "report_user_aggregates",
    "report_user_sessions",
    "report_user_state_aggregates",
    "report_user_states",
    "system_accounts",
    "system_sessions",
    "tenants",
    "web_sessions",
]

#: Constraint and index names are deterministic, so migrations can refer to them
#: (and SQLite batch migrations can recreate them) on every database.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 64  # identifiers: UUIDs (36) or the ids of the configuration
NAME = 255


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC `datetime`, the same in Python on SQLite and PostgreSQL.

    Binding a naive `datetime` raises `ValueError` (its zone would be a guess).
    PostgreSQL stores `timestamptz`; SQLite, which has no such type, stores the
    UTC wall time as ISO text — comparable in SQL because every value is UTC.
    Values read back are always aware and in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _tenant_fk() -> Column[str]:
    return Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False)


#: Partners (spec 01 §2): system-level, above the tenants, not tenant rows (no RLS
#: policy; only system administrators manage them). Exactly one is the default: the
#: partial unique index allows one `is_default` row, the repository never leaves none.
partners = Table(
    "partners",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(NAME), nullable=False, unique=True),
    # the directory group whose members are the partner's administrators
    Column("admin_group_id", String(NAME), nullable=True),
    Column("is_default", Boolean(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(
        "uq_partners_one_default",
        "is_default",
        unique=True,
        sqlite_where=text("is_default"),
        postgresql_where=text("is_default"),
    ),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(NAME), nullable=False),
    # Entra ID `tid` (spec 01 §2, 10 A4); at most one tenant per directory tenant.
    Column("directory_tenant_id", String(ID), nullable=True, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # The partner the tenant belongs to (01 §2): whose partner admins may enter it.
    Column("partner_id", String(ID), ForeignKey("partners.id"), nullable=False, index=True),
)

#: Local accounts of system and partner administrators (spec 01 §3, 10 §1.3): people
#: above the tenants, so not users of any tenant. A partner admin names their partner.
system_accounts = Table(
    "system_accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("username", String(NAME), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("partner_id", String(ID), ForeignKey("partners.id"), nullable=True, index=True),
    Column("password_hash", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("failed_count", Integer(), nullable=False, server_default="0"),
    Column("failed_since", UtcDateTime(), nullable=True),
    Column("delay_until", UtcDateTime(), nullable=True),
    CheckConstraint(
        "(role = 'system_admin' AND partner_id IS NULL) "
        "OR (role = 'partner_admin' AND partner_id IS NOT NULL)",
        name="role_scope",
    ),
)

#: Browser sessions of system accounts (as `web_sessions` are of tenant accounts).
system_sessions = Table(
    "system_sessions",
    metadata,
    Column("id_hash", String(128), primary_key=True),
    Column(
        "account_id",
        String(ID),
        ForeignKey("system_accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf_token", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

#: One row per event, keyed by tenant and gap-free position (see `SqlJournal`).
journal = Table(
    "journal",
    metadata,
    _tenant_fk(),
    Column("seq", BigInteger(), nullable=False, autoincrement=False),
    Column("name", Text(), nullable=False),
    Column("at", Double(), nullable=False),
    Column("data", Text(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),  # also the tenant_id index
    sqlite_with_rowid=False,
)

#: Local accounts (spec 10 §1.3). `username` is stored as given: the caller normalises it.
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    _tenant_fk(),
    Column("user_id", String(ID), nullable=False),
    Column("username", String(NAME), nullable=False),
    Column("password_hash", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("failed_count", Integer(), nullable=False, server_default="0"),
    Column("failed_since", UtcDateTime(), nullable=True),
    Column("delay_until", UtcDateTime(), nullable=True),
    UniqueConstraint("tenant_id", "username"),  # also the tenant_id index
    # the target of web_sessions' (tenant_id, account_id) foreign key
    UniqueConstraint("tenant_id", "id"),
)

#: Server-side browser sessions (spec 10 B2), keyed by the hash of the cookie's token.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(128), primary_key=True),
    _tenant_fk(),
    Column("account_id", String(ID), nullable=False),
    Column("csrf_token", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # A session's account must belong to the session's tenant.
    ForeignKeyConstraint(
        ["tenant_id", "account_id"],
        ["accounts.tenant_id", "accounts.id"],
        ondelete="CASCADE",
    ),
    Index(None, "tenant_id", "account_id"),  # also the tenant_id index
)

#: API keys (spec 10 §1.4): the id and the HMAC of the secret, never the secret.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    _tenant_fk(),
    Column("name", String(NAME), nullable=False),
    Column("scopes", JSON(), nullable=False),
    Column("ou_id", String(ID), nullable=True),
    # NULL: not restricted to services; a JSON list otherwise
    Column("service_ids", JSON(none_as_null=True), nullable=True),
    Column("secret_hmac", String(128), nullable=False),
    Column("created_by", String(NAME), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index(None, "tenant_id"),
)

#: Contacts of address books (spec 01 §11). The books are configuration (journaled, in
#: the engine); their contacts, up to 100 000 a book, are kept here: `data` is the
#: contact as the API shows it. The key is also the paging order and the tenant_id index.
address_book_contacts = Table(
    "address_book_contacts",
    metadata,
    _tenant_fk(),
    Column("address_book_id", String(ID), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("data", JSON(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "address_book_id", "external_id"),
)

#: The recorded bytes of audio resources (01 §9), up to 10 MB each. The resource is
#: configuration (journaled, in the engine, with the facts of its content); the bytes
#: are kept here, one row per resource, and go when the resource goes.
audio_contents = Table(
    "audio_contents",
    metadata,
    _tenant_fk(),
    Column("audio_resource_id", String(ID), nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary(), nullable=False),
    Column("uploaded_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "audio_resource_id"),
)

# ---------------------------------------------------------------------- reporting (08)
#
# A projection of the journal (`switchboard.reporting`), rebuildable from it at any
# time (`switchboard reports rebuild`). Columns, meanings and units: docs/reporting.md.
# Timestamps are UTC with milliseconds, durations integer milliseconds (`*_ms`).

CODE = 32  # enumeration codes (modality, outcome codes, states, ...)
TEXT = 256  # caller ids, UPNs, numbers, customer identifiers


def _id(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, String(ID), nullable=nullable)


def _code(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, String(CODE), nullable=nullable)


def _ms(name: str, *, nullable: bool = False) -> Column[int]:
    return Column(name, BigInteger(), nullable=nullable)


def _count(name: str) -> Column[int]:
    return Column(name, BigInteger(), nullable=False)


def _at(name: str, *, nullable: bool = False) -> Column[datetime]:
    return Column(name, UtcDateTime(), nullable=nullable)


report_unified_sessions = Table(
    "report_unified_sessions",
    metadata,
    _tenant_fk(),
    _id("id"),
    _id("task_id"),
    _id("first_service_id"),
    _id("last_service_id"),
    _code("modality"),
    _code("direction"),
    _code("task_kind"),
    Column("customer_identifier", String(TEXT), nullable=True),
    Column("caller_id", String(TEXT), nullable=True),
    _at("started_at"),
    _at("ended_at"),
    Column("service_session_count", Integer(), nullable=False),
    Column("user_session_count", Integer(), nullable=False),
    Column("transfer_session_count", Integer(), nullable=False),
    Column("outcome_id", Integer(), nullable=False),
    Column("outcome_group_id", Integer(), nullable=False),
    Column("handled", Boolean(), nullable=False),
    _ms("connected_ms"),
    _id("first_accepting_user_id", nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "started_at"),
)

report_service_sessions = Table(
    "report_service_sessions",
    metadata,
    _tenant_fk(),
    _id("id"),
    _id("unified_session_id"),
    _id("task_id"),
    _id("service_id"),
    _id("ou_id", nullable=True),
    _code("modality"),
    _code("direction"),
    _code("task_kind"),
    Column("sequence", Integer(), nullable=False),
    _at("started_at"),
    _at("accepted_at", nullable=True),
    _at("first_enqueued_at", nullable=True),
    _at("first_offered_at", nullable=True),
    _at("user_connected_at", nullable=True),
    _at("queue_left_at", nullable=True),
    _at("customer_left_at", nullable=True),
    _at("ended_at"),
    _ms("ivr_ms"),
    _ms("queue_ms", nullable=True),
    _ms("ring_ms"),
    _ms("connected_ms"),
    _ms("hold_ms"),
    _ms("acw_ms"),
    _ms("answer_wait_ms", nullable=True),
    _ms("hangup_wait_ms", nullable=True),
    Column("outcome_id", Integer(), nullable=False),
    Column("outcome_group_id", Integer(), nullable=False),
    Column("handled", Boolean(), nullable=False),
    Column("kpi_excluded", Boolean(), nullable=False),
    _code("end_reason"),
    _code("queue_exit_reason", nullable=True),
    Column("max_policy_level", Integer(), nullable=True),
    Column("offer_count", Integer(), nullable=False),
    Column("rona_count", Integer(), nullable=False),
    Column("priority", Integer(), nullable=False),
    _id("first_accepting_user_id", nullable=True),
    _id("last_user_id", nullable=True),
    _id("primary_code", nullable=True),
    Column("secondary_codes", Text(), nullable=True),
    Column("tags", Text(), nullable=True),
    _id("result_detail_id", nullable=True),
    Column("reference_id", String(128), nullable=True),
    _id("outbound_call_id", nullable=True),
    Column("outbound_attempt", Integer(), nullable=True),
    _id("transferred_from_service_session_id", nullable=True),
    Column("sla_acceptance_s", Integer(), nullable=False),
    Column("sla_hangup_s", Integer(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "started_at"),
    Index(None, "tenant_id", "service_id", "started_at"),
    Index(None, "tenant_id", "unified_session_id"),
)

report_user_sessions = Table(
    "report_user_sessions",
    metadata,
    _tenant_fk(),
    _id("id"),
    _id("service_session_id"),
    _id("unified_session_id"),
    _id("task_id"),
    _id("user_id"),
    _id("service_id"),
    _code("offer_kind"),
    _at("offered_at"),
    _at("answered_at", nullable=True),
    _at("ended_at"),
    _ms("ring_ms"),
    _ms("connected_ms"),
    _ms("hold_ms"),
    _ms("parked_ms"),
    _ms("acw_ms"),
    _code("acw_end_reason", nullable=True),
    Column("outcome_id", Integer(), nullable=False),
    Column("outcome_group_id", Integer(), nullable=False),
    Column("is_transfer_target", Boolean(), nullable=False),
    _id("primary_code", nullable=True),
    Column("secondary_codes", Text(), nullable=True),
    Column("tags", Text(), nullable=True),
    _id("result_detail_id", nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "user_id", "offered_at"),
    Index(None, "tenant_id", "service_session_id"),
)

report_transfer_sessions = Table(
    "report_transfer_sessions",
    metadata,
    _tenant_fk(),
    _id("id"),
    _id("service_session_id"),
    _id("unified_session_id"),
    _id("task_id"),
    _id("from_user_session_id", nullable=True),
    _code("initiated_by"),
    _code("transfer_type"),
    _code("target_type"),
    _id("target_id", nullable=True),
    Column("target_value", String(TEXT), nullable=True),
    _at("started_at"),
    _at("ended_at"),
    _code("result"),
    _code("error", nullable=True),
    _id("to_service_session_id", nullable=True),
    _id("to_user_session_id", nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "started_at"),
    Index(None, "tenant_id", "service_session_id"),
)

report_user_states = Table(
    "report_user_states",
    metadata,
    _tenant_fk(),
    _id("id"),
    _id("user_id"),
    _code("state"),
    _id("not_available_reason_id", nullable=True),
    _code("presence"),
    _at("started_at"),
    _at("ended_at"),
    _ms("duration_ms"),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "user_id", "started_at"),
)

#: Additive 15-minute buckets of service sessions, by their `started_at` (08 §2.2).
report_service_aggregates = Table(
    "report_service_aggregates",
    metadata,
    _tenant_fk(),
    Column("id", String(NAME), nullable=False),
    _id("service_id"),
    _at("bucket_start"),
    _code("modality"),
    _code("direction"),
    Column("kpi_excluded", Boolean(), nullable=False),
    *(
        _count(name)
        for name in (
            "tasks",
            "accepted",
            "queued",
            "handled_by_user",
            "handled_by_user_queued",
            "group_handled_by_user",
            "group_handled_by_system",
            "group_hangup_by_customer",
            "group_not_handled",
            "group_error",
            "group_outbound_accepted",
            "group_outbound_not_accepted",
            "answered_within_sla",
            "short_abandons",
            "queue_hangups",
            "queue_hangups_within_hangup_sla",
            "sum_queue_ms",
            "sum_answer_wait_ms",
            "sum_connected_ms",
            "sum_acw_ms",
        )
    ),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "bucket_start"),
)

#: Additive 15-minute buckets of user sessions, by their service session's start.
report_user_aggregates = Table(
    "report_user_aggregates",
    metadata,
    _tenant_fk(),
    Column("id", String(NAME), nullable=False),
    _id("user_id"),
    _id("service_id"),
    _at("bucket_start"),
    *(
        _count(name)
        for name in (
            "offered",
            "accepted",
            "declined",
            "rona",
            "cancelled",
            "transferred",
            "handled",
            "sum_ring_ms",
            "sum_connected_ms",
            "sum_hold_ms",
            "sum_acw_ms",
        )
    ),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "bucket_start"),
)

#: Milliseconds per user, reporting state and reason in each 15-minute bucket.
report_user_state_aggregates = Table(
    "report_user_state_aggregates",
    metadata,
    _tenant_fk(),
    Column("id", String(NAME), nullable=False),
    _id("user_id"),
    _code("state"),
    _id("not_available_reason_id", nullable=True),
    _at("bucket_start"),
    _ms("duration_ms"),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index(None, "tenant_id", "bucket_start"),
)

#: How far each tenant's journal is projected (`seq`), and the projection's in-flight
#: state as JSON at `snapshot_seq` (a restart resumes from it instead of from seq 0).
report_cursors = Table(
    "report_cursors",
    metadata,
    _tenant_fk(),
    Column("seq", BigInteger(), nullable=False),
    Column("snapshot_seq", BigInteger(), nullable=False),
    Column("snapshot", LargeBinary(), nullable=True),
    _at("updated_at"),
    PrimaryKeyConstraint("tenant_id"),
)

#: The reporting tables holding projected rows (what a rebuild empties first).
REPORT_TABLES: tuple[Table, ...] = (
    report_unified_sessions,
    report_service_sessions,
    report_user_sessions,
    report_transfer_sessions,
    report_user_states,
    report_service_aggregates,
    report_user_aggregates,
    report_user_state_aggregates,
)

#: The tables holding tenant rows: each has `tenant_id` and, on PostgreSQL, an RLS policy.
TENANT_TABLES: tuple[str, ...] = tuple(
    name for name, table in metadata.tables.items() if "tenant_id" in table.c
)
