"""The valuation history: what each account was worth at each cycle and at the end of each day.

A valuation is read off the broker's snapshot (cash plus every position at its quote), never
computed from trimtab's own book. `daily_series` turns the history into one point per trading
day (the day's latest valuation) with the flows recorded between consecutive points, which is
what `daemon.core.performance` measures. Benchmark prices are kept beside it, one per day.
"""

from __future__ import annotations

__all__ = [
    "Valuation",
    "ValuationSource",
    "benchmark_series",
    "daily_series",
    "household_series",
    "latest_valuation",
    "record_benchmark_price",
    "record_valuation",
    "valuation_from_snapshot",
    "valuations",
]

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from daemon.core.calendar import trading_day
from daemon.core.domain import AccountSnapshot
from daemon.core.errors import DataError
from daemon.core.money import cents
from daemon.core.performance import DailyPoint, combine_series
from daemon.core.plannable import MAX_NUMBER, price_problem
from daemon.store.performance_models import BenchmarkPriceRow, CashFlowRow, ValuationRow

EOD_REF = "eod"


class ValuationSource(StrEnum):
    CYCLE = "cycle"
    EOD = "eod"


def _no_holdings() -> Mapping[str, Decimal]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Valuation:
    """One account's value at `as_of`; `holdings` maps symbol -> market value (currency)."""

    account: str
    as_of: datetime
    trading_day: date
    source: ValuationSource
    ref: str
    """The cycle id of a cycle valuation, `eod` for the end-of-day one."""
    equity: Decimal
    cash: Decimal
    positions_value: Decimal
    holdings: Mapping[str, Decimal] = field(default_factory=_no_holdings)


def valuation_from_snapshot(
    snapshot: AccountSnapshot, *, source: ValuationSource, ref: str, exchange: str
) -> Valuation:
    """Value the snapshot: all its cash (the reserved with the spendable: the broker's own
    cash) plus each position at its quote, to the cent.

    Raises `DataError` naming the symbols a held position has no quote for: a valuation that
    left them out would show a fall that did not happen.
    """
    missing = sorted(p.symbol for p in snapshot.positions if p.symbol not in snapshot.quotes)
    if missing:
        raise DataError(
            f"cannot value account {snapshot.account}: no quote for held {', '.join(missing)}"
        )
    problems = _out_of_range(snapshot)
    if problems:
        # Stored, such a number would overflow the database's numeric or break every read.
        raise DataError(f"cannot value account {snapshot.account}: {'; '.join(problems)}")
    holdings = {
        p.symbol: cents(p.qty * snapshot.quotes[p.symbol].price)
        for p in snapshot.positions
        if p.qty != 0
    }
    positions_value = sum(holdings.values(), Decimal(0))
    return Valuation(
        account=snapshot.account,
        as_of=snapshot.as_of,
        trading_day=trading_day(snapshot.as_of, exchange),
        source=source,
        ref=ref if source is ValuationSource.CYCLE else EOD_REF,
        equity=snapshot.total_cash + positions_value,
        cash=snapshot.total_cash,
        positions_value=positions_value,
        holdings=MappingProxyType(dict(sorted(holdings.items()))),
    )


def _out_of_range(snapshot: AccountSnapshot) -> list[str]:
    """What in the snapshot lies outside the range trimtab plans with (`plannable`)."""
    found = []
    if not snapshot.cash.is_finite() or abs(snapshot.cash) > MAX_NUMBER:
        found.append(f"cash is {snapshot.cash}")
    reserved = snapshot.reserved_cash
    if not reserved.is_finite() or abs(reserved) > MAX_NUMBER:
        found.append(f"reserved cash is {reserved}")
    for p in snapshot.positions:
        if not p.qty.is_finite() or abs(p.qty) > MAX_NUMBER:
            found.append(f"quantity of {p.symbol} is {p.qty}")
        elif p.qty != 0 and (problem := price_problem(snapshot.quotes[p.symbol].price)):
            found.append(f"price of {p.symbol} {problem}")
    return found


def record_valuation(session: Session, valuation: Valuation, *, now: datetime) -> None:
    """Store `valuation`, replacing the one of the same account, day, source and ref."""
    row = session.execute(
        select(ValuationRow).where(
            ValuationRow.account == valuation.account,
            ValuationRow.trading_day == valuation.trading_day,
            ValuationRow.source == str(valuation.source),
            ValuationRow.ref == valuation.ref,
        )
    ).scalar_one_or_none()
    if row is None:
        row = ValuationRow(
            account=valuation.account,
            trading_day=valuation.trading_day,
            source=str(valuation.source),
            ref=valuation.ref,
        )
        session.add(row)
    row.as_of = valuation.as_of
    row.equity = valuation.equity
    row.cash = valuation.cash
    row.positions_value = valuation.positions_value
    row.holdings = json.dumps({s: str(v) for s, v in valuation.holdings.items()})
    row.recorded_at = now
    session.flush()


def valuations(
    session: Session, account: str, *, first: date | None = None, last: date | None = None
) -> list[Valuation]:
    """Return the account's valuations with `first <= trading_day <= last`, oldest first."""
    query = select(ValuationRow).where(ValuationRow.account == account)
    if first is not None:
        query = query.where(ValuationRow.trading_day >= first)
    if last is not None:
        query = query.where(ValuationRow.trading_day <= last)
    rows = session.execute(query.order_by(ValuationRow.as_of, ValuationRow.id)).scalars()
    return [_valuation(row) for row in rows]


def latest_valuation(
    session: Session, account: str, *, on_or_before: date | None = None
) -> Valuation | None:
    """Return the account's most recent valuation (on or before a trading day), or None."""
    query = select(ValuationRow).where(ValuationRow.account == account)
    if on_or_before is not None:
        query = query.where(ValuationRow.trading_day <= on_or_before)
    row = session.execute(
        query.order_by(ValuationRow.as_of.desc(), ValuationRow.id.desc()).limit(1)
    ).scalar_one_or_none()
    return None if row is None else _valuation(row)


def daily_series(session: Session, account: str, *, last: date | None = None) -> list[DailyPoint]:
    """Return one point per trading day with a valuation: the day's latest, oldest first.

    Each point's `flow` sums the flows recorded after the previous point's valuation time and
    at or before its own, so a flow counts in exactly one period.
    """
    # Only each day's latest row, and only the columns the series needs: reading every row
    # (and parsing its holdings) made a long history slow to check after every slot.
    latest = select(
        ValuationRow.trading_day.label("day"), func.max(ValuationRow.as_of).label("at")
    ).where(ValuationRow.account == account)
    if last is not None:
        latest = latest.where(ValuationRow.trading_day <= last)
    newest = latest.group_by(ValuationRow.trading_day).subquery()
    query = (
        select(ValuationRow.trading_day, ValuationRow.as_of, ValuationRow.equity)
        .join(
            newest,
            and_(ValuationRow.trading_day == newest.c.day, ValuationRow.as_of == newest.c.at),
        )
        .where(ValuationRow.account == account)
    )
    by_day: dict[date, tuple[datetime, Decimal]] = {}
    for day, as_of, equity in session.execute(query.order_by(ValuationRow.as_of, ValuationRow.id)):
        by_day[day] = (as_of, equity)  # ordered by time: the latest wins
    days = sorted(by_day)
    if not days:
        return []
    flows = session.execute(
        select(CashFlowRow.at, CashFlowRow.amount)
        .where(
            CashFlowRow.account == account,
            CashFlowRow.at > by_day[days[0]][0],
            CashFlowRow.at <= by_day[days[-1]][0],
        )
        .order_by(CashFlowRow.at, CashFlowRow.id)
    ).all()
    points = [DailyPoint(days[0], by_day[days[0]][1])]
    index = 0
    for day in days[1:]:
        upto, equity = by_day[day]
        total = Decimal(0)
        while index < len(flows) and flows[index].at <= upto:
            total += flows[index].amount
            index += 1
        points.append(DailyPoint(day, equity, total))
    return points


def household_series(
    session: Session, accounts: Iterable[str], *, last: date | None = None
) -> list[DailyPoint]:
    """Return the accounts' daily series combined (`daemon.core.performance.combine_series`)."""
    return combine_series({a: daily_series(session, a, last=last) for a in accounts})


def record_benchmark_price(
    session: Session, symbol: str, day: date, price: Decimal, *, as_of: datetime, source: str
) -> None:
    """Store the benchmark's price for `day`, unless a later one for that day is stored."""
    row = session.get(BenchmarkPriceRow, (symbol, day))
    if row is None:
        session.add(
            BenchmarkPriceRow(
                symbol=symbol, trading_day=day, price=price, as_of=as_of, source=source
            )
        )
    elif as_of >= row.as_of:
        row.price, row.as_of, row.source = price, as_of, source
    session.flush()


def benchmark_series(
    session: Session, symbol: str, *, first: date | None = None, last: date | None = None
) -> list[DailyPoint]:
    """Return the benchmark's daily prices as a series without flows, oldest first."""
    query = select(BenchmarkPriceRow).where(BenchmarkPriceRow.symbol == symbol)
    if first is not None:
        query = query.where(BenchmarkPriceRow.trading_day >= first)
    if last is not None:
        query = query.where(BenchmarkPriceRow.trading_day <= last)
    rows = session.execute(query.order_by(BenchmarkPriceRow.trading_day)).scalars()
    return [DailyPoint(row.trading_day, row.price) for row in rows]


def _valuation(row: ValuationRow) -> Valuation:
    holdings = {s: Decimal(v) for s, v in json.loads(row.holdings).items()}
    return Valuation(
        account=row.account,
        as_of=row.as_of,
        trading_day=row.trading_day,
        source=ValuationSource(row.source),
        ref=row.ref,
        equity=row.equity,
        cash=row.cash,
        positions_value=row.positions_value,
        holdings=MappingProxyType(holdings),
    )
