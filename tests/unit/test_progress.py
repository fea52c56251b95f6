"""The progress bar: drawn on a terminal console, nothing anywhere else; the kernel's callback."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from rich.console import Console

from daemon.cli.progress import on_a_terminal, progress
from daemon.core.domain import AccountType, Side
from daemon.core.progress import no_progress
from daemon.core.tax import Trade, replay_trades


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100, color_system=None), out


def test_a_terminal_console_shows_the_description_and_the_count() -> None:
    console, out = _console(terminal=True)
    with progress("importing lots", console=console) as advance:
        assert advance is not no_progress
        advance(0, 40)
        advance(25, 40)
    drawn = out.getvalue()
    assert "importing lots" in drawn
    assert "25/40" in drawn


def test_nothing_is_drawn_off_a_terminal_or_when_disabled() -> None:
    plain, plain_out = _console(terminal=False)
    with progress("importing lots", console=plain) as advance:
        assert advance is no_progress
        advance(1, 2)
    terminal, terminal_out = _console(terminal=True)
    with progress("replaying", enabled=False, console=terminal) as advance:
        assert advance is no_progress
        advance(1, 2)
    assert plain_out.getvalue() == ""
    assert terminal_out.getvalue() == ""


def test_the_default_console_needs_both_streams_on_a_terminal() -> None:
    # Under pytest stdout and stderr are captured: no person is watching them.
    assert not on_a_terminal()
    with progress("replaying") as advance:
        assert advance is no_progress


def _trades(count: int) -> list[Trade]:
    trades = []
    for n in range(count):
        side = Side.BUY if n % 3 != 2 else Side.SELL
        trades.append(
            Trade(
                f"t{n}",
                date(2025, 1, 2 + n // 4),
                "main",
                AccountType.TAXABLE,
                "VTI",
                side,
                Decimal(1),
                Decimal(100 + n),
            )
        )
    return trades


def test_the_replay_reports_each_day_up_to_every_trade() -> None:
    heard: list[tuple[int, int]] = []
    book = replay_trades(_trades(24), progress=lambda done, total: heard.append((done, total)))
    assert heard[0] == (0, 24)
    assert heard[-1] == (24, 24)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
    assert {total for _, total in heard} == {24}
    # One call per trading day (four trades a day) besides the first.
    assert len(heard) == 1 + 6
    assert len(book.sales) == 8
