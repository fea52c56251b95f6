"""Performance of one account, or of the household, on one day: read from the database.

This is what `trimtab performance show` prints and what the daily report shows: the
valuation, the period's deposits and withdrawals, time-weighted returns against the
benchmark, risk metrics and concentration. Numbers follow `daemon.core.performance`'s
conventions (fractions as float, money as Decimal, None where the history is too short).
"""

from __future__ import annotations

__all__ = ["AccountPerformance", "PeriodFlows", "performance_view"]

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.config.settings import Settings
from daemon.core.performance import Concentration, PerformanceSummary, concentration, summarize
from daemon.store.cash_flows import flow_amounts
from daemon.store.db import Transaction
from daemon.store.valuations import (
    Valuation,
    benchmark_series,
    daily_series,
    household_series,
    latest_valuation,
)


@dataclass(frozen=True, slots=True)
class PeriodFlows:
    """Deposits (positive) and withdrawals (negative) of the day, month and year to date."""

    day_in: Decimal
    day_out: Decimal
    month_in: Decimal
    month_out: Decimal
    year_in: Decimal
    year_out: Decimal


@dataclass(frozen=True, slots=True)
class AccountPerformance:
    account: str | None
    """None for the household (every configured account together)."""
    as_of: date
    value: Decimal | None
    cash: Decimal | None
    day_change: Decimal | None
    """Value change since the previous valuation day, flows included (what the eye sees)."""
    flows: PeriodFlows
    summary: PerformanceSummary
    concentration: Concentration | None
    benchmark: str | None
    day_gain: Decimal | None = None
    """`day_change` less the flows between the two valuations: what the market did."""


def performance_view(
    session: Transaction, settings: Settings, as_of: date, account: str | None = None
) -> AccountPerformance:
    """Return the performance of `account` (or the household) up to the end of `as_of`."""
    accounts = [account] if account is not None else list(settings.accounts)
    if account is not None:
        points = daily_series(session, account, last=as_of)
    else:
        points = household_series(session, accounts, last=as_of)
    symbol = settings.performance.benchmark
    benchmark = benchmark_series(session, symbol, last=as_of) if symbol else None
    summary = summarize(
        points,
        as_of,
        benchmark=benchmark,
        risk_free_rate=float(settings.performance.risk_free_rate),
        var_level=float(settings.performance.var_level),
    )
    latest = [
        v for a in accounts if (v := latest_valuation(session, a, on_or_before=as_of)) is not None
    ]
    day_change = day_gain = None
    if len(points) >= 2 and points[-1].day == as_of:
        day_change = points[-1].value - points[-2].value
        day_gain = day_change - points[-1].flow
    return AccountPerformance(
        account=account,
        as_of=as_of,
        value=summary.value,
        cash=sum((v.cash for v in latest), Decimal(0)) if latest else None,
        day_change=day_change,
        flows=_period_flows(session, accounts, as_of),
        summary=summary,
        concentration=_concentration(latest),
        benchmark=symbol,
        day_gain=day_gain,
    )


def _concentration(latest: Sequence[Valuation]) -> Concentration | None:
    if not latest:
        return None
    holdings: dict[str, Decimal] = {}
    for valuation in latest:
        for symbol, value in valuation.holdings.items():
            holdings[symbol] = holdings.get(symbol, Decimal(0)) + value
    return concentration(holdings, sum((v.equity for v in latest), Decimal(0)))


def _period_flows(session: Transaction, accounts: Sequence[str], as_of: date) -> PeriodFlows:
    rows = flow_amounts(session, accounts, first=as_of.replace(month=1, day=1), last=as_of)

    def total(start: date, sign: int) -> Decimal:
        return sum((a for d, a in rows if d >= start and (a > 0) == (sign > 0)), Decimal(0))

    month = as_of.replace(day=1)
    year = as_of.replace(month=1, day=1)
    return PeriodFlows(
        day_in=total(as_of, 1),
        day_out=total(as_of, -1),
        month_in=total(month, 1),
        month_out=total(month, -1),
        year_in=total(year, 1),
        year_out=total(year, -1),
    )
