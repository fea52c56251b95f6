"""The backtest buys, as the executor does, a buy that the hold of the buys made before it
crowded out, once those have filled and freed their hold (the same day), and records as
skipped only a buy the cash never covered."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.unit.backtest_helpers import run, weekdays, write_config, write_prices

D = Decimal
START = date(2021, 1, 4)
HOLD = (
    "[accounts.main.broker_settings]\n"
    'fractional = false\nmarket_buy_hold_fraction = "0.04"\nslippage_bps = 0\n'
    "[accounts.main.policy]\nmin_trade_notional = 25\n"
)


def test_a_buy_crowded_out_by_an_earlier_buys_hold_is_bought_the_same_day(
    tmp_path: Path,
) -> None:
    """$10,000 into A 97% / B 3%: A ($9,700) is sized first, its 4% hold leaves $16 of the
    $300 B needs; once A filled, B fits."""
    config = write_config(
        tmp_path, {"A": '"0.97"', "B": '"0.03"'}, account_type="traditional_ira", extra=HOLD
    )
    days = weekdays(START, 2)
    table = write_prices(tmp_path, days, {"A": [100, 100], "B": [10, 10]})
    done = run(config, table, cash=D(10_000))
    first_day = [(f.symbol, f.qty) for f in done.result.fills if f.day == days[0]]
    # A: 96 sh (their hold $9,984), then in the next round, in the plan's order, A's rest
    # (1 sh, $104 held of the $400 left) and B sized to the $296 left: 28 sh.
    assert first_day == [("A", D(96)), ("A", D(1)), ("B", D(28))]
    assert done.result.skipped == ()


def test_a_crowded_out_buy_that_still_does_not_fit_is_skipped_once(tmp_path: Path) -> None:
    """$10,000 into A 50% ($100) / B 50% ($5,000 a share): A (50 sh, $5,200 held) goes first
    and leaves $4,800 of the $5,200 B's one share holds; once A filled $5,000 is left, still
    short of the hold: B is recorded as skipped once, with the cash of its last try."""
    config = write_config(
        tmp_path, {"A": '"0.5"', "B": '"0.5"'}, account_type="traditional_ira", extra=HOLD
    )
    days = weekdays(START, 1)
    table = write_prices(tmp_path, days, {"A": [100], "B": [5000]})
    done = run(config, table, cash=D(10_000))
    assert [(f.symbol, f.qty) for f in done.result.fills] == [("A", D(50))]
    [skipped] = done.result.skipped
    assert (skipped.symbol, skipped.qty) == ("B", D(1))
    assert "5000.00 spendable" in skipped.reason
