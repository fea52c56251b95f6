"""`trimtab validate` shows a primary and the alternate standing in for it as one pool, as the
plan, the daily report and the drift alert do (`daemon.core.planner.bands`): the pool tested
against the primary's whole target and band, each leg marked as in the primary's pool, not
each leg against its own target plus the pool's half-width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from zoneinfo import ZoneInfo

import pytest

from daemon.audit.events import CycleFinished, DriftAfter, PlanMade
from daemon.audit.jsonable import to_jsonable
from daemon.cli.validate_cmd import _as_dict, _print
from daemon.core.planner import plan_rebalance
from daemon.report.validation import PoolAfter, Validation, validate
from tests.fakes.audit import audit_record, started
from tests.unit.test_report_stand_in_pools import POLICY, _input

T0 = datetime(2022, 7, 13, 19, 45, tzinfo=UTC)
CYCLE = "a:2022-07-13:close"


def _validation(sent: bool) -> Validation:
    # AAA 54%, BBX 44%: BBX inside its own 44% +-5pp, the pair's 44% below BBB's 45%-55%.
    # A cycle that sent orders and ended there (drift_after, recorded without pools), or
    # one that sent nothing (the plan's own drift table).
    plan = plan_rebalance(_input(D(54000), D(44000), D(2000)), POLICY)
    assert plan.triggered
    after = tuple(
        DriftAfter(r.symbol, r.weight, r.target, r.low, r.high, r.out_of_band, r.managed)
        for r in plan.drift
    )
    end = CycleFinished(
        outcome="succeeded",
        submitted=sent,
        why_not_submitted="" if sent else "dry-run",
        planned_orders=len(plan.orders),
        drift_after=after if sent else None,
    )
    records = [
        audit_record(event, at=T0, cycle_id=CYCLE)
        for event in (started(submit=True), PlanMade(plan=plan, prices_as_of={}), end)
    ]
    return validate(
        ["a"], records, [], since=T0, until=T0 + timedelta(days=1), max_slippage_bps=D(20)
    )


@pytest.mark.parametrize("sent", [True, False])
def test_the_record_marks_each_leg_and_tests_the_pool_as_one_holding(sent: bool) -> None:
    result = _validation(sent)
    legs = {d.symbol: d for d in result.drift_after}
    assert {s: d.pool for s, d in legs.items()} == {"AAA": "", "BBB": "BBB", "BBX": "BBB"}
    assert legs["BBX"].low <= legs["BBX"].weight <= legs["BBX"].high  # alone it looks inside
    assert result.pools_after == (
        PoolAfter(
            account="a",
            cycle_id=CYCLE,
            pool="BBB",
            name="BBB with BBX",
            members=("BBB", "BBX"),
            weight=legs["BBB"].weight + legs["BBX"].weight,
            target=D("0.5"),
            low=D("0.45"),
            high=D("0.55"),
            out_of_band=True,
        ),
    )
    assert round(result.pools_after[0].weight, 9) == D("0.44")
    record = to_jsonable(_as_dict(result))
    assert [(p["pool"], p["members"], p["low"], p["high"]) for p in record["pools_after"]] == [
        ("BBB", ["BBB", "BBX"], "0.45", "0.55")
    ]
    assert {d["symbol"]: d["pool"] for d in record["drift_after"]} == {
        "AAA": "",
        "BBB": "BBB",
        "BBX": "BBB",
    }


def test_the_output_shows_the_pool_against_the_primarys_band(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _print(_validation(sent=True), ZoneInfo("America/New_York"))
    out = capsys.readouterr().out
    table = out[out.index("outside the band after the cycle") : out.index("WATCH")]
    lines = [line.split() for line in table.splitlines() if CYCLE in line]
    # One row for the pool, as tested; each leg under it, in BBB's pool, without a band of
    # its own (BBX's own 39%-49% would hold its 44%).
    assert lines[0] == ["a", CYCLE, "BBB", "with", "BBX", "44.00%", "50.00%", "45.00%-55.00%"]
    assert [line[2:] for line in lines[1:]] == [
        ["BBB", "0.00%", "6.00%", "in", "BBB's", "pool"],
        ["BBX", "44.00%", "44.00%", "in", "BBB's", "pool"],
    ]
    assert "39.00%-49.00%" not in table
