"""The durable kill switch: while engaged, cycles still plan and audit but submit nothing.

It lives in the database, so it survives restarts; only an operator command clears it.
"""

from __future__ import annotations

__all__ = ["KillSwitchState", "current", "set_kill_switch"]

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.audit.events import KillSwitchChanged
from daemon.store.audit_log import AuditLog
from daemon.store.models import KillSwitchEventRow


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""
    actor: str = ""
    since: datetime | None = None


def current(session: Session) -> KillSwitchState:
    """Return the kill switch as it stands (disengaged if it was never touched)."""
    row = session.execute(
        select(KillSwitchEventRow).order_by(KillSwitchEventRow.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        return KillSwitchState(engaged=False)
    return KillSwitchState(engaged=row.engaged, reason=row.reason, actor=row.actor, since=row.at)


def set_kill_switch(
    session: Session, *, engaged: bool, reason: str, actor: str, at: datetime
) -> KillSwitchState:
    """Engage or clear the kill switch and audit the change in the same transaction."""
    before = current(session)
    session.add(KillSwitchEventRow(at=at, engaged=engaged, reason=reason, actor=actor))
    AuditLog(session).append(
        KillSwitchChanged(engaged=engaged, was_engaged=before.engaged, reason=reason, actor=actor),
        at=at,
    )
    session.flush()
    return current(session)
