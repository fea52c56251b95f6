"""A lot difference beside pending fills names the broker's real position and the pending
shares apart: "broker 10, of which 10 are fills not listed yet", never "broker 0" while the
broker holds 10 (`daemon.cycle.tax.lot_differences`, `LotMismatch.held`)."""

from __future__ import annotations

from decimal import Decimal

from daemon.core.domain import Side
from daemon.core.tax.mismatch import LotMismatch
from daemon.cycle.reconcile import PendingFill
from daemon.cycle.tax import lot_differences

D = Decimal


def waiting(symbol: str, side: Side, qty: str, coid: str = "tt-1") -> PendingFill:
    return PendingFill(coid, "b-" + coid, symbol, side, D(qty))


def test_a_difference_beside_a_pending_buy_says_what_the_broker_holds() -> None:
    # Lots 10, the broker holds 10, 10 of which a buy whose fill is not listed yet: once it
    # is, the ledger holds 20, so 10 sh of the lots are not at the broker.
    [vti], pending = lot_differences(
        {"VTI": D(10)}, {"VTI": D(10)}, [waiting("VTI", Side.BUY, "10")]
    )
    assert pending == ()
    assert (vti.ledger, vti.held) == (D(10), D(10))
    assert "the broker 10, of which 10 are fills not listed yet" in vti.reason
    assert "the broker 0" not in vti.reason
    assert "10 sh the broker does not" in vti.fix
    assert "fills not listed yet" in vti.fix


def test_a_difference_beside_a_pending_sell_says_what_the_broker_holds() -> None:
    [vti], _ = lot_differences({"VTI": D(0)}, {"VTI": D(6)}, [waiting("VTI", Side.SELL, "4")])
    assert vti.held == D(6)
    assert "the broker 6, after 4 sold in fills not listed yet" in vti.reason
    assert "lacks 10 sh" in vti.fix


def test_a_difference_without_pending_fills_reads_as_before() -> None:
    [vti], [bnd] = lot_differences(
        {"VTI": D(0)}, {"VTI": D(6), "BND": D(4)}, [waiting("BND", Side.BUY, "4")]
    )
    assert bnd.symbol == "BND"
    assert vti == LotMismatch("VTI", D(0), D(6))
    assert "not listed" not in vti.reason + vti.fix
