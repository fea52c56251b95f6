"""Pure checks and shaping of an order before it goes to IB; a refusal sends nothing.

| rule | what happens |
|---|---|
| intent for another account | refused |
| quantity not a positive whole number | refused, naming the account, the symbol and the fix: IB takes no fractional quantity through its API (error 10243) |
| dollar-amount (notional) order | refused: IB's `cashQty` on stocks is not validated, so trimtab does not use it |
| limit price | positive, at most 2 decimals from $1 up, 4 below |
| orderRef | the client order id (at most 128 characters): how trimtab finds the order again |
| time in force | `DAY`; `outsideRth` set explicitly on every order (IB needs it per order) |
"""  # noqa: E501 (a table row per rule reads better than wrapped cells)

from __future__ import annotations

__all__ = ["PreparedOrder", "prepare_order"]

from dataclasses import dataclass
from decimal import Decimal

from daemon.core.domain import OrderIntent, OrderType
from daemon.core.money import CENT

SUB_DOLLAR_TICK = Decimal("0.0001")
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
    limit = intent.limit_price
    if intent.order_type is OrderType.LIMIT:
        if limit is None or not limit.is_finite() or limit <= 0:
            return f"a limit order needs a positive limit price, got {limit}"
        tick = CENT if limit >= 1 else SUB_DOLLAR_TICK
        if limit != limit.quantize(tick):
            return f"limit price {limit} is not a multiple of the tick {tick}"
    elif limit is not None:
        return "a market order must not carry a limit price"
    return PreparedOrder(
        symbol=intent.symbol,
        action="BUY" if intent.side.value == "buy" else "SELL",
        qty=int(qty),
        order_type=intent.order_type,
        limit_price=limit,
        order_ref=ref,
        outside_rth=outside_rth,
        account_id=account_id,
    )
