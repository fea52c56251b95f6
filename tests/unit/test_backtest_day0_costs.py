"""Returns are measured from `--cash`, so day 0's trading costs are part of them.

The audit's case: flat prices, 100 bps of slippage and $20 an order: 100,000 of cash ends at
98,970.29, and total return, CAGR and the money-weighted return all said 0.0, because they
started from day 0's NAV after the purchase. The series now starts from a point valued at
`--cash` before day 0's trades: day 0's return is NAV_0 / cash - 1.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.runner import Run
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices

CASH = Decimal(100_000)
DAYS = weekdays(date(2020, 1, 2), 253)


def _flat(tmp_path: Path, slippage_bps: int, commission: str) -> Run:
    settings = write_config(
        tmp_path,
        {"VTI": "0.6", "BND": "0.4"},
        extra=(
            "[accounts.main.broker_settings]\n"
            f'slippage_bps = {slippage_bps}\ncommission_per_order = "{commission}"\n'
            "[accounts.main.policy]\nfractional = true\nmin_trade_notional = 1\n"
        ),
    )
    table = write_prices(tmp_path, DAYS, {"VTI": [100.0] * 253, "BND": [100.0] * 253})
    return run(settings, table, cash=CASH, benchmark="VTI")


def test_day0_costs_show_in_every_return(tmp_path: Path) -> None:
    done = _flat(tmp_path, 100, "20")
    metrics = done.metrics
    final = Decimal(metrics["final_value"])
    assert final < CASH - 1000  # 1% slippage on 100,000 bought, two commissions
    growth = float(final / CASH)
    span = (DAYS[-1] - DAYS[0]).days
    assert metrics["total_return"] == pytest.approx(growth - 1, abs=1e-12)
    assert metrics["cagr"] == pytest.approx(growth ** (365.25 / span) - 1, abs=1e-12)
    assert metrics["money_weighted_return"] == pytest.approx(metrics["cagr"], abs=1e-9)
    # The whole fall is day 0's: from --cash before its trades to its NAV after them.
    assert metrics["max_drawdown"] == pytest.approx(1 - growth, abs=1e-12)
    assert metrics["max_drawdown_peak"] == metrics["max_drawdown_trough"] == "2020-01-02"
    (year,) = metrics["annual_returns"]
    assert year["from"] == "2020-01-02"
    assert year["return"] == pytest.approx(growth - 1, abs=1e-12)
    # One daily return moved (day 0's), so the daily returns vary.
    assert metrics["volatility"] is not None
    assert metrics["volatility"] > 0
    # One return per row, day 0's among them: 253 rows hold two windows of 252 returns.
    assert metrics["rolling_returns"]["1y"]["windows"] == 2
    assert metrics["after_tax_cagr"] == pytest.approx(metrics["cagr"], abs=1e-12)
    # The benchmark is bought with --cash and, at no cost, holds it on flat prices.
    bench = metrics["benchmark"]
    assert bench["final_value"] == "100000.00"
    assert bench["total_return"] == 0.0
    assert bench["cagr"] == 0.0


def test_dearer_trading_is_a_lower_cagr(tmp_path: Path) -> None:
    """`--vary broker_settings.slippage_bps=0,100` showed CAGR 0 in both rows."""
    cheap = _flat(tmp_path, 0, "20").metrics
    dear = _flat(tmp_path, 100, "20").metrics
    free = _flat(tmp_path, 0, "0").metrics
    assert free["cagr"] == 0.0
    assert free["total_return"] == 0.0
    assert dear["cagr"] < cheap["cagr"] < 0
    # $40 of commission on 100,000: -0.04%.
    assert cheap["total_return"] == pytest.approx(-0.0004, abs=1e-12)


def test_without_costs_day0_has_no_return_of_its_own(tmp_path: Path) -> None:
    """No slippage, no commission, closes in cents and a cash target that keeps the cents:
    NAV_0 is --cash, and the returns are the market's alone (a cent per fill apart)."""
    settings = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        extra=(
            "[accounts.main.broker_settings]\nslippage_bps = 0\n"
            "[accounts.main.policy]\nfractional = true\nmin_trade_notional = 1\n"
        ),
    )
    days = weekdays(date(2021, 1, 4), 80)
    walk = random_walk(5, ["A", "B"], 80, volatility=0.01)
    done = run(settings, write_prices(tmp_path, days, walk), cash=Decimal(10**10))
    nav = [Decimal(v) for v in done.result.nav]
    assert abs(nav[0] - Decimal(10**10)) <= Decimal("0.02")
    assert done.metrics["total_return"] == pytest.approx(float(nav[-1] / nav[0]) - 1, rel=1e-9)
    assert math.isclose(done.metrics["money_weighted_return"], done.metrics["cagr"], rel_tol=1e-6)


def test_the_report_charts_start_from_the_cash_too(tmp_path: Path) -> None:
    """The growth and drawdown charts end where the page's total return and drawdown say:
    from 0% on day 0 before its trades, down by day 0's costs the same day."""
    from daemon.backtest import report

    done = _flat(tmp_path, 100, "20")
    points = report._points(done.result.days, done.result.nav, done.result.flows)
    days, values = report._index(points, done.cash)
    assert days[:2] == [DAYS[0], DAYS[0]]
    assert values[0] == 0.0
    assert values[-1] / 100 == pytest.approx(done.metrics["total_return"], abs=1e-12)
    assert values[1] / 100 == pytest.approx(-done.metrics["max_drawdown"], abs=1e-12)
    page = report.render_report("main", [done], benchmark="VTI", alternates={})
    assert "<svg" in page
