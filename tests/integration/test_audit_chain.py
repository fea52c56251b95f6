"""The audit chain on SQLite and PostgreSQL: what tampering `check` names, and the head file.

Detected: an edited record (its hash no longer matches), a removed record anywhere but the end
and a reordered pair (the next record no longer follows its predecessor), and, with the head
file, records cut off the end. Not detected by the chain alone: records cut off the end
(test_cut_tail_needs_the_head_file documents it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from daemon.audit.chain import ChainBreak
from daemon.audit.events import CashMovement
from daemon.audit.head import AUDIT_HEAD_NAME, AuditHead, read_head
from daemon.core.errors import StateError
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database, reset_marker
from daemon.store.models import AuditRecordRow

T0 = datetime(2026, 11, 24, 15, 45, tzinfo=UTC)


def write(database: Database, count: int, start: int = 0) -> list[int]:
    with database.transaction() as session:
        log = AuditLog(session)
        return [
            log.append(
                CashMovement(amount=Decimal(n), kind="deposit"),
                at=T0 + timedelta(minutes=n),
                account="a",
            ).seq
            for n in range(start, start + count)
        ]


def append_then_fail(database: Database) -> None:
    with database.transaction() as session:
        AuditLog(session).append(CashMovement(amount=Decimal(1)), at=T0, account="a")
        raise RuntimeError("the unit of work fails after the audit append")


def check(database: Database, head: AuditHead | None = None) -> ChainBreak | None:
    with database.transaction() as session:
        return AuditLog(session).check(head)


def head_of(tmp_path: Path) -> AuditHead | None:
    return read_head(tmp_path / "state" / AUDIT_HEAD_NAME)


def test_an_intact_chain_passes_and_the_head_file_follows_it(
    database: Database, tmp_path: Path
) -> None:
    seqs = write(database, 3)
    head = head_of(tmp_path)
    assert head is not None
    assert head.seq == seqs[-1]
    assert check(database, head) is None
    assert (tmp_path / "state" / AUDIT_HEAD_NAME).stat().st_mode & 0o077 == 0


def test_an_edited_record_is_named(database: Database) -> None:
    seqs = write(database, 5)
    with database.transaction() as session:
        session.execute(
            update(AuditRecordRow)
            .where(AuditRecordRow.seq == seqs[2])
            .values(payload='{"amount":"2000","kind":"deposit"}')
        )
    broken = check(database)
    assert broken is not None
    assert broken.seq == seqs[2]
    assert "edited" in broken.problem


def test_an_edited_last_record_is_named(database: Database) -> None:
    seqs = write(database, 4)
    with database.transaction() as session:
        session.execute(
            update(AuditRecordRow).where(AuditRecordRow.seq == seqs[-1]).values(account="b")
        )
    assert check(database) == ChainBreak(
        seqs[-1], "its content does not match its hash: it was edited"
    )


@pytest.mark.parametrize("position", [0, 2])
def test_a_deleted_record_is_found_at_the_next_one(database: Database, position: int) -> None:
    seqs = write(database, 5)
    with database.transaction() as session:
        session.execute(delete(AuditRecordRow).where(AuditRecordRow.seq == seqs[position]))
    broken = check(database)
    assert broken is not None
    assert broken.seq == seqs[position + 1]
    assert "does not follow the record before it" in broken.problem


def test_reordered_records_are_named_at_the_first_moved(database: Database) -> None:
    seqs = write(database, 5)
    columns = ("recorded_at", "kind", "account", "cycle_id", "payload", "prev_hash", "hash")
    with database.transaction() as session:
        first, second = (session.get(AuditRecordRow, seq) for seq in seqs[1:3])
        assert first is not None
        assert second is not None
        one = {c: getattr(first, c) for c in columns}
        two = {c: getattr(second, c) for c in columns}
        # Park one row's unique prev_hash while swapping, as a careful editor would.
        session.execute(
            update(AuditRecordRow).where(AuditRecordRow.seq == seqs[1]).values(prev_hash="x")
        )
        session.execute(update(AuditRecordRow).where(AuditRecordRow.seq == seqs[2]).values(**one))
        session.execute(update(AuditRecordRow).where(AuditRecordRow.seq == seqs[1]).values(**two))
    with database.transaction() as session:
        amounts = [r.payload["amount"] for r in AuditLog(session).records()]
    assert amounts == ["0", "2", "1", "3", "4"]
    broken = check(database)
    assert broken is not None
    assert broken.seq == seqs[1]


def test_cut_tail_needs_the_head_file(database: Database, tmp_path: Path) -> None:
    seqs = write(database, 4)
    head = head_of(tmp_path)
    with database.transaction() as session:
        session.execute(delete(AuditRecordRow).where(AuditRecordRow.seq >= seqs[2]))
    # The chain alone cannot tell: the two records left are a valid, shorter chain.
    assert check(database) is None
    broken = check(database, head)
    assert broken is not None
    assert broken.seq == seqs[-1]
    assert "cut off the end" in broken.problem


def test_a_rewritten_last_record_differs_from_the_head(database: Database, tmp_path: Path) -> None:
    seqs = write(database, 3)
    head = head_of(tmp_path)
    assert head is not None
    # A forger who recomputes the hash keeps the chain valid; the head file does not follow.
    with database.transaction() as session:
        row = session.get(AuditRecordRow, seqs[-1])
        assert row is not None
        session.delete(row)
    with database.transaction() as session:
        AuditLog(session).append(CashMovement(amount=Decimal(99)), at=T0, account="a")
    with database.transaction() as session:
        renumbered = session.execute(select(AuditRecordRow).order_by(AuditRecordRow.seq)).all()
    assert check(database) is None
    broken = check(database, head)
    assert broken is not None
    if renumbered[-1][0].seq == seqs[-1]:
        assert "has a different hash" in broken.problem
    else:
        assert "is missing" in broken.problem


def test_the_head_file_ignores_rolled_back_appends(database: Database, tmp_path: Path) -> None:
    seqs = write(database, 2)
    with pytest.raises(RuntimeError, match="fails after"):
        append_then_fail(database)
    head = head_of(tmp_path)
    assert head is not None
    assert head.seq == seqs[-1]
    assert check(database, head) is None
    more = write(database, 1, start=5)
    assert head_of(tmp_path) == AuditHead(more[0], _hash(database, more[0]))


def test_the_head_file_only_moves_forward(database: Database, tmp_path: Path) -> None:
    seqs = write(database, 3)
    path = tmp_path / "state" / AUDIT_HEAD_NAME
    path.write_text(json.dumps({"seq": seqs[-1] + 10, "hash": "f" * 64}))
    write(database, 1, start=9)
    head = read_head(path)
    assert head is not None
    assert head.seq == seqs[-1] + 10


def test_an_unreadable_head_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / AUDIT_HEAD_NAME
    path.write_text("{not json")
    with pytest.raises(StateError, match=r"audit head file .* is unreadable"):
        read_head(path)
    path.write_text('{"seq": "7"}')
    with pytest.raises(StateError, match="sequence number and a hash"):
        read_head(path)


def test_starting_over_sets_the_old_head_aside(database: Database, tmp_path: Path) -> None:
    write(database, 1)
    state = tmp_path / "state"
    reset_marker(state)
    assert not (state / AUDIT_HEAD_NAME).exists()
    assert [p.name for p in state.glob(f"{AUDIT_HEAD_NAME}.set-aside-*")]


def _hash(database: Database, seq: int) -> str:
    with database.transaction() as session:
        row = session.get(AuditRecordRow, seq)
        assert row is not None
        return row.hash
