"""The crash drill's session: one template household, kill points run two at a time.

The kill points' processes run in a small thread pool, so the tests, which each check one
point, mostly find their point already done: asking for a point's result also starts the
points after it in the order the tests were collected, as many as the pool has threads.
Starting only that far ahead keeps a pytest-xdist worker to the points it runs: every worker
collects every test, and one that took some drill tests from another (`--dist worksteal` moves
the tail of a worker's queue) would otherwise run the whole drill again for a few of them.

| variable | default | meaning |
|---|---|---|
| `TRIMTAB_DRILL_POINTS` | 30 | random kill points (crash_after_accept, drop_submission on top) |
| `TRIMTAB_DRILL_SEED` | 20261124 | seed of the kill moments |
| `TRIMTAB_DRILL_WORKERS` | 2 | kill points run at the same time |
| `TRIMTAB_DRILL_REPORT` | unset | also write the summary (markdown) to this file |
| `TRIMTAB_DRILL_KEEP` | unset | keep every point's directory (by default only failing ones) |
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tests.drills.inspect_state import (
    Findings,
    Step,
    check,
    cycle_ids,
    order_counts,
    order_ids,
    step_hit,
)
from tests.drills.scenario import (
    ACCOUNTS,
    MAX_RESTARTS,
    RUN_TIMEOUT,
    Calibration,
    KillPoint,
    PointRun,
    build_template,
    crash_points,
    drive,
    drop_points,
    random_points,
)

POINTS_ENV = "TRIMTAB_DRILL_POINTS"
SEED_ENV = "TRIMTAB_DRILL_SEED"
WORKERS_ENV = "TRIMTAB_DRILL_WORKERS"
REPORT_ENV = "TRIMTAB_DRILL_REPORT"
KEEP_ENV = "TRIMTAB_DRILL_KEEP"
DEFAULT_POINTS = 30
DEFAULT_SEED = 20261124
ORDERS = {"main": 5, "ira": 3}
"""Orders each account sends in the uninterrupted run (checked by the reference test)."""
POINT_TIMEOUT = RUN_TIMEOUT * (MAX_RESTARTS + 2)


def env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"{name}={text!r} is not a whole number") from None
    if value < 1:
        raise pytest.UsageError(f"{name} must be at least 1, got {value}")
    return value


def point_ids() -> list[str]:
    """Ids of the kill points to collect: every crash_after_accept, then the random ones."""
    crashes = [
        KillPoint(0, kind, account=a, accept=n).id
        for kind in ("crash_after_accept", "drop_submission")
        for a in ACCOUNTS
        for n in range(1, ORDERS[a] + 1)
    ]
    count = env_int(POINTS_ENV, DEFAULT_POINTS)
    return crashes + [KillPoint(i, "random").id for i in range(count)]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary table."""

    point: KillPoint
    step: Step | None
    """None when the run ended before it was killed."""
    step_again: Step | None
    """Where the first restart was killed, if it was."""
    killed: str
    restarts: int
    orders: str
    turnover: Decimal
    """The drill's traded value over the uninterrupted run's (1 = the same)."""
    same_as_uninterrupted: bool
    converged: bool
    recovered: bool
    findings: Findings | None
    problems: tuple[str, ...]


class DrillSession:
    """The template, the uninterrupted reference run, and the pool that runs kill points."""

    def __init__(self, root: Path, seed: int, workers: int) -> None:
        self.root = root
        self.seed = seed
        self.template = build_template(root / "template")
        self.before = cycle_ids(self.template)
        self.template_orders = order_counts(self.template, ACCOUNTS)
        self.baseline = order_ids(self.template)
        self.reference = drive(KillPoint(0, "reference"), self.template, root)
        self.reference_findings = check(self.reference.state, ACCOUNTS, self.baseline)
        self.expected_turnover = self.reference_findings.turnover
        startup = self.reference.startup or 0.0
        self.calibration = Calibration(
            startup=startup,
            span=self.reference.ran_for - startup,
            orders=self.new_orders(self.reference_findings),
        )
        self.points = {
            p.id: p
            for p in crash_points(self.calibration)
            + drop_points(self.calibration)
            + random_points(env_int(POINTS_ENV, DEFAULT_POINTS), seed, self.calibration)
        }
        self.rows: list[Row] = []
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drill")
        self._futures: dict[str, Future[PointRun]] = {}
        self._order: list[str] = []

    def new_orders(self, findings: Findings) -> dict[str, int]:
        """Return the orders each account sent after the template (the drill's own)."""
        return {a: findings.orders[a] - self.template_orders[a] for a in ACCOUNTS}

    def start(self, ids: list[str]) -> None:
        """Take the order the tests will ask for points in (the collection's); start none yet."""
        self._order = list(ids)

    def result(self, point_id: str) -> PointRun:
        """Return the point's run, started now if it was not; start the next ones meanwhile."""
        future = self._submit(point_id)
        if point_id in self._order:
            at = self._order.index(point_id)
            for following in self._order[at + 1 : at + 1 + self._workers]:
                self._submit(following)
        return future.result(timeout=POINT_TIMEOUT)

    def record(self, row: Row, run: PointRun) -> None:
        self.rows.append(row)
        if not row.problems and not os.environ.get(KEEP_ENV):
            shutil.rmtree(run.directory, ignore_errors=True)  # keep only what needs a look

    def step(self, run: PointRun) -> Step:
        return step_hit(run.killed_state, self.before, ACCOUNTS)

    def step_again(self, run: PointRun) -> Step:
        """Where the killed restart was (its cycles are those the first kill left out)."""
        return step_hit(run.killed_again_state, cycle_ids(run.killed_state), ACCOUNTS)

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True)

    def _submit(self, point_id: str) -> Future[PointRun]:
        if point_id not in self._futures:
            point = self.points.get(point_id)
            if point is None:
                raise AssertionError(
                    f"kill point {point_id} is not in this drill; the uninterrupted run "
                    f"sent {self.calibration.orders} orders, the drill expects {ORDERS}"
                )
            self._futures[point_id] = self._pool.submit(drive, point, self.template, self.root)
        return self._futures[point_id]


def summary(session: DrillSession) -> str:
    """Return the drill's summary table and totals, as markdown."""
    rows = sorted(session.rows, key=lambda r: r.point.id)
    calibration = session.calibration
    lines = [
        f"seed {session.seed}; uninterrupted run: start-up {calibration.startup:.2f}s, "
        f"cycles {calibration.span:.2f}s (slowed), orders {calibration.orders}",
        "",
        "| point | how | step hit | exit | restarts | orders (main/ira) | turnover | "
        "same holdings | converged | problems |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        problems = "; ".join(row.problems) or "none"
        step = row.step.label if row.step else "not killed (ended first)"
        if row.step_again is not None:
            step += f"; restart killed at {row.step_again.label}"
        lines.append(
            f"| {row.point.id} | {row.point.describe()} | {step} | {row.killed} | "
            f"{row.restarts} | {row.orders} | {row.turnover:.1%} | "
            f"{'yes' if row.same_as_uninterrupted else 'no'} | "
            f"{'yes' if row.converged else 'NO'} | {problems} |"
        )
    found = [r.findings for r in rows if r.findings is not None]
    steps = Counter(r.step.what if r.step else "not killed (ended first)" for r in rows)
    steps.update(f"(restart killed) {r.step_again.what}" for r in rows if r.step_again)
    killed = sum(1 for r in rows if r.step is not None)
    again = sum(1 for r in rows if r.step_again is not None)
    lines += [
        "",
        f"kill points: {len(rows)} ({sum(1 for r in rows if r.point.kind == 'random')} random, "
        f"{sum(1 for r in rows if r.point.kind == 'crash_after_accept')} crash_after_accept, "
        f"{sum(1 for r in rows if r.point.kind == 'drop_submission')} drop_submission); "
        f"killed mid-run: {killed}; first restart killed too: {again}",
        "",
        "| outcome | count |",
        "|---|---|",
        f"| duplicate orders (id twice, orphan, traded both ways, turnover > +3%) | "
        f"{sum(f.duplicates for f in found)} |",
        f"| lost or miscounted fills | {sum(f.lost_fills for f in found)} |",
        f"| unresolved intents after the restart | {sum(f.unresolved for f in found)} |",
        f"| not converged | {sum(1 for r in rows if not r.converged)} |",
        f"| not recovered in {MAX_RESTARTS} restarts | {sum(1 for r in rows if not r.recovered)} |",
        f"| points with any problem | {sum(1 for r in rows if r.problems)} |",
        f"| holdings differ from the uninterrupted run (re-planned, converged) | "
        f"{sum(1 for r in rows if not r.same_as_uninterrupted)} |",
        f"| highest turnover vs the uninterrupted run | "
        f"{max((r.turnover for r in rows), default=Decimal(0)):.1%} |",
        "",
        "| step hit | count |",
        "|---|---|",
    ]
    lines += [f"| {step} | {n} |" for step, n in sorted(steps.items())]
    return "\n".join(lines)
