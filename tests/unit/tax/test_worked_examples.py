"""The published worked examples, with their published numbers.

IRS Publication 550 ("Wash Sales", Examples 1-3), Treas. Reg. §1.1091-2(a) Examples 1 and 2,
and Rev. Rul. 2008-5 (an IRA buys the shares back).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from daemon.core.domain import AccountType

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades


def test_pub550_example_1_disallowed_loss_is_added_to_the_new_shares(trades: Trades) -> None:
    trades.buy("2022-01-03", 100, 1000)
    trades.sell("2022-03-01", 100, 750)
    trades.buy("2022-03-15", 100, 800)
    book = trades.book()

    sale = book.sale("s1")
    assert sale.disallowed == Decimal(250)
    assert sale.gain == 0
    (lot,) = book.lots()
    assert lot.adjusted_basis == Decimal(1050)


def test_pub550_example_2_fewer_shares_bought_than_sold(trades: Trades) -> None:
    trades.buy("2021-09-24", 100, 5000)
    trades.buy("2021-12-21", 50, 2750)
    trades.buy("2021-12-28", 25, 1125)
    trades.sell("2022-01-04", 100, 4000)
    book = trades.book()

    sale = book.sale("s1")
    assert sale.basis - sale.proceeds == Decimal(1000)
    assert sale.disallowed == Decimal(750)
    assert sale.gain == Decimal(-250)
    bases = {lot.source_id: lot.adjusted_basis for lot in book.lots()}
    assert bases == {"b2": Decimal(3250), "b3": Decimal(1375)}


def test_pub550_example_3_only_the_first_shares_bought_are_replacements(trades: Trades) -> None:
    trades.buy("2021-09-24", 100, 5000)
    trades.sell("2022-02-03", 100, 4000)
    for day in ("2022-02-10", "2022-02-11", "2022-02-14", "2022-02-15"):
        trades.buy(day, 50, 2000)
    book = trades.book()

    assert book.sale("s1").disallowed == Decimal(1000)
    assert book.sale("s1").gain == 0
    bases = {lot.source_id: lot.adjusted_basis for lot in book.lots()}
    assert bases == {
        "b2": Decimal(2500),
        "b3": Decimal(2500),
        "b4": Decimal(2000),
        "b5": Decimal(2000),
    }
    starts = {lot.source_id: lot.holding_period_start for lot in book.lots()}
    assert starts["b4"] == date(2022, 2, 14)
    assert starts["b2"] < date(2022, 2, 10), "the washed shares' holding period is added"


@pytest.mark.parametrize(
    ("new_cost", "new_basis"),
    [(90, 110), (70, 90)],
    ids=["example-1-bought-higher", "example-2-bought-lower"],
)
def test_reg_1_1091_2_basis_of_the_replacement(
    trades: Trades, new_cost: int, new_basis: int
) -> None:
    trades.buy("1954-06-01", 1, 100)
    trades.sell("1955-01-15", 1, 80)
    trades.buy("1955-02-01", 1, new_cost)
    book = trades.book()

    (lot,) = book.lots()
    assert lot.adjusted_basis == Decimal(new_basis)
    assert book.sale("s1").disallowed == Decimal(20)


@pytest.mark.parametrize("ira", [AccountType.TRADITIONAL_IRA, AccountType.ROTH_IRA])
def test_rev_rul_2008_5_ira_purchase_disallows_the_loss_for_good(
    trades: Trades, ira: AccountType
) -> None:
    trades.buy("2007-06-01", 100, 1000)
    trades.sell("2007-12-20", 100, 600)
    trades.buy("2007-12-21", 100, 600, account="ira", account_type=ira)
    book = trades.book()

    sale = book.sale("s1")
    assert sale.disallowed == Decimal(400)
    assert sale.permanent == Decimal(400)
    assert sale.gain == 0
    (wash,) = sale.washes
    assert wash.permanent
    assert wash.holding_period_start is None
    (lot,) = book.lots()
    assert lot.account == "ira"
    assert lot.adjusted_basis == Decimal(600), "no basis increase under §1091(d)"
    assert lot.holding_period_start == date(2007, 12, 21)
