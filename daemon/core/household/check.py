"""Household rules that can never be met, found before any cycle: each a `ConfigProblem`
naming the key and the fix. The configuration check and the planner both ask here."""

from __future__ import annotations

__all__ = ["SUM_TOLERANCE", "rule_problems"]

from collections.abc import Mapping
from decimal import Decimal

from daemon.core.domain import CASH
from daemon.core.errors import ConfigProblem
from daemon.core.household.types import HouseholdRules, Restrictions

SUM_TOLERANCE = Decimal("0.000001")


def rule_problems(
    rules: HouseholdRules, tradable: Mapping[str, Restrictions]
) -> list[ConfigProblem]:
    """Return what makes `rules` impossible for accounts restricted by `tradable`."""
    problems: list[ConfigProblem] = []
    # A strategy's weights are checked against its universe: the key to fix is its name.
    key = "household.strategy" if rules.targets_from else "household.targets"
    total = sum(rules.targets.values(), Decimal(0))
    if abs(total - 1) > SUM_TOLERANCE:
        problems.append(
            ConfigProblem(
                key,
                f"the weights sum to {total}, not 1",
                "adjust the weights so they sum to 1 (CASH may take the rest)",
            )
        )
    if not tradable:
        problems.append(
            ConfigProblem(
                "household.accounts",
                "the household has no account",
                "name at least one account of [accounts] in household.accounts, or leave the "
                "key out to plan every account together",
            )
        )
        return problems
    for symbol, weight in rules.targets.items():
        if symbol == CASH or weight <= 0:
            continue
        if not any(r.may_trade(symbol) for r in tradable.values()):
            names = ", ".join(tradable)
            problems.append(
                ConfigProblem(
                    f"{key}.{symbol}" if not rules.targets_from else key,
                    f"no household account may hold {symbol} (not among the symbols "
                    f"{names} may trade)",
                    f"add {symbol} to policy.allowed_symbols of one of the accounts (and to "
                    f"risk.allowed_symbols if that is set; take it off risk.restricted_symbols "
                    f"and policy.keep), or remove {symbol} from {key}"
                    + (" (its universe)" if rules.targets_from else ""),
                )
            )
    classes = sorted(set(rules.asset_classes.values()))
    symbols = set(rules.targets) | set(rules.asset_classes)
    for index, preference in enumerate(rules.location):
        if preference.assets not in classes and preference.assets not in symbols:
            known = ", ".join(classes) or "none defined"
            problems.append(
                ConfigProblem(
                    f"household.location.{index}.assets",
                    f"{preference.assets!r} is neither an asset class nor a household symbol",
                    f"use a class of household.asset_classes ({known}) or a symbol of "
                    "household.targets, or define the class in household.asset_classes",
                )
            )
        if len(set(preference.prefer)) != len(preference.prefer):
            problems.append(
                ConfigProblem(
                    f"household.location.{index}.prefer",
                    "an account type is named twice",
                    "name each of taxable, traditional_ira and roth_ira at most once, best first",
                )
            )
    return problems
