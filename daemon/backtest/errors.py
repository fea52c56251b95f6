"""The backtest's bad-input error."""

from __future__ import annotations

__all__ = ["BacktestInputError"]

from daemon.core.errors import DataError


class BacktestInputError(DataError):
    """A price file, dividends file, date range, flow or `--vary` the backtest cannot use; the
    message names the file, row and symbol (or the key) and the fix."""
