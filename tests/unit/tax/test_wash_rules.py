"""Each rule of the wash-sale engine, one test each (docs/tax.md lists them with citations)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from daemon.core.domain import AccountType
from daemon.core.tax import (
    HoldingPeriodConvention,
    LotMethod,
    SameDayReplacements,
    SubstantiallyIdentical,
    TaxDataError,
    Term,
    View,
)

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades

SOLD = date(2024, 3, 15)


def _day(offset: int) -> str:
    return (SOLD + timedelta(days=offset)).isoformat()


@pytest.mark.parametrize(("offset", "washes"), [(30, True), (31, False)])
def test_window_after_the_sale_ends_on_day_30(trades: Trades, offset: int, washes: bool) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.sell(_day(0), 10, 800)
    trades.buy(_day(offset), 10, 850)
    assert (trades.book().sale("s1").disallowed == 200) is washes


@pytest.mark.parametrize(("offset", "washes"), [(-30, True), (-31, False)])
def test_window_before_the_sale_starts_on_day_30(trades: Trades, offset: int, washes: bool) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.buy(_day(offset), 10, 850)
    trades.sell(_day(0), 10, 800, lots=["b1"])
    assert (trades.book().sale("s1").disallowed == 200) is washes


def test_window_days_are_calendar_days_across_a_leap_day(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.buy("2024-02-14", 10, 850)  # 30 days before 2024-03-15, Feb 29 included
    trades.sell("2024-03-15", 10, 800, lots=["b1"])
    assert trades.book().sale("s1").disallowed == 200


def test_replacements_are_taken_in_order_of_acquisition_across_accounts(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.sell("2024-03-15", 10, 800)
    trades.buy("2024-03-20", 10, 900, account="spouse", owner="spouse")
    trades.buy("2024-03-18", 10, 900, account="other")
    book = trades.book()
    (wash,) = book.sale("s1").washes
    assert wash.replacement_account == "other"
    assert {lot.account: lot.wash_adjustment for lot in book.lots()} == {
        "other": Decimal(200),
        "spouse": Decimal(0),
    }


def test_a_replacement_share_absorbs_only_one_loss(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000, id="a")
    trades.buy("2023-01-04", 10, 1000, id="c")
    trades.sell("2024-03-01", 10, 800, lots=["a"], id="sa")
    trades.sell("2024-03-06", 10, 700, lots=["c"], id="sc")
    trades.buy("2024-03-10", 10, 900, id="r")
    book = trades.book()
    assert book.sale("sa").disallowed == 200
    assert book.sale("sc").disallowed == 0
    (lot,) = book.lots()
    assert lot.adjusted_basis == Decimal(1100)
    assert lot.replacement_used


def test_losses_are_processed_in_order_of_sale_not_of_the_file(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000, id="a")
    trades.buy("2023-01-04", 10, 1000, id="c")
    trades.sell("2024-03-06", 10, 700, lots=["c"], id="later")
    trades.sell("2024-03-01", 10, 800, lots=["a"], id="earlier")
    trades.buy("2024-03-10", 10, 900)
    book = trades.book()
    assert book.sale("earlier").disallowed == 200
    assert book.sale("later").disallowed == 0


def test_same_day_losses_are_processed_in_order_of_the_lots_acquisition(trades: Trades) -> None:
    trades.buy("2023-01-10", 100, 5000, id="old")
    trades.buy("2023-06-01", 100, 6000, id="new")
    trades.sell("2024-03-01", 200, 8000)  # LIFO relieves "new" first
    trades.buy("2024-03-10", 100, 4100)
    sale = trades.book(default_method=LotMethod.LIFO).sale("s1")
    assert [p.source_id for p in sale.pieces] == ["new", "old"]
    by_lot = {p.source_id: p.disallowed for p in sale.pieces}
    assert by_lot == {"old": Decimal(1000), "new": Decimal(0)}


def test_same_day_losses_in_separate_sales_follow_the_lots_acquisition_too(trades: Trades) -> None:
    trades.buy("2023-01-10", 100, 5000, id="old")
    trades.buy("2023-06-01", 100, 6000, id="new")
    trades.sell("2024-03-01", 100, 4000, lots=["new"], id="first")
    trades.sell("2024-03-01", 100, 4000, lots=["old"], id="second")
    trades.buy("2024-03-10", 100, 4100)
    book = trades.book()
    assert book.sale("second").disallowed == 1000
    assert book.sale("first").disallowed == 0


def test_partial_wash_disallows_only_the_matched_shares(trades: Trades) -> None:
    trades.buy("2023-01-03", 100, 5000)
    trades.sell("2024-03-01", 100, 4000)
    trades.buy("2024-03-20", 40, 1700)
    sale = trades.book().sale("s1")
    assert sale.disallowed == Decimal(400)
    assert sale.gain == Decimal(-600)


def test_replacement_lot_is_split_into_washed_and_unwashed_pieces(trades: Trades) -> None:
    trades.buy("2023-01-03", 30, 3000)
    trades.sell("2024-03-01", 30, 2400)
    trades.buy("2024-03-20", 100, 8000)
    lots = trades.book().lots()
    assert [(lot.source_id, lot.qty, lot.cost, lot.adjusted_basis) for lot in lots] == [
        ("b2", 30, Decimal(2400), Decimal(3000)),
        ("b2", 70, Decimal(5600), Decimal(5600)),
    ]
    assert lots[0].holding_period_start < lots[1].holding_period_start == date(2024, 3, 20)


@pytest.mark.parametrize(
    ("convention", "start"),
    [
        # bought 2023-11-01, sold 2024-03-01 (121 days held), replaced 2024-03-20
        (HoldingPeriodConvention.ADD_DAYS, date(2023, 11, 20)),
        (HoldingPeriodConvention.LOSS_LOT_START, date(2023, 11, 1)),
        (HoldingPeriodConvention.NO_DOUBLE_COUNT, date(2023, 11, 20)),
    ],
)
def test_holding_period_of_the_washed_shares_is_added_to_the_replacement(
    trades: Trades, convention: HoldingPeriodConvention, start: date
) -> None:
    trades.buy("2023-11-01", 10, 1000)
    trades.sell("2024-03-01", 10, 800)
    trades.buy("2024-03-20", 10, 850)
    (lot,) = trades.book(holding_period=convention).lots()
    assert lot.holding_period_start == start
    assert lot.adjusted_basis == Decimal(1050)


def test_no_double_count_takes_the_loss_lot_start_for_a_replacement_bought_before(
    trades: Trades,
) -> None:
    trades.buy("2023-11-01", 10, 1000)
    trades.buy("2024-02-20", 10, 850)
    trades.sell("2024-03-01", 10, 800, lots=["b1"])
    book = trades.book(holding_period=HoldingPeriodConvention.NO_DOUBLE_COUNT)
    (lot,) = book.lots()
    assert lot.holding_period_start == date(2023, 11, 1)
    (lot,) = trades.book().lots()
    assert lot.holding_period_start == date(2023, 10, 22)  # add_days: 121 days before 02-20


def test_tacked_holding_period_can_make_the_replacement_long_term(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000)
    trades.sell("2023-12-01", 10, 800)
    trades.buy("2023-12-15", 10, 850)
    trades.sell("2024-01-20", 10, 1200)
    sale = trades.book().sale("s2")
    assert sale.term is Term.LONG, "held 332 days + 36 days"
    assert sale.gain == Decimal(150)


def test_chain_adjusted_basis_turns_a_later_gain_into_a_washed_loss(trades: Trades) -> None:
    trades.buy("2023-01-03", 100, 1000)
    trades.sell("2024-03-01", 100, 800)  # loss 200, washed into b2
    trades.buy("2024-03-10", 100, 900)  # basis 900 + 200 = 1100
    trades.sell("2024-04-01", 100, 1000)  # a 100 gain on cost, a 100 loss on basis
    trades.buy("2024-04-15", 100, 950)
    book = trades.book()
    assert book.sale("s1").disallowed == 200
    second = book.sale("s2")
    assert second.basis == Decimal(1100)
    assert second.disallowed == Decimal(100)
    assert second.gain == 0
    (lot,) = book.lots()
    assert lot.adjusted_basis == Decimal(1050)


def test_gains_never_wash(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 800)
    trades.sell("2024-03-01", 10, 1000)
    trades.buy("2024-03-10", 10, 950)
    book = trades.book()
    assert book.sale("s1").disallowed == 0
    assert book.sale("s1").gain == 200
    assert book.adjustments == ()
    assert not book.lots()[0].replacement_used


def test_shares_of_the_same_purchase_are_not_a_replacement_rev_rul_56_602(trades: Trades) -> None:
    trades.buy("2024-02-20", 100, 10000)
    trades.sell("2024-03-01", 50, 4000)
    book = trades.book()
    assert book.sale("s1").disallowed == 0
    assert book.sale("s1").gain == Decimal(-1000)


def test_fills_of_one_purchase_order_are_not_replacements_for_each_other(trades: Trades) -> None:
    trades.buy("2024-02-20", 60, 6000, order_id="order-1")
    trades.buy("2024-02-20", 40, 4000, order_id="order-1")
    trades.sell("2024-03-01", 60, 4800, lots=["b1"])
    assert trades.book().sale("s1").disallowed == 0


def test_a_separate_purchase_within_30_days_is_a_replacement(trades: Trades) -> None:
    trades.buy("2024-02-20", 50, 5000)
    trades.buy("2024-02-21", 50, 5000)
    trades.sell("2024-03-01", 50, 4000, lots=["b1"])
    assert trades.book().sale("s1").disallowed == 1000


def test_earlier_purchase_policy_decides_whether_a_lot_bought_before_the_loss_lot_counts(
    trades: Trades,
) -> None:
    trades.buy("2024-02-10", 50, 5000, id="a")
    trades.buy("2024-02-20", 50, 5500, id="b")
    trades.sell("2024-03-01", 50, 4500, lots=["b"])
    assert trades.book().sale("s1").disallowed == 1000
    assert trades.book(earlier_purchase_replaces=False).sale("s1").disallowed == 0


def test_ira_purchase_before_the_sale_also_disallows_for_good(trades: Trades) -> None:
    trades.buy("2023-01-03", 100, 1000)
    trades.buy("2024-02-25", 100, 650, account="roth", account_type=AccountType.ROTH_IRA)
    trades.sell("2024-03-01", 100, 600, lots=["b1"])
    sale = trades.book().sale("s1")
    assert sale.permanent == sale.disallowed == Decimal(400)


def test_a_loss_inside_an_ira_is_never_washed(trades: Trades) -> None:
    ira = AccountType.TRADITIONAL_IRA
    trades.buy("2023-01-03", 100, 1000, account="ira", account_type=ira)
    trades.sell("2024-03-01", 100, 600, account="ira", account_type=ira)
    trades.buy("2024-03-05", 100, 650, account="ira", account_type=ira)
    trades.buy("2024-03-05", 100, 650)
    book = trades.book()
    assert not book.sale("s1").taxable
    assert book.sale("s1").disallowed == 0
    assert all(lot.wash_adjustment == 0 for lot in book.lots())


def test_a_spouses_purchase_washes_the_loss_and_takes_the_basis(trades: Trades) -> None:
    trades.buy("2023-01-03", 100, 1000, owner="me")
    trades.sell("2024-03-01", 100, 600)
    trades.buy("2024-03-05", 100, 650, account="spouse-brokerage", owner="spouse")
    book = trades.book()
    assert book.sale("s1").disallowed == 400
    (lot,) = book.lots()
    assert (lot.owner, lot.adjusted_basis) == ("spouse", Decimal(1050))


def test_substantially_identical_symbols_are_a_user_defined_group(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 4000, symbol="VOO")
    trades.sell("2024-03-01", 10, 3500, symbol="VOO")
    trades.buy("2024-03-05", 10, 3600, symbol="IVV")
    assert trades.book().sale("s1").disallowed == 0
    grouped = trades.book(identical=SubstantiallyIdentical.of([["VOO", "IVV"]]))
    assert grouped.sale("s1").disallowed == 500
    (lot,) = grouped.lots()
    assert (lot.symbol, lot.adjusted_basis) == ("IVV", Decimal(4100))


def test_broker_view_only_washes_within_one_account_and_symbol(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 4000, symbol="VOO")
    trades.sell("2024-03-01", 10, 3500, symbol="VOO")
    trades.buy("2024-03-05", 10, 3600, symbol="IVV")
    trades.buy("2024-03-06", 10, 3600, symbol="VOO", account="spouse")
    trades.buy(
        "2024-03-07", 10, 3600, symbol="VOO", account="ira", account_type=AccountType.ROTH_IRA
    )
    identical = SubstantiallyIdentical.of([["VOO", "IVV"]])
    assert trades.book(identical=identical).sale("s1").disallowed == 500
    assert trades.book(identical=identical, view=View.BROKER).sale("s1").disallowed == 0
    trades.buy("2024-03-08", 10, 3600, symbol="VOO")
    broker = trades.book(identical=identical, view=View.BROKER)
    (wash,) = broker.sale("s1").washes
    assert (wash.replacement_account, wash.replacement_symbol) == ("brokerage", "VOO")


def test_a_replacement_sold_before_the_loss_sale_does_not_count(trades: Trades) -> None:
    trades.buy("2023-01-03", 10, 1000, id="a")
    trades.buy("2024-02-20", 10, 900, id="b")
    trades.sell("2024-02-25", 10, 950, lots=["b"])
    trades.sell("2024-03-01", 10, 800, lots=["a"])
    assert trades.book().sale("s2").disallowed == 0


EXCLUDE = SameDayReplacements.EXCLUDE


def test_shares_sold_the_same_day_are_not_replacements_when_excluded(trades: Trades) -> None:
    # The reference's worked lot set: selling L5 with L2 avoids the wash.
    trades.buy("2024-03-15", 100, 12000, id="L2")
    trades.buy("2025-05-20", 50, 5000, id="L5")
    trades.sell("2025-06-02", 150, 15000, lots=["L2", "L5"])
    assert trades.book(same_day_replacements=EXCLUDE).sale("s1").disallowed == 0


def test_shares_sold_by_a_later_sale_the_same_day_are_not_replacements_when_excluded(
    trades: Trades,
) -> None:
    trades.buy("2024-03-15", 100, 12000, id="L2")
    trades.buy("2025-05-20", 50, 5000, id="L5")
    trades.sell("2025-06-02", 100, 10000, lots=["L2"])
    trades.sell("2025-06-02", 50, 5100, lots=["L5"])
    assert trades.book(same_day_replacements=EXCLUDE).sale("s1").disallowed == 0


def test_shares_sold_the_same_day_replace_a_loss_when_counted(trades: Trades) -> None:
    # The default. L5 (bought 13 days before) absorbs half of L2's loss and, sold the same
    # day, reports it: the day's total is the same, L5's piece turns long-term.
    trades.buy("2024-03-15", 100, 12000, id="L2")
    trades.buy("2025-05-20", 50, 5000, id="L5")
    trades.sell("2025-06-02", 150, 15000, lots=["L2", "L5"])
    sale = trades.book().sale("s1")
    l2, l5 = sale.pieces
    assert (l2.disallowed, l2.gain) == (Decimal(1000), Decimal(-1000))
    assert (l5.basis, l5.gain, l5.term) == (Decimal(6000), Decimal(-1000), Term.LONG)
    assert sale.gain == trades.book(same_day_replacements=EXCLUDE).sale("s1").gain == -2000


def test_a_buy_back_sold_again_the_same_day_is_a_wash_when_counted(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000, id="old")
    trades.sell("2024-03-15", 10, 800)
    trades.buy("2024-03-15", 10, 810, id="back")
    trades.sell("2024-03-15", 10, 830)
    counted = trades.book()
    assert counted.sale("s1").disallowed == 200
    (back,) = counted.sale("s2").pieces
    assert (back.source_id, back.basis, back.gain) == ("back", Decimal(1010), Decimal(-180))
    excluded = trades.book(same_day_replacements=EXCLUDE)
    assert excluded.sale("s1").disallowed == 0
    assert excluded.sale("s2").gain == 20
    assert counted.sale("s1").gain + back.gain == excluded.sale("s1").gain + 20


def test_a_counted_same_day_replacement_bought_before_the_loss_lot_does_not_count(
    trades: Trades,
) -> None:
    # Bought before the loss lot: its own result would settle first, so it stays out.
    trades.buy("2024-03-01", 10, 1000, id="first")
    trades.buy("2024-03-05", 10, 1200, id="loss")
    trades.sell("2024-03-15", 10, 1100, lots=["first"])
    trades.sell("2024-03-15", 10, 1000, lots=["loss"])
    assert trades.book().sale("s2").disallowed == 0


def test_a_counted_same_day_replacement_partly_used_splits_its_sale(trades: Trades) -> None:
    trades.buy("2024-01-02", 4, 400, id="old")
    trades.buy("2024-03-10", 10, 1000, id="new")
    trades.sell("2024-03-15", 14, 1260, lots=["old", "new"])
    sale = trades.book().sale("s1")
    assert [(p.source_id, p.qty, p.basis, p.proceeds) for p in sale.pieces] == [
        ("old", 4, 400, Decimal(360)),
        ("new", 4, Decimal(440), Decimal(360)),
        ("new", 6, Decimal(600), Decimal(540)),
    ]
    assert sale.gain == 1260 - 1400


def test_shares_bought_the_same_day_after_the_sale_are_replacements(trades: Trades) -> None:
    trades.buy("2024-03-15", 100, 12000)
    trades.sell("2025-06-02", 100, 10000)
    trades.buy("2025-06-02", 100, 10100)
    assert trades.book().sale("s1").disallowed == 2000


@pytest.mark.parametrize(
    ("bought", "sold", "term"),
    [
        ("2023-06-15", "2024-06-15", Term.SHORT),  # the anniversary is not "more than a year"
        ("2023-06-15", "2024-06-16", Term.LONG),
        ("2024-02-29", "2025-02-28", Term.SHORT),
        ("2024-02-29", "2025-03-01", Term.LONG),
        ("2023-03-01", "2024-03-01", Term.SHORT),
        ("2023-03-01", "2024-03-02", Term.LONG),
    ],
)
def test_long_term_means_held_more_than_one_year(
    trades: Trades, bought: str, sold: str, term: Term
) -> None:
    trades.buy(bought, 1, 100)
    trades.sell(sold, 1, 120)
    assert trades.book().sale("s1").term is term


def test_a_sale_relieving_both_terms_is_mixed(trades: Trades) -> None:
    trades.buy("2022-01-03", 10, 1000)
    trades.buy("2023-06-01", 10, 1000)
    trades.sell("2023-09-01", 20, 2400)
    sale = trades.book().sale("s1")
    assert sale.term is Term.MIXED
    assert (sale.gain_by_term(Term.LONG), sale.gain_by_term(Term.SHORT)) == (200, 200)


def test_selling_more_than_held_is_refused_naming_the_trade(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000)
    trades.sell("2024-02-01", 11, 1200)
    with pytest.raises(TaxDataError, match=r"trade s1, qty: sells 11 but only 10 are held"):
        trades.book()


@pytest.mark.parametrize("method", list(LotMethod))
def test_selling_more_than_held_is_refused_under_every_method(
    trades: Trades, method: LotMethod
) -> None:
    trades.buy("2024-01-02", 10, 1000)
    trades.buy("2024-01-05", "2.50", 300)
    trades.sell("2024-02-01", 13, 1200)
    with pytest.raises(TaxDataError, match=r"trade s1, qty: sells 13 but only 12.50 are held"):
        trades.book(default_method=method)


def test_a_named_lot_must_be_held(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000)
    trades.buy("2024-01-03", 10, 1000, symbol="Y")
    trades.sell("2024-02-01", 5, 600, lots=["b2"])
    with pytest.raises(TaxDataError, match=r"trade s1, lot: lot b2 is not held"):
        trades.book()


def test_an_account_keeps_one_type(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000)
    trades.buy("2024-01-03", 10, 1000, account_type=AccountType.ROTH_IRA)
    with pytest.raises(
        TaxDataError, match="names account brokerage, which is taxable in an earlier trade"
    ):
        trades.book()


def test_trade_ids_are_unique(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000, id="x")
    trades.buy("2024-01-03", 10, 1000, id="x")
    with pytest.raises(TaxDataError, match="appears more than once"):
        trades.book()
