"""`[income]`: a usable plan, and every nonsense one named by its key with the fix."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config.settings import check_config, load_config

ACCOUNTS = """
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
"""


def _problems(tmp_path: Path, income: str) -> dict[str, str]:
    path = tmp_path / "trimtab.toml"
    path.write_text(ACCOUNTS + "[income]\n" + income)
    return {p.path: f"{p.problem} | {p.fix}" for p in check_config(path)}


def test_a_usable_plan(tmp_path: Path) -> None:
    path = tmp_path / "trimtab.toml"
    path.write_text(
        ACCOUNTS
        + '[income]\naccount = "main"\nmonthly_amount = "2000"\ninflation = 0.025\n'
        + "base_year = 2026\npayout_day = 28\nyields = { BND = 0.035 }\n"
    )
    income = load_config(path).income
    assert income is not None
    rule = income.rule()
    assert rule.monthly_amount == Decimal(2000)
    assert rule.payout_day == 28
    assert rule.lead_days == 3
    assert income.yields == {"BND": Decimal("0.035")}


def test_no_table_no_plan(tmp_path: Path) -> None:
    path = tmp_path / "trimtab.toml"
    path.write_text(ACCOUNTS)
    assert load_config(path).income is None


def test_a_payout_account_that_is_not_configured(tmp_path: Path) -> None:
    found = _problems(tmp_path, 'account = "checking"\nmonthly_amount = "2000"\n')
    assert found == {
        "income.account": "the income account 'checking' is not a configured account "
        "| set income.account to one of: main"
    }


@pytest.mark.parametrize(
    ("income", "key", "words"),
    [
        ('monthly_amount = "-100"', "income.monthly_amount", "positive amount"),
        ('monthly_amount = "0"', "income.monthly_amount", "positive amount"),
        ('monthly_amount = "NaN"', "income.monthly_amount", "finite"),
        ('monthly_amount = "lots"', "income.monthly_amount", "number"),
        ("annual_pct = 4", "income.annual_pct", "0.04 for 4%"),
        ("annual_pct = 0", "income.annual_pct", "0.04 for 4%"),
        ('monthly_amount = "1"\nannual_pct = 0.04', "income.monthly_amount", "exactly one"),
        ("", "income.monthly_amount", "exactly one"),
        ('monthly_amount = "1"\ninflation = 0.02', "income.base_year", "base_year = 2026"),
        ('monthly_amount = "1"\ninflation = 2', "income.inflation", "at most 0.2"),
        ("annual_pct = 0.04\ninflation = 0.02\nbase_year = 2026", "income.inflation", "annual_pct"),
        ('monthly_amount = "1"\npayout_day = 32', "income.payout_day", "1 to 31"),
        ('monthly_amount = "1"\npayout_day = 0', "income.payout_day", "payout_day = 1"),
        ('monthly_amount = "1"\nlead_days = -1', "income.lead_days", "at least 0"),
        ('monthly_amount = "1"\nyields = { bnd = 0.03 }', "income.yields", "upper case"),
        ('monthly_amount = "1"\nyields = { BND = 3 }', "income.yields.BND", "at most 1"),
        ('monthly_amount = "1"\npay_to = "x"', "income.pay_to", "unknown keys"),
    ],
)
def test_nonsense_is_named_by_its_key_with_the_fix(
    tmp_path: Path, income: str, key: str, words: str
) -> None:
    found = _problems(tmp_path, 'account = "main"\n' + income + "\n")
    assert key in found, found
    assert words in found[key], found[key]
