"""Core state: audit records, cycles, order intents and events, kill switch.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import ExactDecimal, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("cycle_id", sa.String(128), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_records_prev_hash")),
    )
    op.create_index("ix_audit_records_recorded_at", "audit_records", ["recorded_at"])
    op.create_index("ix_audit_records_cycle_id", "audit_records", ["cycle_id"])
    op.create_table(
        "cycles",
        sa.Column("cycle_id", sa.String(128), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_cycles")),
    )
    op.create_index(op.f("ix_cycles_account"), "cycles", ["account"])
    op.create_table(
        "order_intents",
        sa.Column("client_order_id", sa.String(48), nullable=False),
        sa.Column("cycle_id", sa.String(128), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("limit_price", ExactDecimal(), nullable=True),
        sa.Column("reference_price", ExactDecimal(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("broker_order_id", sa.String(64), nullable=True),
        sa.Column("filled_qty", ExactDecimal(), nullable=False),
        sa.Column("avg_fill_price", ExactDecimal(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.cycle_id"], name=op.f("fk_order_intents_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("client_order_id", name=op.f("pk_order_intents")),
    )
    op.create_index(
        "ix_order_intents_account_status", "order_intents", ["account", "status"]
    )
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_order_id", sa.String(48), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["order_intents.client_order_id"],
            name=op.f("fk_order_events_client_order_id_order_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index(
        op.f("ix_order_events_client_order_id"), "order_events", ["client_order_id"]
    )
    op.create_table(
        "kill_switch_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kill_switch_events")),
    )


def downgrade() -> None:
    op.drop_table("kill_switch_events")
    op.drop_index(op.f("ix_order_events_client_order_id"), table_name="order_events")
    op.drop_table("order_events")
    op.drop_index("ix_order_intents_account_status", table_name="order_intents")
    op.drop_table("order_intents")
    op.drop_index(op.f("ix_cycles_account"), table_name="cycles")
    op.drop_table("cycles")
    op.drop_index("ix_audit_records_cycle_id", table_name="audit_records")
    op.drop_index("ix_audit_records_recorded_at", table_name="audit_records")
    op.drop_table("audit_records")
