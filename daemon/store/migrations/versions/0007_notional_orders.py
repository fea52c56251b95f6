"""Notional (dollar amount) orders: the amount on order intents.

The sim's orders got the same column here; the sim's own branch holds it now.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import ExactDecimal

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: every order before this revision was for a share quantity.
    op.add_column("order_intents", sa.Column("notional", ExactDecimal(), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite drops a column by copying the table.
    with op.batch_alter_table("order_intents") as batch:
        batch.drop_column("notional")
