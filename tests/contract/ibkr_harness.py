"""The broker contract's harness for the IB adapter: ib_async against the fake TWS.

Levers a paper account at IB does not have (moving prices, funding, giving a position) act on
the fake's state and push the account updates IB would send. Quotes have no spread, so a
market order fills at the quote; commissions are IB's fixed US rate ($0.005 a share, $1.00
minimum) without the 1%-of-value cap, so they follow from the quantity alone.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from adapters.base import Broker, BrokerEnvironment
from adapters.ibkr.broker import IbkrBroker
from adapters.ibkr.config import IbkrSettings
from daemon.core.domain import Side
from tests.fakes.tws import (
    CancelRace,
    Commissions,
    DropAfterAccept,
    DropBeforeAccept,
    FakeTws,
    Instrument,
    TwsState,
)

ACCOUNT_ID = "DU1234567"
PER_SHARE = Decimal("0.005")
MINIMUM = Decimal("1.00")


class WholeSeconds:
    """A clock in whole seconds that moves one second at every read, shared by the harness
    (the broker's and the test's time) and the fake (its execution stamps).

    IB stamps executions to the second; a clock that never repeats a second keeps "at or
    after `since`" exact without sleeping.
    """

    def __init__(self) -> None:
        self._now = datetime.now(UTC).replace(microsecond=0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=1)
            return self._now

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._now += by


def ib_settings(port: int, **extra: object) -> IbkrSettings:
    """Settings for the fake: short timeouts, no maintenance window (tests run any time)."""
    return IbkrSettings.model_validate(
        {
            "environment": "paper",
            "account_id": ACCOUNT_ID,
            "port": port,
            "connect_timeout_seconds": "3",
            "request_timeout_seconds": "3",
            "maintenance_windows": [],
            **extra,
        }
    )


class IbkrHarness:
    """A fresh fake IB account (cash only) behind a real `IbkrBroker`."""

    fractional = False
    unknown_symbol = "NOSUCHSYMBOL"
    holds_open_buys = False

    def __init__(self, account: str) -> None:
        self.account = account
        self.clock = WholeSeconds()
        state = TwsState(
            Commissions(per_share=PER_SHARE, minimum=MINIMUM, maximum_fraction=Decimal(1)),
            clock=self.clock,
        )
        state.add_account(ACCOUNT_ID, "0")
        self.fake = FakeTws(state).start()
        self._con_ids = 30_000_000
        self.broker: Broker = self._build()

    def _build(self) -> IbkrBroker:
        env = BrokerEnvironment(account=self.account, state_dir=Path("."), clock=self.clock)
        return IbkrBroker(ib_settings(self.fake.port), env)

    @property
    def ib(self) -> IbkrBroker:
        assert isinstance(self.broker, IbkrBroker)
        return self.broker

    def _pushed(self, con_id: int | None = None) -> None:
        self.fake.call(lambda: self.fake.account_changed(ACCOUNT_ID, con_id))

    def _con_id(self, symbol: str) -> int:
        state = self.fake.state
        with state.lock:
            known = [i for i in state.instruments if i.symbol == symbol]
            if known:
                return known[0].con_id
            self._con_ids += 1
            state.add_instrument(Instrument(self._con_ids, symbol, "ARCA"))
            return self._con_ids

    def fund(self, cash: Decimal) -> None:
        state = self.fake.state
        with state.lock:
            held = state.accounts[ACCOUNT_ID].cash.get("USD", Decimal(0))
            state.set_cash(ACCOUNT_ID, held + cash)
        self._pushed()

    def set_price(self, symbol: str, price: Decimal) -> None:
        self._con_id(symbol)
        self.fake.set_price(symbol, price, spread="0")

    def give_position(self, symbol: str, qty: Decimal) -> None:
        # A transfer in: shares at the current price, no cash moves.
        con_id = self._con_id(symbol)
        state = self.fake.state
        with state.lock:
            holding = state.accounts[ACCOUNT_ID].holdings.get(con_id)
            held, cost = (
                (holding.quantity, holding.average_cost) if holding else (Decimal(0), Decimal(0))
            )
            quote = state.quotes[con_id]
            assert quote.last is not None, f"set a price for {symbol} first"
            total = held + qty
            state.set_position(ACCOUNT_ID, con_id, total, (held * cost + qty * quote.last) / total)
        self._pushed(con_id)

    def expected_fill_price(self, side: Side, quote: Decimal) -> Decimal:
        return quote

    def expected_commission(self, qty: Decimal) -> Decimal:
        return max(MINIMUM, qty * PER_SHARE).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    def settle(self) -> None:
        # A cancel IB holds pending (`race_cancels`) ends here, "a moment later".
        self.fake.finish_cancels()
        # One round trip: everything the fake wrote before its answer has been read.
        self.ib.link.ensure()
        self.ib.link.call(self.ib.link.ib.reqCurrentTimeAsync)

    def now(self) -> datetime:
        return self.clock()

    def restart(self) -> None:
        self.broker.close()
        self.broker = self._build()

    def lose_next_submission(self, *, taken: bool, how: str) -> None:
        # IB has no HTTP: a 504 and a dropped connection are the same lost link to it.
        del how
        self.fake.queue(DropAfterAccept(fill=True) if taken else DropBeforeAccept())

    def race_cancels(self, outcome: str) -> None:
        self.fake.queue(CancelRace(outcome))

    def advance(self, by: timedelta) -> None:
        self.clock.advance(by)

    def hold_market_buys(self, fraction: Decimal) -> None:
        # Not a gap in the fake: IB documents no buying-power hold on market buys (Alpaca's
        # 2.5% to 4% above the price). A cash account's buy must fit its available funds
        # (cash less working buys) at the order's price, which the fake checks at the ask;
        # the adapter keeps 1% back itself for IB's unpublished price cap (MARKET_BUY_HOLD).
        pytest.skip("IB documents no market-buy hold; the fake checks a buy at the ask")

    def close(self) -> None:
        self.broker.close()
        self.fake.stop()
