"""The backtest's page says which orders were not filled: refused by a pre-trade check, or
skipped for want of cash (the audit's sweep showed a variant whose every order was refused as
a strategy at 0% with 0 trades, and neither page said so)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from daemon.backtest.prices import PriceTable
from daemon.backtest.report import render_report
from daemon.backtest.runner import Options, Run, run_one
from daemon.config.settings import Settings
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices

START = date(2021, 1, 4)
DAYS = 40
POLICY = "[accounts.main.policy]\nfractional = true\nmin_trade_notional = 1\n"
LIMIT = "[risk]\nmax_order_notional = 300000\n"
TWO = {"AAA": '"0.6"', "BBB": '"0.4"'}
FOUR = {"AAA": '"0.25"', "BBB": '"0.25"', "CCC": '"0.25"', "DDD": '"0.25"'}


def _run(
    tmp_path: Path, targets: dict[str, str], overrides: tuple[tuple[str, str], ...] = ()
) -> Run:
    settings: Settings = write_config(tmp_path, targets, top=LIMIT, extra=POLICY)
    days = weekdays(START, DAYS)
    table = write_prices(tmp_path, days, random_walk(7, ["AAA", "BBB", "CCC", "DDD"], DAYS))
    return run_one(settings, "main", table, Options(), overrides)


def test_the_single_run_page_says_what_was_refused_by_which_check(tmp_path: Path) -> None:
    # $1,000,000 into 60/40: each buy ($600,000, $400,000) is over the $300,000 limit.
    done = _run(tmp_path, TWO)
    count = len(done.result.refused)
    assert count > 2
    assert not done.result.fills
    page = render_report("main", [done], benchmark=None, alternates={})
    assert '<div class="attention alert">' in page
    assert f"{count} orders were refused by the pre-trade check max_order_notional" in page
    assert (
        f"{count} orders were refused by the pre-trade check max_order_notional (AAA, BBB)" in page
    )
    first = done.result.refused[0]
    assert f"the first: buy {first.symbol} on {first.day}" in page
    assert "exceeds max_order_notional $300,000.00" in page
    # The summary counts them too, and the section lists them by check and symbol.
    assert f"<tr><th>orders refused</th><td>{count}</td></tr>" in page
    assert "<h2>Orders not filled</h2>" in page
    by_symbol = sum(1 for r in done.result.refused if r.symbol == "AAA")
    assert (
        f'<td class="mono">max_order_notional</td><td>buy AAA</td><td class="n">{by_symbol}</td>'
        in page
    )
    assert "<tr><th>buys skipped</th><td>0</td></tr>" in page


def test_a_run_with_every_order_filled_has_no_notice(tmp_path: Path) -> None:
    done = run(write_config(tmp_path, TWO, extra=POLICY), _prices(tmp_path))
    assert done.result.fills
    assert not done.result.refused
    assert not done.result.skipped
    page = render_report("main", [done], benchmark=None, alternates={})
    assert '<div class="attention' not in page
    assert "<h2>Orders not filled</h2>" not in page
    assert "<tr><th>orders refused</th><td>0</td></tr>" in page


def test_the_single_run_page_says_what_was_skipped(tmp_path: Path) -> None:
    """A's buy and its 4% hold leave B's one $5,000 share uncovered each cycle day."""
    hold = (
        "[accounts.main.broker_settings]\n"
        'fractional = false\nmarket_buy_hold_fraction = "0.04"\nslippage_bps = 0\n'
        "[accounts.main.policy]\nmin_trade_notional = 25\n"
    )
    config = write_config(
        tmp_path, {"A": '"0.5"', "B": '"0.5"'}, account_type="traditional_ira", extra=hold
    )
    days = weekdays(START, 3)
    table = write_prices(tmp_path, days, {"A": [100, 100, 100], "B": [5000, 5000, 5000]})
    done = run(config, table, cash=Decimal(10_000))
    count = len(done.result.skipped)
    assert count >= 1
    page = render_report("main", [done], benchmark=None, alternates={})
    buys = "approved buy was" if count == 1 else "approved buys were"
    assert f"{count} {buys} skipped for want of cash" in page
    assert f"<tr><th>buys skipped</th><td>{count}</td></tr>" in page


def test_the_sweep_page_counts_refused_and_skipped_orders_per_run(tmp_path: Path) -> None:
    key = "strategy_params.targets"
    spread = _run(tmp_path, FOUR, ((key, "four"),))
    refused = _run(tmp_path, TWO, ((key, "two"),))
    assert not spread.result.refused
    assert refused.result.refused
    page = render_report("main", [spread, refused], benchmark=None, alternates={})
    assert "<th>refused</th><th>skipped</th>" in page
    count = len(refused.result.refused)
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")
    assert '<tr class="out"><td>two</td>' in rows[1]
    assert f'<td class="n">{count}</td><td class="n">0</td>' in rows[1]
    assert "<tr><td>four</td>" in rows[0]
    assert (
        f"{key}=two: {count} orders were refused by the pre-trade check max_order_notional" in page
    )


def _prices(tmp_path: Path) -> PriceTable:
    days = weekdays(START, DAYS)
    return write_prices(tmp_path, days, random_walk(7, ["AAA", "BBB"], DAYS))
