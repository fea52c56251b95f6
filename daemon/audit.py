"""The audit log: append-only records, each chained to its predecessor by a SHA-256 hash.

Every decision that changes money, or declines to, is a record with its inputs and its reason.
Editing or deleting a stored record breaks the chain at that record, which `verify` names.
"""

from __future__ import annotations

__all__ = ["GENESIS_HASH", "AuditKind", "AuditLog", "AuditRecord"]

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.jsonable import canonical_json, to_jsonable
from daemon.persistence.models import AuditRecordRow

GENESIS_HASH = "0" * 64


class AuditKind(StrEnum):
    CYCLE_STARTED = "cycle_started"
    SNAPSHOT = "snapshot"
    TARGETS = "targets"
    PLAN = "plan"
    RISK_DECISION = "risk_decision"
    ORDER_INTENT = "order_intent"
    ORDER_RESULT = "order_result"
    FILL = "fill"
    CYCLE_FINISHED = "cycle_finished"
    CYCLE_FAILED = "cycle_failed"
    KILL_SWITCH = "kill_switch"
    CASH_MOVEMENT = "cash_movement"
    CONFIG_ERROR = "config_error"
    TRADING_STATE = "trading_state"
    RECONCILIATION = "reconciliation"
    EXTERNAL_ORDER = "external_order"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    recorded_at: datetime
    kind: str
    account: str | None
    cycle_id: str | None
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return to_jsonable(self)  # type: ignore[no-any-return]


def _digest(
    prev_hash: str,
    recorded_at: datetime,
    kind: str,
    account: str | None,
    cycle_id: str | None,
    payload: str,
) -> str:
    body = canonical_json(
        {
            "recorded_at": recorded_at,
            "kind": kind,
            "account": account,
            "cycle_id": cycle_id,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    """Audit records inside one unit of work (a session); commits with the work it records."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def append(
        self,
        kind: AuditKind,
        payload: Mapping[str, Any],
        *,
        at: datetime,
        account: str | None = None,
        cycle_id: str | None = None,
    ) -> AuditRecord:
        """Add one record after the current last one."""
        last = self._session.execute(
            select(AuditRecordRow.hash).order_by(AuditRecordRow.seq.desc()).limit(1)
        ).scalar_one_or_none()
        prev_hash = last or GENESIS_HASH
        text = canonical_json(payload)
        row = AuditRecordRow(
            recorded_at=at,
            kind=str(kind),
            account=account,
            cycle_id=cycle_id,
            payload=text,
            prev_hash=prev_hash,
            hash=_digest(prev_hash, at, str(kind), account, cycle_id, text),
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def records(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        account: str | None = None,
        kinds: Sequence[str] = (),
    ) -> list[AuditRecord]:
        """Return records in order, filtered by time range [since, until), account and kind."""
        query = select(AuditRecordRow).order_by(AuditRecordRow.seq)
        if since is not None:
            query = query.where(AuditRecordRow.recorded_at >= since)
        if until is not None:
            query = query.where(AuditRecordRow.recorded_at < until)
        if account is not None:
            query = query.where(AuditRecordRow.account == account)
        if kinds:
            query = query.where(AuditRecordRow.kind.in_(list(kinds)))
        return [_record(row) for row in self._session.execute(query).scalars()]

    def verify(self) -> int | None:
        """Return the sequence number of the first record that breaks the chain, or None."""
        prev_hash = GENESIS_HASH
        for row in self._session.execute(
            select(AuditRecordRow).order_by(AuditRecordRow.seq)
        ).scalars():
            expected = _digest(
                prev_hash, row.recorded_at, row.kind, row.account, row.cycle_id, row.payload
            )
            if row.prev_hash != prev_hash or row.hash != expected:
                return row.seq
            prev_hash = row.hash
        return None


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
