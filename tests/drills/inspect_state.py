"""Read a drill's state database: where a kill landed, and whether the invariants hold.

Everything is read from the tables themselves, the sim's (its orders, fills, cash movements,
positions) and trimtab's (intents, fills, cycles, audit log, trading states), never from
what a process printed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.sim.store import (
    SimAccountRow,
    SimCashMovementRow,
    SimFillRow,
    SimOrderRow,
    SimPositionRow,
)
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.models import (
    AccountStateRow,
    AuditRecordRow,
    CycleRow,
    FillRow,
    OrderIntentRow,
)

CENT = Decimal("0.01")
UNSETTLED = ("planned", "submitting", "unknown", "accepted", "partially_filled")
SENT = ("accepted", "partially_filled", "filled")
TURNOVER_SLACK = Decimal("0.03")


@contextmanager
def reading(state_dir: Path) -> Iterator[Session]:
    """Open the state directory's SQLite database and yield one read transaction."""
    database = Database(f"sqlite:///{state_dir / 'trimtab.db'}")
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.close()


def cycle_ids(state_dir: Path) -> set[str]:
    with reading(state_dir) as session:
        return set(session.scalars(select(CycleRow.cycle_id)))


def order_counts(state_dir: Path, accounts: Sequence[str]) -> dict[str, int]:
    """Return how many orders the broker holds per account."""
    with reading(state_dir) as session:
        return {
            account: len(
                session.scalars(select(SimOrderRow).where(SimOrderRow.account == account)).all()
            )
            for account in accounts
        }


# -- where the kill landed ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """Where a killed process was: the account's cycle, the step, and the order if any."""

    what: str
    account: str = ""
    order: str = ""

    @property
    def label(self) -> str:
        where = f"{self.account}: " if self.account else ""
        return where + self.what + (f" ({self.order})" if self.order else "")


def step_hit(killed_state: Path, before: set[str], accounts: Sequence[str]) -> Step:
    """Name the step the killed process was in, from what it had committed."""
    with reading(killed_state) as session:
        cycles = [
            row
            for row in session.scalars(select(CycleRow).order_by(CycleRow.started_at))
            if row.cycle_id not in before
        ]
        if not cycles:
            return Step("start-up, before any cycle")
        cycle = cycles[-1]
        account = cycle.account
        kinds = list(
            session.scalars(
                select(AuditRecordRow.kind)
                .where(AuditRecordRow.cycle_id == cycle.cycle_id)
                .order_by(AuditRecordRow.seq)
            )
        )
        if "cycle_finished" in kinds or "cycle_failed" in kinds:
            if account == accounts[-1]:
                return Step("after the last cycle")
            return Step("cycle finished, next account not begun", account)
        if "plan" not in kinds:
            return Step("first reads (lookups, reconciliation, snapshot)", account)
        intents = list(
            session.scalars(
                select(OrderIntentRow)
                .where(OrderIntentRow.cycle_id == cycle.cycle_id)
                .order_by(OrderIntentRow.seq)
            )
        )
        at_broker = set(
            session.scalars(
                select(SimOrderRow.client_order_id).where(SimOrderRow.account == account)
            )
        )
        plan = _planned_sides(session, cycle.cycle_id)
    return _order_step(account, intents, at_broker, plan)


def _planned_sides(session: Session, cycle_id: str) -> Counter[str]:
    payload = session.scalars(
        select(AuditRecordRow.payload).where(
            AuditRecordRow.cycle_id == cycle_id, AuditRecordRow.kind == "plan"
        )
    ).first()
    orders = json.loads(payload)["plan"]["orders"] if payload else []
    return Counter(str(o["side"]) for o in orders)


def _order_step(
    account: str, intents: list[OrderIntentRow], at_broker: set[str], plan: Counter[str]
) -> Step:
    pending = [i for i in intents if i.status in ("planned", "submitting")]
    if pending:
        intent = pending[-1]
        order = f"#{intent.seq} {intent.side} {intent.symbol}"
        if intent.client_order_id in at_broker:
            return Step(
                f"{intent.side} accepted by the broker, answer not recorded", account, order
            )
        return Step(f"{intent.side} intent stored, not at the broker", account, order)
    if not intents:
        return Step("planned, before the first intent", account)
    sides = Counter(i.side for i in intents)
    if sides["buy"] == 0 and sides["sell"] < plan["sell"]:
        return Step("between sells", account)
    if sides["buy"] == 0 and plan["buy"]:
        return Step("between sells and buys", account)
    if sides["buy"] < plan["buy"]:
        return Step("between buys", account)
    return Step("orders done, cycle not finished (post-trade reconciliation)", account)


# -- invariants ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Findings:
    problems: tuple[str, ...]
    holdings: dict[str, dict[str, Decimal]]
    """Per account, the broker's positions at the end."""
    orders: dict[str, int]
    """Per account, orders the broker holds."""
    turnover: dict[str, Decimal]
    """Per account, the value filled by orders that are not in `baseline`."""
    duplicates: int
    lost_fills: int
    unresolved: int


def never_reached(state_dir: Path) -> list[str]:
    """Return the client order ids of intents recorded as never having reached the broker."""
    with reading(state_dir) as session:
        query = select(OrderIntentRow.client_order_id).where(
            OrderIntentRow.status == "never_reached"
        )
        return sorted(session.scalars(query))


def order_ids(state_dir: Path) -> set[str]:
    """Return the client order ids the broker holds (all accounts)."""
    with reading(state_dir) as session:
        return set(session.scalars(select(SimOrderRow.client_order_id)))


def check(
    state_dir: Path,
    accounts: Sequence[str],
    baseline: set[str],
    expected_turnover: dict[str, Decimal] | None = None,
) -> Findings:
    """Check every invariant of the drill; return what is wrong, in words, and counts.

    `baseline` holds the client order ids from before the drill: their fills do not count
    as the drill's turnover, which may exceed `expected_turnover` (the uninterrupted run's)
    by at most `TURNOVER_SLACK`: re-planning after a crash moves a few shares, an order
    sent twice moves thousands of dollars.
    """
    problems: list[str] = []
    holdings: dict[str, dict[str, Decimal]] = {}
    orders: dict[str, int] = {}
    turnover: dict[str, Decimal] = {}
    counts = Counter[str]()
    with reading(state_dir) as session:
        for account in accounts:
            found = _check_account(session, account)
            turnover[account], both_ways = _traded(session, account, baseline)
            found += [
                ("duplicate", f"{symbol} was both bought and sold: an order undone by another")
                for symbol in both_ways
            ]
            if expected_turnover is not None:
                limit = expected_turnover[account] * (1 + TURNOVER_SLACK)
                if turnover[account] > limit:
                    found.append(
                        (
                            "duplicate",
                            f"traded {turnover[account]:.2f}, more than {limit:.2f} "
                            f"(the uninterrupted run's {expected_turnover[account]:.2f} "
                            f"+ {TURNOVER_SLACK:.0%}): an order sent twice?",
                        )
                    )
            problems += [f"{account}: {p}" for kind, p in found]
            counts.update(kind for kind, _ in found)
            holdings[account] = {
                row.symbol: row.qty
                for row in session.scalars(
                    select(SimPositionRow).where(SimPositionRow.account == account)
                )
            }
            orders[account] = len(
                session.scalars(select(SimOrderRow).where(SimOrderRow.account == account)).all()
            )
        broken = AuditLog(session).verify()
        if broken is not None:
            problems.append(f"audit chain broken at record {broken}")
    return Findings(
        problems=tuple(problems),
        holdings=holdings,
        orders=orders,
        turnover=turnover,
        duplicates=counts["duplicate"],
        lost_fills=counts["fill"],
        unresolved=counts["unresolved"],
    )


def _check_account(session: Session, account: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    orders = list(session.scalars(select(SimOrderRow).where(SimOrderRow.account == account)))
    intents = {
        row.client_order_id: row
        for row in session.scalars(select(OrderIntentRow).where(OrderIntentRow.account == account))
    }
    for coid, n in Counter(o.client_order_id for o in orders).items():
        if n > 1:
            found.append(("duplicate", f"client order id {coid} is held by {n} broker orders"))
    at_broker = {o.client_order_id: o for o in orders}
    for order in orders:
        found += _order_vs_intent(order, intents.get(order.client_order_id))
    for coid, intent in intents.items():
        if intent.status in UNSETTLED:
            found.append(("unresolved", f"intent {coid} is left {intent.status}"))
        if coid not in at_broker and intent.status in SENT:
            found.append(
                ("fill", f"intent {coid} is {intent.status} but the broker has no such order")
            )
    found += _fills(session, account, orders)
    found += _books(session, account)
    state = session.get(AccountStateRow, account)
    if state is not None and state.trading_state != "active":
        found.append(("state", f"trading state {state.trading_state}: {state.reason}"))
    return found


def _order_vs_intent(order: SimOrderRow, intent: OrderIntentRow | None) -> list[tuple[str, str]]:
    what = f"{order.side} {order.qty} {order.symbol}"
    if intent is None:
        return [("duplicate", f"broker order {order.client_order_id} ({what}) has no intent")]
    if (intent.symbol, intent.side, intent.qty) != (order.symbol, order.side, order.qty):
        mine = f"{intent.side} {intent.qty} {intent.symbol}"
        return [("duplicate", f"broker order {order.client_order_id} is {what}, intent {mine}")]
    if (intent.status, intent.filled_qty, intent.broker_order_id) != (
        order.status,
        order.filled_qty,
        order.broker_order_id,
    ):
        return [
            (
                "fill",
                f"intent {order.client_order_id} says {intent.status} {intent.filled_qty} "
                f"({intent.broker_order_id}), the broker {order.status} {order.filled_qty} "
                f"({order.broker_order_id})",
            )
        ]
    return []


def _fills(session: Session, account: str, orders: list[SimOrderRow]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    fills = list(session.scalars(select(SimFillRow).where(SimFillRow.account == account)))
    filled: dict[str, Decimal] = {}
    for fill in fills:
        filled[fill.broker_order_id] = filled.get(fill.broker_order_id, Decimal(0)) + fill.qty
    for order in orders:
        if filled.get(order.broker_order_id, Decimal(0)) != order.filled_qty:
            found.append(
                (
                    "fill",
                    f"fills of {order.client_order_id} add up to "
                    f"{filled.get(order.broker_order_id, Decimal(0))}, "
                    f"the order says {order.filled_qty}",
                )
            )
    recorded = Counter(session.scalars(select(FillRow.fill_id).where(FillRow.account == account)))
    sim_ids = {f.fill_id for f in fills}
    for fill in fills:
        if recorded[fill.fill_id] != 1:
            found.append(
                (
                    "fill",
                    f"fill {fill.fill_id} of {fill.client_order_id} is recorded "
                    f"{recorded[fill.fill_id]} times by trimtab",
                )
            )
    for fill_id in set(recorded) - sim_ids:
        found.append(("fill", f"trimtab records fill {fill_id}, which the broker never made"))
    external = session.scalars(
        select(FillRow.fill_id).where(FillRow.account == account, FillRow.external)
    ).all()
    if external:
        found.append(("fill", f"{len(external)} of trimtab's own fills are marked external"))
    return found


def _traded(session: Session, account: str, baseline: set[str]) -> tuple[Decimal, list[str]]:
    """Return the value the drill's orders filled, and the symbols traded both ways."""
    value = Decimal(0)
    sides: dict[str, set[str]] = {}
    for fill in session.scalars(select(SimFillRow).where(SimFillRow.account == account)):
        if fill.client_order_id in baseline:
            continue
        value += fill.qty * fill.price
        sides.setdefault(fill.symbol, set()).add(fill.side)
    return value, sorted(s for s, both in sides.items() if len(both) > 1)


def _books(session: Session, account: str) -> list[tuple[str, str]]:
    """Check the sim against itself: cash and positions are what its fills imply."""
    cash = sum(
        session.scalars(
            select(SimCashMovementRow.amount).where(SimCashMovementRow.account == account)
        ),
        Decimal(0),
    )
    held: dict[str, Decimal] = {}
    for fill in session.scalars(
        select(SimFillRow).where(SimFillRow.account == account).order_by(SimFillRow.seq)
    ):
        gross = fill.qty * fill.price
        if fill.side == "buy":
            cash -= gross.quantize(CENT, rounding=ROUND_CEILING)
            held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + fill.qty
        else:
            cash += gross.quantize(CENT, rounding=ROUND_FLOOR)
            held[fill.symbol] = held.get(fill.symbol, Decimal(0)) - fill.qty
        cash -= fill.commission
    row = session.get(SimAccountRow, account)
    positions = {
        p.symbol: p.qty
        for p in session.scalars(select(SimPositionRow).where(SimPositionRow.account == account))
    }
    found = []
    if row is None or row.cash != cash:
        found.append(("fill", f"cash {row.cash if row else None} but the fills imply {cash}"))
    if positions != {s: q for s, q in held.items() if q != 0}:
        found.append(("fill", f"positions {positions} but the fills imply {held}"))
    return found
