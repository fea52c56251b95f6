"""What trimtab tells its owner, and in which words: one function per occasion.

Messages are built from what trimtab already recorded (cycle reports, audit records, health
checks); `daemon.monitor.notify` scrubs secrets once more and decides whether they go out.
"""

from __future__ import annotations

__all__ = [
    "audit_message",
    "config_rejected_message",
    "cycle_message",
    "digest_message",
    "health_message",
    "skipped_message",
]

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from daemon.audit.events import KillSwitchChanged, TradingStateChanged
from daemon.audit.record import AuditRecord
from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import OrderStatus
from daemon.core.errors import ConfigProblem
from daemon.monitor.health import HealthReport
from daemon.monitor.notify import Message
from daemon.store.audit_log import AuditLog
from daemon.store.cycles import CycleStore
from daemon.store.db import Transaction
from daemon.store.killswitch import current as kill_switch_state
from daemon.store.orders_view import orders_between
from daemon.store.trading_state import account_state

_TROUBLE = (OrderStatus.REJECTED, OrderStatus.UNKNOWN, OrderStatus.SUBMITTING)


def cycle_message(report: CycleReport, mode: str) -> Message | None:
    """Return the message for a finished cycle: its error, or the orders it placed."""
    if report.outcome == "failed":
        error_type = (report.error or "error").split(":", 1)[0]
        return Message(
            kind="error",
            key=f"error:{report.account}:{error_type}",
            title=f"trimtab: {report.account} cycle failed",
            body=f"Cycle {report.cycle_id} failed and sent nothing more.\n{report.error}\n\n"
            f"Read it with: trimtab audit -a {report.account}",
            severity="failure",
        )
    if not report.submitted or not report.outcomes:
        return None
    lines = []
    for outcome in report.outcomes:
        intent, order = outcome.intent, outcome.order
        filled = ""
        if order is not None and order.avg_fill_price is not None:
            filled = f" {order.filled_qty} @ {order.avg_fill_price:,.2f}"
        detail = f" ({outcome.detail})" if outcome.detail else ""
        lines.append(
            f"{intent.side} {intent.qty} {intent.symbol}: {outcome.status}{filled}{detail}"
        )
    placed = sum(1 for o in report.outcomes if o.sent)
    unsent = len(report.outcomes) - placed
    troubled = unsent > 0 or any(o.status in _TROUBLE for o in report.outcomes)
    # What the owner reads first: only orders that left count as placed.
    counted = f"placed {placed} order(s)" + (f", {unsent} not sent" if unsent else "")
    return Message(
        kind="orders",
        key=f"orders:{report.cycle_id}",
        title=f"trimtab: {report.account} {counted} ({mode})",
        body=f"Cycle {report.cycle_id}:\n" + "\n".join(lines),
        severity="warning" if troubled else "success",
    )


def skipped_message(account: str, cycle_ids: Sequence[str], reason: str) -> Message:
    """Return the warning for slots recorded as skipped."""
    shown = ", ".join(cycle_ids[-5:])
    more = f" and {len(cycle_ids) - 5} earlier" if len(cycle_ids) > 5 else ""
    return Message(
        kind="error",
        key=f"skipped:{account}",
        title=f"trimtab: {account} skipped {len(cycle_ids)} slot(s)",
        body=f"Skipped {shown}{more}: {reason}.\n"
        "If a cycle is needed before the next slot: stop trimtab, run "
        f"`trimtab run --once -a {account}`, start trimtab again.",
        severity="warning",
    )


def audit_message(record: AuditRecord) -> Message | None:
    """Return the message for a kill-switch or trading-state audit record, else None."""
    seq, event = record.seq, record.event
    if isinstance(event, KillSwitchChanged):
        engaged = event.engaged
        return Message(
            kind="kill_switch",
            key=f"kill_switch:{seq}",
            title="trimtab: kill switch " + ("ENGAGED" if engaged else "cleared"),
            body=f"By {event.actor}: {event.reason}\n"
            + (
                "Nothing will be submitted until `trimtab resume`."
                if engaged
                else "Cycles may submit again."
            ),
            severity="warning" if engaged else "info",
        )
    if isinstance(event, TradingStateChanged):
        to = event.after
        return Message(
            kind="kill_switch",
            key=f"trading_state:{seq}",
            title=f"trimtab: {record.account} is now {to.upper()}",
            body=f"From {event.before} by {event.actor}: {event.reason}\n"
            + ("Only `trimtab resume` makes it ACTIVE again." if to != "active" else ""),
            severity="failure" if to == "halted" else "warning" if to != "active" else "info",
        )
    return None


def config_rejected_message(problems: Sequence[ConfigProblem]) -> Message:
    """Return the alert for a configuration reload that was refused."""
    return Message(
        kind="error",
        key="config:reload",
        title="trimtab: new configuration refused; still running on the old one",
        body="\n".join(str(p) for p in problems),
        severity="failure",
    )


def health_message(report: HealthReport) -> Message:
    """Return the alert for failing health checks."""
    failing = report.failing
    return Message(
        kind="health",
        key="health:" + ",".join(sorted(c.key for c in failing)),
        title=f"trimtab: {len(failing)} health check(s) failing",
        body="\n".join(f"{c.key}: {c.detail}" for c in failing),
        severity="failure",
    )


def digest_message(
    session: Transaction, settings: Settings, now: datetime, *, health: HealthReport
) -> Message:
    """Return the day's digest: each account's cycles and orders, states, health, audit head."""
    tz = exchange_timezone(settings.exchange)
    day: date = now.astimezone(tz).date()
    midnight = datetime.combine(day, time(), tz)
    kill = kill_switch_state(session)
    lines = [f"Mode: {settings.mode}. Kill switch: {'ENGAGED' if kill.engaged else 'clear'}."]
    for account in settings.accounts:
        outcomes = Counter(CycleStore(session).outcomes_on(account, day))
        orders = Counter(
            line.status
            for line in orders_between(
                session, since=midnight, until=midnight + timedelta(days=1), account=account
            )
        )
        cycles = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "none"
        placed = ", ".join(f"{n} {s}" for s, n in sorted(orders.items())) or "none"
        state = account_state(session, account)
        lines.append(f"{account} ({state.state}): cycles {cycles}; orders {placed}.")
    if health.ok:
        lines.append("Health: all checks pass.")
    else:
        lines += [f"Health: {c.key}: {c.detail}" for c in health.failing]
    head = AuditLog(session).newest()
    if head is not None:
        # Kept outside the machine, the head lets a later `audit verify --head` prove that the
        # log up to it was not rewritten (records after it are not proven by it).
        lines.append(
            f"Audit log head: record {head.seq}, hash {head.hash}. Keep this message: "
            f"trimtab audit verify --head {head.seq}:{head.hash} proves every record up to "
            f"{head.seq} is as written."
        )
    return Message(
        kind="digest",
        key=f"digest:{day}",
        title=f"trimtab daily digest {day}",
        body="\n".join(lines),
        repeat_after=timedelta(days=1),
    )
