"""The backtest's JSON object: `nav`, `trades`, `rebalances`, `metrics` (docs/backtest.md)."""

from __future__ import annotations

__all__ = ["decimal_text", "result_json"]

from decimal import Decimal
from typing import Any

from daemon.backtest.engine import BacktestResult


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text, never in exponent form (`0E-9` reads as `0.000000000`)."""
    return format(value, "f")


def result_json(result: BacktestResult, metrics: dict[str, Any]) -> dict[str, Any]:
    """Return the one JSON object of a run: the same result gives the same object."""
    return {
        "nav": [
            {"date": day.isoformat(), "value": decimal_text(value)}
            for day, value in zip(result.days, result.nav, strict=True)
        ],
        "trades": [
            {
                "date": fill.day.isoformat(),
                "symbol": fill.symbol,
                "side": fill.side.value,
                "qty": decimal_text(fill.qty),
                "price": decimal_text(fill.price),
            }
            for fill in result.fills
        ],
        "rebalances": [day.isoformat() for day in result.rebalances],
        "metrics": metrics,
    }
