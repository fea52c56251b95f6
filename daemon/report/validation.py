"""Paper validation: what trimtab planned against what the broker did, over a period.

Pure: `daemon.cli.validate_cmd` reads the audit records, order intents, their events and
fills, and hands them here; this module returns rows and findings. Per account:

| measure | from |
|---|---|
| cycles, failed cycles, skipped slots | `cycle_started` records that meant to submit (plan-only runs are left out), `cycle_failed`, the `cycle_finished` records of slots `trimtab run` reached too late |
| planned, denied, not sent | orders in `plan` records; refusals of those orders in `risk_decision`; planned orders neither denied nor sent (dry-run, kill switch, a buy skipped for cash) |
| sent, filled, partially filled, rejected, unfilled, unresolved | planned orders with an order intent that reached SUBMITTING, by what their pieces did (below) |
| pieces sent | order intents that reached SUBMITTING: a buy may go out in pieces (the rest once the broker's hold on the first is freed) |
| slippage (bps) | fill price against the planning price (`reference_price`), signed so that positive is worse for the account: a buy above or a sell below it; the account's figure is weighted by notional |
| time to fill | first SUBMITTING event to the last fill of a filled order |
| drift after | `drift_after` of `cycle_finished` (the broker's positions after trading); a cycle that sent nothing ends as its plan began. A primary and the alternates standing in for it (the cycle's plan says which: `DriftRow.pool`) are one pool, tested as one holding against the primary's target and band (`pools_after`); each leg's row names the pool |
| reconciliation | mismatches and outside fills in `reconciliation` records |

Every count but `pieces sent` is of planned orders, so planned = denied + not sent + sent. A
plan holds at most one order per symbol and side, so a cycle's intents of one symbol and side
are the pieces of one planned order. Its outcome: unresolved if a piece is; filled if every
piece filled; rejected if a piece was rejected; partial if any filled; else unfilled. The
order rows, slippage and time to fill stay per piece.

Findings say what to look at and what to do; a `problem` (failed cycles, rejections, orders
still unresolved, reconciliation mismatches) makes the validation fail, a `watch` does not.
"""  # noqa: E501 (a table row per measure reads better than wrapped cells)

from __future__ import annotations

__all__ = [
    "AccountSummary",
    "DriftAfter",
    "FillFact",
    "Finding",
    "Mismatch",
    "OrderCheck",
    "OrderFact",
    "PlannedKey",
    "PoolAfter",
    "Validation",
    "planned_outcomes",
    "validate",
]

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from daemon.audit import events
from daemon.audit.events import AuditEvent, AuditKind, RawEvent
from daemon.audit.record import AuditRecord
from daemon.core.domain import OrderStatus, Side
from daemon.core.planner import DriftRow
from daemon.core.planner.verdict import pool_band

E = TypeVar("E", bound=AuditEvent)
Read = tuple[AuditRecord, AuditEvent | RawEvent]
"""A record with its event, decoded once."""

BPS = Decimal(10_000)
BPS_STEP = Decimal("0.01")
SECONDS_STEP = Decimal("0.001")
MAX_LISTED = 3  # reasons quoted in one finding; the rest are counted


@dataclass(frozen=True, slots=True)
class FillFact:
    qty: Decimal
    price: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class OrderFact:
    """One order intent as stored, with its first SUBMITTING time and the broker's fills."""

    client_order_id: str
    cycle_id: str
    account: str
    symbol: str
    side: Side
    qty: Decimal
    reference_price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    message: str
    created_at: datetime
    submitted_at: datetime | None
    filled_at: datetime | None
    """When trimtab recorded the order FILLED (used when no fill of it is recorded)."""
    fills: tuple[FillFact, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderCheck:
    account: str
    cycle_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    status: OrderStatus
    outcome: str
    """filled, partial, rejected, unfilled, unresolved, or not sent."""
    filled_qty: Decimal
    planned_price: Decimal | None
    fill_price: Decimal | None
    slippage_bps: Decimal | None
    slippage_cost: Decimal | None
    """Currency paid beyond the planning price (negative: saved)."""
    seconds_to_fill: Decimal | None
    detail: str


@dataclass(frozen=True, slots=True)
class DriftAfter:
    """One holding after a cycle; `low` and `high` are the plan's row's (`DriftRow`): for a
    leg of a pool, its own target plus or minus the pool's half-width, not what was tested."""

    account: str
    cycle_id: str
    symbol: str
    weight: Decimal
    target: Decimal
    low: Decimal
    high: Decimal
    out_of_band: bool
    """The pool's verdict, on every leg of a pool."""
    pool: str = ""
    """The primary whose pool the holding is in (`DriftRow.pool`); empty when alone."""


@dataclass(frozen=True, slots=True)
class PoolAfter:
    """A pool after a cycle as the planner tests it: a primary and the alternates standing in
    for it as one holding, their weights and targets added up, with the primary's band."""

    account: str
    cycle_id: str
    pool: str
    """The primary."""
    name: str
    """"BBB with BBX": the primary with the alternates standing in for it."""
    members: tuple[str, ...]
    weight: Decimal
    target: Decimal
    low: Decimal
    high: Decimal
    out_of_band: bool


@dataclass(frozen=True, slots=True)
class Mismatch:
    account: str
    cycle_id: str | None
    at: datetime
    symbol: str
    expected: Decimal
    broker: Decimal


@dataclass(frozen=True, slots=True)
class Finding:
    account: str
    severity: str
    """problem (validation fails) or watch."""
    kind: str
    what: str
    fix: str


@dataclass(frozen=True, slots=True)
class AccountSummary:
    account: str
    cycles: int
    failed_cycles: int
    skipped_slots: int
    planned: int
    denied: int
    not_sent: int
    sent: int
    sent_pieces: int
    """Order intents sent: more than `sent` when a buy went out in pieces."""
    filled: int
    partially_filled: int
    rejected: int
    unfilled: int
    unresolved: int
    slippage_bps: Decimal | None
    worst_slippage_bps: Decimal | None
    slippage_cost: Decimal
    median_seconds_to_fill: Decimal | None
    max_seconds_to_fill: Decimal | None
    cycles_out_of_band_after: int
    cycles_drift_unknown: int
    mismatches: int
    external_fills: int


@dataclass(frozen=True, slots=True)
class Validation:
    since: datetime
    until: datetime
    max_slippage_bps: Decimal
    accounts: tuple[AccountSummary, ...]
    orders: tuple[OrderCheck, ...]
    drift_after: tuple[DriftAfter, ...]
    mismatches: tuple[Mismatch, ...]
    findings: tuple[Finding, ...]
    pools_after: tuple[PoolAfter, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(f.severity == "problem" for f in self.findings)


def validate(
    accounts: Sequence[str],
    records: Sequence[AuditRecord],
    orders: Sequence[OrderFact],
    *,
    since: datetime,
    until: datetime,
    max_slippage_bps: Decimal,
) -> Validation:
    """Compare plans with what the broker did, per account, over [since, until)."""
    read = [(record, record.event) for record in records]
    by_cycle: dict[str, dict[str, list[Read]]] = defaultdict(lambda: defaultdict(list))
    for record, event in read:
        if record.cycle_id is not None:
            by_cycle[record.cycle_id][record.kind].append((record, event))
    checks = tuple(_order_check(o) for o in orders)
    summaries: list[AccountSummary] = []
    drift: list[DriftAfter] = []
    mismatches: list[Mismatch] = []
    findings: list[Finding] = []
    for account in accounts:
        cycles = {
            cid: kinds for cid, kinds in by_cycle.items() if _submitting_cycle(kinds, account)
        }
        mine = [c for c in checks if c.account == account]
        account_drift, unknown = _drift_after(account, cycles)
        account_mismatches, external = _reconciliation(account, read)
        summary = _summary(
            account,
            cycles,
            mine,
            account_drift,
            unknown,
            account_mismatches,
            external,
            skipped=_skipped(account, read),
        )
        summaries.append(summary)
        drift += account_drift
        mismatches += account_mismatches
        findings += _findings(summary, cycles, mine, account_mismatches, max_slippage_bps)
    return Validation(
        since=since,
        until=until,
        max_slippage_bps=max_slippage_bps,
        accounts=tuple(summaries),
        orders=checks,
        drift_after=tuple(drift),
        mismatches=tuple(mismatches),
        findings=tuple(findings),
        pools_after=_pools_after(drift),
    )


def _submitting_cycle(kinds: Mapping[str, list[Read]], account: str) -> bool:
    return any(
        r.account == account and isinstance(event, events.CycleStarted) and event.submit
        for r, event in kinds.get(AuditKind.CYCLE_STARTED, [])
    )


def _order_check(order: OrderFact) -> OrderCheck:
    outcome = _outcome(order)
    fill_price = _fill_price(order)
    bps = cost = None
    reference = order.reference_price
    if fill_price is not None and reference is not None and reference > 0:
        # What each share cost above the reference price (a sell: its shortfall below it).
        paid = order.side.signed(fill_price - reference)
        cost = paid * order.filled_qty
        bps = (paid / reference * BPS).quantize(BPS_STEP)
    seconds = None
    if outcome == "filled" and order.submitted_at is not None:
        done = max(f.at for f in order.fills) if order.fills else order.filled_at
        if done is not None:
            seconds = Decimal(str((done - order.submitted_at).total_seconds())).quantize(
                SECONDS_STEP
            )
    return OrderCheck(
        account=order.account,
        cycle_id=order.cycle_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        status=order.status,
        outcome=outcome,
        filled_qty=order.filled_qty,
        planned_price=reference,
        fill_price=fill_price,
        slippage_bps=bps,
        slippage_cost=cost,
        seconds_to_fill=seconds,
        detail=order.message,
    )


def _outcome(order: OrderFact) -> str:
    status = order.status
    if order.submitted_at is None:
        return "not sent"
    if status.is_open:
        return "unresolved"
    if status is OrderStatus.FILLED:
        return "filled"
    if status is OrderStatus.REJECTED:
        return "rejected"
    if order.filled_qty > 0:
        return "partial"
    return "unfilled"


def _fill_price(order: OrderFact) -> Decimal | None:
    """Return the average price of the broker's fills, else the order's reported average."""
    if order.filled_qty <= 0:
        return None
    qty = sum((f.qty for f in order.fills), Decimal(0))
    if qty > 0:
        return sum((f.qty * f.price for f in order.fills), Decimal(0)) / qty
    return order.avg_fill_price


def _drift_after(
    account: str, cycles: Mapping[str, Mapping[str, list[Read]]]
) -> tuple[list[DriftAfter], int]:
    """Return every managed symbol's weight after each cycle, and how many cycles lack it."""
    rows: list[DriftAfter] = []
    unknown = 0
    for cycle_id, kinds in cycles.items():
        finished = _last(kinds, events.CycleFinished)
        if finished is None:
            continue  # failed or still running: it has no end state to judge
        recorded: Sequence[events.DriftAfter | DriftRow] | None = finished.drift_after
        made = _last(kinds, events.PlanMade)
        if recorded is None and not finished.submitted:
            # Nothing was sent: the account ends the cycle where its plan found it.
            recorded = made.plan.drift if made else None
        if recorded is None:
            unknown += 1
            continue
        # The drift after trading was tested with the plan's stand-ins, so in its pools.
        pools = {r.symbol: r.pool for r in made.plan.drift if r.pool} if made else {}
        rows += [
            DriftAfter(
                account=account,
                cycle_id=cycle_id,
                symbol=row.symbol,
                weight=row.weight,
                target=row.target,
                low=row.low,
                high=row.high,
                out_of_band=row.out_of_band,
                pool=pools.get(row.symbol, ""),
            )
            for row in recorded
            if row.managed and row.symbol != "CASH"
        ]
    return rows, unknown


def _pools_after(drift: Sequence[DriftAfter]) -> tuple[PoolAfter, ...]:
    """Return each cycle's pools as tested: one holding against the primary's band."""
    by_cycle: dict[tuple[str, str], list[DriftAfter]] = defaultdict(list)
    for row in drift:
        by_cycle[row.account, row.cycle_id].append(row)
    pools = []
    for (account, cycle_id), rows in by_cycle.items():
        seen: set[str] = set()
        for row in rows:
            if not row.pool or row.pool in seen:
                continue
            seen.add(row.pool)
            band = pool_band(rows, row)
            pools.append(
                PoolAfter(
                    account=account,
                    cycle_id=cycle_id,
                    pool=row.pool,
                    name=band.name,
                    members=band.members,
                    weight=band.weight,
                    target=band.target,
                    low=band.low,
                    high=band.high,
                    out_of_band=any(r.out_of_band for r in rows if r.pool == row.pool),
                )
            )
    return tuple(pools)


def _skipped(account: str, read: Iterable[Read]) -> int:
    """Count the slots `trimtab run` reached too late to run (it records them at once)."""
    return sum(
        finished.skipped_count or 1
        for r, finished in read
        if isinstance(finished, events.CycleFinished)
        and r.account == account
        and finished.outcome == "skipped"
    )


def _reconciliation(account: str, read: Iterable[Read]) -> tuple[list[Mismatch], int]:
    mismatches: list[Mismatch] = []
    external = 0
    for record, reconciled in read:
        if not isinstance(reconciled, events.Reconciled) or record.account != account:
            continue
        external += len(reconciled.external_fills)
        for symbol, numbers in sorted(reconciled.mismatches.items()):
            mismatches.append(
                Mismatch(
                    account=account,
                    cycle_id=record.cycle_id,
                    at=record.recorded_at,
                    symbol=symbol,
                    expected=numbers.expected,
                    broker=numbers.broker,
                )
            )
    return mismatches, external


def _summary(
    account: str,
    cycles: Mapping[str, Mapping[str, list[Read]]],
    orders: Sequence[OrderCheck],
    drift: Sequence[DriftAfter],
    drift_unknown: int,
    mismatches: Sequence[Mismatch],
    external: int,
    *,
    skipped: int,
) -> AccountSummary:
    plans = [_last(kinds, events.PlanMade) for kinds in cycles.values()]
    planned = sum(len(made.plan.orders) for made in plans if made is not None)
    denied = sum(_denied(kinds) for kinds in cycles.values())
    outcomes: defaultdict[str, int] = defaultdict(int)
    for outcome in planned_outcomes(orders).values():
        outcomes[outcome] += 1
    sent = sum(outcomes.values())
    priced = [o for o in orders if o.slippage_cost is not None and o.planned_price is not None]
    notional = sum((o.planned_price * o.filled_qty for o in priced if o.planned_price), Decimal(0))
    cost = sum((o.slippage_cost for o in priced if o.slippage_cost is not None), Decimal(0))
    times = [o.seconds_to_fill for o in orders if o.seconds_to_fill is not None]
    out_cycles = {d.cycle_id for d in drift if d.out_of_band}
    return AccountSummary(
        account=account,
        cycles=len(cycles),
        failed_cycles=sum(1 for kinds in cycles.values() if AuditKind.CYCLE_FAILED in kinds),
        skipped_slots=skipped,
        planned=planned,
        denied=denied,
        not_sent=max(planned - denied - sent, 0),
        sent=sent,
        sent_pieces=sum(1 for o in orders if o.outcome != "not sent"),
        filled=outcomes["filled"],
        partially_filled=outcomes["partial"],
        rejected=outcomes["rejected"],
        unfilled=outcomes["unfilled"],
        unresolved=outcomes["unresolved"],
        slippage_bps=(cost / notional * BPS).quantize(BPS_STEP) if notional > 0 else None,
        worst_slippage_bps=max(
            (o.slippage_bps for o in priced if o.slippage_bps is not None), default=None
        ),
        slippage_cost=cost,
        median_seconds_to_fill=statistics.median(times).quantize(SECONDS_STEP) if times else None,
        max_seconds_to_fill=max(times) if times else None,
        cycles_out_of_band_after=len(out_cycles),
        cycles_drift_unknown=drift_unknown,
        mismatches=len(mismatches),
        external_fills=external,
    )


def _denied(kinds: Mapping[str, list[Read]]) -> int:
    """Return how many of the cycle's planned orders its `risk_decision` record refused.

    Only refusals of orders in its plan count: a record written before the decision kept them
    apart (`Decision.waiting`) also holds the refusal that set a holding aside
    (`daemon.core.held_back`), of an order the plan made again without it no longer holds.
    """
    review = _last(kinds, events.RiskDecisions)
    if review is None:
        return 0
    made = _last(kinds, events.PlanMade)
    orders = {(o.symbol, o.side) for o in made.plan.orders} if made is not None else set()
    return sum(1 for d in review.decisions if not d.allowed and (d.symbol, d.side) in orders)


PlannedKey = tuple[str, str, Side]
"""A planned order: its cycle id, symbol and side."""


def planned_outcomes(orders: Iterable[OrderCheck]) -> dict[PlannedKey, str]:
    """Return the outcome of each planned order that had a piece sent, from its pieces.

    The executor sends a buy the broker's hold shrank in pieces (`daemon.cycle.execution`,
    top-ups), each its own intent; a plan holds at most one order per symbol and side, so
    one cycle's sent intents of a symbol and side are one planned order.
    """
    pieces: defaultdict[PlannedKey, list[OrderCheck]] = defaultdict(list)
    for order in orders:
        if order.outcome != "not sent":
            pieces[(order.cycle_id, order.symbol, order.side)].append(order)
    return {key: _combined(group) for key, group in pieces.items()}


def _combined(pieces: Sequence[OrderCheck]) -> str:
    """Return one planned order's outcome; a single piece keeps its own."""
    outcomes = {piece.outcome for piece in pieces}
    if "unresolved" in outcomes:
        return "unresolved"  # not over yet: what it will be is unknown
    if outcomes == {"filled"}:
        return "filled"
    if "rejected" in outcomes:
        return "rejected"  # the broker said no to part of it: read why
    if any(piece.filled_qty > 0 for piece in pieces):
        return "partial"
    return "unfilled"


def _last(kinds: Mapping[str, list[Read]], kind: type[E]) -> E | None:
    """Return the cycle's last event of type `kind` (None if it has none it can read)."""
    for _, event in reversed(kinds.get(kind.KIND, [])):
        if isinstance(event, kind):
            return event
    return None


def _findings(
    summary: AccountSummary,
    cycles: Mapping[str, Mapping[str, list[Read]]],
    orders: Sequence[OrderCheck],
    mismatches: Sequence[Mismatch],
    max_slippage_bps: Decimal,
) -> list[Finding]:
    account = summary.account
    found: list[Finding] = []

    def add(severity: str, kind: str, what: str, fix: str) -> None:
        found.append(Finding(account, severity, kind, what, fix))

    failures = {cid: _last(kinds, events.CycleFailed) for cid, kinds in cycles.items()}
    errors = [
        f"{cid}: {failed.error if failed else ''}"
        for cid, failed in failures.items()
        if AuditKind.CYCLE_FAILED in cycles[cid]
    ]
    if errors:
        add(
            "problem",
            "failed_cycles",
            f"{len(errors)} cycle(s) failed: {_listed(errors)}",
            f"read `trimtab audit -a {account}` for that day: a broker outage is retried at the "
            "next slot; bad data or configuration needs fixing before then",
        )
    rejected = [f"{o.symbol} {o.side}: {o.detail}" for o in orders if o.outcome == "rejected"]
    if rejected:
        add(
            "problem",
            "rejected",
            f"{len(rejected)} order(s) rejected: {_listed(rejected)}",
            "read each reason: buying power -> an order placed outside trimtab holds it; "
            "fractions or an unknown symbol -> run trimtab check; wash trade -> an order "
            "placed outside trimtab is open on that symbol",
        )
    unresolved = [o.client_order_id for o in orders if o.outcome == "unresolved"]
    if unresolved:
        add(
            "problem",
            "unresolved",
            f"{len(unresolved)} order(s) still unresolved: {_listed(unresolved)}",
            "the next cycle looks them up at the broker by client order id; if they stay, "
            "find them with trimtab orders and at the broker; never resend by hand",
        )
    if mismatches:
        listed = [f"{m.symbol} expected {m.expected}, broker {m.broker}" for m in mismatches]
        add(
            "problem",
            "reconciliation",
            f"{len(mismatches)} position difference(s) no fill explains: {_listed(listed)}",
            "a trade outside trimtab, a corporate action or a missed fill: compare with the "
            f"broker's activity, then trimtab resume -a {account}",
        )
    if summary.skipped_slots:
        add(
            "watch",
            "skipped",
            f"{summary.skipped_slots} scheduled slot(s) skipped: trimtab was not running, or "
            "reached them later than scheduler.misfire_grace_minutes",
            "look at trimtab health and the service's log (journalctl -u trimtab) for the "
            "stop; the machine must be up and trimtab run running at the schedule",
        )
    partial = [o for o in orders if o.outcome in ("partial", "unfilled")]
    if partial:
        add(
            "watch",
            "unfilled",
            f"{len(partial)} order(s) filled partly or not at all within the fill window",
            "check the cycle runs while the market is open; for limit orders widen "
            "policy.limit_collar a little; thinly traded funds fill slowly",
        )
    worst = summary.worst_slippage_bps
    if worst is not None and worst > max_slippage_bps:
        add(
            "watch",
            "slippage",
            f"slippage up to {worst} bps (average {summary.slippage_bps} bps, cost "
            f"{summary.slippage_cost.quantize(Decimal('0.01'))}) against {max_slippage_bps} bps",
            'trade liquid funds, use marketable limit orders (policy.order_type = "limit"), '
            "and schedule cycles away from the open",
        )
    if summary.cycles_out_of_band_after:
        add(
            "watch",
            "drift",
            f"{summary.cycles_out_of_band_after} cycle(s) ended with a holding outside its band",
            "read that cycle's plan notes (buy_only, min_trade_notional, not enough cash) and "
            "its rejections; a holding that stays out for days needs cash or another policy",
        )
    if summary.cycles_drift_unknown:
        add(
            "watch",
            "drift_unknown",
            f"{summary.cycles_drift_unknown} trading cycle(s) have no drift after trading "
            "recorded (the post-trade read failed)",
            "the next cycle's reconciliation records the fills; look at the broker if it "
            "keeps happening",
        )
    if summary.external_fills:
        add(
            "watch",
            "external",
            f"{summary.external_fills} fill(s) of orders placed outside trimtab",
            "expected if you traded by hand; otherwise find out who else trades this account",
        )
    return found


def _listed(items: Sequence[str]) -> str:
    text = "; ".join(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        text += f"; and {len(items) - MAX_LISTED} more"
    return text
