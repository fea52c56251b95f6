"""Hand-computed plans: each test states the account, the policy and the orders worked out."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from daemon.core.domain import CASH
from daemon.core.planner import (
    Band,
    DriftRow,
    Plan,
    PlanInput,
    PlanningPolicy,
    plan_rebalance,
)

D = Decimal
FIVE_PP = Band(absolute_pp=D(5))


def plan(
    *,
    cash: str | int = 0,
    holdings: Mapping[str, str | int] | None = None,
    prices: Mapping[str, str | int],
    targets: Mapping[str, str],
    withdrawal: str | int = 0,
    **policy: Any,
) -> Plan:
    policy.setdefault("default_band", FIVE_PP)
    return plan_rebalance(
        PlanInput(
            cash=D(cash),
            holdings={s: D(q) for s, q in (holdings or {}).items()},
            prices={s: D(p) for s, p in prices.items()},
            targets={s: D(w) for s, w in targets.items()},
            withdrawal=D(withdrawal),
        ),
        PlanningPolicy(**policy),
    )


def trades(result: Plan) -> list[tuple[str, str, Decimal]]:
    """Return the orders as (side, symbol, qty), in plan order."""
    return [(o.side.value, o.symbol, o.qty) for o in result.orders]


def row(result: Plan, symbol: str) -> DriftRow:
    return next(r for r in result.drift if r.symbol == symbol)


def test_all_cash_buys_every_target() -> None:
    result = plan(cash=10_000, prices={"VTI": 100, "BND": 80}, targets={"VTI": "0.6", "BND": "0.4"})

    assert trades(result) == [("buy", "BND", D(50)), ("buy", "VTI", D(60))]
    assert [o.notional for o in result.orders] == [D(4000), D(6000)]
    assert result.cash_after == 0
    assert result.nav == D(10_000)
    assert result.orders[1].reason == (
        "VTI 0.0% vs target 60.0% ±5.0pp: buy 60 sh ($6,000) from excess cash"
    )


def test_drifted_three_fund_portfolio_sells_then_buys() -> None:
    # N = 40,000 + 8,000 + 15,000 = 63,000. Targets: VTI 22,050 (220.5 sh), BND 25,200
    # (315 sh), VXUS 15,750 (315 sh). VTI sells 179 whole shares (not 180: never below
    # target); the $17,900 it raises buys BND's 215 and 14 of VXUS's 15, one share ($50,
    # one increment) short.
    result = plan(
        holdings={"VTI": 400, "BND": 100, "VXUS": 300},
        prices={"VTI": 100, "BND": 80, "VXUS": 50},
        targets={"VTI": "0.35", "BND": "0.40", "VXUS": "0.25"},
    )

    assert trades(result) == [
        ("sell", "VTI", D(179)),
        ("buy", "BND", D(215)),
        ("buy", "VXUS", D(14)),
    ]
    assert result.cash_after == 0
    assert result.triggered
    assert [row(result, s).qty_after for s in ("VTI", "BND", "VXUS")] == [221, 315, 314]
    assert row(result, "BND").weight_after == D("0.4")
    assert all(r.note == "" for r in result.drift)


def test_reasons_read_as_specified() -> None:
    result = plan(
        holdings={"VTI": 400, "BND": 100, "VXUS": 300},
        prices={"VTI": 100, "BND": 80, "VXUS": 50},
        targets={"VTI": "0.35", "BND": "0.40", "VXUS": "0.25"},
    )

    assert [o.reason for o in result.orders] == [
        "VTI 63.5% vs target 35.0% ±5.0pp: sell 179 sh ($17,900)",
        "BND 12.7% vs target 40.0% ±5.0pp: buy 215 sh ($17,200)",
        "VXUS 23.8% vs target 25.0% ±5.0pp: buy 14 sh ($700)",
    ]


def test_notional_below_100_dollars_prints_cents() -> None:
    result = plan(cash=50, prices={"XYZ": "12.34"}, targets={"XYZ": "1"})

    assert result.orders[0].reason == (
        "XYZ 0.0% vs target 100.0% ±5.0pp: buy 4 sh ($49.36) from excess cash"
    )


def test_in_band_gives_no_orders_but_a_row_per_holding() -> None:
    # 6,200 / 10,040 = 61.8% and 3,840 / 10,040 = 38.2%: both inside ±5pp.
    result = plan(
        holdings={"VTI": 62, "BND": 48},
        prices={"VTI": 100, "BND": 80},
        targets={"VTI": "0.6", "BND": "0.4"},
    )

    assert result.orders == ()
    assert not result.triggered
    assert [r.symbol for r in result.drift] == ["BND", "VTI", CASH]
    assert [r.qty_after for r in result.drift] == [D(48), D(62), D(0)]
    assert row(result, "VTI").low == D("0.55")
    assert row(result, "VTI").high == D("0.65")
    assert "every holding is inside its band: no rebalance" in result.notes


@pytest.mark.parametrize(
    ("rebalance_to", "inner_band", "moved"),
    [
        ("target", D(0), 200),  # 70% -> 50%
        ("band_edge", D(0), 150),  # 70% -> 55%, the band edge
        ("band_edge", D("0.5"), 175),  # 70% -> 52.5%, half way from the edge to target
        ("band_edge", D(1), 200),  # all the way to target
    ],
)
def test_band_edge_and_inner_band_move_less_than_target(
    rebalance_to: str, inner_band: Decimal, moved: int
) -> None:
    result = plan(
        holdings={"VTI": 700, "BND": 300},
        prices={"VTI": 100, "BND": 100},
        targets={"VTI": "0.5", "BND": "0.5"},
        rebalance_to=rebalance_to,
        inner_band=inner_band,
    )

    assert trades(result) == [("sell", "VTI", D(moved)), ("buy", "BND", D(moved))]
    assert result.cash_after == 0


def test_band_edge_trims_overweights_inside_their_band_to_pay_for_buys() -> None:
    # N = 10,000. BND's 34% is below its 35% edge: buy 100 ($10 a share: 10 sh). VTI (34%)
    # and VXUS (32%) are over target but inside their bands, so band_edge leaves them, except
    # that the $100 must come from somewhere: trim the largest overweight, VTI.
    result = plan(
        holdings={"VTI": 340, "VXUS": 320, "BND": 340},
        prices={"VTI": 10, "VXUS": 10, "BND": 10},
        targets={"VTI": "0.3", "VXUS": "0.3", "BND": "0.4"},
        rebalance_to="band_edge",
    )

    assert trades(result) == [("sell", "VTI", D(10)), ("buy", "BND", D(10))]
    assert result.orders[0].reason.endswith("to fund buys")


def test_buy_only_never_sells_and_says_so() -> None:
    # N = 105,000, targets 52,500 each. The 5,000 of cash buys BND; VTI stays out of band.
    result = plan(
        cash=5_000,
        holdings={"VTI": 700, "BND": 300},
        prices={"VTI": 100, "BND": 100},
        targets={"VTI": "0.5", "BND": "0.5"},
        buy_only=True,
    )

    assert trades(result) == [("buy", "BND", D(50))]
    assert row(result, "VTI").note == "buy_only: not sold"
    assert row(result, "BND").note == "not enough cash (buy_only: nothing is sold to pay for buys)"
    assert any("VTI" in note and "off target" in note for note in result.notes)


def test_keep_holdings_are_reported_but_neither_valued_nor_traded() -> None:
    result = plan(
        holdings={"VTI": 100, "OLD": 50},
        prices={"VTI": 100, "OLD": 20},
        targets={"VTI": "1"},
        keep=frozenset({"OLD"}),
    )

    assert result.orders == ()
    assert result.nav == D(10_000)
    old = row(result, "OLD")
    assert (old.managed, old.target, old.low, old.high, old.out_of_band) == (
        False,
        0,
        0,
        0,
        False,
    )
    assert old.qty_after == D(50)
    assert old.note == "kept: not managed"


def test_holding_not_in_targets_is_sold_entirely() -> None:
    # N = 766 + 38,000 + 1,234 = 40,000. Cash first buys 7 VTI; selling XYZ pays for 13 more.
    result = plan(
        cash=766,
        holdings={"VTI": 380, "XYZ": 10},
        prices={"VTI": 100, "XYZ": "123.40"},
        targets={"VTI": "1"},
    )

    assert trades(result) == [("sell", "XYZ", D(10)), ("buy", "VTI", D(20))]
    assert result.orders[0].reason == "XYZ 3.1% vs target 0.0%: not in targets, sell 10 sh ($1,234)"
    assert result.cash_after == 0
    assert row(result, "XYZ").out_of_band


def test_not_in_targets_sells_the_exact_fractional_holding() -> None:
    result = plan(
        cash=0,
        holdings={"VTI": 10, "XYZ": "2.5"},
        prices={"VTI": 100, "XYZ": 100},
        targets={"VTI": "1"},
    )

    assert trades(result)[0] == ("sell", "XYZ", D("2.5"))


def test_cash_buffer_is_never_spent() -> None:
    # C* = max(0, 1,000): VTI's target shrinks to 90% and 90 shares are bought.
    result = plan(cash=10_000, prices={"VTI": 100}, targets={"VTI": "1"}, cash_buffer=D(1000))

    assert trades(result) == [("buy", "VTI", D(90))]
    assert result.cash_after == D(1000)


def test_targets_scale_when_the_buffer_exceeds_the_cash_target() -> None:
    # w_CASH * N = 400 < buffer 1,000: the other targets scale by 9,000 / 9,600 = 0.9375.
    result = plan(
        cash=10_000,
        prices={"VTI": 100},
        targets={"VTI": "0.96", CASH: "0.04"},
        cash_buffer=D(1000),
    )

    assert trades(result) == [("buy", "VTI", D(90))]
    assert row(result, "VTI").target == D("0.9")
    assert row(result, CASH).target == D("0.1")
    assert any("scaled by 0.9375" in note for note in result.notes)


def test_withdrawal_sells_largest_overweight_first_down_to_target() -> None:
    # N = 10,000, withdrawal 2,000: targets scale by 0.8 to A 3,200, B 2,400, C 2,400.
    # A is 1,800 over and goes first, down to target; B gives the other 200. Wide bands keep
    # phase B out of it.
    result = plan(
        holdings={"A": 500, "B": 400, "C": 100},
        prices={"A": 10, "B": 10, "C": 10},
        targets={"A": "0.4", "B": "0.3", "C": "0.3"},
        withdrawal=2_000,
        default_band=Band(absolute_pp=D(50)),
    )

    assert trades(result) == [("sell", "A", D(180)), ("sell", "B", D(20))]
    assert result.cash_after == D(2000)
    assert all(o.reason.endswith("to raise cash") for o in result.orders)
    # Every share of them raises the withdrawal: the tax step never holds one back.
    assert [o.raises for o in result.orders] == [D(180), D(20)]


def test_a_sell_that_raises_cash_and_rebalances_says_how_much_raises_cash() -> None:
    # N = 10,000, withdrawal 1,000: A (70% vs 60% scaled to 54%) is out of its 5-point band.
    # Phase A sells A for the 1,000; phase B sells more A back to target.
    result = plan(
        holdings={"A": 700, "B": 300},
        prices={"A": 10, "B": 10},
        targets={"A": "0.6", "B": "0.4"},
        withdrawal=1_000,
        default_band=Band(absolute_pp=D(5)),
    )
    sells = {o.symbol: o for o in result.orders if o.side.value == "sell"}
    assert sells["A"].raises == D(100)
    assert sells["A"].qty > sells["A"].raises
    assert all(o.raises == 0 for o in result.orders if o.side.value == "buy")


def test_withdrawal_sells_even_in_buy_only() -> None:
    result = plan(
        holdings={"A": 500, "B": 500},
        prices={"A": 10, "B": 10},
        targets={"A": "0.5", "B": "0.5"},
        withdrawal=1_000,
        buy_only=True,
        default_band=Band(absolute_pp=D(50)),
    )

    assert trades(result) == [("sell", "A", D(50)), ("sell", "B", D(50))]
    assert any("buy_only, but selling" in note for note in result.notes)


def test_withdrawal_larger_than_the_account_sells_everything_and_buys_nothing() -> None:
    result = plan(
        cash=100, holdings={"VTI": 10}, prices={"VTI": 100}, targets={"VTI": "1"}, withdrawal=5000
    )

    assert trades(result) == [("sell", "VTI", D(10))]
    assert result.cash_after == D(1100)
    assert any("exceed the managed value" in note for note in result.notes)


def test_min_trade_drops_small_orders_and_says_so() -> None:
    # band_edge wants 1 share ($100) each way; the minimum trade is $150.
    result = plan(
        holdings={"VTI": 56, "BND": 44},
        prices={"VTI": 100, "BND": 100},
        targets={"VTI": "0.5", "BND": "0.5"},
        default_band=Band(absolute_pp=D(5)),
        rebalance_to="band_edge",
        min_trade_notional=D(150),
    )

    assert result.orders == ()
    assert row(result, "VTI").note == "order of $100 below the minimum trade of $150"
    assert row(result, "BND").note == "order of $100 below the minimum trade of $150"


def test_fractional_increments() -> None:
    # 1,000 / 300 = 3.3333... shares; at 0.0001 sh that is 3.3333 ($999.99).
    result = plan(
        cash=1_000,
        prices={"VTI": 300},
        targets={"VTI": "1"},
        increment_overrides={"VTI": D("0.0001")},
    )

    assert trades(result) == [("buy", "VTI", D("3.3333"))]
    assert result.orders[0].notional == D("999.99")
    assert result.cash_after == D("0.01")
    assert result.orders[0].reason == (
        "VTI 0.0% vs target 100.0% ±5.0pp: buy 3.3333 sh ($1,000) from excess cash"
    )


def test_whole_share_default_leaves_the_remainder_in_cash() -> None:
    result = plan(cash=1_000, prices={"VTI": 300}, targets={"VTI": "1"})

    assert trades(result) == [("buy", "VTI", D(3))]
    assert result.cash_after == D(100)


def test_band_is_the_narrower_of_absolute_and_relative_with_overrides() -> None:
    # VTI: min(5pp, 10% of 30% = 3pp) = ±3pp. BND overrides with ±1pp.
    result = plan(
        holdings={"VTI": 335, "BND": 665},
        prices={"VTI": 10, "BND": 10},
        targets={"VTI": "0.3", "BND": "0.7"},
        default_band=Band(absolute_pp=D(5), relative=D("0.1")),
        band_overrides={"BND": Band(absolute_pp=D(1))},
    )

    vti, bnd = row(result, "VTI"), row(result, "BND")
    assert (vti.low, vti.high) == (D("0.27"), D("0.33"))
    assert (bnd.low, bnd.high) == (D("0.69"), D("0.71"))
    assert vti.out_of_band  # 33.5% > 33%, though inside ±5pp
    assert bnd.out_of_band  # 66.5% is outside its own ±1pp, though inside the default ±5pp
    assert trades(result) == [("sell", "VTI", D(35)), ("buy", "BND", D(35))]
