"""`trimtab tax import FILE.csv`: existing lots into the ledger, all of them or none.

The file (UTF-8, comma-separated, one header line):

    account,symbol,acquired,quantity,cost_basis,note
    brokerage,VTI,2021-03-15,100,19850.00,bought at Vanguard before trimtab
    spouse-ira,VXUS,2024-11-02,25.5,1402.55,

`account` is one of the household's accounts (configured, or under [tax.outside_accounts]);
`acquired` is the purchase date (YYYY-MM-DD); `quantity` the shares still held from that
purchase; `cost_basis` their total cost including fees; `note` is optional. Numbers take a
point for decimals and a comma only between thousands (`daemon.core.tax.numbers`). Every bad row is
reported with its line number, and one bad row imports nothing.
"""

from __future__ import annotations

__all__ = [
    "ImportRow",
    "LotImportError",
    "import_lots",
    "in_shares_as_bought",
    "parse_lots_csv",
    "relieve_imported",
]

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from daemon.core.errors import DataError
from daemon.core.progress import Progress, no_progress
from daemon.core.tax.numbers import COMMA_HINT, canonical, parse_number
from daemon.core.tax.types import Split, TaxPolicy
from daemon.store.tax_ledger import HouseholdAccount, TaxLedger
from daemon.store.tax_models import TaxLotRow, TaxSaleRow
from daemon.store.tax_sources import relieve_again

COLUMNS = ("account", "symbol", "acquired", "quantity", "cost_basis")
OPTIONAL = ("note",)
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")


class LotImportError(DataError):
    """The file has problems; `problems` lists each as "line N: what is wrong"."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        listed = "\n  ".join(self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s), nothing imported:\n  {listed}")


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    account: str
    symbol: str
    acquired: date
    qty: Decimal
    cost: Decimal
    note: str

    @property
    def key(self) -> tuple[str, str, date, Decimal, Decimal, str]:
        """Return what makes two lots the same, numbers by value (100 is 100.0)."""
        return (self.account, self.symbol, self.acquired, self.qty, self.cost, self.note)

    def source_id(self, occurrence: int) -> str:
        """Return a stable id: the same row imported again is recognised as a duplicate,
        however its numbers are written (19850, 19850.00)."""
        key = "|".join(
            [
                self.account,
                self.symbol,
                self.acquired.isoformat(),
                canonical(self.qty),
                canonical(self.cost),
                self.note,
                str(occurrence),
            ]
        )
        return "import-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def parse_lots_csv(
    text: str, *, path: str, accounts: Collection[str], today: date
) -> list[ImportRow]:
    """Return the file's rows, or raise `LotImportError` listing every bad row."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise LotImportError(path, ["line 1: the file is empty (expected a header line)"]) from None
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS + OPTIONAL]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"line 1: missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"line 1: unknown column(s) {', '.join(unknown)}")
        problems.append(f"line 1: the header must be {','.join(COLUMNS + OPTIONAL)}")
        raise LotImportError(path, problems)
    rows: list[ImportRow] = []
    problems = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.append(f"line {line}: {len(cells)} fields, the header has {len(header)}")
            continue
        values = dict(zip(header, (c.strip() for c in cells), strict=False))
        row, errors = _row(line, values, accounts, today)
        problems += errors
        if row is not None:
            rows.append(row)
    if problems:
        raise LotImportError(path, problems)
    if not rows:
        raise LotImportError(path, ["the file has a header but no lots"])
    return rows


def _row(
    line: int, values: dict[str, str], accounts: Collection[str], today: date
) -> tuple[ImportRow | None, list[str]]:
    errors: list[str] = []
    account = values.get("account", "")
    if account not in accounts:
        errors.append(
            f"line {line}: account {account!r} is not a household account "
            f"(known: {', '.join(sorted(accounts))})"
        )
    symbol = values.get("symbol", "")
    if not _SYMBOL.match(symbol):
        errors.append(f"line {line}: symbol {symbol!r} is not a ticker in upper case (e.g. VTI)")
    acquired: date | None = None
    text = values.get("acquired", "")
    try:
        acquired = date.fromisoformat(text)
    except ValueError:
        errors.append(f"line {line}: acquired {text!r} is not a date (YYYY-MM-DD)")
    if acquired is not None and acquired > today:
        errors.append(f"line {line}: acquired {acquired} is in the future")
    text = values.get("quantity", "")
    qty = parse_number(text)
    if qty is None or qty <= 0:
        errors.append(f"line {line}: quantity {text!r} is not a number above 0{_hint(text)}")
    text = values.get("cost_basis", "")
    cost = parse_number(text)
    if cost is None or cost < 0:
        errors.append(
            f"line {line}: cost_basis {text!r} is not a number at least 0 (the total cost, "
            f"fees included, without a currency sign){_hint(text)}"
        )
    if errors or acquired is None or qty is None or cost is None:
        return None, errors
    return ImportRow(line, account, symbol, acquired, qty, cost, values.get("note", "")), []


def _hint(text: str) -> str:
    return f": {COMMA_HINT}" if "," in text else ""


def in_shares_as_bought(
    session: Session, rows: Sequence[ImportRow], *, path: str
) -> tuple[list[ImportRow], list[str]]:
    """Return the rows with each quantity in shares as bought, and a note per row changed.

    The file gives the shares still held from a purchase, as a broker's cost-basis export
    shows them: after every split since. The ledger keeps a lot as bought and scales it by
    the splits recorded after its day, so a row acquired before a recorded split of its
    account and symbol is stored as its shares before it (20 held after a 2:1 split are 10
    bought), and the ledger holds the 20 the file says. Raise `LotImportError` for a quantity
    no share count before the split scales back to exactly.
    """
    ledger = TaxLedger(session)
    splits: dict[tuple[str, str], list[Split]] = {}
    converted: list[ImportRow] = []
    notes: list[str] = []
    problems: list[str] = []
    for row in rows:
        pair = (row.account, row.symbol)
        if pair not in splits:
            splits[pair] = ledger.splits(*pair)
        after = [split for split in splits[pair] if split.date > row.acquired]
        if not after:
            converted.append(row)
            continue
        bought = row.qty
        for split in reversed(after):
            bought = replace(split, new=split.old, old=split.new).scaled(bought)
        held = bought
        for split in after:
            held = split.scaled(held)
        named = ", ".join(f"{s.ratio} on {s.date}" for s in after)
        if held != row.qty:
            problems.append(
                f"line {row.line}: {row.qty:f} {row.symbol} held today are no exact number of "
                f"shares before the split(s) recorded in {row.account} ({named}): the ledger "
                "keeps a lot in shares as bought; give a quantity the split turns into whole "
                "decimals"
            )
            continue
        notes.append(
            f"line {row.line}: {row.qty:f} {row.symbol} held today are {bought:f} as bought "
            f"on {row.acquired}, before the split(s) recorded in {row.account} ({named})"
        )
        converted.append(replace(row, qty=bought))
    if problems:
        raise LotImportError(path, problems)
    return converted, notes


def relieve_imported(
    session: Session,
    rows: Sequence[ImportRow],
    *,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
) -> tuple[int, ...]:
    """Relieve again the recorded sales that had shares without a lot, of each account and
    symbol imported, sold on or after its earliest imported lot: the lots now imported are
    the ones those shares were. Return the sales' ledger ids.
    """
    earliest: dict[tuple[str, str], date] = {}
    for row in rows:
        pair = (row.account, row.symbol)
        earliest[pair] = min(row.acquired, earliest.get(pair, row.acquired))
    ledger = TaxLedger(session)
    again: list[int] = []
    for (account, symbol), since in sorted(earliest.items()):
        short = [
            sale.id
            for sale in ledger.sales(account)
            if sale.symbol == symbol and sale.sold >= since and sale.matched_qty < sale.qty
        ]
        if short:
            sales = session.scalars(select(TaxSaleRow).where(TaxSaleRow.id.in_(short))).all()
            again += relieve_again(session, accounts=accounts, policy=policy, sales=sales)
    return tuple(again)


def import_lots(
    session: Session,
    rows: Sequence[ImportRow],
    *,
    path: str,
    at: datetime,
    progress: Progress = no_progress,
) -> int:
    """Add every row as a lot in the caller's transaction; raise before adding any on a duplicate.

    The caller's transaction makes it all-or-nothing: nothing is committed when this raises.
    One query reads the source ids already in the accounts' ledgers and the rows go in by
    batches: asking and flushing row by row cost three round trips a lot (20,000 lots took
    minutes on a remote database; see docs/benchmarks.md). `progress` hears (rows added, rows).
    """
    accounts = {row.account for row in rows}
    known = _source_ids(session, accounts)
    # Lots imported before, by value: their source ids hashed the numbers as written (and
    # 19850 re-imported after 19850.00 was a second lot).
    imported = _imported(session, accounts)
    seen: Counter[tuple[object, ...]] = Counter()
    keyed: list[tuple[ImportRow, str]] = []
    problems: list[str] = []
    for row in rows:
        seen[row.key] += 1
        source_id = row.source_id(seen[row.key])
        if seen[row.key] <= imported[row.key] or (row.account, source_id) in known:
            problems.append(
                f"line {row.line}: this lot ({row.qty} {row.symbol} acquired {row.acquired} in "
                f"{row.account}) is already imported"
            )
        keyed.append((row, source_id))
    if problems:
        raise LotImportError(path, problems)
    progress(0, len(keyed))
    for start in range(0, len(keyed), _BATCH):
        batch = keyed[start : start + _BATCH]
        session.execute(
            insert(TaxLotRow),
            [
                {
                    "account": row.account,
                    "symbol": row.symbol,
                    "acquired": row.acquired,
                    "qty": row.qty,
                    "cost": row.cost,
                    "source": "import",
                    "source_id": source_id,
                    "order_ref": source_id,
                    "note": row.note,
                    "recorded_at": at,
                }
                for row, source_id in batch
            ],
        )
        progress(start + len(batch), len(keyed))
    return len(keyed)


_BATCH = 1000
"""Rows per flush: big enough that round trips do not count, small enough to show progress."""


def _imported(session: Session, accounts: Collection[str]) -> Counter[tuple[object, ...]]:
    """Count the lots already imported into the accounts, by `ImportRow.key`."""
    query = select(
        TaxLotRow.account,
        TaxLotRow.symbol,
        TaxLotRow.acquired,
        TaxLotRow.qty,
        TaxLotRow.cost,
        TaxLotRow.note,
    ).where(TaxLotRow.source == "import", TaxLotRow.account.in_(sorted(accounts)))
    return Counter(tuple(row) for row in session.execute(query))


def _source_ids(session: Session, accounts: Collection[str]) -> set[tuple[str, str]]:
    """Return (account, source id) of every lot and sale already in the accounts' ledgers
    (what `TaxLedger.has_source` answers one at a time)."""
    found: set[tuple[str, str]] = set()
    for table in (TaxLotRow, TaxSaleRow):
        query = select(table.account, table.source_id).where(table.account.in_(sorted(accounts)))
        found.update((account, source_id) for account, source_id in session.execute(query))
    return found
