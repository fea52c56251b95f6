"""Crash drills: the session fixture, the `drill` marker and the summary at the end.

See `tests/drills/session.py` for the environment variables that size a drill.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drills.session import (
    DEFAULT_SEED,
    REPORT_ENV,
    SEED_ENV,
    WORKERS_ENV,
    DrillSession,
    env_int,
    summary,
)

DRILL = pytest.StashKey[DrillSession]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "drill: a crash drill with real trimtab processes (slow; -m 'not drill')"
    )


@pytest.fixture(scope="session")
def drill(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[DrillSession]:
    session = DrillSession(
        tmp_path_factory.mktemp("drills"),
        seed=env_int(SEED_ENV, DEFAULT_SEED),
        workers=env_int(WORKERS_ENV, 2),
    )
    request.config.stash[DRILL] = session
    wanted = [
        item.callspec.params["point_id"]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and hasattr(item, "callspec")
        and "point_id" in item.callspec.params
    ]
    session.start([w for w in wanted if w in session.points])
    try:
        yield session
    finally:
        session.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    session = terminalreporter.config.stash.get(DRILL, None)
    if session is None or not session.rows:
        return
    text = summary(session)
    terminalreporter.write_sep("=", "crash drill summary")
    terminalreporter.write_line(text)
    report = os.environ.get(REPORT_ENV)
    if report:
        Path(report).write_text(text + "\n")
