"""Trailing-12-month yields for a strategy that reads them (`income`), from the broker.

A broker with `DividendHistory` (Alpaca) reports the dividends the account received, each
with the shares it was paid on. A symbol's yield is the cash paid per share over the 12
months before the cycle's day (dividends, tax-exempt dividends and capital gain
distributions; not withholdings or reinvestments) over its current price.

The account's records only tell about symbols it held. A symbol counts only when the account
was also paid on it in the 12 months before that window (so it held it the whole window, as
far as the records show); a symbol bought a few months ago would otherwise look like it
yields a fraction of what it does. Every other symbol takes the `yields` param of the
strategy (its absence is the strategy's `DataError`). Brokers without `DividendHistory` (the
simulated one) give none: the params are the source.
"""

from __future__ import annotations

__all__ = ["PAID", "broker_yields"]

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

from adapters.base import DividendHistory
from strategies.base import ReadsYields, Strategy

PAID = frozenset({"dividend", "tax_exempt_dividend", "capital_gain_long", "capital_gain_short"})
"""Kinds of dividend activity that are cash paid per share (Alpaca's parsing names them)."""

YEAR = timedelta(days=365)


def broker_yields(
    strategy: Strategy, broker: object, prices: Mapping[str, Decimal], today: date
) -> dict[str, Decimal]:
    """Return trailing yields (0.031 for 3.1%) of the strategy's symbols the broker can tell."""
    if not isinstance(strategy, ReadsYields) or not isinstance(broker, DividendHistory):
        return {}
    wanted = strategy.yield_symbols()
    if not wanted:
        return {}
    window_start = today - YEAR
    paid: defaultdict[str, Decimal] = defaultdict(Decimal)
    held_before: set[str] = set()
    for activity in broker.dividends(window_start - YEAR):
        if activity.symbol not in wanted or activity.kind not in PAID:
            continue
        if not activity.qty or activity.qty <= 0 or activity.net_amount <= 0:
            continue
        if activity.on < window_start:
            held_before.add(activity.symbol)
        elif activity.on < today:
            paid[activity.symbol] += activity.net_amount / activity.qty
    return {
        symbol: (per_share / prices[symbol]).quantize(Decimal("0.000001"))
        for symbol, per_share in paid.items()
        if symbol in held_before and prices.get(symbol, Decimal(0)) > 0
    }
