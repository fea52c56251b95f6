"""Check the broker's snapshot and the strategy's targets before anything is planned.

Bad input names the thing ("price of VTI is 0", "quote for BND is 130 hours old") and stops
the account's cycle before planning: trimtab never plans on data it cannot trust.

Two contracts of third-party plugins are checked here too: a strategy's targets name only
symbols of its own `universe()` (and `CASH`), with `Decimal` weights, except a symbol the account
holds at no more than its current weight, which can only be held or sold (`check_targets`, then
`check_held_weights` once the holdings are valued, both in `decide`, so the live cycle,
`trimtab plan` and the backtest refuse alike); a broker's snapshot
lists each symbol once, with `Decimal` amounts, `str` symbols and time-zone-aware times
(`check_snapshot`, where every read of a broker passes: `daemon.cycle.retry.ReadRetrying`),
before reconciliation, the audit log or the planner use it.
"""

from __future__ import annotations

__all__ = [
    "check_funds",
    "check_held_weights",
    "check_kept_weights",
    "check_snapshot",
    "check_targets",
    "managed_holdings",
    "planning_input",
    "snapshot_prices",
]

import dataclasses
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Context, Decimal

from daemon.core.domain import CASH, AccountSnapshot, Funds, Quote
from daemon.core.errors import DataError, StrategyError
from daemon.core.plannable import MAX_NUMBER, MIN_PRICE, price_problem
from daemon.core.planner import PlanInput

TARGET_SUM_TOLERANCE = Decimal("0.000001")
FUTURE_TOLERANCE = timedelta(minutes=5)
HELD_WEIGHT_TOLERANCE = Decimal("0.0000001")
"""How far above its current weight a held symbol outside the universe may be given and still
be let through (`check_held_weights`), as an absolute weight. The built-in strategies and the
household split give weights to 9 places: each is rounded by up to 5e-10, and the residue of
all of them (up to 5e-10 each) goes to one, so a weight meant to be the current weight (a
turnover limit's blend, a member's pinned holding) can read a few 1e-9 above it; a relative
tolerance of 1e-9 would refuse a pinned 1 % weight. 1e-7 covers 9-place weights over up to 200
symbols and is far below the 1e-6 the targets' sum may be off by. No money follows from it:
such a weight is lowered to the current weight (the excess to CASH) before planning."""
_FLOOR = Context(prec=28, rounding=ROUND_FLOOR)
_RULE = "trimtab plans only with numbers up to 10000000000000 (1e13)"


_FIX = "fix the plugin (or report it to its author)"


def check_targets(
    targets: Mapping[str, Decimal],
    strategy: str,
    universe: Collection[str],
    *,
    held: Collection[str] = (),
) -> dict[str, Decimal]:
    """Return the targets as Decimals, or raise `StrategyError` naming what is wrong.

    Every symbol must be in the strategy's `universe` (or be `CASH`): a strategy that names
    another would have trimtab buy what the account's configuration never allowed it. A
    symbol in `held` (the account's positions) is let through here: `check_held_weights`
    then allows it only at no more than its current weight, once the holdings are valued.
    """
    wrong_keys = sorted(repr(s) for s in targets if not isinstance(s, str))
    if wrong_keys:
        raise StrategyError(
            f"strategy {strategy}: a target's symbol must be a str, got {', '.join(wrong_keys)}; "
            f"{_FIX}"
        )
    allowed = set(universe) | {CASH} | set(held)
    outside = sorted(set(targets) - allowed)
    if outside:
        raise StrategyError(
            f"strategy {strategy} gave a weight to {', '.join(outside)}, {_outside(universe)}; "
            f"trimtab trades only the symbols a strategy's universe() declares: {_FIX} (its "
            "universe() must list every symbol its targets may name)"
        )
    checked: dict[str, Decimal] = {}
    for symbol, weight in targets.items():
        if not isinstance(weight, Decimal):
            raise StrategyError(
                f"strategy {strategy}: weight of {symbol} must be a Decimal, got "
                f"{type(weight).__name__} ({weight!r}); {_FIX}"
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


def managed_holdings(holdings: Mapping[str, Decimal], keep: Collection[str]) -> dict[str, Decimal]:
    """Return `holdings` without the `keep` symbols: what a strategy's context shows.

    The planner leaves `keep` holdings out of the value its weights are fractions of, so a
    strategy must not see them either: one weighing them in (a `max_turnover` blend's
    current weights) would give weights of another total, and a weight to a kept symbol
    outside its universe that `check_held_weights` refuses. Every place a context is built
    (the cycle and `plan`, `plan --holdings`, `trimtab strategy`, the backtest) uses this.
    """
    kept = set(keep)
    return {s: q for s, q in holdings.items() if s not in kept}


def check_kept_weights(
    targets: Mapping[str, Decimal], strategy: str, keep: Collection[str]
) -> dict[str, Decimal]:
    """Return `targets` without the `keep` symbols given a weight of 0, or raise
    `StrategyError` naming each kept symbol given more, and the fix.

    A kept holding is never bought or sold and is not in the value the weights are fractions
    of: a weight of 0 says no more than leaving the symbol out (a `static` target of 0, a
    plugin that lists its whole universe), so it is dropped and the holding stays as it is,
    as when the strategy does not name it. A weight above 0 cannot be followed without
    trading the kept symbol; planning the rest as if it were not there would leave that share
    of the money in cash, or spread it over the other symbols, neither of which the strategy
    chose, so the cycle plans nothing and says so. Run after `check_targets`.
    """
    kept = set(keep) & set(targets)
    if not kept:
        return dict(targets)
    given = sorted(s for s in kept if targets[s] > 0)
    if given:
        symbols = ", ".join(given)
        weights = ", ".join(f"{s} {targets[s]}" for s in given)
        raise StrategyError(
            f"strategy {strategy} gave a weight to {weights}, which the account's "
            f"policy.keep keeps: trimtab never buys or sells a kept holding and leaves it out "
            "of the value it manages, so it cannot follow that weight, and nothing was planned. "
            f"Fix: take {symbols} off policy.keep (trimtab then manages it like any other "
            "holding), or out of the strategy's universe (its targets)"
        )
    return {s: w for s, w in targets.items() if s not in kept}


def check_held_weights(
    checked: PlanInput, strategy: str, universe: Collection[str], *, keep: Collection[str] = ()
) -> PlanInput:
    """Return `checked` with each target outside `universe` (and `CASH`) at most its symbol's
    current weight, or raise `StrategyError` naming the symbols given more.

    A symbol outside the universe is allowed only where the account holds it, at no more than
    its current weight: its value at the snapshot's quotes over the managed value the planner
    weighs against (cash, reserved cash and every holding not in `keep`). Such a weight can
    only hold or sell it (a turnover limit moving out of a dropped symbol, a household
    member's pinned holding), never buy more. A weight up to `HELD_WEIGHT_TOLERANCE` above
    (rounding) is lowered to the current weight, the excess to `CASH`, so the planner never
    sees an outside symbol underweight. Run after `check_targets` and `planning_input`.
    """
    outside = sorted(set(checked.targets) - set(universe) - {CASH})
    if not outside:
        return checked
    kept = set(keep)
    values = {s: q * checked.prices[s] for s, q in checked.holdings.items() if s not in kept}
    managed = checked.cash + checked.reserved_cash + sum(values.values(), Decimal(0))
    targets = dict(checked.targets)
    over: list[str] = []
    for symbol in outside:
        weight = targets[symbol]
        value = values.get(symbol, Decimal(0))
        # Rounded down, so the planner's target value never exceeds the holding's value.
        current = _FLOOR.divide(value, managed) if value > 0 else Decimal(0)
        if value > 0 and weight <= current:
            continue
        if value <= 0 or weight - current > HELD_WEIGHT_TOLERANCE:
            over.append(f"{symbol} {weight} (the account holds {_plain_weight(current)})")
            continue
        targets[symbol] = current
        targets[CASH] = targets.get(CASH, Decimal(0)) + (weight - current)
    if over:
        raise StrategyError(
            f"strategy {strategy} gave a weight to {', '.join(over)}, {_outside(universe)}, "
            "more than the account holds of it: a held symbol outside the universe may keep at "
            "most its current weight (so trimtab only holds or sells it, never buys it); "
            f"{_FIX} (its universe() must list every symbol its targets may buy)"
        )
    return dataclasses.replace(checked, targets=targets)


def _outside(universe: Collection[str]) -> str:
    return f"outside its universe ({', '.join(sorted(set(universe) - {CASH})) or 'empty'})"


def _plain_weight(weight: Decimal) -> str:
    return f"{weight:.9f}".rstrip("0").rstrip(".") if weight else "0"


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
    fresh: object = None  # an `as_of` already found within the ages (quotes often share one)
    for symbol in sorted(symbols):
        quote = snapshot.quotes.get(symbol)
        if quote is None:
            raise DataError(f"no price for {symbol} from the broker (unknown or delisted symbol?)")
        price = quote.price
        if not isinstance(price, Decimal) or price.is_nan():
            raise DataError(f"price of {symbol} is NaN")
        if not price.is_finite() or price <= 0:
            raise DataError(f"price of {symbol} is {price}, not a positive number")
        # In the range, the usual case, in two comparisons; else `price_problem` says why.
        problem = None if MIN_PRICE <= price <= MAX_NUMBER else price_problem(price)
        if problem is not None:  # out of the range trimtab plans with (a bad tick, a typo)
            raise DataError(
                f"price of {symbol} from the broker (source {quote.source}) {problem}; "
                "trimtab does not plan on it: check the quote at the broker"
            )
        if quote.as_of is fresh:
            prices[symbol] = price
            continue
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
        fresh = quote.as_of
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
