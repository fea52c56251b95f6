"""The daily report tests a primary and the alternate standing in for it as one pool, as the
planner does (`daemon.core.planner.bands`): a pair out of its band shows OUT on both legs, and
a leg outside its own target plus the pool's half-width, inside the pool's band, shows nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from pathlib import Path

from daemon.audit.events import PlanMade
from daemon.audit.record import AuditRecord
from daemon.config.settings import load_config
from daemon.core.cycle_report import CycleReport
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from daemon.monitor.alerting import _out_of_band as _drift_seen
from daemon.report.data import _allocation
from daemon.report.household import HouseholdLine, gather_household
from daemon.report.model import AllocationRow
from daemon.report.summary import _out_of_band
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.valuations import Valuation, ValuationSource, record_valuation

DAY = date(2022, 7, 13)
POLICY = PlanningPolicy(default_band=Band(absolute_pp=D(5), relative=D("0.25")))
TAX = TaxSettings.model_validate({"alternates": {"BBB": "BBX"}, "harvest": {"enabled": True}})


def _input(aaa: D, bbx: D, cash: D) -> PlanInput:
    # After a harvest of BBB: 500 AAA and 1,000 BBX standing in for BBB (50% each).
    holdings = {"AAA": D(500), "BBX": D(1000)}
    prices = {"AAA": aaa / 500, "BBB": D(100), "BBX": bbx / 1000}
    stood = stand_in_targets(
        {"AAA": D("0.5"), "BBB": D("0.5")},
        holdings,
        prices,
        cash,
        settings=TAX,
        identical=SubstantiallyIdentical(),
        loss_windows=(),
        today=DAY,
    )
    assert stood.pairs == {"BBX": "BBB"}
    return PlanInput(
        cash=cash, holdings=holdings, prices=prices, targets=stood.targets, stand_ins=stood.pairs
    )


def _morning() -> Plan:
    # The pair at 46% of BBB's 50% +-5pp, AAA at 50%: nothing to do.
    plan = plan_rebalance(_input(D(50000), D(46000), D(4000)), POLICY)
    assert not plan.triggered
    return plan


def _evening(plan: Plan, aaa: D, bbx: D, cash: D) -> dict[str, AllocationRow]:
    equity = aaa + bbx + cash
    valuation = Valuation(
        account="a",
        as_of=datetime(2022, 7, 13, 21, tzinfo=UTC),
        trading_day=DAY,
        source=ValuationSource.EOD,
        ref="eod",
        equity=equity,
        cash=cash,
        positions_value=aaa + bbx,
        holdings={"AAA": aaa, "BBX": bbx},
    )
    record = AuditRecord(
        seq=1,
        recorded_at=datetime(2022, 7, 13, 15, tzinfo=UTC),
        kind="plan",
        account="a",
        cycle_id="c1",
        payload={},
        prev_hash="",
        hash="",
    )
    made = PlanMade(plan=plan, prices_as_of={})
    return {r.symbol: r for r in _allocation(valuation, [(record, made)])}


def test_the_plan_names_the_pool_on_both_legs() -> None:
    rows = {r.symbol: r for r in _morning().drift}
    assert (rows["BBB"].pool, rows["BBX"].pool, rows["AAA"].pool) == ("BBB", "BBB", "")


def test_a_pair_below_its_band_at_the_end_of_the_day_is_out_on_both_legs() -> None:
    # AAA 54%, BBX 44%: each leg is inside its own target +-5pp (BBX 41%-51%, BBB 0%-9%),
    # the pair's 44% is below BBB's 45%, and the planner would rebalance.
    assert plan_rebalance(_input(D(54000), D(44000), D(2000)), POLICY).triggered
    rows = _evening(_morning(), D(54000), D(44000), D(2000))
    assert rows["BBB"].out_of_band
    assert rows["BBX"].out_of_band
    assert not rows["AAA"].out_of_band
    assert _out_of_band(tuple(rows.values())) == [
        "BBB with BBX at 44.0% is outside their band 45.0%–55.0% (target 50.0%)"
    ]


def test_a_leg_over_its_own_limits_inside_the_pool_band_is_not_out() -> None:
    # BBX 52%, over its own 46% +5pp, the pair inside BBB's 45%-55%: the planner holds still.
    assert not plan_rebalance(_input(D(46000), D(52000), D(2000)), POLICY).triggered
    rows = _evening(_morning(), D(46000), D(52000), D(2000))
    assert rows["BBX"].weight > rows["BBX"].high
    assert not any(r.out_of_band for r in rows.values())
    assert _out_of_band(tuple(rows.values())) == []


def test_a_holding_alone_is_still_tested_against_its_own_band() -> None:
    rows = _evening(_morning(), D(60000), D(38000), D(2000))
    assert rows["AAA"].out_of_band
    lines = _out_of_band(tuple(rows.values()))
    assert "AAA at 60.0% is outside its band 45.0%–55.0% (target 50.0%)" in lines


def _household(tmp_path: Path, database: Database, bbx: D, aaa: D) -> dict[str, HouseholdLine]:
    # Two members of a household at AAA 50% / BBB 50% +-5pp; the taxable one holds BBX
    # standing in for BBB (its latest plan says so), the IRA holds cash only.
    text = ""
    for name, kind in (("brokerage", "taxable"), ("ira", "traditional_ira")):
        text += (
            f'[accounts.{name}]\nbroker = "sim"\ntype = "{kind}"\n'
            f'[accounts.{name}.strategy_params]\ntargets = {{ AAA = "0.5", BBB = "0.5" }}\n'
        )
    text += '[accounts.brokerage.tax]\nalternates = { BBB = "BBX" }\n'
    text += '[household]\naccounts = ["brokerage", "ira"]\ntargets = { AAA = "0.5", BBB = "0.5" }\n'
    config = tmp_path / "config.toml"
    config.write_text(f'mode = "paper"\nstate_dir = "{tmp_path / "state"}"\n' + text)
    settings = load_config(config)
    now = datetime(2022, 7, 13, 21, tzinfo=UTC)
    with database.transaction() as session:
        AuditLog(session).append(
            PlanMade(plan=_morning(), prices_as_of={}), at=now, account="brokerage"
        )
        for name, holdings, cash in (
            ("brokerage", {"AAA": aaa, "BBX": bbx}, D(0)),
            ("ira", {}, D(100000) - aaa - bbx),
        ):
            valuation = Valuation(
                account=name,
                as_of=now,
                trading_day=DAY,
                source=ValuationSource.EOD,
                ref="eod",
                equity=sum(holdings.values(), cash),
                cash=cash,
                positions_value=sum(holdings.values(), D(0)),
                holdings=holdings,
            )
            record_valuation(session, valuation, now=now)
    with database.transaction() as session:
        section = gather_household(session, settings, DAY, until=now + timedelta(hours=1))
    assert section is not None
    return {line.symbol: line for line in section.lines}


def test_the_household_tests_a_members_pair_as_one_holding(
    tmp_path: Path, database: Database
) -> None:
    # The household's BBX (48%) and BBB (0%): the pair inside BBB's 45%-55%, though BBX alone
    # is over its target of 0 +5pp and BBB alone under 45%.
    lines = _household(tmp_path, database, D(48000), D(50000))
    assert (lines["BBB"].pool, lines["BBX"].pool, lines["AAA"].pool) == ("BBB", "BBB", "")
    assert not any(line.out_of_band for line in lines.values())
    # The pair at 40%: out, on both legs.
    lines = _household(tmp_path, database, D(40000), D(50000))
    assert lines["BBB"].out_of_band
    assert lines["BBX"].out_of_band
    assert not lines["AAA"].out_of_band


def test_the_drift_alert_names_the_pair_with_the_band_the_planner_tested() -> None:
    # The pair at 44% of BBB's 50% +-5pp: one observation, the pool's, not BBX's 44% against
    # its own 41%-51% (which holds it).
    plan = plan_rebalance(_input(D(54000), D(44000), D(2000)), POLICY)
    report = CycleReport(cycle_id="c2", account="a", outcome="planned", submitted=False, plan=plan)
    seen = _drift_seen(report)
    assert seen is not None
    assert [(o.symbol, round(o.weight, 6), o.low, o.high) for o in seen] == [
        ("BBB with BBX", D("0.44"), D("0.45"), D("0.55"))
    ]
