"""Time `trimtab validate` over a long paper history in SQLite.

Run: `uv run python bench/bench_validate.py [--days 250] [--accounts 3] [--orders 4] [--runs 5]`.
Writes a history the way the engine does (audit records through `AuditLog`, intents and
their events through `IntentStore`, fills as reconciliation records them): one cycle per
account per day, each planning, sending and filling `--orders` orders. Then it times
`load_validation` over the whole period (the queries and the pure comparison) and prints
the median and the spread of the runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

from daemon.audit.events import (
    CycleFinished,
    CycleStarted,
    DriftAfter,
    PlanMade,
    Reconciled,
    RiskDecisions,
)
from daemon.cli.validate_cmd import load_validation
from daemon.core.domain import BrokerOrder, Mode, OrderIntent, OrderStatus, OrderType, Side
from daemon.core.planner import DriftRow, Plan, PlannedOrder
from daemon.core.risk import CheckDecision
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database, open_database
from daemon.store.intents import IntentStore, client_order_id
from daemon.store.models import CycleRow, FillRow

START = datetime(2025, 1, 6, 20, 45, tzinfo=UTC)
SYMBOLS = ("VTI", "VXUS", "BND", "SCHD", "VNQ", "GLD", "TIP", "IEF")


def drift_rows(symbols: tuple[str, ...]) -> tuple[DriftRow, ...]:
    weight = Decimal(1) / len(symbols)
    band = Decimal("0.05")
    return tuple(
        DriftRow(
            symbol=s,
            qty=Decimal(10),
            price=Decimal(100),
            value=Decimal(1000),
            weight=weight,
            target=weight,
            low=weight - band,
            high=weight + band,
            out_of_band=False,
            managed=True,
            qty_after=Decimal(10),
            weight_after=weight,
            note="",
        )
        for s in symbols
    )


def plan_of(symbols: tuple[str, ...]) -> Plan:
    orders = tuple(
        PlannedOrder(s, Side.BUY, Decimal(10), Decimal(100), Decimal(1000), "bench")
        for s in symbols
    )
    cash = Decimal(1000) * len(symbols)
    return Plan(orders, drift_rows(symbols), cash, cash, Decimal(0), triggered=True, notes=())


def allowed(order: PlannedOrder) -> CheckDecision:
    return CheckDecision(
        order.symbol, order.side, order.qty, order.notional, True, "all", "", passed=()
    )


def after(row: DriftRow) -> DriftAfter:
    return DriftAfter(
        row.symbol, row.weight, row.target, row.low, row.high, row.out_of_band, row.managed
    )


def write_history(database: Database, days: int, accounts: list[str], orders: int) -> int:
    """Write the cycles; return how many audit records were written."""
    symbols = SYMBOLS[:orders]
    records = 0
    for day in range(days):
        at = START + timedelta(days=day)
        for account in accounts:
            cycle_id = f"{account}:{at.date()}:manual"
            with database.transaction() as session:
                session.add(
                    CycleRow(
                        cycle_id=cycle_id,
                        account=account,
                        trading_day=at.date(),
                        slot="manual",
                        mode="paper",
                        started_at=at,
                        finished_at=at,
                        outcome="succeeded",
                    )
                )
                session.flush()
                log = AuditLog(session)
                store = IntentStore(session)
                note = partial(log.append, at=at, account=account, cycle_id=cycle_id)
                plan = plan_of(symbols)
                note(CycleStarted(Mode.PAPER, True, "manual", "sim", "bench"))
                note(PlanMade(plan, prices_as_of=dict.fromkeys(symbols, at)))
                note(RiskDecisions(tuple(allowed(o) for o in plan.orders)))
                for seq, symbol in enumerate(symbols, 1):
                    intent = OrderIntent(
                        client_order_id=client_order_id(cycle_id, seq, "bench"),
                        cycle_id=cycle_id,
                        account=account,
                        seq=seq,
                        symbol=symbol,
                        side=Side.BUY,
                        qty=Decimal(10),
                        order_type=OrderType.MARKET,
                        reason="bench",
                        reference_price=Decimal(100),
                    )
                    store.add(intent, at)
                    store.move(intent.client_order_id, OrderStatus.SUBMITTING, at)
                    filled_at = at + timedelta(seconds=seq)
                    store.apply(
                        intent.client_order_id,
                        BrokerOrder(
                            client_order_id=intent.client_order_id,
                            broker_order_id=f"b-{cycle_id}-{seq}",
                            symbol=symbol,
                            side=Side.BUY,
                            qty=Decimal(10),
                            order_type=OrderType.MARKET,
                            status=OrderStatus.FILLED,
                            filled_qty=Decimal(10),
                            avg_fill_price=Decimal("100.02"),
                        ),
                        filled_at,
                    )
                    session.add(
                        FillRow(
                            account=account,
                            fill_id=f"f-{cycle_id}-{seq}",
                            client_order_id=intent.client_order_id,
                            broker_order_id=f"b-{cycle_id}-{seq}",
                            symbol=symbol,
                            side="buy",
                            qty=Decimal(10),
                            price=Decimal("100.02"),
                            commission=Decimal(0),
                            at=filled_at,
                            external=False,
                            recorded_at=filled_at,
                        )
                    )
                note(Reconciled(False, Decimal(0), {}, (), (), (), (), {}))
                note(
                    CycleFinished(
                        "succeeded",
                        submitted=True,
                        why_not_submitted="",
                        planned_orders=len(plan.orders),
                        drift_after=tuple(after(row) for row in plan.drift),
                    )
                )
                records += 6
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--orders", type=int, default=4, choices=range(1, len(SYMBOLS) + 1))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    accounts = [f"acct{i}" for i in range(args.accounts)]
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        database = open_database(f"sqlite:///{state / 'trimtab.db'}", state)
        began = time.perf_counter()
        records = write_history(database, args.days, accounts, args.orders)
        written = time.perf_counter() - began
        since, until = START - timedelta(days=1), START + timedelta(days=args.days + 1)
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            with database.transaction() as session:
                result = load_validation(
                    session, accounts, since=since, until=until, max_slippage_bps=Decimal(20)
                )
            times.append(time.perf_counter() - began)
        database.close()
    cycles = args.days * args.accounts
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, SQLite")
    print(
        f"history: {cycles} cycles, {records} audit records, {len(result.orders)} orders "
        f"(written in {written:.1f} s)"
    )
    print(
        f"load_validation over the whole period: median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {args.runs} runs); "
        f"slippage {result.accounts[0].slippage_bps} bps"
    )


if __name__ == "__main__":
    main()
