"""Tables of the long-running daemon: its heartbeat and the notifications it sent or held back.

Each account's last cycle and its outcome are not copied here: they are the `cycles` rows.
"""

from __future__ import annotations

__all__ = ["HeartbeatRow", "NotificationRow"]

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from daemon.store.base import Base
from daemon.store.types import UtcDateTime


class HeartbeatRow(Base):
    """The running daemon's liveness: one row per state database, rewritten every beat."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    hostname: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class NotificationRow(Base):
    """One message to the owner: sent, failed to send, or held back by the rate limit."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(160), index=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
