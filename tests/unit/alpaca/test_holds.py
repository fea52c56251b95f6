"""`adapters.alpaca.holds`: what open buys hold, and the cash trimtab may plan and spend."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from adapters.alpaca.holds import free_cash, held_by_open_buys, reserved_cash
from adapters.alpaca.parsing import AccountInfo
from daemon.core.domain import BrokerOrder, OrderStatus, OrderType, Side

D = Decimal
HOLD = D("0.04")


def account(cash: Decimal, buying_power: Decimal, nmbp: Decimal | None) -> AccountInfo:
    return AccountInfo(
        number="PA1",
        status="ACTIVE",
        cash=cash,
        buying_power=buying_power,
        equity=cash,
        currency="USD",
        trading_blocked=False,
        account_blocked=False,
        trade_suspended_by_user=False,
        non_marginable_buying_power=nmbp,
    )


def buy(symbol: str, qty: str, limit: str | None = None, **kw: object) -> BrokerOrder:
    return BrokerOrder(
        client_order_id=f"c-{symbol}-{qty}",
        broker_order_id="b",
        symbol=symbol,
        side=Side.BUY,
        qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        status=OrderStatus.ACCEPTED,
        limit_price=None if limit is None else D(limit),
        **kw,  # type: ignore[arg-type]
    )


def test_each_kind_of_open_buy_holds_what_alpaca_documents() -> None:
    sell = BrokerOrder("s", "b", "VTI", Side.SELL, D(5), OrderType.MARKET, OrderStatus.ACCEPTED)
    orders = [
        buy("SCHD", "100", "25.00"),  # a limit buy: its limit
        buy("VTI", "4", None, filled_qty=D(1)),  # a market buy: the rest, price marked up
        buy("BND", "0", None, notional=D("100.00"), filled_qty=D(1), avg_fill_price=D(40)),
        sell,  # a sell holds no buying power
    ]
    held = held_by_open_buys(orders, {"VTI": D(250)}, HOLD)
    assert held == D(2500) + 3 * D(250) * D("1.04") + D(60) * D("1.04")


def test_a_market_buy_of_a_symbol_without_a_price_is_named() -> None:
    unknown = buy("XYZ", "3")
    assert held_by_open_buys([buy("SCHD", "1", "20"), unknown], {}, HOLD) is unknown


money = st.decimals(min_value=-1000, max_value=10**6, places=2, allow_nan=False)


@given(cash=money, buying_power=money, nmbp=st.none() | money, held=money.map(abs))
@example(cash=D(10_000), buying_power=D(7_500), nmbp=D(7_500), held=D(2_500))  # the audit's
@example(cash=D(10_000), buying_power=D(45_000), nmbp=D(22_500), held=D(2_500))  # Reg T
def test_the_free_cash_is_within_every_limit_and_never_margin(
    cash: Decimal, buying_power: Decimal, nmbp: Decimal | None, held: Decimal
) -> None:
    free = free_cash(account(cash, buying_power, nmbp), held)
    if cash < 0:
        assert free == cash  # a margin debit is passed on, for the decision step to refuse
        return
    assert D(0) <= free <= cash
    if free > 0:
        assert free <= cash - held
        assert free <= buying_power
        assert nmbp is None or free <= nmbp
        assert free in {cash - held, buying_power, nmbp}


@given(cash=money, buying_power=money, nmbp=st.none() | money, held=money.map(abs))
@example(cash=D(10_000), buying_power=D(7_500), nmbp=D(7_500), held=D(2_500))
def test_the_cash_not_free_is_reserved_so_none_is_lost_from_the_value(
    cash: Decimal, buying_power: Decimal, nmbp: Decimal | None, held: Decimal
) -> None:
    """Free and reserved together are Alpaca's cash: the account's value keeps all of it."""
    info = account(cash, buying_power, nmbp)
    free = free_cash(info, held)
    reserved = reserved_cash(info, free)
    assert reserved >= 0
    if cash < 0:
        assert reserved == 0  # a margin debit: nothing is held
        return
    assert free + reserved == cash
    assert reserved >= min(held, cash)  # at least what the open buys hold
