"""The backtest's JSON object: `nav`, `trades`, `skipped`, `refused` (only when a check
refused an order), `rebalances`, `metrics` (docs/backtest.md)."""

from __future__ import annotations

__all__ = ["COMPARED", "PERCENT", "decimal_text", "result_json", "shown"]

from decimal import Decimal
from typing import Any

from daemon.backtest.engine import BacktestResult
from daemon.core.domain import Side


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text, never in exponent form (`0E-9` reads as `0.000000000`).

    `format(value, "f")`, but through `str` unless that writes an exponent: the same text at
    half the cost (Decimal's __format__ parses its spec each time), for the tens of
    thousands of values a 20-year run writes."""
    text = str(value)
    return format(value, "f") if "E" in text else text


def result_json(result: BacktestResult, metrics: dict[str, Any]) -> dict[str, Any]:
    """Return the one JSON object of a run: the same result gives the same object.

    `refused` is there only when a pre-trade check refused an order: a run without one gives
    the object it gave before the key existed, byte for byte."""
    # Each day's text once (a day of trades has a hundred), each side's value once.
    dates = {day: day.isoformat() for day in result.days}
    sides = {side: side.value for side in Side}
    out: dict[str, Any] = {
        "nav": [
            {"date": dates[day], "value": decimal_text(value)}
            for day, value in zip(result.days, result.nav, strict=True)
        ],
        "trades": [
            {
                "date": dates.get(fill.day) or fill.day.isoformat(),
                "symbol": fill.symbol,
                "side": sides[fill.side],
                "qty": decimal_text(fill.qty),
                "price": decimal_text(fill.price),
            }
            for fill in result.fills
        ],
        "skipped": [
            {
                "date": skip.day.isoformat(),
                "symbol": skip.symbol,
                "side": "buy",
                "qty": decimal_text(skip.qty),
                "reason": skip.reason,
            }
            for skip in result.skipped
        ],
    }
    if result.refused:
        out["refused"] = [
            {
                "date": refused.day.isoformat(),
                "symbol": refused.symbol,
                "side": refused.side.value,
                "qty": decimal_text(refused.qty),
                "check": refused.check,
                "reason": refused.reason,
            }
            for refused in result.refused
        ]
    out["rebalances"] = [day.isoformat() for day in result.rebalances]
    out["metrics"] = metrics
    return out


COMPARED = (
    ("CAGR", "cagr"),
    ("volatility", "volatility"),
    ("max DD", "max_drawdown"),
    ("Sharpe", "sharpe"),
    ("turnover", "turnover"),
    ("trades", "trade_count"),
    ("rebalances", "rebalance_count"),
    ("taxes", "taxes"),
    ("after-tax CAGR", "after_tax_cagr"),
)
"""The metrics a `--vary` comparison shows, in the table and on the report page."""
PERCENT = frozenset(
    {
        "total_return",
        "cagr",
        "money_weighted_return",
        "volatility",
        "max_drawdown",
        "turnover",
        "after_tax_cagr",
        "tax_drag",
    }
)
"""Metrics that are fractions, shown as percentages."""


def shown(metrics: dict[str, Any], key: str) -> str:
    """A metric as people read it: percentages, two decimals, money with separators."""
    value = metrics.get(key)
    if value is None:
        return "-"
    if key in PERCENT:
        return f"{float(value) * 100:.2f}%"
    if isinstance(value, dict) and "year" in value:  # best_year, worst_year
        share = value["return"]
        return f"{value['year']}: {'-' if share is None else f'{float(share) * 100:.2f}%'}"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, str) and key not in ("start", "end"):
        return f"{Decimal(value):,.2f}"
    return str(value)
