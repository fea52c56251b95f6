"""Pure: the cash an Alpaca account lets trimtab plan and spend, after open buys and margin.

Alpaca's `cash` does not move while an order is open, but every open buy holds buying power
until it fills ("your available buying power is reduced by your existing open buy long ...
orders", *Orders at Alpaca*, Buying Power). A buy placed by hand (in Alpaca's dashboard, by
another program) therefore leaves less to spend than `cash` says. trimtab plans and sizes with

    min(cash - what open buys hold, buying_power, non_marginable_buying_power)

floored at 0 (unless `cash` itself is negative: a margin debit, which the decision step
refuses to plan on). Each term has its reason:

| term | why |
|---|---|
| `cash - held` | never on margin: in a margin account the buying powers exceed the cash (2x the excess equity), so only the cash, less what open buys will take from it when they fill, is trimtab's to spend |
| `buying_power` | what Alpaca checks a buy against; in a cash account it is the cash less Alpaca's own holds |
| `non_marginable_buying_power` | what Alpaca checks a buy of a non-marginable security against (optional in the account object: left out when absent) |

What an open buy holds is counted once, here, whoever sent it: the executor takes off the hold
of each buy it sends only after this was read, so trimtab's own buys are not counted twice.

The rest of Alpaca's `cash` (`reserved_cash`: what open buys hold, or what the buying powers
do not allow) is still the account's: it is reported apart, counted in the account's value
(weights, returns) and never spent. Left out, an owner's buy resting for days would make the
account look smaller by its hold, every other holding overweight, and trimtab sell them.
"""  # noqa: E501 (a table row per term reads better than wrapped cells)

from __future__ import annotations

__all__ = ["free_cash", "held_by_open_buys", "reserved_cash"]

from collections.abc import Iterable, Mapping
from decimal import Decimal

from adapters.alpaca.parsing import AccountInfo
from daemon.core.domain import BrokerOrder, OrderType, Side

_ZERO = Decimal(0)


def held_by_open_buys(
    orders: Iterable[BrokerOrder], prices: Mapping[str, Decimal], hold_fraction: Decimal
) -> Decimal | BrokerOrder:
    """Return what the open buys among `orders` hold, or the first whose hold is unknown.

    A limit buy holds its unfilled shares at its limit (Alpaca's documented example: a
    $3,000 limit buy leaves $7,000 of $10,000). A market (or stop) buy holds its unfilled
    shares at its symbol's price marked up by `hold_fraction` (the top of Alpaca's 2.5% to 4%,
    so never less than Alpaca holds), a dollar-amount buy its unspent amount marked up; one
    whose symbol has no price cannot be counted, and is returned for the caller to name.
    """
    held = _ZERO
    for order in orders:
        if order.side is not Side.BUY:
            continue
        if order.notional is not None:
            spent = order.filled_qty * (order.avg_fill_price or _ZERO)
            held += max(order.notional - spent, _ZERO) * (1 + hold_fraction)
            continue
        rest = max(order.qty - order.filled_qty, _ZERO)
        if rest == 0:
            continue
        if order.order_type is OrderType.LIMIT and order.limit_price is not None:
            held += rest * order.limit_price
            continue
        price = prices.get(order.symbol)
        if price is None:
            return order
        held += rest * price * (1 + hold_fraction)
    return held


def free_cash(info: AccountInfo, held: Decimal) -> Decimal:
    """Return the cash trimtab may plan and spend: see the module's table."""
    if info.cash < 0:
        return info.cash  # a margin debit: the decision step refuses it, naming it
    limits = [info.cash - held, info.buying_power]
    if info.non_marginable_buying_power is not None:
        limits.append(info.non_marginable_buying_power)
    return max(min(limits), _ZERO)


def reserved_cash(info: AccountInfo, free: Decimal) -> Decimal:
    """Return the cash Alpaca holds that `free` (from `free_cash`) leaves out: counted in the
    account's value, never spent. 0 for a margin debit (no cash is held)."""
    return max(info.cash - free, _ZERO)
