"""What IB takes beyond quantity x price, as the bounds its broker and plugin declare
(`adapters.base.Broker.trade_costs`, `DeclaresCosts`); kept apart from the broker so an
offline plan reads them without ib_async."""

from __future__ import annotations

__all__ = ["TRADE_COSTS"]

from decimal import Decimal

from daemon.core.costs import TradeCosts

TRADE_COSTS = TradeCosts(
    per_share=Decimal("0.01"),
    minimum=Decimal("1.00"),
    sale_fee_fraction=Decimal("0.0001"),
    sale_fee_per_share=Decimal("0.0002"),
)
"""Bounds on what IB charges a US stock trade. IB's published rates (interactivebrokers.com,
"Commissions Stocks"): IBKR Pro Fixed $0.005 a share, $1.00 minimum, plus the CAT fee
($0.000072 a share); Tiered $0.0035 a share or less, $0.35 minimum, plus exchange, clearing
($0.0002) and pass-through fees; IBKR Lite nothing; on sales also the SEC fee ($27.80 per
million in 2025, never above $51.30) and FINRA's $0.000166 a share. A cent a share, a dollar
an order, $100 per million and $0.0002 a share are above every one, and cost a $50 ETF's
trade about 0.03% of its value in cash kept back or raised for the cycle."""
