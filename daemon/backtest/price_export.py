"""Read an account's daily closes from its broker for a backtest's price file
(`trimtab prices export`), through the same history cache as the live cycle
(`daemon.cycle.history.HistoryCache`, source `BROKER:ACCOUNT`): what is cached is not asked
for again, and what is asked for is kept for the account's cycles."""

from __future__ import annotations

__all__ = ["default_range", "export_closes", "symbols_to_export"]

from collections.abc import Callable, Collection
from datetime import date, datetime
from decimal import Decimal

from adapters.base import BatchPriceHistory, PriceHistory
from daemon.backtest.errors import BacktestInputError
from daemon.config.policy import alternate_symbols
from daemon.config.settings import Settings
from daemon.core.domain import CASH
from daemon.core.progress import Progress, no_progress
from daemon.cycle.history import HistoryCache, final_session
from daemon.store.db import Database
from strategies.base import ReadsHistory, Strategy

DEFAULT_YEARS = 10


def symbols_to_export(
    settings: Settings, account: str, strategy: Strategy, extra: Collection[str]
) -> list[str]:
    """Every column a backtest of `account` reads: the strategy's universe and the history it
    looks back on, the account's tax alternates, then `extra` (e.g. a benchmark), in that
    order, each once."""
    wanted = sorted(set(strategy.universe()) - {CASH})
    if isinstance(strategy, ReadsHistory):
        wanted += sorted(set(strategy.history_needs().symbols) - set(wanted) - {CASH})
    wanted += sorted(alternate_symbols(settings.account(account)) - set(wanted))
    for symbol in extra:
        if symbol not in wanted and symbol != CASH:
            wanted.append(symbol)
    return wanted


def default_range(
    start: date | None, end: date | None, *, today: date, exchange: str
) -> tuple[date, date]:
    """Return the range to export: `end` defaults to the last session whose close is final
    (the one before today), `start` to `DEFAULT_YEARS` before `end`."""
    last = final_session(today, today, exchange)
    if end is None:
        end = last
    elif end > last:
        raise BacktestInputError(
            f"--end {end} is after {last}, the last session whose close is known; "
            f"end on {last} or earlier"
        )
    if start is None:
        start = _years_before(end, DEFAULT_YEARS)
    if start > end:
        raise BacktestInputError(
            f"--start {start} is after the last day to export, {end}; give an earlier --start"
        )
    return start, end


def export_closes(
    broker: PriceHistory,
    *,
    source: str,
    database: Database | None,
    clock: Callable[[], datetime],
    symbols: list[str],
    start: date,
    end: date,
    progress: Progress = no_progress,
) -> dict[str, list[tuple[date, Decimal]]]:
    """Return each symbol's closes in `[start, end]` from the cache or the broker, in the
    order of `symbols`: in one request where the broker takes many symbols at once
    (`BatchPriceHistory`), else one symbol at a time, `progress(done, total)` after each."""
    cache = HistoryCache(broker, source, database, clock)
    if isinstance(broker, BatchPriceHistory):
        progress(0, 1)
        got = cache.closes(symbols, start, end)
        progress(1, 1)
        return {symbol: list(got.get(symbol, ())) for symbol in symbols}
    out: dict[str, list[tuple[date, Decimal]]] = {}
    progress(0, len(symbols))
    for done, symbol in enumerate(symbols, start=1):
        out[symbol] = list(cache.closes([symbol], start, end).get(symbol, ()))
        progress(done, len(symbols))
    return out


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year - years, day=28)
