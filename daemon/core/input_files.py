"""Read a user's input file (a CSV of prices, dividends, downloads) with one error per way
it can fail to open, each naming the file: the backtest, `trimtab prices` and the simulated
broker's price source share it."""

from __future__ import annotations

__all__ = ["read_input_text"]

from collections.abc import Callable
from pathlib import Path

from daemon.core.errors import DataError


def read_input_text(path: Path, noun: str, error: Callable[[str], Exception] = DataError) -> str:
    """Return the file's text as the csv module wants it (line ends kept, a UTF-8 BOM
    dropped); raise `error(message)` naming `noun` and the file when it cannot be read."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise error(f"{noun} {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise error(f"{noun} {path} is a directory, not a CSV file") from exc
    except PermissionError as exc:
        raise error(f"{noun} {path} is not readable: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{noun} {path} is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise error(f"{noun} {path} cannot be read: {exc.strerror}") from exc
