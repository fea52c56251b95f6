"""The backtest decides as a live cycle on the same account would (invariant 6), where the
two once differed: the sim's whole shares, the first day's previous close, a sale whose
commission is more than it brings."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from daemon.backtest.output import result_json
from daemon.backtest.runner import Run
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices

D = Decimal
START = date(2021, 1, 4)
SIM_WHOLE_SHARES = "[accounts.main.broker_settings]\nfractional = false\n"


def _policy(*, band: str = "3", min_trade: str = "0", buffer: str = "0") -> str:
    return (
        f"[accounts.main.bands]\nabsolute_pp = {band}\n"
        "[accounts.main.policy]\n"
        'fractional = true\nfractional_increment = "0.001"\n'
        f"min_trade_notional = {min_trade}\ncash_buffer = {buffer}\n"
    )


# --- 1. the sim's whole shares ----------------------------------------------------------------


def test_a_sim_taking_whole_shares_is_traded_in_whole_shares_whatever_the_policy(
    tmp_path: Path,
) -> None:
    """Live, the sim's snapshot says nothing is fractionable and the plan is in whole shares
    (`fractionable=frozenset()`): 75 BND, not 76.393."""
    config = write_config(
        tmp_path, {"A": "0.5", "B": "0.3", "C": "0.2"}, extra=_policy() + SIM_WHOLE_SHARES
    )
    table = write_prices(tmp_path, weekdays(START, 60), random_walk(3, "ABC", 60, volatility=0.03))
    done = run(config, table, cash=D(100_000))
    trades = done.result.fills
    assert len({f.day for f in trades}) > 2, "the walk should cross the bands"
    assert all(f.qty == f.qty.to_integral_value() for f in trades), [
        (f.day, f.symbol, f.qty) for f in trades if f.qty != f.qty.to_integral_value()
    ]


def test_the_scan_skips_as_deciding_every_day_would_with_the_sims_whole_shares(
    tmp_path: Path,
) -> None:
    """The band scan's increments are whole shares too, so a day it proves quiet is one
    `decide` would leave alone, and it proves more days quiet than fractional increments
    would (spare cash under one share buys nothing)."""
    config = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        extra=_policy(band="10") + SIM_WHOLE_SHARES,
    )
    table = write_prices(tmp_path, weekdays(START, 80), random_walk(5, "AB", 80, volatility=0.01))
    skipping = run(config, table, cash=D(10_000), calendar="daily")
    every_day = run(config, table, cash=D(10_000), calendar="daily", skip=False)
    assert json.dumps(result_json(skipping.result, skipping.metrics)) == json.dumps(
        result_json(every_day.result, every_day.metrics)
    )
    # Day 0 and the days that trade: the cents left over buy no whole share.
    assert skipping.result.decide_calls <= 1 + len(skipping.result.rebalances)


# --- 3. the first day's previous close --------------------------------------------------------


def test_the_first_day_after_start_checks_the_move_since_the_rows_before(tmp_path: Path) -> None:
    """Day 0's quotes carry the close of the file's row before `--start` as their previous
    close, as a live cycle's do: A up 40% since then is not bought that day (the price-move
    check, 25%), only the day after, as live."""
    config = write_config(
        tmp_path, {"A": "0.5", "B": "0.5"}, extra="[accounts.main.bands]\nabsolute_pp = 5\n"
    )
    days = weekdays(START, 4)
    table = write_prices(tmp_path, days, {"A": [100, 140, 140, 140], "B": [100] * 4})
    done = run(config, table, cash=D(10_000), start=days[1])
    bought = {(f.day, f.symbol) for f in done.result.fills}
    assert (days[1], "A") not in bought
    assert (days[1], "B") in bought
    assert (days[2], "A") in bought


def test_the_first_day_of_the_file_has_no_previous_close(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "1"})
    days = weekdays(START, 2)
    table = write_prices(tmp_path, days, {"A": [140, 140]})
    done = run(config, table, cash=D(10_000))
    assert [(f.day, f.symbol) for f in done.result.fills] == [(days[0], "A")]


def test_a_gap_in_the_row_before_start_is_no_previous_close(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "0.5", "B": "0.5"})
    days = weekdays(START, 3)
    table = write_prices(tmp_path, days, {"A": ["", 140, 140], "B": [100] * 3})
    done = run(config, table, cash=D(10_000), start=days[1])
    assert {f.symbol for f in done.result.fills if f.day == days[1]} == {"A", "B"}


# --- 4. a sale whose commission is more than it brings ----------------------------------------


def _dust_sale(tmp_path: Path) -> tuple[Run, list[date]]:
    """Three thirds; on day 1 C is out of its band and A a hair over its target: a plan with
    min_trade_notional = 0 and no commission sells 0.005 A for $0.57, on which the sim's $1
    commission would leave the account 43 cents poorer."""
    config = write_config(
        tmp_path,
        {"A": '"0.3334"', "B": '"0.3333"', "C": '"0.3333"'},
        extra=_policy(band="3", buffer="100")
        + "[accounts.main.broker_settings]\ncommission_per_order = 1\n"
        + '[accounts.main.tax]\nlot_method = "hifo"\n',
        top='[risk]\nmax_move_since_close = "0.5"\n',
    )
    days = weekdays(START, 3)
    table = write_prices(
        tmp_path, days, {"A": ["100.00", "114.99", "114.99"], "B": [100] * 3, "C": [100, 130, 130]}
    )
    return run(config, table, cash=D(30_000)), days


def test_no_order_is_planned_at_or_under_the_least_commission(tmp_path: Path) -> None:
    """The minimum trade is a cent above the broker's least commission ($1.01 here), whatever
    `min_trade_notional` says: A's $0.57 sale is not planned; C's rebalance still is."""
    done, days = _dust_sale(tmp_path)
    sold = {f.symbol for f in done.result.fills if f.day == days[1] and f.side.value == "sell"}
    assert sold == {"C"}
    assert all(f.qty * f.price > D("1.00") for f in done.result.fills)


def test_a_sale_slippage_leaves_below_its_commission_fills_as_at_the_sim(tmp_path: Path) -> None:
    """Slippage can still take a sale below its commission: planned at $1.06 (over the $1.01
    minimum), 0.006 C fills 10% under the close at $0.95 and pays $1. The sim fills it and
    takes the difference from cash; the backtest did the same, then once stopped on its own
    tax ledger, which holds no negative amount, and filed it as refused input (exit 2)."""
    config = write_config(
        tmp_path,
        {"A": '"0.25"', "B": '"0.25"', "C": '"0.25"', "D": '"0.25"'},
        extra=_policy(band="1", buffer="100")
        + "[accounts.main.broker_settings]\ncommission_per_order = 1\nslippage_bps = 1000\n"
        + '[accounts.main.tax]\nlot_method = "hifo"\n',
        top='[risk]\nmax_move_since_close = "0.5"\n',
    )
    table = write_prices(tmp_path, weekdays(START, 60), random_walk(5, "ABCD", 60))
    done = run(config, table, cash=D(1_000), withdraw=D(7))
    (sale,) = [
        f
        for f in done.result.fills
        if f.side.value == "sell"
        and (f.qty * f.price).quantize(D("0.01"), rounding="ROUND_FLOOR") < f.commission
    ]
    assert (sale.symbol, sale.qty, sale.price) == ("C", D("0.006"), D("159.57"))
    (trade,) = [t for t in done.result.trades if t.date == sale.day and t.symbol == "C"]
    # The ledger's amount realized is what the sale brought, never below zero.
    assert trade.amount == 0
    assert trade.qty == sale.qty
