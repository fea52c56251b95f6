"""Reconciliation and trading states: account states, the position book, recorded fills.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import ExactDecimal, UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_states",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("trading_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("fills_read_through", UtcDateTime(), nullable=True),
        sa.Column("reconciled_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_account_states")),
    )
    op.create_table(
        "book_positions",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.PrimaryKeyConstraint("account", "symbol", name=op.f("pk_book_positions")),
    )
    op.create_table(
        "fills",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("fill_id", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("broker_order_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("commission", ExactDecimal(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", "fill_id", name=op.f("pk_fills")),
    )
    op.create_index(op.f("ix_fills_client_order_id"), "fills", ["client_order_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fills_client_order_id"), table_name="fills")
    op.drop_table("fills")
    op.drop_table("book_positions")
    op.drop_table("account_states")
