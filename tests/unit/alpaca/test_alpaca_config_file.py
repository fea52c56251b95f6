"""An Alpaca account in trimtab's config file: keys refused in the file, modes and
environments that must agree (paper mode never trades a live account)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config.settings import LIVE_CONFIRMATION, check_config, load_config

ENV = "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__"


def write(tmp_path: Path, mode: str, settings: str) -> Path:
    confirmation = f'live_confirmation = "{LIVE_CONFIRMATION}"\n' if mode == "live" else ""
    path = tmp_path / "trimtab.toml"
    path.write_text(
        f'mode = "{mode}"\n{confirmation}[accounts.main]\nbroker = "alpaca"\n'
        f'strategy = "static"\n[accounts.main.broker_settings]\n{settings}\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    return path


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV + "API_KEY_ID", "PKFROMENV")
    monkeypatch.setenv(ENV + "API_SECRET_KEY", "secret-from-env")


def test_keys_from_the_environment_are_secret_in_the_loaded_settings(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, "paper", 'environment = "paper"\nfeed = "sip"'))
    table = settings.accounts["main"].broker_settings
    assert table["environment"] == "paper"
    assert table["feed"] == "sip"
    assert "secret-from-env" not in repr(table)


def test_keys_written_in_the_config_file_are_refused_with_the_variable_to_use(
    tmp_path: Path,
) -> None:
    text = 'environment = "paper"\napi_secret_key = "in-the-file"'
    problems = check_config(write(tmp_path, "paper", text))
    [problem] = [p for p in problems if p.path.endswith("api_secret_key")]
    assert problem.problem == "a credential is written in the config file"
    assert ENV + "API_SECRET_KEY" in problem.fix
    assert "in-the-file" not in str(problems)


@pytest.mark.parametrize(
    ("mode", "environment", "ok"),
    [
        ("paper", "paper", True),
        ("paper", "live", False),
        ("dry-run", "live", True),
        ("live", "live", True),
        ("live", "paper", False),
    ],
)
def test_mode_and_environment_must_agree(
    tmp_path: Path, mode: str, environment: str, ok: bool
) -> None:
    problems = check_config(write(tmp_path, mode, f'environment = "{environment}"'))
    mismatch = [p for p in problems if p.path == "mode"]
    assert (mismatch == []) is ok, problems
    if not ok:
        assert "account(s) main" in mismatch[0].problem


def test_the_environment_must_be_written_out(tmp_path: Path) -> None:
    problems = check_config(write(tmp_path, "paper", ""))
    assert [p.path for p in problems] == ["accounts.main.broker_settings.environment"]
