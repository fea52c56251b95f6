"""Any single edit, deletion or swap of stored audit records is named at the right record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from daemon.audit.events import CashMovement
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database, open_database
from daemon.store.models import AuditRecordRow
from tests.hypothesis_profiles import scaled

T0 = datetime(2026, 11, 24, 15, 45, tzinfo=UTC)
COLUMNS = ("recorded_at", "kind", "account", "cycle_id", "payload", "prev_hash", "hash")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    state = tmp_path_factory.mktemp("chain")
    db = open_database(f"sqlite:///{state / 'trimtab.db'}", Path(state))
    yield db
    db.close()


def fresh_log(database: Database, count: int) -> list[int]:
    with database.transaction() as session:
        session.execute(delete(AuditRecordRow))
    with database.transaction() as session:
        log = AuditLog(session)
        return [
            log.append(
                CashMovement(amount=Decimal(n)),
                at=T0 + timedelta(seconds=n),
                account="a",
            ).seq
            for n in range(count)
        ]


@st.composite
def tampering(draw: st.DrawFn) -> tuple[int, str, int]:
    count = draw(st.integers(min_value=2, max_value=12))
    how = draw(st.sampled_from(["edit", "delete", "swap"]))
    last = count - 1 if how == "edit" else count - 2  # a cut end is the head file's job
    return count, how, draw(st.integers(min_value=0, max_value=last))


@settings(
    max_examples=scaled(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(tampering())
def test_the_first_broken_record_is_named(database: Database, case: tuple[int, str, int]) -> None:
    count, how, index = case
    seqs = fresh_log(database, count)
    with database.transaction() as session:
        if how == "edit":
            session.execute(
                update(AuditRecordRow)
                .where(AuditRecordRow.seq == seqs[index])
                .values(payload='{"amount":"999"}')
            )
            expected = seqs[index]
        elif how == "delete":
            session.execute(delete(AuditRecordRow).where(AuditRecordRow.seq == seqs[index]))
            expected = seqs[index + 1]
        else:
            one, two = (session.get(AuditRecordRow, s) for s in seqs[index : index + 2])
            assert one is not None
            assert two is not None
            first = {c: getattr(one, c) for c in COLUMNS}
            second = {c: getattr(two, c) for c in COLUMNS}
            rows = update(AuditRecordRow)
            session.execute(rows.where(AuditRecordRow.seq == seqs[index]).values(prev_hash="x"))
            session.execute(rows.where(AuditRecordRow.seq == seqs[index + 1]).values(**first))
            session.execute(rows.where(AuditRecordRow.seq == seqs[index]).values(**second))
            expected = seqs[index]
    with database.transaction() as session:
        broken = AuditLog(session).check()
    assert broken is not None
    assert broken.seq == expected
