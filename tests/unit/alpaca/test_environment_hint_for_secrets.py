"""A credential given in an environment variable is not sent back to the config file.

The loader ends the fix of a value from an environment variable with "(or unset it to use
the config file's value)". For a broker's key (a secret field of its plugin) or the
notification URLs, the config file may hold no value: trimtab refuses credentials there.
Before, a live key id in TRIMTAB_..._API_KEY_ID under a paper account still said to unset it
"to use the config file's value"; now it says the secrets file's. Keys the config file may
hold (the account's `environment`, say) keep the config file's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.config.settings import check_config
from daemon.core.errors import ConfigProblem

SECRET = "s3cr3t-value-never-shown"
PREFIX = "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__"
KEY_ENV = PREFIX + "API_KEY_ID"
SECRET_ENV = PREFIX + "API_SECRET_KEY"
ENVIRONMENT_ENV = PREFIX + "ENVIRONMENT"
URLS_ENV = "TRIMTAB_NOTIFICATIONS__URLS"
TO_SECRETS = "(or unset it to use the secrets file's value)"
TO_CONFIG = "(or unset it to use the config file's value)"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An Alpaca paper account whose keys come from the environment."""
    names = ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL", URLS_ENV)
    for name in (*names, ENVIRONMENT_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(KEY_ENV, "PKPAPER0000001")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = tmp_path / "trimtab.toml"
    path.write_text(
        """\
mode = "paper"
state_dir = "state"

[accounts.main]
broker = "alpaca"
strategy = "static"

[accounts.main.broker_settings]
environment = "paper"

[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
"""
    )
    return path


def the_problem(config: Path, path: str) -> ConfigProblem:
    problems = check_config(config)
    assert all(SECRET not in str(p) for p in problems)
    (problem,) = [p for p in problems if p.path == path]
    return problem


def test_a_key_id_from_the_environment_points_to_the_secrets_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "AKLIVE00000001")  # a live key under a paper account
    problem = the_problem(config, "accounts.main.broker_settings.api_key_id")
    assert KEY_ENV in problem.fix
    assert problem.fix.endswith(f"in environment variable {KEY_ENV} {TO_SECRETS}"), problem.fix
    assert "config file's value" not in problem.fix


def test_notification_urls_from_the_environment_point_to_the_secrets_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URLS_ENV, json.dumps(["nosuchservice://example"]))
    problem = the_problem(config, "notifications.urls")
    assert problem.fix.endswith(f"in environment variable {URLS_ENV} {TO_SECRETS}"), problem.fix


def test_a_setting_the_config_file_may_hold_still_points_to_it(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENVIRONMENT_ENV, "sandbox")
    problem = the_problem(config, "accounts.main.broker_settings.environment")
    assert problem.fix.endswith(TO_CONFIG), problem.fix
