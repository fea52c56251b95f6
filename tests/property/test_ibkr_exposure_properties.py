"""Properties of IB's buying-power check (`adapters.ibkr.orders.exposure_problem`).

A buy is refused exactly when what the open buys hold (each one's remaining shares at its
limit, else at its own symbol's price plus the hold) plus the new buy's cost exceeds the
cash, to the cent; and an open market buy whose symbol has no price always refuses a buy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.ibkr.orders import PreparedOrder, exposure_problem, prices_needed
from daemon.core.domain import BrokerOrder, OrderStatus, OrderType, Side
from tests.hypothesis_profiles import scaled

D = Decimal
CENT = D("0.01")
SYMBOLS = ("CHEAP", "PRICEY", "VTI", "BND")


@dataclass(frozen=True)
class Buy:
    symbol: str
    qty: int
    filled: int
    limit: Decimal | None


@dataclass(frozen=True)
class Case:
    prices: dict[str, Decimal]
    hold: Decimal
    open_buys: tuple[Buy, ...]
    new: Buy
    slack: Decimal
    """The cash less what the buys hold and cost, in cents (negative: short of it)."""


def held(case: Case) -> Decimal:
    """What the open buys hold plus what the new buy costs, each at its own price."""
    total = D(0)
    for buy in (*case.open_buys, case.new):
        unit = buy.limit
        if unit is None:
            unit = case.prices[buy.symbol] * (1 + case.hold)
        total += (buy.qty - buy.filled) * unit
    return total


def cash_of(case: Case) -> Decimal:
    """Cash in whole cents, `slack` cents away from what the buys need (rounded up)."""
    need = held(case).quantize(CENT, rounding=ROUND_CEILING)
    return max(need + case.slack * CENT, D(0))


def broker_order(n: int, buy: Buy) -> BrokerOrder:
    return BrokerOrder(
        client_order_id=f"tt-open-{n}",
        broker_order_id=str(900 + n),
        symbol=buy.symbol,
        side=Side.BUY,
        qty=D(buy.qty),
        order_type=OrderType.MARKET if buy.limit is None else OrderType.LIMIT,
        status=OrderStatus.PARTIALLY_FILLED if buy.filled else OrderStatus.ACCEPTED,
        filled_qty=D(buy.filled),
        limit_price=buy.limit,
    )


def prepared(buy: Buy) -> PreparedOrder:
    return PreparedOrder(
        symbol=buy.symbol,
        action="BUY",
        qty=buy.qty,
        order_type=OrderType.MARKET if buy.limit is None else OrderType.LIMIT,
        limit_price=buy.limit,
        order_ref="tt-new",
        outside_rth=False,
        account_id="DU1",
    )


def check(case: Case, cash: Decimal, prices: dict[str, Decimal]) -> str | None:
    return exposure_problem(
        prepared(case.new),
        account="ira",
        held=D(0),
        open_orders=[broker_order(n, b) for n, b in enumerate(case.open_buys)],
        cash=cash,
        prices=prices,
        hold_fraction=case.hold,
    )


cents = st.integers(min_value=1, max_value=300_000).map(lambda c: D(c) * CENT)


@st.composite
def buys(draw: st.DrawFn, *, new: bool = False) -> Buy:
    qty = draw(st.integers(min_value=1, max_value=500))
    filled = 0 if new else draw(st.integers(min_value=0, max_value=qty - 1))
    limit = draw(st.none() | cents)
    return Buy(draw(st.sampled_from(SYMBOLS)), qty, filled, limit)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    return Case(
        prices={s: draw(cents) for s in SYMBOLS},
        hold=draw(st.sampled_from([D(0), D("0.01"), D("0.025")])),
        open_buys=tuple(draw(st.lists(buys(), max_size=6))),
        new=draw(buys(new=True)),
        slack=D(draw(st.integers(min_value=-300, max_value=300))),
    )


AUDIT = {"CHEAP": D(20), "PRICEY": D(1000), "VTI": D(300), "BND": D(70)}


@settings(max_examples=scaled(400))
@given(cases())
# The audit's cases: a cheap open market buy then a pricey buy that fits (it was refused,
# the open buy valued at the pricey price); a pricey open buy then a cheap buy beyond the
# free cash (it was let through, the open buy valued at the cheap price).
@example(Case(AUDIT, D("0.01"), (Buy("CHEAP", 100, 0, None),), Buy("PRICEY", 2, 0, None), D(0)))
@example(Case(AUDIT, D("0.01"), (Buy("PRICEY", 2, 0, None),), Buy("CHEAP", 100, 0, None), D(-1)))
def test_a_buy_is_refused_exactly_when_the_open_buys_and_it_exceed_the_cash(case: Case) -> None:
    cash = cash_of(case)
    said = check(case, cash, case.prices)
    assert (said is not None) == (held(case) > cash), (said, held(case), cash)
    if said is not None:
        assert "cash not held by open buys; IB would lend on margin" in said


@settings(max_examples=scaled(200))
@given(cases(), st.data())
def test_an_open_market_buy_without_a_price_always_refuses_a_buy(
    case: Case, data: st.DataObject
) -> None:
    market = [b for b in case.open_buys if b.limit is None]
    if not market:
        return
    unpriced = data.draw(st.sampled_from(market)).symbol
    prices = {s: p for s, p in case.prices.items() if s != unpriced}
    new = case.new
    if new.symbol == unpriced and new.limit is None:
        # The new market buy itself has no price: IB's own check is all there is.
        assert check(case, cash_of(case), prices) is None
        return
    assert unpriced in prices_needed(prepared(new), [broker_order(0, b) for b in market])
    said = check(case, D(10) ** 12, prices)
    assert said is not None
    assert f" {unpriced} (tt-open-" in said
    assert "holds cash at a price trimtab could not read" in said
