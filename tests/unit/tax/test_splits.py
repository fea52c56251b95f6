"""Stock splits in the replay: shares scale, basis, acquisition and holding period stay.

IRS Pub. 550, "Stock Splits": a split changes the number of shares, not the basis in them;
the new shares are held since the old ones were. A lot bought on or after the split's day is
in new shares already. Wash-sale bookkeeping carries across it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from daemon.core.tax import TaxBook, TaxDataError, TaxPolicy, Term, replay_trades
from daemon.core.tax.types import Split

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades

D = Decimal


def _split(on: str, new: int, old: int, *, symbol: str = "X", account: str = "brokerage") -> Split:
    return Split(f"split-{symbol}-{on}", date.fromisoformat(on), account, symbol, new, old)


def _book(trades: Trades, *splits: Split, **policy: object) -> TaxBook:
    return replay_trades([*trades.items, *splits], TaxPolicy(**policy))  # type: ignore[arg-type]


def test_a_forward_split_doubles_the_shares_and_keeps_basis_and_dates(trades: Trades) -> None:
    trades.buy("2022-01-10", 100, 20000)
    trades.buy("2024-02-01", 10, 2500)
    book = _book(trades, _split("2024-06-03", 2, 1))
    lots = book.lots()
    assert [(lot.source_id, lot.qty, lot.cost, lot.adjusted_basis) for lot in lots] == [
        ("b1", D(200), D(20000), D(20000)),
        ("b2", D(20), D(2500), D(2500)),
    ]
    assert [(lot.acquired, lot.holding_period_start) for lot in lots] == [
        (date(2022, 1, 10), date(2022, 1, 10)),
        (date(2024, 2, 1), date(2024, 2, 1)),
    ]


def test_a_sale_after_the_split_sells_new_shares_at_the_old_total_basis(trades: Trades) -> None:
    # The case of the brief: 240 at $250, a 2-for-1 split, 480 sold at $130: a gain of $2,400.
    trades.buy("2023-01-10", 240, 60000)
    trades.sell("2024-07-01", 480, 62400)
    sale = _book(trades, _split("2024-06-03", 2, 1)).sale("s1")
    assert (sale.qty, sale.basis, sale.gain, sale.term) == (D(480), D(60000), D(2400), Term.LONG)
    assert [(p.source_id, p.qty, p.acquired) for p in sale.pieces] == [
        ("b1", D(480), date(2023, 1, 10))
    ]


def test_a_reverse_split_keeps_a_fraction_of_a_share(trades: Trades) -> None:
    trades.buy("2023-01-10", 15, 1500)
    trades.buy("2023-02-10", 7, 630)
    book = _book(trades, _split("2024-06-03", 1, 10))
    assert [(lot.qty, lot.cost) for lot in book.lots()] == [
        (D("1.5"), D(1500)),
        (D("0.7"), D(630)),
    ]


def test_a_lot_bought_on_or_after_the_split_day_is_not_changed(trades: Trades) -> None:
    trades.buy("2024-01-10", 10, 1000)
    trades.buy("2024-06-03", 10, 520)  # on the split's day: new shares already
    trades.buy("2024-06-04", 10, 530)
    book = _book(trades, _split("2024-06-03", 2, 1))
    assert [(lot.source_id, lot.qty) for lot in book.lots()] == [
        ("b1", D(20)),
        ("b2", D(10)),
        ("b3", D(10)),
    ]


def test_a_sale_before_the_split_keeps_its_shares_as_sold(trades: Trades) -> None:
    trades.buy("2024-01-10", 10, 1000)
    trades.sell("2024-03-01", 4, 480)
    book = _book(trades, _split("2024-06-03", 3, 1))
    sale = book.sale("s1")
    assert (sale.qty, sale.pieces[0].qty, sale.gain) == (D(4), D(4), D(80))
    (lot,) = book.lots()
    assert (lot.qty, lot.cost) == (D(18), D(600))


def test_an_inexact_ratio_keeps_twelve_places_and_a_lots_pieces_add_up(trades: Trades) -> None:
    trades.buy("2023-01-10", 10, 1000)
    trades.sell("2024-03-01", 4, 320, lots=["b1"])  # an $80 loss on 4 shares
    trades.buy("2024-03-10", 10, 900)  # 4 of its shares absorb it: b2 is two pieces
    book = _book(trades, _split("2024-06-03", 1, 3))
    lots = book.lots()
    assert [(lot.source_id, lot.qty, lot.adjusted_basis) for lot in lots] == [
        ("b1", D(2), D(600)),
        ("b2", D("1.333333333333"), D(440)),
        ("b2", D("2.000000000000"), D(540)),
    ]
    # The purchase's 10 shares are 3.333333333333 new ones, however its pieces are cut.
    assert sum((lot.qty for lot in lots if lot.source_id == "b2"), D(0)) == D("3.333333333333")


def test_a_wash_adjusted_lot_keeps_its_adjusted_basis_and_holding_period(
    trades: Trades,
) -> None:
    trades.buy("2023-01-10", 10, 1000)
    trades.sell("2024-03-01", 10, 800)  # a $200 loss
    trades.buy("2024-03-10", 10, 850)  # replaces it: basis 1050, held since Dec 2023
    book = _book(trades, _split("2024-06-03", 2, 1))
    (lot,) = book.lots()
    assert (lot.qty, lot.cost, lot.adjusted_basis) == (D(20), D(850), D(1050))
    assert lot.holding_period_start == date(2023, 1, 10) + (date(2024, 3, 10) - date(2024, 3, 1))


def test_a_loss_before_the_split_is_washed_by_new_shares_in_new_terms(trades: Trades) -> None:
    # 10 shares sold at a $200 loss; 2-for-1 the day after; 20 new shares bought within 30
    # days are the whole replacement of the 10 old shares: all of the loss is deferred, onto
    # all 20 of them, and none is left for another loss.
    trades.buy("2023-01-10", 10, 1000)
    trades.sell("2024-03-01", 10, 800)
    trades.buy("2024-03-10", 20, 860)
    book = _book(trades, _split("2024-03-02", 2, 1))
    sale = book.sale("s1")
    assert sale.disallowed == D(200)
    (wash,) = sale.washes
    assert (wash.replacement_source_id, wash.qty, wash.disallowed) == ("b2", D(20), D(200))
    (lot,) = book.lots()
    assert (lot.qty, lot.adjusted_basis) == (D(20), D(1060))
    assert not book.purchase_windows(date(2024, 3, 20))  # every new share absorbed the loss


def test_half_the_replacement_in_new_shares_washes_half_the_loss(trades: Trades) -> None:
    trades.buy("2023-01-10", 10, 1000)
    trades.sell("2024-03-01", 10, 800)
    trades.buy("2024-03-10", 10, 430)  # 10 new shares: 5 old ones
    book = _book(trades, _split("2024-03-02", 2, 1))
    sale = book.sale("s1")
    assert sale.disallowed == D(100)
    (window,) = book.loss_windows(date(2024, 3, 12))
    # 5 old shares' loss still open: 10 new shares would wash it.
    assert (window.unwashed_qty, window.unwashed_loss) == (D(10), D(100))


def test_a_replacement_bought_before_the_split_carries_its_deferred_loss(
    trades: Trades,
) -> None:
    trades.buy("2023-01-10", 10, 1000)
    trades.buy("2024-02-20", 10, 850)
    trades.sell("2024-03-01", 10, 800, lots=["b1"])  # washed by b2, bought before it
    trades.sell("2024-07-01", 20, 1200)  # after a 2-for-1 split: b2's 20 shares
    book = _book(trades, _split("2024-06-03", 2, 1))
    assert book.sale("s1").disallowed == D(200)
    later = book.sale("s2")
    assert (later.basis, later.gain) == (D(1050), D(150))
    assert later.term is Term.LONG  # held since the loss lot's start moved it back


def test_a_sale_naming_a_lot_after_the_split_names_new_shares(trades: Trades) -> None:
    trades.buy("2023-01-10", 10, 1000)
    trades.buy("2023-02-10", 10, 1200)
    trades.sell("2024-07-01", 15, 1800, lots=[("b2", 15)])
    book = _book(trades, _split("2024-06-03", 2, 1))
    assert [(p.source_id, p.qty, p.basis) for p in book.sale("s1").pieces] == [
        ("b2", D(15), D(900))
    ]


def test_a_preview_and_the_broker_view_see_the_split(trades: Trades) -> None:
    trades.buy("2023-01-10", 10, 1000, symbol="VOO")
    trades.buy("2024-05-10", 5, 400, symbol="IVV")
    split = _split("2024-06-03", 2, 1, symbol="VOO")
    book = _book(trades, split)
    preview = book.preview_sale("brokerage", "VOO", D(20), date(2024, 7, 1), D(1200))
    assert (preview.basis, preview.gain) == (D(1000), D(200))
    assert [lot.qty for lot in book.broker_lots("brokerage", "VOO")] == [D(20)]
    # On a day before the split the lots are the old shares: the replay says so.
    before = book.preview_sale("brokerage", "VOO", D(10), date(2024, 5, 20), D(900))
    assert (before.qty, before.basis) == (D(10), D(1000))


def test_splits_apply_in_date_order_and_compound(trades: Trades) -> None:
    trades.buy("2020-01-10", 10, 1000)
    book = _book(trades, _split("2024-06-03", 1, 4), _split("2022-06-03", 2, 1))
    (lot,) = book.lots()
    assert (lot.qty, lot.cost) == (D(5), D(1000))


@pytest.mark.parametrize(("new", "old"), [(0, 1), (1, 0), (3, 3), (-2, 1)])
def test_a_ratio_that_is_not_two_different_positive_numbers_is_refused(
    trades: Trades, new: int, old: int
) -> None:
    trades.buy("2020-01-10", 10, 1000)
    with pytest.raises(TaxDataError, match="ratio"):
        _book(trades, Split("sp", date(2024, 1, 2), "brokerage", "X", new, old))
