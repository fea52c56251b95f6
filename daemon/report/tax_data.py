"""The report's tax section, read from the tax ledger replayed by the tax engine.

Realized gains by term, harvested and disallowed losses are those of the report's accounts'
taxable sales in the report's year, up to the report's day; open wash-sale windows are the
engine's windows still open on that day. Nothing is estimated: with an empty ledger the
section says so.
"""

from __future__ import annotations

__all__ = ["gather_tax"]

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from daemon.config.settings import Settings
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.harvest import harvested_loss
from daemon.core.tax.types import LossWindow, PurchaseWindow, Term
from daemon.report.model import TaxSection, TaxWindow
from daemon.store.tax_ledger import TaxLedger, household_accounts, sale_trade_id, tax_policy


def gather_tax(
    ledger: TaxLedger, settings: Settings, day: date, accounts: Sequence[str]
) -> TaxSection:
    """Return the year-to-date tax figures and open windows of `accounts` on `day`."""
    if not ledger.count():
        return TaxSection(
            False, "no tax lots recorded yet: nothing realized, nothing washed", day.year
        )
    book = replay_trades(ledger.trades(household_accounts(settings)), tax_policy(settings))
    wanted = set(accounts)
    short = long = disallowed = Decimal(0)
    for sale in book.sales:
        trade = sale.trade
        if trade.account not in wanted or not sale.taxable:
            continue
        if trade.date.year != day.year or trade.date > day:
            continue
        for piece in sale.pieces:
            if piece.term is Term.LONG:
                long += piece.gain
            else:
                short += piece.gain
            disallowed += piece.disallowed
    harvested = Decimal(0)
    for account in accounts:
        for ledger_sale in ledger.harvested(day.year, account):
            if ledger_sale.sold <= day:
                harvested += harvested_loss(book.sale(sale_trade_id(ledger_sale.id)))
    windows = [_window(w) for w in book.open_windows(day) if w.account in wanted]
    return TaxSection(
        True,
        "",
        day.year,
        short_term=short,
        long_term=long,
        harvested=harvested,
        disallowed=disallowed,
        windows=tuple(sorted(windows, key=lambda w: (w.ends, w.account, w.symbol))),
    )


def _window(window: LossWindow | PurchaseWindow) -> TaxWindow:
    if isinstance(window, LossWindow):
        return TaxWindow(
            window.account,
            window.symbol,
            "loss sale",
            window.sale_date,
            window.ends,
            window.unwashed_qty,
            window.unwashed_loss,
        )
    return TaxWindow(
        window.account,
        window.symbol,
        "purchase",
        window.acquired,
        window.ends,
        window.available_qty,
        None,
    )
