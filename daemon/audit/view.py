"""One-paragraph, human-readable summaries of audit records, for `trimtab audit` and reports."""

from __future__ import annotations

__all__ = ["readable", "summarize"]

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from daemon.audit.events import (
    AlertChanged,
    AuditEvent,
    BacktestRefused,
    CashMovement,
    ConfigRejected,
    ConfigReloaded,
    CycleFailed,
    CycleFinished,
    CycleStarted,
    HouseholdSplitMade,
    IncomeHeld,
    IncomePlanned,
    IncomeRaised,
    IncomeRefused,
    JobRefused,
    KillSwitchChanged,
    OrderIntentSent,
    OrderResult,
    OrdersNotCancelled,
    PlanMade,
    RawEvent,
    Reconciled,
    RiskDecisions,
    SnapshotTaken,
    TargetsChosen,
    TaxDecisions,
    TaxLots,
    TradingStateChanged,
)
from daemon.audit.record import AuditRecord
from daemon.core.money import usd


def _money(value: Decimal | None) -> str:
    return str(value) if value is None else usd(value)


def _pct(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def _cycle_started(e: CycleStarted) -> str:
    what = "submit" if e.submit else "plan only"
    extra = f", withdrawal {_money(e.withdrawal)}" if e.withdrawal else ""
    return f"mode {e.mode}, {what}; broker {e.broker}, strategy {e.strategy}{extra}"


def _snapshot(e: SnapshotTaken) -> str:
    snap = e.snapshot
    synthetic = any(q.synthetic for q in snap.quotes.values())
    positions = ", ".join(f"{pos.qty} {pos.symbol}" for pos in snap.positions)
    prices = ", ".join(f"{s} {_money(q.price)}" for s, q in sorted(snap.quotes.items()))
    label = " (SYNTHETIC prices)" if synthetic else ""
    reserved = snap.reserved_cash
    held = f" (+ {_money(reserved)} held by open buys, not spent)" if reserved else ""
    return (
        f"cash {_money(snap.cash)}{held}; positions: {positions or 'none'}; "
        f"prices{label}: {prices or 'none'}"
    )


def _targets(e: TargetsChosen) -> str:
    return ", ".join(f"{s} {_pct(w)}" for s, w in e.targets.items())


def _household(e: HouseholdSplitMade) -> str:
    split = e.split
    lines = [f"household {_money(split.value)} split over {len(split.accounts)} account(s)"]
    if split.targets_from:
        lines.append(f"  targets from strategy {split.targets_from}")
        lines += [f"    {s}: {reason}" for s, reason in sorted(split.reasons.items())]
    for account in split.accounts:
        weights = ", ".join(f"{s} {_pct(w)}" for s, w in account.targets.items())
        where = e.sources.get(account.account, "")
        lines.append(f"  {account.account} ({account.type}): {weights} [{where}]")
    lines += [f"  note: {note}" for note in split.notes]
    return "\n".join(lines)


def _plan(e: PlanMade) -> str:
    plan = e.plan
    lines = [
        f"{len(plan.orders)} order(s); rebalance "
        f"{'triggered' if plan.triggered else 'not needed'}; value {_money(plan.nav)}; "
        f"cash {_money(plan.cash_before)} -> {_money(plan.cash_after)}"
    ]
    lines += [f"  {order.reason}" for order in plan.orders]
    lines += [f"  drift {row.symbol}: {row.note}" for row in plan.drift if row.note]
    lines += [f"  note: {note}" for note in plan.notes]
    return "\n".join(lines)


def _decisions(e: RiskDecisions) -> str:
    allowed = sum(1 for d in e.decisions if d.allowed)
    lines = [f"{allowed} allowed, {len(e.decisions) - allowed} refused"]
    lines += [
        f"  refused {d.side} {d.qty} {d.symbol} by {d.check}: {d.reason}"
        for d in e.decisions
        if not d.allowed
    ]
    return "\n".join(lines)


def _intent(e: OrderIntentSent) -> str:
    i = e.intent
    return f"sending {i.client_order_id}: {i.side} {i.qty} {i.symbol} ({i.order_type})"


def _result(e: OrderResult) -> str:
    order = e.broker_order
    fill = ""
    if order is not None and order.avg_fill_price is not None:
        fill = f", filled {order.filled_qty} @ {_money(order.avg_fill_price)}"
    detail = f" ({e.detail})" if e.detail else ""
    ident = e.client_order_id or ""
    qty = "" if e.qty is None else e.qty
    return f"{ident} {e.side} {qty} {e.symbol}: {e.status}{fill}{detail}"


def _finished(e: CycleFinished) -> str:
    why = f" ({e.why_not_submitted})" if e.why_not_submitted else ""
    return f"{e.outcome}: {e.planned_orders} planned, {len(e.orders)} sent{why}"


def _kill(e: KillSwitchChanged) -> str:
    state = "ENGAGED" if e.engaged else "cleared"
    return f"kill switch {state} by {e.actor}: {e.reason}"


def _not_cancelled(e: OrdersNotCancelled) -> str:
    return f"open orders NOT cancelled (by {e.actor}): {e.reason}; fix: {e.fix}"


def _cash(e: CashMovement) -> str:
    return f"{e.kind} {_money(e.amount)}; cash now {_money(e.cash_after)}"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _reconciled(e: Reconciled) -> str:
    held = ", ".join(f"{_qty(q)} {s}" for s, q in sorted(e.positions.items()))
    head = "baseline: broker positions taken as the book" if e.baseline else "reconciled"
    lines = [f"{head}; cash {_money(e.cash)}; positions: {held or 'none'}"]
    lines += [
        f"  fill {f.side} {_qty(f.qty)} {f.symbol} @ {_money(f.price)} ({f.client_order_id})"
        for f in e.new_fills
    ]
    if e.external_fills:
        lines.append(f"  fills not trimtab's: {', '.join(e.external_fills)}")
    lines += [
        f"  open order not trimtab's: {o.side} {_qty(o.qty)} {o.symbol} ({o.status})"
        for o in e.external_open_orders
    ]
    if e.unresolved_symbols:
        lines.append(f"  unresolved: {', '.join(e.unresolved_symbols)}")
    lines += [
        f"  MISMATCH {s}: book {_qty(m.expected)}, broker {_qty(m.broker)}"
        for s, m in sorted(e.mismatches.items())
    ]
    return "\n".join(lines)


def _config_rejected(e: ConfigRejected) -> str:
    lines = [f"configuration refused ({e.action}): {len(e.problems)} problem(s)"]
    lines += [f"  {p.path}: {p.problem} (fix: {p.fix})" for p in e.problems]
    return "\n".join(lines)


def _config_reloaded(e: ConfigReloaded) -> str:
    changed = ", ".join(e.changed) or "nothing"
    return f"configuration reloaded; mode {e.mode}; changed: {changed}"


def _trading_state(e: TradingStateChanged) -> str:
    return f"trading {e.before} -> {e.after} by {e.actor}: {e.reason}"


def _tax_decisions(e: TaxDecisions) -> str:
    lines = [f"{len(e.decisions)} tax decision(s); lots by {e.lot_method}"]
    for d in e.decisions:
        until = f" until {d.until}" if d.until else ""
        lines.append(
            f"  {d.action} {d.symbol} {_qty(d.qty_before)} -> {_qty(d.qty_after)}{until}: "
            f"{d.reason}"
        )
    if e.harvest:
        lines.append(f"  harvest: {', '.join(e.harvest)}")
    return "\n".join(lines)


def _tax_lots(e: TaxLots) -> str:
    if e.rejected:
        rejected = [e.rejected] if isinstance(e.rejected, str) else list(e.rejected)
        what = f"import of {e.imported}" if e.imported else "declared trade"
        return "\n".join([f"{what} refused:", *(f"  {r}" for r in rejected)])
    if e.imported is not None:
        return f"imported {e.lots} lot(s) from {e.imported}"
    if e.declared is not None:
        t = e.declared
        return (
            f"declared {t.side} {t.qty} {t.symbol} in {t.account} on {t.date} for {t.amount}"
            f" (recorded as {e.recorded_as} {e.id})"
        )
    lines = [f"{len(e.sales or ())} sale(s) added to the ledger"]
    lines += [
        f"  {s.symbol} {_qty(s.qty)} sold {s.sold} for {_money(s.proceeds)} ({s.method})"
        for s in e.sales or ()
    ]
    return "\n".join(lines)


def _alert(e: AlertChanged) -> str:
    title = f" {e.title}" if e.title else ""
    detail = f": {e.detail}" if e.detail else ""
    return f"{e.severity} {e.key} {e.status}{title}{detail}"


def _income_plan(e: IncomePlanned) -> str:
    shares = ", ".join(f"{a} {_money(v)}" for a, v in sorted(e.withdrawals.items()))
    moves = "".join(
        f"; move {_money(t.amount)} from {t.from_account} to {t.to_account}" for t in e.transfers
    )
    return f"{e.month}: {_money(e.amount)} paid {e.payout}, raised by {shares or 'nothing'}{moves}"


def readable(value: Any, indent: str = "") -> str:
    """Return JSON-like data as indented `key: value` lines a person can read."""
    if isinstance(value, Mapping):
        if not value:
            return f"{indent}(empty)"
        lines = []
        for key, item in value.items():
            if isinstance(item, Mapping | list | tuple) and item:
                lines.append(f"{indent}{key}:")
                lines.append(readable(item, indent + "  "))
            else:
                lines.append(f"{indent}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return indent + ", ".join(_scalar(v) for v in value)
        return "\n".join(
            readable(v, indent + "  ").replace(indent + "  ", indent + "- ", 1) for v in value
        )
    return indent + _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple) and not value:
        return "none"
    if isinstance(value, Mapping) and not value:
        return "(empty)"
    return str(value)


_SUMMARIES: Mapping[type[Any], Callable[[Any], str]] = {
    CycleStarted: _cycle_started,
    SnapshotTaken: _snapshot,
    TargetsChosen: _targets,
    HouseholdSplitMade: _household,
    PlanMade: _plan,
    RiskDecisions: _decisions,
    OrderIntentSent: _intent,
    OrderResult: _result,
    CycleFinished: _finished,
    CycleFailed: lambda e: f"{e.error_type}: {e.error}",
    KillSwitchChanged: _kill,
    OrdersNotCancelled: _not_cancelled,
    CashMovement: _cash,
    Reconciled: _reconciled,
    ConfigRejected: _config_rejected,
    ConfigReloaded: _config_reloaded,
    TradingStateChanged: _trading_state,
    TaxDecisions: _tax_decisions,
    TaxLots: _tax_lots,
    AlertChanged: _alert,
    IncomePlanned: _income_plan,
    IncomeRefused: lambda e: f"{e.month}: {e.problem} (fix: {e.fix})",
    IncomeRaised: lambda e: (
        f"{e.month}: {_money(e.amount)} raised, cash now {_money(e.cash_after)}"
    ),
    IncomeHeld: lambda e: f"{e.month}: {_money(e.withdrawal)} kept for the payout ({e.reason})",
    JobRefused: lambda e: (
        f"job {e.job_id} ({e.trading_day} {e.slot}) refused: {e.error_type}: {e.error}; {e.action}"
    ),
    BacktestRefused: lambda e: f"backtest refused: {e.detail}",
}


def _summary(event: AuditEvent | RawEvent) -> str | None:
    render = _SUMMARIES.get(type(event))
    return None if render is None else render(event)


def summarize(record: AuditRecord) -> str:
    """Return a short text a person can read for `record`; its payload as `key: value` lines
    for a payload its kind's event type cannot read."""
    try:
        summary = _summary(record.event)
    except ArithmeticError:  # a number too large to print as money: show it as stored
        summary = None
    if summary is not None:
        return summary
    # A payload edited into something other than an object is still shown, as it is.
    return readable(record.payload)
