"""`--benchmark SYM` with `--dividends`: the benchmark earns SYM's dividends, reinvested."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.backtest.flows import Dividend, read_dividends, reinvested
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices


def test_an_account_all_in_the_benchmark_earns_what_the_benchmark_earns(tmp_path: Path) -> None:
    """The audit's case: 100% in A, dividends on A, --benchmark A. The account beat the
    benchmark by exactly the dividends; with them reinvested both grow alike (the account
    invests its dividend cash at the same close; a cent of rounding per fill apart)."""
    settings = write_config(
        tmp_path,
        {"A": "1"},
        account_type="roth_ira",
        extra="[accounts.main.policy]\nfractional = true\nmin_trade_notional = 0.01\n",
    )
    days = weekdays(date(2021, 1, 4), 60)
    table = write_prices(tmp_path, days, {"A": random_walk(7, ["A"], 60)["A"]})
    path = tmp_path / "dividends.csv"
    path.write_text(f"date,symbol,amount\n{days[0]},A,9\n{days[20]},A,2.00\n{days[40]},A,1.5\n")
    done = run(
        settings,
        table,
        cash=Decimal(10**8),
        calendar="daily",
        benchmark="A",
        dividends=read_dividends(path),
    )
    metrics = done.metrics
    assert Decimal(metrics["dividends"]) > 0
    # Day 0's dividend is not the benchmark's: it is bought at day 0's close, as the account.
    assert metrics["benchmark"]["total_return"] == pytest.approx(metrics["total_return"], abs=1e-7)


def test_dividends_of_other_symbols_are_not_the_benchmarks(tmp_path: Path) -> None:
    settings = write_config(tmp_path, {"A": "0.5", "B": "0.5"}, account_type="roth_ira")
    days = weekdays(date(2021, 1, 4), 10)
    closes = {"A": [100.0] * 10, "B": [50.0] * 10}
    table = write_prices(tmp_path, days, closes)
    path = tmp_path / "dividends.csv"
    path.write_text(f"date,symbol,amount\n{days[3]},A,1\n{days[5]},B,10\n")
    done = run(settings, table, benchmark="B", dividends=read_dividends(path))
    # B's one dividend of 10 on 50, reinvested at 50: 20% more shares at an unchanged price.
    assert done.metrics["benchmark"]["total_return"] == pytest.approx(0.2, abs=1e-12)
    assert Decimal(done.metrics["benchmark"]["final_value"]) == pytest.approx(
        Decimal(1_000_000) * Decimal("1.2"), abs=Decimal("0.01")
    )


@given(
    st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=1, max_size=30),
    st.dictionaries(st.integers(0, 29), st.decimals(min_value="0.01", max_value=100, places=2)),
)
def test_one_share_grows_by_each_dividend_over_its_close(
    closes: list[float], amounts: dict[int, Decimal]
) -> None:
    paid = {
        i: [Dividend(date(2021, 1, 4), "A", a, 2), Dividend(date(2021, 1, 4), "B", a, 3)]
        for i, a in amounts.items()
    }
    values = reinvested(closes, paid, "A")
    shares = math.prod(1 + float(amounts.get(i, 0)) / c for i, c in enumerate(closes) if i)
    assert values[0] == closes[0]
    assert values[-1] == pytest.approx(closes[-1] * shares, rel=1e-9)
    assert reinvested(closes, {}, "A") == tuple(closes)
