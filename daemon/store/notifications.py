"""The `notifications` table: every message to the owner, sent, failed or held back.

The records are the rate limiter (`daemon.monitor.notify`), so they survive restarts.
"""

from __future__ import annotations

__all__ = ["NotificationStore"]

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from daemon.store.daemon_models import NotificationRow

TRIED = ("sent", "failed", "sending")
"""Statuses of messages that went out, or were on their way."""


class NotificationStore:
    """Notification records inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, *, at: datetime, kind: str, key: str, title: str, status: str, detail: str = ""
    ) -> int:
        """Record a message; return its record's id."""
        row = NotificationRow(at=at, kind=kind, key=key, title=title, status=status, detail=detail)
        self._session.add(row)
        self._session.flush()
        return row.id

    def set_status(self, record_id: int, status: str, detail: str) -> None:
        """Record what became of a message (a pruned record is left alone)."""
        row = self._session.get(NotificationRow, record_id)
        if row is not None:
            row.status = status
            row.detail = detail

    def prune(self, before: datetime) -> None:
        """Forget the records older than `before`."""
        self._session.execute(delete(NotificationRow).where(NotificationRow.at < before))

    def sent_since(self, key: str, since: datetime) -> int:
        """Count the messages with this key sent after `since`."""
        return self._count(
            NotificationRow.key == key,
            NotificationRow.status == "sent",
            NotificationRow.at > since,
        )

    def tried_since(self, since: datetime) -> int:
        """Count the messages that went out (or tried to) after `since`."""
        return self._count(NotificationRow.status.in_(TRIED), NotificationRow.at > since)

    def held_back(self) -> int:
        """Count the messages held back since the last one that went out (or tried to)."""
        last_out = self._session.execute(
            select(func.max(NotificationRow.id)).where(NotificationRow.status.in_(TRIED))
        ).scalar_one()
        if last_out is None:
            return self._count(NotificationRow.status == "suppressed")
        return self._count(NotificationRow.status == "suppressed", NotificationRow.id > last_out)

    def _count(self, *conditions: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(NotificationRow).where(*conditions)
        return int(self._session.execute(query).scalar_one())
