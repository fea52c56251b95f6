"""Daily close history as a strategy sees it: read-only, sorted, never past the trading day.

`CloseHistory` holds a tuple of days (strictly increasing), a tuple of symbols, and a float64
matrix `closes[day, symbol]` whose write flag is off. A strategy gets it through
`StrategyContext.history`, which the context trims to its `trading_day` when it is built, so no
strategy can read a later close (`CloseHistory.until`).

`window(...)` is the one check every history-using strategy runs before it computes: enough
rows for the lookback, no gap (a symbol missing on a day the others have), no NaN, no zero or
negative close, not stale; a symbol whose first close is inside the window (a new fund) is
short history, not a gap. Each failure is a `DataError` naming the strategy, the symbol, the
day and the fix.

`parse_prices_csv` reads the simulated broker's price file format (`date,SYM1,SYM2,...`, one
row a day, an empty cell for a missing close); `read_prices_csv` is the thin file reader.
"""

from __future__ import annotations

__all__ = [
    "CloseHistory",
    "HistoryNeeds",
    "empty_history",
    "from_series",
    "parse_prices_csv",
    "read_prices_csv",
]

import bisect
import csv
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt

from daemon.core.errors import DataError
from daemon.core.plannable import MAX_NUMBER, MIN_PRICE, PRICE_RANGE

_LOWEST, _HIGHEST = float(MIN_PRICE), float(MAX_NUMBER)
"""The range of a close strategies read: the planner's range of prices, as floats."""

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class CloseHistory:
    """Daily closes: `closes[i, j]` is `symbols[j]`'s close on `days[i]`; NaN where unknown."""

    days: tuple[date, ...]
    symbols: tuple[str, ...]
    closes: Matrix

    def __post_init__(self) -> None:
        closes = np.array(self.closes, dtype=np.float64, copy=True)
        if closes.shape != (len(self.days), len(self.symbols)):
            raise DataError(
                f"price history has {closes.shape} closes for {len(self.days)} days × "
                f"{len(self.symbols)} symbols; give one close per day and symbol"
            )
        if any(b <= a for a, b in itertools.pairwise(self.days)):
            raise DataError("price history days are not strictly increasing; sort the rows")
        if len(set(self.symbols)) != len(self.symbols):
            raise DataError("price history names a symbol twice; keep one column per symbol")
        closes.flags.writeable = False
        object.__setattr__(self, "closes", closes)

    @property
    def last_day(self) -> date | None:
        return self.days[-1] if self.days else None

    def until(self, day: date) -> CloseHistory:
        """Return the rows up to and including `day` (self when none is later)."""
        if not self.days or self.days[-1] <= day:
            return self
        end = bisect.bisect_right(self.days, day)
        return CloseHistory(self.days[:end], self.symbols, self.closes[:end])

    def column(self, symbol: str) -> Matrix:
        return self.closes[:, self.symbols.index(symbol)]

    def window(
        self,
        *,
        strategy: str,
        symbols: Sequence[str],
        rows: int,
        expected_last: date | None = None,
    ) -> Matrix:
        """Return the last `rows` closes of `symbols` (rows × symbols), checked.

        `expected_last` is the last session whose close should be known (the caller knows the
        calendar); history ending before it is stale. None skips that check.
        """
        fix_more = "give a longer price history or a shorter lookback_days"
        if not self.days:
            raise DataError(
                f"strategy {strategy}: no price history; it needs {rows} daily closes "
                "(give --prices PRICES.csv, or a broker with daily history)"
            )
        missing = [s for s in symbols if s not in self.symbols]
        if missing:
            raise DataError(
                f"strategy {strategy}: no price history for {missing[0]}; add a "
                f"{missing[0]} column to the prices, or drop it from the universe"
            )
        last = self.days[-1]
        if expected_last is not None and last < expected_last:
            raise DataError(
                f"strategy {strategy}: price history is stale: it ends {last}, the close of "
                f"{expected_last} should be known; refresh the history (a price file: add "
                "the missing rows; a broker's: `trimtab prices forget`, and the next cycle "
                "fetches it anew)"
            )
        if len(self.days) < rows:
            raise DataError(
                f"strategy {strategy}: {len(self.days)} days of price history up to {last}, "
                f"needs {rows}; {fix_more}"
            )
        columns = [self.symbols.index(s) for s in symbols]
        block = self.closes[-rows:, columns]
        days = self.days[-rows:]
        # The planner's range for prices (`daemon.core.plannable`): a finite but absurd close
        # such as 1e300 would overflow the strategies' returns and variances.
        bad = ~np.isfinite(block) | (block < _LOWEST) | (block > _HIGHEST)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            value = block[i, j]
            symbol, day = symbols[j], days[i]
            if math.isnan(value):
                self._check_started(strategy, symbol, len(self.days) - rows + i, rows)
                known = np.isfinite(block[i]).any()
                what = "a gap (other symbols have that day)" if known else "no close"
                raise DataError(
                    f"strategy {strategy}: {symbol} has {what} on {day}; fill the close of "
                    f"{symbol} on {day} in the price history"
                )
            raise DataError(
                f"strategy {strategy}: {symbol} closes at {value} on {day}; a close must be "
                f"a positive number ({PRICE_RANGE}): correct {symbol} on {day} in the price "
                "history"
            )
        return block

    def _check_started(self, strategy: str, symbol: str, row: int, rows: int) -> None:
        """Raise when `symbol` has no close up to `row`: its history is younger than the
        window (a new fund), which no close the user could fill would fix."""
        column = self.column(symbol)
        closes = np.flatnonzero(np.isfinite(column))
        if closes.size and closes[0] < row:
            return  # a gap after its first close: the caller's message
        if not closes.size:
            raise DataError(
                f"strategy {strategy}: {symbol} has no close in the price history; check the "
                f"symbol, or drop {symbol} from the universe"
            )
        first = int(closes[0])
        available = len(self.days) - first
        raise DataError(
            f"strategy {strategy}: {symbol} has closes only from {self.days[first]} "
            f"({available} rows up to {self.days[-1]}; the window needs {rows}): shorten "
            f"lookback_days, drop {symbol} from the universe, or wait {rows - available} more "
            "sessions"
        )


@dataclass(frozen=True, slots=True)
class HistoryNeeds:
    """What a strategy reads: these symbols' last `rows` daily closes."""

    symbols: frozenset[str]
    rows: int

    def calendar_days(self) -> int:
        """Calendar days back that hold `rows` sessions with room for holidays (252 a year)."""
        return self.rows * 365 // 252 + 15

    def __or__(self, other: HistoryNeeds) -> HistoryNeeds:
        return HistoryNeeds(self.symbols | other.symbols, max(self.rows, other.rows))


def from_series(series: Mapping[str, Sequence[tuple[date, Decimal]]]) -> CloseHistory:
    """Build a history from each symbol's (day, close) pairs (a broker's `daily_closes`).

    The days are every day any symbol has; a symbol without a close on one of them gets NaN
    there, which `window` reports as a gap.
    """
    symbols = tuple(sorted(series))
    days = tuple(sorted({day for pairs in series.values() for day, _ in pairs}))
    row = {day: i for i, day in enumerate(days)}
    closes = np.full((len(days), len(symbols)), np.nan)
    for j, symbol in enumerate(symbols):
        for day, close in series[symbol]:
            closes[row[day], j] = float(close)
    return CloseHistory(days, symbols, closes)


def empty_history() -> CloseHistory:
    """Return a history with no days and no symbols (what `static` and the engine pass)."""
    return CloseHistory((), (), np.empty((0, 0)))


def parse_prices_csv(text: str, *, source: str = "prices") -> CloseHistory:
    """Parse `date,SYM1,SYM2,...` rows (ISO dates, closes as numbers, empty when unknown)."""
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DataError(f"{source}: empty; the first line is date,SYM1,SYM2,...")
    header = [cell.strip() for cell in rows[0]]
    if not header or header[0].lower() != "date" or len(header) < 2:
        raise DataError(f"{source}: the first line must be date,SYM1,SYM2,... not {rows[0]!r}")
    symbols = tuple(header[1:])
    days: list[date] = []
    closes: list[list[float]] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(
                f"{source} line {number}: {len(row)} cells, the header has {len(header)}; "
                "give one cell per symbol (empty when unknown)"
            )
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            raise DataError(
                f"{source} line {number}: {row[0]!r} is not a date; write YYYY-MM-DD"
            ) from None
        values: list[float] = []
        for symbol, cell in zip(symbols, row[1:], strict=True):
            try:
                values.append(float(cell) if cell.strip() else math.nan)
            except ValueError:
                raise DataError(
                    f"{source} line {number}: {symbol} close {cell!r} on {day} is not a "
                    "number; write it as 123.45 or leave it empty"
                ) from None
        days.append(day)
        closes.append(values)
    order = sorted(range(len(days)), key=days.__getitem__)
    ordered = [days[i] for i in order]
    for a, b in itertools.pairwise(ordered):
        if a == b:
            raise DataError(f"{source}: {a} appears twice; keep one row per day")
    matrix = np.array([closes[i] for i in order], dtype=np.float64).reshape(
        len(ordered), len(symbols)
    )
    return CloseHistory(tuple(ordered), symbols, matrix)


def read_prices_csv(path: Path) -> CloseHistory:
    """Read a price file (see `parse_prices_csv`)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read prices {path}: {exc.strerror}; check the path") from None
    try:
        # utf-8-sig: a byte order mark (Excel's "CSV UTF-8" writes one) is not part of "date".
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"prices {path} is not UTF-8 at byte {exc.start} (line {line}); save the file as "
            "UTF-8 (in a spreadsheet: CSV UTF-8)"
        ) from None
    # Universal newlines, as `read_text` gave: Windows and old Mac line ends read as "\n".
    return parse_prices_csv(text.replace("\r\n", "\n").replace("\r", "\n"), source=str(path))
