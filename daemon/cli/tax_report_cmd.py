"""`trimtab tax report`: Form 8949-style rows of a year's taxable sales from the ledger.

Shares sold that had no recorded lot are not in the rows: a warning names each such sale in
every format (on stderr with `--csv`, in `unmatched` with `--json`), and `--csv` then exits 1,
so that a script filing the rows does not take them for the whole year.
"""

from __future__ import annotations

__all__ = ["report"]

import csv
import io
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    err_console,
    load_app,
    print_json,
    styled,
)
from daemon.cli.tax_ledger_cmd import AccountFilter, Household, household, known_account
from daemon.core.tax.form8949 import Form8949Row, form8949_rows, form8949_totals
from daemon.core.tax.types import View

if TYPE_CHECKING:
    from rich.text import Text

    from daemon.store.tax_ledger import LedgerSale


_CSV_COLUMNS = (
    "account",
    "description",
    "date_acquired",
    "date_sold",
    "proceeds",
    "basis",
    "code",
    "adjustment",
    "gain",
    "term",
)


def report(
    year: Annotated[int, typer.Option("--year", help="Tax year.")],
    account: AccountFilter = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print CSV rows instead of tables.")
    ] = False,
    view: Annotated[
        View,
        typer.Option(
            "--view",
            help="household: IRC §1091 across the household (what you report); broker: same "
            "account and symbol only, to reconcile with each broker's 1099-B.",
        ),
    ] = View.HOUSEHOLD,
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
) -> None:
    """Print Form 8949-style rows of the year's taxable sales, totals by term, harvested losses."""
    with load_app(config) as app:
        found = household(app, view)
    known_account(found, account)
    sales = [s for s in found.book.sales if account in (None, s.trade.account)]
    rows = form8949_rows(sales, year)
    totals = form8949_totals(rows)
    harvested = _harvested(found, year, account)
    unmatched = [
        s
        for s in found.sales
        if s.sold.year == year and s.matched_qty < s.qty and account in (None, s.account)
    ]
    if as_csv:
        _print_csv(rows)
        for sale in unmatched:
            err_console.print(_warning(sale))
        if unmatched:
            raise typer.Exit(1)  # the rows are not the whole year: see the module's docstring
        return
    if as_json:
        print_json(
            {
                "year": year,
                "rows": [_row(r) for r in rows],
                "totals": totals,
                "harvested_losses": harvested,
                "unmatched": [
                    {
                        "sale": s.source_id,
                        "account": s.account,
                        "symbol": s.symbol,
                        "qty": s.qty - s.matched_qty,
                    }
                    for s in unmatched
                ],
            }
        )
        return
    table = Table(title=f"Form 8949 rows, {year}", title_justify="left")
    for name in _CSV_COLUMNS:
        table.add_column(
            name, justify="right" if name in _CSV_COLUMNS[4:9] and name != "code" else "left"
        )
    for r in rows:
        table.add_row(
            *(f"{v:,.2f}" if isinstance(v, Decimal) else str(v) for v in _row(r).values())
        )
    console.print(table if rows else f"no taxable sales in {year}")
    for total in totals:
        console.print(
            f"{total.term}-term: {total.rows} row(s), proceeds {total.proceeds:,.2f}, "
            f"basis {total.basis:,.2f}, adjustments {total.adjustment:,.2f}, "
            f"gain {total.gain:,.2f}"
        )
    harvested_total = sum((h["loss"] for h in harvested), Decimal(0))
    console.print(f"harvested losses: {harvested_total:,.2f} in {len(harvested)} sale(s)")
    for sale in unmatched:
        console.print(_warning(sale))


def _warning(sale: LedgerSale) -> Text:
    return styled(
        ("warning:", "yellow"),
        f" {sale.qty - sale.matched_qty:f} of {sale.qty:f} {sale.symbol} "
        f"sold in {sale.account} on {sale.sold} had no recorded lot and are not reported: "
        "import their lots (trimtab tax import; the sale then relieves them)",
    )


def _row(r: Form8949Row) -> dict[str, Any]:
    return {
        "account": r.account,
        "description": r.description,
        "date_acquired": r.acquired,
        "date_sold": r.sold,
        "proceeds": r.proceeds,
        "basis": r.basis,
        "code": r.code,
        "adjustment": r.adjustment,
        "gain": r.gain,
        "term": r.term,
    }


def _print_csv(rows: tuple[Form8949Row, ...]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    from daemon.core.tax.replay import money_text

    for r in rows:
        # Every Decimal of a row is money: written with cents, as the form has them.
        writer.writerow(
            [
                v.isoformat()
                if isinstance(v, date)
                else money_text(v)
                if isinstance(v, Decimal)
                else str(v)
                for v in _row(r).values()
            ]
        )
    typer.echo(out.getvalue(), nl=False)


def _harvested(found: Household, year: int, account: str | None) -> list[dict[str, Any]]:
    from daemon.store.tax_ledger import sale_trade_id

    by_id = {s.id: s for s in found.book.sales}
    harvested = []
    for sale in found.sales:
        if not sale.harvest or sale.sold.year != year or account not in (None, sale.account):
            continue
        realized = by_id.get(sale_trade_id(sale.id))
        loss = -realized.gain if realized is not None and realized.gain < 0 else Decimal(0)
        harvested.append(
            {"account": sale.account, "symbol": sale.symbol, "sold": sale.sold, "loss": loss}
        )
    return harvested
