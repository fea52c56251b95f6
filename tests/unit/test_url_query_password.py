"""A PostgreSQL password given in the URL's query string (libpq's `?password=`, which
SQLAlchemy hands to the driver as a connection parameter) is a password like the one in the
user info: hidden as `***` in messages, a secret to scrub, and refused in the config file.

libpq marks its secret connection parameters (`PQconndefaults`, display character `*`):
`password`, `sslpassword` (the client key's passphrase), `oauth_client_secret`; and two debug
ones that authenticate as well as a password does, `scram_client_key`, `scram_server_key`.
SQLAlchemy decodes the query (`parse_qsl`: percent-escapes, `+` as a space) and keeps the
key's case; trimtab hides a key in any case, the safe side."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from daemon.cli import app
from daemon.config.secrets import secret_values
from daemon.config.settings import check_config, load_config
from daemon.config.urls import SECRET_PARAMETERS, hide_password, url_secrets

SECRET = "Hunter2Secret"
BASE = "postgresql+psycopg://bob@127.0.0.1:5432/nodb"
MINIMAL = """
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
"""


def test_libpqs_secret_parameters_are_all_known() -> None:
    """Every parameter the installed libpq shows as a password (`*`) is one trimtab hides."""
    from psycopg import pq

    starred = {
        option.keyword.decode() for option in pq.Conninfo.get_defaults() if option.dispchar == b"*"
    }
    assert {"password", "sslpassword"} <= starred
    assert starred <= SECRET_PARAMETERS


def _sqlalchemy_secrets(url: str) -> list[str]:
    """Return the values of the secret parameters SQLAlchemy hands the driver."""
    found: list[str] = []
    for key, value in make_url(url).query.items():
        if key.lower() in SECRET_PARAMETERS:
            found.extend([value] if isinstance(value, str) else value)
    return found


URLS = [
    (f"{BASE}?password={SECRET}", f"{BASE}?password=***"),
    (f"{BASE}?sslmode=require&password={SECRET}", f"{BASE}?sslmode=require&password=***"),
    (
        f"{BASE}?password={SECRET}&sslmode=require",
        f"{BASE}?password=***&sslmode=require",
    ),
    (f"{BASE}?PassWord={SECRET}", f"{BASE}?PassWord=***"),
    (f"{BASE}?pass%77ord={SECRET}", f"{BASE}?pass%77ord=***"),
    (
        f"{BASE}?sslkey=/k.pem&sslpassword={SECRET}",
        f"{BASE}?sslkey=/k.pem&sslpassword=***",
    ),
    (f"{BASE}?oauth_client_secret={SECRET}", f"{BASE}?oauth_client_secret=***"),
    (f"{BASE}?scram_client_key={SECRET}", f"{BASE}?scram_client_key=***"),
    # In the user info and the query both.
    (
        f"postgresql+psycopg://bob:Other5ecret@db/x?password={SECRET}",
        "postgresql+psycopg://bob:***@db/x?password=***",
    ),
]


@pytest.mark.parametrize(("url", "shown"), URLS)
def test_a_query_password_is_hidden_and_a_secret(url: str, shown: str) -> None:
    assert hide_password(url) == shown
    assert SECRET not in hide_password(url)
    secrets = url_secrets(url)
    assert set(_sqlalchemy_secrets(url)) <= secrets
    assert SECRET in secrets


def test_a_query_password_with_an_unencoded_ampersand_is_hidden_whole() -> None:
    """SQLAlchemy sends `Hunter2` and drops `Secret` (no `=`): both are secrets."""
    url = f"{BASE}?password=Hunter2&Secret&sslmode=require"
    assert hide_password(url) == f"{BASE}?password=***&sslmode=require"
    assert _sqlalchemy_secrets(url) == ["Hunter2"]
    assert {"Hunter2", "Secret", "Hunter2&Secret"} <= url_secrets(url)


def test_other_parameters_are_shown_as_they_are() -> None:
    for url in (
        f"{BASE}?sslmode=require&application_name=trimtab",
        f"{BASE}?options=-csearch_path%3Dt_1&passfile=/etc/pgpass",
        f"{BASE}?sslkey=/etc/trimtab/client.key",
        "sqlite:////var/lib/trimtab/trimtab.db?mode=ro",
    ):
        assert hide_password(url) == url
        assert url_secrets(url) == frozenset()


@given(
    value=st.text(st.characters(exclude_categories=["Cs"]), min_size=1),
    key=st.sampled_from(sorted(SECRET_PARAMETERS)),
    before=st.booleans(),
    encode=st.sampled_from([quote, quote_plus]),
)
@example(value="a b+c", key="password", before=False, encode=quote_plus)
@example(value="p=w", key="sslpassword", before=True, encode=quote)
def test_any_query_secret_is_hidden_where_sqlalchemy_finds_it(
    value: str, key: str, before: bool, encode: object
) -> None:
    assert callable(encode)
    written = f"{key}={encode(value, safe='')}"
    query = f"{written}&sslmode=require" if before else f"sslmode=require&{written}"
    url = f"{BASE}?{query}"
    [found] = _sqlalchemy_secrets(url)
    assert found == value
    assert value in url_secrets(url)
    hidden = make_url(hide_password(url)).query
    assert hidden[key] == "***"
    assert hidden["sslmode"] == "require"


def test_secret_values_hold_the_query_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What every message, audit record and report is scrubbed of."""
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRIMTAB_DATABASE_URL", f"{BASE}?password={SECRET}")
    config = tmp_path / "trimtab.toml"
    config.write_text(MINIMAL)
    assert SECRET in secret_values(load_config(config))


@pytest.mark.parametrize(
    "written",
    [
        f"?password={SECRET}",
        f"?sslmode=require&sslpassword={SECRET}",
        f"?PASSWORD={SECRET}",
        f"?pass%77ord={SECRET}",
    ],
)
def test_a_query_password_in_the_config_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "trimtab.toml"
    config.write_text(f'database_url = "{BASE}{written}"\n' + MINIMAL)
    [problem] = check_config(config)
    assert problem.path == "database_url"
    assert "password" in problem.problem
    assert "TRIMTAB_DATABASE_URL" in problem.fix
    assert "secrets file" in problem.fix
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert SECRET not in result.output
    assert SECRET not in str(problem)


def test_the_same_url_from_the_environment_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRIMTAB_DATABASE_URL", f"{BASE}?password={SECRET}")
    config = tmp_path / "trimtab.toml"
    config.write_text(MINIMAL)
    assert check_config(config) == []
