"""Each account's durable trading state: ACTIVE, REDUCING (only exposure-reducing orders) or
HALTED (no new orders). Trip rules and reconciliation mismatches move an account down; only
an operator's `trimtab resume` moves it back to ACTIVE.
"""

from __future__ import annotations

__all__ = [
    "AccountState",
    "ReadingMark",
    "account_state",
    "mark_reconciled",
    "reading_mark",
    "set_trading_state",
]

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from daemon.audit.events import TradingStateChanged
from daemon.core.domain import TradingState
from daemon.store.audit_log import AuditLog
from daemon.store.models import AccountStateRow


@dataclass(frozen=True, slots=True)
class AccountState:
    state: TradingState
    reason: str
    since: datetime | None


@dataclass(frozen=True, slots=True)
class ReadingMark:
    """How far reconciliation has read the account's fills, and when it last agreed."""

    fills_read_through: datetime | None
    reconciled_at: datetime | None


def _row(session: Session, account: str, at: datetime) -> AccountStateRow:
    row = session.get(AccountStateRow, account)
    if row is None:
        row = AccountStateRow(
            account=account,
            trading_state=str(TradingState.ACTIVE),
            reason="",
            actor="",
            changed_at=at,
        )
        session.add(row)
        session.flush()
    return row


def account_state(session: Session, account: str) -> AccountState:
    """Return the account's trading state (ACTIVE if it was never changed)."""
    row = session.get(AccountStateRow, account)
    if row is None:
        return AccountState(TradingState.ACTIVE, "", None)
    return AccountState(TradingState(row.trading_state), row.reason, row.changed_at)


def set_trading_state(
    session: Session,
    account: str,
    state: TradingState,
    *,
    reason: str,
    actor: str,
    at: datetime,
    cycle_id: str | None = None,
) -> AccountState:
    """Move the account to `state` and audit the change (a no-op change is not recorded)."""
    row = _row(session, account, at)
    before = TradingState(row.trading_state)
    if before == state:
        return account_state(session, account)
    row.trading_state = str(state)
    row.reason = reason
    row.actor = actor
    row.changed_at = at
    AuditLog(session).append(
        TradingStateChanged(before=before, after=state, reason=reason, actor=actor),
        at=at,
        account=account,
        cycle_id=cycle_id,
    )
    session.flush()
    return account_state(session, account)


def reading_mark(session: Session, account: str, at: datetime) -> ReadingMark:
    """Return reconciliation's bookkeeping for the account (its row is created on first use)."""
    row = _row(session, account, at)
    return ReadingMark(row.fills_read_through, row.reconciled_at)


def mark_reconciled(
    session: Session, account: str, *, at: datetime, fills_through: datetime | None
) -> None:
    """Record a reconciliation at `at` that read fills up to `fills_through` (None: no new
    fill, the mark stays); the mark never moves back."""
    row = _row(session, account, at)
    if fills_through is not None:
        row.fills_read_through = max(
            [fills_through] + ([row.fills_read_through] if row.fills_read_through else [])
        )
    row.reconciled_at = at
