"""Configuration: loading, overrides, secrets, and problems reported with key paths and fixes."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config.settings import LIVE_CONFIRMATION, check_config, config_schema, load_config
from daemon.core.domain import AccountType, Mode
from daemon.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SECRET_BROKER = "tests.fakes.broker:SECRET_PLUGIN"

MINIMAL = """
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
"""


def write(tmp_path: Path, text: str, name: str = "trimtab.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def paths(config: Path) -> dict[str, str]:
    return {p.path: f"{p.problem} | {p.fix}" for p in check_config(config)}


def test_example_config_is_valid_and_a_paper_household(tmp_path: Path) -> None:
    config = tmp_path / "config.example.toml"
    shutil.copy(REPO / "config.example.toml", config)
    settings = load_config(config)
    assert settings.mode is Mode.PAPER
    assert set(settings.accounts) == {"brokerage", "ira"}
    assert settings.accounts["ira"].type is AccountType.TRADITIONAL_IRA
    assert settings.state_dir == tmp_path / "state"
    assert settings.accounts["brokerage"].bands.overrides["BND"].absolute_pp == 2


def test_defaults_are_dry_run(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, MINIMAL))
    assert settings.mode is Mode.DRY_RUN
    assert settings.accounts["main"].policy.rebalance_to == "target"


def test_environment_overrides_nested_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIMTAB_MODE", "paper")
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__POLICY__BUY_ONLY", "true")
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BANDS__ABSOLUTE_PP", "3")
    settings = load_config(write(tmp_path, MINIMAL))
    assert settings.mode is Mode.PAPER
    assert settings.accounts["main"].policy.buy_only is True
    assert settings.accounts["main"].bands.absolute_pp == Decimal(3)
    # The file's other keys of the same tables survive the override.
    assert settings.accounts["main"].strategy_params["targets"]["VTI"] == Decimal("0.6")


def test_unknown_keys_are_rejected_with_their_path(tmp_path: Path) -> None:
    problems = paths(write(tmp_path, MINIMAL + "\n[accounts.main.policy]\nbuy_olny = true\n"))
    assert "accounts.main.policy.buy_olny" in problems
    assert "unknown keys are rejected" in problems["accounts.main.policy.buy_olny"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
mode = "sometimes"
[accounts.main]
type = "brokerage"
[accounts.main.policy]
min_trade_notional = "-5"
rebalance_to = "halfway"
"""
    problems = paths(write(tmp_path, text))
    assert {
        "mode",
        "accounts.main.type",
        "accounts.main.policy.min_trade_notional",
        "accounts.main.policy.rebalance_to",
    } <= set(problems)
    assert "use one of the values named" in problems["accounts.main.type"]


def test_a_history_file_that_is_not_there_is_named_with_the_fix(tmp_path: Path) -> None:
    text = MINIMAL.replace('strategy = "static"', 'strategy = "static"\nhistory_file = "c.csv"')
    config = write(tmp_path, text)
    message = paths(config)["accounts.main.history_file"]
    assert f"{tmp_path / 'c.csv'} is not a file" in message
    assert "relative to the config file, or remove the key" in message
    (tmp_path / "c.csv").write_text("date,VTI,BND\n2026-12-04,250,72\n")
    assert check_config(config) == []
    assert load_config(config).accounts["main"].history_file == tmp_path / "c.csv"


def test_targets_not_summing_to_one(tmp_path: Path) -> None:
    problems = paths(write(tmp_path, MINIMAL.replace('"0.4"', '"0.3"')))
    message = problems["accounts.main.strategy_params.targets"]
    assert "targets sum to 0.9, not 1" in message


def test_negative_target_and_bad_symbol(tmp_path: Path) -> None:
    text = MINIMAL.replace('BND = "0.4"', 'BND = "-0.4", vti2 = "0.8"')
    problems = paths(write(tmp_path, text))
    assert any(p.startswith("accounts.main.strategy_params.targets.BND") for p in problems)


def test_live_needs_the_exact_confirmation(tmp_path: Path) -> None:
    text = 'mode = "live"\n' + MINIMAL.replace('broker = "sim"', f'broker = "{SECRET_BROKER}"')
    problems = paths(write(tmp_path, text))
    assert "live_confirmation" in " ".join(problems)
    ok = f'mode = "live"\nlive_confirmation = "{LIVE_CONFIRMATION}"\n' + MINIMAL.replace(
        'broker = "sim"', f'broker = "{SECRET_BROKER}"'
    )
    secrets = write(
        tmp_path,
        '[accounts.main.broker_settings]\napi_key = "k"\nsecret_key = "s"\n',
        "secrets.toml",
    )
    secrets.chmod(0o600)
    config = write(tmp_path, f'secrets_file = "secrets.toml"\n{ok}')
    assert load_config(config).mode is Mode.LIVE


def test_live_refuses_the_simulated_broker(tmp_path: Path) -> None:
    text = f'mode = "live"\nlive_confirmation = "{LIVE_CONFIRMATION}"\n' + MINIMAL
    problems = paths(write(tmp_path, text))
    assert any("simulated broker" in message for message in problems.values())


def test_bad_account_name(tmp_path: Path) -> None:
    problems = paths(write(tmp_path, MINIMAL.replace("accounts.main", '"accounts"."My Account"')))
    assert any("account name" in message for message in problems.values())


def test_unknown_broker_lists_known_ones(tmp_path: Path) -> None:
    problems = paths(write(tmp_path, MINIMAL.replace('broker = "sim"', 'broker = "schwab"')))
    assert "known: " in problems["accounts.main.broker"]
    assert "sim" in problems["accounts.main.broker"]


def test_broker_settings_validated_by_the_plugin(tmp_path: Path) -> None:
    text = MINIMAL + '[accounts.main.broker_settings]\nstarting_cassh = "5"\n'
    problems = paths(write(tmp_path, text))
    assert "accounts.main.broker_settings.starting_cassh" in problems


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    problems = check_config(write(tmp_path, "[accounts.main\nbroker = 1\n"))
    assert len(problems) == 1
    assert "line 1" in problems[0].problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


SECRET_VALUE = "AKIA-super-secret-9f8e7d"


def test_credentials_in_the_config_file_are_refused_without_echoing_them(tmp_path: Path) -> None:
    text = MINIMAL.replace('broker = "sim"', f'broker = "{SECRET_BROKER}"') + (
        f'[accounts.main.broker_settings]\napi_key = "{SECRET_VALUE}"\nsecret_key = "x"\n'
    )
    problems = check_config(write(tmp_path, text))
    flagged = {p.path for p in problems}
    assert {
        "accounts.main.broker_settings.api_key",
        "accounts.main.broker_settings.secret_key",
    } <= flagged
    assert all(SECRET_VALUE not in str(p) for p in problems)
    assert "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__API_KEY" in str(problems)


def test_credentials_from_environment_are_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__API_KEY", SECRET_VALUE)
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__SECRET_KEY", "s")
    text = MINIMAL.replace('broker = "sim"', f'broker = "{SECRET_BROKER}"')
    settings = load_config(write(tmp_path, text))
    assert SECRET_VALUE not in repr(settings)
    assert SECRET_VALUE not in str(settings.model_dump())


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    secrets = write(tmp_path, '[accounts.main.broker_settings]\napi_key = "k"\n', "secrets.toml")
    secrets.chmod(0o644)
    text = 'secrets_file = "secrets.toml"\n' + MINIMAL
    problems = paths(write(tmp_path, text))
    assert "chmod 600" in problems["secrets_file"]


def test_secrets_file_values_are_used_and_never_shown(tmp_path: Path) -> None:
    secrets = write(
        tmp_path,
        f'[accounts.main.broker_settings]\napi_key = "{SECRET_VALUE}"\nsecret_key = "s"\n',
        "secrets.toml",
    )
    secrets.chmod(0o600)
    text = 'secrets_file = "secrets.toml"\n' + MINIMAL.replace(
        'broker = "sim"', f'broker = "{SECRET_BROKER}"'
    )
    assert check_config(write(tmp_path, text)) == []


def test_invalid_secret_value_error_does_not_echo_it(tmp_path: Path) -> None:
    secrets = write(
        tmp_path,
        f'[accounts.main.broker_settings]\napi_key = "{SECRET_VALUE}"\n'
        f'endpoint = ["{SECRET_VALUE}"]\n',
        "secrets.toml",
    )
    secrets.chmod(0o600)
    text = 'secrets_file = "secrets.toml"\n' + MINIMAL.replace(
        'broker = "sim"', f'broker = "{SECRET_BROKER}"'
    )
    problems = check_config(write(tmp_path, text))
    assert problems
    assert all(SECRET_VALUE not in str(p) for p in problems)


def test_database_password_in_file_is_refused(tmp_path: Path) -> None:
    text = 'database_url = "postgresql+psycopg://u:hunter2@db/x"\n' + MINIMAL
    problems = paths(write(tmp_path, text))
    assert "database_url" in problems
    assert "hunter2" not in str(problems)


def test_schema_has_every_top_level_key_and_plugin_tables() -> None:
    schema = config_schema()
    assert {"mode", "accounts", "state_dir", "database_url", "log", "risk"} <= set(
        schema["properties"]
    )
    assert "strategy_params.static" in schema["$defs"]
    assert "broker_settings.sim" in schema["$defs"]


def test_relative_price_file_resolves_against_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "closes.csv").write_text("date,VTI,BND\n2026-11-23,250.10,70.20\n")
    text = MINIMAL + '[accounts.main.broker_settings.prices]\nsource = "csv"\npath = "closes.csv"\n'
    config = write(tmp_path, text)
    monkeypatch.chdir("/")
    settings = load_config(config)
    prices = settings.accounts["main"].broker_settings["prices"]
    assert Path(prices["path"]) == tmp_path / "closes.csv"


def test_a_plugin_credential_from_the_environment_is_not_reported_missing_beside_a_real_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__API_KEY", SECRET_VALUE)
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__SECRET_KEY", "s")
    text = 'mode = "yolo"\n' + MINIMAL.replace('broker = "sim"', f'broker = "{SECRET_BROKER}"')
    problems = check_config(write(tmp_path, text))
    assert [p.path for p in problems] == ["mode"]


def test_notional_buys_need_market_orders(tmp_path: Path) -> None:
    text = MINIMAL + '\n[accounts.main.policy]\nnotional_buys = true\norder_type = "limit"\n'
    problems = paths(write(tmp_path, text))
    assert "accounts.main.policy" in problems
    assert (
        'policy.notional_buys needs policy.order_type = "market"'
        in (problems["accounts.main.policy"])
    )
    market = MINIMAL + "\n[accounts.main.policy]\nnotional_buys = true\n"
    assert load_config(write(tmp_path, market)).accounts["main"].policy.notional_buys
