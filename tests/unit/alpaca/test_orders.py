"""Orders are checked before anything is sent: refusals name the account and the fix."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.alpaca.orders import PreparedOrder, prepare_order
from adapters.alpaca.parsing import AccountInfo, AssetInfo
from daemon.core.domain import OrderIntent, OrderType, Side

ACTIVE = AccountInfo(
    number="PA1",
    status="ACTIVE",
    cash=Decimal(1000),
    buying_power=Decimal(1000),
    equity=Decimal(1000),
    currency="USD",
    trading_blocked=False,
    account_blocked=False,
    trade_suspended_by_user=False,
)
FRACTIONAL = AssetInfo("VTI", "active", tradable=True, fractionable=True, min_trade_increment=None)
D1 = Decimal("1.00")
WHOLE = AssetInfo("BND", "active", tradable=True, fractionable=False, min_trade_increment=None)


def intent(symbol: str = "VTI", qty: str = "2", **changes: object) -> OrderIntent:
    base = OrderIntent(
        client_order_id="tt-1",
        cycle_id="c",
        account="main",
        seq=1,
        symbol=symbol,
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.MARKET,
        reason="test",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def prepare(
    order: OrderIntent,
    *,
    info: AccountInfo = ACTIVE,
    asset: AssetInfo | None = FRACTIONAL,
    fractional: bool = True,
) -> PreparedOrder | str:
    return prepare_order(
        order, account="main", info=info, asset=asset, fractional_allowed=fractional
    )


def test_a_whole_share_market_order_goes_out_unchanged() -> None:
    prepared = prepare(intent())
    assert isinstance(prepared, PreparedOrder)
    assert (prepared.qty, prepared.client_order_id, prepared.floored_from) == (
        Decimal(2),
        "tt-1",
        None,
    )


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("account_blocked", "blocked the account"),
        ("trading_blocked", "blocked trading"),
        ("trade_suspended_by_user", "suspended by the account holder"),
    ],
)
def test_a_blocked_account_sends_nothing_and_names_the_account(flag: str, words: str) -> None:
    blocked: dict[str, Any] = {flag: True}
    refusal = prepare(intent(), info=replace(ACTIVE, **blocked))
    assert isinstance(refusal, str)
    assert refusal.startswith("account main:")
    assert words in refusal
    assert "fix:" in refusal


def test_an_inactive_account_is_refused() -> None:
    refusal = prepare(intent(), info=replace(ACTIVE, status="ONBOARDING"))
    assert isinstance(refusal, str)
    assert "ONBOARDING" in refusal


def test_unknown_and_untradable_symbols_are_refused_with_the_fix() -> None:
    unknown = prepare(intent("VTIX"), asset=None)
    assert isinstance(unknown, str)
    assert "no symbol VTIX" in unknown
    assert "fix:" in unknown
    halted = prepare(intent(), asset=replace(FRACTIONAL, tradable=False))
    assert isinstance(halted, str)
    assert "does not trade VTI" in halted


def test_a_fraction_of_a_whole_share_symbol_is_refused_with_the_fix() -> None:
    refusal = prepare(intent("BND", "1.5"), asset=WHOLE)
    assert isinstance(refusal, str)
    assert "only whole shares of BND" in refusal
    assert "fractional_symbols" in refusal


def test_fractions_are_refused_everywhere_when_the_settings_say_whole_shares() -> None:
    refusal = prepare(intent(qty="1.5"), fractional=False)
    assert isinstance(refusal, str)
    assert "fractional = false" in refusal


def test_a_fraction_is_floored_to_the_assets_increment() -> None:
    asset = replace(FRACTIONAL, min_trade_increment=Decimal("0.01"))
    prepared = prepare(intent(qty="1.2399"), asset=asset)
    assert isinstance(prepared, PreparedOrder)
    assert (prepared.qty, prepared.floored_from) == (Decimal("1.23"), Decimal("1.2399"))


def test_a_fraction_below_the_increment_is_refused() -> None:
    asset = replace(FRACTIONAL, min_trade_increment=Decimal("0.01"))
    assert isinstance(prepare(intent(qty="0.004"), asset=asset), str)


@given(st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(10**6), places=12))
def test_flooring_never_trades_more_than_planned_nor_past_nine_decimals(qty: Decimal) -> None:
    prepared = prepare(intent(qty=str(qty)))
    if isinstance(prepared, str):
        assert qty < Decimal("0.000000001") or "smallest step" in prepared
        return
    assert prepared.qty is not None
    assert prepared.qty <= qty
    assert qty - prepared.qty < Decimal("0.000000001")
    assert prepared.qty == prepared.qty.quantize(Decimal("0.000000001"))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"order_type": OrderType.LIMIT}, "needs a positive limit price"),
        ({"order_type": OrderType.LIMIT, "limit_price": Decimal("250.001")}, "tick"),
        ({"limit_price": Decimal(250)}, "market order must not carry"),
        ({"account": "ira"}, "reached Alpaca account main"),
        ({"client_order_id": "x" * 129}, "1 to 128"),
        ({"qty": Decimal(0)}, "positive"),
    ],
)
def test_malformed_orders_are_refused(changes: dict[str, Any], words: str) -> None:
    refusal = prepare(intent(**changes))
    assert isinstance(refusal, str)
    assert words in refusal


def test_a_sub_dollar_limit_may_have_four_decimals() -> None:
    order = intent(order_type=OrderType.LIMIT, limit_price=Decimal("0.1234"))
    assert isinstance(prepare(order), PreparedOrder)


def test_a_notional_buy_goes_out_as_a_dollar_amount_without_a_quantity() -> None:
    prepared = prepare(intent(qty="0.4", notional=Decimal("100.00")))
    assert isinstance(prepared, PreparedOrder)
    assert (prepared.qty, prepared.notional, prepared.order_type) == (
        None,
        Decimal("100.00"),
        OrderType.MARKET,
    )


@pytest.mark.parametrize(
    ("changes", "asset", "fractional", "words"),
    [
        ({"notional": Decimal("100")}, WHOLE, True, "Alpaca does not trade BND in fractions"),
        ({"notional": Decimal("100")}, FRACTIONAL, False, "fractional = false allows whole"),
        (
            {"notional": Decimal("100"), "order_type": OrderType.LIMIT, "limit_price": D1},
            FRACTIONAL,
            True,
            "only as market orders",
        ),
        ({"notional": Decimal("0.99")}, FRACTIONAL, True, "at least $1"),
        ({"notional": Decimal("10.001")}, FRACTIONAL, True, "whole cents"),
        ({"notional": Decimal("NaN")}, FRACTIONAL, True, "finite Decimal"),
    ],
)
def test_notional_orders_alpaca_would_refuse_are_not_sent(
    changes: dict[str, Any], asset: AssetInfo, fractional: bool, words: str
) -> None:
    symbol = asset.symbol
    refused = prepare(intent(symbol, **changes), asset=asset, fractional=fractional)
    assert isinstance(refused, str)
    assert words in refused
