"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured).

Before collection, the hypothesis profile `HYPOTHESIS_PROFILE` names is loaded (see
`tests/hypothesis_profiles.py`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from daemon.bootstrap import broker_migrations
from daemon.store.db import Database, open_database
from tests.hypothesis_profiles import load_profile
from tests.migrated_copy import migrated_sqlite

POSTGRES_URL_ENV = "TRIMTAB_TEST_DATABASE_URL"
SQLITE_PREFIX = "sqlite:///"

# Where bytecode is cached for this process and every `trimtab` process the tests start. Some
# sandboxes set PYTHONDONTWRITEBYTECODE (and a virtual environment may not be writable), so each
# real process would compile every module it imports from source again: seconds per process,
# most of the README walk's time. A prefix of our own keeps the compiled files between
# processes and runs; Python checks each against its source, so a stale one is never used.
PYCACHE = Path(tempfile.gettempdir()) / f"trimtab-test-pycache-{sys.implementation.cache_tag}"
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
sys.dont_write_bytecode = False
sys.pycache_prefix = str(PYCACHE)


def pytest_configure(config: pytest.Config) -> None:
    """Load the hypothesis profile before any test module builds its settings from it."""
    load_profile()


def _postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_ENV) or None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}"
        return
    base = _postgres_url()
    if base is None:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    yield from _postgres_schema(base)


def _postgres_schema(base: str) -> Iterator[str]:
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of either kind, closed after the test (SQLite's a copy of one
    migrated once per process: `tests/migrated_copy.py`)."""
    state = tmp_path / "state"
    if database_url.startswith(SQLITE_PREFIX):
        path = Path(database_url.removeprefix(SQLITE_PREFIX))
        db = migrated_sqlite(path, state, broker_migrations())
    else:
        db = open_database(database_url, state, branches=broker_migrations())
    yield db
    db.close()


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of `config.example.toml` in the test's folder, read without the caller's
    TRIMTAB_CONFIG, TRIMTAB_SECRETS_FILE or TRIMTAB_DATABASE_URL."""
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.toml"
    shutil.copy(Path(__file__).resolve().parents[1] / "config.example.toml", path)
    return path
