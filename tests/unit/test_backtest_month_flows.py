"""Monthly flows of a month the price file has no row for are paid on its next row, once
per month (`monthly_flows`, the engine's flow days), and counted in the money a run may put
in (`check_put_in`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.flows import check_put_in, monthly_days, monthly_flows
from tests.unit.backtest_helpers import random_walk, run, write_config, write_prices


def test_a_month_with_no_row_pays_its_flows_on_the_next_row() -> None:
    days = [date(2019, 1, 30), date(2019, 1, 31), date(2019, 2, 28), date(2019, 6, 3)]
    days += [date(2019, 6, 4), date(2020, 1, 2)]
    assert monthly_flows(days) == {
        2: (date(2019, 2, 28),),
        3: (date(2019, 3, 1), date(2019, 4, 1), date(2019, 5, 1), date(2019, 6, 3)),
        5: (*(date(2019, month, 1) for month in range(7, 13)), date(2020, 1, 2)),
    }
    assert monthly_days(days) == {2, 3, 5}
    months = sum(len(paid) for paid in monthly_flows(days).values())
    assert months == 12  # February 2019 to January 2020, once each


def test_the_money_put_in_counts_months_without_a_row() -> None:
    """--cash with --contribute over the run's months: 12 months here, though 4 have rows."""
    days = [date(2019, 1, 2), date(2019, 2, 1), date(2019, 12, 2), date(2020, 1, 2)]
    cash, texts = Decimal(9_999_989_000), ("9999989000", "1000/month")
    check_put_in(cash, Decimal(1000), days[:-1], texts)  # 11 months: 10,000,000,000
    with pytest.raises(BacktestInputError, match="the run's 12 months put in 10000001000"):
        check_put_in(cash, Decimal(1000), days, texts)


def _sessions_without(first: date, last: date, gone: tuple[date, date]) -> list[date]:
    from daemon.core.sessions import sessions_between

    return [s.day for s in sessions_between("XNYS", first, last) if not gone[0] <= s.day <= gone[1]]


def test_a_run_pays_every_month_the_file_has_no_row_for(tmp_path: Path) -> None:
    """March to May 2019 missing, run with --allow-missing-days: 3 June pays four months'
    contributions and withdrawals (before: one; 3,000 contributed and 9,000 withdrawn too
    little over the year)."""
    days = _sessions_without(
        date(2019, 1, 2), date(2019, 12, 31), (date(2019, 3, 1), date(2019, 5, 31))
    )
    table = write_prices(tmp_path, days, random_walk(3, ["VTI", "BND"], len(days), volatility=0.01))
    settings = write_config(tmp_path, {"VTI": "0.6", "BND": "0.4"})
    done = run(
        settings, table, contribute=Decimal(1000), withdraw=Decimal(3000), allow_missing_days=True
    )
    result = done.result
    assert (result.contributed, result.withdrawn) == (Decimal(11_000), Decimal(33_000))
    june = result.days.index(date(2019, 6, 3))
    assert result.flows[june] == Decimal(4 * 1000 - 4 * 3000)
    assert done.metrics["contributed"] == "11000"


def test_a_month_without_a_row_is_withdrawn_at_its_own_years_amount(tmp_path: Path) -> None:
    """--inflation raises the amount once a year: December 2019, paid on 2 January 2020's
    row, is 2019's 1,000; January 2020's is 1,100."""
    days = _sessions_without(
        date(2019, 11, 1), date(2020, 2, 28), (date(2019, 12, 1), date(2019, 12, 31))
    )
    table = write_prices(tmp_path, days, random_walk(5, ["VTI", "BND"], len(days), volatility=0.01))
    settings = write_config(tmp_path, {"VTI": "0.6", "BND": "0.4"})
    done = run(
        settings,
        table,
        withdraw=Decimal(1000),
        inflation=Decimal("0.1"),
        allow_missing_days=True,
    )
    result = done.result
    assert result.flows[result.days.index(date(2020, 1, 2))] == Decimal(-2100)
    assert result.withdrawn == Decimal(1000 + 1100 + 1100)
