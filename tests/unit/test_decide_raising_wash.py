"""A sell that raises cash (a withdrawal, an income share) is not made into a wash sale when
other holdings can raise the cash, and never into one an IRA purchase makes permanent.

Before 2026-12-07 the tax step let any washed sell that raised cash through ("allowed: the
sale raises cash"), so an income share was raised by selling VTI at a loss that an IRA
purchase of VTI 7 days earlier disallowed for good (Rev. Rul. 2008-5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from daemon.core.decide import CycleState, Decision, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote, Side
from daemon.core.planner import Band, PlanningPolicy
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.settings import TaxSettings
from tests.fakes.tax_household import Household

D = Decimal
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
BOUGHT = date(2026, 10, 1)
WITHDRAWAL = D(1000)


def household(replacement: AccountType | None, *, bnd: bool = True) -> Household:
    """The brokerage holds VTI (overweight) and BND, both at a loss; another account bought
    VTI 7 days ago (`replacement` its type; None: nobody did)."""
    h = Household()
    h.account("brokerage")
    h.account("ira", AccountType.TRADITIONAL_IRA)
    h.account("spouse")
    h.buy("brokerage", "VTI", BOUGHT, 100, 10_000)
    if bnd:
        h.buy("brokerage", "BND", BOUGHT, 50, 5_000)
    if replacement is AccountType.TRADITIONAL_IRA:
        h.buy("ira", "VTI", TODAY - timedelta(days=7), 10, 600)
    elif replacement is AccountType.TAXABLE:
        h.buy("spouse", "VTI", TODAY - timedelta(days=7), 10, 600)
    return h


def given(
    h: Household,
    *,
    withdrawal: Decimal = WITHDRAWAL,
    loss_sales: str = "defer",
    bnd: bool = True,
    prices: Mapping[str, Decimal] | None = None,
) -> DecisionInput:
    held = {"VTI": D(100), "BND": D(50)} if bnd else {"VTI": D(100)}
    prices = prices or {"VTI": D(60), "BND": D(90)}
    snapshot = AccountSnapshot(
        account="brokerage",
        as_of=NOW,
        cash=D(0),
        positions=tuple(Position(s, q) for s, q in held.items()),
        quotes={s: Quote(s, p, NOW - timedelta(minutes=1), "test") for s, p in prices.items()},
    )
    return DecisionInput(
        account="brokerage",
        account_type=AccountType.TAXABLE,
        strategy="static",
        targets={"VTI": D("0.5"), "BND": D("0.5")} if bnd else {"VTI": D(1)},
        universe=frozenset({"VTI", "BND"}),
        snapshot=snapshot,
        planning=PlanningPolicy(default_band=Band(absolute_pp=D(50))),
        terms=OrderTerms(),
        limits=RiskConfig(),
        state=CycleState(),
        tax=TaxInputs(
            book=h.book(),
            today=TODAY,
            settings=TaxSettings.model_validate(
                {"lot_method": "min_tax", "wash_sale": {"loss_sales": loss_sales}}
            ),
            identical=h.identical,
        ),
        now=NOW,
        max_quote_age=timedelta(hours=1),
        mode=Mode.PAPER,
        submit=True,
        withdrawal=withdrawal,
    )


def sold(decision: Decision) -> dict[str, Decimal]:
    return {o.symbol: o.qty * o.price for o in decision.approved if o.side is Side.SELL}


def test_an_ira_washed_raising_sell_is_replaced_by_another_holding() -> None:
    decision = decide(given(household(AccountType.TRADITIONAL_IRA)))
    assert "VTI" not in sold(decision)
    assert sold(decision)["BND"] >= 1000
    held = [d for d in decision.taxed.decisions if d.symbol == "VTI"]
    assert any("lost for good" in d.reason and "other holdings" in d.reason for d in held)
    assert all(d.action is not TaxAction.ALLOWED for d in decision.taxed.decisions)
    assert any("raised from other holdings" in n for n in decision.plan.notes)


def test_a_deferred_wash_is_avoided_too_unless_the_account_allows_washes() -> None:
    h = household(AccountType.TAXABLE)
    decision = decide(given(h))
    assert "VTI" not in sold(decision)
    assert sold(decision)["BND"] >= 1000
    # loss_sales = "allow": the loss is only deferred into the spouse's shares; as before.
    allowed = decide(given(h, loss_sales="allow"))
    assert "VTI" in sold(allowed)


def test_with_nothing_else_a_deferred_wash_is_allowed_as_before() -> None:
    decision = decide(given(household(AccountType.TAXABLE, bnd=False), bnd=False))
    assert sold(decision)["VTI"] >= 1000
    [wash] = [d for d in decision.taxed.decisions if d.symbol == "VTI"]
    assert wash.action is TaxAction.ALLOWED
    assert "raises cash" in wash.reason


def test_with_nothing_else_a_permanent_wash_is_held_back_and_the_cash_stays_short() -> None:
    decision = decide(given(household(AccountType.TRADITIONAL_IRA, bnd=False), bnd=False))
    assert sold(decision) == {}
    [held] = [d for d in decision.taxed.decisions if d.symbol == "VTI"]
    assert held.action is TaxAction.DEFERRED
    assert "lost for good" in held.reason
    assert "$1,000 stays unraised, a later cycle tries again" in held.reason
    # A --withdraw is asked once: later cycles do not raise it again by themselves.
    assert "a one-off --withdraw: ask again once the 30 days have passed" in held.reason
    assert held.until == date(2026, 12, 25)
    assert any("stays unraised" in n for n in decision.plan.notes)
