"""The household tax-lot ledger: lots, sales, reliefs, and planned lot choices.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import ExactDecimal, UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tax_lots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("acquired", sa.Date(), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("cost", ExactDecimal(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(160), nullable=False),
        sa.Column("order_ref", sa.String(160), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_lots")),
        sa.UniqueConstraint("account", "source_id", name="uq_tax_lots_account_source_id"),
    )
    op.create_index("ix_tax_lots_account_symbol", "tax_lots", ["account", "symbol"])
    op.create_index("ix_tax_lots_acquired", "tax_lots", ["acquired"])
    op.create_table(
        "tax_sales",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("sold", sa.Date(), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("proceeds", ExactDecimal(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(160), nullable=False),
        sa.Column("harvest", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_sales")),
        sa.UniqueConstraint("account", "source_id", name="uq_tax_sales_account_source_id"),
    )
    op.create_index("ix_tax_sales_account_symbol", "tax_sales", ["account", "symbol"])
    op.create_index("ix_tax_sales_sold", "tax_sales", ["sold"])
    op.create_table(
        "tax_reliefs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["tax_sales.id"], name=op.f("fk_tax_reliefs_sale_id_tax_sales")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["tax_lots.id"], name=op.f("fk_tax_reliefs_lot_id_tax_lots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_reliefs")),
    )
    op.create_index(op.f("ix_tax_reliefs_sale_id"), "tax_reliefs", ["sale_id"])
    op.create_index("ix_tax_reliefs_lot_id", "tax_reliefs", ["lot_id"])
    op.create_table(
        "tax_lot_choices",
        sa.Column("cycle_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("qty", ExactDecimal(), nullable=False),
        sa.Column("harvest", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["tax_lots.id"], name=op.f("fk_tax_lot_choices_lot_id_tax_lots")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "symbol", "lot_id", name=op.f("pk_tax_lot_choices")),
    )


def downgrade() -> None:
    op.drop_table("tax_lot_choices")
    op.drop_index("ix_tax_reliefs_lot_id", table_name="tax_reliefs")
    op.drop_index(op.f("ix_tax_reliefs_sale_id"), table_name="tax_reliefs")
    op.drop_table("tax_reliefs")
    op.drop_index("ix_tax_sales_sold", table_name="tax_sales")
    op.drop_index("ix_tax_sales_account_symbol", table_name="tax_sales")
    op.drop_table("tax_sales")
    op.drop_index("ix_tax_lots_acquired", table_name="tax_lots")
    op.drop_index("ix_tax_lots_account_symbol", table_name="tax_lots")
    op.drop_table("tax_lots")
