"""Cluster bookkeeping: the scheduler's lease (its epoch) and every slot enqueued as a job.

procrastinate's own tables are not created here: they are its schema, applied by
`daemon.store.cluster.ensure_queue_schema` when cluster mode starts (PostgreSQL only).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("acquired_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_leases")),
    )
    op.create_table(
        "cluster_slots",
        sa.Column("slot_id", sa.String(160), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("enqueued_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slot_id", name=op.f("pk_cluster_slots")),
    )
    op.create_index(
        op.f("ix_cluster_slots_enqueued_at"), "cluster_slots", ["enqueued_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cluster_slots_enqueued_at"), table_name="cluster_slots")
    op.drop_table("cluster_slots")
    op.drop_table("cluster_leases")
