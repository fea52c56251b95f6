"""Buys sized to the cash the sells left, limit prices and dollar amounts: pure rules."""

from __future__ import annotations

from decimal import Decimal

from daemon.core import fills
from daemon.core.domain import OrderType, Side
from daemon.core.planner import PlannedOrder
from daemon.core.sizing import OrderTerms, buy_cost_bound, limit_price, notional_amount, size_buy

D = Decimal
MARKET = OrderTerms(min_trade_notional=D(50))
LIMIT = OrderTerms(order_type=OrderType.LIMIT, limit_collar=D("0.01"), min_trade_notional=D(50))
NONE = D(0)
MARKET_ANY = OrderTerms()  # no minimum trade
ALPACA = D("0.04")


def buy(qty: str, price: str) -> PlannedOrder:
    q, p = D(qty), D(price)
    return PlannedOrder("VTI", Side.BUY, q, p, q * p, "VTI under target")


def test_a_buy_the_cash_covers_is_left_as_planned() -> None:
    order = buy("10", "100")
    assert size_buy(order, D(100), D(1000), MARKET, D(1), hold=NONE) is order


def test_a_market_buy_shrinks_to_whole_increments_at_the_higher_price() -> None:
    sized = size_buy(buy("10", "100"), D(101), D(1000), MARKET, D(1), hold=NONE)
    assert sized is not None
    assert (sized.qty, sized.notional) == (D(9), D("900.00"))
    assert sized.reason == "VTI under target; reduced from 10 to 9 sh to fit cash after sells"


def test_a_limit_buy_is_sized_at_its_limit_not_the_quote() -> None:
    # The limit is $101.00 (1% past $100): 9 shares cost $909 at most, 10 would cost $1,010.
    sized = size_buy(buy("10", "100"), D(100), D(1000), LIMIT, D(1), hold=ALPACA)
    assert sized is not None
    assert sized.qty == D(9)
    assert limit_price(buy("10", "100"), LIMIT) == D("101.00")


def test_a_buy_below_the_minimum_trade_after_shrinking_is_dropped() -> None:
    assert size_buy(buy("10", "100"), D(100), D(40), MARKET, D(1), hold=NONE) is None
    assert size_buy(buy("10", "100"), D(100), D(-5), MARKET, D(1), hold=NONE) is None


def test_limit_prices_round_away_from_the_quote() -> None:
    sell = PlannedOrder("VTI", Side.SELL, D(1), D("100.004"), D("100.004"), "over target")
    assert limit_price(buy("1", "100.004"), LIMIT) == D("101.01")
    assert limit_price(sell, LIMIT) == D("99.00")
    assert limit_price(sell, MARKET) is None


def test_an_amount_never_spends_more_than_the_shares_it_replaces() -> None:
    assert notional_amount(buy("3", "33.339")) == D("100.01")
    bound = buy_cost_bound(buy("3", "30"), D(31), limit=None, notional=D("90.00"), hold=NONE)
    assert bound == D("90.00")
    assert buy_cost_bound(buy("3", "30"), D(31), limit=D("30.30"), notional=None, hold=NONE) == D(
        "90.90"
    )
    assert buy_cost_bound(buy("3", "30"), D(31), limit=None, notional=None, hold=NONE) == D(93)


def test_a_market_buy_is_sized_to_the_brokers_hold_above_the_price() -> None:
    # $1,000 at $100 with a 4% hold: 10 shares hold $1,040, 9 hold $936.
    sized = size_buy(buy("10", "100"), D(100), D(1000), MARKET, D(1), hold=ALPACA)
    assert sized is not None
    assert sized.qty == D(9)
    assert sized.reason == (
        "VTI under target; reduced from 10 to 9 sh to fit cash after sells "
        "with the broker's 4% hold on market buys"
    )
    # The planned buy fits as it is once the hold fits.
    order = buy("10", "100")
    assert size_buy(order, D(100), D(1040), MARKET, D(1), hold=ALPACA) is order


def test_the_hold_is_what_a_sent_market_buy_takes_from_buying_power() -> None:
    order = buy("3", "30")
    assert buy_cost_bound(order, D(31), limit=None, notional=None, hold=ALPACA) == D("96.72")
    # A dollar-amount buy is held above its amount; a limit buy at its limit, hold or not.
    amount = buy_cost_bound(order, D(31), limit=None, notional=D("90.00"), hold=ALPACA)
    assert amount == D("93.6")
    assert buy_cost_bound(order, D(31), limit=D("30.30"), notional=None, hold=ALPACA) == D("90.90")


def test_a_limit_buy_ignores_the_market_hold() -> None:
    # The limit ($101.00) is the hold: 9 shares hold $909 with or without a market hold.
    with_hold = size_buy(buy("10", "100"), D(100), D(1000), LIMIT, D(1), hold=ALPACA)
    without = size_buy(buy("10", "100"), D(100), D(1000), LIMIT, D(1), hold=NONE)
    assert with_hold is not None
    assert without is not None
    assert with_hold.qty == without.qty == D(9)
    assert "hold" not in with_hold.reason


def test_back_to_back_buys_each_fit_what_the_ones_before_left() -> None:
    # The case: $10,000 after sells, three buys planned to spend it all at the quote.
    # Sized one after another against what the earlier ones hold, every hold fits.
    spendable = D(10_000)
    held = D(0)
    sent = []
    for qty in ("40", "30", "30"):
        order = buy(qty, "100")
        sized = size_buy(order, D(100), spendable, MARKET, D(1), hold=ALPACA)
        assert sized is not None
        bound = buy_cost_bound(sized, D(100), limit=None, notional=None, hold=ALPACA)
        spendable -= bound
        held += bound
        sent.append(sized.qty)
    assert sent == [D(40), D(30), D(26)]
    assert held == D("9984.00")
    assert spendable >= 0


def test_the_last_buy_of_a_batch_fits_what_cash_pays_in_whole_cents() -> None:
    # The backtest's bug: buys planned to spend $100 exactly. Three buys of 1.1 sh at $10.01
    # cost $11.011 each exactly but take $11.02 from cash. Bounded in exact products, the last
    # buy (6.69 sh, $66.9669) fitted on paper and overdrew cash by 3 cents when charged;
    # bounded the way cash is charged, it shrinks to what the whole cents left cover.
    cash = spendable = D(100)
    charged = []
    for _ in range(3):
        order = buy("1.1", "10.01")
        sized = size_buy(order, D("10.01"), spendable, MARKET_ANY, D("0.01"), hold=NONE)
        assert sized is order
        spendable -= buy_cost_bound(sized, D("10.01"), limit=None, notional=None, hold=NONE)
        charged.append(fills.cost(sized.qty, D("10.01")))
    assert spendable == D("66.94")
    last = size_buy(buy("6.69", "10.01"), D("10.01"), spendable, MARKET_ANY, D("0.01"), hold=NONE)
    assert last is not None
    assert last.qty == D("6.68")
    charged.append(fills.cost(last.qty, D("10.01")))
    assert sum(charged) == D("99.93")
    assert sum(charged) <= cash
