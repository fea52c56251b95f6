"""Monthly flows of a month the price file has no row for are paid on its next row, once
per month (`monthly_flows`), and counted in the money a run may put in (`check_put_in`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.flows import check_put_in, monthly_days, monthly_flows


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
