"""Reporting tables (spec 08 §2): sessions, user states, aggregates and the projection cursor.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A projection of the journal (`switchboard.reporting`), rebuildable from it at any
time; docs/reporting.md describes every column. On PostgreSQL each table gets the
tenant's row-level-security policy, like every tenant table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 64
NAME = 255
CODE = 32
TEXT = 256
TENANT_MATCH = "tenant_id = current_setting('switchboard.tenant_id', true)"


def _id(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(ID), nullable=nullable)


def _code(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(CODE), nullable=nullable)


def _ms(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _bool(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = TEXT) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length) if length else sa.Text(), nullable=True)


#: table -> (columns after tenant_id, indexes after the primary key)
TABLES: dict[str, tuple[list[sa.Column[Any]], list[tuple[str, ...]]]] = {
    "report_unified_sessions": (
        [
            _id("id"),
            _id("task_id"),
            _id("first_service_id"),
            _id("last_service_id"),
            _code("modality"),
            _code("direction"),
            _code("task_kind"),
            _text("customer_identifier"),
            _text("caller_id"),
            _at("started_at"),
            _at("ended_at"),
            _int("service_session_count"),
            _int("user_session_count"),
            _int("transfer_session_count"),
            _int("outcome_id"),
            _int("outcome_group_id"),
            _bool("handled"),
            _ms("connected_ms"),
            _id("first_accepting_user_id", True),
        ],
        [("tenant_id", "started_at")],
    ),
    "report_service_sessions": (
        [
            _id("id"),
            _id("unified_session_id"),
            _id("task_id"),
            _id("service_id"),
            _id("ou_id", True),
            _code("modality"),
            _code("direction"),
            _code("task_kind"),
            _int("sequence"),
            _at("started_at"),
            _at("accepted_at", True),
            _at("first_enqueued_at", True),
            _at("first_offered_at", True),
            _at("user_connected_at", True),
            _at("queue_left_at", True),
            _at("customer_left_at", True),
            _at("ended_at"),
            _ms("ivr_ms"),
            _ms("queue_ms", True),
            _ms("ring_ms"),
            _ms("connected_ms"),
            _ms("hold_ms"),
            _ms("acw_ms"),
            _ms("answer_wait_ms", True),
            _ms("hangup_wait_ms", True),
            _int("outcome_id"),
            _int("outcome_group_id"),
            _bool("handled"),
            _bool("kpi_excluded"),
            _code("end_reason"),
            _code("queue_exit_reason", True),
            _int("max_policy_level", True),
            _int("offer_count"),
            _int("rona_count"),
            _int("priority"),
            _id("first_accepting_user_id", True),
            _id("last_user_id", True),
            _id("primary_code", True),
            _text("secondary_codes", None),
            _text("tags", None),
            _id("result_detail_id", True),
            _text("reference_id", 128),
            _id("outbound_call_id", True),
            _int("outbound_attempt", True),
            _id("transferred_from_service_session_id", True),
            _int("sla_acceptance_s"),
            _int("sla_hangup_s"),
        ],
        [
            ("tenant_id", "started_at"),
            ("tenant_id", "service_id", "started_at"),
            ("tenant_id", "unified_session_id"),
        ],
    ),
    "report_user_sessions": (
        [
            _id("id"),
            _id("service_session_id"),
            _id("unified_session_id"),
            _id("task_id"),
            _id("user_id"),
            _id("service_id"),
            _code("offer_kind"),
            _at("offered_at"),
            _at("answered_at", True),
            _at("ended_at"),
            _ms("ring_ms"),
            _ms("connected_ms"),
            _ms("hold_ms"),
            _ms("parked_ms"),
            _ms("acw_ms"),
            _code("acw_end_reason", True),
            _int("outcome_id"),
            _int("outcome_group_id"),
            _bool("is_transfer_target"),
            _id("primary_code", True),
            _text("secondary_codes", None),
            _text("tags", None),
            _id("result_detail_id", True),
        ],
        [("tenant_id", "user_id", "offered_at"), ("tenant_id", "service_session_id")],
    ),
    "report_transfer_sessions": (
        [
            _id("id"),
            _id("service_session_id"),
            _id("unified_session_id"),
            _id("task_id"),
            _id("from_user_session_id", True),
            _code("initiated_by"),
            _code("transfer_type"),
            _code("target_type"),
            _id("target_id", True),
            _text("target_value"),
            _at("started_at"),
            _at("ended_at"),
            _code("result"),
            _code("error", True),
            _id("to_service_session_id", True),
            _id("to_user_session_id", True),
        ],
        [("tenant_id", "started_at"), ("tenant_id", "service_session_id")],
    ),
    "report_user_states": (
        [
            _id("id"),
            _id("user_id"),
            _code("state"),
            _id("not_available_reason_id", True),
            _code("presence"),
            _at("started_at"),
            _at("ended_at"),
            _ms("duration_ms"),
        ],
        [("tenant_id", "user_id", "started_at")],
    ),
    "report_service_aggregates": (
        [
            sa.Column("id", sa.String(NAME), nullable=False),
            _id("service_id"),
            _at("bucket_start"),
            _code("modality"),
            _code("direction"),
            _bool("kpi_excluded"),
            *(
                _ms(name)
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
        ],
        [("tenant_id", "bucket_start")],
    ),
    "report_user_aggregates": (
        [
            sa.Column("id", sa.String(NAME), nullable=False),
            _id("user_id"),
            _id("service_id"),
            _at("bucket_start"),
            *(
                _ms(name)
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
        ],
        [("tenant_id", "bucket_start")],
    ),
    "report_user_state_aggregates": (
        [
            sa.Column("id", sa.String(NAME), nullable=False),
            _id("user_id"),
            _code("state"),
            _id("not_available_reason_id", True),
            _at("bucket_start"),
            _ms("duration_ms"),
        ],
        [("tenant_id", "bucket_start")],
    ),
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, (columns, indexes) in TABLES.items():
        op.create_table(
            table,
            sa.Column("tenant_id", sa.String(ID), nullable=False),
            *columns,
            sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants"
            ),
        )
        for index in indexes:
            op.create_index(f"ix_{table}_{'_'.join(index)}", table, list(index))
    op.create_table(
        "report_cursors",
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_seq", sa.BigInteger(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=True),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_report_cursors"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_report_cursors_tenant_id_tenants"
        ),
    )
    if postgres:
        for table in (*TABLES, "report_cursors"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING ({TENANT_MATCH}) WITH CHECK ({TENANT_MATCH})"
            )


def downgrade() -> None:
    # Policies and indexes go with their tables.
    op.drop_table("report_cursors")
    for table in reversed(TABLES):
        op.drop_table(table)
