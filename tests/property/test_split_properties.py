"""A recorded split changes the shares, never the money: the same history told in old shares.

Random histories of one account in two symbols around a split of one of them. Told once
without the split (every trade in old shares) and once with it (the trades of the split
symbol from its day on in new shares): the sales realize the same proceeds, basis and
disallowed losses, the open lots keep the same total basis per symbol (wash-adjusted too)
and their shares scale by the ratio. Washes across the split day included.
The two symbols are not substantially identical: the engine matches a group's symbols share
for share, which a split of one of them changes (docs/tax.md, "Stock splits").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.domain import AccountType, Side
from daemon.core.tax import TaxPolicy, Trade, replay_trades
from daemon.core.tax.engine import TaxBook
from daemon.core.tax.types import Split
from tests.hypothesis_profiles import scaled

D = Decimal
SPLIT_DAY = date(2024, 6, 3)
POLICY = TaxPolicy()

ratios = st.sampled_from([(2, 1), (3, 1), (3, 2), (1, 2), (1, 4), (1, 5), (1, 10), (7, 4)])
"""Ratios whose new shares of any whole number of old ones are exact decimals."""
histories = st.lists(
    st.tuples(
        st.sampled_from(("X", "Y")),
        st.integers(min_value=-50, max_value=50),  # days from the split
        st.integers(min_value=1, max_value=40),  # old shares
        st.integers(min_value=50, max_value=150),  # price per old share
        st.booleans(),  # a sale (of what is held) rather than a buy
    ),
    min_size=1,
    max_size=20,
)


def _told(events: list[tuple[str, int, int, int, bool]]) -> list[Trade]:
    """Return the history in old shares, sales never of more than is held."""
    held = {"X": 0, "Y": 0}
    trades = []
    for n, (symbol, offset, qty, price, sell) in enumerate(sorted(events, key=lambda e: e[1])):
        take = min(qty, held[symbol]) if sell else qty
        if take <= 0:
            continue
        held[symbol] += -take if sell else take
        trades.append(
            Trade(
                id=f"t{n}",
                date=SPLIT_DAY + timedelta(days=offset),
                account="brokerage",
                account_type=AccountType.TAXABLE,
                symbol=symbol,
                side=Side.SELL if sell else Side.BUY,
                qty=D(take),
                amount=D(take * price),
            )
        )
    return trades


def _in_new_shares(trades: list[Trade], new: int, old: int) -> list[Trade]:
    return [
        replace(t, qty=t.qty * new / old) if t.symbol == "X" and t.date >= SPLIT_DAY else t
        for t in trades
    ]


def _basis(book: TaxBook, symbol: str) -> tuple[Decimal, Decimal, Decimal]:
    lots = book.lots("brokerage", symbol)
    return (
        sum((lot.qty for lot in lots), D(0)),
        sum((lot.cost for lot in lots), D(0)),
        sum((lot.adjusted_basis for lot in lots), D(0)),
    )


@settings(max_examples=scaled(300), deadline=None)
@given(events=histories, ratio=ratios)
@example(  # a loss before the split washed by new shares bought after it
    events=[("X", -40, 10, 100, False), ("X", -1, 10, 80, True), ("X", 5, 10, 90, False)],
    ratio=(2, 1),
)
def test_a_split_moves_no_money_and_scales_the_shares(
    events: list[tuple[str, int, int, int, bool]], ratio: tuple[int, int]
) -> None:
    new, old = ratio
    unsplit = _told(events)
    plain = replay_trades(unsplit, POLICY)
    split = Split("split", SPLIT_DAY, "brokerage", "X", new, old)
    history: list[Trade | Split] = [*_in_new_shares(unsplit, new, old), split]
    book = replay_trades(history, POLICY)
    assert [(s.id, s.proceeds, s.basis, s.disallowed, s.term) for s in book.sales] == [
        (s.id, s.proceeds, s.basis, s.disallowed, s.term) for s in plain.sales
    ]
    for symbol in ("X", "Y"):
        qty, cost, basis = _basis(book, symbol)
        plain_qty, plain_cost, plain_basis = _basis(plain, symbol)
        assert (cost, basis) == (plain_cost, plain_basis)  # total basis per symbol unchanged
        assert qty == (plain_qty * new / old if symbol == "X" else plain_qty)
    assert [(lot.source_id, lot.acquired, lot.holding_period_start) for lot in book.lots()] == [
        (lot.source_id, lot.acquired, lot.holding_period_start) for lot in plain.lots()
    ]
