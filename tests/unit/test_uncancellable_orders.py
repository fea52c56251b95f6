"""`UncancellableOrders`: a broker whose orders trimtab's cancel cannot reach (a manual
account's tickets) says so through the retry wrapper every cycle reads it through; the API
brokers do not, so an order their cycle left working is cancelled at recovery."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import structlog

from adapters.base import BrokerEnvironment, UncancellableOrders
from adapters.manual.broker import ManualBroker
from adapters.manual.config import ManualSettings
from adapters.sim.broker import SimBroker
from daemon.cycle.retry import ReadRetrying


def test_a_manual_broker_says_its_tickets_are_beyond_cancel_through_the_wrapper(
    tmp_path: Path,
) -> None:
    (tmp_path / "exports").mkdir()
    settings = ManualSettings.model_validate(
        {"environment": "live", "exports": str(tmp_path / "exports"), "preset": "fidelity"}
    )
    env = BrokerEnvironment("main", tmp_path, lambda: datetime(2026, 12, 1, tzinfo=UTC))
    broker = ManualBroker(settings, env)
    wrapped = ReadRetrying(broker, log=structlog.get_logger())
    assert isinstance(broker, UncancellableOrders)
    assert isinstance(wrapped, UncancellableOrders)
    assert "trimtab manual confirm" in wrapped.why_uncancellable()


def test_the_api_brokers_are_reached_by_a_cancel() -> None:
    from adapters.alpaca.broker import AlpacaBroker
    from adapters.ibkr.broker import IbkrBroker

    for cls in (SimBroker, AlpacaBroker, IbkrBroker):
        assert not hasattr(cls, "why_uncancellable"), cls
