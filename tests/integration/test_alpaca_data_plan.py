"""`feed = "sip"` on Alpaca's free market data plan: a plan problem, never "refused the keys".

Alpaca's data API answers a request for recent SIP data on the Basic (free) plan with 403
{"message":"subscription does not permit querying recent SIP data"}, with keys the trading API
accepts. Before, every 403 on a read was `CredentialsRejected` ("regenerate them in Alpaca's
dashboard"): the operator was told to rotate keys that work. Real alpaca-py against the fake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.alpaca.broker import AlpacaBroker
from adapters.base import BrokerEnvironment, CredentialsRejected
from daemon.bootstrap import open_app
from daemon.core.errors import BrokerError
from tests.fakes.alpaca_server import KEY_ID, LIVE_KEY_ID, LIVE_SECRET, SECRET, FakeAlpaca
from tests.fakes.alpaca_server.client import (
    ENV_PREFIX,
    account_toml,
    household,
    make_broker,
    settings_for,
)


@pytest.fixture
def free_plan() -> Iterator[FakeAlpaca]:
    state = household()
    state.market_open = True
    state.set_position("VTI", "10")
    state.sip_subscription = False
    with FakeAlpaca(state) as fake:
        yield fake


def broker_on(fake: FakeAlpaca, feed: str) -> AlpacaBroker:
    return make_broker(fake, feed=feed)


def assert_names_the_feed(error: BaseException) -> None:
    text = str(error)
    assert not isinstance(error, CredentialsRejected)
    assert isinstance(error, BrokerError)
    assert "subscription does not permit querying recent SIP data" in text
    assert "broker_settings.feed" in text
    assert 'feed = "iex"' in text
    assert "keys" not in text
    assert SECRET not in text


@pytest.mark.parametrize("read", ["snapshot", "funds", "daily bars"])
def test_sip_on_the_free_plan_is_a_broker_error_naming_the_feed(
    free_plan: FakeAlpaca, read: str
) -> None:
    broker = broker_on(free_plan, "sip")
    today = free_plan.state.now().date()
    calls: dict[str, Callable[[], object]] = {
        "snapshot": lambda: broker.snapshot(["BND"]),
        "funds": lambda: broker.funds(["BND"]),
        "daily bars": lambda: broker.daily_bars(["VTI"], today - timedelta(days=30), today),
    }
    try:
        with pytest.raises(BrokerError) as raised:
            calls[read]()
    finally:
        broker.close()
    assert_names_the_feed(raised.value)


def test_iex_on_the_free_plan_reads_and_old_sip_bars_are_served(free_plan: FakeAlpaca) -> None:
    broker = broker_on(free_plan, "iex")
    try:
        assert broker.snapshot(["BND"]).quotes["BND"].price > 0
    finally:
        broker.close()
    sip = broker_on(free_plan, "sip")
    try:
        assert sip.daily_bars(["VTI"], date(2026, 1, 5), date(2026, 1, 9))  # history only
    finally:
        sip.close()


def test_keys_of_the_other_environment_are_still_refused_keys(free_plan: FakeAlpaca) -> None:
    # Keys the settings would refuse by their prefix (`model_copy` skips that check): Alpaca's
    # 403 for them is about the keys, not the data plan.
    settings = settings_for(free_plan).model_copy(
        update={"api_key_id": SecretStr(LIVE_KEY_ID), "api_secret_key": SecretStr(LIVE_SECRET)}
    )
    env = BrokerEnvironment(
        account="main", state_dir=Path("/nonexistent"), clock=free_plan.state.now
    )
    broker = AlpacaBroker(settings, env)
    try:
        with pytest.raises(CredentialsRejected, match="refused the API keys"):
            broker.snapshot(["BND"])
    finally:
        broker.close()


def test_a_cycle_on_the_free_plan_with_sip_fails_naming_the_feed_not_the_keys(
    free_plan: FakeAlpaca, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    config = tmp_path / "trimtab.toml"
    settings = 'feed = "sip"\nread_timeout_seconds = 2\nrate_limit_max_wait_seconds = 0'
    head = f'mode = "paper"\ndatabase_url = "{database_url}"\n'
    config.write_text(
        head + account_toml(free_plan.url, 'VTI = "0.6", BND = "0.4"', settings=settings)
    )
    app = open_app(config, clock=free_plan.state.now)
    try:
        report = app.engine(fill_timeout=2).run_once("main")
    finally:
        app.close()
    assert report.outcome == "failed"
    assert report.error is not None
    assert "CredentialsRejected" not in report.error
    assert "broker_settings.feed" in report.error
    assert free_plan.count("POST", "/v2/orders") == 0
