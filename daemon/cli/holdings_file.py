"""Read a holdings file for offline planning; every problem names the file and the field.

Format: {"cash": "1200.50", "positions": [{"symbol": "VTI", "qty": "10", "price": "250.1"}],
"prices": {"BND": "72.3"}}; numbers may be JSON numbers or strings (plain decimals: no NaN,
Infinity or `_`). `prices` gives prices of symbols not held (targets to buy); a position's own
`price` may be left out when `prices` has it, and when both give one they must agree. Cash and
quantities are from 0 to 10000000000000, prices from 0.000001 to 10000000000000 (the range
trimtab plans with, `daemon.core.plannable`); a key given twice in one object is an error.
"""

from __future__ import annotations

__all__ = ["Holdings", "read_holdings"]

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.core.domain import CASH, AccountSnapshot, Position, Quote
from daemon.core.errors import DataError
from daemon.core.plannable import MAX_NUMBER, parse_plain_decimal, price_problem

_RULE = "trimtab plans only with numbers up to 10000000000000 (1e13)"


@dataclass(frozen=True, slots=True)
class Holdings:
    cash: Decimal
    holdings: dict[str, Decimal]
    prices: dict[str, Decimal]

    def require_prices(self, path: Path, targets: Iterable[str]) -> None:
        """Raise `DataError` naming the file, the first symbol without a price and the fix."""
        missing = sorted((set(self.holdings) | set(targets)) - set(self.prices) - {CASH})
        if not missing:
            return
        symbol = missing[0]
        where = (
            f'give its position a "price", or add it under "prices" (e.g. "prices": '
            f'{{"{symbol}": "100.00"}})'
            if symbol in self.holdings
            else f'add it under "prices" (e.g. "prices": {{"{symbol}": "100.00"}}): a target '
            "you do not hold still needs a price to be bought"
        )
        others = f" ({len(missing) - 1} more symbol(s) too: {', '.join(missing[1:])})"
        raise DataError(
            f"{path}: price of {symbol} is missing; {where}{others if missing[1:] else ''}"
        )

    def snapshot(self, account: str, now: datetime, *, source: str) -> AccountSnapshot:
        """The file as a broker's snapshot would say it: every price quoted as of `now`."""
        return AccountSnapshot(
            account=account,
            as_of=now,
            cash=self.cash,
            positions=tuple(Position(s, q) for s, q in self.holdings.items()),
            quotes={s: Quote(s, p, now, source) for s, p in self.prices.items()},
        )


def read_holdings(path: Path) -> Holdings:
    """Parse and check the file; raise `DataError` naming the first bad field."""
    data = _load(path)
    unknown = set(data) - {"cash", "positions", "prices"}
    if unknown:
        raise DataError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    cash = _amount(data.get("cash", Decimal(0)), f"{path}: cash")
    prices, named = _prices(path, data.get("prices", {}))
    holdings: dict[str, Decimal] = {}
    positions = data.get("positions", [])
    if not isinstance(positions, list):
        raise DataError(f"{path}: positions must be a list")
    total = cash
    for index, position in enumerate(positions):
        where = f"{path}: positions[{index}]"
        if not isinstance(position, dict):
            raise DataError(f"{where} must be an object with symbol, qty and price")
        extra = set(position) - {"symbol", "qty", "price"}
        if extra:
            raise DataError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        symbol = _symbol(position.get("symbol"), where)
        if symbol in holdings:
            raise DataError(f"{where}: {symbol} is listed twice")
        qty = holdings[symbol] = _amount(position.get("qty"), f"{where}.qty ({symbol})")
        if "price" in position:
            price = _price(position["price"], f"{where}.price ({symbol})")
            if symbol in prices and prices[symbol] != price:
                raise DataError(
                    f"{where}.price ({symbol}) is {price} but prices.{named[symbol]} is "
                    f"{prices[symbol]}; give {symbol} one price (drop one of the two)"
                )
            prices[symbol] = price
        if symbol in prices:
            value = qty * prices[symbol]
            if value > MAX_NUMBER:
                raise DataError(f"{where}: value of {symbol} is too large ({value}); {_RULE}")
            total += value
    if total > MAX_NUMBER:
        raise DataError(f"{path}: the account's total value is too large ({total}); {_RULE}")
    return Holdings(cash=cash, holdings=holdings, prices=prices)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(
            path.read_text(),
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=Decimal,  # NaN, Infinity: refused later, naming the field
            object_pairs_hook=_no_repeats(path),
        )
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object with cash, positions and prices")
    return data


def _prices(path: Path, raw: Any) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Return the `prices` object's prices by symbol, and the key each was given under."""
    if not isinstance(raw, dict):
        raise DataError(f"{path}: prices must be an object of symbol to price")
    prices: dict[str, Decimal] = {}
    named: dict[str, str] = {}
    for key, price in raw.items():
        symbol = _symbol(key, f"{path}: prices")
        if symbol in prices:
            raise DataError(f"{path}: prices.{key} and prices.{named[symbol]} both price {symbol}")
        prices[symbol] = _price(price, f"{path}: prices.{key}")
        named[symbol] = key
    return prices, named


def _no_repeats(path: Path) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """Return a JSON object hook that refuses a key given twice (JSON would keep the last)."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise DataError(f"{path}: key {key!r} is given twice in one object; keep one")
            found[key] = value
        return found

    return build


def _symbol(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: symbol is missing or not text")
    return value.strip().upper()


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise DataError(f"{where} is missing or not a number")
    if isinstance(value, Decimal):  # a JSON number, or NaN/Infinity
        number: Decimal | None = value
    elif isinstance(value, str):
        number = parse_plain_decimal(value.strip())
    else:
        number = None
    if number is None:
        raise DataError(f'{where} is not a number ({value!r}); write it like "1200.50"')
    if not number.is_finite():
        raise DataError(f'{where} is {number}; give a number like "1200.50"')
    return number


def _amount(value: Any, where: str) -> Decimal:
    """Cash or a quantity: from 0 to `MAX_NUMBER`."""
    number = _number(value, where)
    if number < 0:
        raise DataError(f"{where} is negative ({number}); trimtab plans on no margin or shorts")
    if number > MAX_NUMBER:
        raise DataError(f"{where} is too large ({number}); {_RULE}")
    return number


def _price(value: Any, where: str) -> Decimal:
    number = _number(value, where)
    problem = price_problem(number)
    if problem is not None:
        raise DataError(f"{where} {problem}")
    return number
