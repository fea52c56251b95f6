"""Income sale candidates of a symbol whose lots differ from the broker's position.

After a 2-for-1 split no one recorded, the ledger holds 10 VTI at $200 a share and the broker
20 at $125: by lot, 10 of them would look like a $750 loss (ranked first, as losses are) and
the rest like shares without a lot. The tax step does not trust such lots; nor does the
income step: all 20 are one unknown-basis candidate, their whole value a short-term gain.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from daemon.core.domain import AccountType
from daemon.core.income import sale_candidates
from daemon.core.tax.types import Term
from tests.fakes.tax_household import Household

D = Decimal
TODAY = date(2026, 11, 24)


def _candidates(mismatched: frozenset[str]) -> list[tuple[str, str, Decimal, Decimal, Term]]:
    h = Household()
    h.account("brokerage")
    h.buy("brokerage", "VTI", date(2025, 1, 5), 10, 2000)
    h.buy("brokerage", "BND", date(2025, 1, 5), 10, 700)
    found = sale_candidates(
        account="brokerage",
        account_type=AccountType.TAXABLE,
        holdings={"VTI": D(20), "BND": D(10)},
        prices={"VTI": D(125), "BND": D(72)},
        targets={},
        value=D(3220),
        book=h.book(),
        today=TODAY,
        mismatched=mismatched,
    )
    return [(c.symbol, c.lot, c.value, c.gain, c.term) for c in found]


def test_a_mismatched_symbol_is_one_unknown_basis_candidate() -> None:
    assert _candidates(frozenset({"VTI"})) == [
        ("BND", "t2#0", D(720), D(20), Term.LONG),  # BND's lots are still trusted
        ("VTI", "unknown-basis", D(2500), D(2500), Term.SHORT),
    ]


def test_by_lot_the_same_holding_shows_a_loss_that_does_not_exist() -> None:
    vti = [c for c in _candidates(frozenset()) if c[0] == "VTI"]
    assert [(lot.startswith("unknown"), gain) for _, lot, _, gain, _ in vti] == [
        (False, D(-750)),
        (True, D(1250)),
    ]
