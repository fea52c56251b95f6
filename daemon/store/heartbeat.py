"""The running daemon's heartbeat: one row per state database, rewritten every beat."""

from __future__ import annotations

__all__ = ["HEARTBEAT", "Heartbeat", "HeartbeatStore"]

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from daemon.store.daemon_models import HeartbeatRow

HEARTBEAT = "daemon"
"""The heartbeat row's name: one running daemon per state database."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pid: int
    hostname: str
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None
    """When the daemon stopped cleanly; None while it runs (or after it died)."""


class HeartbeatStore:
    """The daemon's heartbeat row inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self) -> Heartbeat | None:
        """Return the last heartbeat, or None if no daemon ever beat."""
        row = self._session.get(HeartbeatRow, HEARTBEAT)
        if row is None:
            return None
        return Heartbeat(row.pid, row.hostname, row.started_at, row.beat_at, row.stopped_at)

    def beat(self, *, now: datetime, started_at: datetime, pid: int, hostname: str) -> None:
        """Write the running daemon's heartbeat."""
        row = self._session.get(HeartbeatRow, HEARTBEAT)
        if row is None:
            row = HeartbeatRow(name=HEARTBEAT)
            self._session.add(row)
        row.pid, row.hostname, row.started_at, row.beat_at = pid, hostname, started_at, now
        row.stopped_at = None

    def stop(self, *, now: datetime) -> None:
        """Record a clean stop, so health says "stopped" rather than "stuck"."""
        row = self._session.get(HeartbeatRow, HEARTBEAT)
        if row is not None:
            row.stopped_at = now
