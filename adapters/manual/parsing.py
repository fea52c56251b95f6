"""Pure parsing of a broker's positions export into cash, holdings and prices.

No file access and no clock: `parse_export` gets the text, the file's name for messages, and
the layout; the broker adds the file's modification time when the export states none. Every
refusal is an `ExportError` naming the file, the row and the value, and the fix.
"""

from __future__ import annotations

__all__ = [
    "TICKER",
    "Export",
    "ExportError",
    "Holding",
    "parse_export",
    "parse_money",
    "parse_quantity",
]

import csv
import io
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from adapters.manual.presets import Layout
from daemon.core.errors import DataError

TICKER = re.compile(r"^[A-Z][A-Z0-9.\-/]{0,9}$")
"""A ticker as brokers print one: BRK.B, BF/B and RDS-A included; CUSIPs and options not."""
_EASTERN = ZoneInfo("America/New_York")
_BLANK = {"", "--", "n/a", "N/A"}
_DOCS = "docs/manual.md"


class ExportError(DataError):
    """A positions export trimtab cannot read; the message names the file, row and fix."""


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str
    qty: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Export:
    """What one export says about one account."""

    cash: Decimal
    holdings: tuple[Holding, ...]
    as_of: datetime | None
    """The time the export states (UTC), None when it states none."""
    rows: int
    """Rows of this account read (holdings and cash rows)."""


def parse_money(text: str) -> Decimal | None:
    """Return `$1,234.56`, `-$12.00`, `(12.00)` or `+3` as a Decimal; None for a blank cell.

    Raise ValueError for anything else.
    """
    cell = text.strip()
    if cell in _BLANK:
        return None
    negative = cell.startswith("(") and cell.endswith(")")
    if negative:
        cell = cell[1:-1]
    cell = cell.replace("$", "").replace(",", "").strip()
    if cell.startswith("+"):
        cell = cell[1:]
    try:
        value = Decimal(cell)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return -value if negative else value


def parse_quantity(text: str) -> Decimal | None:
    """Return a quantity (`1,234.5`); None for a blank cell; ValueError for anything else."""
    cell = text.strip()
    if cell in _BLANK:
        return None
    try:
        value = Decimal(cell.replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return value


def parse_export(
    text: str,
    *,
    name: str,
    layout: Layout,
    account_number: str | None = None,
    cash_symbols: Collection[str] = (),
    ignore: Collection[str] = (),
) -> Export:
    """Return the cash, holdings and stated time of one account in an export's text.

    `account_number` keeps the rows of one account when the file lists several. Rows whose
    symbol is in `ignore` are left out (a fund without a ticker the user chose to leave out).
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header_at, columns = _header(rows, name, layout)
    account_col = columns.get("account")
    _check_accounts(rows, header_at, account_col, account_number, name, layout)
    # Settings name symbols as the export prints them (`FDRXX**`) or not: compared bare.
    money_markets = {_bare(s) for s in (*layout.cash_symbols, *cash_symbols)}
    skipped = {_bare(s) for s in ignore}
    cash = Decimal(0)
    holdings: dict[str, Holding] = {}
    read = 0
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(cell.strip() for cell in row) or len(row) < 2:
            break  # the table ends: a footer or a second table (Vanguard's transactions) follows
        cell = _Row(row, number, name, rows[header_at])
        mine = account_col is None or account_number is None
        if not mine and cell.get(account_col or 0).strip() != account_number:
            continue
        raw = cell.get(columns["symbol"]).strip()
        symbol = _bare(raw)
        description = cell.get(columns["description"]) if "description" in columns else ""
        if symbol in {t.upper() for t in layout.total_rows}:
            continue
        if symbol in skipped:
            continue
        if _is_cash(raw, symbol, description, layout, money_markets):
            cash += _cash_amount(cell, columns, raw)
            read += 1
            continue
        if not symbol and not cell.get(columns["quantity"]).strip():
            continue  # a subtotal or spacer line without a symbol or quantity
        if not TICKER.match(symbol):
            raise ExportError(
                f"{name}, row {number}, column {cell.header(columns['symbol'])!r}: "
                f"{raw!r} is not a ticker symbol (fix: add it to broker_settings.ignore to "
                "leave it out of the account, or remove the row; trimtab trades by ticker, "
                f"see {_DOCS})"
            )
        qty = cell.number_in(columns["quantity"], parse_quantity)
        price = cell.number_in(columns["price"], parse_money)
        if qty is None:
            raise cell.bad(columns["quantity"], "has no quantity")
        if price is None or price <= 0:
            raise cell.bad(columns["price"], "is not a positive price")
        before = holdings.get(symbol)
        # A symbol can take two rows (Fidelity: cash and margin); the shares add up.
        total = qty + (before.qty if before is not None else Decimal(0))
        holdings[symbol] = Holding(symbol, total, price)
        read += 1
    return Export(cash, tuple(holdings.values()), _stated_time(rows, layout), read)


def _bare(symbol: str) -> str:
    """A symbol without the `**` Fidelity marks a money-market fund with, upper case."""
    return symbol.strip().rstrip("*").strip().upper()


def _check_accounts(
    rows: Sequence[Sequence[str]],
    header_at: int,
    account_col: int | None,
    account_number: str | None,
    name: str,
    layout: Layout,
) -> None:
    """Refuse an account_number without an account column, and several accounts without one."""
    if account_number is not None and account_col is None:
        raise ExportError(
            f"{name}: account_number is set but the export has no account column "
            f"(expected {_names(layout.account) or 'one named in columns.account'}) (fix: remove "
            "broker_settings.account_number, or name the column in [columns] account)"
        )
    if account_number is None and account_col is not None:
        found = _accounts(rows, header_at, account_col)
        if len(found) > 1:
            raise ExportError(
                f"{name}: the export lists {len(found)} accounts ({', '.join(found)}) and "
                "broker_settings.account_number is not set, so they cannot be told apart (fix: "
                f'set broker_settings.account_number to the number of this account, e.g. "'
                f'{found[0]}"; see {_DOCS})'
            )


def _accounts(rows: Sequence[Sequence[str]], header_at: int, column: int) -> list[str]:
    """The account numbers the table's rows name, in the order first seen."""
    found: dict[str, None] = {}
    for row in rows[header_at + 1 :]:
        if not any(cell.strip() for cell in row) or len(row) < 2:
            break  # the table ends, as `parse_export` reads it
        number = row[column].strip() if column < len(row) else ""
        if number:
            found.setdefault(number, None)
    return list(found)


class _Row:
    """One data row, with its number, the file and the header, for messages."""

    def __init__(self, cells: Sequence[str], number: int, name: str, headers: Sequence[str]):
        self.cells = cells
        self.number = number
        self.name = name
        self.headers = headers

    def get(self, index: int) -> str:
        return self.cells[index] if index < len(self.cells) else ""

    def header(self, index: int) -> str:
        return self.headers[index] if index < len(self.headers) else f"#{index + 1}"

    def number_in(self, index: int, parse: Callable[[str], Decimal | None]) -> Decimal | None:
        try:
            return parse(self.get(index))
        except ValueError:
            raise self.bad(index, "is not a number") from None

    def bad(self, index: int, what: str) -> ExportError:
        return ExportError(
            f"{self.name}, row {self.number}, column {self.header(index)!r}: value "
            f"{self.get(index)!r} {what} (fix: download the export again, or correct or remove "
            f"the row; see {_DOCS})"
        )


_FIELDS = ("symbol", "quantity", "price", "value", "account", "description")
_REQUIRED = ("symbol", "quantity", "price")


def _names(names: Sequence[str]) -> str:
    return " or ".join(repr(n) for n in names)


def _header(rows: Sequence[Sequence[str]], name: str, layout: Layout) -> tuple[int, dict[str, int]]:
    """Return the header's row index and each field's column, or raise naming what was found."""
    for at, row in enumerate(rows):
        cells = [c.strip() for c in row]
        found = {f: _find(cells, getattr(layout, f)) for f in _FIELDS}
        if found["symbol"] is None or found["quantity"] is None:
            continue
        if found["price"] is None:
            raise ExportError(
                f"{name}, row {at + 1}: no price column (expected {_names(layout.price)}); the "
                f"columns found are {', '.join(repr(c) for c in cells if c)} (fix: name the "
                f"price column in broker_settings [columns] price; see {_DOCS})"
            )
        return at, {f: i for f, i in found.items() if i is not None}
    widest = max(rows, key=lambda r: sum(1 for c in r if c.strip()), default=[])
    seen = ", ".join(repr(c.strip()) for c in widest if c.strip()) or "none"
    wanted = "; ".join(f"{f}: {_names(getattr(layout, f)) or '(none)'}" for f in _REQUIRED)
    raise ExportError(
        f"{name}: unknown columns for the {layout.name!r} preset; the columns found are {seen}; "
        f"expected {wanted} (fix: set broker_settings.preset to the broker the file comes from "
        f'(fidelity, schwab, vanguard), or preset = "custom" with a [columns] table naming '
        f"symbol, quantity and price; see {_DOCS})"
    )


def _find(cells: Sequence[str], names: Sequence[str]) -> int | None:
    lowered = [c.lower() for c in cells]
    for wanted in names:
        if wanted.lower() in lowered:
            return lowered.index(wanted.lower())
    return None


def _is_cash(
    raw: str, symbol: str, description: str, layout: Layout, money_markets: Collection[str]
) -> bool:
    labels = {r.lower() for r in layout.cash_rows}
    if raw.strip().lower() in labels or description.strip().lower() in labels:
        return True
    if symbol in money_markets:
        return True
    upper = description.upper()
    return any(words in upper for words in layout.cash_descriptions)


def _cash_amount(row: _Row, columns: dict[str, int], raw: str) -> Decimal:
    """A cash row's amount: its value, else its quantity (a money-market share is $1)."""
    if "value" in columns:
        value = row.number_in(columns["value"], parse_money)
        if value is not None:
            return value
    qty = row.number_in(columns["quantity"], parse_quantity)
    if qty is not None:
        return qty
    raise row.bad(columns.get("value", columns["quantity"]), f"gives no amount for {raw!r}")


_SCHWAB_TIME = re.compile(
    r"as of\s+(\d{1,2}:\d{2})\s*([AaPp])\.?[Mm]\.?\s+ET,?\s+(\d{4}/\d{2}/\d{2})"
)
_FIDELITY_TIME = re.compile(
    r"Date downloaded\s+([A-Za-z]{3}-\d{1,2}-\d{4})(?:\s+(\d{1,2}:\d{2})\s*([AaPp])\.?[Mm]\.?)?"
)


def _stated_time(rows: Sequence[Sequence[str]], layout: Layout) -> datetime | None:
    """The export's own time, where its broker writes one (US Eastern), as UTC."""
    text = "\n".join(",".join(row) for row in rows)
    if layout.name == "schwab" and (m := _SCHWAB_TIME.search(text)):
        clock, half, day = m.groups()
        local = _eastern(f"{day} {clock} {half.upper()}M", "%Y/%m/%d %I:%M %p")
        return local.astimezone(UTC)
    if layout.name == "fidelity" and (m := _FIDELITY_TIME.search(text)):
        day, clock, half = m.groups()
        if clock is None:
            local = _eastern(day, "%b-%d-%Y")
        else:
            local = _eastern(f"{day} {clock} {half.upper()}M", "%b-%d-%Y %I:%M %p")
        return local.astimezone(UTC)
    return None


def _eastern(text: str, layout: str) -> datetime:
    """A wall-clock time the broker printed, in US Eastern time (ET) as it says."""
    return datetime.strptime(f"{text} -0000", f"{layout} %z").replace(tzinfo=_EASTERN)
