"""The bytes of audio resources (spec 01 §9), with their tenant's RLS policy.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

The resources are configuration and live in the journal, with the facts of
their content (type, duration, size); the recordings themselves, up to 10 MB
each, are kept here, one row per resource.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 64
TABLE = "audio_contents"
TENANT_MATCH = "tenant_id = current_setting('switchboard.tenant_id', true)"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("audio_resource_id", sa.String(ID), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "audio_resource_id", name=f"pk_{TABLE}"),
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
