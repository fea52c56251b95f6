"""The `cycles` table: one row per attempt of an account's slot, and deterministic cycle ids.

Cycle ids are `account:trading-day:slot`, then `.2`, `.3`, ... for re-runs. One place for the
numbering, shared by the engine (which runs attempts) and the slot runner (which records
skipped slots as attempts), so both always agree on the next id.
"""

from __future__ import annotations

__all__ = ["CycleRecord", "CycleStore", "next_attempt_id", "slot_base"]

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon.store.models import CycleRow


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """One attempt of one account's cycle, as the `cycles` table holds it."""

    cycle_id: str
    account: str
    trading_day: date
    slot: str
    mode: str
    started_at: datetime
    outcome: str
    """running, succeeded, failed or skipped."""
    finished_at: datetime | None = None
    error: str | None = None


def slot_base(account: str, day: date, slot: str) -> str:
    """Return the id of a slot's first attempt."""
    return f"{account}:{day}:{slot}"


def next_attempt_id(base: str, earlier_attempts: int) -> str:
    """Return the id of the attempt after `earlier_attempts` earlier ones."""
    return base if earlier_attempts == 0 else f"{base}.{earlier_attempts + 1}"


class CycleStore:
    """Cycle attempts inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, cycle: CycleRecord) -> None:
        """Store a new attempt."""
        self._session.add(
            CycleRow(
                cycle_id=cycle.cycle_id,
                account=cycle.account,
                trading_day=cycle.trading_day,
                slot=cycle.slot,
                mode=cycle.mode,
                started_at=cycle.started_at,
                finished_at=cycle.finished_at,
                outcome=cycle.outcome,
                error=cycle.error,
            )
        )

    def finish(
        self, cycle_id: str, outcome: str, *, at: datetime, error: str | None = None
    ) -> None:
        """Set a stored attempt's outcome and end time (an id without a row is left alone)."""
        row = self._session.get(CycleRow, cycle_id)
        if row is None:
            return
        row.outcome = outcome
        row.finished_at = at
        if error is not None:
            row.error = error

    def attempts(self, base: str) -> list[CycleRecord]:
        """Return every attempt of the slot whose first id is `base`."""
        rows = self._session.scalars(
            select(CycleRow).where(CycleRow.cycle_id.startswith(base, autoescape=True))
        )
        # `startswith` alone would also match `...:manual2`; an attempt is `base` or `base.N`.
        return [_record(r) for r in rows if r.cycle_id == base or r.cycle_id.startswith(base + ".")]

    def latest(self, account: str) -> CycleRecord | None:
        """Return the account's most recently started attempt."""
        found = self.recent(account, limit=1)
        return found[0] if found else None

    def recent(
        self, account: str, *, outcomes: Iterable[str] | None = None, limit: int
    ) -> list[CycleRecord]:
        """Return the account's latest `limit` attempts, newest first, of the given outcomes."""
        query = select(CycleRow).where(CycleRow.account == account)
        if outcomes is not None:
            query = query.where(CycleRow.outcome.in_(list(outcomes)))
        query = query.order_by(CycleRow.started_at.desc()).limit(limit)
        return [_record(row) for row in self._session.scalars(query)]

    def slots_since(
        self, account: str, *, outcomes: Iterable[str], first_day: date
    ) -> list[tuple[date, str]]:
        """Return (trading day, slot) of the account's attempts with these outcomes, from
        `first_day` on."""
        rows = self._session.execute(
            select(CycleRow.trading_day, CycleRow.slot).where(
                CycleRow.account == account,
                CycleRow.outcome.in_(list(outcomes)),
                CycleRow.trading_day >= first_day,
            )
        )
        return [(day, slot) for day, slot in rows]

    def outcomes_on(self, account: str, day: date) -> list[str]:
        """Return the outcomes of the account's attempts on one trading day."""
        return list(
            self._session.scalars(
                select(CycleRow.outcome).where(
                    CycleRow.account == account, CycleRow.trading_day == day
                )
            )
        )

    def last_success_day(self, account: str) -> date | None:
        """Return the latest trading day with a succeeded attempt."""
        return self._session.execute(
            select(func.max(CycleRow.trading_day)).where(
                CycleRow.account == account, CycleRow.outcome == "succeeded"
            )
        ).scalar_one()

    def first_started_at(self, account: str) -> datetime | None:
        """Return when the account's first attempt started."""
        return self._session.execute(
            select(func.min(CycleRow.started_at)).where(CycleRow.account == account)
        ).scalar_one()


def _record(row: CycleRow) -> CycleRecord:
    return CycleRecord(
        cycle_id=row.cycle_id,
        account=row.account,
        trading_day=row.trading_day,
        slot=row.slot,
        mode=row.mode,
        started_at=row.started_at,
        outcome=row.outcome,
        finished_at=row.finished_at,
        error=row.error,
    )
