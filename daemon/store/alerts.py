"""The `alerts` table: each monitored condition's current episode, by account and key."""

from __future__ import annotations

__all__ = ["AlertStore", "StoredAlert"]

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.store.performance_models import AlertRow


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """One condition's episode as stored; `daemon.monitor.alerts.AlertState` checks the words."""

    account: str
    key: str
    state: str
    severity: str
    since: datetime
    last_seen_at: datetime
    fired_at: datetime | None
    cleared_at: datetime | None
    message: str
    episodes: int


class AlertStore:
    """Alert episodes inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def listed(self, *, account: str | None = None, firing_only: bool = False) -> list[StoredAlert]:
        """Return the stored conditions (of one account, only the firing ones), by account
        and key."""
        query = select(AlertRow).order_by(AlertRow.account, AlertRow.key)
        if account is not None:
            query = query.where(AlertRow.account == account)
        if firing_only:
            query = query.where(AlertRow.state == "firing")
        return [_stored(row) for row in self._session.scalars(query)]

    def save(self, alerts: Iterable[StoredAlert]) -> None:
        """Write each condition's episode over its stored one."""
        for alert in alerts:
            row = self._session.get(AlertRow, (alert.account, alert.key))
            if row is None:
                row = AlertRow(account=alert.account, key=alert.key)
                self._session.add(row)
            row.state = alert.state
            row.severity = alert.severity
            row.since = alert.since
            row.last_seen_at = alert.last_seen_at
            row.fired_at = alert.fired_at
            row.cleared_at = alert.cleared_at
            row.message = alert.message
            row.episodes = alert.episodes
        self._session.flush()


def _stored(row: AlertRow) -> StoredAlert:
    return StoredAlert(
        account=row.account,
        key=row.key,
        state=row.state,
        severity=row.severity,
        since=row.since,
        last_seen_at=row.last_seen_at,
        fired_at=row.fired_at,
        cleared_at=row.cleared_at,
        message=row.message,
        episodes=row.episodes,
    )
