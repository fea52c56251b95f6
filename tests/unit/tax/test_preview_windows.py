"""What-if sales and open wash-sale windows: the questions the planner asks the book."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from daemon.core.domain import AccountType
from daemon.core.tax import (
    LossWindow,
    LotMethod,
    LotPick,
    PurchaseWindow,
    RelievedPiece,
    SaleRequest,
    SameDayReplacements,
    SubstantiallyIdentical,
    TaxDataError,
    Term,
    View,
)

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades


EXCLUDE = SameDayReplacements.EXCLUDE


def _worked_lot_set(trades: Trades) -> None:
    for name, on, qty, cost in [
        ("L1", "2023-01-10", 100, 6000),
        ("L2", "2024-03-15", 100, 12000),
        ("L3", "2024-12-02", 100, 11000),
        ("L4", "2025-04-01", 100, 9000),
        ("L5", "2025-05-20", 50, 5000),
    ]:
        trades.buy(on, qty, cost, symbol="XYZ", id=name)


def _facts(pieces: Sequence[RelievedPiece]) -> list[tuple[object, ...]]:
    return [
        (p.source_id, p.qty, p.basis, p.proceeds, p.disallowed, p.permanent, p.term, p.gain)
        for p in pieces
    ]


@pytest.mark.parametrize("method", list(LotMethod))
def test_preview_is_what_the_sale_would_do(trades: Trades, method: LotMethod) -> None:
    _worked_lot_set(trades)
    trades.buy(
        "2025-05-25", 20, 1900, symbol="XYZ", account="ira", account_type=AccountType.ROTH_IRA
    )
    before = trades.book(default_method=method)
    preview = before.preview_sale(
        "brokerage", "XYZ", Decimal(150), date(2025, 6, 2), Decimal(15000)
    )
    trades.sell("2025-06-02", 150, 15000, symbol="XYZ")
    after = trades.book(default_method=method).sale("s1")
    assert _facts(preview.pieces) == _facts(after.pieces)
    assert preview.gain == after.gain
    assert preview.method is method


def test_preview_changes_nothing(trades: Trades) -> None:
    _worked_lot_set(trades)
    book = trades.book()
    lots = book.lots()
    book.preview_sale("brokerage", "XYZ", Decimal(150), date(2025, 6, 2), Decimal(15000))
    assert book.lots() == lots
    assert book.purchase_windows(date(2025, 6, 2))[0].available_qty == 50


def test_preview_with_picks_and_gain_by_term(trades: Trades) -> None:
    _worked_lot_set(trades)
    preview = trades.book(same_day_replacements=EXCLUDE).preview_sale(
        "brokerage",
        "XYZ",
        Decimal(150),
        date(2025, 6, 2),
        Decimal(15000),
        method=LotMethod.SPECIFIC,
        picks=(LotPick("L2"), LotPick("L5")),
    )
    assert [(p.source_id, p.qty) for p in preview.pieces] == [("L2", 100), ("L5", 50)]
    assert preview.disallowed == 0, "L5 sold in the same order is no replacement"
    assert preview.gain_by_term(Term.LONG) == Decimal(-2000)
    assert preview.gain_by_term(Term.SHORT) == 0
    counted = trades.book().preview_sale(
        "brokerage",
        "XYZ",
        Decimal(150),
        date(2025, 6, 2),
        Decimal(15000),
        picks=(LotPick("L2"), LotPick("L5")),
    )
    assert counted.disallowed == 1000, "counted, L5 sold the same day replaces half of L2"
    assert (counted.gain_by_term(Term.LONG), counted.gain_by_term(Term.SHORT)) == (-2000, 0)


def test_preview_refuses_an_unknown_account_or_too_many_shares(trades: Trades) -> None:
    _worked_lot_set(trades)
    book = trades.book()
    with pytest.raises(TaxDataError, match="no trade names account nowhere"):
        book.preview_sale("nowhere", "XYZ", Decimal(1), date(2025, 6, 2), Decimal(100))
    with pytest.raises(TaxDataError, match="sells 500 but only 450 are held"):
        book.preview_sale("brokerage", "XYZ", Decimal(500), date(2025, 6, 2), Decimal(1))


def test_loss_window_is_open_through_day_30(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.sell("2024-03-01", 10, 800)
    book = trades.book()
    (window,) = book.loss_windows(date(2024, 3, 31))
    assert window == LossWindow(
        sale_id="s1",
        account="brokerage",
        symbol="X",
        symbols=frozenset({"X"}),
        sale_date=date(2024, 3, 1),
        ends=date(2024, 3, 31),
        unwashed_qty=Decimal(10),
        unwashed_loss=Decimal(200),
    )
    assert book.loss_windows(date(2024, 4, 1)) == ()
    assert book.loss_windows(date(2024, 2, 29)) == ()


def test_loss_window_shows_what_is_left_to_wash_and_the_group(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000, symbol="VOO")
    trades.sell("2024-03-01", 10, 800, symbol="VOO")
    trades.buy("2024-03-05", 4, 330, symbol="IVV")
    book = trades.book(identical=SubstantiallyIdentical.of([["VOO", "IVV"]]))
    (window,) = book.loss_windows(date(2024, 3, 10))
    assert (window.unwashed_qty, window.unwashed_loss) == (Decimal(6), Decimal(120))
    assert window.symbols == {"VOO", "IVV"}
    trades.buy("2024-03-06", 6, 500, symbol="VOO")
    book = trades.book(identical=SubstantiallyIdentical.of([["VOO", "IVV"]]))
    assert book.loss_windows(date(2024, 3, 10)) == (), "fully washed: buying more costs nothing"


def test_no_loss_window_for_an_ira_sale_or_a_gain(trades: Trades) -> None:
    ira = AccountType.TRADITIONAL_IRA
    trades.buy("2023-01-03", 10, 1000, account="ira", account_type=ira)
    trades.sell("2024-03-01", 10, 800, account="ira", account_type=ira)
    trades.buy("2023-01-03", 10, 1000)
    trades.sell("2024-03-01", 10, 1200)
    assert trades.book().loss_windows(date(2024, 3, 2)) == ()


def test_purchase_windows_count_held_shares_not_yet_used(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.buy("2024-03-01", 10, 900, account="roth", account_type=AccountType.ROTH_IRA)
    trades.buy("2024-03-05", 30, 2700)
    trades.sell("2024-03-07", 5, 460, lots=["b3"])
    book = trades.book()
    windows = book.purchase_windows(date(2024, 3, 31))
    assert [(w.source_id, w.account_type, w.available_qty, w.ends) for w in windows] == [
        ("b2", AccountType.ROTH_IRA, Decimal(10), date(2024, 3, 31)),
        ("b3", AccountType.TAXABLE, Decimal(25), date(2024, 4, 4)),
    ]
    assert [w.source_id for w in book.purchase_windows(date(2024, 4, 1))] == ["b3"]


def test_purchase_window_closes_when_its_shares_absorbed_a_loss(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.buy("2024-03-05", 10, 900)
    trades.sell("2024-03-07", 10, 800, lots=["b1"])
    assert trades.book().purchase_windows(date(2024, 3, 8)) == ()


def test_open_windows_lists_both_kinds_soonest_end_first(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.sell("2024-03-01", 10, 800)
    trades.buy("2024-02-20", 5, 500, symbol="Y")
    windows = trades.book().open_windows(date(2024, 3, 10))
    assert [type(w) for w in windows] == [PurchaseWindow, LossWindow]
    assert [w.ends for w in windows] == [date(2024, 3, 21), date(2024, 3, 31)]


def test_broker_view_windows_name_only_the_symbol(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000, symbol="VOO")
    trades.sell("2024-03-01", 10, 800, symbol="VOO")
    book = trades.book(identical=SubstantiallyIdentical.of([["VOO", "IVV"]]), view=View.BROKER)
    (window,) = book.loss_windows(date(2024, 3, 2))
    assert window.symbols == {"VOO"}


def test_sales_previewed_together_are_no_replacements_for_each_other(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 4000, symbol="VOO")
    trades.buy("2024-02-25", 10, 3500, symbol="IVV")
    identical = SubstantiallyIdentical.of([["VOO", "IVV"]])
    book = trades.book(identical=identical, same_day_replacements=EXCLUDE)
    on = date(2024, 3, 1)
    alone = book.preview_sale("brokerage", "VOO", Decimal(10), on, Decimal(3400))
    assert alone.disallowed == 600, "the IVV lot bought 5 days before replaces the VOO loss"
    voo, ivv = book.preview_sales(
        on,
        [
            SaleRequest("brokerage", "VOO", Decimal(10), Decimal(3400)),
            SaleRequest("brokerage", "IVV", Decimal(10), Decimal(3450)),
        ],
    )
    assert (voo.disallowed, ivv.disallowed) == (0, 0)
    assert (voo.gain, ivv.gain) == (Decimal(-600), Decimal(-50))
    # Counted, the IVV shares sold the same day replace the VOO loss and report it.
    voo, ivv = trades.book(identical=identical).preview_sales(
        on,
        [
            SaleRequest("brokerage", "VOO", Decimal(10), Decimal(3400)),
            SaleRequest("brokerage", "IVV", Decimal(10), Decimal(3450)),
        ],
    )
    assert (voo.disallowed, voo.gain, ivv.basis, ivv.gain) == (600, 0, 4100, -650)


def test_losses_previewed_together_share_replacements_by_the_lots_acquisition(
    trades: Trades,
) -> None:
    trades.buy("2023-01-03", 10, 1000, symbol="A", id="older")
    trades.buy("2023-05-03", 10, 1000, symbol="B", id="newer")
    trades.buy("2024-02-25", 10, 900, symbol="A", account="spouse", id="replacement")
    book = trades.book(identical=SubstantiallyIdentical.of([["A", "B"]]))
    newer, older = book.preview_sales(
        date(2024, 3, 1),
        [
            SaleRequest("brokerage", "B", Decimal(10), Decimal(700)),
            SaleRequest("brokerage", "A", Decimal(10), Decimal(800)),
        ],
    )
    assert (older.disallowed, newer.disallowed) == (Decimal(200), 0)


def test_one_sale_per_account_and_symbol_in_a_batch(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    request = SaleRequest("brokerage", "X", Decimal(1), Decimal(100))
    with pytest.raises(TaxDataError, match="X is sold twice in brokerage"):
        trades.book().preview_sales(date(2024, 3, 1), [request, request])


def test_a_loss_that_cannot_take_the_free_shares_leaves_them_to_the_next_loss(
    trades: Trades,
) -> None:
    # r2 is a fill of r1's own purchase order: it cannot replace r1's loss (Rev. Rul. 56-602),
    # so the group's window still has 10 free shares when the later B loss is matched.
    trades.buy("2024-02-01", 10, 1000, symbol="A", id="r1", order_id="o1")
    trades.buy("2024-02-10", 10, 1000, symbol="B", id="b")
    trades.buy("2024-02-20", 10, 1000, symbol="A", id="r2", order_id="o1")
    identical = SubstantiallyIdentical.of([["A", "B"]])
    on = date(2024, 3, 1)
    a, b = trades.book(identical=identical, same_day_replacements=EXCLUDE).preview_sales(
        on,
        [
            SaleRequest("brokerage", "A", Decimal(10), Decimal(700)),
            SaleRequest("brokerage", "B", Decimal(10), Decimal(600)),
        ],
    )
    assert (a.disallowed, b.disallowed) == (0, Decimal(400))
    trades.sell(on.isoformat(), 10, 700, symbol="A")
    trades.sell(on.isoformat(), 10, 600, symbol="B")
    replayed = trades.book(identical=identical, same_day_replacements=EXCLUDE)
    assert _facts(a.pieces) == _facts(replayed.sale("s1").pieces)
    assert _facts(b.pieces) == _facts(replayed.sale("s2").pieces)


def test_losses_after_the_free_shares_are_spoken_for_match_nothing(trades: Trades) -> None:
    for n, bought in enumerate(["2023-01-03", "2023-02-03", "2023-03-03"], start=1):
        trades.buy(bought, 10, 1000, id=f"loss{n}")
    trades.buy("2024-02-25", 15, 1200, account="spouse", id="replacement")
    on = date(2024, 3, 1)
    preview = trades.book().preview_sale("brokerage", "X", Decimal(30), on, Decimal(2400))
    trades.sell(on.isoformat(), 30, 2400)
    replayed = trades.book().sale("s1")
    assert [p.disallowed for p in preview.pieces] == [Decimal(200), Decimal(100), 0]
    assert _facts(preview.pieces) == _facts(replayed.pieces)


@pytest.mark.parametrize("method", list(LotMethod))
def test_a_what_if_gives_the_previews_disallowed_before_building_its_records(
    trades: Trades, method: LotMethod
) -> None:
    _worked_lot_set(trades)
    trades.buy(
        "2025-05-25", 20, 1900, symbol="XYZ", account="ira", account_type=AccountType.ROTH_IRA
    )
    trades.buy("2025-05-28", 7, 600, symbol="XYZ", account="spouse")
    book = trades.book(default_method=method)
    on = date(2025, 6, 2)
    requests = [
        SaleRequest("brokerage", "XYZ", Decimal(qty), Decimal(proceeds), picks=picks)
        for qty, proceeds, picks in [
            (150, 15000, ()),
            (40, 2000, ()),
            (450, 30000, ()),
            (1, 200, ()),
            (10, 500, (LotPick("L4", Decimal(10)),)),
        ]
    ]
    for request in requests:
        what_if = book.what_if(on, [request])
        (preview,) = book.preview_sales(on, [request])
        assert str(what_if.disallowed()[0]) == str(preview.disallowed)
        assert what_if.previews() == (preview,)
    # 10 shares of L4 at $90 sold at $50, all replaced by the Roth and spouse purchases.
    assert book.what_if(on, requests[-1:]).disallowed() == (Decimal(400),)
    with pytest.raises(TaxDataError, match="sells 451 but only 450 are held"):
        book.what_if(on, [SaleRequest("brokerage", "XYZ", Decimal(451), Decimal(1))])


def test_a_preview_on_a_day_with_settled_losses_is_what_the_replay_does(
    trades: Trades,
) -> None:
    # Issue 13: the spouse's VTI loss today took today's VTI buys as replacements; a VTSAX
    # loss from an older lot settles first and takes one of them back.
    identical = SubstantiallyIdentical.of([["VTI", "VTSAX"]])
    trades.buy("2026-05-08", 10, 650, symbol="VTSAX", id="vtsax")
    trades.buy("2026-05-08", 10, 1300, symbol="VTI", account="spouse", id="spouse")
    for n in range(6):
        trades.buy("2026-11-24", 1, 70, symbol="VTI", id=f"today{n}")
    trades.sell("2026-11-24", 6, 420, symbol="VTI", account="spouse")
    on = date(2026, 11, 24)
    for same_day in SameDayReplacements:
        book = trades.book(identical=identical, same_day_replacements=same_day)
        assert book.sale("s1").disallowed == 360
        preview = book.preview_sale("brokerage", "VTSAX", Decimal(1), on, Decimal(50))
        assert preview.disallowed == Decimal("15.00")
        what_if = book.what_if(on, [SaleRequest("brokerage", "VTSAX", Decimal(1), Decimal(50))])
        assert what_if.disallowed() == (Decimal("15.00"),)
        replayed = trades.book(identical=identical, same_day_replacements=same_day)
        assert book.lots() == replayed.lots(), "the preview changed nothing"


def test_a_preview_before_a_later_purchase_does_not_sell_it(trades: Trades) -> None:
    # The book holds a lot bought after the preview's day: LIFO must not relieve it.
    trades.buy("2024-01-02", 10, 1000, id="early")
    trades.buy("2024-03-20", 10, 800, id="later")
    on = date(2024, 3, 1)
    book = trades.book()
    preview = book.preview_sale("brokerage", "X", Decimal(5), on, Decimal(450), LotMethod.LIFO)
    assert [p.source_id for p in preview.pieces] == ["early"]
    assert preview.disallowed == 50, "the later purchase, within 30 days, replaces the loss"
