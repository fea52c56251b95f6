"""A progress bar for long commands, shown on a terminal only.

    with progress("importing lots", enabled=not as_json) as advance:
        import_lots(..., progress=advance)

`advance(done, total)` is the plain `daemon.core.progress.Progress` callback the work takes.
The bar is drawn on stderr, and only when both stdout and stderr are terminals: never in
`--json` output (pass `enabled=False`), never into a pipe, a file or a log collector, where
it would be noise between lines a program reads. It is transient: it disappears when the work
ends, leaving the command's own output as it was.
"""

from __future__ import annotations

__all__ = ["on_a_terminal", "progress"]

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from daemon.core.progress import Progress as Advance
from daemon.core.progress import no_progress


def on_a_terminal() -> bool:
    """Tell whether a person is watching: stdout and stderr both terminals."""
    return _isatty(sys.stdout) and _isatty(sys.stderr)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


@contextmanager
def progress(
    description: str, *, enabled: bool = True, console: Console | None = None
) -> Iterator[Advance]:
    """Yield a callback that draws a bar of (done, total), or one that does nothing.

    `console` is where to draw (a test passes a forced-terminal one); by default a stderr
    console, and only when `on_a_terminal()`.
    """
    if not enabled:
        yield no_progress
        return
    if console is None:
        if not on_a_terminal():
            yield no_progress
            return
        console = Console(stderr=True)
    if not console.is_terminal:
        yield no_progress
        return
    # Imported here, not above: every command module imports this one, and `--help` must
    # stay quick (rich.progress alone is a tenth of a second on a busy machine).
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        # Log lines written meanwhile go above the bar, not through it.
        redirect_stderr=True,
        redirect_stdout=False,
    )
    task = bar.add_task(description, total=None)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total or None)

    with bar:
        yield advance
