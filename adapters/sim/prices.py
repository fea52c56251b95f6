"""Where the simulated broker's prices come from: a synthetic walk, a CSV of closes, or a dict.

| member | required | what it does |
|---|---|---|
| `quote(symbol, at)` | yes | the price valid at `at`, or `None` when the source has none |
| `describe()` | yes | a JSON-ready description of the source, with `"synthetic": true/false` |
| `closes(symbol, start, end)` | yes | the closes dated in `[start, end]`, oldest first |

A daily close becomes visible at 16:00 New York time on its day, never before, so a quote
never looks ahead: before 16:00 the previous close applies, and its `as_of` says so.

CSV format (wide, one column per symbol): the header is `date,SYMBOL1,SYMBOL2,...`; each
further row is an ISO date (`2024-03-05`) and that day's closing price per symbol, as a
plain decimal number (`412.37`, no currency sign, thousands separator or `_`) from 0.000001 to
10000000000000, the range of prices trimtab plans with (`daemon.core.plannable`). An empty
cell means "no close that day" (not yet listed, or a gap) and the previous close carries over.
Dates must increase strictly from row to row. Symbols are matched exactly as written in the
header. The file is UTF-8 (a byte-order mark is allowed) and is read once, when the broker
is built.
"""

from __future__ import annotations

__all__ = [
    "CloseTable",
    "CsvPrices",
    "PriceFileError",
    "PriceSource",
    "StaticPrices",
    "SyntheticPrices",
    "close_time",
    "last_close_day",
    "missing_columns",
    "read_closes_csv",
    "read_csv_symbols",
]

import csv
import hashlib
import io
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from daemon.core.domain import CASH, Quote
from daemon.core.errors import DataError
from daemon.core.input_files import read_input_text
from daemon.core.money import CENT
from daemon.core.plannable import parse_plain_decimal, price_problem

NEW_YORK = ZoneInfo("America/New_York")
MARKET_CLOSE = time(16)
SATURDAY = 5  # date.weekday(): Monday is 0, so 5 and 6 are the weekend
TRADING_DAYS_PER_YEAR = 252

# A fixed context, so a synthetic price never depends on whatever precision the caller's
# thread happens to use; `exp`, `sqrt` and division are correctly rounded in it.
_WALK = Context(prec=34, rounding=ROUND_HALF_EVEN)


@runtime_checkable
class PriceSource(Protocol):
    """Prices for the simulated broker."""

    def quote(self, symbol: str, at: datetime) -> Quote | None: ...

    def describe(self) -> dict[str, Any]: ...

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]: ...


class PriceFileError(DataError, ValueError):
    """A price file is missing or malformed; the message names the file, row and column.

    A `ValueError` too, so configuration validation reports it against the setting.
    """


def last_close_day(at: datetime, *, weekdays_only: bool = False) -> date:
    """Return the day of the latest close at or before `at` (closes are at 16:00 New York)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"price lookups need a timezone-aware time, got {at!r}")
    local = at.astimezone(NEW_YORK)
    day = local.date() if local.time() >= MARKET_CLOSE else local.date() - timedelta(days=1)
    if weekdays_only:
        while day.weekday() >= SATURDAY:
            day -= timedelta(days=1)
    return day


def close_time(day: date) -> datetime:
    """Return the UTC time of `day`'s 16:00 New York close."""
    return datetime.combine(day, MARKET_CLOSE, tzinfo=NEW_YORK).astimezone(UTC)


def _weekday_index(first: date, day: date) -> int:
    """Count the weekdays after `first` up to and including `day` (both weekdays); -1 before."""
    if day < first:
        return -1
    weeks, extra = divmod((day - first).days, 7)
    index = weeks * 5 + extra
    if first.weekday() + extra >= SATURDAY:  # the extra days span a weekend
        index -= 2
    return index


def _first_weekday(day: date) -> date:
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


class SyntheticPrices:
    """A deterministic geometric random walk per symbol over weekdays from `start`.

    The close of weekday n after `start` depends only on (seed, symbol, n): each step's
    shock comes from SHA-256 of those, and the walk is computed in a fixed decimal context,
    so the same settings give the same prices on every machine, in any order of requests.
    Shocks are approximately normal (the sum of twelve uniforms), so there are no fat tails.
    Holidays are not modelled: every weekday has a close.
    """

    def __init__(
        self,
        *,
        seed: int = 42,
        start: date = date(2020, 1, 2),
        annual_drift: Decimal = Decimal("0.07"),
        annual_volatility: Decimal = Decimal("0.18"),
        base_prices: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.seed = seed
        self.start = start
        self.annual_drift = annual_drift
        self.annual_volatility = annual_volatility
        self.base_prices = MappingProxyType(dict(base_prices or {}))
        for symbol, price in self.base_prices.items():
            if not price.is_finite() or price <= 0:
                raise ValueError(f"base price of {symbol} must be positive, got {price}")
        self._first_day = _first_weekday(start)
        dt = _WALK.divide(Decimal(1), Decimal(TRADING_DAYS_PER_YEAR))
        variance = _WALK.multiply(annual_volatility, annual_volatility)
        # Itô's correction: the log drift is mu - sigma^2/2, so the expected price grows at mu.
        self._step_drift = _WALK.multiply(
            _WALK.subtract(annual_drift, _WALK.divide(variance, Decimal(2))), dt
        )
        self._step_scale = _WALK.multiply(annual_volatility, _WALK.sqrt(dt))
        self._log_paths: dict[str, list[Decimal]] = {}
        self._lock = threading.Lock()

    def quote(self, symbol: str, at: datetime) -> Quote | None:
        """Return the last weekday close at or before `at`, or `None` before `start`."""
        day = last_close_day(at, weekdays_only=True)
        index = _weekday_index(self._first_day, day)
        if index < 0:
            return None
        return Quote(
            symbol=symbol,
            price=self._price(symbol, index),
            as_of=close_time(day),
            source=f"synthetic(seed={self.seed})",
            synthetic=True,
            previous_close=self._price(symbol, index - 1) if index > 0 else None,
        )

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        """Return the weekday closes dated in `[start, end]` (none before `start` of the walk)."""
        day, found = max(start, self._first_day), []
        while day <= end:
            if day.weekday() < SATURDAY:
                found.append((day, self._price(symbol, _weekday_index(self._first_day, day))))
            day += timedelta(days=1)
        return found

    def describe(self) -> dict[str, Any]:
        """Describe the walk's parameters."""
        return {
            "source": "synthetic",
            "synthetic": True,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "annual_drift": str(self.annual_drift),
            "annual_volatility": str(self.annual_volatility),
        }

    def base_price(self, symbol: str) -> Decimal:
        """Return the close on `start`: configured, or derived from the symbol ($20 to $210)."""
        configured = self.base_prices.get(symbol)
        if configured is not None:
            return configured
        digest = hashlib.sha256(f"trimtab-sim-base\x00{symbol}".encode()).digest()
        return Decimal(2000 + int.from_bytes(digest[:8], "big") % 19001) / 100

    def _price(self, symbol: str, index: int) -> Decimal:
        with self._lock:
            path = self._log_paths.setdefault(symbol, [Decimal(0)])
            while len(path) <= index:
                path.append(_WALK.add(path[-1], self._log_return(symbol, len(path))))
            log_growth = path[index]
        price = _WALK.multiply(self.base_price(symbol), _WALK.exp(log_growth))
        # A walk may sink towards zero, but a quote of 0.00 would break every order check.
        return max(price.quantize(CENT, context=_WALK), CENT)

    def _log_return(self, symbol: str, step: int) -> Decimal:
        digest = hashlib.sha256(f"trimtab-sim\x00{self.seed}\x00{symbol}\x00{step}".encode())
        raw = digest.digest()
        # Twelve uniforms (k + 0.5) / 65536 on (0, 1) sum to ~N(6, 1); every term is exact.
        total = sum(int.from_bytes(raw[2 * i : 2 * i + 2], "big") for i in range(12)) + 6
        shock = _WALK.subtract(_WALK.divide(Decimal(total), Decimal(65536)), Decimal(6))
        return _WALK.add(self._step_drift, _WALK.multiply(self._step_scale, shock))


@dataclass(frozen=True, slots=True)
class CloseTable:
    """Daily closes per symbol from one file: ascending dates and their prices."""

    name: str
    series: Mapping[str, tuple[tuple[date, ...], tuple[Decimal, ...]]]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.series)


def read_closes_csv(path: Path) -> CloseTable:
    """Read a wide CSV of daily closes (see the module docstring); raise `PriceFileError`."""
    text = read_input_text(path, "price file", PriceFileError)
    # strict: an unclosed quote is an error, not a cell that swallows the file.
    return _parse_closes(path, csv.reader(io.StringIO(text, newline=""), strict=True))


def read_csv_symbols(path: Path) -> tuple[str, ...]:
    """Return the symbols a CSV price file has columns for, reading its header only."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, strict=True), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PriceFileError(f"price file {path} cannot be read: {exc}") from exc
    if header is None:
        raise PriceFileError(f"price file {path} is empty; row 1 must be date,SYMBOL,...")
    return tuple(_parse_header(path, header))


def missing_columns(path: Path, symbols: Collection[str]) -> list[tuple[str, str]]:
    """Return (problem, fix) for each of `symbols` the CSV price file has no column for.

    Checked with the configuration (`trimtab config check`, start-up), where the file's other
    defects are: without it, the first cycle would find no quote for the symbol and fail.
    """
    columns = read_csv_symbols(path)
    missing = sorted(set(symbols) - set(columns) - {CASH})
    header = ",".join(("date", *columns))
    return [
        (
            f"price file {path} has no column {symbol}, a symbol this account's strategy "
            f"targets (the header is {header})",
            f"add a column {symbol} to the header ({header},{symbol}) with its daily closes, "
            f"or take {symbol} out of the account's targets",
        )
        for symbol in missing
    ]


def _parse_closes(path: Path, reader: Any) -> CloseTable:
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise PriceFileError(f"price file {path} is empty; row 1 must be date,SYMBOL,...")
        symbols = _parse_header(path, header)
        dates: dict[str, list[date]] = {symbol: [] for symbol in symbols}
        prices: dict[str, list[Decimal]] = {symbol: [] for symbol in symbols}
        previous: date | None = None
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line carries no closes
            row = reader.line_num
            if len(cells) != len(header):
                raise PriceFileError(
                    f"{path}: row {row} has {len(cells)} cells but the header has "
                    f"{len(header)}; give every symbol a cell (empty for no close)"
                )
            day = _parse_date(path, row, cells[0])
            if previous is not None and day <= previous:
                raise PriceFileError(
                    f"{path}: row {row}, column 1 (date): {day} does not come after "
                    f"{previous}; sort the rows by date, one row per date"
                )
            previous = day
            for column, (symbol, cell) in enumerate(zip(symbols, cells[1:], strict=True), 2):
                if cell.strip():
                    dates[symbol].append(day)
                    prices[symbol].append(_parse_price(path, row, column, symbol, cell))
    except csv.Error as exc:
        raise PriceFileError(f"{path}: row {reader.line_num}: malformed CSV ({exc})") from exc
    if previous is None:
        raise PriceFileError(f"price file {path} has a header but no rows of closes")
    series = {symbol: (tuple(dates[symbol]), tuple(prices[symbol])) for symbol in symbols}
    return CloseTable(name=path.name, series=MappingProxyType(series))


def _parse_header(path: Path, header: list[str]) -> list[str]:
    if header[0].strip().lower() != "date":
        raise PriceFileError(
            f"{path}: row 1, column 1 is {header[0].strip()!r}; the header must start with "
            "'date', then one column per symbol (date,VTI,BND,...)"
        )
    symbols = [cell.strip() for cell in header[1:]]
    if not symbols:
        raise PriceFileError(f"{path}: row 1 names no symbols; expected date,SYMBOL1,SYMBOL2,...")
    seen: set[str] = set()
    for column, symbol in enumerate(symbols, 2):
        if not symbol:
            raise PriceFileError(f"{path}: row 1, column {column} has no symbol name")
        if symbol in seen:
            raise PriceFileError(f"{path}: row 1, column {column} repeats symbol {symbol!r}")
        seen.add(symbol)
    return symbols


def _parse_date(path: Path, row: int, cell: str) -> date:
    try:
        return date.fromisoformat(cell.strip())
    except ValueError as exc:
        raise PriceFileError(
            f"{path}: row {row}, column 1 (date): {cell.strip()!r} is not a date like 2024-03-05"
        ) from exc


def _parse_price(path: Path, row: int, column: int, symbol: str, cell: str) -> Decimal:
    where = f"{path}: row {row}, column {column} ({symbol})"
    price = parse_plain_decimal(cell.strip())
    if price is None:
        raise PriceFileError(
            f"{where}: {cell.strip()!r} is not a number; write plain decimals like 412.37"
        )
    if price <= 0:
        raise PriceFileError(f"{where}: a close must be a positive number, got {cell.strip()}")
    problem = price_problem(price)
    if problem is not None:  # a price the planner could not plan with: refuse it here
        raise PriceFileError(f"{where}: the close {problem}; correct that close")
    return price


class CsvPrices:
    """Closes from a `CloseTable`: the last close at or before the requested time."""

    def __init__(self, table: CloseTable, *, path: Path | None = None) -> None:
        self.table = table
        self.path = path

    @classmethod
    def from_file(cls, path: Path) -> CsvPrices:
        """Read `path` (see the module docstring for the format)."""
        return cls(read_closes_csv(path), path=path)

    def quote(self, symbol: str, at: datetime) -> Quote | None:
        """Return the last close on or before `at`'s close day; `None` if there is none."""
        series = self.table.series.get(symbol)
        if series is None:
            return None
        dates, prices = series
        position = bisect_right(dates, last_close_day(at)) - 1
        if position < 0:
            return None
        return Quote(
            symbol=symbol,
            price=prices[position],
            as_of=close_time(dates[position]),
            source=f"csv:{self.table.name}",
            synthetic=False,
            previous_close=prices[position - 1] if position > 0 else None,
        )

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        """Return the file's closes of `symbol` dated in `[start, end]` (gaps stay gaps)."""
        dates, prices = self.table.series.get(symbol, ((), ()))
        first, last = bisect_left(dates, start), bisect_right(dates, end)
        return list(zip(dates[first:last], prices[first:last], strict=True))

    def describe(self) -> dict[str, Any]:
        """Describe the file and its symbols."""
        return {
            "source": "csv",
            "synthetic": False,
            "path": str(self.path) if self.path is not None else self.table.name,
            "symbols": list(self.table.symbols),
        }


class StaticPrices:
    """Prices the caller sets by hand; a quote's `as_of` is the time it is asked for."""

    def __init__(self, prices: Mapping[str, Decimal] | None = None) -> None:
        self._prices: dict[str, Decimal] = {}
        for symbol, price in (prices or {}).items():
            self.set(symbol, price)

    def set(self, symbol: str, price: Decimal) -> None:
        """Set (or replace) the price of `symbol`."""
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            raise ValueError(f"price of {symbol} must be a positive Decimal, got {price!r}")
        self._prices[symbol] = price

    def remove(self, symbol: str) -> None:
        """Forget `symbol`, so it has no quote."""
        self._prices.pop(symbol, None)

    def quote(self, symbol: str, at: datetime) -> Quote | None:
        """Return the price set for `symbol`, as of `at`."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"price lookups need a timezone-aware time, got {at!r}")
        price = self._prices.get(symbol)
        if price is None:
            return None
        return Quote(symbol=symbol, price=price, as_of=at.astimezone(UTC), source="static")

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        """Return nothing: prices set by hand have no history."""
        return []

    def describe(self) -> dict[str, Any]:
        """Describe the fixed prices."""
        return {
            "source": "static",
            "synthetic": False,
            "prices": {symbol: str(price) for symbol, price in sorted(self._prices.items())},
        }
