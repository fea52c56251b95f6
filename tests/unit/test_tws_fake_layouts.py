"""The fake TWS's message layouts, read back by ib_async's own decoder field by field.

The socket tests check what reaches `ib_async.IB`; these check every field the fake fills in
lands where the client reads it, at each server version whose layouts differ.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from ib_async.decoder import Decoder

from tests.fakes.tws import outgoing as out
from tests.fakes.tws.model import DailyBar, Execution, ServerOrder
from tests.fakes.tws.states import VTI
from tests.fakes.tws.wire import frame, split_frames

VERSIONS = [166, 170, 176, 177, 178]
AT = datetime(2026, 12, 7, 15, 30, 5, tzinfo=UTC)


class Capture:
    """Stands in for ib_async's Wrapper: records the calls its decoder makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = self  # execDetails reads wrapper.ib.TimezoneTWS
        self.TimezoneTWS = None
        self.defaultTimezone = UTC

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, args))


def decode(version: int, fields: out.Fields) -> tuple[str, tuple[Any, ...]]:
    """Encode as the fake sends, split as the client does, decode with ib_async's decoder."""
    buffer = bytearray(frame(fields))
    (message,) = split_frames(buffer)
    capture = Capture()
    # A recording stand-in, not ib_async's Wrapper.
    decoder = Decoder(capture, version)  # type: ignore[arg-type]
    decoder.handlers[int(message[0])](message)  # raises on a layout it cannot read
    (call,) = capture.calls
    return call


def an_order(**changes: Any) -> ServerOrder:
    order = ServerOrder(
        order_id=42,
        client_id=7,
        perm_id=1900000042,
        account="DU1234567",
        con_id=VTI.con_id,
        action="SELL",
        quantity=Decimal(12),
        order_type="LMT",
        limit_price=Decimal("251.25"),
        tif="GTC",
        order_ref="cycle-9:VTI",
        outside_rth=True,
        status="Submitted",
        filled=Decimal(5),
        average_price=Decimal("251.30"),
        last_fill_price=Decimal("251.30"),
    )
    for name, value in changes.items():
        setattr(order, name, value)
    return order


@pytest.mark.parametrize("version", VERSIONS)
def test_open_order_fields_land_where_ib_async_reads_them(version: int) -> None:
    name, (order_id, contract, order, state) = decode(
        version, out.open_order(version, an_order(), VTI)
    )
    assert (name, order_id) == ("openOrder", 42)
    assert (contract.conId, contract.symbol, contract.exchange) == (VTI.con_id, "VTI", "SMART")
    assert (order.action, order.totalQuantity, order.orderType) == ("SELL", 12.0, "LMT")
    assert (order.lmtPrice, order.tif, order.account) == (251.25, "GTC", "DU1234567")
    assert (order.orderRef, order.clientId, order.permId) == ("cycle-9:VTI", 7, 1900000042)
    assert order.outsideRth is True
    assert order.whatIf is False
    assert state.status == "Submitted"
    assert order.usePriceMgmtAlgo is True  # the last field before the version-dependent tail


@pytest.mark.parametrize("version", VERSIONS)
def test_what_if_preview_fields(version: int) -> None:
    preview = out.WhatIf(
        init_before=Decimal(0),
        init_change=Decimal("500.02"),
        equity_before=Decimal("18625"),
        equity_change=Decimal("-1"),
        commission=Decimal(1),
    )
    _, (_, _, order, state) = decode(version, out.open_order(version, an_order(), VTI, preview))
    assert order.whatIf is True
    assert (state.initMarginChange, state.initMarginAfter) == ("500.02", "500.02")
    assert (state.equityWithLoanBefore, state.equityWithLoanAfter) == ("18625", "18624")
    assert (state.commission, state.commissionCurrency) == (1.0, "USD")


@pytest.mark.parametrize("version", VERSIONS)
def test_completed_order_fields(version: int) -> None:
    done = an_order(status="Filled", filled=Decimal(12), completed_at=AT, completed_status="Filled")
    name, (contract, order, state) = decode(version, out.completed_order(version, done, VTI))
    assert name == "completedOrder"
    assert contract.conId == VTI.con_id
    assert (order.orderId, order.permId, order.orderRef) == (0, 1900000042, "cycle-9:VTI")
    assert (order.filledQuantity, order.outsideRth) == (12.0, True)
    assert (state.status, state.completedStatus) == ("Filled", "Filled")
    assert state.completedTime == "20261207 10:30:05 America/New_York"


@pytest.mark.parametrize("version", VERSIONS)
def test_execution_fields(version: int) -> None:
    execution = Execution(
        exec_id="0000e0d5.00000001.01.01",
        order_id=42,
        client_id=7,
        perm_id=1900000042,
        account="DU1234567",
        con_id=VTI.con_id,
        side="SLD",
        shares=Decimal(5),
        price=Decimal("251.30"),
        cum_qty=Decimal(5),
        average_price=Decimal("251.30"),
        order_ref="cycle-9:VTI",
        time=AT,
        commission=Decimal(1),
        currency="USD",
        realized_pnl=Decimal("55.5"),
    )
    name, (req_id, contract, ex) = decode(version, out.exec_details(version, -1, execution, VTI))
    assert (name, req_id, contract.symbol) == ("execDetails", -1, "VTI")
    assert (ex.execId, ex.orderId, ex.permId, ex.clientId) == (
        "0000e0d5.00000001.01.01",
        42,
        1900000042,
        7,
    )
    assert (ex.side, ex.shares, ex.price, ex.cumQty) == ("SLD", 5.0, 251.3, 5.0)
    assert (ex.acctNumber, ex.orderRef, ex.exchange) == ("DU1234567", "cycle-9:VTI", "ARCA")
    assert ex.time == AT
    name, (report,) = decode(version, out.commission_report(execution))
    assert (report.execId, report.commission, report.realizedPNL) == (
        "0000e0d5.00000001.01.01",
        1.0,
        55.5,
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_contract_details_fields(version: int) -> None:
    name, (req_id, details) = decode(version, out.contract_details(9, VTI, "SMART"))
    assert (name, req_id) == ("contractDetails", 9)
    c = details.contract
    assert (c.conId, c.symbol, c.secType, c.exchange) == (VTI.con_id, "VTI", "STK", "SMART")
    assert (c.primaryExchange, c.currency, c.tradingClass) == ("ARCA", "USD", "VTI")
    assert (details.longName, details.stockType, details.minTick) == (
        "VANGUARD TOTAL STOCK MKT ETF",
        "ETF",
        0.01,
    )
    assert (details.minSize, details.sizeIncrement) == (0.0001, 0.0001)


def test_account_messages() -> None:
    name, args = decode(
        176, out.portfolio_value("DU1", VTI, Decimal(3), Decimal(250), Decimal(240), Decimal(0))
    )
    assert name == "updatePortfolio"
    contract, position, price, value, cost, unrealized, realized, account = args
    assert (contract.primaryExchange, position, price, value) == ("ARCA", 3.0, 250.0, 750.0)
    assert (cost, unrealized, realized, account) == (240.0, 30.0, 0.0, "DU1")
    name, args = decode(176, out.position("DU1", VTI, Decimal(3), Decimal(240)))
    assert (name, args[0], args[1].conId, args[2], args[3]) == (
        "position",
        "DU1",
        VTI.con_id,
        3.0,
        240.0,
    )
    assert decode(176, out.account_value("NetLiquidation", "1.00", "USD", "DU1")) == (
        "updateAccountValue",
        ("NetLiquidation", "1.00", "USD", "DU1"),
    )
    assert decode(176, out.account_update_multi(5, "DU1", "CashBalance", "2", "BASE")) == (
        "accountUpdateMulti",
        (5, "DU1", "", "CashBalance", "2", "BASE"),
    )
    assert decode(176, out.order_status(an_order())) == (
        "orderStatus",
        (42, "Submitted", 5.0, 7.0, 251.3, 1900000042, 0, 251.3, 7, "", 0.0),
    )
    assert decode(176, out.error(176, 42, 201, "Order rejected")) == (
        "error",
        (42, 201, "Order rejected", ""),
    )
    assert decode(176, out.tick_price(3, 68, Decimal("250.5"), 100)) == (
        "priceSizeTick",
        (3, 68, 250.5, 100.0),
    )


def test_historical_data_fields() -> None:
    """Daily bars and their end in one message (server versions below 196)."""
    bars = [
        DailyBar(date(2026, 12, 3), Decimal(100), Decimal(102), Decimal(99), Decimal(101), 500),
        DailyBar(date(2026, 12, 2), Decimal(98), Decimal(100), Decimal(97), Decimal(99), 700,
                 adjustment=Decimal("0.5")),
    ]  # fmt: skip
    fields = out.historical_data(9, AT, AT, bars, adjusted=True)
    for version in VERSIONS:
        buffer = bytearray(frame(fields))
        (message,) = split_frames(buffer)
        capture = Capture()
        decoder = Decoder(capture, version)  # type: ignore[arg-type]
        decoder.handlers[17](message)
        names = [name for name, _ in capture.calls]
        assert names == ["historicalData", "historicalData", "historicalDataEnd"]
        first, second = (args[1] for _, args in capture.calls[:2])
        assert (first.date, first.open, first.high, first.low, first.close) == (
            "20261202", 49.0, 50.0, 48.5, 49.5,
        )  # fmt: skip
        assert (first.volume, first.barCount) == (700.0, 7)
        assert (second.date, second.close, second.average) == ("20261203", 101.0, 100.6667)
        assert capture.calls[2][1][0] == 9
