"""Fit a table to the console without losing a column or a character.

rich shrinks a table that is wider than the console by narrowing its widest columns, and a
value narrowed below its own length is cut with an ellipsis: on an 80-column terminal
`$12,900.00` read `$12,90…` and whole columns could shrink to nothing. `fit` instead gives
every column at least its longest word (a value that must not wrap, all of it) and shares
the rest of the width out, dropping the borders first if that is what it takes; when even
that is too wide it prints the table as one block of `Header  value` lines per row, which
fits any width. `daemon.cli.common`'s consoles pass
every table they print through it.
"""

from __future__ import annotations

__all__ = ["fit"]

from typing import TYPE_CHECKING

from rich import box
from rich.console import Group
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


def fit(table: Table, console: Console) -> RenderableType:
    """Return `table` with column widths that show every value whole within the console's
    width (without borders if need be), or the same rows as labelled blocks when the columns
    cannot fit side by side."""
    width = console.width
    columns = table.columns
    if not columns:
        return table
    ranges = [_measure(console, column) for column in columns]
    if _width(table, [high for _, high in ranges]) <= width:
        return table
    if _width(table, [low for low, _ in ranges]) > width:
        # Compact: one space between columns, a rule under the headers, no other lines.
        table.box = box.SIMPLE_HEAD
        table.show_edge = False
        table.show_lines = False
        table.pad_edge = False
        table.padding = (0, 0)
    least = _width(table, [low for low, _ in ranges])
    if least > width:
        return _blocks(table)
    spare = width - least
    wanted = [high - low for low, high in ranges]
    total = sum(wanted)
    for column, (low, high), want in zip(columns, ranges, wanted, strict=True):
        column.width = min(high, low + (spare * want // total if total else 0))
        # A value wider than its column folds onto the next line; nothing is ever cut.
        column.overflow = "fold"
    return table


def _width(table: Table, contents: list[int]) -> int:
    """Return the table's width with these content widths: padding and borders added."""
    padding = sum(_padding(table, index) for index in range(len(contents)))
    return sum(contents) + padding + _borders(table)


def _measure(console: Console, column: Column) -> tuple[int, int]:
    """Return the narrowest width that shows each cell's longest word (or, for a column
    that must not wrap, each cell whole) and the width that shows every cell on one line."""
    options = console.options.update(width=10_000)
    low = high = 1
    for cell in (column.header, *column.cells):
        measured = Measurement.get(console, options, cell)
        high = max(high, measured.maximum)
        low = max(low, measured.maximum if column.no_wrap else measured.minimum)
    return low, high


def _padding(table: Table, index: int) -> int:
    _, right, _, left = table.padding
    if not table.pad_edge:
        left = 0 if index == 0 else left
        right = 0 if index == len(table.columns) - 1 else right
    return left + right


def _borders(table: Table) -> int:
    if not table.box:
        return 0
    return len(table.columns) - 1 + (2 if table.show_edge else 0)


def _blocks(table: Table) -> RenderableType:
    """The narrow layout: each row as `Header  value` lines, a blank line between rows."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    headers = [column.header for column in table.columns]
    rows = list(zip(*(list(column.cells) for column in table.columns), strict=True))
    for number, row in enumerate(rows):
        if number:
            grid.add_row("", "")
        for header, cell in zip(headers, row, strict=True):
            if _is_empty(cell):
                continue
            grid.add_row(header, cell)
    if table.title is None:
        return grid
    # The title on its own line: in the grid it would wrap at the labels' width.
    return Group(table.title, grid)


def _is_empty(cell: RenderableType) -> bool:
    if isinstance(cell, str | Text):
        return not str(cell).strip()
    return False
