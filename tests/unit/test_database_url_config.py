"""A database URL trimtab could not open is a configuration problem (`trimtab config check`
exit 2, naming the key, where the value came from and the fix), never a traceback at the first
cycle, and never echoes the password."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from typer.testing import CliRunner

from daemon.cli import app
from daemon.config.settings import check_config, load_config
from daemon.config.urls import database_url_problem

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "S3cret@PW99"


@pytest.fixture
def config(example: Path) -> Path:
    return example  # tests/conftest.py


@pytest.mark.parametrize(
    ("url", "problem", "fix"),
    [
        (
            f"postgresql+psycopg://postgres:{PASSWORD}@nohost.invalid/test",
            "more than one unencoded @",
            "percent-encode @ in the password as %40",
        ),
        (
            "postgres://postgres:S3cretPW99@db.example/trimtab",
            "postgres:// is not a scheme SQLAlchemy knows",
            "write postgresql+psycopg:// instead of postgres://",
        ),
        (
            "postgresql+psycopg://postgres:S3cretPW99@db.example:54x2/trimtab",
            "its port is not a number",
            "HOST:5432",
        ),
        ("S3cretPW99", "it is not a URL", "postgresql+psycopg://USER@HOST:5432/DB"),
        ("mysql://root:S3cretPW99@db.example/trimtab", "not mysql", "postgresql+psycopg://"),
        (
            "postgresql+nosuchdriver://u:S3cretPW99@db.example/trimtab",
            "trimtab does not run on the driver postgresql+nosuchdriver",
            "postgresql+psycopg://",
        ),
        (
            "postgresql+pg8000://u:S3cretPW99@db.example/trimtab",
            "(pg8000) is not installed",
            "write postgresql+psycopg://",
        ),
        (
            "postgresql+asyncpg://u:S3cretPW99@db.example/trimtab",
            "trimtab does not run on the driver postgresql+asyncpg",
            "write postgresql+psycopg://",
        ),
    ],
)
def test_an_unusable_database_url_is_a_config_problem(
    config: Path, monkeypatch: pytest.MonkeyPatch, url: str, problem: str, fix: str
) -> None:
    monkeypatch.setenv("TRIMTAB_DATABASE_URL", url)
    [found] = check_config(config)
    assert found.path == "database_url"
    assert problem in found.problem
    assert "environment variable TRIMTAB_DATABASE_URL" in found.problem
    assert fix in found.fix
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for shown in (str(found), result.output):
        assert "S3cret" not in shown
        assert "PW99" not in shown


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://trimtab:S3cret%40PW99@db.example:5432/trimtab",
        "postgresql+psycopg://trimtab@db.example/trimtab?sslmode=require",
        "sqlite:////var/lib/trimtab/state@home/trimtab.db",
    ],
)
def test_a_usable_database_url_is_accepted(
    config: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("TRIMTAB_DATABASE_URL", url)
    settings = load_config(config)
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == url


SAMPLES = [
    "postgresql+psycopg://trimtab:S3cret%40PW99@db.example:5432/trimtab",
    "postgresql+psycopg://trimtab@[::1]:5433/trimtab?sslmode=require",
    "postgresql+psycopg://trimtab@db.example:/trimtab",
    "postgresql+psycopg://trimtab@db.example:+5432/trimtab",
    "postgresql+psycopg://trimtab@db.example:54x2/trimtab",
    "postgresql+psycopg://db.example:-1/trimtab",
    "postgresql+psycopg2://u@h/d",
    "postgresql://u@h/d",
    "postgresql+psycopg_async://u@h/d",
    "sqlite:////var/lib/trimtab/trimtab.db",
    "sqlite+pysqlite:///relative.db",
    "sqlite+aiosqlite:///relative.db",
    "oracle://u@h/d",
    "1nvalid+scheme://u@h/d",
    "no-scheme://u@h/d",
    "://u@h/d",
]


@pytest.mark.parametrize("url", SAMPLES)
def test_the_check_accepts_exactly_what_sqlalchemy_can_open(url: str) -> None:
    """The configuration may not import SQLAlchemy; its own check must agree with it."""
    try:
        dialect = make_url(url).get_dialect()
        dialect.import_dbapi()
        usable = not dialect.is_async and dialect.name in ("sqlite", "postgresql")
    except (ArgumentError, ValueError, ImportError):  # NoSuchModuleError is an ArgumentError
        usable = False
    assert (database_url_problem(url) is None) == usable
