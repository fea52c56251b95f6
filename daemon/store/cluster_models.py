"""Tables of cluster mode: the scheduler's lease and the slots enqueued as jobs.

procrastinate's tables (`procrastinate_jobs`, `procrastinate_workers`, ...) are its own and
are read by `daemon.store.cluster` with plain SQL, never mapped here.
"""

from __future__ import annotations

__all__ = ["ClusterLeaseRow", "ClusterSlotRow"]

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from daemon.store.base import Base
from daemon.store.types import UtcDateTime


class ClusterLeaseRow(Base):
    """Who leads the scheduling, and the epoch it leads in (one more at every takeover)."""

    __tablename__ = "cluster_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ClusterSlotRow(Base):
    """One account slot handed to the queue: written with its job, in one transaction."""

    __tablename__ = "cluster_slots"

    slot_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    trading_day: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
