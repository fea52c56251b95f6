"""A restart cancels the orders a killed cycle left working, and never the running cycle's.

`trimtab run --once` is killed (SIGKILL) while the executor waits for fills: the sim's
`partial_fill_ratio` leaves each order half filled and working until cancelled. The restart
finds them still working at the broker; their cycle never finished, so they are cancelled
as the executor would have at the end of its wait, their fills recorded, and the restart
buys the rest instead of refusing the symbols ("already has an open or unresolved order").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from daemon.bootstrap import open_app
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.cycle.unresolved import resolve_unresolved
from daemon.store.audit_log import AuditLog
from daemon.store.book import BookStore
from daemon.store.cycles import CycleRecord, CycleStore
from daemon.store.intents import IntentStore

TRIMTAB = Path(sys.executable).parent / "trimtab"
WAIT = 120.0
"""Seconds a trimtab process may take to reach the wait for fills, or to finish."""

CONFIG = """
mode = "paper"
state_dir = "state"
exchange = "XNYS"
[log]
format = "json"
[accounts.main]
broker = "sim"
type = "roth_ira"
strategy = "static"
schedule = "close - 15m"
[accounts.main.broker_settings]
starting_cash = "100000"
slippage_bps = 2
commission_per_order = "0"
commission_per_share = "0"
fractional = true
[accounts.main.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = { VTI = "180", VXUS = "55", BND = "80" }
[accounts.main.strategy_params]
targets = { VTI = "0.55", VXUS = "0.30", BND = "0.13", CASH = "0.02" }
[accounts.main.policy]
outside_hours = true
"""
FAULTS = '[accounts.main.broker_settings.faults]\npartial_fill_ratio = "0.5"\n'


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}


def kill_while_waiting(directory: Path, config: str, orders: int) -> None:
    """Start `trimtab run --once`; SIGKILL it once `orders` orders rest partially filled."""
    err = (directory / "run1.err").open("w")
    process = subprocess.Popen(
        [str(TRIMTAB), "run", "--once", "-c", config],
        cwd=directory,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    deadline = time.monotonic() + WAIT
    try:
        while time.monotonic() < deadline:
            text = (directory / "run1.err").read_text()
            if text.count('"status": "partially_filled"') >= orders:
                break
            assert process.poll() is None, f"the run ended before it waited for fills:\n{text}"
            time.sleep(0.05)
        else:
            raise AssertionError("the run never waited for fills")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        err.close()


@pytest.mark.slow
@pytest.mark.timeout(2 * WAIT + 60)
def test_a_restart_cancels_what_the_killed_cycle_left_working(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(CONFIG)
    (tmp_path / "faults.toml").write_text(CONFIG + FAULTS)
    kill_while_waiting(tmp_path, "faults.toml", orders=3)

    restart = subprocess.run(
        [str(TRIMTAB), "run", "--once", "-c", "base.toml"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert "already has an open or unresolved order" not in restart.stdout

    app = open_app(tmp_path / "base.toml")
    try:
        with app.database.transaction() as session:
            crashed = CycleStore(session).recent("main", outcomes=["running"], limit=2)
            assert len(crashed) == 1  # the killed cycle's row: it never finished
            killed = IntentStore(session).for_cycle(crashed[0].cycle_id)
            fills = BookStore(session).fills_of_orders([s.intent.client_order_id for s in killed])
            results = [
                r.payload
                for r in AuditLog(session).records(kinds=["order_result"])
                if "still working at recovery" in str(r.payload.get("detail", ""))
            ]
            unresolved = IntentStore(session).unresolved("main")
        broker = app.broker("main")
        left_open = broker.snapshot(()).open_orders
        held = {p.symbol: p.qty for p in broker.snapshot(()).positions}
    finally:
        app.close()
    assert len(killed) == 3
    for stored in killed:
        assert stored.status is OrderStatus.CANCELLED, stored
        assert 0 < stored.filled_qty < stored.intent.qty
        assert "stopped while it waited for fills" in stored.message
    # The half fills are recorded (once each), and the restart bought the rest.
    assert sorted(f.client_order_id for f in fills) == sorted(
        s.intent.client_order_id for s in killed
    )
    assert len(results) == 3
    assert "cancelled the rest" in results[0]["detail"]
    assert not unresolved
    assert not left_open
    for stored in killed:
        assert held[stored.intent.symbol] > stored.filled_qty


NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)


@pytest.mark.parametrize("own_outcome", ["running", "failed", "succeeded", "current"])
def test_only_an_unfinished_earlier_cycle_has_its_working_orders_cancelled(
    tmp_path: Path, own_outcome: str
) -> None:
    """The order's cycle killed (running) or failed: cancelled. Its cycle finished, or it is
    the cycle now running: left working, its symbol blocked."""
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG.replace('format = "json"', 'level = "error"') + FAULTS)
    now = [NOW]
    app = open_app(config, clock=lambda: now[0])
    try:
        broker = app.broker("main")
        earlier = "main:2026-11-24:manual"
        with app.database.transaction() as session:
            CycleStore(session).add(
                CycleRecord(
                    cycle_id=earlier,
                    account="main",
                    trading_day=NOW.date(),
                    slot="manual",
                    mode="paper",
                    started_at=NOW,
                    outcome="running" if own_outcome == "current" else own_outcome,
                )
            )
        intent = OrderIntent(
            client_order_id="tt-recovery-test-001",
            cycle_id=earlier,
            account="main",
            seq=1,
            symbol="VTI",
            side=Side.BUY,
            qty=Decimal(10),
            order_type=OrderType.MARKET,
            reason="test",
        )
        with app.database.transaction() as session:
            store = IntentStore(session)
            store.add(intent, NOW)
            store.move(intent.client_order_id, OrderStatus.SUBMITTING, NOW)
        order = broker.submit(intent)
        assert order.status is OrderStatus.PARTIALLY_FILLED
        with app.database.transaction() as session:
            IntentStore(session).apply(intent.client_order_id, order, NOW)
        now[0] = NOW + timedelta(minutes=5)
        current = earlier if own_outcome == "current" else f"{earlier}.2"
        blocked = resolve_unresolved(
            database=app.database,
            broker=broker,
            account="main",
            clock=lambda: now[0],
            log=structlog.get_logger(),
            cycle_id=current,
        )
        after = broker.get_order(intent.client_order_id)
        with app.database.transaction() as session:
            stored = IntentStore(session).get(intent.client_order_id)
    finally:
        app.close()
    assert after is not None
    if own_outcome in ("running", "failed"):
        assert blocked == []
        assert after.status is OrderStatus.CANCELLED
        assert after.filled_qty == Decimal(5)
        assert stored.status is OrderStatus.CANCELLED
        assert "still working at recovery" in stored.message
    else:
        assert blocked == ["VTI"]
        assert after.status is OrderStatus.PARTIALLY_FILLED
        assert stored.status is OrderStatus.PARTIALLY_FILLED
