"""The household planner (pure): one target for several accounts, split into per-account
targets that respect each account's restrictions, asset location and taxable gains.

The split itself (numpy, scipy) is `daemon.core.household.split.split_household`, imported
from there: the configuration check imports this package and must stay light.
"""

from daemon.core.household.check import rule_problems
from daemon.core.household.location import class_of, preference_for, rank
from daemon.core.household.types import (
    AccountSplit,
    HouseholdAccount,
    HouseholdRow,
    HouseholdRules,
    HouseholdSplit,
    LocationPreference,
    Placement,
    Restrictions,
)

__all__ = [
    "AccountSplit",
    "HouseholdAccount",
    "HouseholdRow",
    "HouseholdRules",
    "HouseholdSplit",
    "LocationPreference",
    "Placement",
    "Restrictions",
    "class_of",
    "preference_for",
    "rank",
    "rule_problems",
]
