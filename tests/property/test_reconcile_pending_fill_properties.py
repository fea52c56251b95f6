"""Reconciliation counts each fill of trimtab's orders once, however late the broker lists it.

Random histories of trimtab's orders of two symbols: each is reported filled (its position
moved, its intent's filled quantity set) at one reconciliation, and its fills, in pieces,
are listed at that one or later ones (Alpaca's activities lag); some reconciliations also
find shares nothing explains. Driven through the pure rules of `daemon.cycle.reconcile`
(`pending_fills`, `expected_positions`, `book_positions`) with the book and the recorded fills
kept as `_record` keeps them:

- a reconciliation agrees with the broker unless shares nothing explains appeared since the
  last one: then it differs, in that symbol only;
- once every fill is listed, the book is the broker's positions: no fill is counted twice,
  even after a difference whose positions the book took.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from daemon.core.domain import Fill, OrderIntent, OrderStatus, OrderType, Side
from daemon.cycle.reconcile import (
    PendingFill,
    book_positions,
    expected_positions,
    pending_fills,
)
from daemon.store.intents import StoredIntent

D = Decimal
SYMBOLS = ("VTI", "BND")
RECONCILIATIONS = 5
T0 = datetime(2026, 1, 5, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Order:
    """One of trimtab's orders: reported filled at reconciliation `filled_at`, its fills
    (quantity, reconciliation that first lists it) never before."""

    number: int
    symbol: str
    side: Side
    pieces: tuple[tuple[Decimal, int], ...]
    filled_at: int

    @property
    def coid(self) -> str:
        return f"tt-{self.number:03d}"

    @property
    def qty(self) -> Decimal:
        return sum((qty for qty, _ in self.pieces), D(0))

    def signed(self) -> Decimal:
        return self.qty if self.side is Side.BUY else -self.qty

    def stored(self) -> StoredIntent:
        intent = OrderIntent(
            client_order_id=self.coid,
            cycle_id=f"main:{self.filled_at}",
            account="main",
            seq=self.number,
            symbol=self.symbol,
            side=self.side,
            qty=self.qty,
            order_type=OrderType.MARKET,
            reason="rebalance",
        )
        return StoredIntent(
            intent=intent,
            status=OrderStatus.FILLED,
            broker_order_id=f"b-{self.number}",
            filled_qty=self.qty,
            avg_fill_price=D(100),
            message="",
            created_at=T0 + timedelta(days=self.filled_at),
        )

    def fills(self, through: int) -> list[Fill]:
        return [
            Fill(
                fill_id=f"{self.coid}-{i}",
                client_order_id=self.coid,
                broker_order_id=f"b-{self.number}",
                symbol=self.symbol,
                side=self.side,
                qty=qty,
                price=D(100),
                at=T0 + timedelta(days=self.filled_at),
            )
            for i, (qty, listed_at) in enumerate(self.pieces)
            if listed_at <= through
        ]


orders = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.sampled_from((Side.BUY, Side.SELL)),
        st.integers(min_value=0, max_value=RECONCILIATIONS - 1),
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=500),  # shares
                st.integers(min_value=0, max_value=RECONCILIATIONS),  # lag, in reconciliations
            ),
            min_size=1,
            max_size=3,
        ),
    ),
    max_size=8,
).map(
    lambda drawn: [
        Order(
            number=n,
            symbol=symbol,
            side=side,
            pieces=tuple((D(qty), filled_at + lag) for qty, lag in pieces),
            filled_at=filled_at,
        )
        for n, (symbol, side, filled_at, pieces) in enumerate(drawn)
    ]
)
unexplained = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.integers(min_value=1, max_value=RECONCILIATIONS - 1),
        st.integers(min_value=1, max_value=9),
    ),
    max_size=2,
)


def _held(positions: dict[str, Decimal]) -> dict[str, Decimal]:
    return {symbol: qty for symbol, qty in positions.items() if qty != 0}


@given(orders, unexplained)
@example(  # the audit's case: filled, listed one reconciliation later
    [Order(0, "BND", Side.BUY, ((D(551), 1),), 0)], []
)
@example(  # a difference in VTI while BND's fill is pending; BND listed after it
    [Order(0, "BND", Side.BUY, ((D(551), 2),), 0), Order(1, "VTI", Side.BUY, ((D(240), 0),), 0)],
    [("VTI", 1, 5)],
)
@example(  # shares beyond a pending fill, in its symbol
    [Order(0, "BND", Side.BUY, ((D(551), 2),), 0)], [("BND", 1, 3)]
)
def test_each_fill_counts_once_and_only_unexplained_shares_differ(
    history: list[Order], extra: list[tuple[str, int, int]]
) -> None:
    book: dict[str, Decimal] = {}
    recorded: dict[str, Fill] = {}
    last = RECONCILIATIONS + RECONCILIATIONS  # every fill is listed by then
    for r in range(last + 1):
        broker = _held(
            {
                symbol: sum(
                    (o.signed() for o in history if o.symbol == symbol and o.filled_at <= r),
                    D(0),
                )
                + sum((D(q) for s, at, q in extra if s == symbol and at <= r), D(0))
                for symbol in SYMBOLS
            }
        )
        reported = [o.stored() for o in history if o.filled_at <= r]
        listed = [f for o in history if o.filled_at <= r for f in o.fills(r)]
        new = [f for f in listed if f.fill_id not in recorded]
        recorded.update({f.fill_id: f for f in new})
        by_order: dict[str, Decimal] = {}
        for fill in recorded.values():
            by_order[fill.client_order_id] = by_order.get(fill.client_order_id, D(0)) + fill.qty
        pending: tuple[PendingFill, ...] = pending_fills(reported, by_order)
        expected = _held(expected_positions(book, new, (), pending))
        differ = {s for s in SYMBOLS if expected.get(s, D(0)) != broker.get(s, D(0))}
        appeared = {s for s, at, _ in extra if at == r}
        assert differ == appeared, (r, expected, broker, pending)
        book = book_positions(broker, pending)  # the book, as `_record` keeps it
    assert not pending
    assert book == broker
    assert sorted(recorded) == sorted(f.fill_id for o in history for f in o.fills(last))
