"""Snapshots and plans record the cash an account holds but may not spend (`reserved_cash`);
records written before they had it still read, as 0, and the chain over them still holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from daemon.audit.chain import GENESIS_HASH, digest
from daemon.audit.events import PlanMade, SnapshotTaken, encode
from daemon.audit.jsonable import canonical_json
from daemon.core.domain import AccountSnapshot, Position, Quote
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.models import AuditRecordRow

D = Decimal
T0 = datetime(2026, 11, 24, 15, 45, tzinfo=UTC)


def snapshot(reserved: Decimal) -> AccountSnapshot:
    return AccountSnapshot(
        account="a",
        as_of=T0,
        cash=D(0),
        positions=(Position("AAA", D(400)), Position("BBB", D(500))),
        quotes={s: Quote(s, D(100), T0, "test") for s in ("AAA", "BBB")},
        reserved_cash=reserved,
    )


def plan_made(reserved: Decimal) -> PlanMade:
    inp = PlanInput(
        cash=D(0),
        holdings={"AAA": D(400), "BBB": D(500)},
        prices={"AAA": D(100), "BBB": D(100)},
        targets={"AAA": D("0.5"), "BBB": D("0.5")},
        reserved_cash=reserved,
    )
    plan = plan_rebalance(inp, PlanningPolicy(default_band=Band(absolute_pp=D(5))))
    return PlanMade(plan=plan, prices_as_of={"AAA": T0, "BBB": T0})


def write_as_before(database: Database, kind: str, payload: dict[str, object]) -> None:
    """Store a record the way trimtab did before the field existed: without its key."""
    text = canonical_json(payload)
    assert "reserved_cash" not in text
    with database.transaction() as session:
        row = AuditRecordRow(
            recorded_at=T0,
            kind=kind,
            account="a",
            cycle_id=None,
            payload=text,
            prev_hash=GENESIS_HASH,
            hash=digest(GENESIS_HASH, T0, kind, "a", None, text),
        )
        session.add(row)


def test_old_records_without_reserved_cash_read_as_0_and_the_chain_holds(
    database: Database,
) -> None:
    old = encode(SnapshotTaken(snapshot(D(0))))
    del old["snapshot"]["reserved_cash"]
    write_as_before(database, str(SnapshotTaken.KIND), old)
    with database.transaction() as session:
        log = AuditLog(session)
        log.append(SnapshotTaken(snapshot(D(10_000))), at=T0 + timedelta(minutes=1), account="a")
        plan = encode(plan_made(D(0)))
        del plan["plan"]["reserved_cash"]
        # An old plan's record decodes too (chained after the others by hand).
        prev = session.execute(
            select(AuditRecordRow.hash).order_by(AuditRecordRow.seq.desc()).limit(1)
        ).scalar_one()
        text = canonical_json(plan)
        at = T0 + timedelta(minutes=2)
        kind = str(PlanMade.KIND)
        session.add(
            AuditRecordRow(
                recorded_at=at,
                kind=kind,
                account="a",
                cycle_id=None,
                payload=text,
                prev_hash=prev,
                hash=digest(prev, at, kind, "a", None, text),
            )
        )
        session.flush()
        log.append(plan_made(D(10_000)), at=T0 + timedelta(minutes=3), account="a")
    with database.transaction() as session:
        log = AuditLog(session)
        assert log.check(None) is None
        events = [r.event for r in log.records()]
    old_snap, new_snap, old_plan, new_plan = events
    assert isinstance(old_snap, SnapshotTaken)
    assert old_snap.snapshot.reserved_cash == 0
    assert isinstance(new_snap, SnapshotTaken)
    assert new_snap.snapshot == snapshot(D(10_000))
    assert isinstance(old_plan, PlanMade)
    assert old_plan.plan.reserved_cash == 0
    assert isinstance(new_plan, PlanMade)
    assert new_plan.plan.reserved_cash == D(10_000)
    assert new_plan.plan.nav == D(100_000)
    assert json.loads(canonical_json(encode(new_snap)))["snapshot"]["reserved_cash"] == "10000"
