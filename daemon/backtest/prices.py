"""The backtest's price file: one row per trading day, one close per symbol, checked.

The format is the simulated broker's (`adapters/sim/prices.py`): a header `date,SYM1,SYM2,...`
then one row per trading day with an ISO date and each symbol's close as a plain decimal.
The backtest is stricter: every row it trades on must have a close for every symbol it needs
(an empty cell is a gap, an error naming the file, row and symbol), dates must increase and
closes must be positive. Rows before the backtest's start only feed strategies that look
back, which check their own window.
"""

from __future__ import annotations

__all__ = ["PriceTable", "parse_close", "read_prices"]

import csv
import io
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from daemon.backtest.errors import BacktestInputError
from daemon.core.domain import CASH
from daemon.core.input_files import read_input_text
from daemon.core.plannable import MAX_NUMBER, MIN_PRICE, parse_plain_decimal, price_problem

_ZERO = Decimal(0)
_KEPT = 4
_LOWEST, _HIGHEST = float(MIN_PRICE), float(MAX_NUMBER)
# Characters a plain decimal close can have; a row with any other (a "_" digit separator, a
# non-ASCII digit, "inf", "nan") is read the slow way, which names the cell.
_NOT_PLAIN = re.compile(r"[^0-9.eE+\-,]")
_PLAIN_ROW_BYTES = b"0123456789.,-+eE\n"
"""What `_parse_plain` reads a file of: ISO dates and plain closes, nothing to strip."""
_POWERS = np.array([float(10**k) for k in range(16)])
"""10^k as floats, exact (`_exact_floats`)."""
_BLOCK = 256
"""Rows `_exact_floats` parses at a time."""

Digits = tuple[NDArray[np.int64], NDArray[np.int8]]
"""Closes written plainly as integers and places, rows x symbols: `Decimal("30.65")` is
(3065, 2), exactly, the digits as written (`daemon.backtest.values` adds them up)."""


@dataclass(frozen=True, slots=True, eq=False)
class PriceTable:
    """Closes by row: `lines[i]` is day `days[i]`'s closes as written, comma-separated in the
    order of `symbols` ('' for an empty cell), and `floats` the same as numbers (NaN for an
    empty cell); every written close is a positive number.

    One text per row, not one per close: 20 years of 100 symbols are 504,000 closes, and a
    backtest needs the exact (Decimal) closes of a few hundred days only (`decimals`)."""

    path: Path
    days: tuple[date, ...]
    symbols: tuple[str, ...]
    lines: tuple[str, ...]
    floats: NDArray[np.float64]
    rows: tuple[int, ...]
    """The file's line number of each day, for errors."""
    digits: Digits | None = None
    """The closes as integers and places (`Digits`) when every one is written plainly
    (`_exact_floats`), else None."""

    def column(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def span(self, start: date | None, end: date | None) -> tuple[int, int]:
        """Return the rows [first, last) dated in [start, end]; raise naming the range held."""
        first_day, last_day = self.days[0], self.days[-1]
        held = f"{self.path} holds closes from {first_day} to {last_day}"
        if start is not None and start > last_day:
            raise BacktestInputError(f"--start {start} is after the last day: {held}")
        if end is not None and end < first_day:
            raise BacktestInputError(f"--end {end} is before the first day: {held}")
        if start is not None and start < first_day:
            raise BacktestInputError(
                f"--start {start} is before the first day: {held}; start on {first_day} or later"
            )
        if end is not None and end > last_day:
            raise BacktestInputError(
                f"--end {end} is after the last day: {held}; end on {last_day} or earlier"
            )
        if start is not None and end is not None and end < start:
            raise BacktestInputError(f"--end {end} is before --start {start}")
        lo = 0 if start is None else bisect_left(self.days, start)
        hi = len(self.days) if end is None else bisect_right(self.days, end)
        if hi <= lo:
            raise BacktestInputError(
                f"no trading day between {start} and {end}: {held}; widen the range"
            )
        return lo, hi

    def require(self, symbols: Collection[str], lo: int, hi: int, *, why: str) -> None:
        """Raise unless every one of `symbols` has a column and a close on rows [lo, hi)."""
        header = ",".join(("date", *self.symbols))
        for symbol in sorted(set(symbols) - {CASH}):
            if symbol not in self.symbols:
                raise BacktestInputError(
                    f"price file {self.path} has no column {symbol}, needed because {why} "
                    f"(the header is {header}); add a {symbol} column with its daily closes"
                )
            j = self.column(symbol)
            gaps = np.flatnonzero(np.isnan(self.floats[lo:hi, j]))
            if len(gaps):
                i = lo + int(gaps[0])
                raise BacktestInputError(
                    f"{self.path}: row {self.rows[i]} ({self.days[i]}), column {j + 2} "
                    f"({symbol}): no close (a gap); {symbol} is needed because {why}; "
                    f"fill in the close of {symbol} on {self.days[i]}, or start the "
                    "backtest after the gap"
                )

    def matrix(self, symbols: Sequence[str], lo: int, hi: int) -> NDArray[np.float64]:
        """Return the closes of `symbols` on rows [lo, hi) as floats (NaN for a gap)."""
        return self.floats[lo:hi, [self.column(s) for s in symbols]]

    def exact_digits(self, symbols: Sequence[str], lo: int, hi: int) -> Digits | None:
        """Return the `digits` of `symbols` on rows [lo, hi), or None when the file has none."""
        if self.digits is None:
            return None
        columns = [self.column(s) for s in symbols]
        integers, places = self.digits
        if columns == list(range(len(self.symbols))):
            return integers[lo:hi], places[lo:hi]  # every column in order: views, no copy
        return integers[lo:hi, columns], places[lo:hi, columns]

    def decimals(self, symbols: Sequence[str], lo: int, hi: int) -> DecimalRows:
        """Return the closes of `symbols` on rows [lo, hi) exactly as written (0 for a gap),
        each row read when it is asked for."""
        return DecimalRows(self.lines[lo:hi], tuple(self.column(s) for s in symbols))


class DecimalRows:
    """Rows of exact closes, parsed from their text on demand; the last few are kept, as a
    day asks for its row (and the day before's) once per order."""

    __slots__ = ("_columns", "_kept", "_lines", "_pick")

    def __init__(self, lines: Sequence[str], columns: tuple[int, ...]) -> None:
        self._lines = lines
        self._columns = columns
        self._kept: dict[int, tuple[Decimal, ...]] = {}
        # A row without empty cells is parsed by map and picked by itemgetter, both in C: a
        # 20-year run reads half a million closes this way, for its exact NAV each day.
        self._pick = itemgetter(*columns) if len(columns) > 1 else None

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i: int) -> tuple[Decimal, ...]:
        row = self._kept.get(i)
        if row is None:
            if len(self._kept) >= _KEPT:
                self._kept.clear()
            line = self._lines[i]
            if self._pick is not None and ",," not in f",{line},":
                row = self._pick(tuple(map(Decimal, line.split(","))))
            else:
                cells = line.split(",")
                row = tuple(Decimal(cells[j]) if cells[j] else _ZERO for j in self._columns)
            self._kept[i] = row
        return row


def read_prices(path: Path) -> PriceTable:
    """Read a price file; raise `BacktestInputError` naming the file, row and column."""
    text = read_input_text(path, "price file", BacktestInputError)
    try:
        # Quoting, a NUL or a bare CR line end: the csv module's rules; else plain lines,
        # in C a file at a time when nothing in it needs the row-by-row reader.
        if '"' in text or "\0" in text or "\r" in text.replace("\r\n", ""):
            return _parse(path, csv.reader(io.StringIO(text, newline=""), strict=True))
        return _parse_plain(path, text) or _parse(path, _PlainReader(text))
    except csv.Error as exc:
        raise BacktestInputError(f"price file {path}: malformed CSV ({exc})") from exc


def _header_symbols(path: Path, header: Sequence[str] | None) -> tuple[str, ...]:
    """Return the symbols row 1 names; raise naming what is wrong with it."""
    if header is None or not any(cell.strip() for cell in header):
        raise BacktestInputError(f"price file {path} is empty; row 1 must be date,SYMBOL,...")
    if header[0].strip().lower() != "date":
        raise BacktestInputError(
            f"{path}: row 1, column 1 is {header[0].strip()!r}; the header must start with "
            "'date', then one column per symbol (date,VTI,BND,...)"
        )
    symbols = tuple(cell.strip() for cell in header[1:])
    if not symbols or any(not s for s in symbols):
        raise BacktestInputError(f"{path}: row 1 must name a symbol in every column after date")
    if len(set(symbols)) != len(symbols):
        twice = next(s for s in symbols if symbols.count(s) > 1)
        raise BacktestInputError(f"{path}: row 1 names {twice} twice; keep one column each")
    return symbols


def _parse_plain(path: Path, text: str) -> PriceTable | None:
    """Read a file of plain rows a file at a time: the table `_parse` reads from it, or None
    when a row needs `_parse`'s reading (a blank line, a space, a cell count or date it
    refuses, ...), which then reads the file row by row and names what is wrong.

    20 years of 100 symbols are 5,040 rows and 504,000 closes: split and stripped cell by
    cell, the file took longer to read than the backtest of most of its days. Here a row is
    split in two (its date, its closes as written) and the closes are checked and parsed
    together (`_exact_floats`, else `_check_numbers` as `_parse` does)."""
    if "\r" in text:  # every CR ends a line here (a bare one sends the file to csv)
        text = text.replace("\r\n", "\n")
    first, _, body = text.partition("\n")
    if not first:
        return None
    symbols = _header_symbols(path, first.split(","))
    lines = body.split("\n")
    if lines[-1] == "":
        lines.pop()  # the last line's end
    if not lines or "" in lines:
        return None
    commas = len(symbols) - 1
    days: list[date] = []
    closes: list[str] = []
    gappy = False
    try:
        for line in lines:
            day, sep, written = line.partition(",")
            if not sep or written.count(",") != commas:
                return None
            # An ISO date has nothing `strip` would take off (`_parse` strips each cell).
            days.append(date.fromisoformat(day))
            closes.append(written)
            gappy = gappy or ",," in line or line[-1] == ","
    except ValueError:  # not a date
        return None
    if any(later <= earlier for earlier, later in pairwise(days)):
        return None
    rows = list(range(2, len(lines) + 2))  # no blank line: the file's line numbers
    # Closes of plain digits (`_exact_floats` checks each), else nothing but what a plain
    # close can have: no cell `strip` would change, no letter but an exponent's
    # (`_check_numbers` judges what these chars make).
    exact = None if gappy else _exact_floats(closes, len(symbols))
    if exact is None:
        if not _only(body, _PLAIN_ROW_BYTES):
            return None
        cells, gaps = _cells(closes)
        floats = _check_numbers(path, cells, gaps, closes, rows, symbols)
        return PriceTable(path, tuple(days), symbols, tuple(closes), floats, tuple(rows))
    floats, digits = exact
    return PriceTable(path, tuple(days), symbols, tuple(closes), floats, tuple(rows), digits)


def _exact_floats(lines: Sequence[str], width: int) -> tuple[NDArray[np.float64], Digits] | None:
    """Return the closes of `lines` (`width` a row, none empty) as a rows x `width` matrix,
    and their `Digits`, when every one is digits with at most one point, 15 digits at most,
    and all inside the range of prices; else None (`_check_numbers` then reads them, naming
    any bad one).

    Such a close is its digits M as an integer over 10^k (k digits after the point), both
    exact in float64 (M < 2^53, k <= 15), so M / 10^k is the correctly rounded quotient: the
    float the text reads as (numpy's and Python's parsers round correctly too). numpy parses
    the integers in one call, several times faster than floats from 504,000 texts; a block of
    rows at a time, so the work arrays stay small beside the matrices."""
    floats = np.empty((len(lines), width))
    integers = np.empty((len(lines), width), dtype=np.int64)
    places = np.empty((len(lines), width), dtype=np.int8)
    for first in range(0, len(lines), _BLOCK):
        block = _exact_block(lines[first : first + _BLOCK], width)
        if block is None:
            return None
        end = first + len(block[0])
        floats[first:end], integers[first:end], places[first:end] = block
    # Strictly inside the range as floats is inside it as written (`_check_numbers`).
    if not ((floats > _LOWEST) & (floats < _HIGHEST)).all():
        return None
    return floats, (integers, places)


def _only(text: str, allowed: bytes) -> bool:
    """Return whether `text` is made of the ASCII characters in `allowed` alone."""
    return text.isascii() and not text.encode("ascii").translate(None, allowed)


def _exact_block(
    lines: Sequence[str], width: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.intp]] | None:
    """`_exact_floats` of a few rows: their floats, integers and places."""
    text = ",".join(lines)
    if not _only(text, b"0123456789.,"):
        return None  # a sign, an exponent, a space: not in this form
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    commas = chars == ord(",")
    # Where each close ends (each row has `width` - 1 commas, as its reader counted).
    ends = np.append(np.flatnonzero(commas), len(chars))
    count = len(ends)
    points = np.flatnonzero(chars == ord("."))
    cell = np.cumsum(commas)[points]  # the close each point is in: the commas before it
    if len(points) > 1 and not (np.diff(cell) > 0).all():
        return None  # a close with two points
    digits = np.diff(ends, prepend=-1) - 1
    digits[cell] -= 1
    if not ((digits >= 1) & (digits <= 15)).all():
        return None
    places = np.zeros(count, dtype=np.intp)
    places[cell] = ends[cell] - points - 1
    integers = np.fromstring(text.replace(".", ""), dtype=np.int64, sep=",")
    if len(integers) != count:  # pragma: no cover - digits in every close, checked above
        return None
    floats: NDArray[np.float64] = integers / _POWERS[places]
    shape = (len(lines), width)
    return floats.reshape(shape), integers.reshape(shape), places.reshape(shape)


def _cells(lines: Sequence[str]) -> tuple[list[str], list[int]]:
    """Return every close of `lines` ("nan" for an empty cell) and the empty cells' places,
    as `_parse` gathers them for `_check_numbers`."""
    cells: list[str] = []
    gaps: list[int] = []
    for line in lines:
        row = line.split(",")
        if "" in row:
            gaps.extend(len(cells) + j for j, cell in enumerate(row) if not cell)
            cells.extend([cell or "nan" for cell in row])
        else:
            cells.extend(row)
    return cells, gaps


def _parse(path: Path, reader: Any) -> PriceTable:
    symbols = _header_symbols(path, next(reader, None))
    header_width = len(symbols) + 1
    days: list[date] = []
    rows: list[int] = []
    lines: list[str] = []
    cells: list[str] = []  # every close of every row, "nan" for an empty cell
    gaps: list[int] = []  # the empty cells' places in `cells`

    def earlier() -> None:
        """Raise the error of a bad close on a row already read, if any: it comes first."""
        _check_numbers(path, cells, gaps, lines, rows, symbols)

    for line in reader:
        if not any(cell.strip() for cell in line):
            continue
        row = reader.line_num
        if len(line) != header_width:
            earlier()
            raise BacktestInputError(
                f"{path}: row {row} has {len(line)} cells but the header has {header_width}; "
                "give every symbol a cell"
            )
        day = _date(path, row, line[0], earlier)
        if days and day <= days[-1]:
            earlier()
            raise BacktestInputError(
                f"{path}: row {row}, column 1 (date): {day} does not come after {days[-1]} "
                f"(row {rows[-1]}); sort the rows by date, one row per trading day"
            )
        stripped = [cell.strip() for cell in line[1:]]
        joined = ",".join(stripped)
        if joined.count(",") != len(stripped) - 1:  # a quoted cell held a comma
            earlier()
            _commas(path, row, stripped, symbols)
        if "" in stripped:
            gaps.extend(len(cells) + j for j, cell in enumerate(stripped) if not cell)
            cells.extend([cell or "nan" for cell in stripped])
        else:
            cells.extend(stripped)
        days.append(day)
        rows.append(row)
        lines.append(joined)
    if not days:
        raise BacktestInputError(f"price file {path} has a header but no rows of closes")
    floats = _check_numbers(path, cells, gaps, lines, rows, symbols)
    return PriceTable(path, tuple(days), symbols, tuple(lines), floats, tuple(rows))


class _PlainReader:
    """The csv reader's rows and line numbers for a file without quotes: split on commas."""

    def __init__(self, text: str) -> None:
        self._lines = text.split("\n")
        self.line_num = 0

    def __iter__(self) -> _PlainReader:
        return self

    def __next__(self) -> list[str]:
        while self.line_num < len(self._lines):
            line = self._lines[self.line_num]
            self.line_num += 1
            line = line.removesuffix("\r")
            if line or self.line_num < len(self._lines):
                return line.split(",") if line else []
        raise StopIteration


def _check_numbers(
    path: Path,
    cells: list[str],
    gaps: list[int],
    lines: list[str],
    rows: list[int],
    symbols: Sequence[str],
) -> NDArray[np.float64]:
    """Parse every close read so far at once (numpy, in C) into a rows x symbols matrix (NaN
    for an empty cell); on any doubt, find the first bad cell the slow way, row by row, so its
    error names the row and symbol."""
    try:
        floats = np.array(cells, dtype=float).reshape(len(lines), len(symbols))
    except ValueError:
        floats = None
    if floats is not None and _NOT_PLAIN.search(",".join(lines)) is None:
        # An empty cell was read as "nan" (NaN is inside no range). Rounding to float is
        # monotonic, so a close strictly inside the range as a float is inside it as written;
        # one on an edge (1e13, or a hair below 0.000001) is checked exactly below.
        inside = (floats > _LOWEST) & (floats < _HIGHEST)
        inside.reshape(-1)[gaps] = True
        if inside.all():
            return floats
    for line, row in zip(lines, rows, strict=True):
        for j, cell in enumerate(line.split(",")):
            _close(path, row, j + 2, symbols[j], cell)
    if floats is not None:
        return floats  # every close numpy doubted is in the range, exactly
    raise AssertionError("a close numpy cannot read was read by Decimal")  # pragma: no cover


def _commas(path: Path, row: int, cells: Sequence[str], symbols: Sequence[str]) -> NoReturn:
    """Raise naming a row's first bad close, when one has a comma (a quoted "1,200"): a row
    is kept as its closes joined by commas, so such a cell must never get that far."""
    for j, cell in enumerate(cells):
        where = f"{path}: row {row}, column {j + 2} ({symbols[j]})"
        if "," in cell:
            raise BacktestInputError(
                f"{where}: {cell!r} is not a plain decimal; write the close without thousands "
                "separators or decimal commas, like 1200 or 412.37"
            )
        _close(path, row, j + 2, symbols[j], cell)
    raise AssertionError("a row with a comma in a cell was not refused")  # pragma: no cover


def _date(path: Path, row: int, cell: str, earlier: Callable[[], None]) -> date:
    """Read a row's date; `earlier` raises the error of an earlier row first, if any."""
    try:
        return date.fromisoformat(cell.strip())
    except ValueError as exc:
        earlier()
        raise BacktestInputError(
            f"{path}: row {row}, column 1 (date): {cell.strip()!r} is not a date like 2024-03-05"
        ) from exc


def _close(path: Path, row: int, column: int, symbol: str, cell: str) -> Decimal | None:
    text = cell.strip()
    if not text:
        return None
    return parse_close(text, f"{path}: row {row}, column {column} ({symbol})")


def parse_close(text: str, where: str) -> Decimal:
    """Return the close written as `text`; raise naming `where` and the fix unless it is a
    plain decimal number (`daemon.core.plannable.parse_plain_decimal`) in the range of prices
    trimtab plans with (the price file's rule, and `trimtab prices merge`'s)."""
    price = parse_plain_decimal(text)
    if price is None:
        raise BacktestInputError(
            f"{where}: {text!r} is not a number; write plain decimals like 412.37"
        )
    if price <= 0:
        raise BacktestInputError(
            f"{where}: a close must be a positive number, got {text}; correct that close"
        )
    problem = price_problem(price)
    if problem is not None:
        raise BacktestInputError(f"{where}: the close {problem}; correct that close")
    return price
