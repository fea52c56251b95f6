"""A stock split is a fact about the security, whichever account it was recorded for.

Treas. Reg. §1.1091-1(c), IRS Pub. 550 "Wash Sales" and "Stock Splits": shares bought after a
split replace loss shares sold before it in proportion (10 bought after a 3-for-1 split are
3 1/3 of the shares sold before), in every account of the household. The ledger records a
split per account (the lots it changes); the wash matching counts a split of the symbol
recorded in any account, once, and each account's lots are scaled once by its own record.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from daemon.core.tax import LotMethod, TaxBook, TaxDataError, TaxPolicy, View, replay_trades
from daemon.core.tax.types import Split

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades

D = Decimal


def _split(on: str, new: int, old: int, account: str, *, symbol: str = "X") -> Split:
    return Split(f"split-{account}-{on}", date.fromisoformat(on), account, symbol, new, old)


def _book(trades: Trades, *splits: Split, **policy: object) -> TaxBook:
    return replay_trades([*trades.items, *splits], TaxPolicy(**policy))  # type: ignore[arg-type]


def test_a_forward_split_recorded_for_the_loss_account_scales_a_spouse_replacement(
    trades: Trades,
) -> None:
    # The audit's case: 10 sold at a $300 loss, a 3-for-1 split, 10 new shares bought in the
    # spouse's account: they are 3 1/3 old shares, a third of the loss is deferred.
    trades.buy("2024-09-03", 10, 3000)
    trades.sell("2024-09-20", 10, 2700)
    trades.buy("2024-10-15", 10, 900, account="spouse")
    book = _book(trades, _split("2024-10-10", 3, 1, "brokerage"))
    sale = book.sale("s1")
    assert (sale.disallowed, sale.gain) == (D(100), D(-200))
    (lot,) = book.lots()
    assert (lot.account, lot.qty, lot.adjusted_basis) == ("spouse", D(10), D(1000))
    # 6 2/3 old shares' loss is still open: 20 new shares would wash the $200 left.
    (window,) = book.loss_windows(date(2024, 10, 16))
    assert (window.unwashed_qty, window.unwashed_loss) == (D(20), D(200))


def test_a_reverse_split_recorded_for_the_loss_account_defers_the_whole_loss(
    trades: Trades,
) -> None:
    # 100 old shares sold at a $200 loss; 1-for-10; 10 new shares (100 old) bought in
    # another account replace all of them: the whole $200 is deferred, not $20.
    trades.buy("2024-09-03", 101, 1010)
    trades.sell("2024-09-20", 100, 800)
    trades.buy("2024-10-15", 10, 800, account="joint")
    book = _book(trades, _split("2024-10-10", 1, 10, "brokerage"))
    sale = book.sale("s1")
    assert (sale.disallowed, sale.gain) == (D(200), D(0))
    assert [(lot.account, lot.qty, lot.adjusted_basis) for lot in book.lots()] == [
        ("brokerage", D("0.1"), D(10)),
        ("joint", D(10), D(1000)),
    ]
    assert not book.loss_windows(date(2024, 10, 16))


@pytest.mark.parametrize("view", [View.HOUSEHOLD, View.BROKER])
def test_a_split_recorded_only_for_another_account_scales_the_loss_accounts_buy_back(
    trades: Trades, view: View
) -> None:
    # The loss account sold everything before the split; only the spouse's held shares that
    # day, so only the spouse's record has it. Buying 10 new shares back is 5 old ones.
    trades.buy("2024-01-02", 10, 2000)
    trades.sell("2024-03-01", 10, 1500)  # a $500 loss
    trades.buy("2024-01-02", 1, 200, account="spouse", id="sp1")
    trades.buy("2024-03-10", 10, 800)
    book = _book(trades, _split("2024-03-05", 2, 1, "spouse"), view=view)
    assert book.sale("s1").disallowed == D(250)
    (window,) = book.loss_windows(date(2024, 3, 12))
    assert (window.unwashed_qty, window.unwashed_loss) == (D(10), D(250))
    assert [(lot.qty, lot.adjusted_basis) for lot in book.broker_lots("brokerage", "X")] == [
        (D(10), D(1050))
    ]
    assert [(lot.qty, lot.cost) for lot in book.lots(account="spouse")] == [(D(2), D(200))]


@pytest.mark.parametrize("view", [View.HOUSEHOLD, View.BROKER])
def test_a_preview_before_a_split_recorded_elsewhere_counts_the_later_buy_in_old_shares(
    trades: Trades, view: View
) -> None:
    trades.buy("2024-01-02", 10, 2000)
    trades.buy("2024-01-02", 1, 200, account="spouse", id="sp1")
    trades.buy("2024-03-10", 10, 800)
    book = _book(trades, _split("2024-03-05", 2, 1, "spouse"), view=view)
    preview = book.preview_sale("brokerage", "X", D(10), date(2024, 3, 1), D(1500))
    assert preview.disallowed == D(250)


def test_the_same_split_recorded_in_two_accounts_scales_each_lot_and_the_wash_once(
    trades: Trades,
) -> None:
    # A ledger that recorded the split in every account holding the symbol: one row each.
    trades.buy("2024-01-02", 20, 4000)
    trades.sell("2024-03-01", 10, 1500)  # a $500 loss on 10 old shares
    trades.buy("2024-01-02", 1, 200, account="spouse", id="sp1")
    trades.buy("2024-03-10", 10, 800, account="spouse")  # 5 old shares
    book = _book(
        trades,
        _split("2024-03-05", 2, 1, "brokerage"),
        _split("2024-03-05", 2, 1, "spouse"),
    )
    assert book.sale("s1").disallowed == D(250)
    assert [(lot.account, lot.source_id, lot.qty) for lot in book.lots()] == [
        ("brokerage", "b1", D(20)),
        ("spouse", "sp1", D(2)),
        ("spouse", "b3", D(10)),
    ]


def test_a_split_in_new_shares_already_for_one_account_is_not_applied_to_it(
    trades: Trades,
) -> None:
    # An account whose lots were imported in new shares has no record of the split: its
    # lots stay as they are, while the wash matching still knows the symbol split.
    trades.buy("2024-01-02", 10, 2000)
    trades.buy("2024-01-02", 40, 4000, account="spouse", id="sp1")
    trades.sell("2024-03-01", 10, 1500)
    trades.buy("2024-03-10", 10, 800, account="spouse")
    book = _book(trades, _split("2024-03-05", 2, 1, "brokerage"))
    assert book.sale("s1").disallowed == D(250)
    assert [(lot.source_id, lot.qty) for lot in book.lots(account="spouse")] == [
        ("sp1", D(40)),
        ("b3", D(10)),
    ]


def test_two_ratios_for_one_symbol_and_day_are_refused(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 2000)
    trades.buy("2024-01-02", 10, 2000, account="spouse", id="sp1")
    with pytest.raises(TaxDataError, match=r"2:1 .* 3:1|3:1 .* 2:1"):
        _book(
            trades,
            _split("2024-03-05", 2, 1, "brokerage"),
            _split("2024-03-05", 3, 1, "spouse"),
        )


def test_the_same_split_twice_for_one_account_is_refused(trades: Trades) -> None:
    # Applied twice, it would scale the account's lots twice.
    trades.buy("2024-01-02", 10, 2000)
    twice = Split("again", date(2024, 3, 5), "brokerage", "X", 2, 1)
    with pytest.raises(TaxDataError, match="more than once"):
        _book(trades, _split("2024-03-05", 2, 1, "brokerage"), twice)


def test_the_same_accounts_buy_back_after_its_own_split_washes_half(trades: Trades) -> None:
    # The audit's correct case, kept: the loss account records the split, named lots.
    trades.buy("2024-01-02", 10, 2000)
    trades.buy("2024-01-02", 1, 200, id="keep")
    trades.sell("2024-03-01", 10, 1500, lots=["b1"])
    trades.buy("2024-03-10", 10, 800)
    book = _book(trades, _split("2024-03-05", 2, 1, "brokerage"), default_method=LotMethod.SPECIFIC)
    sale = book.sale("s1")
    assert (sale.disallowed, sale.gain) == (D(250), D(-250))
    assert [(lot.source_id, lot.qty, lot.adjusted_basis) for lot in book.lots()] == [
        ("keep", D(2), D(200)),
        ("b3", D(10), D(1050)),
    ]
