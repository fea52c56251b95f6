"""A tax-loss harvest goes ahead whole or not at all: the pre-trade checks refusing the
alternate's buy refuse the harvest sell too, and the tax decision says nothing was harvested
(the audit's harvest_refused.py: the sell went out alone and the account sat in cash)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.decide import CycleState, Decision, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote, Side
from daemon.core.harvest_review import HARVEST_PAIR
from daemon.core.planner import Band, PlanningPolicy
from daemon.core.risk import TRIPPING_CHECKS, RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax import TaxPolicy, Trade
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.settings import TaxSettings

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


def _decide(
    limits: RiskConfig,
    *,
    vti_price: D = D(250),
    itot_price: D = D(100),
    cash: D = D(0),
    bnd: D = D(357),
) -> Decision:
    trades = [
        Trade(
            id="t1",
            date=date(2026, 6, 1),
            account="main",
            account_type=AccountType.TAXABLE,
            symbol="VTI",
            side=Side.BUY,
            qty=D(100),
            amount=D(30000),
            owner="",
        )
    ]
    book = replay_trades(trades, TaxPolicy(methods={}, identical=SubstantiallyIdentical()))
    prices = {"VTI": vti_price, "ITOT": itot_price, "BND": D(70)}
    snap = AccountSnapshot(
        account="main",
        as_of=NOW,
        cash=cash,
        positions=(Position("VTI", D(100)), Position("BND", bnd)),
        quotes={s: Quote(s, p, NOW - timedelta(minutes=1), "test") for s, p in prices.items()},
    )
    tax = TaxSettings.model_validate({"alternates": {"VTI": "ITOT"}, "harvest": {"enabled": True}})
    return decide(
        DecisionInput(
            account="main",
            account_type=AccountType.TAXABLE,
            strategy="static",
            targets={"VTI": D("0.5"), "BND": D("0.5")},
            universe=frozenset({"VTI", "BND"}),
            snapshot=snap,
            planning=PlanningPolicy(default_band=Band(absolute_pp=D(5))),
            terms=OrderTerms(),
            limits=limits,
            state=CycleState(),
            tax=TaxInputs(book=book, today=TODAY, settings=tax, identical=SubstantiallyIdentical()),
            now=NOW,
            max_quote_age=timedelta(hours=96),
            mode=Mode.PAPER,
            submit=True,
            alternates=frozenset({"ITOT"}),
        )
    )


def _verdict(decision: Decision, symbol: str, side: Side) -> tuple[bool, str, str]:
    (d,) = [d for d in decision.review.decisions if d.symbol == symbol and d.side is side]
    return d.allowed, d.check, d.reason


def test_both_legs_approved_harvest() -> None:
    decision = _decide(RiskConfig())
    assert {(o.symbol, o.side) for o in decision.approved} == {
        ("VTI", Side.SELL),
        ("ITOT", Side.BUY),
    }
    assert decision.taxed.harvest == {"VTI"}
    assert decision.taxed.preview.harvested == D(5000)


def test_a_restricted_alternate_refuses_the_harvest_sell_and_says_not_harvested() -> None:
    decision = _decide(RiskConfig(restricted_symbols=frozenset({"ITOT"})))
    assert decision.approved == ()
    allowed, check, reason = _verdict(decision, "VTI", Side.SELL)
    assert not allowed
    assert check == HARVEST_PAIR
    assert "250 ITOT refused (symbol_list: ITOT is on risk.restricted_symbols)" in reason
    assert _verdict(decision, "ITOT", Side.BUY)[1] == "symbol_list"
    (harvest,) = [d for d in decision.taxed.decisions if d.action is TaxAction.HARVEST]
    assert harvest.reason.startswith("not harvested: ")
    assert harvest.qty_after == 0
    assert decision.taxed.harvest == frozenset()
    assert "VTI" not in decision.taxed.lots
    assert decision.taxed.preview.harvested == 0
    assert decision.taxed.preview.long_term_loss + decision.taxed.preview.short_term_loss == 0
    assert decision.tripped is None


def test_orders_per_cycle_used_up_by_the_sell_refuses_the_pair() -> None:
    decision = _decide(RiskConfig(max_orders_per_cycle=1))
    assert decision.approved == ()
    assert _verdict(decision, "VTI", Side.SELL)[1] == HARVEST_PAIR
    assert _verdict(decision, "ITOT", Side.BUY)[1] == "orders_per_cycle"


@settings(max_examples=60, deadline=None)
@given(
    restricted=st.sampled_from([frozenset(), frozenset({"ITOT"}), frozenset({"VTI"})]),
    allowed=st.sampled_from([frozenset(), frozenset({"VTI", "BND"}), frozenset({"ITOT", "BND"})]),
    per_cycle=st.integers(min_value=0, max_value=4),
    per_minute=st.integers(min_value=0, max_value=4),
    max_notional=st.sampled_from([None, D(1000), D(20000), D(30000)]),
    turnover=st.sampled_from([D("0.2"), D("0.5"), D(1_000_000)]),
    vti_price=st.sampled_from([D(200), D(250), D(280)]),
    cash=st.sampled_from([D(0), D(5000), D(30000)]),
    bnd=st.sampled_from([D(0), D(100), D(357), D(1000)]),
)
@example(
    restricted=frozenset({"ITOT"}),
    allowed=frozenset(),
    per_cycle=1_000_000,
    per_minute=1_000_000,
    max_notional=None,
    turnover=D(1_000_000),
    vti_price=D(250),
    cash=D(0),
    bnd=D(357),
)
@example(
    restricted=frozenset(),
    allowed=frozenset(),
    per_cycle=1,
    per_minute=1_000_000,
    max_notional=None,
    turnover=D(1_000_000),
    vti_price=D(250),
    cash=D(0),
    bnd=D(357),
)
def test_an_approved_harvest_sell_implies_its_alternate_buy_is_approved(
    restricted: frozenset[str],
    allowed: frozenset[str],
    per_cycle: int,
    per_minute: int,
    max_notional: D | None,
    turnover: D,
    vti_price: D,
    cash: D,
    bnd: D,
) -> None:
    limits = RiskConfig(
        restricted_symbols=restricted,
        allowed_symbols=allowed,
        max_orders_per_cycle=per_cycle,
        max_orders_per_minute=per_minute,
        max_order_notional=max_notional,
        max_turnover_per_cycle=turnover,
    )
    decision = _decide(limits, vti_price=vti_price, cash=cash, bnd=bnd)
    approved = {(o.symbol, o.side) for o in decision.review.approved}
    pairs = {
        d.symbol: d.alternate
        for d in decision.taxed.decisions
        if d.action is TaxAction.HARVEST and d.alternate
    }
    for symbol, alternate in pairs.items():
        assert ((symbol, Side.SELL) in approved) == ((alternate, Side.BUY) in approved)
        assert (symbol in decision.taxed.harvest) == ((symbol, Side.SELL) in approved)
    for d in decision.taxed.decisions:
        if d.action is TaxAction.HARVEST and d.symbol not in decision.taxed.harvest:
            assert d.reason.startswith("not harvested")
    # A pair refusal never trips on its own: a trip names a malfunction check.
    if decision.tripped is not None:
        assert decision.tripped.check in TRIPPING_CHECKS
    assert all(d.check != HARVEST_PAIR or not d.allowed for d in decision.review.decisions)
