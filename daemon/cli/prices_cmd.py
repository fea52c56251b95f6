"""`trimtab prices ...`: make the price file a backtest reads (`date,SYM1,SYM2,...`).

`export` asks an account's broker for the daily closes of every symbol a backtest of the
account reads (through the history cache the live cycle uses); `merge` joins one downloaded
CSV per symbol (Yahoo Finance, Stooq, ...) into one file. Both print what each column holds,
so a gap or a late first close is seen before the backtest refuses it (docs/backtest.md).
`forget` drops cached closes, so the next read fetches them whole from the broker."""

from __future__ import annotations

__all__ = ["prices_app"]

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    configured_account,
    console,
    fail,
    handle_errors,
    load_app,
    print_json,
    styled,
)

if TYPE_CHECKING:
    from daemon.backtest.price_files import Coverage

prices_app = typer.Typer(
    help="Make the price file a backtest reads, from a broker or downloaded CSVs; forget "
    "cached closes.",
    no_args_is_help=True,
)

OutOption = Annotated[
    Path,
    typer.Option(
        "--out", "-o", metavar="PRICES.csv", help="The file to write.", show_default=False
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")]


@prices_app.command()
def export(
    out: OutOption,
    config: ConfigOption = None,  # type: ignore[assignment]
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", help="Whose broker and symbols (default: the only one)."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", metavar="YYYY-MM-DD", help="First day (default: 10 years back)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", metavar="YYYY-MM-DD", help="Last day (default: the last close)."),
    ] = None,
    symbol: Annotated[
        list[str] | None,
        typer.Option(
            "--symbol",
            metavar="SYM",
            help="Another column, e.g. a --benchmark (repeatable).",
            show_default=False,
        ),
    ] = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Write the daily closes of the account's symbols from its broker, for a backtest."""
    from adapters.base import PriceHistory
    from daemon.backtest.errors import BacktestInputError
    from daemon.backtest.price_export import default_range, export_closes, symbols_to_export
    from daemon.backtest.price_files import price_days, write_price_file
    from daemon.cli.progress import progress
    from daemon.core.calendar import trading_day
    from strategies.base import ReadsHistory

    with load_app(config) as app, handle_errors():
        name = configured_account(app, account)
        configured = app.settings.account(name)
        strategy = app.strategy(name)
        broker = app.broker(name)
        if not isinstance(broker, PriceHistory):
            fail(
                f"broker {configured.broker} of account {name} has no daily price history; "
                "download one CSV per symbol and join them with `trimtab prices merge`",
                2,
            )
        extra = [s.strip() for s in symbol or () if s.strip()]
        symbols = symbols_to_export(app.settings, name, strategy, extra)
        today = trading_day(app.clock(), app.settings.exchange)
        try:
            first, last = default_range(
                _day(start, "--start"),
                _day(end, "--end"),
                today=today,
                exchange=app.settings.exchange,
            )
            with progress(f"closes from {configured.broker}", enabled=not as_json) as advance:
                series = export_closes(
                    broker,
                    source=f"{configured.broker}:{name}",
                    database=app.database,
                    clock=app.clock,
                    symbols=symbols,
                    start=first,
                    end=last,
                    progress=advance,
                )
            covered = write_price_file(out, series, force=force)
        except BacktestInputError as exc:
            fail(str(exc), 2)
        window = strategy.history_needs().rows if isinstance(strategy, ReadsHistory) else 0
    days = price_days(series)
    _report(out, covered, as_json, days=days, window=window, source=f"broker {configured.broker}")


@prices_app.command()
def merge(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="[SYM=]FILE.csv...",
            help="One CSV per symbol; the symbol is the file name before its first dot "
            "(vti.us.txt is VTI) unless given as SYM=FILE.",
            show_default=False,
        ),
    ],
    out: OutOption,
    column: Annotated[
        str | None,
        typer.Option(
            "--column",
            metavar="NAME",
            help="The close's column (default: Adj Close, else Close).",
            show_default=False,
        ),
    ] = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Join downloaded daily closes, one CSV per symbol, into one price file for a backtest."""
    from daemon.backtest.errors import BacktestInputError
    from daemon.backtest.price_files import (
        parse_symbol_file_arg,
        read_symbol_file,
        write_price_file,
    )

    try:
        named = [parse_symbol_file_arg(text) for text in files]
        seen: dict[str, Path] = {}
        for item in named:
            if item.symbol in seen:
                fail(
                    f"{item.symbol} is named twice ({seen[item.symbol]} and {item.path}); "
                    "give each symbol one file, or name them with SYM=FILE",
                    2,
                )
            seen[item.symbol] = item.path
        series = {item.symbol: read_symbol_file(item.path, column) for item in named}
        covered = write_price_file(out, series, force=force)
    except BacktestInputError as exc:
        fail(str(exc), 2)
    _report(out, covered, as_json, source="the files")


@prices_app.command()
def forget(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", help="Whose cache (default: every account's)."),
    ] = None,
    symbol: Annotated[
        list[str] | None,
        typer.Option(
            "--symbol",
            metavar="SYM",
            help="Only this symbol's closes (repeatable; default: all).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Drop cached daily closes, so the next cycle fetches them anew from the broker."""
    from daemon.store.price_history import PriceHistoryStore

    with load_app(config, broker=False) as app, handle_errors():
        source = None
        if account is not None:
            name = configured_account(app, account)
            source = f"{app.settings.account(name).broker}:{name}"
        symbols = sorted({s.strip().upper() for s in symbol or () if s.strip()}) or None
        with app.database.transaction() as session:
            forgotten = PriceHistoryStore(session).forget(source, symbols)
    if as_json:
        print_json({"source": source, "symbols": symbols, "closes_forgotten": forgotten})
        return
    whose = f"the cache of {source}" if source else "every account's cache"
    which = ", ".join(symbols) if symbols else "every symbol"
    console.print(
        f"forgot {forgotten} cached closes ({which}) from {whose}; the next cycle, plan or "
        "export fetches them whole from the broker"
    )


def _report(
    out: Path,
    covered: list[Coverage],
    as_json: bool,
    *,
    days: Sequence[date] = (),
    window: int = 0,
    source: str,
) -> None:
    """Print what each column holds, and the first day every symbol has a close."""
    from rich.table import Table

    starts = [c.first for c in covered if c.first is not None]
    common = max(starts) if len(starts) == len(covered) else None
    # The first day a look-back strategy has its window of rows before it, every column full.
    ready = _rows_after(days, common, window) if common is not None and window else None
    if as_json:
        print_json(
            {
                "file": str(out),
                "symbols": [
                    {
                        "symbol": c.symbol,
                        "first": c.first.isoformat() if c.first else None,
                        "last": c.last.isoformat() if c.last else None,
                        "closes": c.closes,
                        "empty": c.empty,
                    }
                    for c in covered
                ],
                "all_from": common.isoformat() if common else None,
                "look_back_rows": window,
                "look_back_from": ready.isoformat() if ready else None,
            }
        )
        return
    table = Table("symbol", "first close", "last close", "closes", "empty rows", box=None)
    for c in covered:
        table.add_row(
            c.symbol,
            str(c.first or "-"),
            str(c.last or "-"),
            str(c.closes),
            str(c.empty) if c.empty else "",
        )
    console.print(styled("wrote ", (str(out), "bold"), f" (closes as {source} gives them)"))
    console.print(table)
    missing = [c.symbol for c in covered if c.first is None]
    if missing:
        console.print(
            f"no close at all for {', '.join(missing)}: check the symbol, or drop it from the "
            "config; a backtest that needs it is refused"
        )
    elif common is not None:
        hint = f"every symbol has closes from {common}: start a backtest on or after it"
        if window:
            hint += (
                f", and on or after {ready} for the {window} rows of the strategy's look-back"
                if ready is not None
                else f"; the strategy looks back {window} rows, more than the file holds"
            )
        console.print(hint)
    if any(c.empty for c in covered):
        console.print(
            "empty rows are days a symbol has no close while others do; a backtest refuses a "
            "gap in its range, naming the row and symbol"
        )


def _rows_after(days: Sequence[date], first: date, rows: int) -> date | None:
    """The day `rows` rows after `first` in `days` (None: they end before)."""
    start = days.index(first)
    return days[start + rows] if start + rows < len(days) else None


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date; write YYYY-MM-DD", 2)
