"""A fraction held in a symbol the broker takes in whole shares only (the snapshot's
`fractionable` leaves it out): the decision step sells the whole shares and says the fraction
stays, also where it sells the whole holding.

Before 2026-12-07 a held 10.5 BND (a dividend reinvestment, a split, a symbol the broker
dropped from its fractional list) with target 0 was planned as "sell 10.5", which Alpaca and
IB refuse, every cycle, and not even the 10 whole shares were sold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config.policy import decision_input
from daemon.config.settings import Settings, load_config
from daemon.config.tax_policy import tax_policy
from daemon.core.decide import CycleState, Decision, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, Position, Quote, Side
from daemon.core.errors import DataError
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.types import Trade

D = Decimal
NOW = datetime(2025, 3, 4, 20, 0, tzinfo=UTC)
TODAY = date(2025, 3, 4)
CASH_AT_START = D(10_000)
NO_WITHDRAWAL = D(0)
PRICES = {"VTI": D("250.00"), "BND": D("72.50"), "ITOT": D("61.29")}


def settings(
    tmp_path: Path,
    *,
    policy: str = "",
    tax: str = "",
    targets: str = "",
    account_type: str = "traditional_ira",
) -> Settings:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f"""
mode = "paper"
state_dir = "state"
[accounts.main]
broker = "sim"
type = "{account_type}"
[accounts.main.strategy_params]
targets = {{ {targets or 'VTI = "1"'} }}
[accounts.main.policy]
min_trade_notional = "1"
{policy}
[accounts.main.tax]
{tax}
"""
    )
    return load_config(config)


def decided(
    config: Settings,
    *,
    held: dict[str, Decimal],
    targets: dict[str, Decimal],
    fractionable: frozenset[str] | None,
    cash: Decimal = CASH_AT_START,
    trades: tuple[Trade, ...] = (),
    withdrawal: Decimal = NO_WITHDRAWAL,
) -> Decision:
    snapshot = AccountSnapshot(
        "main",
        NOW,
        cash,
        tuple(Position(s, q) for s, q in held.items()),
        {s: Quote(s, p, NOW - timedelta(minutes=1), "test") for s, p in PRICES.items()},
        fractionable=fractionable,
    )
    tax = TaxInputs(
        book=replay_trades(trades, tax_policy(config)),
        today=TODAY,
        settings=config.account("main").tax,
        identical=tax_policy(config).identical,
    )
    given = decision_input(
        config,
        "main",
        snapshot=snapshot,
        targets=targets,
        universe=frozenset(targets),
        state=CycleState(),
        tax=tax,
        now=NOW,
        submit=True,
        withdrawal=withdrawal,
    )
    return decide(given)


def orders(decision: Decision) -> list[tuple[str, str, Decimal]]:
    return [(o.side.value, o.symbol, o.qty) for o in decision.plan.orders]


def bnd_row_note(decision: Decision) -> str:
    return next(r for r in decision.plan.drift if r.symbol == "BND").note


# --- a sale of the whole holding --------------------------------------------------------------


def test_a_whole_share_symbol_held_in_a_fraction_sells_its_whole_shares_and_says_so(
    tmp_path: Path,
) -> None:
    # The audit's case (Alpaca: VTI fractionable, BND not; IB: nothing is).
    for fractionable in (frozenset({"VTI"}), frozenset()):
        decision = decided(
            settings(tmp_path),
            held={"BND": D("10.5")},
            targets={"VTI": D(1)},
            fractionable=fractionable,
        )
        assert ("sell", "BND", D(10)) in orders(decision)
        approved = {(o.side.value, o.symbol): o.qty for o in decision.review.approved}
        assert approved[("sell", "BND")] == D(10)
        row = next(r for r in decision.plan.drift if r.symbol == "BND")
        assert row.qty_after == D("0.5")
        assert "0.5 sh left" in row.note
        assert "whole shares only" in row.note
        assert any("BND" in n and "0.5 sh" in n for n in decision.plan.notes)
        # The cash the plan counts on is what the 10 shares bring, exactly.
        buys = sum((o.notional for o in decision.plan.orders if o.side is Side.BUY), D(0))
        assert decision.plan.cash_after == D(10_000) + D(10) * PRICES["BND"] - buys


def test_a_broker_that_takes_the_fraction_still_sells_the_exact_holding(tmp_path: Path) -> None:
    # Selling 10 there would leave 0.5 sh nobody sells.
    for fractionable in (None, frozenset({"VTI", "BND"})):
        decision = decided(
            settings(tmp_path),
            held={"BND": D("10.5")},
            targets={"VTI": D(1)},
            fractionable=fractionable,
        )
        assert ("sell", "BND", D("10.5")) in orders(decision)


def test_only_a_fraction_left_plans_no_order_and_says_why(tmp_path: Path) -> None:
    decision = decided(
        settings(tmp_path),
        held={"BND": D("0.5"), "VTI": D(40)},
        targets={"VTI": D(1)},
        fractionable=frozenset({"VTI"}),
        cash=D(0),
    )
    assert all(o.symbol != "BND" for o in decision.plan.orders)
    assert "0.5 sh left" in bnd_row_note(decision)


def test_raising_a_withdrawal_past_target_sells_whole_shares_only(tmp_path: Path) -> None:
    # $9,900 out of $9,984: everything is sold, BND down to its fraction.
    decision = decided(
        settings(tmp_path, targets='VTI = "0.5", BND = "0.5"'),
        held={"VTI": D(20), "BND": D("68.75")},
        targets={"VTI": D("0.5"), "BND": D("0.5")},
        fractionable=frozenset({"VTI"}),
        cash=D(0),
        withdrawal=D(9_900),
    )
    assert ("sell", "BND", D(68)) in orders(decision)
    assert ("sell", "VTI", D(20)) in orders(decision)


def test_a_fractional_increment_for_a_whole_share_symbol_is_refused_naming_it() -> None:
    policy = PlanningPolicy(
        default_band=Band(absolute_pp=D(5)),
        increment_overrides={"BND": D("0.5")},
        whole_shares_only=frozenset({"BND"}),
    )
    inp = PlanInput(cash=D(0), holdings={"BND": D("10.5")}, prices=PRICES, targets={"VTI": D(1)})
    with pytest.raises(DataError, match=r"share increment of BND is 0\.5, but the broker takes"):
        plan_rebalance(inp, policy)
