"""A harvest whose first alternate is refused buys the next one in the configured order.

`alternates = { VTI = ["ITOT", "SCHB", "SPTM"] }`: when the first alternate cannot be bought
(the pre-trade checks refuse its buy, its quote is missing or stale, it was sold at a loss in
the last 30 days, it is substantially identical to the primary, a whole share of it costs more
than the proceeds), the decision step tries the next one before giving up, with the same
both-or-neither guarantee, and the harvest's tax decision names each alternate refused and why
and the one bought. When none can be bought, nothing is harvested and the reasons are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817

import pytest
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
from daemon.core.tax.plan_types import TaxAction, TaxDecision
from daemon.core.tax.settings import TaxSettings

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
ALTERNATES = ("ITOT", "SCHB", "SPTM")
PRICES = {"VTI": D(250), "ITOT": D(100), "SCHB": D(50), "SPTM": D(125), "BND": D(70)}
EXPENSIVE = D(40000)
"""A price at which not one whole share of the alternate is bought with the $25,000 of the
harvest."""

# Each way an alternate can be refused, and what the decision says about it.
REFUSALS = ("restricted", "stale", "washed", "identical", "expensive")


def _trade(n: int, day: date, symbol: str, side: Side, qty: D, amount: D) -> Trade:
    return Trade(
        id=f"t{n}",
        date=day,
        account="main",
        account_type=AccountType.TAXABLE,
        symbol=symbol,
        side=side,
        qty=qty,
        amount=amount,
        owner="",
    )


def _decide(
    alternates: Sequence[str],
    refusals: dict[str, str],
    *,
    limits: RiskConfig | None = None,
) -> Decision:
    """Decide a cycle of an account holding 100 VTI bought at $300 (now $250: a $5,000 loss)
    and 357 BND, harvesting into `alternates`, each refused as `refusals` says."""
    trades = [_trade(1, date(2026, 6, 1), "VTI", Side.BUY, D(100), D(30000))]
    for n, symbol in enumerate(sorted(s for s, r in refusals.items() if r == "washed")):
        # Sold at a loss 10 days ago: a buy of it now would wash that loss.
        trades.append(_trade(10 + 2 * n, date(2026, 10, 1), symbol, Side.BUY, D(10), D(2000)))
        trades.append(_trade(11 + 2 * n, date(2026, 11, 21), symbol, Side.SELL, D(10), D(1000)))
    groups = [("VTI", s) for s, r in refusals.items() if r == "identical"]
    identical = SubstantiallyIdentical.of(groups)
    book = replay_trades(trades, TaxPolicy(methods={}, identical=identical))
    prices = dict(PRICES) | {s: EXPENSIVE for s, r in refusals.items() if r == "expensive"}
    stale = {s for s, r in refusals.items() if r == "stale"}
    quotes = {
        s: Quote(s, p, NOW - (timedelta(days=30) if s in stale else timedelta(minutes=1)), "t")
        for s, p in prices.items()
    }
    snap = AccountSnapshot(
        account="main",
        as_of=NOW,
        cash=D(0),
        positions=(Position("VTI", D(100)), Position("BND", D(357))),
        quotes=quotes,
    )
    tax = TaxSettings.model_validate(
        {"alternates": {"VTI": list(alternates)}, "harvest": {"enabled": True}}
    )
    restricted = frozenset(s for s, r in refusals.items() if r == "restricted")
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
            limits=limits or RiskConfig(restricted_symbols=restricted),
            state=CycleState(),
            tax=TaxInputs(book=book, today=TODAY, settings=tax, identical=identical),
            now=NOW,
            max_quote_age=timedelta(hours=96),
            mode=Mode.PAPER,
            submit=True,
            alternates=frozenset(alternates),
        )
    )


def _harvest(decision: Decision) -> TaxDecision:
    (harvest,) = [d for d in decision.taxed.decisions if d.action is TaxAction.HARVEST]
    return harvest


def _approved(decision: Decision) -> set[tuple[str, Side]]:
    return {(o.symbol, o.side) for o in decision.approved}


@pytest.mark.parametrize(
    ("refusal", "says"),
    [
        ("restricted", "ITOT refused by the pre-trade checks (symbol_list: ITOT is on "),
        ("stale", "no quote for its alternate ITOT"),
        ("washed", "its alternate ITOT is in a wash-sale window"),
        ("identical", "its alternate ITOT is substantially identical to it"),
        ("expensive", "$25,000 buys too little ITOT"),
    ],
)
def test_a_refused_first_alternate_harvests_into_the_next(refusal: str, says: str) -> None:
    decision = _decide(ALTERNATES, {"ITOT": refusal})
    assert _approved(decision) == {("VTI", Side.SELL), ("SCHB", Side.BUY)}
    assert decision.taxed.harvest == {"VTI"}
    assert decision.taxed.preview.harvested == D(5000)
    harvest = _harvest(decision)
    assert harvest.alternate == "SCHB"
    assert harvest.reason.startswith("harvested a $5,000 loss on 100 VTI; proceeds buy 500 SCHB")
    assert f"not ITOT: {says}" in harvest.reason
    assert all(d.check != HARVEST_PAIR for d in decision.review.decisions)
    assert decision.tripped is None


def test_two_refused_alternates_harvest_into_the_third_naming_both() -> None:
    decision = _decide(ALTERNATES, {"ITOT": "restricted", "SCHB": "washed"})
    assert _approved(decision) == {("VTI", Side.SELL), ("SPTM", Side.BUY)}
    harvest = _harvest(decision)
    assert harvest.alternate == "SPTM"
    assert "not ITOT: ITOT refused by the pre-trade checks (symbol_list" in harvest.reason
    assert "not SCHB: its alternate SCHB is in a wash-sale window" in harvest.reason


def test_the_configured_order_is_kept() -> None:
    decision = _decide(("SPTM", "SCHB", "ITOT"), {})
    assert _harvest(decision).alternate == "SPTM"
    assert _approved(decision) == {("VTI", Side.SELL), ("SPTM", Side.BUY)}


def test_no_alternate_bought_is_not_harvested_naming_every_reason() -> None:
    decision = _decide(ALTERNATES, {"ITOT": "restricted", "SCHB": "stale", "SPTM": "restricted"})
    assert decision.approved == ()
    assert decision.taxed.harvest == frozenset()
    assert decision.taxed.preview.harvested == 0
    harvest = _harvest(decision)
    assert harvest.reason.startswith("not harvested: ")
    assert "ITOT refused by the pre-trade checks (symbol_list" in harvest.reason
    assert "no quote for its alternate SCHB" in harvest.reason
    assert "SPTM refused by the pre-trade checks (symbol_list" in harvest.reason
    # Planned again without the refused alternates: nothing of the harvest is left to review.
    assert not [d for d in decision.review.decisions if d.symbol in {"VTI", *ALTERNATES}]
    assert decision.tripped is None


def test_the_last_alternate_refused_by_the_checks_refuses_the_pair() -> None:
    decision = _decide(("ITOT", "SCHB"), {"ITOT": "restricted", "SCHB": "restricted"})
    assert decision.approved == ()
    harvest = _harvest(decision)
    assert harvest.reason == (
        "not harvested: the alternate's buy of 500 SCHB refused (symbol_list: SCHB is on "
        "risk.restricted_symbols); not ITOT: ITOT refused by the pre-trade checks "
        "(symbol_list: ITOT is on risk.restricted_symbols)"
    )
    (sell,) = [d for d in decision.review.decisions if d.symbol == "VTI"]
    assert sell.check == HARVEST_PAIR
    assert decision.tripped is None


def test_a_single_alternate_refused_is_not_harvested_as_before() -> None:
    decision = _decide(("ITOT",), {"ITOT": "restricted"})
    assert decision.approved == ()
    harvest = _harvest(decision)
    assert harvest.reason == (
        "not harvested: the alternate's buy of 250 ITOT refused "
        "(symbol_list: ITOT is on risk.restricted_symbols)"
    )


def test_a_tripping_refusal_of_the_alternate_is_not_tried_around() -> None:
    # A malfunction check halts the account: trying another alternate would hide it.
    decision = _decide(ALTERNATES, {}, limits=RiskConfig(max_orders_per_minute=1))
    assert decision.tripped is not None
    assert decision.tripped.check in TRIPPING_CHECKS
    assert decision.approved == ()


def test_a_single_string_is_a_list_of_one() -> None:
    tax = TaxSettings.model_validate({"alternates": {"VTI": "ITOT", "VXUS": ["IXUS", "VEU"]}})
    assert tax.alternates == {"VTI": ("ITOT",), "VXUS": ("IXUS", "VEU")}
    assert tax.alternate_symbols == frozenset({"ITOT", "IXUS", "VEU"})


@pytest.mark.parametrize(
    ("alternates", "says"),
    [
        (["ITOT", "VTI"], "is VTI itself"),
        (["ITOT", "ITOT"], "ITOT twice"),
        ([], "no alternate"),
        (["ITOT", "itot"], "'itot' is not a valid ticker"),
    ],
)
def test_bad_alternate_lists_are_refused(alternates: list[str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        TaxSettings.model_validate({"alternates": {"VTI": alternates}})


_refusal = st.sampled_from((None, *REFUSALS))


@settings(max_examples=80, deadline=None)
@given(
    order=st.permutations(ALTERNATES).flatmap(
        lambda p: st.integers(min_value=1, max_value=3).map(lambda n: tuple(p[:n]))
    ),
    itot=_refusal,
    schb=_refusal,
    sptm=_refusal,
    per_cycle=st.sampled_from([1, 2, 1_000_000]),
)
@example(order=ALTERNATES, itot="restricted", schb="restricted", sptm=None, per_cycle=1_000_000)
@example(order=ALTERNATES, itot="expensive", schb="washed", sptm="stale", per_cycle=1_000_000)
def test_a_harvest_is_whole_buys_no_refused_alternate_and_is_made_when_one_is_acceptable(
    order: tuple[str, ...],
    itot: str | None,
    schb: str | None,
    sptm: str | None,
    per_cycle: int,
) -> None:
    refusals = {
        s: r for s, r in {"ITOT": itot, "SCHB": schb, "SPTM": sptm}.items() if r is not None
    }
    restricted = frozenset(s for s, r in refusals.items() if r == "restricted")
    limits = RiskConfig(restricted_symbols=restricted, max_orders_per_cycle=per_cycle)
    decision = _decide(order, refusals, limits=limits)
    approved = _approved(decision)
    bought = {s for s, side in approved if side is Side.BUY}
    harvest = _harvest(decision)
    # Never half-done: the sell goes with exactly one alternate's buy, or neither goes.
    assert (("VTI", Side.SELL) in approved) == bool(bought & set(ALTERNATES))
    assert len(bought & set(ALTERNATES)) <= 1
    assert ("VTI" in decision.taxed.harvest) == (("VTI", Side.SELL) in approved)
    # Never a refused alternate, one that washes a loss, or one substantially identical.
    assert not bought & set(refusals)
    for symbol in bought & set(ALTERNATES):
        assert harvest.alternate == symbol
    acceptable = [s for s in order if s not in refusals]
    if acceptable and per_cycle >= 2:
        # The first acceptable alternate in the configured order is bought.
        assert approved == {("VTI", Side.SELL), (acceptable[0], Side.BUY)}
        assert harvest.alternate == acceptable[0]
        for refused in order[: order.index(acceptable[0])]:
            assert f"not {refused}: " in harvest.reason
        assert decision.taxed.preview.harvested == D(5000)
    if not approved:
        assert harvest.reason.startswith("not harvested: ")
        assert decision.taxed.preview.harvested == 0
    assert decision.tripped is None
    assert all(d.check != HARVEST_PAIR or not d.allowed for d in decision.review.decisions)
