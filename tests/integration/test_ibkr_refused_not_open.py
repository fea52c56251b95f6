"""An order IB refused is no open order, through the real ib_async client against the fake
TWS: ib_async reads IB's 321 (e.g. "The API interface is currently in Read-Only mode") as a
warning and keeps the trade `ValidationError`, which it does not count as done, so the trade
stays among `ib.openTrades()` until the link reconnects. Listed as open, it would hold cash
and make every symbol busy: later cycles on the same link would send nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.ibkr.broker import IbkrBroker
from daemon.bootstrap import open_app
from daemon.core.domain import OrderStatus, Side, TradingState
from daemon.core.errors import OrderRejected
from daemon.store.trading_state import set_trading_state
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import FakeTws, two_accounts
from tests.integration.test_ibkr_adapter import intent, make_broker


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(two_accounts()) as fake:
        yield fake


@pytest.fixture
def broker(tws: FakeTws) -> Iterator[IbkrBroker]:
    made = make_broker(tws.port, request_timeout_seconds=5)
    made.snapshot(["VTI"])
    yield made
    made.close()


def test_an_order_refused_as_read_only_is_no_open_order(tws: FakeTws, broker: IbkrBroker) -> None:
    tws.read_only = True
    buy = intent("VTI", Side.BUY, "30")
    with pytest.raises(OrderRejected):
        broker.submit(buy)
    tws.read_only = False  # the operator turns the setting off; the link stays up
    snapshot = broker.snapshot(["VTI", "BND"])
    assert snapshot.open_orders == ()
    # The refused buy holds no cash either: the same buy again (7,500 of the 10,000) passes
    # the exposure check and fills.
    assert broker.submit(intent("VTI", Side.BUY, "30")).status is OrderStatus.FILLED


def test_cycles_go_on_once_read_only_is_turned_off(tmp_path: Path) -> None:
    """A cycle whose orders IB refused as read-only leaves nothing open: once the operator
    turns the setting off and resumes, the next cycle places its orders on the same link."""
    (tmp_path / "state").mkdir()
    database_url = f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}"
    with FakeTws(two_accounts()) as tws:
        config = tmp_path / "trimtab.toml"
        # DU1234567 holds 20 VTI, 50 BND and 10,000 cash: VXUS needs buying.
        config.write_text(
            ib_config(database_url, tws.port, 'VTI = "0.3", BND = "0.2", VXUS = "0.5"')
        )
        app = open_app(config)
        try:
            app.broker("main").snapshot(())  # connected while Read-Only is off
            tws.read_only = True
            first = app.engine().run_once("main", force=True)
            assert first.outcomes
            assert {o.status for o in first.outcomes} == {OrderStatus.REJECTED}
            tws.read_only = False
            with app.database.transaction() as session:  # `trimtab resume`
                set_trading_state(
                    session,
                    "main",
                    TradingState.ACTIVE,
                    reason="operator resume",
                    actor="cli:test",
                    at=datetime.now(UTC),
                )
            placed = tws.count("placeOrder")
            second = app.engine().run_once("main", force=True)
            assert second.snapshot is not None
            assert second.snapshot.open_orders == ()
            assert tws.count("placeOrder") > placed
            assert any(o.intent.symbol == "VXUS" for o in second.outcomes)
        finally:
            app.close()
