"""A household member's targets come from the household: an error about them names the
household's strategy (or its fixed targets), not the member's own `strategy`, which the
member does not use (the owner would look for the fault in the wrong place)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config.policy import decision_input
from daemon.config.settings import Settings, load_config
from daemon.config.tax_policy import tax_policy
from daemon.core.decide import CycleState, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, Position, Quote
from daemon.core.errors import StrategyError
from daemon.core.tax.engine import replay_trades

D = Decimal
NOW = datetime(2025, 3, 4, 20, 0, tzinfo=UTC)
PRICES = {"VTI": D("250.00"), "BND": D("72.50"), "GLD": D("180.00")}

MEMBERS = """
mode = "paper"
state_dir = "state"
[accounts.brokerage]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.brokerage.strategy_params]
targets = { VTI = "1" }
[accounts.ira]
broker = "sim"
type = "traditional_ira"
[accounts.ira.strategy_params]
targets = { VTI = "1" }
"""


def settings(tmp_path: Path, household: str) -> Settings:
    config = tmp_path / "trimtab.toml"
    config.write_text(MEMBERS + household)
    return load_config(config)


def refusal(config: Settings, account: str, targets: dict[str, Decimal]) -> str:
    """Decide `account` holding 10 GLD (outside the universe) and return the refusal."""
    snapshot = AccountSnapshot(
        account,
        NOW,
        D(10_000),
        (Position("GLD", D(10)),),
        {s: Quote(s, p, NOW - timedelta(minutes=1), "test") for s, p in PRICES.items()},
    )
    tax = TaxInputs(
        book=replay_trades((), tax_policy(config)),
        today=date(2025, 3, 4),
        settings=config.account(account).tax,
        identical=tax_policy(config).identical,
    )
    given = decision_input(
        config,
        account,
        snapshot=snapshot,
        targets=targets,
        universe=frozenset({"VTI", "BND"}),
        state=CycleState(),
        tax=tax,
        now=NOW,
        submit=True,
    )
    with pytest.raises(StrategyError) as refused:
        decide(given)
    return str(refused.value)


# GLD is held (1,800 of 11,800) but outside the universe: a weight above its current one
# would buy more of it, and is refused.
TOO_MUCH_GLD = {"VTI": D("0.5"), "GLD": D("0.5")}


def test_a_member_refusal_names_the_households_fixed_targets(tmp_path: Path) -> None:
    household = (
        '[household]\naccounts = ["brokerage", "ira"]\ntargets = { VTI = "0.6", BND = "0.4" }\n'
    )
    said = refusal(settings(tmp_path, household), "ira", TOO_MUCH_GLD)
    assert said.startswith("strategy household.targets (split to account ira) gave a weight"), said
    assert "static" not in said


def test_a_member_refusal_names_the_households_strategy(tmp_path: Path) -> None:
    household = (
        '[household]\naccounts = ["brokerage", "ira"]\nstrategy = "static"\n'
        'strategy_params = { targets = { VTI = "0.6", BND = "0.4" } }\n'
    )
    said = refusal(settings(tmp_path, household), "brokerage", TOO_MUCH_GLD)
    assert said.startswith(
        "strategy static (the household's, split to account brokerage) gave a weight"
    ), said


def test_an_account_outside_the_household_names_its_own_strategy(tmp_path: Path) -> None:
    household = '[household]\naccounts = ["brokerage"]\ntargets = { VTI = "0.6", BND = "0.4" }\n'
    said = refusal(settings(tmp_path, household), "ira", TOO_MUCH_GLD)
    assert said.startswith("strategy static gave a weight to GLD"), said
