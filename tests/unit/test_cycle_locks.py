"""Cluster mode's cycle locks: accounts tied by the household, a lock_group or one broker
login (one IB Gateway) share one lock, transitively; every other account has its own."""

from __future__ import annotations

from pathlib import Path

from daemon.config.settings import load_config


def ib(name: str, port: int, client_id: int, extra: str = "") -> str:
    return f"""
[accounts.{name}]
broker = "ibkr"
{extra}
[accounts.{name}.broker_settings]
environment = "paper"
account_id = "DU{client_id:07d}"
port = {port}
client_id = {client_id}
[accounts.{name}.strategy_params]
targets = {{ VTI = "1" }}
"""


def sim(name: str, extra: str = "") -> str:
    return f"""
[accounts.{name}]
broker = "sim"
{extra}
[accounts.{name}.strategy_params]
targets = {{ VTI = "1" }}
"""


def locks(tmp_path: Path, text: str) -> dict[str, str]:
    config = tmp_path / "trimtab.toml"
    config.write_text(text)
    settings = load_config(config)
    return {name: settings.lock_key(name) for name in settings.accounts}


def test_accounts_behind_one_gateway_share_its_lock(tmp_path: Path) -> None:
    found = locks(
        tmp_path,
        ib("ira", 4002, 1) + ib("roth", 4002, 2) + ib("other", 4001, 3) + sim("demo"),
    )
    assert found == {
        "ira": "session:ibkr:127.0.0.1:4002",
        "roth": "session:ibkr:127.0.0.1:4002",
        "other": "account:other",  # alone behind its Gateway
        "demo": "account:demo",
    }


def test_ties_are_transitive_and_a_lock_group_names_the_set(tmp_path: Path) -> None:
    # ira and roth share a Gateway; roth and demo share a lock group: all three, one lock.
    found = locks(
        tmp_path,
        ib("ira", 4002, 1)
        + ib("roth", 4002, 2, 'lock_group = "smiths"')
        + sim("demo", 'lock_group = "smiths"')
        + sim("alone", 'lock_group = "jones"'),
    )
    assert found == {
        "ira": "group:smiths",
        "roth": "group:smiths",
        "demo": "group:smiths",
        "alone": "group:jones",
    }


def test_an_account_behind_a_household_members_gateway_joins_the_household(
    tmp_path: Path,
) -> None:
    found = locks(
        tmp_path,
        ib("ira", 4002, 1)
        + ib("outside", 4002, 2)
        + sim("brokerage")
        + sim("spare")
        + '\n[household]\naccounts = ["ira", "brokerage"]\ntargets = { VTI = "1" }\n',
    )
    assert found == {
        "ira": "household",
        "outside": "household",
        "brokerage": "household",
        "spare": "account:spare",
    }


def test_an_income_plan_without_a_household_ties_every_account(tmp_path: Path) -> None:
    found = locks(
        tmp_path,
        sim("brokerage")
        + sim("ira")
        + '\n[income]\naccount = "brokerage"\nmonthly_amount = "1000"\npayout_day = 15\n',
    )
    assert found == {"brokerage": "household", "ira": "household"}
