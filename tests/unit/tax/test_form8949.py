"""Form 8949-style rows and totals from realized sales."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from daemon.core.domain import AccountType
from daemon.core.tax.form8949 import Form8949Totals, form8949_rows, form8949_totals
from daemon.core.tax.types import Term

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades


def test_a_washed_sale_has_code_w_and_a_positive_adjustment(trades: Trades) -> None:
    trades.buy("2021-09-24", 100, 5000)
    trades.buy("2021-12-21", 50, 2750)
    trades.buy("2021-12-28", 25, 1125)
    trades.sell("2022-01-04", 100, 4000)
    (row,) = form8949_rows(trades.book().sales)
    assert (row.description, row.acquired, row.sold) == (
        "100 sh. X",
        date(2021, 9, 24),
        date(2022, 1, 4),
    )
    assert (row.proceeds, row.basis, row.code, row.adjustment, row.gain) == (
        Decimal(4000),
        Decimal(5000),
        "W",
        Decimal(750),
        Decimal(-250),
    )
    assert row.term is Term.SHORT


def test_rows_per_year_short_term_first_and_ira_sales_left_out(trades: Trades) -> None:
    ira = AccountType.TRADITIONAL_IRA
    trades.buy("2020-01-02", 10, 1000)
    trades.buy("2023-06-01", 10, 1500)
    trades.sell("2023-12-01", 20, 3000)
    trades.buy("2023-01-02", 10, 1000, account="ira", account_type=ira)
    trades.sell("2023-12-01", 10, 900, account="ira", account_type=ira)
    trades.buy("2024-01-02", 1, 100)
    trades.sell("2024-02-01", 1, 90)
    rows = form8949_rows(trades.book().sales, year=2023)
    assert [(r.term, r.gain, r.code) for r in rows] == [
        (Term.SHORT, Decimal(0), ""),
        (Term.LONG, Decimal(500), ""),
    ]
    assert form8949_totals(rows) == (
        Form8949Totals(Term.SHORT, 1, Decimal(1500), Decimal(1500), Decimal(0), Decimal(0)),
        Form8949Totals(Term.LONG, 1, Decimal(1500), Decimal(1000), Decimal(0), Decimal(500)),
    )


def test_a_loss_lost_to_an_ira_purchase_is_still_code_w(trades: Trades) -> None:
    trades.buy("2007-06-01", 100, 1000)
    trades.sell("2007-12-20", 100, 600)
    trades.buy("2007-12-21", 100, 600, account="ira", account_type=AccountType.TRADITIONAL_IRA)
    (row,) = form8949_rows(trades.book().sales)
    assert (row.code, row.adjustment, row.gain) == ("W", Decimal(400), Decimal(0))
