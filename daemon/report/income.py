"""The report's income section: the monthly income plan's payouts, raised and planned.

Read from the audit log and the configuration only (a report never asks a broker): past and
current months from their `income_plan` and `income_raised` records, the months after from
the plan's rule (a share of the household takes the household's value on the report's day).
Expected dividends need the broker's history and are shown by `trimtab income`, not here.
"""

from __future__ import annotations

__all__ = ["IncomeMonth", "IncomeSection", "gather_income", "income_chart"]

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from daemon.audit.events import IncomePlanned, IncomeRaised, IncomeRefused
from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone
from daemon.core.income import PayoutWindow, month_amount, payout_window
from daemon.core.money import usd
from daemon.core.sessions import sessions_between

if TYPE_CHECKING:
    # Annotations only: the backtest's page imports this module for its chart, not the store.
    from daemon.store.audit_log import AuditLog

_ZERO = Decimal(0)
MONTHS_BACK = 6
MONTHS_AHEAD = 6


@dataclass(frozen=True, slots=True)
class IncomeMonth:
    month: str
    payout: date
    planned: Decimal
    raised: Decimal
    status: str
    """paid (the payout day is past), raised, raising, planned (not started), refused."""
    transfers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncomeSection:
    account: str
    months: tuple[IncomeMonth, ...]
    note: str = ""

    @property
    def received(self) -> Decimal:
        return sum((m.raised for m in self.months if m.status == "paid"), _ZERO)


def gather_income(
    log: AuditLog, settings: Settings, day: date, household_value: Decimal | None
) -> IncomeSection | None:
    """Return the section for `day`, None when no income plan is configured."""
    income = settings.income
    if income is None:
        return None
    rule = income.rule()
    first = _add_months(date(day.year, day.month, 1), -MONTHS_BACK)
    last = _add_months(first, MONTHS_BACK + MONTHS_AHEAD + 1)
    days = [s.day for s in sessions_between(settings.exchange, first - timedelta(days=31), last)]
    tz = exchange_timezone(settings.exchange)
    plans, raised, refused = _records(
        log,
        datetime.combine(first - timedelta(days=31), time(), tz),
        datetime.combine(day + timedelta(days=1), time(), tz),
    )
    months = []
    for n in range(MONTHS_BACK + MONTHS_AHEAD + 1):
        start = _add_months(first, n)
        window = payout_window(rule, start.year, start.month, days)
        plan = plans.get(window.month)
        if plan is not None:
            planned = plan.amount
        elif window.payout < day or (rule.annual_pct is not None and household_value is None):
            planned = _ZERO  # a month before the plan's records, or no value to take a share of
        else:
            planned = month_amount(rule, window.payout, household_value or _ZERO)
        got = raised.get(window.month, _ZERO)
        status = _status(window, day, plan, got, window.month in refused)
        if status == "missed" and plan is None:
            continue  # before trimtab ran the plan: nothing to say
        months.append(
            IncomeMonth(
                month=window.month,
                payout=window.payout,
                planned=planned,
                raised=got,
                status=status,
                transfers=tuple(
                    f"{usd(t.amount)} from {t.from_account} to {t.to_account}"
                    for t in (plan.transfers if plan else ())
                ),
            )
        )
    note = (
        f"paid into {income.account}; cash raised in other accounts must be moved there by "
        "the owner (trimtab cannot move cash between accounts)"
    )
    return IncomeSection(account=income.account, months=tuple(months), note=note)


def _records(
    log: AuditLog, since: datetime, until: datetime
) -> tuple[dict[str, IncomePlanned], dict[str, Decimal], set[str]]:
    """Return the months' plans, what was raised of each, and the months refused."""
    plans: dict[str, IncomePlanned] = {}
    raised: defaultdict[str, Decimal] = defaultdict(Decimal)
    refused: set[str] = set()
    kinds = ["income_plan", "income_raised", "income_refused"]
    for record in log.records(since=since, until=until, kinds=kinds):
        event = record.event
        if isinstance(event, IncomePlanned):
            plans[event.month] = event
        elif isinstance(event, IncomeRaised):
            raised[event.month] += event.amount
        elif isinstance(event, IncomeRefused):
            refused.add(event.month)
    return plans, dict(raised), refused


def _status(
    window: PayoutWindow, day: date, plan: IncomePlanned | None, got: Decimal, refused: bool
) -> str:
    if refused and plan is None:
        return "refused"
    if window.payout < day:
        return "paid" if plan is not None and got >= plan.amount else "missed"
    if window.open_on(day):
        return "raised" if plan is not None and got >= plan.amount else "raising"
    return "planned"


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, 1)


def income_chart(section: IncomeSection) -> str:
    """Return bars of each month's payout: raised (solid) against planned (outline)."""
    from daemon.report.charts import GRID, INK, LINE, MUTED, WIDTH, _figure, _svg

    months = section.months
    with _figure(WIDTH, 2.6) as figure:
        axes = figure.add_subplot()
        xs = range(len(months))
        planned = [float(m.planned) for m in months]
        got = [float(m.raised) for m in months]
        axes.bar(xs, planned, width=0.7, color="none", edgecolor=MUTED, linewidth=1.2)
        axes.bar(xs, got, width=0.5, color=LINE)
        axes.set_xticks(list(xs), [m.month for m in months], rotation=0, fontsize=8)
        axes.set_ylabel("currency", color=MUTED)
        axes.yaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
        for x, m in zip(xs, months, strict=True):
            if m.status in ("refused", "missed"):
                axes.annotate(m.status, (x, 0), ha="center", va="bottom", color=INK, fontsize=8)
        return _svg(figure, "Income: raised (solid) against planned (outline), by month")
