"""A price IB gives only as the close tick: the real ib_async client against the fake TWS,
through the adapter and through the engine.

With no bid, ask or last (IB's -1 and nothing: halted, or no trades yet), the snapshot priced
a symbol at its close tick, stamped it now as a live snapshot and set its previous close to the
same number, so `risk.max_quote_age_hours` could never refuse it and the price-move check
compared it with itself. IB's close tick is the previous session's close: the quote is dated
to that session's end, with its own source, and no previous close.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from adapters.base import BrokerEnvironment
from adapters.ibkr.broker import IbkrBroker
from daemon.bootstrap import open_app
from tests.contract.ibkr_harness import ib_settings
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import FakeTws, Quote, TwsState, two_accounts
from tests.fakes.tws.states import VXUS

MONDAY_MORNING = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York
FRIDAY_CLOSE = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # 16:00 in New York


def close_only() -> TwsState:
    state = two_accounts()
    # No bid/ask (-1 is IB's "no data"), no last: only the close tick.
    state.quotes[VXUS.con_id] = Quote(
        bid=Decimal(-1), ask=Decimal(-1), last=None, close=Decimal("61.20")
    )
    return state


def test_a_close_only_price_is_dated_to_its_session_and_says_so() -> None:
    with FakeTws(close_only()) as tws:
        env = BrokerEnvironment(account="main", state_dir=Path("."), clock=lambda: MONDAY_MORNING)
        broker = IbkrBroker(ib_settings(tws.port), env)
        try:
            quotes = broker.snapshot(["VXUS"]).quotes
        finally:
            broker.close()
    vxus = quotes["VXUS"]
    assert vxus.price == Decimal("61.20")
    assert vxus.source == "ibkr:close"
    assert vxus.as_of == FRIDAY_CLOSE
    assert vxus.previous_close is None  # never the price itself
    # A live price keeps its close as the previous close (for the price-move check).
    vti = quotes["VTI"]
    assert (vti.source, vti.as_of, vti.previous_close) == (
        "ibkr:snapshot",
        MONDAY_MORNING,
        Decimal("250.00"),
    )


def test_the_quote_age_limit_refuses_a_stale_close(tmp_path: Path, database_url: str) -> None:
    """The audited case: max_quote_age_hours = 1. A close is at least 8 hours old (16:00 to
    midnight), so planning stops on it; nothing is planned or sent."""
    with FakeTws(close_only()) as tws:
        config = tmp_path / "trimtab.toml"
        config.write_text(
            ib_config(
                database_url, tws.port, 'VTI = "0.3", BND = "0.2", VXUS = "0.5"', quote_age_hours=1
            )
        )
        app = open_app(config)
        try:
            report = app.engine().plan("main")
        finally:
            app.close()
        assert tws.count("placeOrder") == 0
    assert report.error is not None
    assert "quote for VXUS is" in report.error
    assert "hours old" in report.error
    assert report.plan is None or not report.plan.orders
