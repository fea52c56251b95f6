"""Rich tables for plans, drift and orders; the same data `--json` prints."""

from __future__ import annotations

__all__ = ["plan_json", "print_plan"]

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

from daemon.core.domain import CASH
from daemon.core.money import usd

if TYPE_CHECKING:
    from daemon.core.planner import Plan
    from daemon.core.risk import RiskReview


def _pct(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def print_plan(console: Console, title: str, plan: Plan, *, price_label: str = "") -> None:
    """Print the drift table and the orders of one plan."""
    drift = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in (
        "Symbol",
        "Qty",
        "Price",
        "Value",
        "Weight",
        "Target",
        "Band",
        "",
        "After",
        "Note",
    ):
        drift.add_column(column, justify="left" if column in ("Symbol", "Note", "") else "right")
    for row in plan.drift:
        band = "" if row.symbol == CASH or not row.managed else f"{_pct(row.low)}–{_pct(row.high)}"
        flag = "[bold red]OUT[/]" if row.out_of_band else ""
        drift.add_row(
            row.symbol,
            _qty(row.qty) if row.symbol != CASH else "",
            usd(row.price) if row.symbol != CASH else "",
            usd(row.value),
            _pct(row.weight),
            _pct(row.target) if row.managed else "keep",
            band,
            flag,
            _pct(row.weight_after),
            row.note,
        )
    console.print(drift)
    summary = (
        f"value {usd(plan.nav)}  cash {usd(plan.cash_before)} -> "
        f"{usd(plan.cash_after)}  rebalance {'triggered' if plan.triggered else 'not needed'}"
    )
    if price_label:
        summary += f"  prices: {price_label}"
    console.print(summary)
    for note in plan.notes:
        console.print(f"  note: {note}")
    if not plan.orders:
        console.print("[green]no orders[/]")
        return
    orders = Table(title="orders", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Side", "Symbol", "Qty", "Price", "Notional", "Reason"):
        orders.add_column(
            column, justify="right" if column in ("Qty", "Price", "Notional") else "left"
        )
    for order in plan.orders:
        orders.add_row(
            str(order.side).upper(),
            order.symbol,
            _qty(order.qty),
            usd(order.price),
            usd(order.notional),
            order.reason,
        )
    console.print(orders)


def plan_json(plan: Plan, review: RiskReview | None = None) -> dict[str, Any]:
    """The documented JSON shape of a plan (see README, "Offline planning"), with every
    order the pre-trade checks refused."""
    refusals = review.denied if review is not None else ()
    return {
        "orders": [
            {
                "symbol": o.symbol,
                "side": o.side,
                "qty": o.qty,
                "price": o.price,
                "notional": o.notional,
                "reason": o.reason,
            }
            for o in plan.orders
        ],
        "drift": [
            {
                "symbol": r.symbol,
                "weight": r.weight,
                "target": r.target,
                "low": r.low,
                "high": r.high,
                "out_of_band": r.out_of_band,
                "managed": r.managed,
                "qty": r.qty,
                "qty_after": r.qty_after,
                "weight_after": r.weight_after,
                "note": r.note,
            }
            for r in plan.drift
        ],
        "nav": plan.nav,
        "cash_before": plan.cash_before,
        "cash_after": plan.cash_after,
        "triggered": plan.triggered,
        "notes": list(plan.notes),
        "refusals": [
            {
                "symbol": d.symbol,
                "side": d.side,
                "qty": d.qty,
                "notional": d.notional,
                "check": d.check,
                "reason": d.reason,
            }
            for d in refusals
        ],
    }
