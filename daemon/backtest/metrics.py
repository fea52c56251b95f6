"""A backtest's summary figures: returns and risk (`daemon.core.performance`), trading, taxes.

Definitions (docs/backtest.md repeats them):

- returns are measured from `--cash`: the series starts from a point valued at the cash put
  in, on day 0 before its trades, so day 0's return is NAV_0 / cash - 1 (its slippage and
  commissions; 0 without costs) and every later day's is (NAV_t - flow_t) / NAV_{t-1} - 1:
  one return per day, contributions and withdrawals not returns; CAGR = (1 + TWR)^(365.25 /
  calendar days from the first to the last day) - 1;
- volatility, Sharpe and Sortino are of the daily returns (day 0's among them), annualized
  with 252 days and a risk-free rate of `risk_free` a year; max drawdown is the deepest fall
  of the TWR index, which starts at 1 on day 0 before its trades, and `drawdowns` the five
  deepest falls that do not overlap;
- each calendar year's return links the year's daily returns (best and worst year among
  the whole ones); rolling returns are annualized over every window of 1, 3, 5 and 10 x 252
  days; the money-weighted return is the internal rate of `--cash` paid in on day 0, the
  flows and the last value; correlation and beta are of the daily returns after day 0 with
  the benchmark's (day 0's is the account's costs, not a move of the market);
- the benchmark is bought with `--cash` at day 0's close, at no cost, and measured alike
  (its day 0 return is 0);
- turnover = (sum of traded value after day 0) / 2 / mean NAV / years: the share of the
  account replaced per year, day 0's purchase left out;
- realized gains by term come from the in-memory ledger's sales (after wash-sale
  adjustments); harvested losses are the net losses of sales the tax step made as harvests
  (`daemon.core.tax.harvest.harvested_loss`);
  disallowed losses are the wash-sale disallowances;
- taxes per calendar year, netted as Schedule D does: each term's gains with the loss of
  its own term carried in, then a net loss of one term against a net gain of the other; a
  loss left is carried to the next year under its own term (no $3,000 ordinary offset), and
  the rest is taxed at the short- and long-term rates; dividends at the dividend rate
  (taxable accounts only); after-tax value = final NAV - all those taxes (paid from outside
  the account, unrealized gains untaxed); the after-tax CAGR is the CAGR with the growth
  scaled by after-tax value / final NAV.
"""

from __future__ import annotations

__all__ = ["Carry", "TaxRates", "compute_metrics", "from_cash", "net_year"]

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from daemon.backtest.engine import BacktestResult
from daemon.core.domain import AccountType
from daemon.core.money import cents
from daemon.core.performance import (
    DailyPoint,
    ReturnArray,
    annualized_volatility,
    daily_return_array,
    drawdowns,
    sharpe_ratio,
    sortino_ratio,
    time_weighted_return,
)
from daemon.core.return_periods import (
    calendar_year_returns,
    money_weighted_return,
    relation,
    rolling_returns,
)
from daemon.core.tax.harvest import harvested_loss
from daemon.core.tax.types import Term

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Carry:
    """The capital losses carried into a year, by term (each <= 0): Schedule D carries a
    short-term loss and a long-term loss over separately, and each meets its own term's
    gains first."""

    short: Decimal = _ZERO
    long: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class TaxRates:
    short_term: Decimal = Decimal("0.35")
    long_term: Decimal = Decimal("0.15")
    dividends: Decimal = Decimal("0.15")


def compute_metrics(
    result: BacktestResult,
    *,
    cash: Decimal,
    rates: TaxRates = TaxRates(),
    risk_free: float = 0.0,
    benchmark: str | None = None,
) -> dict[str, Any]:
    """Return the metrics object of the JSON output (floats rounded to 12 digits, money as
    decimal strings), deterministic for the same result; `cash` is the run's `--cash`, what
    the returns are measured from."""
    if cash <= 0:
        raise ValueError(f"a backtest starts from a positive cash amount, not {cash}")
    points = [
        DailyPoint(day, value, flow)
        for day, value, flow in zip(result.days, result.nav, result.flows, strict=True)
    ]
    returns = from_cash(cash, points)
    out: dict[str, Any] = _returns(result.days, points, returns, risk_free)
    # The starting point paid in on day 0, then the day's own point with its flow (none on
    # day 0 but for parity): money_weighted_return takes points of one day as they come.
    out["money_weighted_return"] = _float(
        money_weighted_return([DailyPoint(result.days[0], cash), *points])
    )
    out |= _trading(result)
    out |= _taxes(result, rates, out["cagr"], out["total_return"])
    if benchmark is not None and result.benchmark is not None:
        # The benchmark bought with --cash at day 0's close, at no cost, and held, its
        # dividends reinvested (result.benchmark, flows.reinvested); flows left out.
        first = result.benchmark[0]
        bench = [
            DailyPoint(day, cents(cash * Decimal(repr(price / first))))
            for day, price in zip(result.days, result.benchmark, strict=True)
        ]
        theirs = from_cash(cash, bench)
        moved = relation(_after_day0(returns), _after_day0(theirs))
        out["benchmark"] = {
            "symbol": benchmark,
            **_returns(result.days, bench, theirs, risk_free),
            "correlation": _float(moved.correlation) if moved else None,
            "beta": _float(moved.beta) if moved else None,
        }
    return out


def from_cash(cash: Decimal, points: Sequence[DailyPoint]) -> ReturnArray:
    """Return one daily return per point, measured from `cash` put in on the first point's day
    before its trades: the first is (V_0 - F_0) / cash - 1, the rest `daily_return_array`'s."""
    first = points[0]
    later = daily_return_array(points)
    day0 = float((first.value - first.flow) / cash) - 1.0
    return ReturnArray((first.day, *later.index), np.concatenate(([day0], later.values)))


def _after_day0(returns: ReturnArray) -> ReturnArray:
    return ReturnArray(returns.index[1:], returns.values[1:])


ROLLING_YEARS = (1, 3, 5, 10)
DRAWDOWNS = 5


def _returns(
    days: tuple[date, ...], points: list[DailyPoint], returns: ReturnArray, risk_free: float
) -> dict[str, Any]:
    twr = time_weighted_return(returns)
    span = (days[-1] - days[0]).days
    cagr = (1 + twr) ** (365.25 / span) - 1 if span > 0 and twr > -1 else None
    falls = drawdowns(returns, days[0], top=DRAWDOWNS)
    drawdown = falls[0] if falls else None
    years = calendar_year_returns(returns, days[0])
    whole = [year for year in years if year.whole]
    best = max(whole, key=lambda year: year.value, default=None)
    worst = min(whole, key=lambda year: year.value, default=None)
    return {
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "days": len(days),
        "final_value": str(cents(points[-1].value)),
        "total_return": _float(twr),
        "cagr": _float(cagr),
        "volatility": _float(annualized_volatility(returns)),
        "max_drawdown": _float(drawdown.depth if drawdown else 0.0),
        "max_drawdown_peak": _day(drawdown.peak if drawdown else None),
        "max_drawdown_trough": _day(drawdown.trough if drawdown else None),
        "sharpe": _float(sharpe_ratio(returns, risk_free)),
        "sortino": _float(sortino_ratio(returns, risk_free)),
        "annual_returns": [
            {
                "year": year.year,
                "from": year.start.isoformat(),
                "to": year.end.isoformat(),
                "return": _float(year.value),
                "whole": year.whole,
            }
            for year in years
        ],
        "best_year": {"year": best.year, "return": _float(best.value)} if best else None,
        "worst_year": {"year": worst.year, "return": _float(worst.value)} if worst else None,
        "rolling_returns": {f"{n}y": _rolling(returns, n) for n in ROLLING_YEARS},
        "drawdowns": [
            {
                "depth": _float(fall.depth),
                "peak": _day(fall.peak),
                "trough": _day(fall.trough),
                "recovered": _day(fall.recovered),
            }
            for fall in falls
        ],
    }


def _rolling(returns: ReturnArray, years: int) -> dict[str, Any] | None:
    rolled = rolling_returns(returns, years)
    if rolled is None:
        return None
    return {
        "windows": rolled.windows,
        "worst": _float(rolled.worst),
        "median": _float(rolled.median),
        "best": _float(rolled.best),
    }


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _trading(result: BacktestResult) -> dict[str, Any]:
    first = result.days[0]
    traded = sum((f.qty * f.price for f in result.fills if f.day != first), _ZERO)
    commissions = sum((f.commission for f in result.fills), _ZERO)
    mean_nav = float(np.mean([float(v) for v in result.nav]))
    years = max((result.days[-1] - first).days / 365.25, 1 / 365.25)
    return {
        "turnover": _float(float(traded) / 2 / mean_nav / years if mean_nav > 0 else None),
        "trade_count": len(result.fills),
        "trades_after_day0": sum(1 for f in result.fills if f.day != first),
        "rebalance_count": len(result.rebalances),
        "commissions": str(cents(commissions)),
        "contributed": str(result.contributed),
        "withdrawn": str(result.withdrawn),
        "withdrawal_shortfall": str(result.withdrawal_shortfall),
        "dividends": str(result.dividends),
    }


def _taxes(
    result: BacktestResult, rates: TaxRates, cagr: float | None, twr: float | None
) -> dict[str, Any]:
    short = long = disallowed = harvested = _ZERO
    by_year: dict[int, list[Decimal]] = {}
    for sale in result.sales:
        gains = by_year.setdefault(sale.trade.date.year, [_ZERO, _ZERO])
        for piece in sale.pieces:
            gain = piece.gain
            if piece.term is Term.LONG:
                long += gain
                gains[1] += gain
            else:
                short += gain
                gains[0] += gain
            disallowed += piece.disallowed
        if sale.id in result.harvest_ids:
            harvested += harvested_loss(sale)
    taxable = result.account_type is AccountType.TAXABLE
    years = sorted(set(by_year) | (set(result.dividends_by_year) if taxable else set()))
    carry = Carry()
    taxes: dict[str, str] = {}
    total = _ZERO
    for year in years:
        st, lt = by_year.get(year, [_ZERO, _ZERO])
        st, lt, carry = net_year(st, lt, carry)
        dividends = result.dividends_by_year.get(year, _ZERO) if taxable else _ZERO
        tax = cents(st * rates.short_term + lt * rates.long_term + dividends * rates.dividends)
        taxes[str(year)] = str(tax)
        total += tax
    final = result.nav[-1]
    after = final - total
    scale = float(after / final) if final > 0 else 0.0
    span = (result.days[-1] - result.days[0]).days
    after_cagr = None
    if twr is not None and span > 0 and (1 + twr) * scale > 0:
        after_cagr = ((1 + twr) * scale) ** (365.25 / span) - 1
    return {
        "realized_short_term": str(short),
        "realized_long_term": str(long),
        "harvested_losses": str(harvested),
        "disallowed_losses": str(disallowed),
        "loss_carryforward": str(-(carry.short + carry.long)),
        "loss_carryforward_short_term": str(-carry.short),
        "loss_carryforward_long_term": str(-carry.long),
        "taxes_by_year": taxes,
        "taxes": str(total),
        "tax_rates": {
            "short_term": str(rates.short_term),
            "long_term": str(rates.long_term),
            "dividends": str(rates.dividends),
        },
        "after_tax_value": str(cents(after)),
        "after_tax_cagr": _float(after_cagr),
        "tax_drag": _float(
            cagr - after_cagr if cagr is not None and after_cagr is not None else None
        ),
    }


def net_year(short: Decimal, long: Decimal, carry: Carry) -> tuple[Decimal, Decimal, Carry]:
    """Net one year's realized gains by term as Schedule D does; return the taxable short- and
    long-term gains and the losses carried out, each under its own term.

    Each term first takes the loss of its own term carried in (lines 7 and 15); then a net
    loss of one term offsets a net gain of the other (line 16): what is left of the gain keeps
    its term, what is left of the loss is carried as that loss's term. No $3,000 deduction
    against ordinary income (docs/backtest.md)."""
    short += carry.short
    long += carry.long
    if short < 0 < long:
        used = min(-short, long)
        short, long = short + used, long - used
    elif long < 0 < short:
        used = min(-long, short)
        short, long = short - used, long + used
    carried = Carry(short if short < 0 else _ZERO, long if long < 0 else _ZERO)
    return max(short, _ZERO), max(long, _ZERO), carried


def _float(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 12)
