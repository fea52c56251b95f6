"""Simulated broker (moved): its tables now belong to the sim's own branch.

This revision used to create them; `adapters/sim/migrations` (branch `sim`) creates them now,
and adopts them in databases this revision made. Kept, empty, so that every database upgrades
along the same line of revisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create nothing: the sim's branch owns its tables."""


def downgrade() -> None:
    """Drop nothing: the sim's branch owns its tables."""
