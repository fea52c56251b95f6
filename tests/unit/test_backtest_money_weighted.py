"""The backtest's money-weighted return when withdrawals empty the account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices


def test_withdrawals_that_empty_the_account_still_have_a_rate(tmp_path: Path) -> None:
    """The audit's case: 4,000 a month from 10,000 ends at 0.00; a rate still fits."""
    settings = write_config(
        tmp_path,
        {"A": "0.6", "B": "0.4"},
        extra="[accounts.main.policy]\nfractional = true\nmin_trade_notional = 1\n",
    )
    days = weekdays(date(2021, 1, 4), 80)
    table = write_prices(tmp_path, days, random_walk(3, ["A", "B"], 80, volatility=0.01))
    done = run(settings, table, cash=Decimal(10000), withdraw=Decimal(4000))
    metrics = done.metrics
    assert metrics["final_value"] == "0.00"
    assert Decimal(metrics["withdrawal_shortfall"]) > 0
    rate = metrics["money_weighted_return"]
    assert rate is not None
    assert -1 < rate < 10
