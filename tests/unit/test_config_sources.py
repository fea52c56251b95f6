"""Configuration problems say where the value came from, and what the files cannot satisfy.

A value from the environment or the secrets file is reported with that source named (a
person would otherwise search the config file in vain); a CSV price file without a column
for a symbol the account targets is refused with the configuration, not at the first cycle.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.config.settings import check_config, load_config
from daemon.core.errors import ConfigError, ConfigProblem

CONFIG = """
mode = "paper"
[accounts.main]
broker = "sim"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.3", VXUS = "0.1" }
[accounts.main.broker_settings]
starting_cash = "10000"
"""
CSV_PRICES = """
[accounts.main.broker_settings.prices]
source = "csv"
path = "closes.csv"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "trimtab.toml"
    path.write_text(CONFIG)
    return path


def only(problems: list[ConfigProblem]) -> ConfigProblem:
    assert len(problems) == 1, problems
    return problems[0]


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("TRIMTAB_MODE", "livee", "mode"),
        ("TRIMTAB_ACCOUNTS__MAIN__POLICY__BUY_ONLY", "maybe", "accounts.main.policy.buy_only"),
        # A table given as JSON: the variable that holds it is the source.
        (
            "TRIMTAB_ACCOUNTS__MAIN__POLICY",
            '{"buy_only": "maybe"}',
            "accounts.main.policy.buy_only",
        ),
        # A plugin's table, validated after the environment is laid over the files.
        (
            "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__STARTING_CASH",
            "lots",
            "accounts.main.broker_settings.starting_cash",
        ),
        ("trimtab_mode", "livee", "mode"),  # pydantic-settings reads names in any case
    ],
)
def test_a_value_from_the_environment_names_its_variable(
    config: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    monkeypatch.setenv(variable, value)
    problem = only(check_config(config))
    assert problem.path == key
    assert f"environment variable {variable}" in problem.problem
    assert variable in problem.fix
    assert value not in problem.problem + problem.fix  # values are never echoed


def test_an_unreadable_variable_is_a_problem_not_a_traceback(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_RISK", "{not json")
    problem = only(check_config(config))
    assert problem.path == "risk"
    assert "environment variable TRIMTAB_RISK cannot be read" in problem.problem
    assert "JSON" in problem.fix


def test_a_value_from_the_secrets_file_names_the_file(config: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[notifications]\nurls = ["this is no URL"]\n')
    secrets.chmod(0o600)
    config.write_text(f'secrets_file = "{secrets}"\n{CONFIG}')
    problem = only(check_config(config))
    assert problem.path == "notifications.urls"
    assert f"secrets file {secrets}" in problem.problem
    assert str(secrets) in problem.fix


def test_a_value_from_the_file_names_no_other_source(config: Path) -> None:
    config.write_text(CONFIG.replace('mode = "paper"', 'mode = "livee"'))
    problem = only(check_config(config))
    assert problem.path == "mode"
    assert "comes from" not in problem.problem


def test_config_check_names_the_variable_and_exits_2(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_MODE", "livee")
    for args in (["config", "check"], ["run", "--once"], ["status"]):
        result = CliRunner().invoke(app, [*args, "-c", str(config)])
        assert result.exit_code == 2, result.output
        assert "environment variable TRIMTAB_MODE" in result.output
    assert not (config.parent / "state").exists()  # refused before any state was touched


# -- a CSV price file must have a column for every symbol the account targets ---------------


def test_a_price_file_without_a_target_column_is_refused(config: Path) -> None:
    (config.parent / "closes.csv").write_text("date,VTI,BND\n2026-11-02,300,72\n")
    config.write_text(CONFIG + CSV_PRICES)
    problem = only(check_config(config))
    assert problem.path == "accounts.main.broker_settings.prices.path"
    assert str(config.parent / "closes.csv") in problem.problem
    assert "no column VXUS" in problem.problem
    assert "add a column VXUS to the header (date,VTI,BND,VXUS)" in problem.fix
    with pytest.raises(ConfigError):
        load_config(config)  # start-up refuses it too


def test_each_missing_column_is_named(config: Path) -> None:
    (config.parent / "closes.csv").write_text("date,VTI\n2026-11-02,300\n")
    config.write_text(CONFIG + CSV_PRICES)
    problems = check_config(config)
    assert sorted(p.problem.split("no column ")[1].split(",")[0] for p in problems) == [
        "BND",
        "VXUS",
    ]


def test_a_price_file_with_every_column_is_accepted(config: Path) -> None:
    (config.parent / "closes.csv").write_text("date,VTI,BND,VXUS\n2026-11-02,300,72,60\n")
    config.write_text(CONFIG + CSV_PRICES)
    assert check_config(config) == []


def test_a_run_is_refused_at_start_up_before_anything_is_sent(config: Path) -> None:
    (config.parent / "closes.csv").write_text("date,VTI,BND\n2026-11-02,300,72\n")
    config.write_text(CONFIG + CSV_PRICES)
    result = CliRunner().invoke(app, ["run", "--once", "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert "no column VXUS" in result.output
    assert not (config.parent / "state" / "trimtab.db").exists()  # no broker, no order
