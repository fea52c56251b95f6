"""How long work says how far it has got: a plain callback, so the kernel stays pure.

A function that may run for seconds takes `progress: Progress = no_progress` and calls it
with (done, total) as it goes; the command line turns the calls into a bar on a terminal
(`daemon.cli.progress`), and everything else passes nothing and pays nothing.
"""

from __future__ import annotations

__all__ = ["Progress", "no_progress"]

from collections.abc import Callable

Progress = Callable[[int, int], None]
"""Called with (units done, units in all); `total` may grow as the work learns its size."""


def no_progress(done: int, total: int) -> None:
    """Ignore progress: the default for every caller that shows none."""
