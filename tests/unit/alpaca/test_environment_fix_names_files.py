"""The fix for an Alpaca setting that contradicts `environment` names the right place for each
key: `environment`, `mode` and `live_confirmation` live in the config file; the keys come
from the secrets file or the environment.

Before, an AK (live) key under `environment = "paper"` read from the secrets file said to set
`environment = "live", mode = "live" and live_confirmation, in secrets file secrets.toml`:
the loader names the value's source at the end of the fix, and the config keys came last.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daemon.config.settings import load_config
from daemon.core.errors import ConfigError, ConfigProblem

SECRET = "s3cr3t-value-never-shown"
KEY_ENV = "TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__API_KEY_ID"
PLACES = re.compile(r"config file|secrets file|environment variable")


def write_config(tmp_path: Path, environment: str, mode: str, extra: str = "") -> Path:
    path = tmp_path / "trimtab.toml"
    path.write_text(
        f"""\
mode = "{mode}"
state_dir = "state"
secrets_file = "secrets.toml"
{'live_confirmation = "I understand trimtab will trade real money"' if mode == "live" else ""}

[accounts.main]
broker = "alpaca"
strategy = "static"

[accounts.main.broker_settings]
environment = "{environment}"
{extra}

[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
"""
    )
    return path


def write_secrets(tmp_path: Path, key_id: str | None) -> Path:
    path = tmp_path / "secrets.toml"
    lines = ["[accounts.main.broker_settings]", f'api_secret_key = "{SECRET}"']
    if key_id is not None:
        lines.append(f'api_key_id = "{key_id}"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def refused(config: Path) -> ConfigProblem:
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    (problem,) = caught.value.problems
    assert SECRET not in str(problem)
    return problem


def place_after(fix: str, words: str) -> str:
    """Return the first place (config file, secrets file, environment variable) the fix names
    after `words`: where it tells the reader to make that change."""
    found = PLACES.search(fix, fix.index(words))
    assert found is not None, fix
    return found.group()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL", KEY_ENV):
        monkeypatch.delenv(name, raising=False)


def test_a_live_key_in_the_secrets_file_under_paper(tmp_path: Path) -> None:
    config = write_config(tmp_path, "paper", "paper")
    secrets = write_secrets(tmp_path, "AKLIVE00000001")
    problem = refused(config)
    assert problem.path == "accounts.main.broker_settings.api_key_id"
    for key in ('environment = "live"', 'mode = "live"', "live_confirmation"):
        assert place_after(problem.fix, key) == "config file", problem.fix
    assert place_after(problem.fix, "paper account's keys") == "secrets file", problem.fix
    assert str(secrets) in problem.fix


def test_a_live_key_in_the_environment_under_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, "paper", "paper")
    write_secrets(tmp_path, None)
    monkeypatch.setenv(KEY_ENV, "AKLIVE00000002")
    problem = refused(config)
    for key in ('environment = "live"', 'mode = "live"', "live_confirmation"):
        assert place_after(problem.fix, key) == "config file", problem.fix
    assert place_after(problem.fix, "paper account's keys") == "environment variable"


def test_a_paper_key_in_the_secrets_file_under_live(tmp_path: Path) -> None:
    config = write_config(tmp_path, "live", "live")
    write_secrets(tmp_path, "PKPAPER0000001")
    problem = refused(config)
    for key in ('environment = "paper"', "a mode that is not live"):
        assert place_after(problem.fix, key) == "config file", problem.fix
    assert place_after(problem.fix, "live account's keys") == "secrets file", problem.fix


def test_a_live_host_under_paper_names_the_config_file_for_the_config_keys(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path, "paper", "paper", extra='base_url = "https://api.alpaca.markets"'
    )
    write_secrets(tmp_path, "PKPAPER0000001")
    problem = refused(config)
    assert problem.path == "accounts.main.broker_settings.base_url"
    assert "remove base_url" in problem.fix
    for key in ('environment = "live"', 'mode = "live"', "live_confirmation"):
        assert place_after(problem.fix, key) == "config file", problem.fix
