"""The risk limits that scale with the account are of its whole value.

`max_order_pct_nav`, `max_turnover_per_cycle` and `max_turnover_per_day` are documented
against the account's value: its cash, the cash the broker holds for open buys, and every
position at its quote. `decide` passed the planner's managed value instead, which leaves out
`keep` holdings, unsold dust and holdings set aside while their sale waits. Setting a holding
aside then shrank the limits: a plain rebalance of an account of $100,000 tripped
`max_turnover_per_cycle` 0.45 as if it were worth $80,000 and halted the account, and a sale
within `max_order_pct_nav` of the account was refused and set aside too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D  # noqa: N817

from daemon.core.domain import AccountType, Side
from daemon.core.planner import Band, PlanningPolicy
from daemon.core.risk import Check, RiskConfig
from tests.hand_account_case import decide_account

TODAY = date(2024, 3, 1)
HALVES = {"A": "0.5", "B": "0.5"}


def test_a_holding_set_aside_leaves_the_turnover_limit_of_the_whole_account() -> None:
    # X is restricted: its sale is refused and it is set aside. The A -> B rebalance trades
    # $40,000, within 0.45 of the account's $100,000 (not of the $80,000 managed).
    decision = decide_account(
        today=TODAY,
        held={"A": 600, "B": 200, "X": 200},
        prices={"A": 100, "B": 100, "X": 100},
        targets=HALVES,
        universe={"A", "B", "X"},
        account_type=AccountType.ROTH_IRA,
        limits=RiskConfig(restricted_symbols=frozenset({"X"}), max_turnover_per_cycle=D("0.45")),
    )
    assert decision.tripped is None
    assert decision.hold is None
    assert [(o.side, o.symbol, o.qty) for o in decision.approved] == [
        (Side.SELL, "A", D(200)),
        (Side.BUY, "B", D(200)),
    ]
    (refused,) = decision.refusals
    assert (refused.symbol, refused.check) == ("X", Check.SYMBOL_LIST)


def test_a_sale_within_the_order_limit_of_the_account_is_not_refused_after_another_waits() -> None:
    # The account is worth $101,500: 10% is $10,150. X's $12,000 sale is refused and X set
    # aside; Y's $9,500 sale is within the limit and goes ahead.
    decision = decide_account(
        today=TODAY,
        held={"A": 400, "B": 400, "X": 120, "Y": 95},
        prices={"A": 100, "B": 100, "X": 100, "Y": 100},
        targets=HALVES,
        universe={"A", "B", "X", "Y"},
        account_type=AccountType.ROTH_IRA,
        limits=RiskConfig(max_order_pct_nav=D("0.10")),
    )
    assert [(o.side, o.symbol, o.qty) for o in decision.approved if o.symbol == "Y"] == [
        (Side.SELL, "Y", D(95))
    ]
    (refused,) = decision.refusals
    assert refused.symbol == "X"
    assert refused.reason == "$12,000.00 exceeds max_order_pct_nav 10% of $101,500.00"
    assert any(n.startswith("X set aside") for n in decision.plan.notes)
    assert not any(n.startswith("Y set aside") for n in decision.plan.notes)


def test_a_kept_holding_counts_in_the_value_the_turnover_limit_is_of() -> None:
    # K ($50,000) is kept: the managed value is $50,000, the account's $100,000. The
    # $10,000 rebalance is within 0.15 of the account (0.15 of the managed value is $7,500).
    decision = decide_account(
        today=TODAY,
        held={"A": 300, "B": 200, "K": 500},
        prices={"A": 100, "B": 100, "K": 100},
        targets=HALVES,
        universe={"A", "B", "K"},
        account_type=AccountType.ROTH_IRA,
        limits=RiskConfig(max_turnover_per_cycle=D("0.15")),
        policy=PlanningPolicy(
            default_band=Band(absolute_pp=D(5)),
            min_trade_notional=D(1),
            share_increment=D("0.001"),
            keep=frozenset({"K"}),
        ),
    )
    assert decision.plan.nav == D(50000)
    assert decision.tripped is None
    assert [(o.side, o.symbol, o.qty) for o in decision.approved] == [
        (Side.SELL, "A", D(50)),
        (Side.BUY, "B", D(50)),
    ]


def test_the_account_value_is_cash_reserved_cash_and_every_position_at_its_quote() -> None:
    # A and B managed ($50,000), K kept ($10,000), 0.004 sh of Z left unsold (40 cents,
    # under the minimum trade), $1,000 cash and $500 the broker holds for an open buy.
    decision = decide_account(
        today=TODAY,
        held={"A": 300, "B": 200, "K": 100, "Z": D("0.004")},
        prices={"A": 100, "B": 100, "K": 100, "Z": 100},
        targets=HALVES,
        universe={"A", "B", "K", "Z"},
        cash=1000,
        reserved_cash=500,
        account_type=AccountType.ROTH_IRA,
        limits=RiskConfig(max_turnover_per_day=D("0.01")),
        policy=PlanningPolicy(
            default_band=Band(absolute_pp=D(5)),
            min_trade_notional=D(1),
            share_increment=D("0.001"),
            keep=frozenset({"K"}),
        ),
    )
    assert decision.plan.nav == D(51500)  # the managed value: no K, no Z
    assert decision.tripped is not None
    assert decision.tripped.check == Check.TURNOVER_PER_DAY
    assert decision.tripped.reason.endswith("over max_turnover_per_day 0.01 x $61,500.40")
