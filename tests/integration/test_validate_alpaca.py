"""`trimtab validate` over a cycle run through the fake Alpaca with alpaca-py: fills that
the test drives at prices off the quote, a partial fill, and what Alpaca's activities say."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.bootstrap import open_app
from daemon.cli.validate_cmd import load_validation
from daemon.core.domain import OrderStatus
from daemon.store.models import OrderEventRow
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import household

D = Decimal
ENV = "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__"
FILL_AT = {"BND": D("72.60"), "VTI": D("250.10")}  # quotes: BND 72.50, VTI 250.00


class Filler(threading.Thread):
    """Fills each new order as a market would: BND at once, VTI half, both off the quote."""

    def __init__(self, state: AlpacaState) -> None:
        super().__init__(daemon=True)
        self.state = state
        self.filled: dict[str, Decimal] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with self.state.lock:
                for order in self.state.orders:
                    if order.open and order.symbol not in self.filled and order.qty is not None:
                        qty = (
                            order.qty
                            if order.symbol == "BND"
                            else (order.qty / 2).quantize(D("0.001"))
                        )
                        self.state.fill(order.id, qty, str(FILL_AT[order.symbol]))
                        self.filled[order.symbol] = qty
            self.stop.wait(0.01)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAlpaca]:
    monkeypatch.setenv(ENV + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV + "API_SECRET_KEY", SECRET)
    with FakeAlpaca(household("100000")) as server:
        yield server


def test_validation_of_an_alpaca_cycle(fake: FakeAlpaca, tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f"""
mode = "paper"
database_url = "{database_url}"
[accounts.main]
broker = "alpaca"
[accounts.main.broker_settings]
environment = "paper"
base_url = "{fake.url}"
data_url = "{fake.url}"
read_timeout_seconds = 2
rate_limit_max_wait_seconds = 0
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.policy]
min_trade_notional = "50"
cash_buffer = "100"
fractional_symbols = ["VTI"]
"""
    )
    state = fake.state
    app = open_app(config, clock=state.now)
    filler = Filler(state)
    filler.start()
    try:
        report = app.engine(fill_timeout=1).run_once("main")
    finally:
        filler.stop.set()
        filler.join()
    try:
        assert report.outcome == "succeeded", report.error
        assert {(o.intent.symbol, o.status) for o in report.outcomes} == {
            ("BND", OrderStatus.FILLED),
            ("VTI", OrderStatus.CANCELLED),
        }
        with app.database.transaction() as session:
            result = load_validation(
                session,
                ["main"],
                since=datetime(2026, 11, 30, tzinfo=UTC),
                until=datetime(2026, 12, 2, tzinfo=UTC),
                max_slippage_bps=D(10),
            )
            submitted = {
                event.client_order_id: event.at
                for event in session.scalars(
                    select(OrderEventRow).where(OrderEventRow.to_status == "submitting")
                )
            }
    finally:
        app.close()

    (summary,) = result.accounts
    assert (summary.cycles, summary.planned, summary.sent) == (1, 2, 2)
    assert (summary.filled, summary.partially_filled, summary.rejected) == (1, 1, 0)
    orders = {o.symbol: o for o in result.orders}
    quotes = {"BND": D("72.50"), "VTI": D("250.00")}
    for symbol, check in orders.items():
        assert check.planned_price == quotes[symbol]
        assert check.fill_price == FILL_AT[symbol]
        assert check.filled_qty == filler.filled[symbol]
        expected = (FILL_AT[symbol] - quotes[symbol]) / quotes[symbol] * D(10_000)
        assert check.slippage_bps == expected.quantize(D("0.01"))
    assert orders["BND"].slippage_bps == D("13.79")
    assert orders["VTI"].slippage_bps == D("4.00")
    assert orders["VTI"].outcome == "partial"
    cost = sum(((FILL_AT[s] - quotes[s]) * filler.filled[s] for s in quotes), D(0))
    notional = sum((quotes[s] * filler.filled[s] for s in quotes), D(0))
    assert summary.slippage_cost == cost
    assert summary.slippage_bps == (cost / notional * 10_000).quantize(D("0.01"))

    # Time to fill, from Alpaca's own activity record against trimtab's SUBMITTING time.
    bnd = next(o for o in state.orders if o.symbol == "BND")
    (activity,) = [a for a in state.activities if a.get("order_id") == bnd.id]
    filled_at = datetime.fromisoformat(activity["transaction_time"].replace("Z", "+00:00"))
    waited = filled_at - submitted[orders["BND"].client_order_id]
    assert timedelta(0) < waited < timedelta(seconds=5)
    seconds = orders["BND"].seconds_to_fill
    assert seconds is not None
    assert abs(seconds - D(str(waited.total_seconds()))) < D("0.001")

    # Drift after the cycle, from the fake's positions and cash at its prices.
    values = {s: qty * state.prices[s] for s, (qty, _cost) in state.positions.items()}
    nav = sum(values.values(), state.cash)
    after = {d.symbol: d for d in result.drift_after}
    for symbol, value in values.items():
        assert abs(after[symbol].weight - value / nav) < D("1e-12")
    assert summary.cycles_drift_unknown == 0
    # Default bands: 5pp either side of the target (the cash buffer trims the targets a
    # little). Half of VTI's buy filled: VTI ends the cycle below its band, BND inside.
    for symbol, value in values.items():
        row = after[symbol]
        assert abs(row.target - row.low - D("0.05")) < D("1e-9")
        assert abs(row.high - row.target - D("0.05")) < D("1e-9")
        share = value / nav
        assert row.out_of_band == (not row.low <= share <= row.high)
    assert after["VTI"].out_of_band
    assert not after["BND"].out_of_band
    assert summary.cycles_out_of_band_after == 1
    assert {f.kind for f in result.findings} == {"unfilled", "slippage", "drift"}
    assert result.ok
