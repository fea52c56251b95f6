"""What the CLI prints is what it was given: no rich markup read from user or key text, no
raw control characters, no wrapping in a pipe, whatever the terminal's width."""

from __future__ import annotations

import ast
import io
import re
import sys
from pathlib import Path

import pytest
import typer
from rich.table import Table

from daemon.cli.common import (
    console,
    err_console,
    fail,
    print_config_error,
    styled,
    visible,
)
from daemon.core.errors import ConfigError, ConfigProblem

REPO = Path(__file__).resolve().parents[2]

# Text a config file, a CSV cell, a broker message or a key path may hold.
HOSTILE = [
    "[/x]",
    "[bold]whenever",
    "declare it under [tax.outside_accounts] (declared so far: none)",
    "put the token under [notifications]",
    "[section]",
    "[link=http://x]y[/link]",
    ":warning: emoji code",
    "back\\[slash]",
]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_visible_escapes_control_characters_and_keeps_lines() -> None:
    assert visible("a\x1b[31mred\x07") == "a\\x1b[31mred\\x07"
    assert visible("\u202eevil") == "\\u202eevil"
    assert visible("cr\rlf") == "cr\\x0dlf"
    assert visible("two\nlines\tand a tab") == "two\nlines\tand a tab"
    assert visible("naïve € ok") == "naïve € ok"


@pytest.mark.parametrize("text", HOSTILE)
def test_fail_prints_the_text_literally(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exited:
        fail(f"schedule {text!r} is not a schedule", 2)
    assert exited.value.exit_code == 2
    assert capsys.readouterr().err == f"error: schedule {text!r} is not a schedule\n"


@pytest.mark.parametrize("text", HOSTILE)
def test_config_problems_print_literally(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    print_config_error(ConfigError([ConfigProblem(f"accounts.{text}", text, f"fix {text}")]))
    assert capsys.readouterr().err.splitlines() == [
        "configuration has 1 problem(s):",
        f"  accounts.{text}: {text}",
        f"      fix: fix {text}",
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_console_strings_styled_lines_and_table_cells_are_literal(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    console.print(text)
    console.print(text, style="green")
    console.print(styled((text, "bold"), " and ", text))
    table = Table(title=text)
    table.add_column(text)
    table.add_row(text)
    console.print(table)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:3] == [text, text, f"{text} and {text}"]
    assert out.count(text) == 4 + 3  # the lines above; the title, the header and the cell


def test_control_characters_from_a_file_are_shown_not_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cell = "brokerage\x1b[2J\x1b[31m"
    console.print(f"account {cell}")
    table = Table()
    table.add_column("Account")
    table.add_row(cell)
    console.print(table)
    with pytest.raises(typer.Exit):
        fail(f"unknown account {cell}")
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "account brokerage\\x1b[2J\\x1b[31m" in captured.out
    assert "│ brokerage\\x1b[2J\\x1b[31m │" in captured.out
    assert captured.err == "error: unknown account brokerage\\x1b[2J\\x1b[31m\n"


def test_a_pipe_gets_whole_lines_even_after_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The consoles follow the stream of the moment: one made for a 40-column terminal is not
    reused when the same process later writes to a pipe (a test runner, `2> file`)."""
    monkeypatch.setenv("COLUMNS", "40")
    long = "error text " * 12 + "/tmp/" + "deep/" * 20 + "lots.csv"
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    err_console.print(long)
    assert len(terminal.getvalue().splitlines()) > 1  # wrapped at the terminal's 40 columns
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with pytest.raises(typer.Exit):
        fail(long)
    assert pipe.getvalue() == f"error: {long}\n"
    assert "\x1b" not in pipe.getvalue()


def test_a_pipe_lays_tables_out_on_a_fixed_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Table layout in a pipe does not depend on $COLUMNS: tests see the same at any size."""
    outputs = []
    for columns in ("40", "300"):
        monkeypatch.setenv("COLUMNS", columns)
        pipe = io.StringIO()
        monkeypatch.setattr(sys, "stdout", pipe)
        table = Table()
        for name in ("Account", "Detail"):
            table.add_column(name)
        table.add_row("brokerage", "word " * 40)
        console.print(table)
        outputs.append(pipe.getvalue())
    assert outputs[0] == outputs[1]


# Rich markup tags as they would be written in a string meant for rich: `[bold]`, `[/]`,
# `[red]...`, `[bold red]`, `[link=...]`.
_STYLE_WORDS = (
    "bold|dim|italic|underline|reverse|strike|blink|link|"
    "red|green|yellow|blue|magenta|cyan|white|black|bright_\\w+|grey\\d*|on \\w+"
)
_MARKUP = re.compile(rf"\[/\]|\[/?(?:(?:not )?(?:{_STYLE_WORDS}))(?:[ =][^\]]*)?\]")


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
    return found


def _python_files() -> list[Path]:
    return sorted(
        [*REPO.joinpath("daemon").rglob("*.py"), *REPO.joinpath("adapters").rglob("*.py")]
    )


def test_no_module_writes_rich_markup_or_reads_it() -> None:
    """The consoles take every string literally, so markup in a string would print as
    brackets; and nothing may turn text back into markup (`Text.from_markup`, `escape`,
    `markup=True`), which is how user text got read as styles."""
    problems = []
    for path in _python_files():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        name = path.relative_to(REPO)
        for line, text in _strings(tree):
            if _MARKUP.search(text):
                problems.append(f"{name}:{line}: rich markup in {text!r}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "rich.markup":
                problems.append(f"{name}:{node.lineno}: imports rich.markup")
            if isinstance(node, ast.Attribute) and node.attr == "from_markup":
                problems.append(f"{name}:{node.lineno}: Text.from_markup")
            if (
                isinstance(node, ast.keyword)
                and node.arg == "markup"
                and not (isinstance(node.value, ast.Constant) and node.value.value is False)
            ):
                problems.append(f"{name}:{node.lineno}: markup= other than False")
    assert problems == []


def test_the_markup_pattern_finds_what_it_should() -> None:
    """The scan above cannot pass by matching nothing."""
    for text in ("[bold]x[/]", "[bold red]x", "[green]ok[/green]", "[/]", "[link=http://a]"):
        assert _MARKUP.search(text), text
    for text in ("[tax.outside_accounts]", "[notifications]", "[redacted]", "prices[0]", "[/x]"):
        assert not _MARKUP.search(text), text
