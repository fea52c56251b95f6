"""structlog set-up: pretty on a terminal, JSON lines otherwise; configured once, at start."""

from __future__ import annotations

__all__ = ["configure_logging", "get_logger"]

import logging
import sys
import threading
from typing import Any, Literal

import structlog
from structlog.tracebacks import ExceptionDictTransformer

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(level: str = "info", fmt: Literal["auto", "json", "pretty"] = "auto") -> None:
    """Route structlog to stderr as JSON lines, or pretty when stderr is a terminal."""
    pretty = fmt == "pretty" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True)
        if pretty
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Frames only, never their local variables: a local may hold a credential.
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
            if not pretty
            else _passthrough,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


_WRITE_LOCK = threading.Lock()


class _StderrLogger:
    """Write each line to the `sys.stderr` of the moment, not the one seen at configuration
    (a test runner that swaps and closes stderr must not break later log lines)."""

    def msg(self, message: str) -> None:
        # One write per line under one lock: the daemon logs from several threads, and a
        # line must never be split by another.
        with _WRITE_LOCK:
            stream = sys.stderr
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = err = error = msg
    critical = exception = fatal = failure = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def _passthrough(_logger: Any, _name: str, event: Any) -> Any:
    return event


def get_logger(**context: Any) -> Any:
    """Return a logger with `context` bound."""
    return structlog.get_logger("trimtab").bind(**context)
