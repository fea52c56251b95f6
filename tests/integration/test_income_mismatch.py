"""The monthly income plan does not sell by the lots of a symbol the ledger and broker disagree on.

One cycle per account (tests/integration/test_income_household.py); then the sim's brokerage
holds twice its VTI with no fill (a 2-for-1 split, a transfer in). `plan_month` then sells
VTI as one unknown-basis candidate, its whole value a short-term gain, as the tax step plans
such a symbol; before, half of it was sold by the ledger's lots, at their old basis.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import update

from adapters.sim.store import SimPositionRow
from daemon.cycle.income import plan_month
from tests.integration.test_income_household import _household, _open, invested

__all__ = ["invested"]  # the fixture, shared

D = Decimal


def test_a_mismatched_symbol_is_raised_without_its_lots(invested: Path) -> None:
    app = _open(invested)
    try:
        household = _household(app)
        plan = plan_month(app.settings, household, D(6000))
        assert {s.candidate.lot.split("#")[0] != "unknown-basis" for s in plan.sales} == {True}
        held = next(
            p.qty
            for a in household.accounts
            for p in a.snapshot.positions
            if a.name == "brokerage" and p.symbol == "VTI"
        )
        with app.database.transaction() as session:
            session.execute(
                update(SimPositionRow)
                .where(SimPositionRow.account == "brokerage", SimPositionRow.symbol == "VTI")
                .values(qty=held * 2)
            )
        plan = plan_month(app.settings, _household(app), D(6000))
        vti = [s.candidate for s in plan.sales if s.candidate.symbol == "VTI"]
        assert vti
        assert {(c.lot, c.term) for c in vti} <= {("unknown-basis", "short")}
        assert all(c.gain == c.value for c in vti)
    finally:
        app.close()
