"""A ledger grown a day at a time (`GrowingLedger`, the backtest's): it replays only the new
day where that cannot change an earlier day, and everything where a purchase falls in a loss
sale's wash window; either way the book is the replay of every trade
(tests/property/test_wash_sale_properties.py checks that over random histories)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from daemon.core.domain import AccountType, Side
from daemon.core.tax.engine import GrowingLedger, replay_trades
from daemon.core.tax.types import TaxDataError, Trade

D = Decimal
START = date(2024, 1, 2)


def trade(n: int, day: int, side: Side, qty: int, amount: int, symbol: str = "VTI") -> Trade:
    on = START + timedelta(days=day)
    return Trade(f"t{n}", on, "me", AccountType.TAXABLE, symbol, side, D(qty), D(amount))


def test_days_without_a_washable_purchase_replay_only_themselves() -> None:
    ledger = GrowingLedger()
    days = [
        [trade(0, 0, Side.BUY, 10, 1000)],
        [trade(1, 10, Side.SELL, 5, 400)],  # a loss of 100
        [trade(2, 20, Side.BUY, 5, 400, symbol="BND")],  # another group
        [trade(3, 45, Side.BUY, 5, 450)],  # after the loss's window
        [trade(4, 50, Side.SELL, 2, 300), trade(5, 50, Side.BUY, 1, 120, symbol="BND")],
    ]
    so_far: list[Trade] = []
    for day in days:
        so_far.extend(day)
        book = ledger.add(day)
        assert book.sales == replay_trades(so_far).sales
        assert book.lots() == replay_trades(so_far).lots()
    assert ledger.replays == 1  # the first day only


def test_a_purchase_in_a_loss_sales_window_replays_everything_and_washes_the_loss() -> None:
    ledger = GrowingLedger()
    ledger.add([trade(0, 0, Side.BUY, 10, 1000)])
    ledger.add([trade(1, 10, Side.SELL, 10, 800)])  # a loss of 200
    book = ledger.add([trade(2, 25, Side.BUY, 10, 900)])  # 15 days later: a replacement
    assert ledger.replays == 2
    (sale,) = book.sales
    assert sale.disallowed == 200
    (lot,) = book.lots()
    assert lot.adjusted_basis == 1100
    assert book.sales == replay_trades(ledger.trades).sales


def test_days_given_together_or_out_of_order_replay_everything() -> None:
    ledger = GrowingLedger()
    ledger.add([trade(0, 0, Side.BUY, 10, 1000)])
    ledger.add([trade(1, 5, Side.BUY, 1, 100), trade(2, 6, Side.BUY, 1, 100)])
    assert ledger.replays == 1  # two days, each extended in turn
    ledger.add([trade(3, 6, Side.BUY, 1, 100)])  # the same day again
    assert ledger.replays == 2
    assert ledger.add([]).lots() == replay_trades(ledger.trades).lots()


def test_a_bad_day_is_refused_as_a_replay_refuses_it_and_nothing_half_done_stays() -> None:
    ledger = GrowingLedger()
    ledger.add([trade(0, 0, Side.BUY, 10, 1000)])
    with pytest.raises(TaxDataError, match="sells 20 but only 10 are held"):
        ledger.add([trade(1, 5, Side.SELL, 20, 2000)])
    # The next book is replayed from the whole list, which still holds the bad trade.
    with pytest.raises(TaxDataError, match="sells 20 but only 10 are held"):
        ledger.add([])
