"""The audit log: append-only records, each chained to its predecessor by a SHA-256 hash.

Every decision that changes money, or declines to, is a record with its inputs and its reason.
Editing, deleting or reordering stored records breaks the chain at the first record affected,
which `check` names; records cut off the end are found through the head file (`audit_head`).
"""

from __future__ import annotations

__all__ = ["GENESIS_HASH", "AuditKind", "AuditLog", "AuditRecord", "ChainBreak", "mentions"]

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon.audit.head import AuditHead, remember_on_commit
from daemon.audit.jsonable import canonical_json, to_jsonable
from daemon.store.models import AuditRecordRow

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
    CONFIG_RELOADED = "config_reloaded"
    TRADING_STATE = "trading_state"
    RECONCILIATION = "reconciliation"
    EXTERNAL_ORDER = "external_order"
    TAX_DECISION = "tax_decision"
    TAX_LOTS = "tax_lots"
    ALERT = "alert"


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


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first record at which the log stops being what was written, and why."""

    seq: int
    problem: str


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
        remember_on_commit(self._session, AuditHead(seq=row.seq, hash=row.hash))
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
        prev_hash = GENESIS_HASH
        at_head: str | None = None
        for row in self._session.execute(
            select(AuditRecordRow).order_by(AuditRecordRow.seq)
        ).scalars():
            if row.prev_hash != prev_hash:
                return ChainBreak(
                    row.seq,
                    "it does not follow the record before it: a record before it was removed "
                    "or moved, or its link was changed",
                )
            expected = _digest(
                prev_hash, row.recorded_at, row.kind, row.account, row.cycle_id, row.payload
            )
            if row.hash != expected:
                return ChainBreak(row.seq, "its content does not match its hash: it was edited")
            if head is not None and row.seq == head.seq:
                at_head = row.hash
            prev_hash = row.hash
        if head is not None and at_head != head.hash:
            what = "is missing" if at_head is None else "has a different hash"
            return ChainBreak(
                head.seq,
                f"record {head.seq}, the newest one written according to the head file, {what}: "
                "records were cut off the end of the log, or the database was restored from an "
                "older copy",
            )
        return None


def mentions(value: Any, symbol: str) -> bool:
    """Tell whether `symbol` is a whole string value or a key anywhere inside `value`."""
    if isinstance(value, str):
        return value == symbol
    if isinstance(value, Mapping):
        return any(key == symbol or mentions(item, symbol) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(mentions(item, symbol) for item in value)
    return False


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
