"""How a simulated fill is priced and charged: slippage, the tick, commission, cash.

Pure. The simulated broker (`adapters.sim.broker`) and the backtest (`daemon.backtest`) both
price their fills here, so a backtest day and a sim day cannot disagree about what an order
costs:

- `fill_price`: the quote moved against the trader by `slippage_bps`, rounded to the tick
  against them (a cent from $1 up, $0.0001 below);
- `limit_fill_price`: a limit order fills at the better of its limit and `fill_price`, and
  only when the quote crosses the limit;
- `commission`: per order (on its first fill) plus per share, rounded up to the cent;
- `cost` / `proceeds`: qty x price, rounded up to the cent for a buy, down for a sell.
"""

from __future__ import annotations

__all__ = [
    "SUB_DOLLAR_TICK",
    "commission",
    "cost",
    "fill_price",
    "limit_fill_price",
    "proceeds",
    "tick",
]

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from daemon.core.domain import Side
from daemon.core.money import CENT, cents_down, cents_up

SUB_DOLLAR_TICK = Decimal("0.0001")
_BPS = 10_000


def tick(price: Decimal) -> Decimal:
    """Return the price increment at `price`: a cent from $1 up, $0.0001 below."""
    return CENT if price >= 1 else SUB_DOLLAR_TICK


def fill_price(side: Side, quote: Decimal, bps: Decimal) -> Decimal:
    """Return the quote moved against the trader by `bps`, rounded to the tick against them."""
    if side is Side.BUY:
        raw = quote * (1 + bps / _BPS)
        return raw.quantize(tick(raw), rounding=ROUND_CEILING)
    raw = quote * (1 - bps / _BPS)
    return max(raw.quantize(tick(raw), rounding=ROUND_FLOOR), SUB_DOLLAR_TICK)


def limit_fill_price(side: Side, quote: Decimal, limit: Decimal, bps: Decimal) -> Decimal | None:
    """Return the fill price of a limit order if the quote crosses its limit, else `None`."""
    slipped = fill_price(side, quote, bps)
    if side is Side.BUY:
        return min(limit, slipped) if quote <= limit else None
    return max(limit, slipped) if quote >= limit else None


def commission(
    per_order: Decimal, per_share: Decimal, qty: Decimal, *, first_fill: bool
) -> Decimal:
    """Return the commission of filling `qty`: per order on the order's first fill only."""
    return cents_up((per_order if first_fill else Decimal(0)) + per_share * qty)


def cost(qty: Decimal, price: Decimal) -> Decimal:
    """Return what buying `qty` at `price` takes from cash (before commission)."""
    return cents_up(qty * price)


def proceeds(qty: Decimal, price: Decimal) -> Decimal:
    """Return what selling `qty` at `price` adds to cash (before commission)."""
    return cents_down(qty * price)
