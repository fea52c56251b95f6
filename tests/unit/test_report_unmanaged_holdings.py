"""The daily report's allocation weighs holdings as the planner does: against the managed value,
the account's value less the holdings the plan does not manage (a `policy.keep` holding, one set
aside while its sale is held back, unsold dust). An account of A and B at 50% each of that value
and X, not managed, at 20% of the whole: the plan says every holding is inside its band, so the
report says so too, and X shows its share of the whole account, unbanded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from pathlib import Path

from daemon.audit.events import PlanMade
from daemon.audit.record import AuditRecord
from daemon.config.settings import Settings, load_config
from daemon.core.decide import CycleState, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax import TaxPolicy
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from daemon.report.data import _allocation, gather
from daemon.report.html import render_html
from daemon.report.model import AccountReport, DailyReport
from daemon.report.summary import attention
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.valuations import Valuation, ValuationSource, record_valuation

DAY = date(2024, 3, 1)
PLANNED_AT = datetime(2024, 3, 1, 19, tzinfo=UTC)
CLOSE = datetime(2024, 3, 1, 21, 5, tzinfo=UTC)
HELD = {"A": D(400), "B": D(400), "X": D(200)}
PRICE = D(100)
TARGETS = {"A": D("0.5"), "B": D("0.5")}
POLICY = PlanningPolicy(
    default_band=Band(absolute_pp=D(5)), min_trade_notional=D(1), share_increment=D("0.001")
)


def _set_aside_plan() -> Plan:
    """X, dropped by the strategy (a target of 0), its $20,000 sale refused by
    max_order_notional: the decision sets it aside and plans A and B without it."""
    snapshot = AccountSnapshot(
        account="main",
        as_of=PLANNED_AT,
        cash=D(0),
        positions=tuple(Position(s, q) for s, q in HELD.items()),
        quotes={s: Quote(s, PRICE, PLANNED_AT - timedelta(minutes=1), "test") for s in HELD},
    )
    decision = decide(
        DecisionInput(
            account="main",
            account_type=AccountType.ROTH_IRA,
            strategy="static",
            targets=TARGETS,
            universe=frozenset(HELD),
            snapshot=snapshot,
            planning=POLICY,
            terms=OrderTerms(),
            limits=RiskConfig(max_order_notional=D(15000)),
            state=CycleState(),
            tax=TaxInputs(
                book=replay_trades([], TaxPolicy(methods={}, identical=SubstantiallyIdentical())),
                today=DAY,
                settings=TaxSettings.model_validate({}),
                identical=SubstantiallyIdentical(),
            ),
            now=PLANNED_AT,
            max_quote_age=timedelta(hours=96),
            mode=Mode.PAPER,
            submit=True,
            withdrawal=D(0),
            alternates=frozenset(),
        )
    )
    assert decision.approved == ()
    assert any("set aside" in note for note in decision.plan.notes)
    return decision.plan


def _keep_plan() -> Plan:
    """X held as a `policy.keep` holding: never traded, out of the managed value."""
    inp = PlanInput(
        cash=D(0), holdings=HELD, prices=dict.fromkeys(HELD, PRICE), targets=dict(TARGETS)
    )
    keep = PlanningPolicy(
        default_band=POLICY.default_band,
        min_trade_notional=POLICY.min_trade_notional,
        share_increment=POLICY.share_increment,
        keep=frozenset({"X"}),
    )
    return plan_rebalance(inp, keep)


def _settings(tmp_path: Path) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(
        f'mode = "paper"\nstate_dir = "{tmp_path / "state"}"\n'
        '[accounts.main]\nbroker = "sim"\ntype = "roth_ira"\n'
        '[accounts.main.strategy_params]\ntargets = { A = "0.5", B = "0.5" }\n'
    )
    return load_config(config)


def _report(tmp_path: Path, database: Database, plan: Plan) -> DailyReport:
    """The day's report from the cycle's plan record and the end-of-day valuation (prices
    unchanged: A and B $40,000 each, X $20,000)."""
    # The planner's own verdict: A and B at 50% of the managed value, nothing to do.
    rows = {r.symbol: r for r in plan.drift}
    assert not plan.triggered
    assert not rows["X"].managed
    assert (rows["A"].weight, rows["B"].weight) == (D("0.5"), D("0.5"))
    assert not any(r.out_of_band for r in plan.drift)
    settings = _settings(tmp_path)
    holdings = {s: q * PRICE for s, q in HELD.items()}
    with database.transaction() as session:
        AuditLog(session).append(
            PlanMade(plan=plan, prices_as_of={}), at=PLANNED_AT, account="main", cycle_id="c1"
        )
        record_valuation(
            session,
            Valuation(
                account="main",
                as_of=CLOSE,
                trading_day=DAY,
                source=ValuationSource.EOD,
                ref="eod",
                equity=D(100000),
                cash=D(0),
                positions_value=D(100000),
                holdings=holdings,
            ),
            now=CLOSE,
        )
    with database.transaction() as session:
        return gather(session, settings, DAY, now=CLOSE + timedelta(minutes=5))


def _check(report: DailyReport) -> AccountReport:
    (account,) = report.accounts
    rows = {r.symbol: r for r in account.allocation}
    # As the planner weighs them: of the $80,000 managed, inside their 45%-55% bands.
    assert (rows["A"].weight, rows["B"].weight) == (0.5, 0.5)
    assert not rows["A"].out_of_band
    assert not rows["B"].out_of_band
    assert not [line for line in attention(report) if "outside" in line]
    assert account.managed_value == D(80000)
    # X: its share of the whole account, not managed, no target, no band.
    assert rows["X"].weight == 0.2
    assert not rows["X"].managed
    assert (rows["X"].target, rows["X"].low, rows["X"].high) == (0.0, 0.0, 0.0)
    assert not rows["X"].out_of_band
    # The rest of the report stays on the whole account.
    assert account.value.value == D(100000)
    assert account.concentration is not None
    assert account.concentration.largest_weight == 0.4
    page = render_html(report)
    assert "outside band" not in page
    assert "of the managed value" in page
    assert "20.0% of account" in page
    return account


def test_a_set_aside_holding_is_out_of_the_value_the_report_weighs(
    tmp_path: Path, database: Database
) -> None:
    account = _check(_report(tmp_path, database, _set_aside_plan()))
    (x,) = [r for r in account.allocation if r.symbol == "X"]
    assert x.note.startswith("set aside")


def test_a_keep_holding_is_out_of_the_value_the_report_weighs(
    tmp_path: Path, database: Database
) -> None:
    account = _check(_report(tmp_path, database, _keep_plan()))
    (x,) = [r for r in account.allocation if r.symbol == "X"]
    assert x.note == "kept: not managed"


def test_without_a_valuation_the_plans_weights_show_on_the_same_bases() -> None:
    record = AuditRecord(
        seq=1,
        recorded_at=PLANNED_AT,
        kind="plan",
        account="main",
        cycle_id="c1",
        payload={},
        prev_hash="",
        hash="",
    )
    for plan in (_set_aside_plan(), _keep_plan()):
        rows = {
            r.symbol: r for r in _allocation(None, [(record, PlanMade(plan=plan, prices_as_of={}))])
        }
        assert (rows["A"].weight, rows["B"].weight, rows["X"].weight) == (0.5, 0.5, 0.2)
        assert not any(r.out_of_band for r in rows.values())
        assert [r.symbol for r in rows.values() if not r.managed] == ["X"]


def test_an_account_that_manages_everything_is_weighed_against_its_whole_value() -> None:
    # Nothing left out of the managed value: $20,000 of cash instead of X. A and B at 40% of
    # the whole account are outside their bands, in the plan and in the report alike.
    inp = PlanInput(
        cash=D(20000),
        holdings={"A": D(400), "B": D(400)},
        prices={"A": PRICE, "B": PRICE},
        targets=dict(TARGETS),
    )
    plan = plan_rebalance(inp, POLICY)
    assert plan.triggered
    valuation = Valuation(
        account="main",
        as_of=CLOSE,
        trading_day=DAY,
        source=ValuationSource.EOD,
        ref="eod",
        equity=D(100000),
        cash=D(20000),
        positions_value=D(80000),
        holdings={"A": D(40000), "B": D(40000)},
    )
    record = AuditRecord(
        seq=1,
        recorded_at=PLANNED_AT,
        kind="plan",
        account="main",
        cycle_id="c1",
        payload={},
        prev_hash="",
        hash="",
    )
    rows = {
        r.symbol: r
        for r in _allocation(valuation, [(record, PlanMade(plan=plan, prices_as_of={}))])
    }
    assert (rows["A"].weight, rows["B"].weight, rows["CASH"].weight) == (0.4, 0.4, 0.2)
    assert rows["A"].out_of_band
    assert rows["B"].out_of_band
    assert all(r.managed for r in rows.values())
