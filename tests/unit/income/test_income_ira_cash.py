"""An IRA's or a Roth's idle cash is a distribution once moved out: the income plan takes it
only after every taxable sale (before 2026-12-07 it took it before any sale)."""

from __future__ import annotations

from decimal import Decimal

from daemon.core.domain import AccountType
from daemon.core.income import AccountCash, SaleCandidate, raise_cash
from daemon.core.tax.types import Term

D = Decimal
TAXABLE, TRAD, ROTH = AccountType.TAXABLE, AccountType.TRADITIONAL_IRA, AccountType.ROTH_IRA


def _cash() -> list[AccountCash]:
    return [
        AccountCash("brokerage", TAXABLE, D(0), D(0)),
        AccountCash("ira", TRAD, D(5000), D(0)),
        AccountCash("roth", ROTH, D(5000), D(0)),
    ]


def test_a_taxable_loss_sale_comes_before_an_iras_cash() -> None:
    loss = SaleCandidate("brokerage", TAXABLE, "VXUS", "L1", D(20000), D(-1500), Term.LONG)
    plan = raise_cash(D(4000), "brokerage", _cash(), [loss], {})
    assert dict(plan.from_cash) == {}
    assert [(s.candidate.symbol, s.value) for s in plan.sales] == [("VXUS", D(4000))]
    assert plan.transfers == ()


def test_a_below_target_taxable_gain_comes_before_an_iras_cash_then_the_roths() -> None:
    cands = [
        SaleCandidate("brokerage", TAXABLE, "VTI", "L1", D(1000), D(400), Term.SHORT),
        SaleCandidate("brokerage", TAXABLE, "BND", "L2", D(1000), D(0), Term.LONG, False, False),
        SaleCandidate("ira", TRAD, "BND", "BND", D(9000), D(0), Term.LONG, False, False),
    ]
    plan = raise_cash(D(9000), "brokerage", _cash(), cands, {})
    # Every taxable sale first (2000), then the IRA's cash (5000), before its own
    # below-target sale (2000); the Roth's cash is not needed.
    assert [(s.candidate.account, s.value) for s in plan.sales] == [
        ("brokerage", D(1000)),
        ("brokerage", D(1000)),
        ("ira", D(2000)),
    ]
    assert dict(plan.from_cash) == {"ira": D(5000)}
    more = raise_cash(D(22000), "brokerage", _cash(), cands, {})
    assert dict(more.from_cash) == {"ira": D(5000), "roth": D(5000)}
    assert more.shortfall == D(1000)


def test_the_payout_accounts_cash_comes_first_even_in_an_ira() -> None:
    cands = [SaleCandidate("brokerage", TAXABLE, "VXUS", "L1", D(20000), D(-1500), Term.LONG)]
    plan = raise_cash(D(4000), "ira", _cash(), cands, {})
    # Paid out of the IRA, its own cash is a distribution either way and needs no transfer.
    assert dict(plan.from_cash) == {"ira": D(4000)}
    assert plan.sales == ()
