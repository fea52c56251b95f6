"""An account's holdings as income sale candidates: lots, their gains, terms and wash sales.

Pure: reads the tax engine's replay (`BookView`: lots, what-if previews) and changes nothing.

A holding's overweight part (its value above its target's share of the account) is sold
first; each lot is split into its share of the overweight part and of the rest, so both
passes see every lot. In a taxable account each lot is its own candidate, with the gain at
today's price and its term; a loss lot is marked washed when the tax engine's what-if preview
of selling exactly that lot today disallows any of its loss (a purchase of its group within
the 30 days before, anywhere in the household). Shares the ledger has no lot for are one
candidate whose whole value counts as a short-term gain (the cautious guess); so are all the
shares of a symbol whose lots in the ledger differ from the broker's position (`mismatched`,
`daemon.core.tax.mismatch`: after a split not yet recorded, its lots' basis against today's
price is a gain or loss that does not exist, so it is neither ranked nor counted by lot, as
the tax step does not trust it either). In an IRA the lots do not matter: one candidate per
holding, nothing realized.
"""

from __future__ import annotations

__all__ = ["sale_candidates"]

from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal

from daemon.core.domain import CASH, AccountType
from daemon.core.income.raising import SaleCandidate
from daemon.core.tax.dates import is_long_term
from daemon.core.tax.plan_types import BookView
from daemon.core.tax.types import LotMethod, LotPick, SaleRequest, TaxDataError, Term

_ZERO = Decimal(0)
_UNKNOWN = "unknown-basis"
"""The candidate of shares without a trusted lot: their whole value counts as a gain."""


def sale_candidates(
    *,
    account: str,
    account_type: AccountType,
    holdings: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    targets: Mapping[str, Decimal],
    value: Decimal,
    book: BookView,
    today: date,
    keep: Collection[str] = (),
    mismatched: Collection[str] = (),
) -> list[SaleCandidate]:
    """Return the account's candidates; `value` is its whole value (cash included), `targets`
    the strategy's weights, `keep` holdings trimtab never sells, `mismatched` symbols whose
    lots differ from the broker's position (one unknown-basis candidate each)."""
    found: list[SaleCandidate] = []
    for symbol, qty in sorted(holdings.items()):
        price = prices.get(symbol, _ZERO)
        if symbol == CASH or symbol in keep or qty <= 0 or price <= 0:
            continue
        held = qty * price
        over = min(max(held - targets.get(symbol, _ZERO) * value, _ZERO), held)
        share = over / held
        if account_type is not AccountType.TAXABLE:
            pieces = [(symbol, held, _ZERO, Term.LONG, False)]
        elif symbol in mismatched:
            pieces = [(_UNKNOWN, held, held, Term.SHORT, False)]
        else:
            pieces = _lots(account, symbol, qty, price, book, today)
        for lot, lot_value, gain, term, washed in pieces:
            for part, fraction in ((True, share), (False, 1 - share)):
                if fraction > 0:
                    found.append(
                        SaleCandidate(
                            account=account,
                            account_type=account_type,
                            symbol=symbol,
                            lot=lot,
                            value=lot_value * fraction,
                            gain=gain * fraction,
                            term=term,
                            washed=washed,
                            overweight=part,
                        )
                    )
    return found


def _lots(
    account: str, symbol: str, qty: Decimal, price: Decimal, book: BookView, today: date
) -> list[tuple[str, Decimal, Decimal, Term, bool]]:
    pieces = []
    covered = _ZERO
    for n, lot in enumerate(book.lots(account, symbol)):
        take = min(lot.qty, qty - covered)
        if take <= 0:
            break
        covered += take
        basis = lot.adjusted_basis * take / lot.qty
        gain = take * price - basis
        term = Term.LONG if is_long_term(lot.holding_period_start, today) else Term.SHORT
        washed = gain < 0 and _washed(book, account, symbol, lot.source_id, take, price, today)
        pieces.append((f"{lot.source_id}#{n}", take * price, gain, term, washed))
    if covered < qty:
        rest = (qty - covered) * price
        pieces.append((_UNKNOWN, rest, rest, Term.SHORT, False))
    return pieces


def _washed(
    book: BookView, account: str, symbol: str, source: str, qty: Decimal, price: Decimal, on: date
) -> bool:
    """Ask the tax engine's what-if whether selling exactly these shares today is washed."""
    request = SaleRequest(
        account, symbol, qty, qty * price, LotMethod.SPECIFIC, (LotPick(source, qty),)
    )
    try:
        return book.what_if(on, [request]).disallowed()[0] > 0
    except TaxDataError:
        return True  # the ledger cannot preview it: never risk a wash sale
