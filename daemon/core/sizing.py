"""How an approved order is placed: its limit price, its dollar amount, and buys sized to the
cash the sells left. Pure; the decision step and the executor both use it.
"""

from __future__ import annotations

__all__ = ["OrderTerms", "buy_cost_bound", "limit_price", "notional_amount", "size_buy"]

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from daemon.core.domain import OrderType, Side
from daemon.core.money import cents, cents_down, cents_up
from daemon.core.planner import PlannedOrder


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """The account's configured way of placing orders (`policy.*` in the config)."""

    order_type: OrderType = OrderType.MARKET
    limit_collar: Decimal = Decimal("0.005")
    notional_buys: bool = False
    cash_buffer: Decimal = Decimal(0)
    min_trade_notional: Decimal = Decimal(0)


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
) -> PlannedOrder | None:
    """Shrink a buy to what the cash after sells covers; None if it falls below min trade.

    `price` is the higher of the planning price and a fresh quote; a limit order is
    bounded by its limit instead.
    """
    limit = limit_price(order, terms)
    unit = limit if limit is not None else price
    if order.qty * unit <= spendable:
        return order
    qty = (max(spendable, Decimal(0)) / unit / increment).to_integral_value(ROUND_DOWN)
    qty *= increment
    notional = cents(qty * order.price)
    if qty <= 0 or notional < terms.min_trade_notional:
        return None
    reason = f"{order.reason}; reduced from {order.qty} to {qty} sh to fit cash after sells"
    return PlannedOrder(order.symbol, order.side, qty, order.price, notional, reason)


def buy_cost_bound(
    order: PlannedOrder, price: Decimal, *, limit: Decimal | None, notional: Decimal | None
) -> Decimal:
    """What a sent buy may cost: its amount, at its limit, or at the higher of plan and fresh
    quote.

    Market orders can still fill a little higher (slippage): the account's cash_buffer is
    what absorbs that.
    """
    if notional is not None:
        return notional  # the broker spends the amount, whatever the fill price
    return order.qty * (limit if limit is not None else price)
