"""What Alpaca takes beyond quantity x price, as the bounds its broker and plugin declare
(`adapters.base.Broker.trade_costs`, `DeclaresCosts`); kept apart from the broker so an
offline plan reads them without loading alpaca-py."""

from __future__ import annotations

__all__ = ["SALE_FEE_FRACTION", "SALE_FEE_PER_SHARE", "TRADE_COSTS"]

from decimal import Decimal

from daemon.core.costs import TradeCosts

SALE_FEE_FRACTION = Decimal("0.0001")
SALE_FEE_PER_SHARE = Decimal("0.0003")
"""Bounds on the regulatory fees Alpaca passes on to sales: the SEC fee ($27.80 per million
of sales in 2025; it is reset each year and has not been above $51.30) and FINRA's trading
activity fee ($0.000166 a share) with the audit-trail fee (CAT, under $0.0001 a share)."""
TRADE_COSTS = TradeCosts(sale_fee_fraction=SALE_FEE_FRACTION, sale_fee_per_share=SALE_FEE_PER_SHARE)
"""Alpaca charges no commission on US stocks and ETFs; the market sets a fill (the 4% hold
covers a buy's move up)."""
