"""Refuse planner inputs that would make a plan meaningless or unsafe, naming the culprit."""

from __future__ import annotations

__all__ = ["validate_plan_input"]

import math
from decimal import Decimal

from daemon.core.domain import CASH
from daemon.core.errors import DataError
from daemon.core.planner.types import Band, PlanInput, PlanningPolicy

TARGET_SUM_TOLERANCE = Decimal("0.000001")
_ONE = Decimal(1)


def validate_plan_input(inp: PlanInput, policy: PlanningPolicy) -> None:
    """Raise `DataError` naming the first thing in `inp` or `policy` that cannot be planned on."""
    _check_amount("cash", inp.cash)
    _check_amount("withdrawal", inp.withdrawal)
    _check_amount("sale_costs", inp.sale_costs)
    _check_policy(policy)
    _check_targets(inp, policy)
    _check_holdings(inp)


def _finite(name: str, value: object) -> Decimal:
    """Return `value` if it is a finite Decimal that float64 can hold; raise naming it if not."""
    if not isinstance(value, Decimal):
        raise DataError(f"{name} is not a Decimal ({type(value).__name__})")
    if value.is_nan():
        raise DataError(f"{name} is NaN")
    if value.is_infinite():
        raise DataError(f"{name} is infinite")
    # The hot path works in float64; a number past its range would poison every weight.
    if not math.isfinite(float(value)):
        raise DataError(f"{name} is too large ({value})")
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


def _check_increment(name: str, value: object) -> None:
    if _finite(name, value) <= 0:
        raise DataError(f"{name} is {value}; it must be greater than 0")


def _fine(value: object) -> bool:
    """Return whether `value` is a finite, non-negative Decimal (the fast path of the checks)."""
    return type(value) is Decimal and value.is_finite() and value >= 0


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
        if not (_fine(price) and price):  # the slow path says what is wrong
            _check_price(symbol, price)
    holdings = inp.holdings
    values = [float(holdings[s]) * float(prices[s]) for s in holdings]
    if not math.isfinite(float(inp.cash) + math.fsum(values)):
        for symbol, value in zip(holdings, values, strict=True):
            _finite(f"quantity of {symbol}", holdings[symbol])
            if not math.isfinite(value):
                raise DataError(f"value of {symbol} is infinite (quantity x price overflows)")
        raise DataError("total value of the account is too large to plan with")
    for symbol in symbols:
        if float(prices[symbol]) == 0.0:
            raise DataError(f"price of {symbol} is too small to plan with ({prices[symbol]})")


def _check_price(symbol: str, price: object) -> None:
    if price is None:
        raise DataError(f"price of {symbol} is missing")
    if _finite(f"price of {symbol}", price) == 0:
        raise DataError(f"price of {symbol} is 0")
    raise DataError(f"price of {symbol} is negative ({price})")


def _plain(value: Decimal) -> str:
    """Format `value` without exponent or trailing zeros (0.90 -> 0.9)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
