"""Lot relief on the reference's worked lot set (tax_rules.md §3.2) and specific identification.

XYZ in one taxable account; 150 shares sold on 2025-06-02 at $100.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from daemon.core.tax import LotMethod, RealizedSale, Term, rank

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades

LOTS = [
    ("L1", "2023-01-10", 100, 6000),
    ("L2", "2024-03-15", 100, 12000),
    ("L3", "2024-12-02", 100, 11000),
    ("L4", "2025-04-01", 100, 9000),
    ("L5", "2025-05-20", 50, 5000),
]
SOLD = date(2025, 6, 2)


@pytest.fixture
def lot_set(trades: Trades) -> Trades:
    for name, on, qty, cost in LOTS:
        trades.buy(on, qty, cost, symbol="XYZ", id=name)
    return trades


def _before_wash(sale: RealizedSale, term: Term) -> Decimal:
    return sum((p.proceeds - p.basis for p in sale.pieces if p.term is term), Decimal(0))


@pytest.mark.parametrize(
    ("method", "relieved", "short", "long", "disallowed"),
    [
        (LotMethod.FIFO, [("L1", 100), ("L2", 50)], 0, 3000, 1000),
        (LotMethod.LIFO, [("L5", 50), ("L4", 100)], 1000, 0, 0),
        (LotMethod.HIFO, [("L2", 100), ("L3", 50)], -500, -2000, 1000),
        (LotMethod.MIN_TAX, [("L2", 100), ("L3", 50)], -500, -2000, 1000),
        (LotMethod.SPECIFIC, [("L1", 100), ("L2", 50)], 0, 3000, 1000),  # none named: FIFO
    ],
)
def test_methods_on_the_worked_lot_set(
    lot_set: Trades,
    method: LotMethod,
    relieved: list[tuple[str, int]],
    short: int,
    long: int,
    disallowed: int,
) -> None:
    lot_set.sell("2025-06-02", 150, 15000, symbol="XYZ")
    sale = lot_set.book(default_method=method).sale("s1")
    assert [(p.source_id, p.qty) for p in sale.pieces] == relieved
    assert _before_wash(sale, Term.SHORT) == short
    assert _before_wash(sale, Term.LONG) == long
    # L5, bought 13 days before, washes $1,000 of L2's loss in every method that sells L2.
    assert sale.disallowed == disallowed
    assert sale.gain == short + long + disallowed


def test_the_method_is_per_account(lot_set: Trades) -> None:
    lot_set.sell("2025-06-02", 150, 15000, symbol="XYZ")
    book = lot_set.book(methods={"brokerage": LotMethod.LIFO})
    assert [p.source_id for p in book.sale("s1").pieces] == ["L5", "L4"]


def test_specific_identification_takes_the_named_lots(lot_set: Trades) -> None:
    lot_set.sell("2025-06-02", 150, 15000, symbol="XYZ", lots=[("L3", 100), ("L4", 50)])
    sale = lot_set.book().sale("s1")
    assert [(p.source_id, p.qty) for p in sale.pieces] == [("L3", 100), ("L4", 50)]
    assert sum(p.proceeds - p.basis for p in sale.pieces) == Decimal(-1000 + 500)
    assert sale.disallowed == Decimal(500), "L5 replaces 50 of L3's shares"


def test_named_lots_first_then_the_account_method_for_the_rest(lot_set: Trades) -> None:
    lot_set.sell("2025-06-02", 150, 15000, symbol="XYZ", lots=[("L4", 30)])
    sale = lot_set.book(default_method=LotMethod.LIFO).sale("s1")
    assert [(p.source_id, p.qty) for p in sale.pieces] == [("L4", 100), ("L5", 50)]


def test_a_pick_without_quantity_takes_what_the_sale_needs_from_that_lot(lot_set: Trades) -> None:
    lot_set.sell("2025-06-02", 40, 4000, symbol="XYZ", lots=["L3"])
    sale = lot_set.book().sale("s1")
    assert [(p.source_id, p.qty) for p in sale.pieces] == [("L3", 40)]
    assert sale.basis == Decimal(4400)


def test_a_named_lot_holding_less_than_named_is_refused(lot_set: Trades) -> None:
    from daemon.core.tax import TaxDataError

    lot_set.sell("2025-06-02", 60, 6000, symbol="XYZ", lots=[("L5", 60)])
    with pytest.raises(TaxDataError, match="lot L5 holds 50, not 60"):
        lot_set.book()


def test_partial_relief_splits_cost_in_cents_and_keeps_the_total(trades: Trades) -> None:
    trades.buy("2024-01-02", 3, 100)
    trades.sell("2024-02-01", 1, 40)
    book = trades.book()
    assert book.sale("s1").basis == Decimal("33.33")
    (lot,) = book.lots()
    assert (lot.qty, lot.cost) == (2, Decimal("66.67"))


def test_rank_orders_open_lots_for_the_planner(lot_set: Trades) -> None:
    lots = lot_set.book().lots(symbol="XYZ")
    ranked = rank(lots, LotMethod.HIFO, SOLD, Decimal(100))
    assert [lot.source_id for lot in ranked] == ["L2", "L3", "L5", "L4", "L1"]
    ranked = rank(lots, LotMethod.MIN_TAX, SOLD, Decimal(100))
    assert [lot.source_id for lot in ranked] == ["L2", "L3", "L5", "L1", "L4"]
    ranked = rank(lots, LotMethod.LIFO, SOLD, Decimal(100))
    assert [lot.source_id for lot in ranked] == ["L5", "L4", "L3", "L2", "L1"]


def test_lifo_takes_the_later_of_two_same_day_purchases_first(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000, id="morning")
    trades.buy("2024-01-02", 10, 1100, id="afternoon")
    trades.sell("2024-06-03", 10, 1200)
    sale = trades.book(default_method=LotMethod.LIFO).sale("s1")
    assert [p.source_id for p in sale.pieces] == ["afternoon"]
