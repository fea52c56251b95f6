"""Refuse planner inputs that would make a plan meaningless or unsafe, naming the culprit."""

from __future__ import annotations

__all__ = ["validate_plan_input"]

import math
from decimal import Decimal

from daemon.core.domain import CASH
from daemon.core.errors import DataError
from daemon.core.plannable import MAX_NUMBER, MIN_INCREMENT, MIN_PRICE, price_problem
from daemon.core.planner.types import Band, PlanInput, PlanningPolicy

TARGET_SUM_TOLERANCE = Decimal("0.000001")
_ONE = Decimal(1)
_MAX_FLOAT = float(MAX_NUMBER)
_RULE = "trimtab plans only with numbers up to 10000000000000 (1e13)"


def validate_plan_input(inp: PlanInput, policy: PlanningPolicy) -> None:
    """Raise `DataError` naming the first thing in `inp` or `policy` that cannot be planned on."""
    _check_amount("cash", inp.cash)
    _check_amount("reserved_cash", inp.reserved_cash)
    _check_amount("withdrawal", inp.withdrawal)
    _check_amount("sale_costs", inp.sale_costs)
    _check_policy(policy)
    _check_targets(inp, policy)
    _check_holdings(inp)
    _check_stand_ins(inp)


def _finite(name: str, value: object) -> Decimal:
    """Return `value` if it is a finite Decimal of at most `MAX_NUMBER` in size; raise naming
    it if not (a negative value passes: the caller says what is wrong with it)."""
    if not isinstance(value, Decimal):
        raise DataError(f"{name} is not a Decimal ({type(value).__name__})")
    if value.is_nan():
        raise DataError(f"{name} is NaN")
    if value.is_infinite():
        raise DataError(f"{name} is infinite")
    # The hot path works in float64: past the limit, cents are lost or floats overflow.
    if value > MAX_NUMBER:
        raise DataError(f"{name} is too large ({value}); {_RULE}")
    return value


def _check_amount(name: str, value: object) -> None:
    """Require a finite, non-negative Decimal."""
    if _finite(name, value) < 0:
        raise DataError(f"{name} is negative ({value})")


def _check_band(name: str, band: object) -> None:
    if not isinstance(band, Band):
        raise DataError(f"{name} is not a Band ({type(band).__name__})")
    if band.absolute_pp is None and band.relative is None:
        raise DataError(f"{name} has neither absolute_pp nor relative")
    for field_name, value in (("absolute_pp", band.absolute_pp), ("relative", band.relative)):
        if value is not None:
            _check_amount(f"{field_name} of {name}", value)


def _check_policy(policy: PlanningPolicy) -> None:
    _check_band("the default band", policy.default_band)
    for symbol, band in sorted(policy.band_overrides.items()):
        _check_band(f"the band of {symbol}", band)
    if policy.rebalance_to not in ("target", "band_edge"):
        raise DataError(f"rebalance_to is {policy.rebalance_to!r}, not 'target' or 'band_edge'")
    _check_amount("inner_band", policy.inner_band)
    if policy.inner_band > _ONE:
        raise DataError(f"inner_band is {policy.inner_band}; it must be between 0 and 1")
    _check_amount("cash_buffer", policy.cash_buffer)
    _check_amount("min_trade_notional", policy.min_trade_notional)
    _check_increment("share_increment", policy.share_increment)
    for symbol, increment in sorted(policy.increment_overrides.items()):
        _check_increment(f"share increment of {symbol}", increment)
    for symbol in sorted(policy.whole_shares_only):
        # Orders are multiples of the increment: a fractional one would plan what the broker
        # refuses.
        increment = policy.increment_for(symbol)
        if increment != increment.to_integral_value():
            raise DataError(
                f"share increment of {symbol} is {_plain(increment)}, but the broker takes "
                f"{symbol} in whole shares only; trade it in whole shares"
            )


def _check_increment(name: str, value: object) -> None:
    increment = _finite(name, value)
    if increment <= 0:
        raise DataError(f"{name} is {value}; it must be greater than 0")
    if increment < MIN_INCREMENT:
        raise DataError(f"{name} is {value}; it must be at least {MIN_INCREMENT:f}")


def _fine(value: object) -> bool:
    """Return whether `value` is a Decimal from 0 to `MAX_NUMBER` (the fast path of the checks)."""
    return type(value) is Decimal and value.is_finite() and 0 <= value <= MAX_NUMBER


def _check_targets(inp: PlanInput, policy: PlanningPolicy) -> None:
    total = Decimal(0)
    for symbol, weight in inp.targets.items():
        if not _fine(weight) and _finite(f"target weight of {symbol}", weight) < 0:
            raise DataError(f"target weight of {symbol} is negative ({weight})")
        total += weight
    clash = sorted(policy.keep & inp.targets.keys())
    if clash:
        raise DataError(f"{clash[0]} is both in targets and in keep")
    if abs(total - _ONE) > TARGET_SUM_TOLERANCE:
        raise DataError(f"targets sum to {_plain(total)}, not 1")


def _check_holdings(inp: PlanInput) -> None:
    if CASH in inp.holdings:
        raise DataError(f"holdings contain {CASH}; cash belongs in PlanInput.cash")
    for symbol, qty in inp.holdings.items():
        if not _fine(qty) and _finite(f"quantity of {symbol}", qty) < 0:
            raise DataError(f"quantity of {symbol} is negative ({qty})")
    symbols = sorted(inp.holdings.keys() | (inp.targets.keys() - {CASH}))
    prices = inp.prices
    for symbol in symbols:
        price = prices.get(symbol)
        if not (type(price) is Decimal and price.is_finite() and MIN_PRICE <= price <= MAX_NUMBER):
            _check_price(symbol, price)  # the slow path says what is wrong
    holdings = inp.holdings
    values = [float(holdings[s]) * float(prices[s]) for s in holdings]
    if float(inp.cash) + float(inp.reserved_cash) + math.fsum(values) > _MAX_FLOAT:
        for symbol, value in zip(holdings, values, strict=True):
            if value > _MAX_FLOAT:
                raise DataError(
                    f"value of {symbol} is too large (quantity {holdings[symbol]} x price "
                    f"{prices[symbol]}); {_RULE}"
                )
        raise DataError(f"total value of the account is too large to plan with; {_RULE}")


def _check_stand_ins(inp: PlanInput) -> None:
    """Require every alternate and its primary in the targets, and no alternate standing in
    for itself through others (the band test adds up each chain)."""
    stand_ins = inp.stand_ins
    for alternate, primary in sorted(stand_ins.items()):
        for symbol in (alternate, primary):
            if symbol == CASH:
                raise DataError(f"{alternate} stands in for {primary}, but {CASH} is no holding")
            if symbol not in inp.targets:
                raise DataError(
                    f"{alternate} stands in for {primary}, but {symbol} is not in the targets"
                )
        seen, link = {alternate}, primary
        while link in stand_ins:
            if link in seen:
                raise DataError(f"{alternate} stands in for itself (through {primary})")
            seen.add(link)
            link = stand_ins[link]


def _check_price(symbol: str, price: object) -> None:
    if price is None:
        raise DataError(f"price of {symbol} is missing")
    if not isinstance(price, Decimal):
        raise DataError(f"price of {symbol} is not a Decimal ({type(price).__name__})")
    problem = price_problem(price)
    if problem is not None:
        raise DataError(f"price of {symbol} {problem}")


def _plain(value: Decimal) -> str:
    """Format `value` without exponent or trailing zeros (0.90 -> 0.9)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
