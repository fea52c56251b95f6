"""Deterministic cycle ids: `account:trading-day:slot`, then `.2`, `.3`, ... for re-runs.

One place for the numbering, shared by the engine (which runs attempts) and the slot runner
(which records skipped slots as attempts), so both always agree on the next id.
"""

from __future__ import annotations

__all__ = ["next_attempt_id", "slot_attempts", "slot_base"]

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.store.models import CycleRow


def slot_base(account: str, day: date, slot: str) -> str:
    """Return the id of a slot's first attempt."""
    return f"{account}:{day}:{slot}"


def slot_attempts(session: Session, base: str) -> Sequence[CycleRow]:
    """Return the `cycles` rows of every attempt of the slot whose first id is `base`."""
    rows = (
        session.execute(select(CycleRow).where(CycleRow.cycle_id.startswith(base, autoescape=True)))
        .scalars()
        .all()
    )
    # `startswith` alone would also match `...:manual2`; an attempt is `base` or `base.N`.
    return [r for r in rows if r.cycle_id == base or r.cycle_id.startswith(base + ".")]


def next_attempt_id(base: str, earlier_attempts: int) -> str:
    """Return the id of the attempt after `earlier_attempts` earlier ones."""
    return base if earlier_attempts == 0 else f"{base}.{earlier_attempts + 1}"
