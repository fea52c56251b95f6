"""Asset location: which preference applies to a symbol, and how good an account type is
for it (0 = the first choice)."""

from __future__ import annotations

__all__ = ["class_of", "preference_for", "rank"]

from daemon.core.domain import AccountType
from daemon.core.household.types import HouseholdRules, LocationPreference


def class_of(rules: HouseholdRules, symbol: str) -> str | None:
    return rules.asset_classes.get(symbol)


def preference_for(rules: HouseholdRules, symbol: str) -> tuple[int, LocationPreference] | None:
    """Return the preference (and its place in the list) that applies to `symbol`: its own
    entry if it has one, else its class's; None when neither is listed."""
    asset_class = rules.asset_classes.get(symbol)
    by_class = None
    for index, preference in enumerate(rules.location):
        if preference.assets == symbol:
            return index, preference
        if by_class is None and asset_class is not None and preference.assets == asset_class:
            by_class = index, preference
    return by_class


def rank(preference: LocationPreference, account_type: AccountType) -> int:
    """Return 0 for the first choice, 1 for the second...; types not named come last."""
    try:
        return preference.prefer.index(account_type)
    except ValueError:
        return len(preference.prefer)
