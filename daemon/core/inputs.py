"""Check the broker's snapshot and the strategy's targets before anything is planned.

Bad input names the thing ("price of VTI is 0", "quote for BND is 130 hours old") and stops
the account's cycle before planning: trimtab never plans on data it cannot trust.

Two contracts of third-party plugins are checked here too: a strategy's targets name only
symbols of its own `universe()` (and `CASH`), with `Decimal` weights (`check_targets`, in
`decide`, so the live cycle, `trimtab plan` and the backtest refuse alike); a broker's snapshot
lists each symbol once, with `Decimal` amounts, `str` symbols and time-zone-aware times
(`check_snapshot`, where every read of a broker passes: `daemon.cycle.retry.ReadRetrying`),
before reconciliation, the audit log or the planner use it.
"""

from __future__ import annotations

__all__ = [
    "check_funds",
    "check_snapshot",
    "check_targets",
    "planning_input",
    "snapshot_prices",
]

from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from daemon.core.domain import CASH, AccountSnapshot, Funds, Quote
from daemon.core.errors import DataError, StrategyError
from daemon.core.plannable import MAX_NUMBER, price_problem
from daemon.core.planner import PlanInput

TARGET_SUM_TOLERANCE = Decimal("0.000001")
FUTURE_TOLERANCE = timedelta(minutes=5)
_RULE = "trimtab plans only with numbers up to 10000000000000 (1e13)"


def check_targets(
    targets: Mapping[str, Decimal], strategy: str, universe: Collection[str]
) -> dict[str, Decimal]:
    """Return the targets as Decimals, or raise `StrategyError` naming what is wrong.

    Every symbol must be in the strategy's `universe` (or be `CASH`): a strategy that names
    another would have trimtab buy what the account's configuration never allowed it.
    """
    fix = "fix the plugin (or report it to its author)"
    wrong_keys = sorted(repr(s) for s in targets if not isinstance(s, str))
    if wrong_keys:
        raise StrategyError(
            f"strategy {strategy}: a target's symbol must be a str, got {', '.join(wrong_keys)}; "
            f"{fix}"
        )
    allowed = set(universe) | {CASH}
    outside = sorted(set(targets) - allowed)
    if outside:
        raise StrategyError(
            f"strategy {strategy} gave a weight to {', '.join(outside)}, outside its "
            f"universe ({', '.join(sorted(set(universe) - {CASH})) or 'empty'}); trimtab trades "
            f"only the symbols a strategy's universe() declares: {fix} (its universe() must "
            "list every symbol its targets may name)"
        )
    checked: dict[str, Decimal] = {}
    for symbol, weight in targets.items():
        if not isinstance(weight, Decimal):
            raise StrategyError(
                f"strategy {strategy}: weight of {symbol} must be a Decimal, got "
                f"{type(weight).__name__} ({weight!r}); {fix}"
            )
        if not weight.is_finite():
            raise StrategyError(f"strategy {strategy}: weight of {symbol} is {weight!r}")
        if weight < 0:
            raise StrategyError(f"strategy {strategy}: weight of {symbol} is negative ({weight})")
        checked[symbol] = weight
    total = sum(checked.values(), Decimal(0))
    if abs(total - 1) > TARGET_SUM_TOLERANCE:
        raise StrategyError(f"strategy {strategy}: targets sum to {total}, not 1")
    return checked


def check_snapshot(snapshot: AccountSnapshot, broker: str) -> AccountSnapshot:
    """Return `snapshot` if it keeps the broker contract, else raise `DataError` naming the
    broker plugin, the field and the fix.

    The contract (adapters/base.py): each symbol once in `positions` (two rows of one symbol
    would be added up by the planner and not by reconciliation, so the account would drift
    each cycle); `Decimal` cash, quantities and prices; `str` symbols; time-zone-aware
    `as_of` times. Values (NaN, negative, too large, stale) are judged later, by the
    planner's input checks; this checks only what those checks and the audit log rely on.
    """
    problem = _snapshot_problem(snapshot)
    if problem is None:
        return snapshot
    raise DataError(
        f"broker plugin {broker} (account {snapshot.account}): {problem}; trimtab does not "
        "use this snapshot, so nothing is planned or sent: fix the plugin (or report it to "
        "its author; the rules a broker plugin must follow are in adapters/base.py)"
    )


def check_funds(funds: Funds, broker: str) -> Funds:
    """Return `funds` if its cash, quotes and times are of the contract's types, else raise
    `DataError` as `check_snapshot` does."""
    problem = (
        _decimal("cash", funds.cash)
        or _aware("time of the cash and quotes (as_of)", funds.as_of)
        or _quotes_problem(funds.quotes)
    )
    if problem is None:
        return funds
    raise DataError(
        f"broker plugin {broker}: its cash and quotes for sizing buys: {problem}; no buy is "
        "sized on them: fix the plugin (or report it to its author; the rules a broker "
        "plugin must follow are in adapters/base.py)"
    )


def _snapshot_problem(snapshot: AccountSnapshot) -> str | None:
    problem = (
        _decimal("cash", snapshot.cash)
        or _decimal("reserved cash", snapshot.reserved_cash)
        or _aware("time of the snapshot (as_of)", snapshot.as_of)
    )
    if problem is not None:
        return problem
    for position in snapshot.positions:
        if not isinstance(position.symbol, str):
            return (
                "a position's symbol must be a str, got "
                f"{type(position.symbol).__name__} ({position.symbol!r})"
            )
        problem = _decimal(f"quantity of {position.symbol}", position.qty)
        if problem is None and position.avg_cost is not None:
            problem = _decimal(f"average cost of {position.symbol}", position.avg_cost)
        if problem is not None:
            return problem
    repeated = {s: n for s, n in Counter(p.symbol for p in snapshot.positions).items() if n > 1}
    if repeated:
        listed = ", ".join(f"{s} is listed {n} times" for s, n in sorted(repeated.items()))
        return (
            f"{listed} in its positions; a broker plugin must report one position per "
            "symbol (the account's whole quantity of it)"
        )
    return _quotes_problem(snapshot.quotes)


def _quotes_problem(quotes: Mapping[str, Quote]) -> str | None:
    for key, quote in quotes.items():
        if not isinstance(key, str) or not isinstance(quote.symbol, str):
            return f"a quote's symbol must be a str, got {type(key).__name__} ({key!r})"
        problem = (
            _decimal(f"price of {key}", quote.price)
            or _aware(f"time of the quote for {key}", quote.as_of)
            or (
                None
                if quote.previous_close is None
                else _decimal(f"previous close of {key}", quote.previous_close)
            )
        )
        if problem is not None:
            return problem
    return None


def _decimal(what: str, value: object) -> str | None:
    if isinstance(value, Decimal):
        return None
    return f"{what} must be a Decimal, got {type(value).__name__} ({value!r})"


def _aware(what: str, value: object) -> str | None:
    if not isinstance(value, datetime):
        return f"{what} must be a datetime, got {type(value).__name__} ({value!r})"
    if value.tzinfo is None or value.utcoffset() is None:
        return f"{what} has no time zone ({value.isoformat()}); give an aware datetime (UTC)"
    return None


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
