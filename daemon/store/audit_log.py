"""The audit log's table: records appended to the hash chain, read back, and verified.

Every decision that changes money, or declines to, is a record with its inputs and its reason
(`daemon.audit.events`). Records are appended inside the unit of work whose change they record,
and commit with it; after a commit that appended, the newest record's place goes to the head
file (`daemon.audit.head`), so a log cut short is found.
"""

from __future__ import annotations

__all__ = ["SECRETS_KEY", "SESSION_KEY", "AuditLog"]

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event as orm_events
from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from daemon.audit.chain import GENESIS_HASH, ChainBreak, digest, first_break
from daemon.audit.events import AuditEvent, encode
from daemon.audit.head import AuditHead, write_forward
from daemon.audit.jsonable import canonical_json
from daemon.audit.record import AuditRecord, mentions
from daemon.core.errors import StateError
from daemon.core.redaction import redact_data
from daemon.logs import get_logger
from daemon.store.models import AuditRecordRow

SESSION_KEY = "audit_head"
"""Key in `Session.info` holding the head file's path (set by `open_database`)."""
SECRETS_KEY = "audit_secrets"
"""Key in `Session.info` holding the configuration's secrets (set by `Database.transaction`)."""
_PENDING = "audit_head_pending"
_LISTENING = "audit_head_listening"


class AuditLog:
    """Audit records inside one unit of work (a session); commits with the work it records."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def append(
        self,
        event: AuditEvent,
        *,
        at: datetime,
        account: str | None = None,
        cycle_id: str | None = None,
    ) -> AuditRecord:
        """Add `event` as one record after the current last one."""
        if self._session.get_bind().dialect.name == "postgresql":
            # Writers in several processes (cluster workers) take turns at the chain's end
            # until their transaction ends, instead of racing to the same prev_hash and
            # failing on its unique constraint. SQLite's BEGIN IMMEDIATE already does this.
            # The key names the schema: another schema's chain is another chain.
            self._session.execute(
                sql_text(
                    "SELECT pg_advisory_xact_lock("
                    "hashtextextended('trimtab:audit-chain@' || coalesce(current_schema(), ''), 0))"
                )
            )
        prev_hash = self._session.execute(
            select(AuditRecordRow.hash).order_by(AuditRecordRow.seq.desc()).limit(1)
        ).scalar_one_or_none()
        prev_hash = prev_hash or GENESIS_HASH
        kind = str(event.KIND)
        # Scrubbed before hashing, so the chain covers what is stored: a secret quoted in free
        # text (a kill reason, a broker's error) never reaches the database or its backups.
        secrets = self._session.info.get(SECRETS_KEY, frozenset())
        text = canonical_json(redact_data(encode(event), secrets))
        row = AuditRecordRow(
            recorded_at=at,
            kind=kind,
            account=account,
            cycle_id=cycle_id,
            payload=text,
            prev_hash=prev_hash,
            hash=digest(prev_hash, at, kind, account, cycle_id, text),
        )
        self._session.add(row)
        self._session.flush()
        _remember_on_commit(self._session, AuditHead(seq=row.seq, hash=row.hash))
        return _record(row)

    def records(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        account: str | None = None,
        kinds: Sequence[str] = (),
        symbol: str | None = None,
        after_seq: int | None = None,
    ) -> list[AuditRecord]:
        """Return records in order, filtered by time range [since, until), account, kind, a
        symbol the payload mentions (`mentions`), and sequence numbers after `after_seq`."""
        query = select(AuditRecordRow).order_by(AuditRecordRow.seq)
        if since is not None:
            query = query.where(AuditRecordRow.recorded_at >= since)
        if until is not None:
            query = query.where(AuditRecordRow.recorded_at < until)
        if account is not None:
            query = query.where(AuditRecordRow.account == account)
        if kinds:
            query = query.where(AuditRecordRow.kind.in_(list(kinds)))
        if after_seq is not None:
            query = query.where(AuditRecordRow.seq > after_seq)
        if symbol is not None:
            # A cheap text match first; `mentions` then drops symbols inside longer words.
            query = query.where(AuditRecordRow.payload.contains(f'"{symbol}"', autoescape=True))
        found = [_record(row) for row in self._session.execute(query).scalars()]
        if symbol is None:
            return found
        return [record for record in found if mentions(record.payload, symbol)]

    def latest(self, kind: str, account: str) -> AuditRecord | None:
        """Return the newest record of `kind` for `account`, None when there is none."""
        row = self._session.execute(
            select(AuditRecordRow)
            .where(AuditRecordRow.account == account, AuditRecordRow.kind == kind)
            .order_by(AuditRecordRow.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
        return None if row is None else _record(row)

    def newest(self) -> AuditHead | None:
        """Return the newest record's sequence number and hash, None for an empty log."""
        row = self._session.execute(
            select(AuditRecordRow.seq, AuditRecordRow.hash)
            .order_by(AuditRecordRow.seq.desc())
            .limit(1)
        ).first()
        return None if row is None else AuditHead(seq=int(row.seq), hash=str(row.hash))

    def last_seq(self) -> int:
        """Return the sequence number of the newest record (0 for an empty log)."""
        newest = self._session.execute(select(func.max(AuditRecordRow.seq))).scalar_one()
        return int(newest or 0)

    def verify(self) -> int | None:
        """Return the sequence number of the first record that breaks the chain, or None."""
        broken = self.check()
        return None if broken is None else broken.seq

    def check(self, head: AuditHead | None = None) -> ChainBreak | None:
        """Return the first break in the chain, or where the log falls short of `head`."""
        rows = self._session.execute(select(AuditRecordRow).order_by(AuditRecordRow.seq))
        return first_break(rows.scalars(), head)


def _record(row: AuditRecordRow) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        recorded_at=row.recorded_at,
        kind=row.kind,
        account=row.account,
        cycle_id=row.cycle_id,
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _remember_on_commit(session: Session, head: AuditHead) -> None:
    """Write `head` to the session's head file once the session commits (if it has one)."""
    if session.info.get(SESSION_KEY) is None:
        return
    session.info[_PENDING] = head
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        orm_events.listen(session, "after_commit", _after_commit)
        orm_events.listen(session, "after_soft_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    head: AuditHead | None = session.info.pop(_PENDING, None)
    path: Path | None = session.info.get(SESSION_KEY)
    if head is None or path is None:
        return
    try:
        write_forward(path, head)
    except (OSError, StateError) as exc:
        # The records are committed; a head file that lags only weakens the tail check.
        get_logger().warning("audit_head_not_written", path=str(path), error=str(exc))


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)
