"""`trimtab tax replay`: a CSV trade list through the engine, and the result as plain data.

The CSV has a header row; the columns, in any order:

| column | content |
|---|---|
| `id` | unique id of the trade |
| `date` | trade date, `YYYY-MM-DD` |
| `account` | account name (one type per account) |
| `account_type` | `taxable`, `traditional_ira` or `roth_ira` |
| `symbol` | ticker |
| `side` | `buy` or `sell` |
| `qty` | shares, positive |
| `price` or `amount` | per share, or the total with fees (cost of a buy, net proceeds of a sell) |
| `lot` (optional) | on a sell: the id of the buy it relieves (specific identification) |
| `owner` (optional) | whose account (a spouse's purchases count like one's own) |

Rows replay in date order; rows of one date in file order. Nothing here reads a database or
a configuration file.
"""

from __future__ import annotations

__all__ = [
    "COLUMNS",
    "ReplayError",
    "book_to_json",
    "engine_error",
    "money_text",
    "parse_trades",
    "read_trades",
]

import csv
import io
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.core.domain import AccountType, Side
from daemon.core.errors import DataError
from daemon.core.money import CENT
from daemon.core.tax.engine import TaxBook
from daemon.core.tax.numbers import COMMA_HINT, parse_number
from daemon.core.tax.types import LotPick, RelievedPiece, TaxDataError, Trade

REQUIRED = ("id", "date", "account", "account_type", "symbol", "side", "qty")
OPTIONAL = ("price", "amount", "lot", "owner")
COLUMNS = REQUIRED + OPTIONAL


class ReplayError(DataError):
    """A trade list that cannot be replayed; names the row (1 = first data row) and column.

    `row` is None for the file or its header; `column` is empty for the file or a whole row.
    """

    def __init__(self, row: int | None, column: str, problem: str) -> None:
        where = f"row {row} (line {row + 1}), " if row is not None else ""
        what = f"column {column}: " if column else ""
        super().__init__(f"{where}{what}{problem}")
        self.row = row
        self.column = column
        self.problem = problem


class _Row:
    """One data row with its values stripped; an absent or empty cell reads as ""."""

    __slots__ = ("number", "values")

    def __init__(self, number: int, raw: Mapping[str, str | None]) -> None:
        self.number = number
        self.values = {name: (value or "").strip() for name, value in raw.items()}

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    def fail(self, column: str, problem: str) -> ReplayError:
        return ReplayError(self.number, column, problem)


def read_trades(path: Path) -> tuple[list[Trade], dict[str, int]]:
    """Read a trade CSV file; return the trades and each trade id's row number."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReplayError(None, "", f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ReplayError(None, "", "the file is not UTF-8 text") from None
    return parse_trades(text)


def parse_trades(text: str) -> tuple[list[Trade], dict[str, int]]:
    """Parse trade CSV text; return the trades and each trade id's row number.

    Raise `ReplayError` naming the first bad row and column.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(name or "").strip().lower() for name in reader.fieldnames or ()]
    _check_header(header)
    reader.fieldnames = header
    trades: list[Trade] = []
    rows: dict[str, int] = {}
    buys: dict[str, Trade] = {}
    for number, values in enumerate(reader, start=1):
        if None in values:
            raise ReplayError(number, "", "has more fields than the header")
        row = _Row(number, values)
        if not any(row.values.values()):
            continue
        trade = _trade(row)
        if trade.id in rows:
            raise row.fail("id", f"{trade.id} is also the id of row {rows[trade.id]}")
        rows[trade.id] = number
        trades.append(trade)
        if trade.side is Side.BUY:
            buys[trade.id] = trade
    for trade in trades:
        for pick in trade.lots:
            _check_pick(trade, pick, buys, rows)
    return trades, rows


def _check_header(header: list[str]) -> None:
    if not header:
        raise ReplayError(None, "", "the file is empty (a header row is needed)")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise ReplayError(None, unknown[0], f"unknown column (known: {', '.join(COLUMNS)})")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ReplayError(None, missing[0], "missing from the header")
    if "price" not in header and "amount" not in header:
        raise ReplayError(None, "price", "the header needs a price or an amount column")
    if len(set(header)) != len(header):
        twice = next(name for name in header if header.count(name) > 1)
        raise ReplayError(None, twice, "appears twice in the header")


def _trade(row: _Row) -> Trade:
    values = row.values
    for column in REQUIRED:
        if not values.get(column):
            raise row.fail(column, "is empty")
    try:
        on = date.fromisoformat(values["date"])
    except ValueError:
        raise row.fail("date", f"{values['date']!r} is not a date (YYYY-MM-DD)") from None
    try:
        account_type = AccountType(values["account_type"].lower())
    except ValueError:
        known = ", ".join(t.value for t in AccountType)
        raise row.fail(
            "account_type", f"{values['account_type']!r} is not one of {known}"
        ) from None
    try:
        side = Side(values["side"].lower())
    except ValueError:
        raise row.fail("side", f"{values['side']!r} is not buy or sell") from None
    qty = _number(row, "qty")
    if qty <= 0:
        raise row.fail("qty", f"must be positive, not {qty}")
    amount = _amount(row, qty)
    lot = values.get("lot", "")
    if lot and side is Side.BUY:
        raise row.fail("lot", "only a sell names the buy it relieves")
    return Trade(
        id=values["id"],
        date=on,
        account=values["account"],
        account_type=account_type,
        symbol=values["symbol"].upper(),
        side=side,
        qty=qty,
        amount=amount,
        lots=(LotPick(lot),) if lot else (),
        owner=values.get("owner", ""),
    )


def _amount(row: _Row, qty: Decimal) -> Decimal:
    price, amount = row.get("price"), row.get("amount")
    if price and amount:
        raise row.fail("amount", "give a price or an amount, not both")
    if not price and not amount:
        raise row.fail("price", "give a price or an amount")
    column = "price" if price else "amount"
    value = _number(row, column)
    if value < 0:
        raise row.fail(column, f"must not be negative, not {value}")
    return value * qty if column == "price" else value


def _number(row: _Row, column: str) -> Decimal:
    text = row.get(column)
    value = parse_number(text)
    if value is None:
        hint = f": {COMMA_HINT}" if "," in text else ""
        raise row.fail(column, f"{text!r} is not a number{hint}")
    return value


def _check_pick(
    trade: Trade, pick: LotPick, buys: Mapping[str, Trade], rows: Mapping[str, int]
) -> None:
    row = rows[trade.id]
    buy = buys.get(pick.source_id)
    if buy is None:
        raise ReplayError(row, "lot", f"{pick.source_id} is not the id of a buy in the file")
    if (buy.account, buy.symbol) != (trade.account, trade.symbol):
        raise ReplayError(
            row,
            "lot",
            f"{pick.source_id} bought {buy.symbol} in {buy.account}, "
            f"not {trade.symbol} in {trade.account}",
        )
    if buy.date > trade.date:
        raise ReplayError(row, "lot", f"{pick.source_id} was bought after this sale")


def engine_error(exc: TaxDataError, rows: Mapping[str, int]) -> ReplayError:
    """Return the engine's complaint about a trade as one about its CSV row."""
    return ReplayError(
        rows.get(exc.trade_id), exc.field_name, f"trade {exc.trade_id} {exc.problem}"
    )


def _text(value: Decimal) -> str:
    return format(value, "f")


def money_text(value: Decimal) -> str:
    """Return an amount as written in the replay's JSON and the Form 8949 CSV: '1848.30'.

    Cents at least, more digits when the input had them (a price of 0.0125 stays exact), so
    that the columns written still add up.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(CENT)
    return format(value, "f")


def _piece(piece: RelievedPiece) -> dict[str, Any]:
    """Return one relieved piece as the JSON's `lots` entry: a Form 8949 row's facts."""
    return {
        "source_id": piece.source_id,
        "qty": _text(piece.qty),
        "acquired": piece.acquired.isoformat(),
        "holding_period_start": piece.holding_period_start.isoformat(),
        "term": piece.term.value,
        "proceeds": money_text(piece.proceeds),
        "basis": money_text(piece.basis),
        "disallowed": money_text(piece.disallowed),
        "gain": money_text(piece.gain),
    }


def book_to_json(book: TaxBook) -> dict[str, Any]:
    """Return the book as the replay's JSON: sales in order sold, then the open lots."""
    return {
        "sales": [
            {
                "id": sale.id,
                "account": sale.trade.account,
                "symbol": sale.trade.symbol,
                "date": sale.trade.date.isoformat(),
                "qty": _text(sale.qty),
                "proceeds": money_text(sale.proceeds),
                "basis": money_text(sale.basis),
                "gain": money_text(sale.gain),
                "disallowed": money_text(sale.disallowed),
                "term": sale.term.value,
                "lots": [_piece(piece) for piece in sale.pieces],
            }
            for sale in book.sales
        ],
        "lots": [
            {
                "source_id": lot.source_id,
                "account": lot.account,
                "symbol": lot.symbol,
                "qty": _text(lot.qty),
                "cost": money_text(lot.cost),
                "adjusted_basis": money_text(lot.adjusted_basis),
                "acquired": lot.acquired.isoformat(),
                "holding_period_start": lot.holding_period_start.isoformat(),
            }
            for lot in book.lots()
        ],
    }
