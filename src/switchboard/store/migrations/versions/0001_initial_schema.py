"""Initial schema: tenants, the journal, local accounts, web sessions and API keys.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

On PostgreSQL every tenant table gets row-level security with the policy
`tenant_isolation` (spec 10 TI2), enabled but not forced: see
`switchboard.store.database` for why.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 64
NAME = 255
TENANT_TABLES = ("journal", "accounts", "web_sessions", "api_keys")
TENANT_MATCH = "tenant_id = current_setting('switchboard.tenant_id', true)"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _tenant_id() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(ID), nullable=False)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants"
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("directory_tenant_id", sa.String(ID), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("directory_tenant_id", name="uq_tenants_directory_tenant_id"),
    )
    op.create_table(
        "journal",
        _tenant_id(),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name="pk_journal"),
        _tenant_fk("journal"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(ID), nullable=False),
        _tenant_id(),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("username", sa.String(NAME), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed_since", _utc(), nullable=True),
        sa.Column("delay_until", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        _tenant_fk("accounts"),
        sa.UniqueConstraint("tenant_id", "username", name="uq_accounts_tenant_id_username"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_accounts_tenant_id_id"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(128), nullable=False),
        _tenant_id(),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("csrf_token", sa.String(128), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
        _tenant_fk("web_sessions"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "account_id"],
            ["accounts.tenant_id", "accounts.id"],
            name="fk_web_sessions_tenant_id_account_id_accounts",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_web_sessions_tenant_id_account_id", "web_sessions", ["tenant_id", "account_id"]
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        _tenant_id(),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("ou_id", sa.String(ID), nullable=True),
        sa.Column("service_ids", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("secret_hmac", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(NAME), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("last_used_at", _utc(), nullable=True),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
        _tenant_fk("api_keys"),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING ({TENANT_MATCH}) WITH CHECK ({TENANT_MATCH})"
            )


def downgrade() -> None:
    # Policies go with their tables.
    op.drop_index("ix_api_keys_tenant_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_web_sessions_tenant_id_account_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("accounts")
    op.drop_table("journal")
    op.drop_table("tenants")
