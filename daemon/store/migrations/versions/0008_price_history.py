"""Price history cache: daily closes per (source, symbol, day) and what was fetched.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import ExactDecimal, UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_closes",
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("close", ExactDecimal(), nullable=False),
        sa.PrimaryKeyConstraint("source", "symbol", "day", name=op.f("pk_price_closes")),
    )
    op.create_table(
        "price_fetches",
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("fetched_at", UtcDateTime(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "symbol", name=op.f("pk_price_fetches")),
    )


def downgrade() -> None:
    op.drop_table("price_fetches")
    op.drop_table("price_closes")
