"""What every command shares: the --config option, the consoles, and turning errors into exits.

Every message trimtab prints may carry user or key text: a config value, a CSV cell, a key
path like `[tax.outside_accounts]`. So the consoles here never read rich markup (a `[/x]` in a
schedule would crash rich, a bold tag would restyle the line) and show control characters
from input files as visible escapes. Style is given as data: `console.print(text,
style="green")`, or `styled(("error:", "bold red"), " ", message)` for a line of parts.
`tests/unit/test_cli_output.py` keeps markup out of the command modules.
"""

from __future__ import annotations

__all__ = [
    "ConfigOption",
    "JsonOption",
    "PlainConsole",
    "config_path",
    "console",
    "err_console",
    "fail",
    "freeze_after_loading",
    "handle_errors",
    "load_app",
    "print_config_error",
    "print_json",
    "styled",
    "visible",
]

import gc
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn, cast

import typer
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from daemon.cli.tables import fit
from daemon.core.errors import ConfigError, TrimtabError

if TYPE_CHECKING:
    from daemon.bootstrap import App

DEFAULT_CONFIG = Path("trimtab.toml")
CONFIG_ENV = "TRIMTAB_CONFIG"
# Piped or redirected output (a log file, an e-mail, a test) has no width of its own: tables
# are laid out on a page this wide, and messages are never wrapped at all.
PAGE_WIDTH = 140

# C0 and C1 control characters except newline and tab, DEL, and the bidirectional overrides
# and isolates that reorder what a terminal shows (a CSV cell could make "sell" read "lles").
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Return `text` with control characters shown as escapes (`\\x1b`, `\\u202e`), not sent."""
    return _INVISIBLE.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class PlainConsole(Console):
    """A console that takes every string literally: no markup, no emoji codes, no control
    characters. Tables' cells, titles and headers are strings rendered here too; a table is
    fitted to the width first (`daemon.cli.tables`)."""

    def render_str(self, text: str, **options: Any) -> Text:
        options["markup"] = False
        options["emoji"] = False
        return super().render_str(visible(text), **options)

    def print(self, *objects: Any, **options: Any) -> None:
        # A table wider than the console keeps every column and every character.
        fitted = [fit(o, self) if isinstance(o, Table) else o for o in objects]
        super().print(*fitted, **options)


class _StreamConsole:
    """The console for whatever `sys.stdout` (or `sys.stderr`) is at the moment of printing.

    Built when first used on a stream rather than at import: whether the stream is a terminal
    decides colour, width and wrapping, and a test runner or a pipe may swap the stream after
    this module is imported (a console made for a terminal at import would wrap an error at
    the terminal's width when it is later written to a pipe).
    """

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._stream: IO[str] | None = None
        self._console: Console | None = None

    def current(self) -> Console:
        stream = sys.stderr if self._stderr else sys.stdout
        if self._console is None or stream is not self._stream:
            self._stream, self._console = stream, _console_for(stream)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


def _console_for(stream: IO[str]) -> Console:
    try:
        terminal = stream.isatty()
    except ValueError:  # a closed stream
        terminal = False
    if terminal:
        return PlainConsole(file=stream, highlight=False, markup=False, emoji=False)
    return PlainConsole(
        file=stream,
        highlight=False,
        markup=False,
        emoji=False,
        force_terminal=False,
        color_system=None,
        width=PAGE_WIDTH,
        soft_wrap=True,
    )


# Typed as consoles: they forward every attribute to the console of the current stream.
console = cast(Console, _StreamConsole(stderr=False))
err_console = cast(Console, _StreamConsole(stderr=True))

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar=CONFIG_ENV,
        help=f"Config file (default: ./{DEFAULT_CONFIG}, or ${CONFIG_ENV}).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def styled(*parts: str | tuple[str, str | Style]) -> Text:
    """Return one line of parts, each plain text or `(text, style)`, shown literally."""
    line = Text()
    for part in parts:
        if isinstance(part, tuple):
            line.append(visible(part[0]), style=part[1])
        else:
            line.append(visible(part))
    return line


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (2 for bad input, 1 otherwise)."""
    err_console.print(styled(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def print_config_error(exc: ConfigError) -> None:
    err_console.print(f"configuration has {len(exc.problems)} problem(s):", style="bold red")
    for problem in exc.problems:
        err_console.print(styled("  ", (problem.path, "bold"), ": ", problem.problem))
        err_console.print(styled("      fix: ", problem.fix))


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn trimtab's errors into a message and an exit code: 2 for config, 1 otherwise."""
    try:
        yield
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from None
    except TrimtabError as exc:
        fail(str(exc))


def config_path(config: Path | None) -> Path:
    """Return the configuration file a command reads: `-c`, else TRIMTAB_CONFIG, else the
    default."""
    return config or Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))


_freeze_after_loading = False
"""Whether the next `load_app` freezes what the process has loaded (`freeze_after_loading`)."""


def freeze_after_loading() -> None:
    """Have the next `load_app` freeze what the process holds by then (`gc.freeze`), once.

    `main` (one command, one process) asks it: by then a command has imported its modules and
    read its configuration, which it keeps until it exits, and the cycle collector would
    otherwise walk those objects again at every full collection (a 20-year backtest runs
    several; issue 16). Frozen objects are still freed by reference counting; a cycle among
    them is not collected. Not asked in-process (tests, `CliRunner`): there the objects of
    one command are garbage by the next.
    """
    global _freeze_after_loading  # noqa: PLW0603 - one process-wide switch, set by main
    _freeze_after_loading = True


@contextmanager
def load_app(config: Path | None, *, read_only: bool = False, broker: bool = True) -> Iterator[App]:
    """Open the app for one command and close it afterwards (`read_only`: it only reads;
    `broker` false: it never reaches a broker, so it works without the brokers' credentials,
    which a deployment may give the service alone)."""
    from daemon.bootstrap import open_app

    path = config_path(config)
    global _freeze_after_loading  # noqa: PLW0603 - see freeze_after_loading
    with handle_errors():
        app = open_app(path, read_only=read_only, credentials=broker)
        if _freeze_after_loading:
            _freeze_after_loading = False
            gc.freeze()
        try:
            yield app
        finally:
            app.close()


def configured_account(app: App, account: str | None) -> str:
    """Return the account a command acts on: the one given, else the only one configured;
    exit 2 naming the accounts when there is no such account or several to choose from."""
    names = list(app.settings.accounts)
    if account is None:
        if len(names) != 1:
            fail(f"name the account with --account (one of: {', '.join(names)})", 2)
        return names[0]
    if account not in names:
        fail(f"no account {account!r} in the config; the accounts are {', '.join(names)}", 2)
    return account


def broker_account(
    app: App, account: str | None, *, broker: str, noun: str, doc: str | None = None
) -> str:
    """Return the account a `sim ...` or `manual ...` command acts on: the one given, which must
    use `broker`, else the only account that does; exit 2 naming the accounts otherwise."""
    names = [n for n, a in app.settings.accounts.items() if a.broker == broker]
    listed = ", ".join(names) or "none"
    if account is None:
        if len(names) != 1:
            where = f' (broker = "{broker}", {doc})' if doc else ""
            fail(f"name the account with --account: {noun} accounts are {listed}{where}", 2)
        account = names[0]
    if account not in names:
        where = f"; {doc}" if doc else ""
        fail(f"account {account} does not use the {noun} broker ({noun}: {listed}{where})", 2)
    return account


def print_json(value: Any) -> None:
    from daemon.audit.jsonable import to_jsonable

    # Print through plain stdout: rich would wrap and colour long JSON lines.
    typer.echo(json.dumps(to_jsonable(value), indent=2, sort_keys=False))
