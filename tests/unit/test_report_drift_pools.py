"""The daily report's drift chart draws a primary and the alternates standing in for it as one
holding, as the planner tests them (`DriftRow.pool`), in a panel named after the pair."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from daemon.audit.events import PlanMade
from daemon.core.domain import CASH
from daemon.core.planner import DriftRow, Plan
from daemon.report.charts import drift_chart
from daemon.report.data import _drift
from tests.fakes.audit import audit_record

D = Decimal
NEW_YORK = ZoneInfo("America/New_York")


def _row(symbol: str, weight: str, target: str, half: str, pool: str = "") -> DriftRow:
    low = max(D(target) - D(half), D(0))
    return DriftRow(
        symbol,
        D(1),
        D(1),
        D(weight),
        D(weight),
        D(target),
        low,
        D(target) + D(half),
        False,
        True,
        D(1),
        D(weight),
        "",
        pool,
    )


def _plan(*rows: DriftRow) -> PlanMade:
    cash = DriftRow(CASH, D(0), D(1), D(0), D(0), D(0), D(0), D(0), False, True, D(0), D(0), "")
    plan = Plan(
        orders=(),
        drift=(*rows, cash),
        nav=D(1),
        cash_before=D(0),
        cash_after=D(0),
        triggered=False,
        notes=(),
    )
    return PlanMade(plan=plan, prices_as_of={})


def _plans(*days: tuple[int, PlanMade]) -> list[tuple[object, PlanMade]]:
    return [
        (audit_record(made, at=datetime(2026, 12, day, 21, tzinfo=UTC), cycle_id="c"), made)
        for day, made in days
    ]


def test_a_harvested_pair_is_one_point_inside_the_pools_band() -> None:
    # Each row alone is out of its band (BBB 20% against 45-55%, BBX 28% against 0-5%);
    # together they hold 48% against the pool's 50% +/- 5: inside, as the planner saw it.
    alone = _plan(_row("AAA", "0.5", "0.5", "0.05"), _row("BBB", "0.5", "0.5", "0.05"))
    paired = _plan(
        _row("AAA", "0.52", "0.5", "0.05"),
        _row("BBB", "0.2", "0.5", "0.05", pool="BBB"),
        _row("BBX", "0.28", "0", "0.05", pool="BBB"),
    )
    points = _drift(_plans((3, alone), (4, paired)), NEW_YORK)  # type: ignore[arg-type]
    assert [(p.day.day, p.symbol) for p in points] == [
        (3, "AAA"),
        (3, "BBB with BBX"),
        (4, "AAA"),
        (4, "BBB with BBX"),
    ]
    pair = points[-1]
    assert (pair.weight, pair.target, pair.low, pair.high) == (0.48, 0.5, 0.45, 0.55)
    assert pair.low <= pair.weight <= pair.high
    svg = drift_chart(points)
    assert "BBB with BBX" in svg
    assert ">BBX<" not in svg


def test_symbols_tested_alone_keep_their_own_rows() -> None:
    plan = _plan(_row("AAA", "0.3", "0.5", "0.05"), _row("CCC", "0.7", "0.5", "0.05"))
    points = _drift(_plans((4, plan)), NEW_YORK)  # type: ignore[arg-type]
    assert [(p.symbol, p.weight, p.low, p.high) for p in points] == [
        ("AAA", 0.3, 0.45, 0.55),
        ("CCC", 0.7, 0.45, 0.55),
    ]
