"""The state database: created once, never silently replaced; audit chain; kill switch; intents."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from daemon.audit.events import CashMovement
from daemon.bootstrap import broker_migrations
from daemon.core.domain import BrokerOrder, OrderIntent, OrderStatus, OrderType, Side
from daemon.core.errors import InvalidTransition, StateError
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database, open_database, reset_marker, schema_is_current
from daemon.store.intents import IntentStore, client_order_id
from daemon.store.killswitch import current, set_kill_switch
from daemon.store.models import AuditRecordRow, CycleRow
from daemon.store.state_faults import DatabaseCorrupt

D = Decimal
T0 = datetime(2026, 11, 24, 15, 45, tzinfo=UTC)
DATABASE_ID = "0" * 32


def test_first_open_creates_and_migrates(database: Database) -> None:
    assert schema_is_current(database, broker_migrations())


def test_sqlite_uses_wal_and_full_sync(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 's' / 'x.db'}", tmp_path / "s")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    db.close()
    assert (tmp_path / "s" / "x.db").stat().st_mode & 0o077 == 0


def test_missing_sqlite_file_is_not_replaced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's' / 'x.db'}"
    open_database(url, tmp_path / "s").close()
    (tmp_path / "s" / "x.db").unlink()
    with pytest.raises(StateError, match="is missing but state directory"):
        open_database(url, tmp_path / "s")
    assert not (tmp_path / "s" / "x.db").exists()


def test_corrupt_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's' / 'x.db'}"
    open_database(url, tmp_path / "s").close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / "s" / f"x.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "s" / "x.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseCorrupt, match="is corrupt") as caught:
        open_database(url, tmp_path / "s")
    # Both ways out are named: the backup, and the deliberate start-over.
    assert "restore it from a backup" in str(caught.value)
    assert "`trimtab db init --force`" in str(caught.value)


def test_emptied_database_is_refused(database_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    db = open_database(database_url, state)
    with db.transaction() as session:  # one audited commit leaves the head file
        AuditLog(session).append(CashMovement(amount=D(1)), at=T0)
    assert (state / "audit_head.json").exists()
    with db.engine.begin() as connection:
        for table in (
            "order_events",
            "order_intents",
            "cycles",
            "audit_records",
            "kill_switch_events",
            "alembic_version",
        ):
            connection.execute(
                text(
                    f"DROP TABLE {table} CASCADE"
                    if db.engine.dialect.name == "postgresql"
                    else f"DROP TABLE {table}"
                )
            )
    db.close()
    with pytest.raises(StateError, match="has no trimtab schema"):
        open_database(database_url, state)
    # Without its marker too, the audit head left behind still shows the state was lost.
    (state / "database.json").unlink()
    with pytest.raises(StateError, match="the state was lost, not new") as caught:
        open_database(database_url, state)
    assert "audit_head.json" in str(caught.value)
    assert "`trimtab db init --force`" in str(caught.value)
    # The operator's deliberate start-over (`db init --force`) gets past this check (and is
    # then refused only because the half-dropped schema's other tables are still there).
    reset_marker(state)
    with pytest.raises(Exception, match="already exists"):
        open_database(database_url, state, start_over=True)


def test_audit_chain_detects_an_edited_record(database: Database) -> None:
    with database.transaction() as session:
        log = AuditLog(session)
        for n in range(5):
            log.append(CashMovement(amount=Decimal(n)), at=T0 + timedelta(n), account="a")
    with database.transaction() as session:
        assert AuditLog(session).verify() is None
        records = AuditLog(session).records(account="a")
        assert [r.payload["amount"] for r in records] == ["0", "1", "2", "3", "4"]
        assert records[1].prev_hash == records[0].hash
        session.execute(
            update(AuditRecordRow)
            .where(AuditRecordRow.seq == records[2].seq)
            .values(payload='{"amount":"2000"}')
        )
    with database.transaction() as session:
        assert AuditLog(session).verify() == records[2].seq


def test_audit_refuses_secrets(database: Database) -> None:
    from pydantic import SecretStr

    # A secret that slips into any field of an event is refused, not written.
    secret: Any = SecretStr("x")
    with pytest.raises(TypeError, match="secret"), database.transaction() as session:
        AuditLog(session).append(CashMovement(amount=Decimal(1), note=secret), at=T0)


def test_kill_switch_is_durable_and_audited(database_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    db = open_database(database_url, state)
    with db.transaction() as session:
        assert not current(session).engaged
        set_kill_switch(session, engaged=True, reason="vacation", actor="test", at=T0)
    db.close()
    reopened = open_database(database_url, state)
    with reopened.transaction() as session:
        switch = current(session)
        assert switch.engaged
        assert switch.reason == "vacation"
        assert switch.since == T0
        kinds = [r.kind for r in AuditLog(session).records()]
        assert kinds == ["kill_switch"]
    reopened.close()


def _intent(cycle_id: str, seq: int = 1) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id(cycle_id, seq, DATABASE_ID),
        cycle_id=cycle_id,
        account="a",
        seq=seq,
        symbol="VTI",
        side=Side.BUY,
        qty=Decimal("3.5"),
        order_type=OrderType.MARKET,
        reason="VTI under target",
        reference_price=Decimal("250.01"),
    )


def test_intent_lifecycle_follows_the_table(database: Database) -> None:
    cycle_id = "a:2026-11-24:manual"
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id=cycle_id,
                account="a",
                trading_day=T0.date(),
                slot="manual",
                mode="paper",
                started_at=T0,
                outcome="running",
            )
        )
        session.flush()
        store = IntentStore(session)
        intent = _intent(cycle_id)
        store.add(intent, T0)
        store.move(intent.client_order_id, OrderStatus.SUBMITTING, T0)
        assert [s.intent for s in store.unresolved("a")] == [intent]
        with pytest.raises(InvalidTransition):
            store.move(intent.client_order_id, OrderStatus.PLANNED, T0)
        filled = BrokerOrder(
            client_order_id=intent.client_order_id,
            broker_order_id="b-1",
            symbol="VTI",
            side=Side.BUY,
            qty=intent.qty,
            order_type=OrderType.MARKET,
            status=OrderStatus.FILLED,
            filled_qty=intent.qty,
            avg_fill_price=Decimal("250.02"),
        )
        assert store.apply(intent.client_order_id, filled, T0) is OrderStatus.FILLED
        # A late, repeated report of an earlier stage changes nothing.
        accepted = dataclasses.replace(filled, status=OrderStatus.ACCEPTED, filled_qty=D(0))
        assert store.apply(intent.client_order_id, accepted, T0) is OrderStatus.FILLED
    with database.transaction() as session:
        stored = IntentStore(session).get(intent.client_order_id)
        assert stored.status is OrderStatus.FILLED
        assert stored.filled_qty == Decimal("3.5")
        assert stored.avg_fill_price == Decimal("250.02")
        assert stored.intent.reference_price == Decimal("250.01")
        assert IntentStore(session).unresolved("a") == []


def test_client_order_ids_are_deterministic_and_short() -> None:
    first = client_order_id("brokerage:2026-11-24:manual", 1, DATABASE_ID)
    assert first == client_order_id("brokerage:2026-11-24:manual", 1, DATABASE_ID)
    assert first != client_order_id("brokerage:2026-11-24:manual", 2, DATABASE_ID)
    assert first != client_order_id("brokerage:2026-11-25:manual", 1, DATABASE_ID)
    # Another database (a start-over's) repeats cycle ids, never client order ids.
    assert first != client_order_id("brokerage:2026-11-24:manual", 1, "f" * 32)
    assert len(first) <= 48
    assert all(c.isalnum() or c == "-" for c in first)
