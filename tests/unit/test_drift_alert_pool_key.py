"""A pool out of band keeps one drift alert while alternates join or leave it: the alert is
kept under its primary (`drift:BBB`), while its message names the pool ("BBB with BBX").
Keyed by the pool's name, a second harvest that added BBY restarted the `drift_days` count,
and a pool out of band for a week never alerted (a reviewer's case)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from daemon.config.monitoring import AlertSettings
from daemon.core.cycle_report import CycleReport
from daemon.core.planner.types import DriftRow, Plan
from daemon.monitor.alerting import _out_of_band
from daemon.monitor.alerts import (
    AlertInputs,
    AlertState,
    advance,
    checked_families,
    evaluate_alerts,
)

D = Decimal


def row(symbol: str, weight: str, target: str, half: str, pool: str) -> DriftRow:
    return DriftRow(
        symbol=symbol,
        qty=D(1),
        price=D(1),
        value=D(1),
        weight=D(weight),
        target=D(target),
        low=max(D(0), D(target) - D(half)),
        high=D(target) + D(half),
        out_of_band=True,
        managed=True,
        qty_after=D(1),
        weight_after=D(weight),
        note="",
        pool=pool,
    )


def report(rows: list[DriftRow]) -> CycleReport:
    plan = Plan(
        orders=(),
        drift=tuple(rows),
        nav=D(100),
        cash_before=D(0),
        cash_after=D(0),
        triggered=True,
        notes=(),
    )
    return CycleReport(cycle_id="c", account="a", outcome="planned", submitted=False, plan=plan)


def test_a_pool_out_of_band_alerts_once_though_an_alternate_joins_it() -> None:
    settings = AlertSettings(drift_days=5)
    start = datetime(2022, 8, 1, 20, tzinfo=UTC)
    # BBB with BBX at 40% against 50% +-5pp every day; from day 3 BBY stands in too.
    first = [row("BBB", "0", "0.10", "0.05", "BBB"), row("BBX", "0.40", "0.40", "0.05", "BBB")]
    later = [
        row("BBB", "0", "0.05", "0.05", "BBB"),
        row("BBX", "0.35", "0.35", "0.05", "BBB"),
        row("BBY", "0.05", "0.05", "0.05", "BBB"),
    ]
    state: dict[str, AlertState] = {}
    fired = []
    for n in range(7):
        now = start + timedelta(days=n)
        seen = _out_of_band(report(first if n < 3 else later))
        inputs = AlertInputs(account="a", at=now, out_of_band=seen)
        alerts = evaluate_alerts(inputs, settings)
        step = advance(state, alerts, checked_families(inputs, settings), account="a", now=now)
        for changed in step.states:
            state[changed.key] = changed
        fired += [(n, alert.key, alert.title) for alert in step.fired]
    assert fired == [(5, "drift:BBB", "a: BBB with BBX, BBY outside its band for 5+ days")]
