"""Build the real Alpaca adapter against a `FakeAlpaca`: what the tests, drills and bench share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.alpaca import AlpacaSettings
from adapters.alpaca.broker import AlpacaBroker
from adapters.base import BrokerEnvironment
from tests.fakes.alpaca_server.server import KEY_ID, SECRET, FakeAlpaca
from tests.fakes.alpaca_server.state import AlpacaState

ACCOUNT = "main"
MONDAY_MIDDAY = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
"""12:00 New York on a Monday: the fake's market is open."""


def settings_for(fake: FakeAlpaca, **overrides: Any) -> AlpacaSettings:
    values: dict[str, Any] = {
        "environment": "paper",
        "api_key_id": KEY_ID,
        "api_secret_key": SECRET,
        "base_url": fake.url,
        "data_url": fake.url,
        "read_timeout_seconds": Decimal(2),
        "rate_limit_max_wait_seconds": Decimal(0),
        **overrides,
    }
    return AlpacaSettings.model_validate(values)


def make_broker(
    fake: FakeAlpaca,
    *,
    clock: Callable[[], datetime] | None = None,
    account: str = ACCOUNT,
    **overrides: Any,
) -> AlpacaBroker:
    """Return an `AlpacaBroker` on `fake`; its database is unused (`None` is never touched)."""
    env = BrokerEnvironment(
        account=account,
        state_dir=Path("/nonexistent"),
        clock=clock or fake.state.now,
    )
    return AlpacaBroker(settings_for(fake, **overrides), env)


class SteppingClock:
    """Monotonic test time: each read moves it on a little, so events have an order."""

    def __init__(
        self, start: datetime = MONDAY_MIDDAY, step: timedelta = timedelta(milliseconds=5)
    ) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def household(cash: str = "10000") -> AlpacaState:
    """An open market from Monday noon with VTI (fractionable), BND (whole shares) and SCHD."""
    state = AlpacaState(cash=Decimal(cash), clock=SteppingClock())
    state.add_asset("VTI", "250.00")
    state.add_asset("BND", "72.50", fractionable=False)
    state.add_asset("SCHD", "27.10")
    return state


ENV_PREFIX = "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__"
"""Environment variables of account `main`'s credentials: + API_KEY_ID, + API_SECRET_KEY."""


def on_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> AlpacaState:
    """Return `household()` on the real clock, for a test of a `trimtab` command (which runs
    on the real clock too), with account `main`'s credentials in the environment."""
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    state = household()
    state.clock = lambda: datetime.now(UTC)
    return state


def weekdays_back(count: int, *, today_too: bool = True) -> list[date]:
    """The weekdays of the `count` days before today (and today), oldest first."""
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=i) for i in range(count, -1 if today_too else 0, -1)]
    return [d for d in days if d.weekday() < 5]


def alpaca_main_toml(state_dir: Path, url: str, strategy: str) -> str:
    """Return a config of account `main` on the fake at `url` with `strategy`'s TOML (the
    `strategy = ...` line and its `[accounts.main.strategy_params]` table)."""
    return (
        f'state_dir = "{state_dir}"\n[accounts.main]\nbroker = "alpaca"\n{strategy}\n'
        f'[accounts.main.broker_settings]\nenvironment = "paper"\nbase_url = "{url}"\n'
        f'data_url = "{url}"\nread_timeout_seconds = 2\n'
    )


def account_toml(
    url: str, targets: str, *, settings: str = "", policy: str = "", account: str = ""
) -> str:
    """Return the TOML of account `main` on the fake at `url` (keys come from `ENV_PREFIX`);
    `settings` go under its broker_settings, `policy` under its policy, `account` beside
    its broker."""
    return f"""
[accounts.main]
broker = "alpaca"
strategy = "static"
{account}
[accounts.main.broker_settings]
environment = "paper"
base_url = "{url}"
data_url = "{url}"
{settings}
[accounts.main.strategy_params]
targets = {{ {targets} }}
[accounts.main.policy]
min_trade_notional = "50"
{policy}
"""
