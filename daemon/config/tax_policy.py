"""The household's accounts as the tax rules see them, and the tax engine's policy, from the
configuration (pure: the tax ledger, the live cycle and the backtest read them alike)."""

from __future__ import annotations

__all__ = ["HouseholdAccount", "household_accounts", "tax_policy"]

from dataclasses import dataclass

from daemon.config.settings import Settings
from daemon.core.domain import AccountType
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.types import LotMethod, SameDayReplacements, TaxPolicy


@dataclass(frozen=True, slots=True)
class HouseholdAccount:
    """An account whose trades count for wash sales: trimtab's own or a declared outside one."""

    name: str
    type: AccountType
    owner: str
    managed: bool
    """True for an account trimtab trades (its trades come from the broker's fills)."""
    lot_method: LotMethod


def household_accounts(settings: Settings) -> dict[str, HouseholdAccount]:
    """Return every household account by name: configured accounts, then outside accounts."""
    accounts = {
        name: HouseholdAccount(
            name, account.type, "self", managed=True, lot_method=LotMethod(account.tax.lot_method)
        )
        for name, account in settings.accounts.items()
    }
    for name, outside in settings.tax.outside_accounts.items():
        accounts.setdefault(
            name,
            HouseholdAccount(
                name, outside.type, outside.owner, managed=False, lot_method=LotMethod.FIFO
            ),
        )
    return accounts


def tax_policy(settings: Settings) -> TaxPolicy:
    """Return the engine's policy for the household: lot methods, identical groups, same-day."""
    return TaxPolicy(
        methods={n: a.lot_method for n, a in household_accounts(settings).items()},
        identical=SubstantiallyIdentical.of(settings.tax.substantially_identical),
        same_day_replacements=SameDayReplacements(settings.tax.same_day_replacements),
    )
