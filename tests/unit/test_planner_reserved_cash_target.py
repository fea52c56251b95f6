"""Reserved cash counts toward the CASH target: it is cash in the account, so the planner
keeps only the rest of that target in spendable cash.

The bug these pin: the CASH target (a weight of a value that includes the reserve) was
compared with the spendable cash alone, so the reserve was kept twice: with X 90% / CASH 10%
and $10,000 of a $100,000 account held by an open buy, the plan bought $10,000 of X instead
of $20,000 and left X at 80%, outside its band.
"""

from __future__ import annotations

from decimal import Decimal

from daemon.core.domain import CASH, AccountType, Side
from daemon.core.household.split import split_household
from daemon.core.household.types import HouseholdAccount, HouseholdRules
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance

D = Decimal
POLICY = PlanningPolicy(default_band=Band(absolute_pp=D(5)))


def _buys(plan: Plan) -> dict[str, Decimal]:
    return {o.symbol: o.qty for o in plan.orders if o.side is Side.BUY}


def _single(reserved: Decimal, cash: Decimal, policy: PlanningPolicy = POLICY) -> Plan:
    """X 90% / CASH 10%, $70,000 of X."""
    return plan_rebalance(
        PlanInput(
            cash=cash,
            reserved_cash=reserved,
            holdings={"X": D(700)},
            prices={"X": D(100)},
            targets={"X": D("0.9"), CASH: D("0.1")},
        ),
        policy,
    )


def test_the_reserve_fills_the_cash_target_and_the_spendable_cash_is_invested() -> None:
    plan = _single(D(10_000), D(20_000))
    assert plan.nav == D(100_000)
    assert _buys(plan) == {"X": D(200)}  # the $10,000 held is the 10% cash target
    assert plan.cash_after == 0
    rows = {r.symbol: r for r in plan.drift}
    assert rows["X"].weight_after == D("0.9")
    assert rows["X"].note == ""
    assert rows[CASH].target == D("0.1")  # the weight, the reserve inside it
    assert rows[CASH].weight_after == D("0.1")
    assert rows[CASH].qty_after == D(10_000)


def test_without_a_reserve_the_plan_is_unchanged() -> None:
    plan = _single(D(0), D(20_000))
    assert _buys(plan) == {"X": D(110)}
    assert plan.cash_after == D(9_000)


def test_a_reserve_above_the_cash_target_is_never_spent() -> None:
    plan = _single(D(20_000), D(10_000))
    assert _buys(plan) == {"X": D(100)}
    assert plan.cash_after == 0  # what is spendable, all of it; the $20,000 held stays


def test_the_buffer_is_kept_in_spendable_cash_besides_the_reserve() -> None:
    policy = PlanningPolicy(default_band=Band(absolute_pp=D(5)), cash_buffer=D(5_000))
    plan = _single(D(10_000), D(20_000), policy)
    # $10,000 held and the $5,000 buffer: cash is 15%, X's 90% scaled to 85%.
    assert _buys(plan) == {"X": D(150)}
    assert plan.cash_after == D(5_000)
    rows = {r.symbol: r for r in plan.drift}
    assert rows["X"].target == D("0.85")
    assert rows[CASH].target == D("0.15")
    assert rows[CASH].weight_after == D("0.15")
    assert sum(r.target for r in plan.drift if r.managed) == 1


def test_a_household_member_with_a_reserve_invests_its_spendable_cash() -> None:
    """The split puts the member's reserve in its CASH target; the member's plan does not keep
    that much spendable cash besides."""
    rules = HouseholdRules(targets={"X": D("0.5"), "Y": D("0.5")})
    a = HouseholdAccount(
        name="a",
        type=AccountType.TAXABLE,
        cash=D(20_000),
        reserved_cash=D(10_000),
        holdings={"X": D(40_000)},
    )
    b = HouseholdAccount(
        name="b", type=AccountType.TRADITIONAL_IRA, cash=D(0), holdings={"Y": D(50_000)}
    )
    split = split_household(rules, [a, b])
    member = next(s for s in split.accounts if s.account == "a")
    assert abs(member.targets[CASH] * D(70_000) - D(10_000)) < D(1)  # the reserve, held
    plan = plan_rebalance(
        PlanInput(
            cash=D(20_000),
            reserved_cash=D(10_000),
            holdings={"X": D(400)},
            prices={"X": D(100), "Y": D(100)},
            targets=dict(member.targets),
        ),
        POLICY,
    )
    assert plan.cash_after <= D(100)  # a share at most: the $20,000 is invested
    rows = {r.symbol: r for r in plan.drift}
    for symbol in ("X", "Y"):
        assert not rows[symbol].note, rows[symbol].note
        assert abs(rows[symbol].weight_after - rows[symbol].target) < D("0.002")
