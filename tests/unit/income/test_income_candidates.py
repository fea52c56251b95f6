"""An account's lots as income sale candidates, read from a real replay of the household."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from daemon.core.domain import AccountType
from daemon.core.income import AccountCash, raise_cash, sale_candidates
from daemon.core.tax.types import Term
from tests.fakes.tax_household import Household

D = Decimal
TODAY = date(2026, 11, 24)


def _household() -> Household:
    h = Household()
    h.account("brokerage")
    h.account("ira", AccountType.TRADITIONAL_IRA)
    h.account("roth", AccountType.ROTH_IRA)
    h.buy("brokerage", "VTI", date(2024, 3, 1), 10, 2000)  # long-term gain at 250
    h.buy("brokerage", "VTI", date(2026, 6, 1), 10, 2300)  # short-term gain at 250
    h.buy("brokerage", "VXUS", date(2026, 2, 2), 100, 7000)  # a loss at 60
    h.buy("brokerage", "BND", date(2026, 1, 5), 50, 4000)  # a loss at 72...
    h.buy("ira", "BND", date(2026, 11, 10), 10, 720)  # ...that this IRA purchase would wash
    h.buy("ira", "BND", date(2025, 1, 5), 100, 7000)
    h.buy("roth", "VTI", date(2025, 1, 5), 20, 4000)
    return h


PRICES = {"VTI": D(250), "VXUS": D(60), "BND": D(72), "GLD": D(200)}


def test_lots_become_candidates_with_gain_term_and_wash() -> None:
    book = _household().book()
    found = sale_candidates(
        account="brokerage",
        account_type=AccountType.TAXABLE,
        holdings={"VTI": D(20), "VXUS": D(100), "BND": D(50), "GLD": D(3)},
        prices=PRICES,
        targets={"VTI": D("0.5"), "VXUS": D("0.3"), "BND": D("0.2")},
        value=D(20_000),
        book=book,
        today=TODAY,
    )
    by = {(c.symbol, c.overweight): c for c in found if c.symbol != "VTI"}
    vti = sorted((c for c in found if c.symbol == "VTI"), key=lambda c: c.lot)
    # VTI is 5000 of a 10000 target: nothing overweight, two lots at full value.
    assert [(c.value, c.gain, c.term, c.overweight) for c in vti] == [
        (D(2500), D(500), Term.LONG, False),
        (D(2500), D(200), Term.SHORT, False),
    ]
    # VXUS 6000 against 6000: not overweight; a loss, not washed.
    assert by[("VXUS", False)].gain == D(-1000)
    assert not by[("VXUS", False)].washed
    # BND 3600 against 4000; its loss would be washed by the IRA's purchase 14 days ago.
    assert by[("BND", False)].washed
    # GLD has no target and no lot: all overweight, its whole value counted as a gain.
    gld = by[("GLD", True)]
    assert gld.lot == "unknown-basis"
    assert gld.gain == gld.value == D(600)
    assert ("GLD", False) not in by


def test_a_worked_month_across_three_accounts() -> None:
    """Taxable losses first (not the washed one), then the long-term gain, then the IRA, then
    the Roth (overweight first); the IRA's and the Roth's cash, a distribution, waits for
    every taxable sale; their shares are transfers the owner makes."""
    book = _household().book()
    accounts = {
        "brokerage": (AccountType.TAXABLE, {"VTI": D(20), "VXUS": D(100), "BND": D(50)}),
        "ira": (AccountType.TRADITIONAL_IRA, {"BND": D(110)}),
        "roth": (AccountType.ROTH_IRA, {"VTI": D(20)}),
    }
    candidates = []
    for name, (kind, holdings) in accounts.items():
        candidates += sale_candidates(
            account=name,
            account_type=kind,
            holdings=holdings,
            prices=PRICES,
            targets={"VTI": D("0.2"), "VXUS": D("0.1")},  # everything overweight
            value=sum((q * PRICES[s] for s, q in holdings.items()), D(0)),
            book=book,
            today=TODAY,
        )
    cash = [
        AccountCash("brokerage", AccountType.TAXABLE, D(1500), D(500)),
        AccountCash("ira", AccountType.TRADITIONAL_IRA, D(100), D(0)),
        AccountCash("roth", AccountType.ROTH_IRA, D(10_000), D(0)),
    ]
    room = {"brokerage": {Term.SHORT: D(0), Term.LONG: D(300)}}
    plan = raise_cash(D(20_000), "brokerage", cash, candidates, room)
    # Cash first: 1000 above the buffer in the payout account. The IRA's 100 and the Roth's
    # 10,000 would be distributions: they come after every taxable sale, and the taxable
    # sales' below-target pass raises the rest first. (Before 2026-12-07 all three accounts'
    # cash was taken before any sale: 10,100 of distributions ahead of a taxable loss sale.)
    assert dict(plan.from_cash) == {"brokerage": D(1000)}
    sold = [
        (s.candidate.account, s.candidate.symbol, s.candidate.term, s.candidate.overweight)
        for s in plan.sales
    ]
    assert ("brokerage", "BND", Term.SHORT, True) not in sold  # washed
    # The overweight pass: the loss, the long-term lot's overweight part (VTI 5000 against
    # 20% of 14600: 41.6% of each lot, a gain of 208, inside the budget's 300; the short-term
    # gain has no budget), then the IRA, then the Roth; then the below-target pass, taxable
    # first: the loss, and 40 of the long-term lot (a gain of 8) close the amount.
    assert sold == [
        ("brokerage", "VXUS", Term.SHORT, True),
        ("brokerage", "VTI", Term.LONG, True),
        ("ira", "BND", Term.LONG, True),
        ("roth", "VTI", Term.LONG, True),
        ("brokerage", "VXUS", Term.SHORT, False),
        ("brokerage", "VTI", Term.LONG, False),
    ]
    assert sum(s.gain for s in plan.sales if s.gain > 0) == D(216)
    assert plan.shortfall == 0
    reasons = " ".join(k.reason for k in plan.skipped)
    assert "wash sale" in reasons
    assert "gains budget" in reasons
    assert {t.from_account for t in plan.transfers} == {"ira", "roth"}
