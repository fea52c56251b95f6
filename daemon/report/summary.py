"""The day in plain text, for a notification; and what needs a person's look, for both forms."""

from __future__ import annotations

__all__ = ["attention", "session_note", "summary_text"]

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from daemon.core.planner.verdict import pool_band
from daemon.report.fmt import money, pct, signed_money, signed_pct
from daemon.report.model import AccountReport, AllocationRow, DailyReport

CALM_OUTCOMES = ("succeeded", "planned")
CALM_STATUSES = ("filled",)


def attention(report: DailyReport) -> list[str]:
    """Return one line per thing a person should look at; empty when the day was ordinary."""
    items: list[str] = []
    health = report.health
    if health.kill_switch_engaged:
        items.append(f"Kill switch {health.kill_switch_detail}")
    for name, (state, reason) in health.trading_states.items():
        if state != "active":
            items.append(f"{name} is {state.upper()}: {reason}")
    for account in report.accounts:
        items += _account_items(account)
    if health.heartbeat_ok is False:
        items.append(f"Heartbeat: {health.heartbeat}")
    items += [f"Health: {w}" for w in health.warnings]
    return items


def _account_items(account: AccountReport) -> list[str]:
    items = [f"{account.name}: {note}" for note in account.notes]
    for cycle in account.cycles:
        if cycle.outcome not in CALM_OUTCOMES:
            items.append(f"{account.name}: cycle {cycle.cycle_id} {cycle.outcome}: {cycle.detail}")
    items += [f"{account.name}: {line}" for line in _out_of_band(account.allocation)]
    if account.refusals:
        by = Counter(r.source for r in account.refusals)
        what = ", ".join(f"{n} by {source}" for source, n in sorted(by.items()))
        items.append(f"{account.name}: {len(account.refusals)} order(s) refused ({what})")
    unfilled = [o for o in account.orders if o.status not in CALM_STATUSES]
    if unfilled:
        statuses = Counter(o.status for o in unfilled)
        what = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        items.append(f"{account.name}: {len(unfilled)} order(s) not filled ({what})")
    return items


def summary_text(report: DailyReport, *, path: str | None = None) -> str:
    """Return the day's summary: household, each account, tax, what needs a look."""
    household = report.household
    perf = report.household_performance
    lines = [f"trimtab daily report {report.day} ({report.mode})"]
    if not report.trading_day:
        lines.append(session_note(report))
    ytd = signed_pct(perf.returns.year_to_date) if perf else "—"
    bench = ""
    if report.benchmark and perf and perf.benchmark:
        bench = f" ({report.benchmark} {signed_pct(perf.benchmark.year_to_date)})"
    lines.append(
        f"Household {money(household.value)}: day {signed_money(household.day_change)} "
        f"({signed_pct(perf.returns.day if perf else None)}), cash {money(household.cash)}, "
        f"year to date {ytd}{bench}."
    )
    for account in report.accounts:
        lines.append(_account_line(account))
    tax = report.tax
    if tax.available:
        lines.append(
            f"Tax {tax.year}: short-term {signed_money(tax.short_term)}, long-term "
            f"{signed_money(tax.long_term)}, harvested {money(tax.harvested)}, disallowed "
            f"{money(tax.disallowed)}; {len(tax.windows)} open wash-sale window(s)."
        )
    elif tax.note:
        lines.append(f"Tax: {tax.note}.")
    items = attention(report)
    if items:
        lines.append("Needs a look:")
        lines += [f"- {item}" for item in items]
    else:
        lines.append("Nothing needs attention.")
    if path:
        lines.append(f"Full report: {path}")
    return "\n".join(lines)


def session_note(report: DailyReport) -> str:
    """Say that the report's day had no session, and which one the figures are from."""
    when = f"{report.day:%A} {report.day}"
    last = (
        f"the last session, {report.last_session:%A} {report.last_session}"
        if report.last_session
        else "the last session before it"
    )
    return f"{when} is not a trading day on {report.exchange}: figures are as of {last}."


def _account_line(account: AccountReport) -> str:
    outcomes = Counter(c.outcome for c in account.cycles)
    cycles = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "none"
    statuses = Counter(o.status for o in account.orders)
    orders = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none"
    slippage = sum((o.slippage for o in account.orders if o.slippage is not None), Decimal(0))
    value = account.value
    return (
        f"{account.name} {money(value.value)}: day {signed_money(value.day_change)}; "
        f"cycles {cycles}; orders {orders}"
        + (f" (slippage {signed_money(slippage)})" if account.orders else "")
        + f"; refused {len(account.refusals)}."
    )


def _out_of_band(rows: Sequence[AllocationRow]) -> list[str]:
    """Say each holding outside its band; a primary and the alternates standing in for it
    once, with their weights and targets added up, as the band test saw them."""
    lines = []
    said: set[str] = set()
    for row in rows:
        if not row.out_of_band or row.pool in said:
            continue
        if not row.pool:
            lines.append(
                f"{row.symbol} at {pct(row.weight)} is outside its band "
                f"{pct(row.low)}–{pct(row.high)} (target {pct(row.target)})"
            )
            continue
        said.add(row.pool)
        pool = pool_band(rows, row)
        lines.append(
            f"{pool.name} at {pct(pool.weight)} is outside their band "
            f"{pct(pool.low)}–{pct(pool.high)} (target {pct(pool.target)})"
        )
    return lines
