"""Domain types shared by the engine, the planner's callers, the risk gate and the adapters.

Everything here is frozen: a snapshot or an order intent is a fact at a moment, never edited.
Money and quantities are `Decimal`.
"""

from __future__ import annotations

__all__ = [
    "CASH",
    "ORDER_TRANSITIONS",
    "AccountSnapshot",
    "AccountType",
    "BrokerOrder",
    "Fill",
    "Mode",
    "OrderIntent",
    "OrderStatus",
    "OrderType",
    "Position",
    "Quote",
    "Side",
    "TradingState",
    "check_transition",
    "merge_report",
]

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from daemon.core.errors import InvalidTransition
from daemon.core.records import fast_init

CASH = "CASH"
"""The pseudo-symbol that stands for cash in targets and drift tables."""


class Mode(StrEnum):
    DRY_RUN = "dry-run"
    PAPER = "paper"
    LIVE = "live"


class AccountType(StrEnum):
    TAXABLE = "taxable"
    TRADITIONAL_IRA = "traditional_ira"
    ROTH_IRA = "roth_ira"


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    def signed(self, qty: Decimal) -> Decimal:
        """Return `qty` as the change it makes to a position: positive for a buy, negative
        for a sell (the one place the sign of a side is written)."""
        return qty if self is Side.BUY else -qty


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    PLANNED = "planned"
    SUBMITTING = "submitting"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    NEVER_REACHED = "never_reached"
    """trimtab's conclusion, not a broker report: the broker has no order under the id, and
    by the broker's own rule (`adapters.base.AbsenceRule`) it never will. Final."""

    @property
    def is_terminal(self) -> bool:
        return not ORDER_TRANSITIONS[self]

    @property
    def is_open(self) -> bool:
        return self in _OPEN_AT_BROKER


_OPEN_AT_BROKER = frozenset(
    {
        OrderStatus.SUBMITTING,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.UNKNOWN,
    }
)

_S = OrderStatus
# Real brokers report fills after a cancel was acknowledged and fills before the accept; the
# table allows those orders of events. Terminal states (no way out) are FILLED, REJECTED and
# NEVER_REACHED (from SUBMITTING or UNKNOWN: see `OrderStatus.NEVER_REACHED`). CANCELLED and
# EXPIRED may still turn FILLED/PARTIALLY_FILLED when a late fill arrives.
ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.PLANNED: frozenset({_S.SUBMITTING, _S.CANCELLED}),
        _S.SUBMITTING: frozenset(
            {
                _S.ACCEPTED,
                _S.PARTIALLY_FILLED,
                _S.FILLED,
                _S.REJECTED,
                _S.UNKNOWN,
                _S.CANCELLED,
                _S.EXPIRED,
                _S.NEVER_REACHED,
            }
        ),
        _S.UNKNOWN: frozenset(
            {
                _S.ACCEPTED,
                _S.PARTIALLY_FILLED,
                _S.FILLED,
                _S.REJECTED,
                _S.CANCELLED,
                _S.EXPIRED,
                _S.NEVER_REACHED,
            }
        ),
        _S.ACCEPTED: frozenset(
            {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED, _S.REJECTED}
        ),
        _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
        _S.CANCELLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED}),
        _S.EXPIRED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED}),
        _S.FILLED: frozenset(),
        _S.REJECTED: frozenset(),
        # Reached only when the broker's rule says its "not found" is final: a report of
        # the order afterwards contradicts that rule and is refused like a filled rejection.
        _S.NEVER_REACHED: frozenset(),
    }
)


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    """Raise `InvalidTransition` unless the table allows `current -> new` (or they are equal)."""
    if new == current or new in ORDER_TRANSITIONS[current]:
        return
    raise InvalidTransition(f"order status cannot go from {current} to {new}")


_PROGRESS = {
    _S.PLANNED: 0,
    _S.SUBMITTING: 1,
    _S.UNKNOWN: 2,
    _S.ACCEPTED: 3,
    _S.PARTIALLY_FILLED: 4,
    _S.CANCELLED: 5,
    _S.EXPIRED: 5,
    _S.FILLED: 5,
    _S.REJECTED: 5,
    _S.NEVER_REACHED: 5,
}


def merge_report(
    current: OrderStatus, filled: Decimal, reported: OrderStatus, reported_filled: Decimal
) -> tuple[OrderStatus, Decimal] | None:
    """Fold a broker report into what trimtab knows of an order; None if it adds nothing.

    Broker reports arrive late, twice and out of order (a fill before the accept, an accept
    after the fill, a cancel acknowledgement after the last fill). A report that is behind
    what is known (less filled, or an earlier stage) is ignored; a late fill after a cancel is
    taken. A report that contradicts what is known (a rejected order that fills) raises
    `InvalidTransition`: that is a broker or bookkeeping fault, not a race.
    """
    if reported_filled < filled:
        return None
    if (reported, reported_filled) == (current, filled):
        return None
    if current is _S.FILLED:
        return None
    late_fill = current in (_S.CANCELLED, _S.EXPIRED)
    if reported in ORDER_TRANSITIONS[current] and (not late_fill or reported_filled > filled):
        return reported, reported_filled
    if reported == current:
        return current, reported_filled
    if _PROGRESS[reported] < _PROGRESS[current] or (late_fill and reported_filled == filled):
        return None
    raise InvalidTransition(
        f"broker reports {reported} (filled {reported_filled}) for an order known as "
        f"{current} (filled {filled})"
    )


@fast_init
@dataclass(frozen=True, slots=True)
class Quote:
    """A price for valuation, with its time and where it came from."""

    symbol: str
    price: Decimal
    as_of: datetime
    source: str
    synthetic: bool = False
    previous_close: Decimal | None = None
    """The close before `price`'s day, when the source knows it (for the price-move check)."""


@fast_init
@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    qty: Decimal
    avg_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker reports it."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType
    status: OrderStatus
    filled_qty: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    limit_price: Decimal | None = None
    submitted_at: datetime | None = None
    message: str = ""
    notional: Decimal | None = None
    """The dollar amount of a notional order (then `qty` is what has filled so far)."""


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The account as the broker sees it at `as_of`: cash, positions, quotes and open orders."""

    account: str
    as_of: datetime
    cash: Decimal
    positions: tuple[Position, ...]
    quotes: Mapping[str, Quote]
    open_orders: tuple[BrokerOrder, ...] = ()
    fractionable: frozenset[str] | None = None
    """Symbols the broker accepts fractional quantities in; None when it does not say."""
    market_open: bool | None = None
    """The broker's own clock: is its market open now? None when it has no clock."""
    reserved_cash: Decimal = Decimal(0)
    """Cash the account holds that trimtab may not spend now: held by open buys (an owner's
    limit buy resting at the broker), or beyond the broker's buying power. It counts in the
    account's value (weights, returns), never in `cash`, which is what trimtab may spend.
    Only Alpaca reports it (`adapters.alpaca.holds`); elsewhere 0."""

    @property
    def total_cash(self) -> Decimal:
        """Return all the cash the account holds: the cash to spend and the reserved cash."""
        return self.cash + self.reserved_cash

    def qty(self, symbol: str) -> Decimal:
        for position in self.positions:
            if position.symbol == symbol:
                return position.qty
        return Decimal(0)


@dataclass(frozen=True, slots=True)
class Funds:
    """Cash and quotes at `as_of`: what buys are sized by once the sells have settled."""

    as_of: datetime
    cash: Decimal
    quotes: Mapping[str, Quote]


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order trimtab means to send; stored before it is sent."""

    client_order_id: str
    cycle_id: str
    account: str
    seq: int
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType
    reason: str
    limit_price: Decimal | None = None
    reference_price: Decimal | None = None
    notional: Decimal | None = None
    """When set (market buys only), the order is for this many dollars, in cents, and the
    broker decides the shares; `qty` is then the estimate at `reference_price`, which risk
    checks and reports use."""


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution reported by the broker; `fill_id` is unique per broker account."""

    fill_id: str
    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    at: datetime
    commission: Decimal = field(default=Decimal(0))
