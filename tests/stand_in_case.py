"""The harvest the stand-in tests share: a taxable account's BBB harvested whole into its
alternate BBX on 2022-07-12 (the backtest audit's case), its tax settings and bands, and how
its trades are written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from daemon.core.domain import AccountType, Side
from daemon.core.planner import Band
from daemon.core.tax import Trade

HARVESTED = date(2022, 7, 12)
BANDS = Band(absolute_pp=Decimal(5), relative=Decimal("0.25"))
TAX: dict[str, Any] = {
    "alternates": {"BBB": "BBX"},
    "wash_sale": {"buys": "redirect", "loss_sales": "defer"},
    "harvest": {
        "enabled": True,
        "min_loss_pct": "0.05",
        "min_loss_amount": "100",
        "return_to_primary": True,
    },
}


def trade(n: int, day: date, symbol: str, side: Side, qty: Decimal, price: Decimal) -> Trade:
    """Trade `n` of account "a" (taxable): `qty` of `symbol` at `price` a share."""
    return Trade(
        id=f"t{n}",
        date=day,
        account="a",
        account_type=AccountType.TAXABLE,
        symbol=symbol,
        side=side,
        qty=qty,
        amount=qty * price,
        owner="",
    )
