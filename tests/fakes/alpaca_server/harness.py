"""The broker contract's harness for the Alpaca adapter: alpaca-py against the fake Alpaca.

Levers a paper account at the real Alpaca does not have (moving prices, funding, giving a
position) act on the fake's state directly; `settle` lets the fake route, fill and expire what
it would have by now, which it otherwise does only when the next request arrives (never inside
the POST, as at Alpaca).

Beyond the contract's levers (`tests.contract.conftest.BrokerHarness`), Alpaca's order
lifecycle (`tests.fakes.alpaca_server.state`):

| lever | what it does |
|---|---|
| `follow_the_calendar(before_close)` | the market opens and closes by the exchange calendar from now on, the clock `before_close` before a regular session's close: `day` orders left open expire at it |
| `reject_when_routed(symbol)` | orders of `symbol` are rejected after the POST accepted them, when routed |
| `fill(client_order_id, qty, price)` | fill part (or all) of an order now |
"""  # noqa: E501 (a table row per lever reads better than wrapped cells)

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from adapters.alpaca.broker import AlpacaBroker
from adapters.base import Broker
from daemon.core.domain import Side
from tests.fakes.alpaca_server.client import SteppingClock, make_broker
from tests.fakes.alpaca_server.server import FakeAlpaca, Fault
from tests.fakes.alpaca_server.state import AlpacaState


class AlpacaHarness:
    """A fresh fake account (market open, fills on `settle`) behind a real `AlpacaBroker`."""

    fractional = True
    unknown_symbol = "NOSUCHSYMBOL"
    holds_open_buys = True
    """The adapter reports the cash open buys leave to spend (`adapters.alpaca.holds`)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.state = AlpacaState(clock=SteppingClock(), market_open=True, auto_fill=True)
        self.fake = FakeAlpaca(self.state).start()
        self.broker: Broker = self._build()

    def _build(self) -> AlpacaBroker:
        return make_broker(self.fake, account=self.account)

    def fund(self, cash: Decimal) -> None:
        with self.state.lock:
            self.state.cash += cash

    def set_price(self, symbol: str, price: Decimal) -> None:
        with self.state.lock:
            if symbol not in self.state.assets:
                self.state.add_asset(symbol, str(price))
            self.state.prices[symbol] = price

    def give_position(self, symbol: str, qty: Decimal) -> None:
        # A transfer in (as an ACATS would be): shares at the current price, no cash moves.
        with self.state.lock:
            held, cost = self.state.positions.get(symbol, (Decimal(0), Decimal(0)))
            price = self.state.prices[symbol]
            total = held + qty
            self.state.positions[symbol] = (total, (held * cost + qty * price) / total)

    def expected_fill_price(self, side: Side, quote: Decimal) -> Decimal:
        return quote  # the fake fills market orders at the current price, no slippage

    def expected_commission(self, qty: Decimal) -> Decimal:
        return Decimal(0)  # Alpaca charges no commission on US equities

    def settle(self) -> None:
        self.state.step()

    def now(self) -> datetime:
        return self.state.now()

    def restart(self) -> None:
        self.broker.close()
        self.broker = self._build()

    # -- order edges (the contract's lost submissions and cancel races) --------------------

    def lose_next_submission(self, *, taken: bool, how: str) -> None:
        """The next POST /v2/orders gets a 504 or a closed connection, after or before the
        order was taken; a taken one is not visible to reads for a while (eventual
        consistency), which is why "not found" is final only after a grace."""
        if how == "504":
            fault = Fault("POST", "/v2/orders", status=504, after=taken)
        else:
            fault = Fault("POST", "/v2/orders", reset=True, after=taken)
        self.fake.add_fault(fault)
        if taken:
            with self.state.lock:
                self.state.visibility_lag = timedelta(seconds=1)

    def advance(self, by: timedelta) -> None:
        with self.state.lock:
            self.state.clock.now += by

    def race_cancels(self, outcome: str) -> None:
        with self.state.lock:
            self.state.cancel_race = outcome

    def hold_market_buys(self, fraction: Decimal) -> None:
        with self.state.lock:
            self.state.market_buy_hold = fraction

    # -- Alpaca's order lifecycle (see the module's table) ---------------------------------

    def follow_the_calendar(self, before_close: timedelta) -> None:
        with self.state.lock:
            now = self.state.now()
            close = self.state.session_close_after(now)
            while close - before_close < now:  # never back in time: a later session then
                close = self.state.session_close_after(close)
            self.state.market_open = None
            self.state.clock.now = close - before_close

    def reject_when_routed(self, symbol: str) -> None:
        with self.state.lock:
            self.state.reject_when_routed.add(symbol)

    def fill(
        self, client_order_id: str, qty: Decimal | None = None, price: Decimal | None = None
    ) -> None:
        self.state.fill(client_order_id, qty, None if price is None else str(price))

    def close(self) -> None:
        self.broker.close()
        self.fake.close()
