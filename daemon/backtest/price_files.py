"""Make the backtest's price file (`date,SYM1,SYM2,...`, one row per trading day) from
closes by symbol: a broker's daily history (`trimtab prices export`) or one downloaded CSV
per symbol (`trimtab prices merge`: Yahoo Finance, Stooq and the like).

A row is written for every day any symbol has a close; a symbol without a close that day
gets an empty cell, which `daemon.backtest.prices` reports as a gap (file, row, symbol)
only if a backtest's range needs it. The file is written whole to a temporary name and then
renamed, so an interrupted run never leaves half a file under the name asked for.
"""

from __future__ import annotations

__all__ = [
    "Coverage",
    "SymbolFile",
    "coverage",
    "parse_symbol_file_arg",
    "price_days",
    "read_symbol_file",
    "write_price_file",
]

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.out_file import write_whole
from daemon.backtest.prices import parse_close
from daemon.core.input_files import read_input_text
from daemon.core.plannable import MAX_NUMBER, MIN_PRICE, price_problem

Closes = Sequence[tuple[date, Decimal]]
PREFERRED_COLUMNS = ("adj close", "adj_close", "adjclose", "adjusted close", "close")
"""The close column of a per-symbol file, first found wins (case-insensitive): the adjusted
close where the file has one (Yahoo's `Adj Close`), else the plain `Close` (Stooq)."""
_MISSING = ("", "null", "nan", "n/a", "-")
"""Cells that mean "no close that day" in downloaded files (Yahoo writes `null`)."""
_DATE_HEADERS = ("date", "day", "timestamp", "time")


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a written file holds for one symbol."""

    symbol: str
    first: date | None
    last: date | None
    closes: int
    empty: int
    """Rows of the file, between the symbol's first and last close, without its close."""


@dataclass(frozen=True, slots=True)
class SymbolFile:
    """One `merge` argument: a symbol and the file of its closes."""

    symbol: str
    path: Path


def parse_symbol_file_arg(text: str) -> SymbolFile:
    """Read `SYM=FILE` or `FILE` (the symbol is the file name before its first dot, in
    capitals: `vti.us.txt` is VTI); raise `BacktestInputError` on an empty symbol."""
    if "=" in text:
        symbol, _, name = text.partition("=")
        symbol = symbol.strip()
        if not symbol or not name:
            raise BacktestInputError(f"{text!r}: write SYM=FILE (e.g. VTI=VTI.csv) or just FILE")
        return SymbolFile(symbol, Path(name))
    path = Path(text)
    symbol = path.name.split(".", 1)[0].strip().upper()
    if not symbol:
        raise BacktestInputError(f"{text!r}: no symbol in the file name; write SYM={text}")
    return SymbolFile(symbol, path)


def read_symbol_file(path: Path, column: str | None = None) -> list[tuple[date, Decimal]]:
    """Return one symbol's closes from a downloaded CSV (a date column and a close column,
    `column` or the first of `PREFERRED_COLUMNS`), oldest first. Rows without a close
    (`null`, empty) are left out; anything else that is not a positive number, a date that is
    not YYYY-MM-DD, or a day given twice raises `BacktestInputError` naming the file and row."""
    rows = _read_rows(path)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise BacktestInputError(f"{path} is empty; row 1 must name its columns (Date,...,Close)")
    header = [cell.strip().lower() for cell in rows[0]]
    day_at = _find(header, _DATE_HEADERS)
    if day_at is None:
        raise BacktestInputError(
            f"{path}: row 1 ({','.join(rows[0])}) has no Date column; the file needs one"
        )
    wanted = (column.strip().lower(),) if column else PREFERRED_COLUMNS
    close_at = _find(header, wanted)
    if close_at is None:
        asked = f"column {column!r}" if column else "an Adj Close or Close column"
        raise BacktestInputError(
            f"{path}: row 1 ({','.join(rows[0])}) has no {asked}; name the close's column "
            "with --column"
        )
    closes: dict[date, Decimal] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(day_at, close_at):
            raise BacktestInputError(
                f"{path}: row {number} has {len(row)} cells but the header has {len(header)}"
            )
        day = _day(path, number, row[day_at])
        cell = row[close_at].strip()
        if cell.lower() in _MISSING:
            continue
        if day in closes:
            raise BacktestInputError(f"{path}: row {number}: {day} is given twice; keep one row")
        where = f"{path}: row {number}, column {rows[0][close_at].strip()}"
        closes[day] = parse_close(cell, where)
    return sorted(closes.items())


def _read_rows(path: Path) -> list[list[str]]:
    text = read_input_text(path, "file", BacktestInputError)
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BacktestInputError(f"{path}: malformed CSV ({exc})") from exc


def write_price_file(
    path: Path, series: Mapping[str, Closes], *, force: bool = False
) -> list[Coverage]:
    """Write the closes of every symbol of `series` (in its order) as one price file at
    `path`; return what each column holds. Refuse (`BacktestInputError`) an existing file
    unless `force`, and a set of series without a single close."""
    if path.exists() and not force:
        raise BacktestInputError(
            f"{path} exists; choose another name, or give --force to replace it"
        )
    if path.is_dir():
        raise BacktestInputError(f"{path} is a directory; name a file")
    symbols = list(series)
    for symbol in symbols:
        _check_closes(path, symbol, series[symbol])
    by_symbol = {symbol: dict(series[symbol]) for symbol in symbols}
    days = price_days(series)
    if not days:
        raise BacktestInputError(
            f"no closes for {', '.join(symbols) or 'any symbol'} in the range asked for; "
            f"nothing written to {path}"
        )
    lines = ["date," + ",".join(symbols)]
    for day in days:
        cells = (_text(by_symbol[s].get(day)) for s in symbols)
        lines.append(f"{day.isoformat()}," + ",".join(cells))
    _write_whole(path, "\n".join(lines) + "\n")
    return coverage(series, days)


def price_days(series: Mapping[str, Closes]) -> list[date]:
    """The file's days: every day any symbol has a close, in order."""
    return sorted({day for closes in series.values() for day, _ in closes})


def coverage(series: Mapping[str, Closes], days: Sequence[date]) -> list[Coverage]:
    """Each symbol's first and last close and the file's rows in between it has none for."""
    out = []
    position = {day: i for i, day in enumerate(days)}
    for symbol, closes in series.items():
        if not closes:
            out.append(Coverage(symbol, None, None, 0, 0))
            continue
        first, last = closes[0][0], closes[-1][0]
        span = position[last] - position[first] + 1
        out.append(Coverage(symbol, first, last, len(closes), span - len(closes)))
    return out


def _check_closes(path: Path, symbol: str, closes: Closes) -> None:
    """Raise naming the first close the backtest would refuse to read (a broker's history can
    hold a bad tick): out of the range of prices trimtab plans with, or not a number."""
    for day, close in closes:
        if not (close.is_finite() and MIN_PRICE <= close <= MAX_NUMBER):
            raise BacktestInputError(
                f"the close of {symbol} on {day} {price_problem(close)}; nothing written to "
                f"{path}: correct or leave out that close at its source"
            )


def _find(header: Sequence[str], names: Sequence[str]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _day(path: Path, number: int, cell: str) -> date:
    text = cell.strip()
    try:
        # ISO dates, and ISO timestamps cut to their day (some exports write 2024-01-02 00:00:00).
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise BacktestInputError(
            f"{path}: row {number}: date {text!r} is not a date like 2024-03-05"
        ) from exc


def _text(close: Decimal | None) -> str:
    return "" if close is None else format(close, "f")


def _write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (`out_file.write_whole`, as the --report
    page is written); an error names the folder or the file."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BacktestInputError(f"{folder} is not a directory; create it first")
    try:
        write_whole(path, text)
    except OSError as exc:
        raise BacktestInputError(f"cannot write {path}: {exc.strerror}") from exc
