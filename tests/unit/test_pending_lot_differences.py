"""`lot_differences`: the ledger's lots against the broker's positions less the shares of
fills the broker reported but has not listed yet."""

from __future__ import annotations

from decimal import Decimal

from daemon.core.domain import Side
from daemon.cycle.reconcile import PendingFill
from daemon.cycle.tax import FillsPending, lot_differences

D = Decimal


def waiting(symbol: str, side: Side, qty: str, coid: str = "tt-1") -> PendingFill:
    return PendingFill(coid, "b-" + coid, symbol, side, D(qty))


def test_lots_that_lack_only_pending_fills_differ_in_nothing_but_are_not_trusted() -> None:
    mismatches, pending = lot_differences(
        {"VTI": D(10), "BND": D(5)},
        {"VTI": D(14), "SCHD": D(3)},
        [waiting("VTI", Side.BUY, "4"), waiting("BND", Side.SELL, "5", "tt-2")],
    )
    assert [m.symbol for m in mismatches] == ["SCHD"]  # no lots, no pending fill: a mismatch
    assert pending == (FillsPending("BND", D(5), D(0)), FillsPending("VTI", D(10), D(14)))
    assert "fills pending" in pending[1].reason
    assert "nothing to do" in pending[1].fix
    assert "tax import" not in pending[1].fix + pending[1].reason


def test_a_difference_beyond_the_pending_fills_is_a_mismatch_of_the_rest() -> None:
    mismatches, pending = lot_differences(
        {"VTI": D(0)}, {"VTI": D(14)}, [waiting("VTI", Side.BUY, "4")]
    )
    assert pending == ()
    [vti] = mismatches
    assert (vti.ledger, vti.broker) == (D(0), D(10))
    assert "lacks 10 sh" in vti.fix


def test_pending_fills_that_net_to_nothing_still_leave_the_lots_untrusted() -> None:
    mismatches, pending = lot_differences(
        {"VTI": D(10)},
        {"VTI": D(10)},
        [waiting("VTI", Side.SELL, "4"), waiting("VTI", Side.BUY, "4", "tt-2")],
    )
    assert mismatches == ()
    assert [p.symbol for p in pending] == ["VTI"]


def test_without_pending_fills_the_comparison_is_the_positions() -> None:
    mismatches, pending = lot_differences({"VTI": D(10)}, {"VTI": D(10)})
    assert (mismatches, pending) == ((), ())
