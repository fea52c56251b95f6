"""IB's buying-power check (`adapters.ibkr.orders.exposure_problem`): every open buy holds
cash at its own price (its limit, else its own symbol's price plus the hold), never at the
price of the symbol being bought now; an open market buy with no price refuses the buy."""

from __future__ import annotations

from decimal import Decimal

from adapters.ibkr.orders import PreparedOrder, exposure_problem, prices_needed
from daemon.core.domain import BrokerOrder, OrderStatus, OrderType, Side

HOLD = Decimal("0.01")
PRICES = {"CHEAP": Decimal(20), "PRICEY": Decimal(1000)}


def open_buy(
    symbol: str,
    qty: str,
    *,
    limit: str | None = None,
    filled: str = "0",
    ref: str = "tt-open",
    status: OrderStatus = OrderStatus.ACCEPTED,
) -> BrokerOrder:
    return BrokerOrder(
        client_order_id=ref,
        broker_order_id="901",
        symbol=symbol,
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        status=status,
        filled_qty=Decimal(filled),
        limit_price=None if limit is None else Decimal(limit),
    )


def new_buy(symbol: str, qty: int, *, limit: str | None = None) -> PreparedOrder:
    return PreparedOrder(
        symbol=symbol,
        action="BUY",
        qty=qty,
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else Decimal(limit),
        order_ref="tt-new",
        outside_rth=False,
        account_id="DU1",
    )


def check(
    order: PreparedOrder,
    open_orders: list[BrokerOrder],
    cash: str,
    prices: dict[str, Decimal] | None = None,
) -> str | None:
    return exposure_problem(
        order,
        account="ira",
        held=Decimal(0),
        open_orders=open_orders,
        cash=Decimal(cash),
        prices=PRICES if prices is None else prices,
        hold_fraction=HOLD,
    )


def test_an_open_market_buy_of_a_cheap_symbol_holds_at_its_own_price() -> None:
    # 100 CHEAP hold 2020; 2 PRICEY cost 2020: 4040 of 5000. Valued at PRICEY's price, the
    # open buy would have held 101000 and refused this buy.
    assert check(new_buy("PRICEY", 2), [open_buy("CHEAP", "100")], "5000") is None


def test_an_open_market_buy_of_a_pricey_symbol_holds_at_its_own_price() -> None:
    # 2 PRICEY hold 2020 of 2500: 480 free, 100 CHEAP cost 2020. Valued at CHEAP's price,
    # the open buy would have held 40.40 and let a buy beyond the cash through.
    said = check(new_buy("CHEAP", 100), [open_buy("PRICEY", "2")], "2500")
    assert said == (
        "account ira: buying 100 CHEAP costs about 2020.00, more than the 480.00 cash not "
        "held by open buys; IB would lend on margin (fix: wait for the open buys to finish, "
        "or add cash)"
    )


def test_a_buy_that_fits_the_cash_to_the_cent_is_accepted() -> None:
    # 2 PRICEY hold 2020.00; 100 CHEAP cost 2020.00: exactly the 4040.00 there is.
    assert check(new_buy("CHEAP", 100), [open_buy("PRICEY", "2")], "4040.00") is None
    assert check(new_buy("CHEAP", 100), [open_buy("PRICEY", "2")], "4039.99") is not None


def test_an_open_limit_buy_holds_at_its_limit_and_needs_no_price() -> None:
    pricey = open_buy("PRICEY", "2", limit="1005")  # holds 2010
    assert check(new_buy("CHEAP", 100), [pricey], "4030", prices={"CHEAP": Decimal(20)}) is None
    assert check(new_buy("CHEAP", 100), [pricey], "4029.99", prices={"CHEAP": Decimal(20)})


def test_only_the_shares_left_to_buy_hold_cash() -> None:
    partly = open_buy("PRICEY", "3", filled="1")  # 2 left: 2020
    assert check(new_buy("CHEAP", 100), [partly], "4040") is None
    assert check(new_buy("CHEAP", 100), [partly], "4039.99") is not None


def test_a_finished_buy_holds_nothing() -> None:
    done = open_buy("PRICEY", "2", status=OrderStatus.CANCELLED)
    assert check(new_buy("CHEAP", 100), [done], "2020", prices={"CHEAP": Decimal(20)}) is None


def test_an_open_market_buy_with_no_price_refuses_the_buy_naming_it_and_the_fix() -> None:
    said = check(new_buy("CHEAP", 1), [open_buy("PRICEY", "2")], "1000000", {"CHEAP": Decimal(20)})
    assert said == (
        "account ira: an open market buy of 2 PRICEY (tt-open) holds cash at a price trimtab "
        "could not read (no quote and no portfolio mark for PRICEY), so buying 1 CHEAP could "
        "make IB lend on margin (fix: subscribe to market data for PRICEY, or set "
        "broker_settings.market_data_type = 3 (delayed); or let that buy finish, or cancel "
        "it, then run again)"
    )


def test_an_open_buy_placed_outside_trimtab_is_named_by_ibs_id() -> None:
    outside = open_buy("PRICEY", "2", ref="")
    said = check(new_buy("CHEAP", 1, limit="20"), [outside], "1000000", {})
    assert said is not None
    assert "(IB order 901, placed outside trimtab)" in said


def test_a_limit_buy_without_any_price_counts_open_market_buys_of_its_symbol_at_none() -> None:
    # The open market buy of the same symbol has no price either: refused, not counted as 0.
    said = check(new_buy("CHEAP", 1, limit="20"), [open_buy("CHEAP", "5")], "1000000", {})
    assert said is not None
    assert "an open market buy of 5 CHEAP (tt-open)" in said


def test_a_market_buy_with_no_price_of_its_own_is_left_to_ib() -> None:
    assert check(new_buy("CHEAP", 1), [], "0", prices={}) is None


def test_a_sell_needs_no_price_and_ignores_open_buys() -> None:
    sell = PreparedOrder("CHEAP", "SELL", 1, OrderType.MARKET, None, "tt-s", False, "DU1")
    said = exposure_problem(
        sell,
        account="ira",
        held=Decimal(1),
        open_orders=[open_buy("PRICEY", "2")],
        cash=Decimal(0),
        prices={},
        hold_fraction=HOLD,
    )
    assert said is None
    assert prices_needed(sell, [open_buy("PRICEY", "2")]) == frozenset()


def test_the_prices_needed_are_the_market_buys_symbols_with_shares_left() -> None:
    opened = [
        open_buy("PRICEY", "2"),
        open_buy("LIMITED", "2", limit="10"),
        open_buy("FILLED", "2", filled="2"),
        open_buy("GONE", "2", status=OrderStatus.CANCELLED),
    ]
    assert prices_needed(new_buy("CHEAP", 1), opened) == {"CHEAP", "PRICEY"}
    assert prices_needed(new_buy("CHEAP", 1, limit="20"), opened) == {"PRICEY"}
