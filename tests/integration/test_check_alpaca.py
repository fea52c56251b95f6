"""`trimtab check` against the fake Alpaca over real HTTP, through alpaca-py: each bad input
is a failing row naming the account and the fix, the exit is 1, and nothing is sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from daemon.cli import app
from tests.fakes.alpaca_server import (
    KEY_ID,
    LIVE_KEY_ID,
    LIVE_SECRET,
    SECRET,
    AlpacaState,
    FakeAlpaca,
)
from tests.fakes.alpaca_server.client import household
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)

pytestmark = pytest.mark.usefixtures("fresh_logging")

ENV = "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__"
# Monday 2026-10-05, noon in New York: no XNYS holiday or early close in the next 30 days,
# so the fake's plain weekday calendar agrees with exchange_calendars.
QUIET_MONTH = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)
# Friday 2026-11-20: the next 30 days hold Thanksgiving, its early close, and Christmas Eve.
HOLIDAY_SEASON = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@dataclass
class Checked:
    code: int
    rows: dict[str, dict[str, str]]
    output: str
    fake: FakeAlpaca

    def failing(self) -> dict[str, dict[str, str]]:
        return {check: row for check, row in self.rows.items() if row["status"] == "fail"}


CheckFn = Callable[..., Checked]


@pytest.fixture
def check(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CheckFn]:
    fakes: list[FakeAlpaca] = []

    def run(
        state: AlpacaState,
        *,
        keys: tuple[str, str] = (KEY_ID, SECRET),
        environment: str = "paper",
        served: str = "paper",
        mode: str = "paper",
        policy: str = "",
        at: datetime = QUIET_MONTH,
    ) -> Checked:
        fake = FakeAlpaca(state, environment=served).start()
        fakes.append(fake)
        monkeypatch.setenv(ENV + "API_KEY_ID", keys[0])
        monkeypatch.setenv(ENV + "API_SECRET_KEY", keys[1])
        config = tmp_path / "trimtab.toml"
        confirmation = (
            'live_confirmation = "I understand trimtab will trade real money"\n'
            if mode == "live"
            else ""
        )
        config.write_text(
            f"""
mode = "{mode}"
{confirmation}database_url = "{database_url}"
[accounts.main]
broker = "alpaca"
[accounts.main.broker_settings]
environment = "{environment}"
base_url = "{fake.url}"
data_url = "{fake.url}"
read_timeout_seconds = 2
rate_limit_max_wait_seconds = 0
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.policy]
{policy}
"""
        )
        with time_machine.travel(at, tick=True):
            result = CliRunner().invoke(app, ["check", "-c", str(config), "--json"])
            table = CliRunner().invoke(app, ["check", "-c", str(config)])
        assert table.exit_code == result.exit_code, table.output
        if result.exit_code == 2:  # the configuration was refused: nothing was asked
            assert fake.requests == []
            return Checked(2, {}, result.output, fake)
        data = json.loads(result.stdout)
        assert data["ok"] is (result.exit_code == 0)
        assert all(row["account"] == "main" for row in data["rows"])
        # Read-only: every request was a GET, and no order was ever posted.
        assert fake.count("POST") == 0
        assert fake.count("DELETE") == 0
        assert {r.method for r in fake.requests} == {"GET"}
        # The keys never reach what is printed.
        for secret in (*keys,):
            assert secret not in result.output
            assert secret not in table.output
        rows = {row["check"]: row for row in data["rows"]}
        return Checked(result.exit_code, rows, table.output, fake)

    yield run
    for fake in fakes:
        fake.close()


def test_a_healthy_paper_account_passes(check: CheckFn) -> None:
    result = check(household())
    assert result.code == 0, result.output
    assert set(result.rows) == {
        "broker",
        "account",
        "environment",
        "symbol BND",
        "symbol VTI",
        "calendar",
        "trading state",
    }
    assert {row["status"] for row in result.rows.values()} == {"ok"}
    assert "(paper)" in result.rows["broker"]["detail"]
    assert "whole shares only" in result.rows["symbol BND"]["detail"]
    assert "every check passed" in result.output


def test_refused_keys_are_one_failing_row_with_the_fix(check: CheckFn) -> None:
    result = check(household(), keys=("PKWRONGKEY0000000000", "wrong"))
    assert result.code == 1
    assert list(result.rows) == ["trading state", "broker"]
    row = result.rows["broker"]
    assert row["status"] == "fail"
    assert "HTTP 401" in row["detail"]
    assert "paper keys" in row["fix"]
    assert 'environment = "live"' in row["fix"]
    assert "1 check(s) failed in: main" in result.output


@pytest.mark.parametrize(
    ("environment", "served", "mode", "keys", "wanted"),
    [
        ("paper", "live", "paper", (LIVE_KEY_ID, LIVE_SECRET), "PK"),
        ("paper", "paper", "paper", (LIVE_KEY_ID, LIVE_SECRET), "PK"),
        ("live", "live", "live", (KEY_ID, SECRET), "AK"),
    ],
    ids=["live-keys-on-a-live-server-under-paper", "live-keys-on-paper", "paper-keys-on-live"],
)
def test_keys_of_the_other_environment_are_refused_before_anything_is_asked(
    check: CheckFn,
    environment: str,
    served: str,
    mode: str,
    keys: tuple[str, str],
    wanted: str,
) -> None:
    # The first: the audit's case (environment and mode "paper", a base_url serving Alpaca
    # live, AK keys), where check said "paper account ... orders go to this account" and a
    # cycle traded the live account. base_url is not Alpaca's host, so the prefix guards.
    result = check(household(), keys=keys, environment=environment, served=served, mode=mode)
    assert result.code == 2
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "accounts.main.broker_settings.api_key_id" in said
    assert f'environment is "{environment}"' in said
    assert f"starting with {wanted}" in said
    assert keys[0] not in result.output
    assert keys[1] not in result.output


def test_a_base_url_on_alpacas_live_host_under_paper_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # firstcontact mk3/literal.toml: base_url = "https://api.alpaca.markets" under
    # environment and mode "paper" was "configuration OK".
    monkeypatch.setenv(ENV + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV + "API_SECRET_KEY", SECRET)
    config = tmp_path / "trimtab.toml"
    config.write_text(
        'mode = "paper"\n[accounts.main]\nbroker = "alpaca"\n'
        '[accounts.main.broker_settings]\nenvironment = "paper"\n'
        'base_url = "https://api.alpaca.markets"\ndata_url = "https://api.alpaca.markets"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "0.6", BND = "0.4" }\n'
    )
    result = CliRunner().invoke(app, ["config", "check", "-c", str(config)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "accounts.main.broker_settings.base_url" in said
    assert "Alpaca's live host api.alpaca.markets" in said
    assert "remove base_url" in said


def test_a_blocked_account_fails_naming_each_block(check: CheckFn) -> None:
    state = household()
    state.trading_blocked = True
    state.account_blocked = True
    result = check(state)
    assert result.code == 1
    assert set(result.failing()) == {"account"}
    row = result.rows["account"]
    assert "blocked the account" in row["detail"]
    assert "blocked trading" in row["detail"]
    assert "broker" in row["fix"]


@pytest.mark.parametrize(
    ("mode", "environment", "keys"),
    [("paper", "live", (LIVE_KEY_ID, LIVE_SECRET)), ("live", "paper", (KEY_ID, SECRET))],
    ids=["paper-mode-on-live", "live-mode-on-paper"],
)
def test_a_mode_that_does_not_fit_the_environment_is_refused_before_anything_is_asked(
    check: CheckFn, mode: str, environment: str, keys: tuple[str, str]
) -> None:
    # Paper mode on a live account would trade real money without the live confirmation.
    result = check(household(), keys=keys, environment=environment, served=environment, mode=mode)
    assert result.code == 2
    said = " ".join(result.output.split())  # rich wraps long lines
    assert f"mode: mode is {mode} but account(s) main" in said
    assert f'environment = "{environment}"' in said


def test_unknown_and_untradable_symbols_fail(check: CheckFn) -> None:
    state = household()
    state.assets["BND"].tradable = False
    state.assets["BND"].status = "inactive"
    del state.assets["VTI"]
    result = check(state)
    assert result.code == 1
    assert set(result.failing()) == {"symbol BND", "symbol VTI"}
    assert "not tradable" in result.rows["symbol BND"]["detail"]
    assert "does not know VTI" in result.rows["symbol VTI"]["detail"]
    assert "accounts.main.strategy_params" in result.rows["symbol VTI"]["fix"]


def test_a_whole_share_symbol_under_a_fractional_policy_fails(check: CheckFn) -> None:
    result = check(household(), policy='fractional_symbols = ["BND", "VTI"]')
    assert result.code == 1
    assert set(result.failing()) == {"symbol BND"}
    assert "whole shares only" in result.rows["symbol BND"]["detail"]
    assert "fractional_symbols" in result.rows["symbol BND"]["fix"]
    assert result.rows["symbol VTI"]["status"] == "ok"


def test_a_calendar_that_differs_from_the_exchange_fails_naming_the_days(check: CheckFn) -> None:
    state = household()
    state.holidays = {date(2026, 12, 25)}  # knows Christmas, not Thanksgiving or early closes
    result = check(state, at=HOLIDAY_SEASON)
    assert result.code == 1
    assert set(result.failing()) == {"calendar"}
    detail = result.rows["calendar"]["detail"]
    assert "2026-11-26: the broker trades, XNYS is closed" in detail
    assert "2026-11-27: XNYS 09:30-13:00, the broker 09:30-16:00" in detail
    assert "2026-12-25" not in detail
    assert "exchange_calendars" in result.rows["calendar"]["fix"]
