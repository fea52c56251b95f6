"""Pure checks and shaping of an order before it goes to IB; a refusal sends nothing.

| rule | what happens |
|---|---|
| intent for another account | refused |
| quantity not a positive whole number | refused, naming the account, the symbol and the fix: IB takes no fractional quantity through its API (error 10243) |
| dollar-amount (notional) order | refused: IB's `cashQty` on stocks is not validated, so trimtab does not use it |
| limit price | positive, at most 2 decimals from $1 up, 4 below |
| orderRef | the client order id (at most 128 characters): how trimtab finds the order again |
| time in force | `DAY`; `outsideRth` set explicitly on every order (IB needs it per order) |
| an open order on the other side of the symbol | refused: trimtab never has a buy and a sell of one symbol working |
| a sell of more than is held and not already offered by open sells | refused: IB would sell short in a margin account |
| a buy costing more than the cash not held by open buys (each at its limit, else its own symbol's price plus the hold) | refused: IB would lend on margin |
| an open market buy of a symbol with no price (a buy is being checked) | the buy is refused, naming that order and the fix: what it holds is unknown |
"""  # noqa: E501 (a table row per rule reads better than wrapped cells)

from __future__ import annotations

__all__ = ["PreparedOrder", "exposure_problem", "prepare_order", "prices_needed"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from adapters.base import limit_problem, notional_problem
from daemon.core.domain import BrokerOrder, OrderIntent, OrderType, Side

MAX_ORDER_REF = 128


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """What goes into ib_async's order."""

    symbol: str
    action: str
    """BUY or SELL."""
    qty: int
    order_type: OrderType
    limit_price: Decimal | None
    order_ref: str
    outside_rth: bool
    account_id: str


def prepare_order(
    intent: OrderIntent, *, account: str, account_id: str, outside_rth: bool
) -> PreparedOrder | str:
    """Return the order to send, or why it must not be sent (a sentence naming the fix)."""
    if intent.account != account:
        return f"order for account {intent.account} reached IB account {account}"
    ref = intent.client_order_id
    if not ref or len(ref) > MAX_ORDER_REF:
        return f"client order id must be 1 to {MAX_ORDER_REF} characters"
    if intent.notional is not None:
        malformed = notional_problem(intent)
        if malformed is not None:
            return malformed
        return (
            f"account {account}: IB takes no dollar-amount orders through trimtab (fix: set "
            "policy.notional_buys = false)"
        )
    qty = intent.qty
    if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
        return f"quantity must be a positive Decimal, got {qty!r}"
    if qty != qty.to_integral_value():
        return (
            f"account {account}: IB accepts only whole shares of {intent.symbol} through its "
            f"API (error 10243), got {qty} (fix: drop {intent.symbol} from "
            "policy.fractional_symbols, or set policy.fractional = false)"
        )
    problem = limit_problem(intent)
    if problem is not None:
        return problem
    return PreparedOrder(
        symbol=intent.symbol,
        action="BUY" if intent.side.value == "buy" else "SELL",
        qty=int(qty),
        order_type=intent.order_type,
        limit_price=intent.limit_price,
        order_ref=ref,
        outside_rth=outside_rth,
        account_id=account_id,
    )


def prices_needed(order: PreparedOrder, open_orders: Sequence[BrokerOrder]) -> frozenset[str]:
    """Return the symbols whose current price `exposure_problem` needs for `order`.

    A sell needs none. A buy needs its own symbol's when it is a market buy, and the symbol of
    every open market buy with shares left: each holds cash at its own symbol's price.
    """
    if order.action != "BUY":
        return frozenset()
    needed = {o.symbol for o in _open_buys(open_orders) if o.limit_price is None}
    if order.limit_price is None:
        needed.add(order.symbol)
    return frozenset(needed)


def exposure_problem(
    order: PreparedOrder,
    *,
    account: str,
    held: Decimal,
    open_orders: Sequence[BrokerOrder],
    cash: Decimal,
    prices: Mapping[str, Decimal],
    hold_fraction: Decimal,
) -> str | None:
    """Return why the order would short, borrow or cross an open order, or None.

    `open_orders` are the account's working orders; `prices` are current prices by symbol
    (`prices_needed`). A market buy whose own symbol has no price is left to IB's own check.
    Every open buy holds its remaining shares at its limit, else at its own symbol's price
    plus `hold_fraction`; an open market buy of a symbol with no price refuses the buy, as
    what it holds is unknown.
    """
    mine = [o for o in open_orders if o.symbol == order.symbol and not o.status.is_terminal]
    side = Side.BUY if order.action == "BUY" else Side.SELL
    crossing = [o for o in mine if o.side is not side]
    if crossing:
        other = crossing[0]
        return (
            f"account {account}: a {other.side} order of {order.symbol} "
            f"({other.client_order_id}) is still working at IB; trimtab never has a buy and a "
            "sell of one symbol open (fix: let it finish, or cancel it, then run again)"
        )
    qty = Decimal(order.qty)
    if side is Side.SELL:
        offered = sum((o.qty - o.filled_qty for o in mine), Decimal(0))
        if qty > held - offered:
            return (
                f"account {account}: selling {qty} {order.symbol} exceeds the {held} held "
                f"({offered} already offered by open sells); IB would sell short (fix: sync the "
                "holdings with trimtab reconcile, or sell no more than is held)"
            )
        return None
    unit = order.limit_price
    if unit is None:
        price = prices.get(order.symbol)
        if price is None:
            return None
        unit = price * (1 + hold_fraction)
    held_by_buys = Decimal(0)
    for other in _open_buys(open_orders):
        holds = _held_by(other, prices, hold_fraction)
        if holds is None:
            return (
                f"account {account}: an open market buy of {other.qty - other.filled_qty} "
                f"{other.symbol} ({_named(other)}) holds cash at a price trimtab could not read "
                f"(no quote and no portfolio mark for {other.symbol}), so buying {qty} "
                f"{order.symbol} could make IB lend on margin (fix: subscribe to market data "
                f"for {other.symbol}, or set broker_settings.market_data_type = 3 (delayed); "
                "or let that buy finish, or cancel it, then run again)"
            )
        held_by_buys += holds
    free = cash - held_by_buys
    cost = qty * unit
    if cost > free:
        return (
            f"account {account}: buying {qty} {order.symbol} costs about {cost:.2f}, more than "
            f"the {max(free, Decimal(0)):.2f} cash not held by open buys; IB would lend on "
            "margin (fix: wait for the open buys to finish, or add cash)"
        )
    return None


def _open_buys(open_orders: Sequence[BrokerOrder]) -> list[BrokerOrder]:
    """The working buys with shares left to buy."""
    return [
        o for o in open_orders if o.side is Side.BUY and o.status.is_open and o.qty > o.filled_qty
    ]


def _held_by(
    order: BrokerOrder, prices: Mapping[str, Decimal], hold_fraction: Decimal
) -> Decimal | None:
    """Cash an open buy holds: its remaining shares at its limit, else at its own symbol's
    price plus the hold; None when it is a market buy of a symbol with no price."""
    unit = order.limit_price
    if unit is None:
        price = prices.get(order.symbol)
        if price is None:
            return None
        unit = price * (1 + hold_fraction)
    return (order.qty - order.filled_qty) * unit


def _named(order: BrokerOrder) -> str:
    """How a refusal names an open order: its orderRef, else IB's id (placed outside trimtab)."""
    return order.client_order_id or f"IB order {order.broker_order_id}, placed outside trimtab"
