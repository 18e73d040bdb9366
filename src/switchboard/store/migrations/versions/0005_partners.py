"""Partners and system accounts (spec 01 §2–§3, 10 §2): the level above the tenants.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Adds `partners` with the one default partner, `tenants.partner_id` (every
existing tenant joins the default partner), and the local accounts and browser
sessions of system and partner administrators. None of these are tenant rows:
they have no `tenant_id` and no row-level-security policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 64
NAME = 255
DEFAULT_PARTNER_NAME = "Default partner"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("admin_group_id", sa.String(NAME), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partners"),
        sa.UniqueConstraint("name", name="uq_partners_name"),
    )
    op.create_index(
        "uq_partners_one_default",
        "partners",
        ["is_default"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    bind = op.get_bind()
    default_id = str(uuid.uuid4())
    partners = sa.table(
        "partners",
        sa.column("id", sa.String()),
        sa.column("name", sa.String()),
        sa.column("is_default", sa.Boolean()),
        sa.column("version", sa.Integer()),
        sa.column("created_at", _utc()),
    )
    now = datetime.now(UTC)
    # SQLite keeps UTC wall time as text (store.schema.UtcDateTime); PostgreSQL timestamptz.
    created = now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now
    op.execute(
        partners.insert().values(
            id=default_id,
            name=DEFAULT_PARTNER_NAME,
            is_default=True,
            version=1,
            created_at=created,
        )
    )

    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("partner_id", sa.String(ID), nullable=True))
    tenants = sa.table("tenants", sa.column("partner_id", sa.String()))
    op.execute(tenants.update().values(partner_id=default_id))
    with op.batch_alter_table("tenants") as batch:
        batch.alter_column("partner_id", existing_type=sa.String(ID), nullable=False)
        batch.create_foreign_key(
            "fk_tenants_partner_id_partners", "partners", ["partner_id"], ["id"]
        )
        batch.create_index("ix_tenants_partner_id", ["partner_id"])

    op.create_table(
        "system_accounts",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("username", sa.String(NAME), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("partner_id", sa.String(ID), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed_since", _utc(), nullable=True),
        sa.Column("delay_until", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_system_accounts"),
        sa.UniqueConstraint("username", name="uq_system_accounts_username"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_system_accounts_partner_id_partners"
        ),
        sa.CheckConstraint(
            "(role = 'system_admin' AND partner_id IS NULL) "
            "OR (role = 'partner_admin' AND partner_id IS NOT NULL)",
            name="ck_system_accounts_role_scope",
        ),
    )
    op.create_index("ix_system_accounts_partner_id", "system_accounts", ["partner_id"])
    op.create_table(
        "system_sessions",
        sa.Column("id_hash", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("csrf_token", sa.String(128), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name="pk_system_sessions"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["system_accounts.id"],
            name="fk_system_sessions_account_id_system_accounts",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_system_sessions_account_id", "system_sessions", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_system_sessions_account_id", table_name="system_sessions")
    op.drop_table("system_sessions")
    op.drop_index("ix_system_accounts_partner_id", table_name="system_accounts")
    op.drop_table("system_accounts")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_index("ix_tenants_partner_id")
        batch.drop_constraint("fk_tenants_partner_id_partners", type_="foreignkey")
        batch.drop_column("partner_id")
    op.drop_index("uq_partners_one_default", table_name="partners")
    op.drop_table("partners")
