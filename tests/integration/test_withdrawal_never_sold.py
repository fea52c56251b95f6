"""A `--withdraw` is bounded by what trimtab may sell, not by the whole account.

Found in review of the `--withdraw` check: holdings the planner never sells (`policy.keep`)
counted in the account's value, so an amount above cash plus the sellable holdings passed the
check, and the cycle sold every managed holding and still ended short (VTI 594 + BND 792 +
$1,000 cash, keep = ["BND"], `run --once --withdraw 99999` sold all the VTI and raised
$60,400). Now the bound is cash plus the holdings trimtab may sell at the snapshot's quotes:
kept holdings (`policy.keep`), symbols on `risk.restricted_symbols` and holdings outside the
account's allowed symbols (`risk.allowed_symbols` / `policy.allowed_symbols`) are left out,
and the refusal names them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from daemon.audit.events import CycleFailed
from daemon.audit.record import events_of
from tests.integration.test_withdrawal_too_large import (
    PRICES,
    audit_records,
    bought,
    holdings_of,
    invoke,
    sim_state,
    write_config,
)


def retarget(config: str, policy: str = "", extra: str = "") -> None:
    """Target VTI only from now on, with `policy` lines added to the account's policy and
    `extra` tables after the account's."""
    text = Path(config).read_text()
    text = text.replace('targets = { VTI = "0.6", BND = "0.4" }', 'targets = { VTI = "1" }')
    text = text.replace('cash_buffer = "1000"', f'cash_buffer = "1000"\n{policy}')
    Path(config).write_text(text + extra)


def keep_bnd(config: str) -> None:
    """From now on the owner keeps BND (trimtab never sells it) and targets VTI only."""
    retarget(config, 'keep = ["BND"]')


def test_run_once_refuses_a_withdrawal_only_the_kept_holdings_could_cover(
    tmp_path: Path, database_url: str
) -> None:
    config, value = bought(tmp_path, database_url)
    before = sim_state(config)
    held = holdings_of(before)
    keep_bnd(config)
    sellable = Decimal(str(before["cash"])) + held["VTI"] * PRICES["VTI"]
    bnd = held["BND"] * PRICES["BND"]
    asked = value - Decimal(1)  # more than cash + VTI, less than cash + VTI + BND
    assert sellable < asked
    code, output = invoke(
        "run", "--once", "-a", "main", "--force", "--withdraw", str(asked), "-c", config
    )
    assert code == 1, output
    assert "main: cycle failed" in output
    assert "BND is kept (policy.keep) and never sold" in output
    assert f"${sellable:,.2f}" in output
    assert f"${bnd:,.2f}" in output
    assert f"--withdraw {sellable:.2f} at most" in output
    # Nothing was sold: the VTI is still there.
    after = sim_state(config)
    assert holdings_of(after) == held
    assert after["recent_orders"] == before["recent_orders"]
    [(_, event)] = events_of(audit_records(config), CycleFailed)
    assert event.error_type == "WithdrawalTooLarge"
    assert "BND is kept (policy.keep)" in event.error

    # The boundary: what it may sell is planned and raised, the kept BND untouched.
    code, output = invoke(
        "run", "--once", "-a", "main", "--force", "--withdraw", str(sellable), "-c", config
    )
    assert code == 0, output
    after = sim_state(config)
    assert holdings_of(after) == {"BND": held["BND"]}
    assert Decimal(str(after["cash"])) == sellable


def holdings_file(tmp_path: Path) -> Path:
    holdings = tmp_path / "holdings.json"
    holdings.write_text(
        json.dumps(
            {
                "cash": "1000",
                "positions": [
                    {"symbol": "VTI", "qty": "300", "price": "100"},
                    {"symbol": "BND", "qty": "400", "price": "50"},
                ],
            }
        )
    )
    return holdings


def offline_config(tmp_path: Path, policy: str = "", extra: str = "") -> str:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}")
    retarget(config, policy, extra)
    return config


def offline_plan(config: str, holdings: Path, asked: str) -> tuple[int, str]:
    return invoke(
        "plan", "-a", "main", "--holdings", str(holdings), "--withdraw", asked, "-c", config
    )


def test_offline_plan_leaves_kept_holdings_out_of_the_bound(tmp_path: Path) -> None:
    config = offline_config(tmp_path, 'keep = ["BND"]')
    holdings = holdings_file(tmp_path)
    code, output = offline_plan(config, holdings, "31000.01")
    assert code == 2, output
    assert "BND is kept (policy.keep) and never sold" in output
    assert "--withdraw 31000.00 at most" in output
    code, output = offline_plan(config, holdings, "31000")
    assert code == 0, output


def test_a_restricted_holding_is_left_out_of_the_bound(tmp_path: Path) -> None:
    """Every order in a `risk.restricted_symbols` symbol is refused by the pre-trade checks,
    so a restricted holding is never sold: it cannot raise a withdrawal."""
    config = offline_config(tmp_path, extra='\n[risk]\nrestricted_symbols = ["BND"]\n')
    holdings = holdings_file(tmp_path)
    code, output = offline_plan(config, holdings, "31000.01")
    assert code == 2, output
    assert "BND is on risk.restricted_symbols and never sold" in output
    assert "--withdraw 31000.00 at most" in output
    code, output = offline_plan(config, holdings, "31000")
    assert code == 0, output


def test_a_holding_outside_the_allowed_symbols_is_left_out_of_the_bound(
    tmp_path: Path,
) -> None:
    """With allowed symbols set, the pre-trade checks refuse every order in any other symbol,
    a sale of a holding outside them too: it cannot raise a withdrawal."""
    config = offline_config(tmp_path, 'allowed_symbols = ["VTI"]')
    holdings = holdings_file(tmp_path)
    code, output = offline_plan(config, holdings, "31000.01")
    assert code == 2, output
    assert "BND is not on the allowed symbols" in output
    assert "--withdraw 31000.00 at most" in output
    code, output = offline_plan(config, holdings, "31000")
    assert code == 0, output
