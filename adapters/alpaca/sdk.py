"""The alpaca-py names trimtab uses, imported once with its import-time warning silenced.

`alpaca.trading` imports its websocket stream module, which imports `websockets.legacy` and
so warns (DeprecationWarning) at import. trimtab never uses the stream (it polls orders by
client order id), so that one warning is filtered here, by message, and nowhere else.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "Adjustment",
    "DataFeed",
    "GetCalendarRequest",
    "GetOrdersRequest",
    "LimitOrderRequest",
    "MarketOrderRequest",
    "OrderSide",
    "QueryOrderStatus",
    "Sort",
    "StockBarsRequest",
    "StockHistoricalDataClient",
    "StockSnapshotRequest",
    "TimeFrame",
    "TimeInForce",
    "TradingClient",
]

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"websockets\.legacy is deprecated", category=DeprecationWarning
    )
    from alpaca.common.enums import Sort
    from alpaca.common.exceptions import APIError
    from alpaca.data.enums import Adjustment, DataFeed
    from alpaca.data.historical.stock import StockHistoricalDataClient
    from alpaca.data.requests import StockBarsRequest, StockSnapshotRequest
    from alpaca.data.timeframe import TimeFrame
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
    from alpaca.trading.requests import (
        GetCalendarRequest,
        GetOrdersRequest,
        LimitOrderRequest,
        MarketOrderRequest,
    )
