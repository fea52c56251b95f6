"""The backtest's bad-input error."""

from __future__ import annotations

__all__ = ["BacktestInputError", "read_input_text"]

from pathlib import Path

from daemon.core.errors import DataError


class BacktestInputError(DataError):
    """A price file, dividends file, date range, flow or `--vary` the backtest cannot use; the
    message names the file, row and symbol (or the key) and the fix."""


def read_input_text(path: Path, noun: str) -> str:
    """Return an input file's text as the csv module wants it (line ends kept, a UTF-8 BOM
    dropped); raise `BacktestInputError` naming `noun` and the file when it cannot be read."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise BacktestInputError(f"{noun} {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise BacktestInputError(f"{noun} {path} is a directory, not a CSV file") from exc
    except PermissionError as exc:
        raise BacktestInputError(f"{noun} {path} is not readable: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise BacktestInputError(f"{noun} {path} is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise BacktestInputError(f"{noun} {path} cannot be read: {exc.strerror}") from exc
