"""No log format prints a frame's local variables: an exception logged while a local holds a
secret (a secrets file's bytes, an API key) shows the frames, never the secret."""

from __future__ import annotations

import io
import sys
from typing import Literal

import pytest

from daemon.logs import configure_logging, get_logger

SECRET = "PKSECRETKEY-d41d8cd98f00"


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a person's shell is (the `auto` format)."""

    def isatty(self) -> bool:
        return True


def _fail_with_a_secret_in_a_local() -> None:
    raw = f'api_key = "{SECRET}"\n'.encode()
    raise ValueError(f"cannot read it ({len(raw)} bytes)")


@pytest.mark.parametrize(
    ("fmt", "terminal"),
    [("json", False), ("pretty", False), ("auto", False), ("auto", True), ("pretty", True)],
)
def test_no_format_prints_a_local_variable(
    monkeypatch: pytest.MonkeyPatch, fmt: Literal["auto", "json", "pretty"], terminal: bool
) -> None:
    out = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("info", fmt)
    try:
        _fail_with_a_secret_in_a_local()
    except ValueError:
        get_logger().exception("config_reload_failed")
    text = out.getvalue()
    assert "config_reload_failed" in text
    assert "_fail_with_a_secret_in_a_local" in text  # the frames are there
    assert "cannot read it" in text  # and the error
    assert SECRET not in text
