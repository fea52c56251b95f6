"""Buys sized to the cash the sells left, limit prices and dollar amounts: pure rules."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core import fills
from daemon.core.domain import OrderType, Side
from daemon.core.planner import PlannedOrder
from daemon.core.sizing import OrderTerms, buy_cost_bound, limit_price, notional_amount, size_buy
from tests.hypothesis_profiles import scaled

D = Decimal
MARKET = OrderTerms(min_trade_notional=D(50))
LIMIT = OrderTerms(order_type=OrderType.LIMIT, limit_collar=D("0.01"), min_trade_notional=D(50))
NONE = D(0)
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
    # The backtest's bug: four buys planned to spend $1,000,000 exactly at closes in cents,
    # fractional quantities. Bounded in exact products, the first three left a few cents more
    # on paper than in cash, and the fourth no longer fitted at all; bounded the way cash is
    # charged (each cost rounded up to the cent), it shrinks by a hair and is made.
    cash = spendable = D(1_000_000)
    charged = []
    for qty, price in (("4000.001", "99.99"), ("3000.003", "99.99"), ("2000.002", "99.99")):
        order = buy(qty, price)
        sized = size_buy(order, D(price), spendable, MARKET, D("0.001"), hold=NONE)
        assert sized is order
        spendable -= buy_cost_bound(sized, D(price), limit=None, notional=None, hold=NONE)
        charged.append(fills.cost(sized.qty, D(price)))
    last = size_buy(buy("1000.994", "99.99"), D("99.99"), spendable, MARKET, D("0.001"), hold=NONE)
    assert last is not None
    charged.append(fills.cost(last.qty, D("99.99")))
    assert sum(charged) <= cash
    assert last.qty >= D("1000.993")


_PRICES = st.decimals(min_value=D("0.5"), max_value=D(2000), places=4)
_BUYS = st.lists(
    st.tuples(st.decimals(min_value=D("0.001"), max_value=D(5000), places=3), _PRICES),
    min_size=1,
    max_size=6,
)


@settings(max_examples=scaled(300), deadline=None)
@given(
    cash=st.decimals(min_value=0, max_value=10**6, places=2),
    buffer=st.decimals(min_value=0, max_value=500, places=2),
    buys=_BUYS,
    increment=st.sampled_from([D(1), D("0.001"), D("0.000000001")]),
    hold=st.sampled_from([NONE, ALPACA]),
    terms=st.sampled_from([OrderTerms(), LIMIT]),
    per_order=st.sampled_from([D(0), D(1)]),
    per_share=st.sampled_from([D(0), D("0.005")]),
)
@example(
    cash=D(1_000_000),
    buffer=D(0),
    buys=[(D("4000.001"), D("99.99")), (D("3000.003"), D("99.99")), (D("3000.001"), D("99.99"))],
    increment=D("0.001"),
    hold=NONE,
    terms=OrderTerms(),
    per_order=D(0),
    per_share=D(0),
)
def test_sized_buys_never_charge_more_than_cash_less_the_buffer(
    cash: Decimal,
    buffer: Decimal,
    buys: list[tuple[Decimal, Decimal]],
    increment: Decimal,
    hold: Decimal,
    terms: OrderTerms,
    per_order: Decimal,
    per_share: Decimal,
) -> None:
    # The rule the backtest and the executor share: each buy is sized to what is left with
    # the commission bound at its planned quantity, and each sized buy's bound comes off.
    # Whatever the broker then charges (the cost rounded up to the cent at a fill price no
    # worse than the hold, plus the commission) sums to no more than cash less the buffer.
    spendable = cash - buffer
    charged = D(0)
    for qty, price in buys:
        order = buy(str(qty), str(price))
        fee_bound = fills.commission(per_order, per_share, order.qty, first_fill=True)
        sized = size_buy(order, price, spendable, terms, increment, hold=hold, fee=fee_bound)
        if sized is None:
            continue
        assert sized.qty <= order.qty
        assert sized.qty % increment == 0 or sized is order
        limit = limit_price(sized, terms)
        worst = limit if limit is not None else price * (1 + hold)
        fee = fills.commission(per_order, per_share, sized.qty, first_fill=True)
        charged += fills.cost(sized.qty, worst) + fee
        spendable -= buy_cost_bound(
            sized, price, limit=limit, notional=None, hold=hold, fee=fee_bound
        )
        assert charged <= cash - buffer
