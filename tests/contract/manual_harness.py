"""The manual broker behind the contract's `BrokerHarness`, with a person who enters tickets.

The broker reads an export the harness writes (the custom layout: symbol,quantity,price, and
a CASH row), dated by its modification time on the harness's clock. `settle` is the person:
every open ticket that the market would fill (a market order, or a limit the price has
crossed) is confirmed at the quote, as `trimtab manual confirm` records it. After a change of
cash, position or price the harness writes a new export of the account as it then is, as the
person would download one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

from adapters.base import BrokerEnvironment
from adapters.manual.broker import ManualBroker
from adapters.manual.config import ManualSettings
from adapters.manual.tickets import Confirm
from daemon.core.domain import OrderType, Side
from tests.contract.conftest import ACCOUNT, SteppingClock

NINE = Decimal("0.000000001")


class ManualHarness:
    """See the module docstring; `fractional` False, as most manual accounts trade."""

    fractional = False
    unknown_symbol = "NOSUCHSYMBOL"
    account = ACCOUNT

    def __init__(self, root: Path) -> None:
        self.clock = SteppingClock(datetime(2024, 3, 5, 15, 0, tzinfo=UTC))
        self.prices: dict[str, Decimal] = {}
        self._exports = root / "exports"
        self._exports.mkdir(parents=True)
        self._prices_file = root / "prices.csv"
        self._state_dir = root / "state"
        self._cash = Decimal(0)
        self._positions: dict[str, Decimal] = {}
        self._written = 0
        self._write()
        self.settings = ManualSettings.model_validate(
            {
                "environment": "live",
                "exports": str(self._exports),
                "preset": "custom",
                "columns": {"symbol": "symbol", "quantity": "quantity", "price": "price"},
                "cash_symbols": ["CASH"],
                "prices_file": str(self._prices_file),
                "max_export_age_hours": 24 * 365,
            }
        )
        self.broker = self._build()

    def _build(self) -> ManualBroker:
        env = BrokerEnvironment(account=ACCOUNT, state_dir=self._state_dir, clock=self.clock)
        return ManualBroker(self.settings, env)

    def _write(self) -> None:
        """Write the account as a new export (and the other prices), dated now."""
        now = self.clock()
        self._written += 1
        lines = ["symbol,quantity,price", f"CASH,{self._cash},1"]
        lines += [
            f"{symbol},{qty},{self.prices[symbol]}"
            for symbol, qty in sorted(self._positions.items())
            if qty != 0
        ]
        export = self._exports / f"positions-{self._written:04d}.csv"
        export.write_text("\n".join(lines) + "\n")
        rows = ["symbol,price", *(f"{s},{p}" for s, p in sorted(self.prices.items()))]
        self._prices_file.write_text("\n".join(rows) + "\n")
        stamp = now.timestamp()
        os.utime(export, (stamp, stamp))
        os.utime(self._prices_file, (stamp, stamp))

    def _sync(self) -> None:
        """Take the account as the broker now sees it (export plus confirmed fills)."""
        now = self.broker.account_now()  # its cash before open tickets' holds
        self._cash = now.cash
        self._positions = dict(now.positions)

    def fund(self, cash: Decimal) -> None:
        self._sync()
        self._cash += cash
        self._write()

    def set_price(self, symbol: str, price: Decimal) -> None:
        self._sync()
        self.prices[symbol] = price
        self._write()

    def give_position(self, symbol: str, qty: Decimal) -> None:
        assert symbol in self.prices, f"set a price for {symbol} first"
        self._sync()
        self._positions[symbol] = self._positions.get(symbol, Decimal(0)) + qty
        self._write()

    def expected_fill_price(self, side: Side, quote: Decimal) -> Decimal:
        del side
        return quote  # the person fills at the quote

    def expected_commission(self, qty: Decimal) -> Decimal:
        del qty
        return Decimal(0)

    def settle(self) -> None:
        """Confirm every open ticket the market would fill now, at the quote."""
        confirms = []
        for ticket in self.broker.tickets.all():
            intent = ticket.intent
            price = self.prices.get(intent.symbol)
            if not ticket.status.is_open or price is None:
                continue
            if intent.order_type is OrderType.LIMIT and intent.limit_price is not None:
                buy = intent.side is Side.BUY
                if (buy and price > intent.limit_price) or (not buy and price < intent.limit_price):
                    continue
            qty = ticket.remaining
            if intent.notional is not None:
                qty = (intent.notional / price).quantize(NINE, rounding=ROUND_FLOOR)
            confirms.append(Confirm(intent.client_order_id, qty, price, self.clock()))
        if confirms:
            self.broker.tickets.confirm_all(confirms, now=self.clock())

    def now(self) -> datetime:
        return self.clock()

    def restart(self) -> None:
        self.broker.close()
        self.broker = self._build()

    def lose_next_submission(self, *, taken: bool, how: str) -> None:
        raise NotImplementedError("a ticket is written locally: no answer to lose")

    def race_cancels(self, outcome: str) -> None:
        raise NotImplementedError("a ticket cannot be cancelled by trimtab")

    def advance(self, by: timedelta) -> None:
        self.clock.advance(by)

    def hold_market_buys(self, fraction: Decimal) -> None:
        raise NotImplementedError("a ticket holds no buying power at the broker")

    def close(self) -> None:
        self.broker.close()
