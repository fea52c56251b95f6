"""Worked examples of the household split: a taxable account, a traditional IRA and a Roth."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from daemon.core.domain import CASH, AccountType
from daemon.core.errors import ConfigError
from daemon.core.household import (
    HouseholdAccount,
    HouseholdRules,
    HouseholdSplit,
    LocationPreference,
    Restrictions,
)
from daemon.core.household.split import split_household

D = Decimal
TAXABLE, TRAD, ROTH = AccountType.TAXABLE, AccountType.TRADITIONAL_IRA, AccountType.ROTH_IRA
BONDS_FIRST = (TRAD, ROTH, TAXABLE)
GROWTH_IN_ROTH = (ROTH, TAXABLE, TRAD)
EQUITY_IN_TAXABLE = (TAXABLE, ROTH, TRAD)
RULES = HouseholdRules(
    targets={
        "VTI": D("0.45"),
        "VXUS": D("0.20"),
        "BND": D("0.25"),
        "VNQ": D("0.08"),
        CASH: D("0.02"),
    },
    asset_classes={"VTI": "us_equity", "VXUS": "intl_equity", "BND": "bonds", "VNQ": "reit"},
    location=(
        LocationPreference("bonds", BONDS_FIRST),
        LocationPreference("reit", BONDS_FIRST),
        LocationPreference("us_equity", GROWTH_IN_ROTH),
        LocationPreference("intl_equity", EQUITY_IN_TAXABLE),
    ),
)


def values(split: HouseholdSplit, account: str) -> dict[str, Decimal]:
    """The dollar amounts the split gives `account`, to the cent."""
    entry = next(a for a in split.accounts if a.account == account)
    return {s: (w * entry.value).quantize(D("0.01")) for s, w in entry.targets.items()}


def household_of(split: HouseholdSplit) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for entry in split.accounts:
        for symbol, amount in values(split, entry.account).items():
            total[symbol] = total.get(symbol, D(0)) + amount
    return total


def test_an_all_cash_household_puts_bonds_and_reits_in_the_ira_and_growth_in_the_roth() -> None:
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, D(100000)),
        HouseholdAccount("ira", TRAD, D(40000)),
        HouseholdAccount("roth", ROTH, D(20000)),
    ]
    split = split_household(RULES, accounts)
    # 160,000: BND 40,000 fills the IRA exactly; VNQ (12,800) then goes to its second choice,
    # the Roth, which keeps the rest for VTI; the taxable account holds VTI, VXUS and cash.
    assert values(split, "ira") == {"BND": D("40000.00")}
    assert values(split, "roth") == {"VNQ": D("12800.00"), "VTI": D("7200.00")}
    assert values(split, "brokerage") == {
        "VTI": D("64800.00"),
        "VXUS": D("32000.00"),
        CASH: D("3200.00"),
    }
    assert household_of(split) == {
        "BND": D("40000.00"),
        "VNQ": D("12800.00"),
        "VTI": D("72000.00"),
        "VXUS": D("32000.00"),
        CASH: D("3200.00"),
    }
    for entry in split.accounts:
        assert sum(entry.targets.values()) == 1
    vnq = next(p for p in split.placements if p.symbol == "VNQ")
    assert "choice 2" in vnq.reason
    assert vnq.choice == 2
    assert {p.symbol: p.choice for p in split.placements if p.account == "ira"} == {"BND": 1}
    assert any("VNQ in roth" in note for note in split.notes)


def test_taxable_holdings_with_a_gain_stay_and_the_ira_makes_up_the_difference() -> None:
    accounts = [
        # 30,000 of bonds bought for 20,000 in the taxable account: selling realizes a gain.
        HouseholdAccount(
            "brokerage",
            TAXABLE,
            D(70000),
            {"BND": D(30000)},
            gains={"BND": D(10000)},
        ),
        HouseholdAccount("ira", TRAD, D(40000)),
        HouseholdAccount("roth", ROTH, D(20000)),
    ]
    split = split_household(RULES, accounts)
    assert values(split, "brokerage")["BND"] == D("30000.00")
    assert values(split, "ira")["BND"] == D("10000.00")
    assert household_of(split)["BND"] == D("40000.00")
    kept = next(p for p in split.placements if p.account == "brokerage" and p.symbol == "BND")
    assert "selling would realize a gain" in kept.reason

    # Without the preference, location wins: the bonds move to the IRA.
    relaxed = replace(RULES, avoid_taxable_gains=False)
    moved = split_household(relaxed, accounts)
    assert "BND" not in values(moved, "brokerage")
    assert values(moved, "ira")["BND"] == D("40000.00")


def test_a_taxable_holding_at_a_loss_is_sold_for_location() -> None:
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, D(70000), {"BND": D(30000)}, gains={"BND": D(-500)}),
        HouseholdAccount("ira", TRAD, D(40000)),
        HouseholdAccount("roth", ROTH, D(20000)),
    ]
    split = split_household(RULES, accounts)
    assert "BND" not in values(split, "brokerage")
    assert values(split, "ira")["BND"] == D("40000.00")


def test_an_account_restriction_sends_a_symbol_to_its_next_choice() -> None:
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, D(100000)),
        # The IRA's plan offers no REIT fund.
        HouseholdAccount(
            "ira", TRAD, D(50000), restrictions=Restrictions(allowed=frozenset({"BND", "VTI"}))
        ),
        HouseholdAccount("roth", ROTH, D(10000)),
    ]
    split = split_household(RULES, accounts)
    assert "VNQ" not in values(split, "ira")
    assert values(split, "roth")["VNQ"] == D("10000.00")
    assert values(split, "brokerage")["VNQ"] == D("2800.00")
    ira = values(split, "ira")
    assert ira["BND"] == D("40000.00")
    assert set(ira) <= {"BND", "VTI", CASH}  # cash has no location preference: either fits
    assert household_of(split)["VNQ"] == D("12800.00")


def test_the_location_listed_first_wins_contested_room() -> None:
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, D(80000)),
        HouseholdAccount("ira", TRAD, D(20000)),
    ]
    rules = HouseholdRules(
        targets={"BND": D("0.2"), "VNQ": D("0.2"), "VTI": D("0.6")},
        asset_classes={"BND": "bonds", "VNQ": "reit"},
        location=(
            LocationPreference("reit", BONDS_FIRST),
            LocationPreference("bonds", BONDS_FIRST),
        ),
    )
    split = split_household(rules, accounts)
    assert values(split, "ira") == {"VNQ": D("20000.00")}


def test_a_buy_only_account_that_holds_too_much_leaves_the_target_unreachable() -> None:
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, D(0), {"VTI": D(90000)}, buy_only=True),
        HouseholdAccount("ira", TRAD, D(10000)),
    ]
    rules = HouseholdRules(targets={"VTI": D("0.6"), "BND": D("0.4")})
    split = split_household(rules, accounts)
    assert values(split, "brokerage") == {"VTI": D("90000.00")}
    assert values(split, "ira") == {"BND": D("10000.00")}
    vti = next(r for r in split.rows if r.symbol == "VTI")
    assert (vti.target, vti.planned) == (D("0.6"), D("0.9"))
    assert any(
        n.startswith("VTI: the household target 60.00% cannot be reached") for n in split.notes
    )


def test_the_cash_buffer_stays_in_its_account_and_the_other_targets_make_room() -> None:
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, D(60000), cash_need=D(3000)),
        HouseholdAccount("ira", TRAD, D(40000)),
    ]
    rules = HouseholdRules(targets={"VTI": D("0.6"), "BND": D("0.4")})
    split = split_household(rules, accounts)
    assert values(split, "brokerage")[CASH] == D("3000.00")
    # 97,000 invested 60/40, as each account's planner scales its targets for the buffer.
    assert household_of(split) == {"VTI": D("58200.00"), "BND": D("38800.00"), CASH: D("3000.00")}


def test_a_symbol_no_account_may_hold_is_a_config_error_naming_the_key_and_the_fix() -> None:
    only_bonds = Restrictions(allowed=frozenset({"BND"}))
    accounts = [
        HouseholdAccount("ira", TRAD, D(1000), restrictions=only_bonds),
        HouseholdAccount(
            "roth", ROTH, D(1000), restrictions=Restrictions(blocked=frozenset({"VTI"}))
        ),
    ]
    rules = HouseholdRules(targets={"VTI": D("0.5"), "BND": D("0.5")})
    with pytest.raises(ConfigError) as caught:
        split_household(rules, accounts)
    [problem] = caught.value.problems
    assert problem.path == "household.targets.VTI"
    assert "no household account may hold VTI" in problem.problem
    assert "policy.allowed_symbols" in problem.fix
    assert "remove VTI" in problem.fix


def test_an_empty_household_keeps_cash() -> None:
    split = split_household(RULES, [HouseholdAccount("brokerage", TAXABLE, D(0))])
    assert dict(split.accounts[0].targets) == {CASH: D(1)}


def test_a_strategys_targets_are_split_as_fixed_ones_and_the_split_names_it() -> None:
    accounts = [
        HouseholdAccount("brokerage", TAXABLE, D(100000)),
        HouseholdAccount("ira", TRAD, D(40000)),
    ]
    reasons = {"BND": "inverse_vol: volatility 5% a year"}
    chosen = replace(RULES, targets_from="inverse_vol", reasons=reasons)
    fixed, by_strategy = split_household(RULES, accounts), split_household(chosen, accounts)
    assert fixed.targets_from == ""
    assert dict(fixed.reasons) == {}
    assert by_strategy.targets_from == "inverse_vol"
    assert dict(by_strategy.reasons) == reasons
    assert by_strategy.accounts == fixed.accounts
    empty = split_household(chosen, [HouseholdAccount("ira", TRAD, D(0))])
    assert empty.targets_from == "inverse_vol"


def test_a_strategy_symbol_no_account_may_hold_names_the_household_strategy() -> None:
    chosen = replace(RULES, targets_from="inverse_vol")
    blocked = Restrictions(blocked=frozenset({"VNQ"}))
    with pytest.raises(ConfigError) as raised:
        split_household(chosen, [HouseholdAccount("ira", TRAD, D(1000), restrictions=blocked)])
    [problem] = raised.value.problems
    assert problem.path == "household.strategy"
    assert "no household account may hold VNQ" in problem.problem
    assert problem.fix.endswith("or remove VNQ from household.strategy (its universe)")
