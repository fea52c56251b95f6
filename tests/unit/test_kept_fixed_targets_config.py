"""A fixed target above 0 on a `policy.keep` symbol is refused when the configuration is
loaded: every cycle would refuse it (the weight cannot be followed without trading the kept
holding), so `trimtab config check` and start-up say so rather than the first cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config.settings import check_config

CONFIG = """
mode = "paper"
state_dir = "state"
[accounts.main]
broker = "sim"
[accounts.main.strategy_params]
targets = {{ {targets} }}
[accounts.main.policy]
keep = ["SCHD", "EMP"]
"""


def problems(tmp_path: Path, targets: str) -> dict[str, tuple[str, str]]:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG.format(targets=targets))
    return {p.path: (p.problem, p.fix) for p in check_config(config)}


def test_a_fixed_weight_on_a_kept_symbol_is_refused_naming_it_and_the_fix(
    tmp_path: Path,
) -> None:
    found = problems(tmp_path, 'VTI = "0.6", SCHD = "0.4"')
    problem, fix = found["accounts.main.policy.keep"]
    assert problem.startswith("SCHD (0.4) is kept (never traded)")
    assert "take the symbol off policy.keep" in fix
    assert "EMP" not in problem  # held apart, not targeted: fine


@pytest.mark.parametrize(
    "targets", ['VTI = "1"', 'VTI = "1", SCHD = "0"', 'VTI = "0.9", CASH = "0.1"']
)
def test_no_weight_or_a_zero_weight_on_a_kept_symbol_is_accepted(
    tmp_path: Path, targets: str
) -> None:
    assert "accounts.main.policy.keep" not in problems(tmp_path, targets)


def test_a_household_members_own_unused_targets_are_not_held_to_its_keep(
    tmp_path: Path,
) -> None:
    """A member's own strategy is never asked (the household's targets are split to it)."""
    config = tmp_path / "trimtab.toml"
    config.write_text(
        CONFIG.format(targets='VTI = "0.6", SCHD = "0.4"')
        + '[household]\naccounts = ["main"]\ntargets = { VTI = "0.6", BND = "0.4" }\n'
    )
    assert "accounts.main.policy.keep" not in {p.path for p in check_config(config)}
