"""The `[household]` table: what `trimtab config check` says about household targets that
can never be met, each naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

from daemon.config.household import account_restrictions, household_members
from daemon.config.policy import risk_config
from daemon.config.settings import check_config, load_config

ACCOUNTS = """
[accounts.brokerage]
type = "taxable"
strategy_params = { targets = { VTI = "1" } }
[accounts.ira]
type = "traditional_ira"
strategy_params = { targets = { BND = "1" } }
[accounts.roth]
type = "roth_ira"
strategy_params = { targets = { VTI = "1" } }
"""
HOUSEHOLD = """
[household]
targets = { VTI = "0.6", BND = "0.3", VNQ = "0.1" }
asset_classes = { BND = "bonds", VNQ = "reit", VTI = "us_equity" }
location = [
  { assets = "bonds", prefer = ["traditional_ira", "roth_ira", "taxable"] },
  { assets = "VNQ", prefer = ["roth_ira"] },
]
"""


def problems(tmp_path: Path, text: str) -> dict[str, str]:
    config = tmp_path / "trimtab.toml"
    config.write_text(text)
    return {p.path: f"{p.problem} | {p.fix}" for p in check_config(config)}


def test_a_household_of_three_accounts_is_valid(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(ACCOUNTS + HOUSEHOLD)
    settings = load_config(config)
    assert household_members(settings) == ("brokerage", "ira", "roth")
    assert settings.household is not None
    assert [e.assets for e in settings.household.location] == ["bonds", "VNQ"]


def test_the_example_config_has_no_household(tmp_path: Path) -> None:
    example = load_config(Path(__file__).parents[2] / "config.example.toml")
    assert example.household is None
    assert household_members(example) == ()


def test_the_example_configs_commented_household_is_valid_once_uncommented(
    tmp_path: Path,
) -> None:
    example = (Path(__file__).parents[2] / "config.example.toml").read_text()
    start = example.index("# [household]")
    end = example.find("\n\n", start)
    block = example[start : end if end >= 0 else len(example)]
    lines = [line.removeprefix("# ") for line in block.splitlines()]
    uncommented = "\n".join(line for line in lines if not line.startswith(("# ", "#")))
    config = tmp_path / "trimtab.toml"
    config.write_text(example.replace(block, uncommented))
    settings = load_config(config)
    assert household_members(settings) == ("brokerage", "ira")


def test_weights_that_do_not_sum_to_one(tmp_path: Path) -> None:
    text = ACCOUNTS + HOUSEHOLD.replace('VNQ = "0.1" }', 'VNQ = "0.2" }')
    assert problems(tmp_path, text) == {
        "household.targets": "the weights sum to 1.1, not 1 | adjust the weights so they sum "
        "to 1 (CASH may take the rest)"
    }


def test_unknown_account_names(tmp_path: Path) -> None:
    text = ACCOUNTS + HOUSEHOLD + 'accounts = ["brokerage", "hsa"]\n'
    found = problems(tmp_path, text)
    assert found == {
        "household.accounts": "no such account: hsa | use names of [accounts] tables: "
        "brokerage, ira, roth"
    }


def test_a_symbol_no_household_account_may_hold(tmp_path: Path) -> None:
    text = (
        ACCOUNTS.replace(
            "[accounts.ira]\n", '[accounts.ira]\npolicy = { allowed_symbols = ["BND", "VTI"] }\n'
        )
        + HOUSEHOLD
        + 'accounts = ["ira", "roth"]\n'
        + '[risk]\nrestricted_symbols = ["VNQ"]\n'
    )
    found = problems(tmp_path, text)
    assert list(found) == ["household.targets.VNQ"]
    assert found["household.targets.VNQ"].startswith("no household account may hold VNQ")
    assert "add VNQ to policy.allowed_symbols" in found["household.targets.VNQ"]
    assert "remove VNQ from household.targets" in found["household.targets.VNQ"]


def test_location_naming_an_unknown_class(tmp_path: Path) -> None:
    text = ACCOUNTS + HOUSEHOLD.replace('assets = "bonds"', 'assets = "bond"')
    found = problems(tmp_path, text)
    assert list(found) == ["household.location.0.assets"]
    assert (
        "'bond' is neither an asset class nor a household symbol"
        in found["household.location.0.assets"]
    )
    assert "bonds, reit, us_equity" in found["household.location.0.assets"]


def test_location_naming_an_unknown_account_type(tmp_path: Path) -> None:
    text = ACCOUNTS + HOUSEHOLD.replace('prefer = ["roth_ira"]', 'prefer = ["hsa"]')
    found = problems(tmp_path, text)
    assert list(found) == ["household.location.1.prefer.0"]


def test_an_account_restriction_is_checked_before_any_order(tmp_path: Path) -> None:
    text = (
        ACCOUNTS.replace(
            "[accounts.ira]\n", '[accounts.ira]\npolicy = { allowed_symbols = ["BND"] }\n'
        )
        + '[risk]\nallowed_symbols = ["BND", "VTI"]\nrestricted_symbols = ["VXUS"]\n'
    )
    config = tmp_path / "trimtab.toml"
    config.write_text(text)
    settings = load_config(config)
    ira = account_restrictions(settings, "ira")
    assert ira.may_trade("BND")
    assert not ira.may_trade("VTI")
    assert not account_restrictions(settings, "roth").may_trade("VXUS")
    assert risk_config(settings.account("ira"), settings.risk).allowed_symbols == {"BND"}
    assert risk_config(settings.account("roth"), settings.risk).allowed_symbols == {"BND", "VTI"}


def test_allowed_lists_that_share_no_symbol(tmp_path: Path) -> None:
    text = (
        ACCOUNTS.replace(
            "[accounts.ira]\n", '[accounts.ira]\npolicy = { allowed_symbols = ["BND"] }\n'
        )
        + '[risk]\nallowed_symbols = ["VTI"]\n'
    )
    found = problems(tmp_path, text)
    assert list(found) == ["accounts.ira.policy.allowed_symbols"]
    assert (
        "shares no symbol with risk.allowed_symbols" in found["accounts.ira.policy.allowed_symbols"]
    )


def test_a_households_accounts_share_one_cluster_lock_whatever_their_lock_group(
    tmp_path: Path,
) -> None:
    # The split reads every member's holdings: two members' cycles must never overlap.
    config = tmp_path / "trimtab.toml"
    config.write_text(
        ACCOUNTS.replace('type = "roth_ira"', 'type = "roth_ira"\nlock_group = "roths"')
        + HOUSEHOLD.replace("[household]", '[household]\naccounts = ["brokerage", "roth"]')
    )
    settings = load_config(config)
    assert settings.lock_key("brokerage") == settings.lock_key("roth") == "household"
    assert settings.lock_key("ira") == "account:ira"


def test_an_account_named_household_beside_the_table(tmp_path: Path) -> None:
    text = ACCOUNTS.replace("[accounts.roth]", "[accounts.household]") + HOUSEHOLD
    found = problems(tmp_path, text)
    assert list(found) == ["accounts.household"]
    assert "rename the account" in found["accounts.household"]
    # Without a [household] table the name is free.
    assert problems(tmp_path, ACCOUNTS.replace("[accounts.roth]", "[accounts.household]")) == {}


def test_an_income_account_outside_the_household(tmp_path: Path) -> None:
    household = HOUSEHOLD.replace("[household]", '[household]\naccounts = ["brokerage", "ira"]')
    income = '[income]\naccount = "roth"\nmonthly_amount = "1000"\n'
    found = problems(tmp_path, ACCOUNTS + household.replace("VNQ", "VTIP") + income)
    assert "income.account" in found
    assert "add roth to household.accounts" in found["income.account"]
