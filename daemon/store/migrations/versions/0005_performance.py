"""Performance history and monitoring: valuations, cash flows, benchmark prices, alerts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import ExactDecimal, UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "valuations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("equity", ExactDecimal(), nullable=False),
        sa.Column("cash", ExactDecimal(), nullable=False),
        sa.Column("positions_value", ExactDecimal(), nullable=False),
        sa.Column("holdings", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_valuations")),
        sa.UniqueConstraint(
            "account", "trading_day", "source", "ref", name=op.f("uq_valuations_account")
        ),
    )
    op.create_index("ix_valuations_account_trading_day", "valuations", ["account", "trading_day"])
    op.create_table(
        "cash_flows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_flows")),
        sa.UniqueConstraint("account", "source", "external_id", name=op.f("uq_cash_flows_account")),
    )
    op.create_index("ix_cash_flows_account_trading_day", "cash_flows", ["account", "trading_day"])
    op.create_table(
        "benchmark_prices",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "trading_day", name=op.f("pk_benchmark_prices")),
    )
    op.create_table(
        "alerts",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("fired_at", UtcDateTime(), nullable=True),
        sa.Column("cleared_at", UtcDateTime(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("episodes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account", "key", name=op.f("pk_alerts")),
    )


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("benchmark_prices")
    op.drop_index("ix_cash_flows_account_trading_day", table_name="cash_flows")
    op.drop_table("cash_flows")
    op.drop_index("ix_valuations_account_trading_day", table_name="valuations")
    op.drop_table("valuations")
