"""Read a holdings file for offline planning; every problem names the file and the field.

Format: {"cash": "1200.50", "positions": [{"symbol": "VTI", "qty": "10", "price": "250.1"}],
"prices": {"BND": "72.3"}}; numbers may be JSON numbers or strings. `prices` gives prices of
symbols not held (targets to buy); a position's own `price` may be left out when `prices` has it.
"""

from __future__ import annotations

__all__ = ["Holdings", "read_holdings"]

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from daemon.core.domain import CASH, AccountSnapshot, Position, Quote
from daemon.core.errors import DataError


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
    try:
        data = json.loads(path.read_text(), parse_float=Decimal, parse_int=Decimal)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object with cash, positions and prices")
    unknown = set(data) - {"cash", "positions", "prices"}
    if unknown:
        raise DataError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    cash = _number(data.get("cash", Decimal(0)), f"{path}: cash")
    prices: dict[str, Decimal] = {}
    raw_prices = data.get("prices", {})
    if not isinstance(raw_prices, dict):
        raise DataError(f"{path}: prices must be an object of symbol to price")
    for symbol, price in raw_prices.items():
        prices[_symbol(symbol, f"{path}: prices")] = _number(price, f"{path}: prices.{symbol}")
    holdings: dict[str, Decimal] = {}
    positions = data.get("positions", [])
    if not isinstance(positions, list):
        raise DataError(f"{path}: positions must be a list")
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
        holdings[symbol] = _number(position.get("qty"), f"{where}.qty ({symbol})")
        if "price" in position:
            prices[symbol] = _number(position["price"], f"{where}.price ({symbol})")
    return Holdings(cash=cash, holdings=holdings, prices=prices)


def _symbol(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: symbol is missing or not text")
    return value.strip().upper()


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise DataError(f"{where} is missing or not a number")
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise DataError(f"{where} is not a number ({value!r})") from None
    return number
