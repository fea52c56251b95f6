"""A loss washed in full across a split leaves no loss window, whatever the ratio.

Shares matched across a split are counted in the replacement's shares: 1 old share sold
before a 1-for-3 split is 1/3 of a new share, which no decimal holds. The match is kept to
the 12 places the ledger keeps a split's shares in (0.333333333333), as `Split.scaled` does,
and the loss it leaves unmatched by that rounding (below one step of the replacement's
shares) is matched, not an open window: a window of 1E-28 shares and $0.00 held back buys
of the symbol in every account for 30 days.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from daemon.core.tax import TaxPolicy, replay_trades
from daemon.core.tax.types import Split

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades

D = Decimal
AFTER = date(2024, 6, 12)


def _places(qty: Decimal) -> int:
    exponent = qty.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@pytest.mark.parametrize("buyer", ["brokerage", "spouse"])
@pytest.mark.parametrize(
    ("new", "old", "sold"), [(1, 3, 1), (1, 3, 7), (2, 3, 1), (3, 7, 5), (1, 7, 3)]
)
def test_a_loss_washed_in_full_across_a_split_leaves_no_window(
    trades: Trades, buyer: str, new: int, old: int, sold: int
) -> None:
    trades.buy("2024-01-02", 30, 3000)
    trades.sell("2024-05-20", sold, 50 * sold)  # a $50 loss a share
    trades.buy("2024-06-10", 10, 1000, account=buyer)  # more new shares than were sold
    split = Split("sp", date(2024, 6, 3), "brokerage", "X", new, old)
    book = replay_trades([*trades.items, split], TaxPolicy())
    sale = book.sale("s1")
    assert (sale.disallowed, sale.gain) == (D(50 * sold), D(0))
    assert book.loss_windows(AFTER) == ()
    assert [w for w in book.open_windows(AFTER) if hasattr(w, "unwashed_qty")] == []
    replacement = [lot for lot in book.lots(buyer) if lot.source_id == "b2"]
    assert sum((lot.qty for lot in replacement), D(0)) == 10
    assert all(_places(lot.qty) <= 12 for lot in replacement), replacement
    assert sum((lot.adjusted_basis for lot in replacement), D(0)) == 1000 + 50 * sold


def test_a_loss_washed_in_part_across_a_reverse_split_keeps_its_window(trades: Trades) -> None:
    # 7 old sold at $350 loss; 1:3; 1 new share bought is 3 old: 4 old (4/3 new) stay open.
    trades.buy("2024-01-02", 30, 3000)
    trades.sell("2024-05-20", 7, 350)
    trades.buy("2024-06-10", 1, 100, account="spouse")
    split = Split("sp", date(2024, 6, 3), "brokerage", "X", 1, 3)
    book = replay_trades([*trades.items, split], TaxPolicy())
    assert book.sale("s1").disallowed == 150
    (window,) = book.loss_windows(AFTER)
    assert (window.unwashed_qty, window.unwashed_loss) == (D("1.333333333333"), D(200))


def test_a_loss_washed_by_several_purchases_across_a_split_leaves_no_window(
    trades: Trades,
) -> None:
    # 7 old sold; 1:3: 7/3 new shares replace them, from three purchases in two accounts.
    trades.buy("2024-01-02", 30, 3000)
    trades.sell("2024-05-20", 7, 350)
    trades.buy("2024-06-05", "0.5", 50, account="spouse")
    trades.buy("2024-06-06", "1.25", 125)
    trades.buy("2024-06-10", 10, 1000, account="spouse")
    split = Split("sp", date(2024, 6, 3), "brokerage", "X", 1, 3)
    book = replay_trades([*trades.items, split], TaxPolicy())
    sale = book.sale("s1")
    assert sale.disallowed == 350
    assert [w.qty for w in sale.washes] == [D("0.5"), D("1.25"), D("0.583333333333")]
    assert book.loss_windows(AFTER) == ()
