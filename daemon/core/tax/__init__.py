"""The pure tax-rule engine: lot relief, IRC §1091 wash sales, Form 8949 rows, trade replay.

No I/O and no clock: trades in, realized sales and open lots out. The ledger (persistence,
imports, the planner's guards) builds on this package.

The engine's entry point is `replay_trades(trades, policy) -> TaxBook` (`daemon.core.tax.engine`):
`TaxBook.sales` (`RealizedSale`s in sale order), `TaxBook.lots(account=None)` (open `Lot`s),
`TaxBook.adjustments` (`WashAdjustment`s), `TaxBook.preview_sale(account, symbol, qty, on,
proceeds, method=None, picks=())` (a `SalePreview`, nothing changed), `TaxBook.preview_sales(on,
requests)` (one day's sales together) and
`TaxBook.open_windows(as_of)` (`LossWindow`s and `PurchaseWindow`s).
"""

from __future__ import annotations

from daemon.core.tax.dates import WINDOW_DAYS, is_long_term, one_year_after, window
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.form8949 import Form8949Row, Form8949Totals, form8949_rows, form8949_totals
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.relief import Relievable, rank
from daemon.core.tax.types import (
    HoldingPeriodConvention,
    LossWindow,
    Lot,
    LotMethod,
    LotPick,
    PurchaseWindow,
    RealizedSale,
    RelievedPiece,
    SalePreview,
    SaleRequest,
    SameDayReplacements,
    TaxDataError,
    TaxPolicy,
    Term,
    Trade,
    View,
    WashAdjustment,
)

__all__ = [
    "WINDOW_DAYS",
    "Form8949Row",
    "Form8949Totals",
    "HoldingPeriodConvention",
    "LossWindow",
    "Lot",
    "LotMethod",
    "LotPick",
    "PurchaseWindow",
    "RealizedSale",
    "Relievable",
    "RelievedPiece",
    "SalePreview",
    "SaleRequest",
    "SameDayReplacements",
    "SubstantiallyIdentical",
    "TaxBook",
    "TaxDataError",
    "TaxPolicy",
    "Term",
    "Trade",
    "View",
    "WashAdjustment",
    "form8949_rows",
    "form8949_totals",
    "is_long_term",
    "one_year_after",
    "rank",
    "replay_trades",
    "window",
]
