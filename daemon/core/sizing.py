"""How an approved order is placed: its limit price, its dollar amount, and buys sized to the
cash the sells left. Pure; the decision step and the executor both use it.

Buys are sized to what the broker holds for them, not to their expected cost: a broker
checks a buy against buying power at its limit price, or for a market buy at a price above
the quote (`adapters.base.Broker.market_buy_hold_fraction`), and every open buy holds that
until it fills. The executor sends buys back to back, so the holds of the whole batch must
fit the cash after sells minus `cash_buffer` at once.

Every bound is what the broker charges, not the exact product: quantity x price rounded up
to the cent (`daemon.core.fills.cost`), plus a bound on the commission when there is one. A
bound kept in exact products drifts a cent per buy below what cash really pays, and the last
buy of a batch then no longer fits the cash left.
"""

from __future__ import annotations

__all__ = [
    "TOP_UP_PASSES",
    "OrderTerms",
    "buy_cost_bound",
    "limit_price",
    "notional_amount",
    "size_buy",
    "top_up_order",
]

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from daemon.core.domain import OrderType, Side
from daemon.core.money import cents, cents_down, cents_up
from daemon.core.planner import PlannedOrder
from daemon.core.planner.types import SMALLEST_ORDER, least_order

TOP_UP_PASSES = 2
"""Buys the hold shrank get at most this many follow-ups once their pieces fill: the hold's
share of what is left shrinks about 25-fold each pass, to under a share within two. The
executor sends them; the backtest makes them the same way."""


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """The account's configured way of placing orders (`policy.*` in the config)."""

    order_type: OrderType = OrderType.MARKET
    limit_collar: Decimal = Decimal("0.005")
    notional_buys: bool = False
    cash_buffer: Decimal = Decimal(0)
    """The cash buys leave untouched: `policy.cash_buffer`, plus the cycle's withdrawal."""
    min_trade_notional: Decimal = Decimal(0)
    least_commission: Decimal = Decimal(0)
    """What the broker charges its smallest order (`PlanningPolicy.least_commission`)."""
    max_orders_per_cycle: int | None = None
    max_orders_per_minute: int | None = None
    """`risk.max_orders_*` (None: no limit): the executor sends a top-up piece only while
    the orders sent stay within them; the pre-trade checks counted the planned orders only."""

    @property
    def min_trade(self) -> Decimal:
        """Return the least notional an order is sent at, as the planner's (`PlanningPolicy.
        min_trade`, `least_order`)."""
        return least_order(self.min_trade_notional, self.least_commission)


def limit_price(order: PlannedOrder, terms: OrderTerms) -> Decimal | None:
    """The marketable limit an order carries (None for market orders): past the quote by the
    collar, rounded away from the quote."""
    if terms.order_type is not OrderType.LIMIT:
        return None
    if order.side is Side.BUY:
        return cents_up(order.price * (1 + terms.limit_collar))
    return cents_down(order.price * (1 - terms.limit_collar))


def notional_amount(order: PlannedOrder) -> Decimal:
    """The dollar amount of a buy sent as an amount: rounded down to cents, so it never spends
    more than the share quantity it replaces would have at the planning price."""
    return cents_down(order.qty * order.price)


def size_buy(
    order: PlannedOrder,
    price: Decimal,
    spendable: Decimal,
    terms: OrderTerms,
    increment: Decimal,
    *,
    hold: Decimal,
    fee: Decimal = Decimal(0),
) -> PlannedOrder | None:
    """Shrink a buy so what the broker holds for it, rounded up to the cent, plus `fee` (a
    bound on its commission at the planned quantity) fits `spendable`; None if it falls below
    min trade, or below a cent.

    `price` is the higher of the planning price and a fresh quote. A limit buy holds its
    limit price; a market buy holds `price` x (1 + `hold`), the broker's
    `market_buy_hold_fraction` (Alpaca checks market buys 2.5% to 4% above the price). The
    caller takes each sent buy's `buy_cost_bound` off `spendable` before sizing the next:
    every open buy holds buying power until it fills.
    """
    unit = _unit_hold(order, price, terms, hold)
    # cents_up(x) + fee <= spendable exactly when x <= cents_down(spendable - fee): the
    # rounded-up cost fits iff the exact one fits the whole cents left.
    room = cents_down(spendable - fee)
    if order.qty * unit <= room:
        return order
    qty = (max(room, Decimal(0)) / unit / increment).to_integral_value(ROUND_DOWN)
    qty *= increment
    if qty * unit > room:  # the division rounds to 28 digits: one step down always fits
        qty -= increment
    # Rounded down: a shrunk buy never states more dollars than the plan it came from (a
    # sub-cent buy rounded to the nearest cent could).
    notional = cents_down(qty * order.price)
    # Never a buy of $0.00, even with no minimum trade: a fraction of a cent left fits a few
    # fractional increments (0.0001 sh at $60 is $0.006), an order of nothing (SMALLEST_ORDER).
    if qty <= 0 or notional < terms.min_trade:
        return None
    why = "cash after sells"
    if hold and limit_price(order, terms) is None:
        why += f" with the broker's {(hold * 100).normalize()}% hold on market buys"
    reason = f"{order.reason}; reduced from {order.qty} to {qty} sh to fit {why}"
    return PlannedOrder(order.symbol, order.side, qty, order.price, notional, reason)


def top_up_order(order: PlannedOrder, filled: Decimal) -> PlannedOrder | None:
    """The rest of a buy whose pieces filled short of its planned quantity, or None.

    A buy shrunk to fit the broker's hold on market buys can take the rest once it has filled
    and the hold is released; the rest is sized again (`size_buy`) before it is sent, and the
    pieces together never exceed the quantity the pre-trade checks approved.
    """
    rest = order.qty - filled
    # A rest worth under a cent (0.0001 sh at $20) is dust: an order of $0.00 (SMALLEST_ORDER).
    if rest <= 0 or rest * order.price < SMALLEST_ORDER:
        return None
    reason = f"{order.reason}; the rest ({rest} sh) after {filled} sh filled and freed the hold"
    notional = cents(rest * order.price)
    return PlannedOrder(order.symbol, order.side, rest, order.price, notional, reason)


def buy_cost_bound(
    order: PlannedOrder,
    price: Decimal,
    *,
    limit: Decimal | None,
    notional: Decimal | None,
    hold: Decimal,
    fee: Decimal = Decimal(0),
) -> Decimal:
    """What a sent buy takes from buying power: the broker's hold while it is open, which
    is also the most it can cost once filled, rounded up to the cent as cash is charged,
    plus `fee` (the bound on its commission the buy was sized with).

    A limit buy holds quantity x limit. A market buy holds quantity (or its dollar amount)
    x (1 + `hold`) at the higher of plan and fresh quote. A market buy can still fill above
    that if the price jumps by more than the hold between quote and fill: the account's
    cash_buffer is what absorbs that.
    """
    if notional is not None:
        held = notional * (1 + hold)  # the amount is spent whatever the price; held above it
    elif limit is not None:
        held = order.qty * limit
    else:
        held = order.qty * price * (1 + hold)
    return cents_up(held) + fee


def _unit_hold(order: PlannedOrder, price: Decimal, terms: OrderTerms, hold: Decimal) -> Decimal:
    """Return what one share of a buy holds: its limit, else the price plus the hold."""
    limit = limit_price(order, terms)
    return limit if limit is not None else price * (1 + hold)
