"""The simulated broker's tables: paper accounts, positions, orders, fills, cash movements.

The first revision of the sim's own branch (label `sim`). Databases from before the branch
existed already hold these tables, made by trimtab's revisions 0002 and 0007: this revision
adopts them as they are (adding the notional column if 0007 has not run) instead of creating
them again.

Revision ID: sim_0001
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sim.store import ExactDecimal, UtcDateTime

revision: str = "sim_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("sim",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = sa.inspect(op.get_bind())
    if existing.has_table("sim_orders"):
        columns = {column["name"] for column in existing.get_columns("sim_orders")}
        if "notional" not in columns:
            op.add_column("sim_orders", sa.Column("notional", ExactDecimal(), nullable=True))
        return
    op.create_table(
        "sim_accounts",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("cash", ExactDecimal(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_sim_accounts")),
    )
    op.create_table(
        "sim_positions",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("avg_cost", ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["sim_accounts.account"],
            name=op.f("fk_sim_positions_account_sim_accounts"),
        ),
        sa.PrimaryKeyConstraint("account", "symbol", name=op.f("pk_sim_positions")),
    )
    op.create_table(
        "sim_orders",
        sa.Column("broker_order_id", sa.String(36), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("limit_price", ExactDecimal(), nullable=True),
        sa.Column("notional", ExactDecimal(), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("filled_qty", ExactDecimal(), nullable=False),
        sa.Column("avg_fill_price", ExactDecimal(), nullable=True),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["sim_accounts.account"],
            name=op.f("fk_sim_orders_account_sim_accounts"),
        ),
        sa.PrimaryKeyConstraint("broker_order_id", name=op.f("pk_sim_orders")),
        sa.UniqueConstraint(
            "account", "client_order_id", name=op.f("uq_sim_orders_account_client_order_id")
        ),
        sa.UniqueConstraint("account", "seq", name=op.f("uq_sim_orders_account_seq")),
    )
    op.create_index("ix_sim_orders_account_status", "sim_orders", ["account", "status"])
    op.create_table(
        "sim_fills",
        sa.Column("fill_id", sa.String(36), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("broker_order_id", sa.String(36), nullable=False),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("commission", ExactDecimal(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["sim_accounts.account"],
            name=op.f("fk_sim_fills_account_sim_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["broker_order_id"],
            ["sim_orders.broker_order_id"],
            name=op.f("fk_sim_fills_broker_order_id_sim_orders"),
        ),
        sa.PrimaryKeyConstraint("fill_id", name=op.f("pk_sim_fills")),
        sa.UniqueConstraint("account", "seq", name=op.f("uq_sim_fills_account_seq")),
    )
    op.create_table(
        "sim_cash_movements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["sim_accounts.account"],
            name=op.f("fk_sim_cash_movements_account_sim_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_cash_movements")),
    )
    op.create_index(op.f("ix_sim_cash_movements_account"), "sim_cash_movements", ["account"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sim_cash_movements_account"), table_name="sim_cash_movements")
    op.drop_table("sim_cash_movements")
    op.drop_table("sim_fills")
    op.drop_index("ix_sim_orders_account_status", table_name="sim_orders")
    op.drop_table("sim_orders")
    op.drop_table("sim_positions")
    op.drop_table("sim_accounts")
