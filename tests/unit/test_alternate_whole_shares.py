"""A buy of a tax alternate the broker takes in whole shares only is planned in whole shares,
whatever step the policy gives the account's other symbols.

Before 2026-12-07 only held and target symbols were told apart by the snapshot's
`fractionable`: with `policy.fractional = true`, a buy of VTI redirected to ITOT (its
wash-sale alternate, which Alpaca takes whole) was planned as `ITOT buy 81.579`, refused by
the adapter every cycle of the 30-day window, the money left in cash and each refusal counted
toward the rejection trip."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from daemon.core.domain import AccountType, Side
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.types import Trade
from tests.unit.test_whole_share_symbols import TODAY, decided, settings

D = Decimal


ALTERNATE_TAX = 'alternates = { VTI = "ITOT" }\n[accounts.main.tax.wash_sale]\nbuys = "redirect"'


def vti_sold_at_a_loss_5_days_ago() -> tuple[Trade, ...]:
    return (
        Trade(
            "b1",
            TODAY - timedelta(days=60),
            "main",
            AccountType.TAXABLE,
            "VTI",
            Side.BUY,
            D(100),
            D(30_000),
        ),
        Trade(
            "s1",
            TODAY - timedelta(days=5),
            "main",
            AccountType.TAXABLE,
            "VTI",
            Side.SELL,
            D(100),
            D(25_000),
        ),
    )


def test_a_buy_redirected_to_an_alternate_the_broker_takes_whole_buys_whole_shares(
    tmp_path: Path,
) -> None:
    config = settings(
        tmp_path,
        policy="fractional = true",
        tax=ALTERNATE_TAX,
        targets='VTI = "0.5", BND = "0.5"',
        account_type="taxable",
    )
    decision = decided(
        config,
        held={},
        targets={"VTI": D("0.5"), "BND": D("0.5")},
        fractionable=frozenset({"VTI", "BND"}),
        trades=vti_sold_at_a_loss_5_days_ago(),
    )
    assert [d.action for d in decision.taxed.decisions if d.symbol == "VTI"] == [
        TaxAction.REDIRECTED
    ]
    itot = next(o for o in decision.review.approved if o.symbol == "ITOT")
    # $5,000 / $61.29 = 81.58: whole shares, as the broker takes them.
    assert itot.qty == D(81)
    bnd = next(o for o in decision.review.approved if o.symbol == "BND")
    assert bnd.qty != bnd.qty.to_integral_value()  # BND is fractionable: still in fractions


def test_an_alternate_the_broker_takes_in_fractions_keeps_the_fractional_step(
    tmp_path: Path,
) -> None:
    config = settings(
        tmp_path,
        policy="fractional = true",
        tax=ALTERNATE_TAX,
        targets='VTI = "0.5", BND = "0.5"',
        account_type="taxable",
    )
    decision = decided(
        config,
        held={},
        targets={"VTI": D("0.5"), "BND": D("0.5")},
        fractionable=frozenset({"VTI", "BND", "ITOT"}),
        trades=vti_sold_at_a_loss_5_days_ago(),
    )
    itot = next(o for o in decision.review.approved if o.symbol == "ITOT")
    assert itot.qty == D("81.579")


def test_a_harvest_buys_its_alternate_in_whole_shares_where_the_broker_takes_no_fraction(
    tmp_path: Path,
) -> None:
    config = settings(
        tmp_path,
        policy="fractional = true",
        tax='alternates = { VTI = "ITOT" }\n[accounts.main.tax.harvest]\nenabled = true',
        account_type="taxable",
    )
    bought = Trade(
        "b1",
        TODAY - timedelta(days=60),
        "main",
        AccountType.TAXABLE,
        "VTI",
        Side.BUY,
        D(100),
        D(30_000),
    )
    decision = decided(
        config,
        held={"VTI": D(100)},
        targets={"VTI": D(1)},
        fractionable=frozenset({"VTI"}),
        cash=D(0),
        trades=(bought,),
    )
    itot = next(o for o in decision.plan.orders if o.symbol == "ITOT")
    # The $25,000 of proceeds buy 407.9 ITOT at $61.29: 407 whole shares.
    assert itot.side is Side.BUY
    assert itot.qty == D(407)
