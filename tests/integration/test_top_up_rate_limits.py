"""Top-up pieces obey risk.max_orders_per_cycle and max_orders_per_minute (the audit's
topup/repro.sh: one approved buy went out as 3 orders with both limits at 1, and the next
cycle counted the 3 and halted the account for a runaway loop). The real simulated broker
with Alpaca's hold on market buys, the real CLI, a real SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.logs import configure_logging

CONFIG = """
mode = "paper"
state_dir = "state"
exchange = "XNYS"

[risk]
max_orders_per_cycle = {per_cycle}
max_orders_per_minute = {per_minute}

[accounts.a]
broker = "sim"
type = "traditional_ira"
strategy = "static"
strategy_params = {{ targets = {{ VTI = "1.0" }} }}

[accounts.a.policy]
outside_hours = true

[accounts.a.broker_settings]
starting_cash = "100000"
slippage_bps = 0
fractional = false
market_buy_hold_fraction = "0.04"
"""


def _run_once(tmp_path: Path, per_cycle: int, per_minute: int) -> list[tuple[str, str]]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(per_cycle=per_cycle, per_minute=per_minute))
    try:
        result = CliRunner().invoke(app, ["run", "--once", "-c", str(config)])
    finally:
        configure_logging()
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "state" / "trimtab.db") as db:
        return list(db.execute("SELECT symbol, qty FROM order_intents ORDER BY seq"))


@pytest.mark.parametrize(
    ("per_cycle", "per_minute", "sent"),
    [(1, 1, 1), (1, 100, 1), (100, 1, 1), (2, 100, 2), (100, 2, 2), (100, 100, 3)],
)
def test_top_ups_stop_at_the_order_rate_limits(
    tmp_path: Path, per_cycle: int, per_minute: int, sent: int
) -> None:
    orders = _run_once(tmp_path, per_cycle, per_minute)
    # The hold shrinks the one approved buy to 343 sh; top-ups send the rest while they fit.
    assert len(orders) == sent
    assert {symbol for symbol, _ in orders} == {"VTI"}
