"""The hash chain: each stored record's hash covers its content and its predecessor's hash.

Editing, deleting or reordering stored records breaks the chain at the first record affected,
which `first_break` names; records cut off the end are found through the head file
(`daemon.audit.head`).
"""

from __future__ import annotations

__all__ = ["GENESIS_HASH", "ChainBreak", "Sealed", "digest", "first_break"]

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from daemon.audit.head import AuditHead
from daemon.audit.jsonable import canonical_json

GENESIS_HASH = "0" * 64


class Sealed(Protocol):
    """A record as stored: its payload is the canonical JSON text that was hashed."""

    @property
    def seq(self) -> int: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def account(self) -> str | None: ...
    @property
    def cycle_id(self) -> str | None: ...
    @property
    def payload(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first record at which the log stops being what was written, and why."""

    seq: int
    problem: str


def digest(
    prev_hash: str,
    recorded_at: datetime,
    kind: str,
    account: str | None,
    cycle_id: str | None,
    payload: str,
) -> str:
    """Return the hash of one record whose payload's canonical JSON is `payload`."""
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


def first_break(records: Iterable[Sealed], head: AuditHead | None = None) -> ChainBreak | None:
    """Return the first break in `records` (all of them, in order), or where they fall short
    of `head`."""
    prev_hash = GENESIS_HASH
    at_head: str | None = None
    for record in records:
        if record.prev_hash != prev_hash:
            return ChainBreak(
                record.seq,
                "it does not follow the record before it: a record before it was removed "
                "or moved, or its link was changed",
            )
        expected = digest(
            prev_hash,
            record.recorded_at,
            record.kind,
            record.account,
            record.cycle_id,
            record.payload,
        )
        if record.hash != expected:
            return ChainBreak(record.seq, "its content does not match its hash: it was edited")
        if head is not None and record.seq == head.seq:
            at_head = record.hash
        prev_hash = record.hash
    if head is not None and at_head != head.hash:
        what = "is missing" if at_head is None else "has a different hash"
        return ChainBreak(
            head.seq,
            f"record {head.seq}, the newest one written according to the head file, {what}: "
            "records were cut off the end of the log, or the database was restored from an "
            "older copy",
        )
    return None
