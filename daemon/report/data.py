"""Gather one trading day's report from the database: nothing here computes a metric itself.

Values and flows come from the valuation history and the cash-flow records
(`daemon.store.valuations`, `daemon.store.cash_flows`), returns and risk from
`daemon.core.performance`, the day's cycles, refusals, targets and bands from the audit log,
orders from the order intents, tax from the tax ledger (`daemon.report.tax_data`), health
from `daemon.monitor.health`.
"""

from __future__ import annotations

__all__ = ["gather", "session_on"]

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from daemon.audit.events import AuditKind, PlanMade
from daemon.audit.record import AuditRecord, events_of
from daemon.config.household import household_members
from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone, quiet_pandas, year_calendar
from daemon.core.performance import (
    DailyPoint,
    PerformanceSummary,
    concentration,
    summarize,
)
from daemon.core.planner import out_of_band_at
from daemon.core.planner.verdict import PoolBand, pool_band
from daemon.core.progress import Progress, no_progress
from daemon.monitor.health import evaluate
from daemon.report.activity import cycles_of, plan_previews, refusals_of
from daemon.report.household import gather_household
from daemon.report.income import gather_income
from daemon.report.model import (
    AccountReport,
    AllocationRow,
    DailyReport,
    DriftPoint,
    FlowTotals,
    HealthSection,
    OrderLine,
    ValueSection,
)
from daemon.report.tax_data import gather_tax
from daemon.store.audit_log import AuditLog
from daemon.store.cash_flows import flows_between
from daemon.store.cycles import CycleStore
from daemon.store.db import Transaction
from daemon.store.heartbeat import HeartbeatStore
from daemon.store.intents import IntentStore
from daemon.store.killswitch import current as kill_switch_state
from daemon.store.tax_ledger import TaxLedger
from daemon.store.trading_state import account_state
from daemon.store.valuations import (
    Valuation,
    benchmark_series,
    daily_series,
    household_series,
    latest_valuation,
)

DRIFT_DAYS = 90
CASH = "CASH"
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class _Day:
    day: date
    start: datetime
    end: datetime
    tz: ZoneInfo
    valued_on: date
    """The day whose valuation the report expects: `day`, or the last session before it."""

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.tz)


def gather(
    session: Transaction,
    settings: Settings,
    day: date,
    *,
    now: datetime,
    accounts: Sequence[str] | None = None,
    progress: Progress = no_progress,
) -> DailyReport:
    """Return the report of trading day `day` for `accounts` (default: every account);
    `progress` hears (parts gathered, parts): each account, then the household and tax."""
    tz = exchange_timezone(settings.exchange)
    start = datetime.combine(day, time(), tz)
    span = _Day(day, start, start + timedelta(days=1), tz, day)
    names = list(accounts) if accounts is not None else list(settings.accounts)
    benchmark = settings.performance.benchmark
    bench = benchmark_series(session, benchmark, last=day) if benchmark else []
    is_session, last_session = session_on(settings.exchange, day)
    # On a day without a session, the last session's valuation is the one expected.
    span = replace(span, valued_on=last_session or day)
    steps = len(names) + 1
    progress(0, steps)
    gathered = []
    for done, name in enumerate(names, start=1):
        gathered.append(_account(session, settings, name, span, bench))
        progress(done, steps)
    reports = tuple(gathered)
    combined = household_series(session, names, last=day)
    household_perf = _performance(settings, combined, day, bench)
    holdings: dict[str, Decimal] = {}
    for account in names:
        latest = latest_valuation(session, account, on_or_before=day)
        for symbol, value in (latest.holdings if latest else {}).items():
            holdings[symbol] = holdings.get(symbol, Decimal(0)) + value
    household = _household_value(reports, combined, day)
    total = household.value
    tax = gather_tax(TaxLedger(session), settings, day, names)
    income = gather_income(AuditLog(session), settings, day, _income_value(settings, reports))
    progress(steps, steps)
    return DailyReport(
        day=day,
        generated_at=now,
        timezone=tz.key,
        mode=str(settings.mode),
        benchmark=benchmark,
        accounts=reports,
        household=household,
        household_performance=household_perf,
        household_concentration=concentration(holdings, total) if total else None,
        household_series=tuple(combined),
        benchmark_series=tuple(bench),
        tax=tax,
        health=_health(session, settings, names, now, tz),
        audit_head=_audit_head(AuditLog(session)),
        exchange=settings.exchange,
        trading_day=is_session,
        last_session=last_session,
        income=income,
        household_allocation=gather_household(session, settings, day, until=span.end),
    )


def session_on(exchange: str, day: date) -> tuple[bool, date | None]:
    """Return whether the exchange had a session on `day` and, when not, the one before it
    (None when the installed calendar does not reach back that far)."""
    import pandas as pd

    # The year's own calendar: the cached one ends a year after the process started.
    calendar = year_calendar(exchange, day.year)
    wanted = pd.Timestamp(day)
    with quiet_pandas():
        if not calendar.first_session <= wanted <= calendar.last_session:
            return True, None  # outside what the calendar knows: say nothing rather than guess
        if calendar.is_session(wanted):
            return True, None
        before = calendar.date_to_session(wanted, direction="previous")
    return False, before.date()


def _account(
    session: Transaction, settings: Settings, name: str, span: _Day, bench: Sequence[DailyPoint]
) -> AccountReport:
    log = AuditLog(session)
    today = log.records(since=span.start, until=span.end, account=name)
    plans = events_of(
        log.records(
            since=span.midnight(span.day - timedelta(days=DRIFT_DAYS)),
            until=span.end,
            account=name,
            kinds=[AuditKind.PLAN],
        ),
        PlanMade,
    )
    series = daily_series(session, name, last=span.day)
    latest = latest_valuation(session, name, on_or_before=span.day)
    notes: list[str] = []
    if latest is None:
        notes.append("no valuation recorded yet: values, returns and risk are not available")
    elif latest.trading_day != span.valued_on:
        notes.append(f"no valuation on {span.valued_on}; values are from {latest.trading_day}")
    value = _value_section(session, name, span, series, latest)
    return AccountReport(
        name=name,
        type=str(settings.account(name).type),
        value=value,
        allocation=_allocation(latest, plans),
        drift=_drift(plans, span.tz),
        cycles=cycles_of(today),
        orders=_orders(IntentStore(session), name, today),
        refusals=refusals_of(today),
        performance=_performance(settings, series, span.day, bench),
        concentration=(
            concentration(latest.holdings, latest.equity) if latest and latest.equity else None
        ),
        series=tuple(series),
        notes=tuple(notes),
        plan_previews=len(plan_previews(today)),
    )


def _value_section(
    session: Transaction,
    name: str,
    span: _Day,
    series: Sequence[DailyPoint],
    latest: Valuation | None,
) -> ValueSection:
    on_day = bool(series) and series[-1].day == span.day
    return ValueSection(
        value=latest.equity if latest else None,
        cash=latest.cash if latest else None,
        previous_value=series[-2].value if on_day and len(series) > 1 else None,
        day_flow=series[-1].flow if on_day else Decimal(0),
        flows=_flow_totals(session, name, span),
        valued_at=latest.as_of if latest else None,
    )


def _flow_totals(session: Transaction, name: str, span: _Day) -> FlowTotals:
    def between(first: date) -> tuple[Decimal, Decimal]:
        flows = flows_between(session, name, after=span.midnight(first) - _TICK, upto=span.end)
        money_in = sum((f.amount for f in flows if f.amount > 0), Decimal(0))
        money_out = sum((f.amount for f in flows if f.amount < 0), Decimal(0))
        return money_in, money_out

    day_in, day_out = between(span.day)
    month_in, month_out = between(span.day.replace(day=1))
    year_in, year_out = between(span.day.replace(month=1, day=1))
    return FlowTotals(day_in, day_out, month_in, month_out, year_in, year_out)


def _income_value(settings: Settings, reports: Sequence[AccountReport]) -> Decimal | None:
    """The value an income plan in percent is a share of: the [household]'s members when
    there is one (as the income plan values it), else every account reported."""
    members = set(household_members(settings)) or {r.name for r in reports}
    values = [r.value.value for r in reports if r.name in members]
    known = [v for v in values if v is not None]
    return sum(known, Decimal(0)) if known else None


def _household_value(
    reports: Sequence[AccountReport], combined: Sequence[DailyPoint], day: date
) -> ValueSection:
    values = [r.value for r in reports]
    known = [v for v in values if v.value is not None]
    on_day = bool(combined) and combined[-1].day == day
    totals = FlowTotals(
        *(
            sum((getattr(v.flows, f) for v in values), Decimal(0))
            for f in ("day_in", "day_out", "month_in", "month_out", "year_in", "year_out")
        )
    )
    return ValueSection(
        value=sum((v.value for v in known if v.value is not None), Decimal(0)) if known else None,
        cash=sum((v.cash for v in known if v.cash is not None), Decimal(0)) if known else None,
        previous_value=combined[-2].value if on_day and len(combined) > 1 else None,
        day_flow=combined[-1].flow if on_day else Decimal(0),
        flows=totals,
        valued_at=max((v.valued_at for v in known if v.valued_at), default=None),
    )


def _performance(
    settings: Settings, series: Sequence[DailyPoint], day: date, bench: Sequence[DailyPoint]
) -> PerformanceSummary | None:
    if not series:
        return None
    return summarize(
        series,
        day,
        benchmark=bench or None,
        risk_free_rate=float(settings.performance.risk_free_rate),
        var_level=float(settings.performance.var_level),
    )


def _drift(plans: Sequence[tuple[AuditRecord, PlanMade]], tz: ZoneInfo) -> tuple[DriftPoint, ...]:
    """Return each day's last plan's drift per managed symbol; a primary and the alternates
    standing in for it (`DriftRow.pool`) as one point, tested as the planner tested them
    (`pool_band`), in one panel named after the alternates that ever stood in ("BBB with
    BBX"), as the backtest's drift chart does."""
    last_of_day: dict[date, PlanMade] = {}
    for record, made in plans:
        last_of_day[record.recorded_at.astimezone(tz).date()] = made
    bands: list[tuple[date, PoolBand[Decimal]]] = []
    joined: dict[str, list[str]] = {}
    for day, made in sorted(last_of_day.items()):
        banded = [r for r in made.plan.drift if r.managed and r.symbol != CASH]
        seen: set[str] = set()
        for row in banded:
            if (row.pool or row.symbol) in seen:
                continue
            band = pool_band(banded, row)
            seen.add(band.primary)
            names = joined.setdefault(band.primary, [])
            names.extend(m for m in band.members if m != band.primary and m not in names)
            bands.append((day, band))
    label = {p: f"{p} with {', '.join(names)}" if names else p for p, names in joined.items()}
    return tuple(
        DriftPoint(
            day,
            label[band.primary],
            float(band.weight),
            float(band.target),
            float(band.low),
            float(band.high),
        )
        for day, band in bands
    )


def _allocation(
    latest: Valuation | None, plans: Sequence[tuple[AuditRecord, PlanMade]]
) -> tuple[AllocationRow, ...]:
    """Return end-of-day weights (from the valuation) against the latest plan's targets and
    bands; without a valuation, the values the latest plan saw.

    Weighed as the planner weighs them: a managed holding and cash as a fraction of the managed
    value, the account's value less the holdings the plan's rows say it does not manage (a
    `keep` holding, one set aside while its sale is held back, unsold dust); counted in the
    whole value, they would put the others outside bands the planner holds them inside. An
    unmanaged holding shows its share of the account's whole value, with no target or band.
    """
    if not plans:
        return ()
    table = plans[-1][1].plan.drift
    drift = {r.symbol: r for r in table}
    unmanaged = {r.symbol for r in table if not r.managed}
    planned = latest is None or not latest.equity
    if latest is None or not latest.equity:
        values = {s: r.value for s, r in drift.items()}
        whole = sum(values.values(), Decimal(0))
    else:
        values = dict(latest.holdings) | {CASH: latest.cash}
        whole = latest.equity
    managed = whole - sum((v for s, v in values.items() if s in unmanaged), Decimal(0))

    def share(symbol: str, value: Decimal) -> float:
        base = whole if symbol in unmanaged else managed
        return float(value / base) if base > 0 else 0.0

    weights = {s: share(s, v) for s, v in values.items()}
    if planned:
        out = {r.symbol: r.out_of_band for r in table if r.managed and r.symbol != CASH}
    else:
        # As the planner tests: an alternate standing in and its primary add up as one pool.
        out = out_of_band_at(table, weights)
    rows = []
    for symbol in sorted(set(drift) | set(values), key=lambda s: (s == CASH, s)):
        plan_row = drift.get(symbol)
        target = float(plan_row.target) if plan_row else 0.0
        low = float(plan_row.low) if plan_row else 0.0
        high = float(plan_row.high) if plan_row else 0.0
        kept = symbol in unmanaged
        rows.append(
            AllocationRow(
                symbol=symbol,
                value=values.get(symbol, Decimal(0)),
                weight=weights.get(symbol, 0.0),
                target=target,
                low=low,
                high=high,
                out_of_band=out.get(symbol, False),
                pool=plan_row.pool if plan_row else "",
                managed=not kept,
                note=plan_row.note if plan_row and kept else "",
            )
        )
    return tuple(rows)


def _orders(intents: IntentStore, name: str, today: Sequence[AuditRecord]) -> tuple[OrderLine, ...]:
    cycle_ids = sorted({r.cycle_id for r in today if r.cycle_id})
    if not cycle_ids:
        return ()
    return tuple(
        OrderLine(
            cycle_id=stored.intent.cycle_id,
            client_order_id=stored.intent.client_order_id,
            side=str(stored.intent.side),
            symbol=stored.intent.symbol,
            qty=stored.intent.qty,
            order_type=str(stored.intent.order_type),
            reason=stored.intent.reason,
            status=str(stored.status),
            filled_qty=stored.filled_qty,
            avg_fill_price=stored.avg_fill_price,
            reference_price=stored.intent.reference_price,
        )
        for stored in intents.for_cycles(name, cycle_ids)
    )


def _health(
    session: Transaction, settings: Settings, names: Sequence[str], now: datetime, tz: ZoneInfo
) -> HealthSection:
    # Without any heartbeat the cycles come from `trimtab run --once` (a timer): not a fault.
    heartbeats = HeartbeatStore(session)
    daemonised = heartbeats.get() is not None
    trading = {account: account_state(session, account) for account in settings.accounts}
    report = evaluate(
        CycleStore(session), heartbeats, settings, now, states=trading, heartbeat=daemonised
    )
    heartbeat = next((c for c in report.checks if c.name == "heartbeat"), None)
    kill = kill_switch_state(session)
    kill_detail = (
        f"engaged by {kill.actor} since {kill.since.astimezone(tz):%Y-%m-%d %H:%M %Z}: "
        f"{kill.reason}"
        if kill.engaged and kill.since
        else "clear"
    )
    states = {}
    for name in names:
        state = account_state(session, name)
        states[name] = (str(state.state), state.reason)
    broker = {
        c.account: (c.ok, c.detail)
        for c in report.checks
        if c.name == "broker" and c.account in names
    }
    warnings = tuple(
        f"{c.account or 'daemon'}: {c.detail}" for c in report.failing if c.name != "heartbeat"
    )
    return HealthSection(
        checked_at=now,
        heartbeat=heartbeat.detail if heartbeat else "no daemon has run on this state",
        heartbeat_ok=heartbeat.ok if heartbeat else None,
        kill_switch_engaged=kill.engaged,
        kill_switch_detail=kill_detail,
        trading_states=states,
        broker={k: v for k, v in broker.items() if k is not None},
        warnings=warnings,
    )


def _audit_head(log: AuditLog) -> tuple[int, str] | None:
    head = log.newest()
    return None if head is None else (head.seq, head.hash)
