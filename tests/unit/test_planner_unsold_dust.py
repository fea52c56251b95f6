"""A held holding with a target of 0 that no order can sell (worth less than the minimum trade,
or a fraction of a share of a symbol the broker takes in whole shares only) is left as it is:
out of the managed value, as a `keep` holding is, and it sets off no rebalance.

Before 2026-12-08 such dust was out of band on every plan (a held target-0 symbol always is),
so every cycle rebalanced the whole account around it: with `rebalance_to = "target"` an
AAA inside its band was sold and a BBB inside its band bought, day after day, while the
dust itself was never sold (0.37 sh of a symbol at IB, which trades whole shares only, left
by a dividend reinvestment; $5 of a symbol with a $10 minimum trade). The report's
end-of-day band test and the drift alert, which read the plan's drift rows, flagged it daily.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from daemon.audit.events import PlanMade
from daemon.audit.record import AuditRecord
from daemon.config.policy import decision_input
from daemon.config.settings import Settings, load_config
from daemon.config.tax_policy import tax_policy
from daemon.core.cycle_report import CycleReport
from daemon.core.decide import CycleState, Decision, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, Position, Quote, Side
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.planner.verdict import out_of_band_at
from daemon.core.tax.engine import replay_trades
from daemon.monitor.alerting import _out_of_band as drift_seen
from daemon.report.data import _allocation
from daemon.store.valuations import Valuation, ValuationSource

D = Decimal
BAND = Band(absolute_pp=D(5))
# IB: every symbol in whole shares only; a $10 minimum trade.
WHOLE = PlanningPolicy(
    default_band=BAND,
    min_trade_notional=D(10),
    whole_shares_only=frozenset({"AAA", "BBB", "ZZZ"}),
)
FRACTIONAL = PlanningPolicy(
    default_band=BAND, min_trade_notional=D(10), share_increment=D("0.0001")
)
TARGETS = {"AAA": D("0.5"), "BBB": D("0.5")}
PRICES = {"AAA": D(100), "BBB": D(100), "ZZZ": D(50)}
# AAA 53%, BBB 47%: both inside 50% +-5pp.
INSIDE = {"AAA": D(53), "BBB": D(47)}


def _input(zzz: Decimal | None, policy_prices: dict[str, Decimal] = PRICES) -> PlanInput:
    holdings = dict(INSIDE)
    if zzz is not None:
        holdings["ZZZ"] = zzz
    return PlanInput(cash=D(0), holdings=holdings, prices=policy_prices, targets=TARGETS)


def _row(plan: Plan, symbol: str) -> tuple[bool, bool, str]:
    row = next(r for r in plan.drift if r.symbol == symbol)
    return row.managed, row.out_of_band, row.note


# --- plan_rebalance ---------------------------------------------------------------------


def test_a_fraction_of_a_whole_share_symbol_sets_off_no_rebalance() -> None:
    plan = plan_rebalance(_input(D("0.37")), WHOLE)
    assert plan.orders == ()
    assert not plan.triggered
    managed, out, note = _row(plan, "ZZZ")
    assert (managed, out) == (False, False)
    assert "0.37 sh left" in note
    assert "whole shares only" in note
    assert any(n.startswith("ZZZ: 0.37 sh left unsold") for n in plan.notes)
    assert "every holding is inside its band: no rebalance" in plan.notes


def test_a_holding_below_the_minimum_trade_sets_off_no_rebalance() -> None:
    # 0.1 ZZZ at $50: $5, under the $10 minimum trade; the broker takes the fraction.
    plan = plan_rebalance(_input(D("0.1")), FRACTIONAL)
    assert plan.orders == ()
    assert not plan.triggered
    managed, out, note = _row(plan, "ZZZ")
    assert (managed, out) == (False, False)
    assert note == "order of $5.00 below the minimum trade of $10.00"
    assert (
        "ZZZ: 0.1 sh left unsold: order of $5.00 below the minimum trade of $10.00; "
        "not in the managed value"
    ) in plan.notes


def test_a_holding_below_the_least_commission_says_the_commission_sets_the_minimum() -> None:
    # $4.90 of ZZZ against a $4.95 commission on every order: the minimum trade is $4.96 when
    # the configured one is less, and the note says where it comes from; not when it is more.
    policy = dataclasses.replace(FRACTIONAL, min_trade_notional=D(1), least_commission=D("4.95"))
    plan = plan_rebalance(_input(D("0.098")), policy)
    assert plan.orders == ()
    _, _, note = _row(plan, "ZZZ")
    assert note == (
        "order of $4.90 below the minimum trade of $4.96 (a cent above the broker's least "
        "commission, $4.95)"
    )
    plan = plan_rebalance(_input(D("0.1")), dataclasses.replace(policy, least_commission=D(5)))
    assert _row(plan, "ZZZ")[2].endswith(
        "below the minimum trade of $5.01 (a cent above the broker's least commission, $5.00)"
    )
    plan = plan_rebalance(_input(D("0.1")), dataclasses.replace(policy, min_trade_notional=D(10)))
    assert _row(plan, "ZZZ")[2] == "order of $5.00 below the minimum trade of $10.00"


def test_the_dust_is_out_of_the_managed_value() -> None:
    # The targets are weights of what can be traded: AAA and BBB at 50% of $10,000 exactly,
    # not of $10,018.50, which no plan could reach.
    plan = plan_rebalance(_input(D("0.37")), WHOLE)
    assert plan.nav == D(10_000)
    assert plan == dataclasses.replace(
        plan_rebalance(_input(None), WHOLE),
        drift=plan.drift,
        notes=plan.notes,
    )
    rows = {r.symbol: r for r in plan.drift}
    assert rows["AAA"].weight == D("0.53")
    assert rows["ZZZ"].weight == D("18.5") / D(10_000)


def test_the_others_are_planned_as_usual_when_one_is_out_of_band() -> None:
    # AAA 60%, BBB 40%: out of band; the dust neither sells nor counts.
    inp = dataclasses.replace(
        _input(D("0.37")), holdings={"AAA": D(60), "BBB": D(40), "ZZZ": D("0.37")}
    )
    plan = plan_rebalance(inp, WHOLE)
    assert plan.triggered
    assert sorted((o.side.value, o.symbol, o.qty) for o in plan.orders) == [
        ("buy", "BBB", D(10)),
        ("sell", "AAA", D(10)),
    ]


def test_dust_worth_the_minimum_trade_again_is_sold() -> None:
    # ZZZ up to $30: 0.5 sh is $15, a sale the broker takes: sold, as any target-0 holding.
    prices = {**PRICES, "ZZZ": D(30)}
    plan = plan_rebalance(_input(D("0.5"), prices), FRACTIONAL)
    assert plan.triggered
    assert ("sell", "ZZZ", D("0.5")) in [(o.side.value, o.symbol, o.qty) for o in plan.orders]


def test_whole_shares_worth_the_minimum_trade_are_sold_and_the_fraction_stays() -> None:
    plan = plan_rebalance(_input(D("3.37")), WHOLE)
    assert plan.triggered
    assert ("sell", "ZZZ", D(3)) in [(o.side.value, o.symbol, o.qty) for o in plan.orders]
    assert any(n.startswith("ZZZ: 0.37 sh left unsold") for n in plan.notes)


def test_whole_shares_below_the_minimum_trade_are_dust_too() -> None:
    # 3.9 sh at $3: $11.70, but the 3 whole shares the broker takes are $9, under $10.
    prices = {**PRICES, "ZZZ": D(3)}
    plan = plan_rebalance(_input(D("3.9"), prices), WHOLE)
    assert plan.orders == ()
    assert not plan.triggered
    note = _row(plan, "ZZZ")[2]
    assert note == (
        "order of 3 whole sh ($9.00) below the minimum trade of $10.00; "
        "the broker takes whole shares only"
    )


def test_a_target_of_0_in_the_targets_is_dust_alike() -> None:
    inp = dataclasses.replace(_input(D("0.37")), targets={**TARGETS, "ZZZ": D(0)})
    plan = plan_rebalance(inp, WHOLE)
    assert plan.orders == ()
    assert not plan.triggered


def test_planning_after_the_fills_at_moved_prices_trades_nothing() -> None:
    # Five days of prices moving inside the bands: never a trade.
    holdings = {**INSIDE, "ZZZ": D("0.37")}
    for day in range(5):
        prices = {**PRICES, "AAA": D(100) + day, "BBB": D(100) - day}
        inp = PlanInput(cash=D(0), holdings=holdings, prices=prices, targets=TARGETS)
        plan = plan_rebalance(inp, WHOLE)
        assert plan.orders == (), (day, [o.reason for o in plan.orders])


# --- the decision step, day after day -------------------------------------------------------

NOW = datetime(2025, 3, 4, 20, 0, tzinfo=UTC)


def _settings(tmp_path: Path) -> Settings:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        """
mode = "paper"
state_dir = "state"
[accounts.main]
broker = "sim"
type = "traditional_ira"
[accounts.main.strategy_params]
targets = { AAA = "0.5", BBB = "0.5" }
[accounts.main.policy]
min_trade_notional = "10"
rebalance_to = "target"
[accounts.main.bands]
absolute_pp = "5"
relative = "0.5"
"""
    )
    return load_config(config)


def _decided(
    config: Settings, held: dict[str, Decimal], prices: dict[str, Decimal], cash: Decimal, n: int
) -> Decision:
    now = NOW + timedelta(days=n)
    snapshot = AccountSnapshot(
        "main",
        now,
        cash,
        tuple(Position(s, q) for s, q in held.items() if q),
        {s: Quote(s, p, now - timedelta(minutes=1), "test") for s, p in prices.items()},
        fractionable=frozenset(),  # IB: whole shares only
    )
    tax = TaxInputs(
        book=replay_trades((), tax_policy(config)),
        today=now.date(),
        settings=config.account("main").tax,
        identical=tax_policy(config).identical,
    )
    given = decision_input(
        config,
        "main",
        snapshot=snapshot,
        targets=TARGETS,
        universe=frozenset(TARGETS),
        state=CycleState(),
        tax=tax,
        now=now,
        submit=True,
    )
    return decide(given)


def test_decide_day_after_day_trades_nothing_around_dust(tmp_path: Path) -> None:
    config = _settings(tmp_path)
    held = {"AAA": D(51), "BBB": D(49), "ZZZ": D("0.37")}
    cash = D(0)
    traded, triggered = [], []
    for n in range(6):
        # AAA drifts up, BBB down, both well inside 50% +-5pp.
        prices = {"AAA": D(100) + n, "BBB": D(100) - n, "ZZZ": D(50)}
        decision = _decided(config, held, prices, cash, n)
        for order in decision.review.approved:
            sign = 1 if order.side is Side.BUY else -1
            held[order.symbol] = held.get(order.symbol, D(0)) + sign * order.qty
            cash -= sign * order.qty * prices[order.symbol]
            traded.append((n, order.side.value, order.symbol, order.qty))
        if decision.plan.triggered:
            triggered.append(n)
    assert traded == []
    assert triggered == []
    assert held["ZZZ"] == D("0.37")


# --- the report and the drift alert agree ------------------------------------------------------


def test_the_report_and_the_drift_alert_do_not_flag_dust() -> None:
    plan = plan_rebalance(_input(D("0.37")), WHOLE)
    cycle = CycleReport(cycle_id="c", account="a", outcome="planned", submitted=False, plan=plan)
    assert drift_seen(cycle) == ()
    # The end of the day, ZZZ's weight unchanged: its band is tested as the planner tests it.
    equity = D(10_018.5)
    weights = {"AAA": 0.53, "BBB": 0.47, "ZZZ": float(D("18.5") / equity)}
    assert not any(out_of_band_at(plan.drift, weights).values())
    valuation = Valuation(
        account="a",
        as_of=datetime(2025, 3, 4, 21, tzinfo=UTC),
        trading_day=date(2025, 3, 4),
        source=ValuationSource.EOD,
        ref="eod",
        equity=equity,
        cash=D(0),
        positions_value=equity,
        holdings={"AAA": D(5300), "BBB": D(4700), "ZZZ": D("18.5")},
    )
    record = AuditRecord(
        seq=1,
        recorded_at=datetime(2025, 3, 4, 15, tzinfo=UTC),
        kind="plan",
        account="a",
        cycle_id="c",
        payload={},
        prev_hash="",
        hash="",
    )
    rows = _allocation(valuation, [(record, PlanMade(plan=plan, prices_as_of={}))])
    assert [r.symbol for r in rows if r.out_of_band] == []
