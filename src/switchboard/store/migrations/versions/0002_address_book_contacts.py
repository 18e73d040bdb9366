"""Contacts of address books (spec 01 §11), with their tenant's RLS policy.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02

The address books themselves are configuration and live in the journal; their
contacts are too many for the engine's memory and live here (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 64
TABLE = "address_book_contacts"
TENANT_MATCH = "tenant_id = current_setting('switchboard.tenant_id', true)"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("address_book_id", sa.String(ID), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "address_book_id", "external_id", name=f"pk_{TABLE}"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=f"fk_{TABLE}_tenant_id_tenants"
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {TABLE} "
            f"USING ({TENANT_MATCH}) WITH CHECK ({TENANT_MATCH})"
        )


def downgrade() -> None:
    # The policy goes with its table.
    op.drop_table(TABLE)
