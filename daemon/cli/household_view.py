"""The household view of `trimtab plan`: allocation against the household target, the
per-account split and location by account type."""

from __future__ import annotations

__all__ = ["print_household"]

from decimal import Decimal
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from daemon.cli.tables import fit
from daemon.core.domain import CASH, AccountType
from daemon.core.money import usd

if TYPE_CHECKING:
    from daemon.core.household import HouseholdSplit

_TYPES = (AccountType.TAXABLE, AccountType.TRADITIONAL_IRA, AccountType.ROTH_IRA)


def _pct(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def print_household(console: Console, split: HouseholdSplit) -> None:
    """Print the household's drift, the split by account type and by account, and notes."""
    present = [t for t in _TYPES if any(a.type is t for a in split.accounts)]
    table = Table(
        title=f"household ({len(split.accounts)} accounts, {usd(split.value)})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("Symbol", "Value", "Weight", "Target", "Band", "", "Split"):
        table.add_column(column, justify="left" if column in ("Symbol", "") else "right")
    for account_type in present:
        table.add_column(str(account_type), justify="right")
    for row in split.rows:
        band = "" if row.symbol == CASH else f"{_pct(row.low)}–{_pct(row.high)}"
        table.add_row(
            row.symbol,
            usd(row.value),
            _pct(row.weight),
            _pct(row.target),
            band,
            Text("OUT", style="bold red") if row.out_of_band else "",
            _pct(row.planned),
            *(usd(row.by_type.get(str(t), Decimal(0))) for t in present),
        )
    console.print(fit(table, console))
    if split.targets_from:
        console.print(f"  targets from strategy {split.targets_from}")
        for symbol, reason in sorted(split.reasons.items()):
            console.print(f"    {symbol}: {reason}")
    accounts = Table(title="split by account", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Account", "Type", "Value", "Targets"):
        accounts.add_column(column, justify="right" if column == "Value" else "left")
    for account in split.accounts:
        targets = ", ".join(
            f"{s} {_pct(w)}"
            for s, w in sorted(account.targets.items(), key=lambda i: (i[0] == CASH, i[0]))
        )
        accounts.add_row(account.account, str(account.type), usd(account.value), targets)
    console.print(fit(accounts, console))
    for note in split.notes:
        console.print(f"  note: {note}")
    console.print()
