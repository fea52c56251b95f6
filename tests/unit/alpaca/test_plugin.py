"""The `alpaca` entry point: found by name, builds the broker lazily, refuses other settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.alpaca import AlpacaSettings
from adapters.base import BrokerChecks, BrokerEnvironment
from adapters.sim import SimSettings
from daemon.plugins import load_broker_plugin


def env() -> BrokerEnvironment:
    return BrokerEnvironment(
        account="main",
        state_dir=Path("/nonexistent"),
        clock=lambda: datetime(2026, 11, 30, tzinfo=UTC),
    )


def test_the_entry_point_builds_a_broker_without_a_request() -> None:
    plugin = load_broker_plugin("alpaca")
    assert plugin.settings_model is AlpacaSettings
    settings = AlpacaSettings.model_validate(
        {"environment": "paper", "api_key_id": "PK", "api_secret_key": "s",
         "base_url": "http://127.0.0.1:9", "data_url": "http://127.0.0.1:9"}
    )  # fmt: skip
    broker = plugin.create(settings, env())  # port 9 (discard) is closed: a request would fail
    assert isinstance(broker, BrokerChecks)
    broker.close()


def test_other_settings_are_refused() -> None:
    with pytest.raises(TypeError, match="AlpacaSettings"):
        load_broker_plugin("alpaca").create(SimSettings(), env())
