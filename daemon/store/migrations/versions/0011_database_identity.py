"""The database's identity: one random row, mixed into every client order id.

Written once, here: for a new database when its schema is created, for an existing one when
it is upgraded. Intents stored before keep the ids they were sent under.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from daemon.store.types import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "database_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("identity", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_database_identity")),
    )
    # 128 random bits: two databases (a start-over and the one it replaced) never share one.
    op.bulk_insert(
        table, [{"id": 1, "identity": secrets.token_hex(16), "created_at": datetime.now(UTC)}]
    )


def downgrade() -> None:
    op.drop_table("database_identity")
