"""On a terminal a command shows its tables, not its log: warnings only unless -v; a log
written to a file or a pipe keeps the configured level."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.logs import configure_logging, effective_level, get_logger, set_verbosity, verbosity


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    set_verbosity(0)
    configure_logging()


@pytest.mark.parametrize(
    ("configured", "count", "terminal", "expected"),
    [
        ("info", 0, True, logging.WARNING),
        ("info", 0, False, logging.INFO),
        ("info", 1, True, logging.INFO),
        ("info", 1, False, logging.INFO),
        ("info", 2, True, logging.DEBUG),
        ("info", 2, False, logging.DEBUG),
        ("error", 0, True, logging.ERROR),
        ("debug", 0, False, logging.DEBUG),
        ("debug", 1, True, logging.DEBUG),
    ],
)
def test_effective_level(configured: str, count: int, terminal: bool, expected: int) -> None:
    set_verbosity(count)
    assert effective_level(configured, terminal=terminal) == expected


def _log_lines(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("info", "json")
    log = get_logger()
    log.info("cycle_started", account="a")
    log.warning("price_stale", symbol="VTI")
    return stream.getvalue().splitlines()


def test_a_terminal_shows_warnings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _log_lines(_Terminal(), monkeypatch)
    assert len(lines) == 1
    assert "price_stale" in lines[0]


def test_v_shows_the_configured_level_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    set_verbosity(1)
    lines = _log_lines(_Terminal(), monkeypatch)
    assert ["cycle_started" in lines[0], "price_stale" in lines[1]] == [True, True]


def test_a_file_or_pipe_keeps_the_configured_level(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _log_lines(io.StringIO(), monkeypatch)
    assert len(lines) == 2


def test_the_command_line_sets_the_verbosity() -> None:
    result = CliRunner().invoke(app, ["-vv", "config", "schema"])
    assert result.exit_code == 0, result.output
    assert verbosity() == 2
    result = CliRunner().invoke(app, ["config", "schema"])
    assert verbosity() == 0
