"""The broker's HIFO and min_tax lots, as the pure functions find them (tax rules §1.8, §1.9).

`relieved` names the lots a method takes; `TaxBook.broker_lots` gives the lots with the basis the
broker knows (no wash from another account or another symbol); the planner's previews
(`sale_preview`, `sale_what_if`) name the lots the broker would sell, and the household's washes
still count in what those lots realize.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from daemon.core.domain import AccountType
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.guards import sale_preview, sale_what_if
from daemon.core.tax.relief import broker_view, relieved
from daemon.core.tax.types import Lot, LotMethod, LotPick, TaxPolicy, View
from tests.fakes.tax_household import Household, settings

D = Decimal
SOLD = date(2024, 6, 3)


def _audit(method: LotMethod, *, spouse: bool = True) -> Household:
    """The audit's case: t1 = L1 (10 at 430), t4 = L2 (10 at 420), the spouse's loss between."""
    house = Household(methods={"brokerage": method})
    house.account("spouse", owner="spouse")
    house.buy("brokerage", "VOO", date(2024, 1, 2), 10, 4300)
    if spouse:
        house.buy("spouse", "VOO", date(2023, 6, 1), 10, 5000)
        house.sell("spouse", "VOO", date(2024, 2, 20), 10, 4100)
    house.buy("brokerage", "VOO", date(2024, 3, 1), 10, 4200)
    return house


def _lot(source_id: str, qty: int, basis: int, acquired: date) -> Lot:
    return Lot(
        source_id=source_id,
        account="a",
        account_type=AccountType.TAXABLE,
        symbol="X",
        owner="",
        qty=D(qty),
        cost=D(basis),
        adjusted_basis=D(basis),
        acquired=acquired,
        holding_period_start=acquired,
        order_id=source_id,
    )


def test_relieved_takes_the_method_order_and_merges_the_pieces_of_a_purchase() -> None:
    jan, feb = date(2024, 1, 2), date(2024, 2, 1)
    lots = [_lot("a", 4, 400, jan), _lot("b", 5, 550, feb), _lot("a", 6, 720, jan)]
    assert relieved(lots, LotMethod.HIFO, SOLD, D(100), D(12)) == (
        LotPick("a", D(7)),  # 6 at 120 a share, and 1 of the piece at 100 after "b"
        LotPick("b", D(5)),  # 110 a share
    )
    assert relieved(lots, LotMethod.FIFO, SOLD, D(100), D(3)) == (LotPick("a", D(3)),)
    assert relieved(lots, LotMethod.HIFO, SOLD, D(100), D(99)) == (
        LotPick("a", D(10)),
        LotPick("b", D(5)),
    )  # fewer held than sold: all of them
    assert relieved((), LotMethod.MIN_TAX, SOLD, D(100), D(1)) == ()


def test_broker_view_is_the_policy_with_the_brokers_washes() -> None:
    policy = TaxPolicy(methods={"a": LotMethod.HIFO})
    assert broker_view(policy) == TaxPolicy(methods={"a": LotMethod.HIFO}, view=View.BROKER)
    broker = broker_view(policy)
    assert broker_view(broker) is broker


def test_broker_lots_leave_out_the_spouses_wash() -> None:
    book = _audit(LotMethod.HIFO).book()
    assert [(lot.source_id, lot.adjusted_basis) for lot in book.lots("brokerage", "VOO")] == [
        ("t1", 4300),
        ("t4", 5100),
    ]
    assert [
        (lot.source_id, lot.adjusted_basis) for lot in book.broker_lots("brokerage", "VOO")
    ] == [("t1", 4300), ("t4", 4200)]
    # Alone in its group, the account's lots are the broker's as they are.
    alone = _audit(LotMethod.HIFO, spouse=False).book()
    assert alone.broker_lots("brokerage", "VOO") == alone.lots("brokerage", "VOO")
    broker = replay_trades(_audit(LotMethod.HIFO).trades, broker_view(book.policy))
    assert broker.broker_lots("brokerage", "VOO") == broker.lots("brokerage", "VOO")


@pytest.mark.parametrize("method", [LotMethod.HIFO, LotMethod.MIN_TAX])
def test_the_preview_names_the_lot_the_broker_sells(method: LotMethod) -> None:
    ctx = _audit(method).context(
        "brokerage", {"VOO": 450}, settings=settings(lot_method=method.value), today=SOLD
    )
    preview = sale_preview(ctx, "VOO", D(10))
    assert preview is not None
    assert preview.method is method
    assert [(p.source_id, p.basis, p.gain) for p in preview.pieces] == [("t1", 4300, 200)]
    what_if = sale_what_if(ctx, "VOO", D(10))
    assert what_if is not None
    assert what_if.disallowed() == (0,)
    assert what_if.previews() == (preview,)
    # Lots the caller names are taken as named.
    named = sale_preview(ctx, "VOO", D(10), [LotPick("t4", D(10))])
    assert named is not None
    assert [(p.source_id, p.gain) for p in named.pieces] == [("t4", -600)]


def test_a_wash_from_a_substantially_identical_symbol_moves_no_rank() -> None:
    """One account: VOO's loss washes into IVV's L2 for the household, not at the broker (another
    CUSIP); the broker's HIFO still sells IVV's L1."""
    house = Household(groups=[["VOO", "IVV"]], methods={"brokerage": LotMethod.HIFO})
    house.buy("brokerage", "IVV", date(2024, 1, 2), 10, 4300)
    house.buy("brokerage", "VOO", date(2023, 6, 1), 10, 5000)
    house.sell("brokerage", "VOO", date(2024, 2, 20), 10, 4100)
    house.buy("brokerage", "IVV", date(2024, 3, 1), 10, 4200)
    ctx = house.context("brokerage", {"IVV": 450}, settings=settings(lot_method="hifo"), today=SOLD)
    assert [lot.adjusted_basis for lot in ctx.book.lots("brokerage", "IVV")] == [4300, 5100]
    preview = sale_preview(ctx, "IVV", D(5))
    assert preview is not None
    assert [(p.source_id, p.qty, p.gain) for p in preview.pieces] == [("t1", 5, 100)]


def test_fifo_and_specific_are_unchanged() -> None:
    for method, lot_method, first in (
        (LotMethod.FIFO, "fifo", "t1"),
        (LotMethod.LIFO, "lifo", "t4"),
        # `specific` without names is trimtab's own min_tax choice, on the household's basis.
        (LotMethod.SPECIFIC, "specific", "t4"),
    ):
        ctx = _audit(method).context(
            "brokerage", {"VOO": 450}, settings=settings(lot_method=lot_method), today=SOLD
        )
        preview = sale_preview(ctx, "VOO", D(10))
        assert preview is not None
        assert [p.source_id for p in preview.pieces] == [first]
