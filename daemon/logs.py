"""structlog set-up: pretty on a terminal, JSON lines otherwise; configured once, at start.

A person at a terminal reads a command's tables, not its log: there only warnings and errors
are shown unless the command line asks for more (`trimtab -v` the configured `[log] level`,
`-vv` debug). A log going to a file, a pipe or journald keeps the configured level. The
daemon in the foreground (`trimtab run` without `--once`) logs at the configured level
wherever it writes: its log is its output.

structlog (and the rich tracebacks it loads) is imported when logging is configured or a
logger is made, not when this module is: `trimtab --help` logs nothing and starts without it.
"""

from __future__ import annotations

__all__ = [
    "Log",
    "configure_logging",
    "effective_level",
    "get_logger",
    "set_verbosity",
    "verbosity",
]

import logging
import sys
import threading
from typing import Any, Literal, Protocol


class Log(Protocol):
    """What trimtab asks of a logger: a constant snake_case event name and its fields.

    ============  ====================================================================
    method        use
    ============  ====================================================================
    bind          a logger that adds these fields to every line (account, cycle_id)
    debug..error  one line at that level
    exception     one error line with the exception being handled (frames, no locals)
    ============  ====================================================================

    `get_logger` returns one (a structlog bound logger); tests may pass structlog's own.
    """

    def bind(self, **context: Any) -> Log: ...
    def debug(self, event: str, **fields: Any) -> Any: ...
    def info(self, event: str, **fields: Any) -> Any: ...
    def warning(self, event: str, **fields: Any) -> Any: ...
    def error(self, event: str, **fields: Any) -> Any: ...
    def exception(self, event: str, **fields: Any) -> Any: ...


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


_verbosity = 0
"""How many `-v` the command line gave; see the module's docstring."""


def set_verbosity(count: int) -> None:
    """Record the command line's `-v` count for the next `configure_logging`."""
    global _verbosity  # noqa: PLW0603 - one process-wide setting, set once by the CLI
    _verbosity = count


def verbosity() -> int:
    """Return the `-v` count recorded by `set_verbosity`."""
    return _verbosity


def effective_level(level: str, *, terminal: bool) -> int:
    """Return the lowest level written: the configured one, raised to warnings on a terminal
    unless `-v` was given, lowered to debug by `-vv` anywhere."""
    configured = _LEVELS[level]
    if _verbosity >= 2:  # -vv
        return logging.DEBUG
    if terminal and _verbosity == 0:
        return max(configured, logging.WARNING)
    return configured


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed by a test runner
        return False


def configure_logging(level: str = "info", fmt: Literal["auto", "json", "pretty"] = "auto") -> None:
    """Route structlog to stderr as JSON lines, or pretty when stderr is a terminal."""
    import structlog
    from structlog.tracebacks import ExceptionDictTransformer

    terminal = _stderr_is_terminal()
    pretty = fmt == "pretty" or (fmt == "auto" and terminal)
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True, exception_formatter=_frames_only())
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
        wrapper_class=structlog.make_filtering_bound_logger(
            effective_level(level, terminal=terminal)
        ),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def _frames_only() -> Any:
    """Return the pretty format's exception formatter: rich's traceback (or the plain one
    without rich) with frames and source lines, never their local variables. structlog's
    default shows locals, and a local may hold a credential (a secrets file's bytes, a key).
    """
    import structlog

    try:
        import rich  # noqa: F401 - only to learn whether rich is installed
    except ImportError:
        return structlog.dev.plain_traceback
    return structlog.dev.RichTracebackFormatter(show_locals=False)


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


def get_logger(**context: Any) -> Log:
    """Return a logger with `context` bound."""
    import structlog

    logger: Log = structlog.get_logger("trimtab").bind(**context)
    return logger
