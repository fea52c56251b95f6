"""`trimtab tax import | add-trade | split | lots | windows`: the household's tax-lot ledger
(`report` is in `tax_report_cmd`).

Attached to `trimtab tax` by `add_ledger_commands`. Every change to the ledger is audited, and
so is a refused import or declaration (what was wrong, never half of it recorded).
"""

from __future__ import annotations

__all__ = ["AccountFilter", "Household", "add_ledger_commands", "household", "known_account"]

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json, styled
from daemon.cli.progress import progress
from daemon.core.calendar import exchange_timezone
from daemon.core.domain import Side
from daemon.core.errors import DataError
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.types import LossWindow, PurchaseWindow, View

if TYPE_CHECKING:
    from daemon.audit.events import TaxLots
    from daemon.bootstrap import App
    from daemon.store.tax_ledger import HouseholdAccount, LedgerSale

AccountFilter = Annotated[
    str | None, typer.Option("--account", "-a", help="Only this account.", show_default=False)
]


def add_ledger_commands(app: typer.Typer) -> None:
    """Register the ledger's commands on the `trimtab tax` group."""
    app.command("import")(import_file)
    app.command("add-trade")(add_trade)
    app.command("split")(split)
    app.command("lots")(lots)
    app.command("windows")(windows)


def _today(app: App) -> date:
    return app.clock().astimezone(exchange_timezone(app.settings.exchange)).date()


@dataclass(frozen=True, slots=True)
class Household:
    accounts: dict[str, HouseholdAccount]
    book: TaxBook
    sales: list[LedgerSale]


def household(app: App, view: View = View.HOUSEHOLD) -> Household:
    from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy

    accounts = household_accounts(app.settings)
    with app.database.transaction() as session:
        ledger = TaxLedger(session)
        trades = ledger.trades(accounts)
        sales = ledger.sales()
    try:
        book = replay_trades(trades, replace(tax_policy(app.settings), view=view))
    except DataError as exc:
        fail(f"the ledger cannot be replayed: {exc}")
    return Household(accounts, book, sales)


def known_account(household: Household, account: str | None) -> None:
    """Refuse (exit 2) an --account that is neither configured nor in the ledger: a typo
    would print an empty report or no lots, as if the account had none."""
    if account is None:
        return
    known = set(household.accounts) | {s.account for s in household.sales}
    known |= {lot.account for lot in household.book.lots()}
    if account not in known:
        fail(
            f"--account {account!r} is not a household account (known: "
            f"{', '.join(sorted(known))}); outside accounts are declared under "
            "[tax.outside_accounts]",
            2,
        )


def _audit(app: App, event: TaxLots, account: str | None = None) -> None:
    from daemon.store.audit_log import AuditLog

    with app.database.transaction() as session:
        AuditLog(session).append(event, at=app.clock(), account=account)


def import_file(
    file: Annotated[
        Path, typer.Argument(help="CSV: account,symbol,acquired,quantity,cost_basis[,note].")
    ],
    config: ConfigOption = None,  # type: ignore[assignment]
) -> None:
    """Import existing lots (all of them or none); see docs/tax.md for the format."""
    from daemon.audit.events import TaxLots
    from daemon.store.audit_log import AuditLog
    from daemon.store.lot_import import (
        LotImportError,
        import_lots,
        in_shares_as_bought,
        parse_lots_csv,
        relieve_imported,
    )
    from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy

    with load_app(config) as app:
        accounts = household_accounts(app.settings)
        policy = tax_policy(app.settings)
        try:
            text = _read_utf8(file)
            rows = parse_lots_csv(text, path=str(file), accounts=accounts, today=_today(app))
            with (
                app.database.transaction() as session,
                progress(f"importing {len(rows):,} lots") as advance,
            ):
                rows, notes = in_shares_as_bought(session, rows, path=str(file))
                count = import_lots(session, rows, path=str(file), at=app.clock(), progress=advance)
                again = relieve_imported(session, rows, accounts=accounts, policy=policy)
                TaxLedger(session).check_replays(
                    accounts, policy, f"importing {file}", "check the lots' dates and quantities"
                )
                AuditLog(session).append(TaxLots(imported=str(file), lots=count), at=app.clock())
        except DataError as exc:
            problems = exc.problems if isinstance(exc, LotImportError) else (str(exc),)
            _audit(app, TaxLots(imported=str(file), rejected=tuple(problems)))
            fail(str(exc), 2)
        console.print(f"imported {count} lot(s) from {file}")
        for note in notes:
            console.print(f"  {note}")
        if again:
            console.print(
                f"  the lots of {len(again)} recorded sale(s) with shares that had no lot were "
                "relieved again"
            )


def _read_utf8(file: Path) -> str:
    """Return the file's text; a byte that is not UTF-8 is named with its line."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DataError(f"{file}: cannot read it ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{file}: line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 (a spreadsheet's "
            "Latin-1 or Windows text?): save the file as UTF-8 (CSV UTF-8) and import it again"
        ) from None


def add_trade(
    account: Annotated[str, typer.Option("--account", "-a", help="An outside account.")],
    symbol: Annotated[str, typer.Option("--symbol", help="Ticker, e.g. VOO.")],
    side: Annotated[Side, typer.Option("--side", help="buy or sell.")],
    on: Annotated[str, typer.Option("--date", help="Trade date, YYYY-MM-DD.")],
    qty: Annotated[str, typer.Option("--qty", help="Shares.")],
    amount: Annotated[
        str, typer.Option("--amount", help="Total cost (buy) or net proceeds (sell), fees in.")
    ],
    note: Annotated[str, typer.Option("--note", help="What it is; tells twins apart.")] = "",
    config: ConfigOption = None,  # type: ignore[assignment]
) -> None:
    """Declare a trade in an outside account (spouse, another broker, an employer plan)."""
    from daemon.audit.events import DeclaredTrade, TaxLots
    from daemon.store.audit_log import AuditLog
    from daemon.store.tax_ledger import household_accounts, tax_policy
    from daemon.store.tax_sources import declare_trade

    symbol = symbol.strip().upper()  # " vti" is VTI; what is left is checked by declare_trade
    with load_app(config) as app:
        declared = DeclaredTrade(
            account=account,
            symbol=symbol,
            side=side,
            date=on,
            qty=qty,
            amount=amount,
            note=note,
        )
        try:
            day = _date(on, "--date")
            if day > _today(app):
                raise DataError(f"--date {on} is in the future")
            accounts = household_accounts(app.settings)
            with app.database.transaction() as session:
                result = declare_trade(
                    session,
                    accounts=accounts,
                    policy=tax_policy(app.settings),
                    account=account,
                    symbol=symbol,
                    side=side,
                    on=day,
                    qty=_decimal(qty, "--qty"),
                    amount=_decimal(amount, "--amount"),
                    note=note,
                    at=app.clock(),
                )
                AuditLog(session).append(
                    TaxLots(declared=declared, recorded_as=result.kind, id=result.id),
                    at=app.clock(),
                    account=account,
                )
        except DataError as exc:
            _audit(app, TaxLots(declared=declared, rejected=str(exc)), account)
            fail(str(exc), 2)  # a wrong value on the command line or against the ledger
        console.print(f"recorded {side} of {qty} {symbol} in {account} on {day}")


def split(
    symbol: Annotated[str, typer.Argument(help="Ticker, e.g. VTI.", show_default=False)],
    ratio: Annotated[
        str,
        typer.Argument(
            help="NEW:OLD shares: 2:1 (each share became two), 1:10 (ten became one).",
            show_default=False,
        ),
    ],
    on: Annotated[
        str, typer.Option("--date", help="The split's effective day (ex-date), YYYY-MM-DD.")
    ],
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            "-a",
            help="Only this account (default: every account with lots of the symbol bought "
            "before the day, held then or sold since).",
            show_default=False,
        ),
    ] = None,
    cash_in_lieu: Annotated[
        str | None,
        typer.Option(
            "--cash-in-lieu",
            help="A reverse split's cash for the fraction of a share left (net): recorded as "
            "its sale on the split's day (with --account).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
) -> None:
    """Record a stock split: lots held on its day change shares, not basis or dates."""
    from daemon.audit.events import DeclaredSplit, TaxLots
    from daemon.store.audit_log import AuditLog
    from daemon.store.tax_ledger import household_accounts, tax_policy
    from daemon.store.tax_splits import parse_ratio, record_split

    symbol = symbol.strip().upper()
    with load_app(config) as app:
        typed = DeclaredSplit(
            symbol=symbol, ratio=ratio, date=on, account=account, cash_in_lieu=cash_in_lieu
        )
        try:
            new, old = parse_ratio(ratio)
            day = _date(on, "--date")
            cash = None if cash_in_lieu is None else _decimal(cash_in_lieu, "--cash-in-lieu")
            with app.database.transaction() as session:
                done = record_split(
                    session,
                    accounts=household_accounts(app.settings),
                    policy=tax_policy(app.settings),
                    symbol=symbol,
                    new=new,
                    old=old,
                    effective=day,
                    today=_today(app),
                    account=account,
                    at=app.clock(),
                    cash_in_lieu=cash,
                )
                changed = [d for d in done if d.new]
                sold = next((d.cash_in_lieu for d in done if d.cash_in_lieu is not None), None)
                event = replace(
                    typed,
                    accounts=tuple(d.account for d in changed),
                    relieved_again=tuple(i for d in changed for i in d.relieved_again),
                    cash_in_lieu_sale=sold,
                )
                AuditLog(session).append(
                    TaxLots(
                        split=event,
                        recorded_as="split" if changed or sold else "already recorded",
                    ),
                    at=app.clock(),
                    account=account,
                )
        except DataError as exc:
            _audit(app, TaxLots(split=typed, rejected=str(exc)), account)
            fail(str(exc), 2)  # a wrong value on the command line or against the ledger
    if as_json:
        print_json(
            [
                {
                    "account": d.account,
                    "symbol": symbol,
                    "date": day,
                    "ratio": d.split.ratio,
                    "recorded": d.new,
                    "shares_before": d.before,
                    "shares_after": d.after,
                    "sales_relieved_again": list(d.relieved_again),
                    "cash_in_lieu_sale": d.cash_in_lieu,
                }
                for d in done
            ]
        )
        return
    for d in done:
        what = "recorded" if d.new else "already recorded (nothing changed)"
        console.print(
            f"{d.split.ratio} split of {symbol} on {day} in {d.account} {what}: "
            f"{d.before:f} shares held before, {d.after:f} after"
        )
        if d.relieved_again:
            console.print(
                f"  the lots of {len(d.relieved_again)} sale(s) on or after {day} were "
                "relieved again in new shares"
            )
        fraction = d.after - int(d.after)
        if d.cash_in_lieu is not None:
            console.print(f"  recorded the sale of {fraction:f} share(s) paid in cash")
        elif d.new and d.split.new < d.split.old and fraction:
            console.print(
                styled(
                    ("note:", "yellow"),
                    f" {fraction:f} of a share is left in the lots: if the broker paid cash "
                    f"in lieu of it, record that sale: trimtab tax split {symbol} {ratio} "
                    f"--date {day} --account {d.account} --cash-in-lieu AMOUNT",
                )
            )


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DataError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def _decimal(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DataError(f"{option} {text!r} is not a number") from None
    if not value.is_finite():
        raise DataError(f"{option} {text!r} is not a number")
    return value


def lots(
    account: AccountFilter = None,
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
) -> None:
    """List open tax lots with their wash-adjusted basis and holding period."""
    with load_app(config) as app:
        found = household(app)
    known_account(found, account)
    held = found.book.lots(account)
    if as_json:
        print_json(
            [
                {
                    "lot": lot.source_id,
                    "account": lot.account,
                    "symbol": lot.symbol,
                    "qty": lot.qty,
                    "cost": lot.cost,
                    "adjusted_basis": lot.adjusted_basis,
                    "wash_adjustment": lot.wash_adjustment,
                    "acquired": lot.acquired,
                    "holding_period_start": lot.holding_period_start,
                }
                for lot in held
            ]
        )
        return
    table = Table(title="Open lots", title_justify="left")
    for name in ("lot", "account", "symbol", "qty", "cost", "adjusted basis", "acquired"):
        table.add_column(
            name, justify="right" if name in ("qty", "cost", "adjusted basis") else "left"
        )
    table.add_column("held since")
    for lot in held:
        table.add_row(
            lot.source_id,
            lot.account,
            lot.symbol,
            f"{lot.qty:f}",
            f"{lot.cost:,.2f}",
            f"{lot.adjusted_basis:,.2f}",
            lot.acquired.isoformat(),
            lot.holding_period_start.isoformat(),
        )
    console.print(table if held else "no open lots")


def windows(
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
) -> None:
    """List every open wash-sale window and the day it ends."""
    with load_app(config) as app:
        today = _today(app)
        found = household(app).book.open_windows(today)
    shaped = [_window(w) for w in found]
    if as_json:
        print_json(shaped)
        return
    if not shaped:
        console.print(f"no open wash-sale windows on {today}")
        return
    table = Table(title=f"Open wash-sale windows on {today}", title_justify="left")
    for name in ("kind", "account", "symbol", "group", "date", "ends", "shares", "loss", "meaning"):
        table.add_column(name, justify="right" if name in ("shares", "loss") else "left")
    for row in shaped:
        table.add_row(
            row["kind"],
            row["account"],
            row["symbol"],
            ",".join(row["group"]),
            row["date"].isoformat(),
            row["ends"].isoformat(),
            f"{row['shares']:f}",
            f"{row['loss']:,.2f}" if row["loss"] is not None else "",
            row["meaning"],
        )
    console.print(table)


def _window(window: LossWindow | PurchaseWindow) -> dict[str, Any]:
    group = sorted(window.symbols)
    if isinstance(window, LossWindow):
        return {
            "kind": "loss sale",
            "account": window.account,
            "symbol": window.symbol,
            "group": group,
            "date": window.sale_date,
            "ends": window.ends,
            "shares": window.unwashed_qty,
            "loss": window.unwashed_loss,
            "meaning": "buying the group anywhere in the household would wash this loss",
        }
    return {
        "kind": "purchase",
        "account": window.account,
        "symbol": window.symbol,
        "group": group,
        "date": window.acquired,
        "ends": window.ends,
        "shares": window.available_qty,
        "loss": None,
        "meaning": "a taxable sale of the group at a loss would be washed"
        + (" for good (IRA)" if window.account_type != "taxable" else ""),
    }
