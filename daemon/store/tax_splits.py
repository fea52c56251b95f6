"""Recording a stock split in the tax-lot ledger (`trimtab tax split`).

A split is a fact about the security, kept per account (`tax_splits`, one row for each
account whose lots it changes); the engine applies it when it replays the ledger
(`daemon.core.tax.types.Split`): each account's lots held on the day by its own row, and
wash matching across the split by the symbol's split whichever account recorded it. So it
is recorded for every account with lots of the symbol acquired before the day, holding
shares that day or not: after a harvest sold every share, the buy-back in new shares still
replaces the sold shares in proportion (Treas. Reg. §1.1091-1(c)).

Recording one is idempotent (the same split twice records once) and refuses what the ledger
cannot take: a symbol the account never held, a day before any lot of it, a day in the
future, another ratio for the same symbol and day (in any account), and another day fewer than
30 days from a split of the symbol already recorded (in any account): the same split recorded
on each broker's day would count twice in wash matching, so it is recorded on one day. A sale
of the symbol recorded on or after the split's day before the split was (a cycle that ran in
between) relieved its lots in old shares: its lots are relieved again, in new shares, by the
account's method (the lots it named, scaled, under `specific`).

A reverse split can leave a fraction of a share in the lots; the broker pays cash in lieu of
it, a sale of that fraction (IRS Pub. 550). Given `cash_in_lieu`, it is recorded as one, on
the split's day, so the lots hold the whole shares the broker does; without it the fraction
stays in the lots (and the ledger differs from a broker that sold it).
"""

from __future__ import annotations

__all__ = ["RecordedSplit", "parse_ratio", "record_split"]

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from math import gcd

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.core.errors import DataError
from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.types import Split, TaxPolicy
from daemon.store.tax_ledger import HouseholdAccount, TaxLedger
from daemon.store.tax_models import TaxSaleRow
from daemon.store.tax_sources import relieve, relieve_again

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RecordedSplit:
    """What recording a split did, per account."""

    account: str
    split: Split
    new: bool
    """False: the same split was recorded already (nothing changed)."""
    before: Decimal
    """Shares of the symbol the account's lots held the day before the split (0: sold out)."""
    after: Decimal
    """The same shares after it (a fraction from a reverse split is kept)."""
    relieved_again: tuple[int, ...] = ()
    """Ledger ids of later sales whose lots were relieved again in new shares."""
    cash_in_lieu: int | None = None
    """Ledger id of the sale of the fraction of a share paid in cash, when recorded."""


def parse_ratio(text: str) -> tuple[int, int]:
    """Return `NEW:OLD` (2:1 forward, 1:10 reverse) as two positive integers in lowest terms.

    Raise `DataError` for anything else, or a ratio that changes nothing (1:1).
    """
    new_text, colon, old_text = text.strip().partition(":")
    if not colon or not new_text.strip().isdigit() or not old_text.strip().isdigit():
        raise DataError(
            f"ratio {text!r} is not NEW:OLD, two positive whole numbers (2:1, 3:2, 1:10)"
        )
    new, old = int(new_text), int(old_text)
    if new <= 0 or old <= 0:
        raise DataError(f"ratio {text!r}: both numbers must be above 0")
    if new == old:
        raise DataError(f"ratio {text!r} changes no share")
    common = gcd(new, old)
    return new // common, old // common


def record_split(
    session: Session,
    *,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    symbol: str,
    new: int,
    old: int,
    effective: date,
    today: date,
    account: str | None,
    at: datetime,
    cash_in_lieu: Decimal | None = None,
) -> list[RecordedSplit]:
    """Record a `new`:`old` split of `symbol` from `effective` in `account`, or in every
    account with lots of the symbol acquired before that day (held then or sold since);
    return what it did per account.

    `cash_in_lieu` (net proceeds) records the sale of the fraction of a share a reverse split
    leaves, in one account only. Raise `DataError` naming the problem; nothing is recorded
    then (the caller's transaction is not committed).
    """
    if effective > today:
        raise DataError(f"the split's date {effective} is in the future (today is {today})")
    ledger = TaxLedger(session)
    lots = [lot for lot in ledger.lots() if lot.symbol == symbol]
    known = {lot.account for lot in lots}
    if account is not None and account not in known:
        raise DataError(
            f"the ledger has no lot of {symbol} in {account}: nothing to split ({_where(known)})"
        )
    if not known:
        raise DataError(f"the ledger has no lot of {symbol} in any account: nothing to split")
    earlier = {lot.account for lot in lots if lot.acquired < effective}
    names = [account] if account is not None else sorted(earlier)
    if not names or not earlier.issuperset(names):
        raise DataError(
            f"the ledger has no {symbol} acquired before {effective} in "
            f"{names[0] if names else 'any account'}: a split then changes none of its shares "
            "and no sale before it"
        )
    for other in ledger.splits(symbol=symbol):
        if other.date == effective and (other.new, other.old) != (new, old):
            raise DataError(
                f"a {other.ratio} split of {symbol} on {effective} is already recorded in "
                f"{other.account}, not {new}:{old}: a split is the security's, one ratio in "
                "every account"
            )
        if other.date != effective and abs((other.date - effective).days) < WINDOW_DAYS:
            # Wash matching counts each day's split of the symbol once (`LedgerState.scale`):
            # the same split on two days would count twice between a loss and its replacement.
            raise DataError(
                f"a {other.ratio} split of {symbol} on {other.date} is already recorded in "
                f"{other.account}: a split is the security's, recorded on one day in every "
                f"account; if this is that split, record it on {other.date}. Two splits of a "
                f"symbol fewer than {WINDOW_DAYS} days apart are refused: both could fall "
                "between a loss sale and its replacement"
            )
    held = _held_before(ledger, accounts, policy, symbol, effective)
    if cash_in_lieu is not None and (len(names) != 1 or new > old or cash_in_lieu < 0):
        raise DataError(
            "cash in lieu is the sale of a fraction of a share a reverse split leaves, in one "
            "account: give --account, a reverse ratio (1:10) and an amount of 0 or more"
        )
    recorded = []
    for name in names:
        split = ledger.add_split(
            account=name, symbol=symbol, effective=effective, new=new, old=old, at=at
        )
        fresh = split is not None
        if split is None:
            (split,) = [s for s in ledger.splits(name, symbol) if s.date == effective]
        before = held.get(name, _ZERO)
        # Sold out the day before: its sales from the day on relieved lots in new shares.
        again = _relieve_again(session, accounts, policy, split) if fresh and before else ()
        after = split.scaled(before)
        sale_id = None
        if cash_in_lieu is not None:
            sale_id = _cash_in_lieu(ledger, accounts, policy, split, after, cash_in_lieu, at)
        recorded.append(RecordedSplit(name, split, fresh, before, after, again, sale_id))
    ledger.check_replays(
        accounts,
        policy,
        f"this {new}:{old} split of {symbol} on {effective}",
        "check its date and ratio against the lots and sales of the symbol (trimtab tax lots)",
    )
    return recorded


def _cash_in_lieu(
    ledger: TaxLedger,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    split: Split,
    after: Decimal,
    proceeds: Decimal,
    at: datetime,
) -> int | None:
    """Record the sale of the fraction of a share `after` holds; None if recorded already."""
    fraction = after - int(after)
    if fraction <= 0:
        raise DataError(
            f"{split.account} holds {after:f} {split.symbol} after the split: no fraction of a "
            "share is left to be paid in cash"
        )
    source_id = f"cash-in-lieu-{split.id}"
    if ledger.has_source(split.account, source_id):
        return None
    picks, _, _ = relieve(
        ledger,
        accounts=accounts,
        policy=policy,
        account=split.account,
        symbol=split.symbol,
        qty=fraction,
        on=split.date,
        proceeds=proceeds,
    )
    sale = ledger.add_sale(
        account=split.account,
        symbol=split.symbol,
        sold=split.date,
        qty=fraction,
        proceeds=proceeds,
        source="split",
        source_id=source_id,
        reliefs=picks,
        at=at,
        note=f"cash in lieu of a fraction of a share ({split.ratio} split)",
    )
    return None if sale is None else sale.id


def _where(known: set[str]) -> str:
    return f"held in {', '.join(sorted(known))}" if known else "held in no account"


def _held_before(
    ledger: TaxLedger,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    symbol: str,
    effective: date,
) -> dict[str, Decimal]:
    """Return the shares of `symbol` each account's lots held at the end of the day before."""
    history = [t for t in ledger.trades(accounts) if t.date < effective]
    book = replay_trades(history, policy)
    held: dict[str, Decimal] = {}
    for lot in book.lots(symbol=symbol):
        held[lot.account] = held.get(lot.account, _ZERO) + lot.qty
    return held


def _relieve_again(
    session: Session,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    split: Split,
) -> tuple[int, ...]:
    """Relieve again, in new shares, the lots of the account's sales of the symbol recorded
    on or after the split's day: they were relieved in old shares."""
    later = session.scalars(
        select(TaxSaleRow).where(
            TaxSaleRow.account == split.account,
            TaxSaleRow.symbol == split.symbol,
            TaxSaleRow.sold >= split.date,
        )
    ).all()
    return relieve_again(session, accounts=accounts, policy=policy, sales=later, scale=split.scaled)
