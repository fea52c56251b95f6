"""Alerts: which monitored conditions hold, and which of them start a new episode. Pure.

`evaluate_alerts` turns what is known about one account now (`AlertInputs`) into the alerts
whose condition holds, each at or beyond its threshold. `advance` compares them with the
stored episode states: an alert fires when its condition has held for its `hold` time and it
has not fired in this episode yet; an episode ends when a check of its family finds the
condition gone. A family that was not checked this time (no plan, no valuation) keeps its
episodes as they are, so missing data never clears or re-fires an alert.
"""

from __future__ import annotations

__all__ = [
    "BROKER_UNREACHABLE",
    "CONCENTRATION",
    "CYCLE_FAILED",
    "CYCLE_SKIPPED",
    "DRAWDOWN",
    "DRIFT",
    "LEDGER_MISMATCH",
    "NEVER_REACHED",
    "RECONCILIATION_MISMATCH",
    "STATES",
    "TOLERANCE",
    "UNRESOLVED_ORDER",
    "Alert",
    "AlertInputs",
    "AlertState",
    "CycleStatus",
    "DriftObservation",
    "OrderAtIssue",
    "Severity",
    "State",
    "Transition",
    "advance",
    "checked_families",
    "evaluate_alerts",
    "family_of",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from daemon.config.monitoring import AlertSettings
from daemon.core.tax.mismatch import LotMismatch

Severity = Literal["warning", "failure"]
State = Literal["pending", "firing", "cleared"]
STATES: tuple[State, ...] = ("pending", "firing", "cleared")

DRAWDOWN = "drawdown"
DRIFT = "drift"
CONCENTRATION = "concentration"
CYCLE_FAILED = "cycle_failed"
CYCLE_SKIPPED = "cycle_skipped"
BROKER_UNREACHABLE = "broker_unreachable"
RECONCILIATION_MISMATCH = "reconciliation_mismatch"
UNRESOLVED_ORDER = "unresolved_order"
NEVER_REACHED = "order_never_reached"
LEDGER_MISMATCH = "ledger_mismatch"
TOLERANCE = 1e-9
"""Fractions are float: a value that reaches its threshold in exact arithmetic may land a
rounding error below it (1 - 850/1000 is 0.15 only approximately), and must still fire."""


def _reaches(value: float, threshold: Decimal) -> bool:
    return value >= float(threshold) - TOLERANCE


@dataclass(frozen=True, slots=True)
class DriftObservation:
    """A holding outside its band: its weight and the band, as fractions of the account."""

    symbol: str
    weight: Decimal
    low: Decimal
    high: Decimal
    key: str = ""
    """What the alert is kept under (empty: `symbol`): a primary's, for a pool whose name
    ("BBB with BBX") changes as alternates join or leave it, so its days keep counting."""


@dataclass(frozen=True, slots=True)
class CycleStatus:
    """The latest scheduled cycle that finished (succeeded, failed or skipped)."""

    cycle_id: str
    outcome: str
    error: str | None
    broker_error: bool
    """The failure was the broker being unreachable (it counts for that alert instead)."""


@dataclass(frozen=True, slots=True)
class OrderAtIssue:
    """An order intent an alert names: unresolved, or found never to have reached the broker."""

    client_order_id: str
    symbol: str
    side: str
    status: str
    since: datetime
    """When it was sent (unresolved), or when it was found never reached."""
    detail: str


def _empty() -> Mapping[str, tuple[Decimal, Decimal]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AlertInputs:
    """What is known about one account at `at`; None means not known this time."""

    account: str
    at: datetime
    drawdown: float | None = None
    """How far the TWR index stands below its peak (0.2 = 20% below)."""
    out_of_band: Sequence[DriftObservation] | None = None
    """Holdings outside their bands at this cycle (empty: all inside)."""
    largest_holding: tuple[str, float] | None = None
    """Symbol and weight of the largest holding; None when unknown or nothing is held."""
    concentration_known: bool = False
    last_cycle: CycleStatus | None = None
    broker_down_since: datetime | None = None
    """Start of the current run of cycles that failed to reach the broker."""
    broker_known: bool = False
    mismatches: Mapping[str, tuple[Decimal, Decimal]] | None = field(default=None)
    """symbol -> (expected by trimtab, reported by the broker) at the latest reconciliation."""
    unresolved_orders: Sequence[OrderAtIssue] | None = None
    """Intents whose fate at the broker is not settled (their symbols are blocked)."""
    never_reached: Sequence[OrderAtIssue] | None = None
    """Intents found never to have reached the broker in the last `NEVER_REACHED_WINDOW`."""
    ledger_mismatches: Sequence[LotMismatch] | None = None
    """Symbols whose open tax lots differ from the broker's position at the latest cycle that
    compared them (empty: they agree again)."""


@dataclass(frozen=True, slots=True)
class Alert:
    account: str
    key: str
    """Unique per account and condition: `drawdown`, `drift:VTI`, `cycle_failed`, ..."""
    severity: Severity
    title: str
    detail: str
    value: float | None = None
    threshold: float | None = None
    hold: timedelta = timedelta(0)
    """How long the condition must last before the alert fires."""


@dataclass(frozen=True, slots=True)
class AlertState:
    """One condition's current episode, as stored between checks."""

    account: str
    key: str
    state: State
    severity: Severity
    since: datetime
    last_seen_at: datetime
    fired_at: datetime | None
    cleared_at: datetime | None
    message: str
    episodes: int
    """How many episodes of this condition fired so far."""


@dataclass(frozen=True, slots=True)
class Transition:
    states: tuple[AlertState, ...]
    """Every state that changed (to store)."""
    fired: tuple[Alert, ...]
    """Alerts that start firing now (to audit and send)."""
    cleared: tuple[AlertState, ...]
    """Firing episodes whose condition is gone (to audit)."""


def family_of(key: str) -> str:
    """Return the condition family of an alert key (`drift:VTI` -> `drift`)."""
    return key.split(":", 1)[0]


def checked_families(inputs: AlertInputs, thresholds: AlertSettings) -> frozenset[str]:
    """Return the families `inputs` can decide (present or absent) under `thresholds`."""
    checked: set[str] = set()
    if not thresholds.enabled:
        return frozenset()
    if inputs.drawdown is not None and thresholds.drawdown is not None:
        checked.add(DRAWDOWN)
    if inputs.out_of_band is not None and thresholds.drift_days is not None:
        checked.add(DRIFT)
    if inputs.concentration_known and thresholds.concentration is not None:
        checked.add(CONCENTRATION)
    if inputs.last_cycle is not None and thresholds.cycle_failed:
        checked.add(CYCLE_FAILED)
    if inputs.last_cycle is not None and thresholds.cycle_skipped:
        checked.add(CYCLE_SKIPPED)
    if inputs.broker_known and thresholds.broker_unreachable_minutes is not None:
        checked.add(BROKER_UNREACHABLE)
    if inputs.mismatches is not None and thresholds.reconciliation_mismatch:
        checked.add(RECONCILIATION_MISMATCH)
    if inputs.unresolved_orders is not None and thresholds.unresolved_orders:
        checked.add(UNRESOLVED_ORDER)
    if inputs.never_reached is not None and thresholds.unresolved_orders:
        checked.add(NEVER_REACHED)
    if inputs.ledger_mismatches is not None:
        checked.add(LEDGER_MISMATCH)
    return frozenset(checked)


def evaluate_alerts(inputs: AlertInputs, thresholds: AlertSettings) -> list[Alert]:
    """Return the alerts whose condition holds now, each at or beyond its threshold."""
    if not thresholds.enabled:
        return []
    account = inputs.account
    found: list[Alert] = []
    limit = thresholds.drawdown
    if inputs.drawdown is not None and limit is not None and _reaches(inputs.drawdown, limit):
        found.append(
            Alert(
                account,
                DRAWDOWN,
                "warning",
                f"{account} is {inputs.drawdown:.1%} below its peak",
                f"The time-weighted value of {account} stands {inputs.drawdown:.2%} below its "
                f"highest point (alert at {float(limit):.1%}). Deposits and withdrawals are "
                "excluded.",
                inputs.drawdown,
                float(limit),
            )
        )
    days = thresholds.drift_days
    if inputs.out_of_band is not None and days is not None:
        for row in inputs.out_of_band:
            found.append(
                Alert(
                    account,
                    f"{DRIFT}:{row.key or row.symbol}",
                    "warning",
                    f"{account}: {row.symbol} outside its band for {days}+ days",
                    f"{row.symbol} is at {row.weight:.2%} against a band of {row.low:.2%} to "
                    f"{row.high:.2%}, and has been outside it at every cycle for at least "
                    f"{days} day(s) without a rebalance bringing it back (buy-only, a budget, "
                    "a refused order or dry-run mode can hold it back).",
                    float(row.weight),
                    None,
                    timedelta(days=days),
                )
            )
    cap = thresholds.concentration
    if inputs.largest_holding is not None and cap is not None:
        symbol, weight = inputs.largest_holding
        if _reaches(weight, cap):
            found.append(
                Alert(
                    account,
                    CONCENTRATION,
                    "warning",
                    f"{account}: {symbol} is {weight:.1%} of the account",
                    f"{symbol} is {weight:.2%} of {account}'s value (alert at {float(cap):.1%}).",
                    weight,
                    float(cap),
                )
            )
    found += _cycle_alerts(inputs, thresholds)
    minutes = thresholds.broker_unreachable_minutes
    since = inputs.broker_down_since
    if since is not None and minutes is not None:
        down = inputs.at - since
        if down >= timedelta(minutes=minutes):
            found.append(
                Alert(
                    account,
                    BROKER_UNREACHABLE,
                    "failure",
                    f"{account}: broker unreachable",
                    f"Cycles of {account} have failed to reach the broker since "
                    f"{since:%Y-%m-%d %H:%M} UTC ({down.total_seconds() / 60:.0f} min; alert at "
                    f"{minutes} min). Nothing is traded until it answers.",
                    down.total_seconds() / 60,
                    float(minutes),
                )
            )
    if inputs.mismatches and thresholds.reconciliation_mismatch:
        detail = ", ".join(
            f"{s}: trimtab expected {e}, the broker has {b}"
            for s, (e, b) in sorted(inputs.mismatches.items())
        )
        found.append(
            Alert(
                account,
                RECONCILIATION_MISMATCH,
                "failure",
                f"{account}: positions differ from the broker",
                f"Reconciliation found positions no recorded fill explains: {detail}. The "
                f"account is held back until `trimtab resume -a {account}`.",
            )
        )
    if thresholds.unresolved_orders:
        found += _order_alerts(inputs)
    found += [
        Alert(
            account,
            f"{LEDGER_MISMATCH}:{m.symbol}",
            "warning",
            f"{account}: tax lots of {m.symbol} differ from the broker",
            f"In {account}, {m.reason}. Fix: {m.fix}. It is still rebalanced, and buys are "
            "still kept out of wash-sale windows.",
        )
        for m in inputs.ledger_mismatches or ()
    ]
    return found


def _order_alerts(inputs: AlertInputs) -> list[Alert]:
    """One alert per unresolved order, and one per order found never to have reached it."""
    account = inputs.account
    found = [
        Alert(
            account,
            f"{UNRESOLVED_ORDER}:{order.client_order_id}",
            "failure",
            f"{account}: {order.side} {order.symbol} unresolved at the broker",
            f"Order {order.client_order_id} ({order.side} {order.symbol}, sent "
            f"{order.since:%Y-%m-%d %H:%M} UTC) is {order.status}: the broker has not said what "
            f"became of it ({order.detail}). No new order in {order.symbol} is sent until each "
            "cycle's lookup resolves it or the broker's rule makes 'not found' final; to settle "
            f"it by hand after looking at the account: `trimtab orders unresolved -a {account}`.",
        )
        for order in inputs.unresolved_orders or ()
    ]
    found += [
        Alert(
            account,
            f"{NEVER_REACHED}:{order.client_order_id}",
            "warning",
            f"{account}: {order.side} {order.symbol} never reached the broker",
            f"Order {order.client_order_id} ({order.side} {order.symbol}) got no answer and the "
            f"broker has no such order: {order.detail}. Nothing was resent; the next cycle plans "
            f"{order.symbol} again.",
        )
        for order in inputs.never_reached or ()
    ]
    return found


def _cycle_alerts(inputs: AlertInputs, thresholds: AlertSettings) -> list[Alert]:
    cycle = inputs.last_cycle
    account = inputs.account
    if cycle is None:
        return []
    if cycle.outcome == "failed" and thresholds.cycle_failed and not cycle.broker_error:
        return [
            Alert(
                account,
                CYCLE_FAILED,
                "failure",
                f"{account}: cycle failed",
                f"Cycle {cycle.cycle_id} failed and sent nothing more: {cycle.error}",
            )
        ]
    if cycle.outcome == "skipped" and thresholds.cycle_skipped:
        return [
            Alert(
                account,
                CYCLE_SKIPPED,
                "warning",
                f"{account}: slot skipped",
                f"Slot {cycle.cycle_id} was skipped: {cycle.error}",
            )
        ]
    return []


def advance(
    previous: Mapping[str, AlertState],
    alerts: Sequence[Alert],
    checked: frozenset[str],
    *,
    account: str,
    now: datetime,
) -> Transition:
    """Move the account's episodes on by one check (see the module docstring)."""
    changed: list[AlertState] = []
    fired: list[Alert] = []
    cleared: list[AlertState] = []
    present = {a.key for a in alerts}
    for alert in alerts:
        before = previous.get(alert.key)
        ongoing = before is not None and before.state != "cleared"
        since = before.since if before is not None and ongoing else now
        due = now - since >= alert.hold
        already = ongoing and before is not None and before.state == "firing"
        episodes = before.episodes if before is not None else 0
        state: State = "firing" if due else "pending"
        if due and not already:
            fired.append(alert)
            episodes += 1
        changed.append(
            AlertState(
                account=account,
                key=alert.key,
                state=state,
                severity=alert.severity,
                since=since,
                last_seen_at=now,
                fired_at=now if due and not already else (before.fired_at if before else None),
                cleared_at=None,
                message=alert.detail,
                episodes=episodes,
            )
        )
    for key, before in sorted(previous.items()):
        if key in present or before.state == "cleared" or family_of(key) not in checked:
            continue
        after = replace(before, state="cleared", cleared_at=now)
        changed.append(after)
        if before.state == "firing":
            cleared.append(after)
    return Transition(tuple(changed), tuple(fired), tuple(cleared))
