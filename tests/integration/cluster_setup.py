"""A cluster's test bench: a fresh PostgreSQL schema, a configuration of N simulated
accounts pointing at it, and helpers that read the queue and the sim's tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.conftest import POSTGRES_URL_ENV

ACCOUNTS_ENV = "TRIMTAB_CLUSTER_ACCOUNTS"
"""How many simulated accounts the cluster drill runs (default 200)."""


@dataclass(frozen=True)
class Bench:
    url: str
    """The SQLAlchemy URL of the fresh schema (search_path set)."""
    schema: str
    config: Path
    admin: Engine
    """An engine on the same schema, for the test's own reads."""

    def scalar(self, sql: str, **params: object) -> Any:
        with self.admin.connect() as c:
            return c.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        with self.admin.connect() as c:
            return [tuple(r) for r in c.execute(text(sql), params)]


def postgres_base() -> str:
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    return base


def cluster_config(
    url: str,
    accounts: int,
    *,
    seconds: float = 0.0,
    lease: str = "3",
    heartbeat: str = "0.5",
) -> str:
    """Return a paper-mode configuration of `accounts` simulated accounts on one schedule."""
    head = f"""
mode = "paper"
exchange = "24/7"
database_url = "{url}"
[scheduler]
misfire_grace_minutes = 5
stop_timeout_seconds = 30
[health]
heartbeat_seconds = 1
stale_after_seconds = 5
[notifications]
daily_digest = ""
[log]
format = "json"
[cluster]
enabled = true
heartbeat_seconds = "{heartbeat}"
lease_seconds = "{lease}"
takeover_seconds = "0.5"
retry_wait_seconds = 2
max_attempts = 15
"""
    body = [
        f"""
[accounts.a{i:04d}]
broker = "sim"
strategy = "tests.fakes.slow:SLOW_STRATEGY"
schedule = "every 1 minutes while open"
[accounts.a{i:04d}.strategy_params]
seconds = {seconds}
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.a{i:04d}.broker_settings]
starting_cash = "100000"
"""
        for i in range(accounts)
    ]
    return head + "".join(body)


def make_bench(tmp_path: Path, accounts: int, **options: object) -> Iterator[Bench]:
    """Yield a bench on a schema of its own, dropped afterwards (tests run in parallel)."""
    url = make_url(postgres_base())
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    schema = f"c_{uuid.uuid4().hex[:12]}"
    root = create_engine(url)
    with root.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = scoped.render_as_string(hide_password=False)
    config = tmp_path / "trimtab.toml"
    config.write_text(cluster_config(rendered, accounts, **options))  # type: ignore[arg-type]
    admin = create_engine(scoped)
    try:
        yield Bench(rendered, schema, config, admin)
    finally:
        admin.dispose()
        with root.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        root.dispose()
