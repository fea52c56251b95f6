"""Check the broker's snapshot and the strategy's targets before anything is planned.

Bad input names the thing ("price of VTI is 0", "quote for BND is 130 hours old") and stops
the account's cycle before planning: trimtab never plans on data it cannot trust.
"""

from __future__ import annotations

__all__ = ["check_targets", "planning_input", "snapshot_prices"]

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from daemon.core.domain import CASH, AccountSnapshot
from daemon.core.errors import DataError, StrategyError
from daemon.core.plannable import MAX_NUMBER, price_problem
from daemon.core.planner import PlanInput

TARGET_SUM_TOLERANCE = Decimal("0.000001")
FUTURE_TOLERANCE = timedelta(minutes=5)
_RULE = "trimtab plans only with numbers up to 10000000000000 (1e13)"


def check_targets(targets: Mapping[str, Decimal], strategy: str) -> dict[str, Decimal]:
    """Return the targets as Decimals, or raise `StrategyError` naming what is wrong."""
    checked: dict[str, Decimal] = {}
    for symbol, weight in targets.items():
        if not isinstance(weight, Decimal) or not weight.is_finite():
            raise StrategyError(f"strategy {strategy}: weight of {symbol} is {weight!r}")
        if weight < 0:
            raise StrategyError(f"strategy {strategy}: weight of {symbol} is negative ({weight})")
        checked[symbol] = weight
    total = sum(checked.values(), Decimal(0))
    if abs(total - 1) > TARGET_SUM_TOLERANCE:
        raise StrategyError(f"strategy {strategy}: targets sum to {total}, not 1")
    return checked


def snapshot_prices(
    snapshot: AccountSnapshot,
    symbols: set[str],
    *,
    now: datetime,
    max_age: timedelta,
) -> dict[str, Decimal]:
    """Return a checked price for every symbol in `symbols`, or raise `DataError`."""
    prices: dict[str, Decimal] = {}
    for symbol in sorted(symbols):
        quote = snapshot.quotes.get(symbol)
        if quote is None:
            raise DataError(f"no price for {symbol} from the broker (unknown or delisted symbol?)")
        price = quote.price
        if not isinstance(price, Decimal) or price.is_nan():
            raise DataError(f"price of {symbol} is NaN")
        if not price.is_finite() or price <= 0:
            raise DataError(f"price of {symbol} is {price}, not a positive number")
        problem = price_problem(price)
        if problem is not None:  # out of the range trimtab plans with (a bad tick, a typo)
            raise DataError(
                f"price of {symbol} from the broker (source {quote.source}) {problem}; "
                "trimtab does not plan on it: check the quote at the broker"
            )
        age = now - quote.as_of
        if age > max_age:
            hours = age.total_seconds() / 3600
            raise DataError(
                f"quote for {symbol} is {hours:.1f} hours old (as of {quote.as_of.isoformat()}); "
                f"the limit is {max_age.total_seconds() / 3600:.0f} hours"
            )
        if -age > FUTURE_TOLERANCE:
            raise DataError(
                f"quote for {symbol} is dated in the future ({quote.as_of.isoformat()}); "
                "check the clock"
            )
        prices[symbol] = price
    return prices


def planning_input(
    snapshot: AccountSnapshot,
    targets: Mapping[str, Decimal],
    *,
    now: datetime,
    max_quote_age: timedelta,
    withdrawal: Decimal = Decimal(0),
) -> PlanInput:
    """Build the planner's input from a checked snapshot and checked targets."""
    cash = snapshot.cash
    if not cash.is_finite():
        raise DataError(f"cash reported by the broker is {cash}")
    if cash < 0:
        raise DataError(
            f"cash reported by the broker is negative ({cash}); trimtab never plans on margin"
        )
    if cash > MAX_NUMBER:
        raise DataError(f"cash reported by the broker is too large ({cash}); {_RULE}")
    reserved = snapshot.reserved_cash
    what = "cash the broker holds for open buys (reserved, not spendable)"
    if not reserved.is_finite():
        raise DataError(f"{what} is {reserved}")
    if reserved < 0:
        raise DataError(f"{what} is negative ({reserved})")
    if reserved > MAX_NUMBER:
        raise DataError(f"{what} is too large ({reserved}); {_RULE}")
    holdings: dict[str, Decimal] = {}
    for position in snapshot.positions:
        if not position.qty.is_finite():
            raise DataError(f"quantity of {position.symbol} is {position.qty}")
        if position.qty < 0:
            raise DataError(
                f"quantity of {position.symbol} is negative ({position.qty}); "
                "short positions are not supported"
            )
        if position.qty > MAX_NUMBER:
            raise DataError(
                f"quantity of {position.symbol} reported by the broker is too large "
                f"({position.qty}); {_RULE}"
            )
        if position.qty > 0:
            holdings[position.symbol] = holdings.get(position.symbol, Decimal(0)) + position.qty
    needed = set(holdings) | {s for s in targets if s != CASH}
    prices = snapshot_prices(snapshot, needed, now=now, max_age=max_quote_age)
    return PlanInput(
        cash=cash,
        holdings=holdings,
        prices=prices,
        targets=dict(targets),
        withdrawal=withdrawal,
        reserved_cash=reserved,
    )
