"""Crash drills against the fake TWS: kill a real `trimtab run --once` while it trades an IB
account through ib_async, or drop its connection after IB took an order.

The fake runs in this process (only trimtab is killed), so IB's side outlives every trimtab
process. Each point starts from a fresh account that needs two sells and a buy, cuts the run
at a chosen order, restarts trimtab until a run succeeds, and then checks:
- IB holds the orders of an uninterrupted run: the same quantity per symbol and side (a run
  cut short is finished by later cycles, which may size the buy by a share differently);
  each orderRef once, each one of trimtab's intents, never sent twice;
- no intent is left planned/submitting/unknown/open, and each agrees with IB's order (side,
  quantity, filled, permId);
- every execution at IB is recorded by trimtab exactly once;
- planning again yields no orders.

Points: `TRIMTAB_DRILL_POINTS` sizes the sim's drill; this one takes a twelfth of it (at
least 1), drawn with `TRIMTAB_DRILL_SEED` from three kinds, one of each before any repeats:
killed after IB filled the nth order, killed while the nth order is working (IB fills it
while trimtab is down), and the link dropped after IB accepted the nth order (trimtab runs
on). CI (16) runs 1 besides the uninterrupted run; the default (30) 2; 200 runs 9 (every
point of the catalogue).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.bootstrap import open_app
from daemon.core.domain import OrderStatus
from daemon.store.models import FillRow, OrderIntentRow
from tests.drills.scenario import RUN_TIMEOUT, TRIMTAB
from tests.drills.session import DEFAULT_POINTS, DEFAULT_SEED, POINTS_ENV, SEED_ENV, env_int
from tests.fakes.tws import DelayedFill, DropAfterAccept, FakeTws, Hold, TwsState, two_accounts

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.timeout(6 * RUN_TIMEOUT)]

MAX_RESTARTS = 3
ORDERS = 3
"""Orders of the uninterrupted run: sells of VTI and BND, a buy of VXUS."""
KINDS = ("kill-after-fill", "kill-while-working", "drop-after-accept")


def config(port: int) -> str:
    return f"""mode = "paper"
state_dir = "state"
[log]
format = "json"
[risk]
max_quote_age_hours = 240
max_turnover_per_day = 1000
[accounts.main]
broker = "ibkr"
[accounts.main.broker_settings]
environment = "paper"
account_id = "DU1234567"
port = {port}
connect_timeout_seconds = 5
request_timeout_seconds = 5
unknown_order_grace_seconds = 10
maintenance_windows = []
[accounts.main.strategy_params]
targets = {{ VTI = "0.2", BND = "0.1", VXUS = "0.7" }}
[accounts.main.policy]
cash_buffer = "200"
outside_hours = true
"""


@dataclass(frozen=True)
class Point:
    kind: str
    nth: int

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.nth}"


def points() -> list[Point]:
    """Draw the points: a twelfth of TRIMTAB_DRILL_POINTS (at least 1), one of each kind
    before any kind repeats."""
    count = max(1, env_int(POINTS_ENV, DEFAULT_POINTS) // 12)
    rng = random.Random(env_int(SEED_ENV, DEFAULT_SEED))
    catalogue = [Point(kind, nth) for kind in KINDS for nth in range(1, ORDERS + 1)]
    rng.shuffle(catalogue)
    firsts = [next(p for p in catalogue if p.kind == kind) for kind in KINDS]
    return (firsts + [p for p in catalogue if p not in firsts])[:count]


def trimtab(directory: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    with (directory / "run.err").open("ab") as err:
        return subprocess.Popen(
            [str(TRIMTAB), "run", "--once", "--force", "-c", "trimtab.toml", "--json"],
            cwd=directory,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


@dataclass
class Outcome:
    orders: Counter[tuple[str, str, Decimal]]
    problems: list[str]
    refs: list[str]


def drive(point: Point | None, directory: Path) -> Outcome:
    directory.mkdir(parents=True)
    with FakeTws(two_accounts()) as tws:
        (directory / "trimtab.toml").write_text(config(tws.port))
        problems: list[str] = []
        if point is not None:
            _cut(point, tws, directory, problems)
        codes = []
        for _ in range(MAX_RESTARTS):
            codes.append(trimtab(directory).wait(timeout=RUN_TIMEOUT))
            if codes[-1] == 0:
                break
        if codes[-1] != 0:
            problems.append(f"not recovered in {MAX_RESTARTS} runs (exit {codes}); see {directory}")
        problems += inspect(tws.state, directory)
        with tws.state.lock:
            orders = Counter(
                (tws.state.instrument(o.con_id).symbol, o.action.lower(), o.quantity)
                for o in tws.state.orders.values()
            )
            refs = [o.order_ref for o in tws.state.orders.values()]
        return Outcome(orders, problems, refs)


def _cut(point: Point, tws: FakeTws, directory: Path, problems: list[str]) -> None:
    """Run trimtab once and cut it at the point: kill it, or drop its link (it runs on)."""
    # The orders before the nth fill as IB fills them (a moment after the accept).
    before = [DelayedFill(0)] * (point.nth - 1)
    if point.kind == "kill-while-working":
        tws.queue(*before, Hold())
    elif point.kind == "drop-after-accept":
        tws.queue(*before, DropAfterAccept(fill=True))
    process = trimtab(directory)
    if point.kind == "drop-after-accept":
        process.wait(timeout=RUN_TIMEOUT)
        return
    deadline = time.monotonic() + RUN_TIMEOUT
    while len(tws.placed) < point.nth:
        if process.poll() is not None or time.monotonic() > deadline:
            problems.append(f"{point.id}: trimtab never placed order {point.nth}")
            break
        time.sleep(0.005)
    if point.kind == "kill-after-fill":
        tws.wait_for(lambda: len(tws.state.executions) >= point.nth, timeout=10)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=RUN_TIMEOUT)
    if point.kind == "kill-while-working":
        # IB fills the held order while trimtab is down; the restart must find the fill.
        with tws.state.lock:
            held = [o.order_ref for o in tws.state.orders.values() if o.is_open]
        for ref in held:
            tws.fill(ref)


def inspect(state: TwsState, directory: Path) -> list[str]:
    """Compare trimtab's database with IB's side; return what disagrees."""
    app = open_app(directory / "trimtab.toml")
    problems = []
    try:
        with app.database.transaction() as session:
            intents = {r.client_order_id: r for r in session.scalars(select(OrderIntentRow))}
            fill_ids = [r.fill_id for r in session.scalars(select(FillRow))]
        with state.lock:
            orders = list(state.orders.values())
            executions = [e.exec_id for e in state.executions]
            symbols = {o.perm_id: state.instrument(o.con_id).symbol for o in orders}
        if len({o.order_ref for o in orders}) != len(orders):
            problems.append("an orderRef is at IB twice")
        for order in orders:
            intent = intents.get(order.order_ref)
            if intent is None:
                problems.append(f"orphan order at IB: {order.order_ref}")
                continue
            mine = (intent.symbol, intent.side, intent.qty)
            theirs = (symbols[order.perm_id], order.action.lower(), order.quantity)
            if mine != theirs:
                problems.append(f"{order.order_ref}: intent {mine} is not IB's order {theirs}")
            if intent.filled_qty != order.filled or intent.broker_order_id != str(order.perm_id):
                problems.append(f"{order.order_ref}: intent disagrees with IB's order")
        for coid, intent in intents.items():
            status = OrderStatus(intent.status)
            if not status.is_terminal and status is not OrderStatus.CANCELLED:
                problems.append(f"intent {coid} left {status}")
        if sorted(fill_ids) != sorted(executions):
            problems.append(f"fills recorded {len(fill_ids)}, executions at IB {len(executions)}")
        report = app.engine().plan("main")
        if report.plan is None:
            problems.append(f"planning again failed: {report.error}")
        else:
            problems += [f"still plans {o.reason}" for o in report.plan.orders]
    finally:
        app.close()
    return problems


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return drive(None, tmp_path_factory.mktemp("ibkr-drill") / "reference")


def test_the_uninterrupted_run_is_clean(reference: Outcome) -> None:
    assert reference.problems == []
    # Two sells, and the buy (with its top-up when the 1% hold trimmed its first piece).
    assert {(s, side) for s, side, _q in reference.orders} == {
        ("BND", "sell"),
        ("VTI", "sell"),
        ("VXUS", "buy"),
    }


@pytest.mark.parametrize("point", points(), ids=lambda p: p.id)
def test_a_cut_run_ends_in_exactly_the_planned_orders_never_sent_twice(
    point: Point, reference: Outcome, tmp_path: Path
) -> None:
    outcome = drive(point, tmp_path / point.id)
    assert outcome.problems == []
    assert len(set(outcome.refs)) == len(outcome.refs)
    assert differences(totals(reference.orders), totals(outcome.orders)) == []


def totals(orders: Counter[tuple[str, str, Decimal]]) -> dict[tuple[str, str], Decimal]:
    """Quantity per (symbol, side), whatever pieces it was sent in."""
    summed: dict[tuple[str, str], Decimal] = {}
    for symbol, side, qty in orders.elements():
        summed[(symbol, side)] = summed.get((symbol, side), Decimal(0)) + qty
    return summed


def differences(
    reference: dict[tuple[str, str], Decimal], outcome: dict[tuple[str, str], Decimal]
) -> list[str]:
    """Sells must match exactly; a buy sized by a later cycle (from the cash then, after
    commissions) may differ by a share."""
    found = []
    for key in sorted(reference.keys() | outcome.keys()):
        want, got = reference.get(key, Decimal(0)), outcome.get(key, Decimal(0))
        if got != want if key[1] == "sell" else abs(got - want) > 1:
            found.append(f"{key[1]} {key[0]}: {got}, the uninterrupted run {want}")
    return found
