"""Crash drills: kill a real `trimtab run --once` and check that a restart leaves no damage.

For every kill point, after the restarted run succeeds:
- the broker holds no client order id twice, and every broker order is one of trimtab's
  intents (same symbol, side and quantity): no orphan, no duplicate;
- no intent is left planned/submitting/unknown/open, and each intent agrees with the
  broker's order (status, filled quantity, broker id);
- every broker fill is recorded by trimtab exactly once, and adds up to its order;
- the sim's cash and positions are what its own fills imply;
- the audit chain is intact and both accounts are still ACTIVE;
- planning again yields no orders (the household converged).
The step the kill hit and the outcome of each point go into the summary table.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from daemon.bootstrap import open_app
from tests.drills.inspect_state import check, never_reached
from tests.drills.scenario import ACCOUNTS, MAX_RESTARTS, PointRun
from tests.drills.session import ORDERS, POINT_TIMEOUT, DrillSession, Row, point_ids

# A point may take a few process runs; the processes have their own timeouts inside this one.
pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.timeout(POINT_TIMEOUT + 60)]


def converged(directory: Path) -> list[str]:
    """Plan every account again (in this process); return what it would still trade."""
    app = open_app(directory / "restart.toml")
    try:
        engine = app.engine()
        left = []
        for account in ACCOUNTS:
            report = engine.plan(account)
            if report.plan is None:
                left.append(f"{account}: planning failed: {report.error}")
                continue
            left += [f"{account}: still plans {o.reason}" for o in report.plan.orders]
        return left
    finally:
        app.close()


def inspect(drill: DrillSession, run: PointRun) -> Row:
    findings = check(run.state, ACCOUNTS, drill.baseline, drill.expected_turnover)
    problems = list(findings.problems)
    if not run.recovered:
        tail = run.log(f"restart-{run.restarts}.out")[-2000:]
        problems.append(
            f"not recovered in {MAX_RESTARTS} restarts (exit {run.restart_codes}): {tail}"
        )
    left = converged(run.directory)
    problems += left
    same = findings.holdings == drill.reference_findings.holdings
    if run.killed:
        killed = f"SIGKILL after {run.ran_for:.2f}s"
    else:
        killed = f"ended by itself ({run.killed_code})"
    row = Row(
        point=run.point,
        step=drill.step(run) if run.killed else None,
        step_again=drill.step_again(run) if run.killed_again else None,
        killed=killed,
        restarts=run.restarts,
        orders="/".join(str(n) for n in drill.new_orders(findings).values()),
        turnover=sum(findings.turnover.values(), Decimal(0))
        / sum(drill.expected_turnover.values(), Decimal(0)),
        same_as_uninterrupted=same,
        converged=not left,
        recovered=run.recovered,
        findings=findings,
        problems=tuple(problems),
    )
    drill.record(row, run)
    return row


def test_the_uninterrupted_run_is_clean_and_converges(drill: DrillSession) -> None:
    run = drill.reference
    assert run.killed_code == 0, run.log("killed.err")[-3000:]
    assert drill.reference_findings.problems == ()
    assert drill.calibration.orders == ORDERS
    assert converged(run.directory) == []


@pytest.mark.parametrize("point_id", point_ids())
def test_kill_point(drill: DrillSession, point_id: str) -> None:
    run = drill.result(point_id)
    # Read before `inspect`: a point without problems has its directory removed there.
    lost = never_reached(run.killed_state) if run.point.kind == "drop_submission" else []
    row = inspect(drill, run)
    if run.point.kind == "crash_after_accept":
        assert run.killed, f"crash_after_accept did not crash the run:\n{run.log('killed.err')}"
    if run.point.kind == "drop_submission":
        # The sim's "not found" is final at once: the run itself settles it, and succeeds.
        assert run.killed_code == 0, run.log("killed.err")[-3000:]
        assert len(lost) == 1, f"expected one never_reached intent, got {lost}"
    step = row.step.label if row.step else "none (ended before the kill)"
    where = f"{run.point.describe()}, step hit: {step}; state kept in {run.directory}"
    assert row.problems == (), "\n".join([where, *row.problems])
