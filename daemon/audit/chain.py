"""The hash chain: each stored record's hash covers its content and its predecessor's hash.

Editing, deleting or reordering stored records breaks the chain at the first record affected,
which `first_break` names; records cut off the end are found through the head file
(`daemon.audit.head`).

The hashes are not keyed: whoever can write the database can rewrite a record, recompute every
later hash and rewrite the head file, and the chain is valid again; a forged record appended at
the end carries a valid hash too. So an intact chain proves nothing alone. A head kept outside
the machine (the report's footer and the daily digest print one) does: `against_kept` checks
that the log still holds that record with that hash, which proves every record up to it is as
written. Records after the newest kept head are not proven.
"""

from __future__ import annotations

__all__ = ["GENESIS_HASH", "ChainBreak", "Sealed", "against_kept", "digest", "first_break"]

import hashlib
from collections.abc import Iterable, Mapping
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


def against_kept(hashes: Mapping[int, str], kept: Iterable[AuditHead]) -> ChainBreak | None:
    """Return the first head in `kept` (oldest first) that the log's stored `hashes` (sequence
    number -> hash, of a chain `first_break` found intact) do not hold, or None."""
    for head in sorted(kept, key=lambda h: h.seq):
        found = hashes.get(head.seq)
        if found == head.hash:
            continue
        if found is None:
            return ChainBreak(
                head.seq,
                f"record {head.seq}, the head you kept, is missing: records were cut off the "
                "end of the log, or the database was restored from an older copy",
            )
        return ChainBreak(
            head.seq,
            f"record {head.seq} has hash {found}, not {head.hash} as the head you kept says: "
            f"the log up to record {head.seq} was rewritten and its hashes recomputed",
        )
    return None
