"""`[household]` with a strategy instead of fixed targets: exactly one of the two, and the
strategy's params checked by the strategy itself, named by their key path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import app
from daemon.config.household import household_strategy, household_universe
from daemon.config.settings import check_config, load_config

ACCOUNTS = """
[accounts.brokerage]
type = "taxable"
strategy_params = { targets = { VTI = "1" } }
[accounts.ira]
type = "traditional_ira"
strategy_params = { targets = { BND = "1" } }
"""
LOCATION = """asset_classes = { BND = "bonds", VTI = "us_equity" }
location = [{ assets = "bonds", prefer = ["traditional_ira", "taxable"] }]
"""
STRATEGY = (
    """
[household]
strategy = "inverse_vol"
strategy_params = { universe = ["VTI", "BND"], lookback_days = 20 }
"""
    + LOCATION
)


def problems(tmp_path: Path, text: str) -> dict[str, str]:
    config = tmp_path / "trimtab.toml"
    config.write_text(text)
    return {p.path: f"{p.problem} | {p.fix}" for p in check_config(config)}


def test_a_household_strategy_is_made_from_its_checked_params(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(ACCOUNTS + STRATEGY)
    settings = load_config(config)
    household = settings.household
    assert household is not None
    assert household.targets is None
    assert household.strategy == "inverse_vol"
    # Validated by the strategy's own model: its defaults are filled in.
    assert household.strategy_params["lookback_days"] == 20
    assert "max_weight" in household.strategy_params
    strategy = household_strategy(household)
    assert strategy is not None
    assert strategy.universe() == frozenset({"VTI", "BND"})
    assert household_universe(settings) == frozenset({"VTI", "BND"})


def test_fixed_targets_have_no_strategy(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(ACCOUNTS + '[household]\ntargets = { VTI = "0.6", BND = "0.4" }\n')
    household = load_config(config).household
    assert household is not None
    assert household_strategy(household) is None
    assert household.targets == {"VTI": Decimal("0.6"), "BND": Decimal("0.4")}


def test_both_targets_and_strategy(tmp_path: Path) -> None:
    text = ACCOUNTS + STRATEGY + 'targets = { VTI = "1" }\n'
    assert problems(tmp_path, text) == {
        "household": "both targets and strategy are given; the household's weights come from "
        "one | keep household.targets (fixed weights) or household.strategy (and its "
        "strategy_params), and delete the other"
    }


def test_neither_targets_nor_strategy(tmp_path: Path) -> None:
    text = ACCOUNTS + "[household]\n" + LOCATION
    found = problems(tmp_path, text)
    assert list(found) == ["household"]
    assert found["household"].startswith("neither targets nor strategy is given")
    assert "household.targets = {" in found["household"]
    assert 'household.strategy = "static"' in found["household"]


def test_strategy_params_without_a_strategy(tmp_path: Path) -> None:
    text = ACCOUNTS + '[household]\ntargets = { VTI = "1" }\nstrategy_params = { x = 1 }\n'
    assert problems(tmp_path, text) == {
        "household": "strategy_params is given without a strategy | add household.strategy, "
        "or delete household.strategy_params"
    }


def test_an_unknown_household_strategy(tmp_path: Path) -> None:
    text = ACCOUNTS + STRATEGY.replace('"inverse_vol"', '"inverse_volume"')
    found = problems(tmp_path, text)
    assert list(found) == ["household.strategy"]
    assert "no plugin 'inverse_volume'" in found["household.strategy"]
    assert found["household.strategy"].endswith("| name a known strategy")


def test_bad_household_strategy_params_are_named_by_their_key_path(tmp_path: Path) -> None:
    text = ACCOUNTS + STRATEGY.replace("lookback_days = 20", "lookback_days = 1, speed = 3")
    found = problems(tmp_path, text)
    assert set(found) == {
        "household.strategy_params.lookback_days",
        "household.strategy_params.speed",
    }
    assert "greater than or equal to 2" in found["household.strategy_params.lookback_days"]
    # The fix names the bound (it once said "use a value that is not negative" for 1).
    assert found["household.strategy_params.lookback_days"].endswith("| use a value of at least 2")


def test_config_check_reports_bad_household_strategy_params(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(ACCOUNTS + STRATEGY.replace("lookback_days = 20", "lookback_days = 1"))
    result = CliRunner().invoke(app, ["config", "check", "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert "household.strategy_params.lookback_days" in result.output


def test_a_strategy_symbol_no_household_account_may_hold(tmp_path: Path) -> None:
    restricted = ACCOUNTS + '[risk]\nrestricted_symbols = ["BND"]\n'
    found = problems(tmp_path, restricted + STRATEGY)
    assert list(found) == ["household.strategy"]
    assert "no household account may hold BND" in found["household.strategy"]
    assert "remove BND from household.strategy (its universe)" in found["household.strategy"]


def test_the_example_configs_commented_household_strategy_is_valid(tmp_path: Path) -> None:
    example = (Path(__file__).parents[2] / "config.example.toml").read_text()
    start = example.index("# [household]")
    end = example.find("\n\n", start)
    block = example[start : end if end >= 0 else len(example)]
    lines = []
    for commented in block.splitlines():
        line = commented.removeprefix("# ")
        if line.startswith("#   strategy"):
            lines.append(line.removeprefix("#   "))  # the strategy instead of the targets
        elif not line.startswith(("#", "targets")):
            lines.append(line)
    config = tmp_path / "trimtab.toml"
    config.write_text(example.replace(block, "\n".join(lines)))
    household = load_config(config).household
    assert household is not None
    assert household.strategy == "inverse_vol"
    assert household.targets is None
