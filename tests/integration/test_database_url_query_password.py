"""A PostgreSQL password in the URL's query string (`?password=`, libpq's form, which psycopg
accepts through SQLAlchemy) is never shown: not in the error naming a database that cannot be
reached, not in `trimtab db init`'s answer, not in the state directory's marker file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.core.errors import StateError
from daemon.store.db import MARKER_NAME, open_database

SECRET = "Hunter2Secret"
CONFIG = """
state_dir = "state"
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "trimtab.toml"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize("key", ["password", "sslpassword", "Password"])
def test_an_unreachable_database_is_named_without_its_query_password(
    tmp_path: Path, key: str
) -> None:
    url = f"postgresql+psycopg://postgres@nohost.invalid/test?sslmode=disable&{key}={SECRET}"
    with pytest.raises(StateError) as raised:
        open_database(url, tmp_path / "state")
    message = str(raised.value)
    assert message.startswith(
        f"cannot reach database postgresql+psycopg://postgres@nohost.invalid/test"
        f"?sslmode=disable&{key}=***: "
    )
    assert SECRET not in message


def test_the_cli_names_an_unreachable_database_without_its_query_password(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "TRIMTAB_DATABASE_URL",
        f"postgresql+psycopg://bob@nohost.invalid:5432/nodb?password={SECRET}",
    )
    for command in (["status"], ["run"]):
        result = CliRunner().invoke(app, [*command, "-c", str(config)])
        assert result.exit_code != 0, result.output
        assert "cannot reach database" in result.output
        assert "nodb?password=***" in result.output
        assert SECRET not in result.output


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_db_init_shows_and_records_the_database_without_its_query_password(
    config: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    # The test server trusts its clients: the password is sent and ignored.
    monkeypatch.setenv("TRIMTAB_DATABASE_URL", f"{database_url}&password={SECRET}")
    result = CliRunner().invoke(app, ["db", "init", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "database ready at" in result.output
    assert "password=***" in result.output
    assert SECRET not in result.output
    marker = config.parent / "state" / MARKER_NAME
    recorded = json.loads(marker.read_text())["database"]
    assert recorded.endswith("&password=***")
    assert SECRET not in marker.read_text()
