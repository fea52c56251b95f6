"""`trimtab tax ...`: tax lots and wash sales. `replay` runs the engine over a CSV trade list."""

from __future__ import annotations

__all__ = ["tax_app"]

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from daemon.cli.common import JsonOption, console, fail, print_json
from daemon.cli.progress import progress
from daemon.cli.tax_ledger_cmd import add_ledger_commands
from daemon.cli.tax_report_cmd import report
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.replay import ReplayError, book_to_json, engine_error, read_trades
from daemon.core.tax.types import (
    HoldingPeriodConvention,
    LotMethod,
    SameDayReplacements,
    TaxDataError,
    TaxPolicy,
    View,
)

tax_app = typer.Typer(help="Tax lots and wash sales.", no_args_is_help=True)
add_ledger_commands(tax_app)
tax_app.command("report")(report)


@tax_app.command()
def replay(
    trades: Annotated[
        Path,
        typer.Argument(
            help="CSV trade list (columns: see docs/tax.md).",
            metavar="TRADES.csv",
            show_default=False,
        ),
    ],
    lot_method: Annotated[
        LotMethod, typer.Option("--lot-method", help="How sales relieve lots.")
    ] = LotMethod.FIFO,
    identical: Annotated[
        list[str] | None,
        typer.Option(
            "--identical",
            metavar="SYM,SYM,...",
            help="Symbols to treat as substantially identical, e.g. VOO,IVV (repeatable).",
            show_default=False,
        ),
    ] = None,
    view: Annotated[
        View,
        typer.Option(
            "--view",
            help="household: IRC §1091 across accounts; broker: same account and symbol (1099-B).",
        ),
    ] = View.HOUSEHOLD,
    holding_period: Annotated[
        HoldingPeriodConvention,
        typer.Option("--holding-period", help="How a wash moves the replacement's holding period."),
    ] = HoldingPeriodConvention.ADD_DAYS,
    same_day: Annotated[
        SameDayReplacements,
        typer.Option(
            "--same-day-replacements",
            help="count: shares sold on a loss sale's day can replace it (as 1099-Bs report); "
            "exclude: only shares still held at the day's end.",
        ),
    ] = SameDayReplacements.COUNT,
    json_output: JsonOption = False,
) -> None:
    """Replay a CSV trade list through the wash-sale engine (no database, no config file)."""
    groups = [symbol.upper().split(",") for symbol in identical or ()]
    policy = TaxPolicy(
        default_method=lot_method,
        identical=SubstantiallyIdentical.of(groups),
        view=view,
        holding_period=holding_period,
        same_day_replacements=same_day,
    )
    try:
        rows, row_of = read_trades(trades)
        try:
            with progress(f"replaying {len(rows):,} trades", enabled=not json_output) as advance:
                book = replay_trades(rows, policy, progress=advance)
        except TaxDataError as exc:
            raise engine_error(exc, row_of) from None
    except ReplayError as exc:
        fail(f"{trades}: {exc}", 2)
    if json_output:
        print_json(book_to_json(book))
        return
    # Laying out tens of thousands of rows takes rich longer than the replay itself: keep the
    # bar up meanwhile, and write the tables once it is gone (the two never interleave).
    with progress("laying out the tables") as advance, console.capture() as tables:
        advance(0, 0)
        _print_book(book)
    console.file.write(tables.get())


def _print_book(book: TaxBook) -> None:
    sales = Table(title="Sales", title_justify="left")
    for name in ("id", "date", "account", "symbol", "qty", "proceeds", "basis", "disallowed"):
        sales.add_column(
            name, justify="right" if name not in {"id", "account", "symbol"} else "left"
        )
    sales.add_column("gain", justify="right")
    sales.add_column("term")
    sales.add_column("lots")
    for sale in book.sales:
        sales.add_row(
            sale.id,
            sale.trade.date.isoformat(),
            sale.trade.account,
            sale.trade.symbol,
            f"{sale.qty:f}",
            f"{sale.proceeds:,.2f}",
            f"{sale.basis:,.2f}",
            f"{sale.disallowed:,.2f}" if sale.disallowed else "",
            f"{sale.gain:,.2f}",
            sale.term.value,
            ", ".join(f"{p.source_id}×{p.qty:f}" for p in sale.pieces),
        )
    console.print(sales)
    lots = Table(title="Open lots", title_justify="left")
    for name in (
        "lot",
        "account",
        "symbol",
        "qty",
        "cost",
        "adjusted basis",
        "acquired",
        "held since",
    ):
        lots.add_column(
            name, justify="right" if name in {"qty", "cost", "adjusted basis"} else "left"
        )
    for lot in book.lots():
        lots.add_row(
            lot.source_id,
            lot.account,
            lot.symbol,
            f"{lot.qty:f}",
            f"{lot.cost:,.2f}",
            f"{lot.adjusted_basis:,.2f}",
            lot.acquired.isoformat(),
            lot.holding_period_start.isoformat(),
        )
    console.print(lots)
