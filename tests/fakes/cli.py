"""What tests that run trimtab's commands in-process share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """Put structlog back to its defaults after the test.

    A command configures logging onto the `sys.stderr` of the moment, and typer's CliRunner
    swaps in a buffer it closes afterwards; a later test that logs would write to that
    closed buffer ("I/O operation on closed file").
    """
    yield
    structlog.reset_defaults()
