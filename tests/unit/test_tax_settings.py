"""The tax tables of the configuration: closed, checked, with the key path in every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config.settings import check_config, load_config
from daemon.store.tax_ledger import tax_policy


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trimtab.toml"
    path.write_text(
        '[accounts.main]\n[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n' + text
    )
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    return [f"{p.path}: {p.problem}" for p in check_config(config(tmp_path, text))]


def test_defaults_block_buys_defer_loss_sales_and_harvest_nothing(tmp_path: Path) -> None:
    settings = load_config(config(tmp_path, ""))
    tax = settings.accounts["main"].tax
    assert (tax.lot_method, tax.wash_sale.buys, tax.wash_sale.loss_sales) == (
        "fifo",
        "block",
        "defer",
    )
    assert not tax.harvest.enabled
    assert settings.tax.substantially_identical == ()


def test_a_full_household_table_loads(tmp_path: Path) -> None:
    settings = load_config(
        config(
            tmp_path,
            '[tax]\nsubstantially_identical = [["VOO", "IVV"]]\n'
            '[tax.outside_accounts.spouse-401k]\ntype = "traditional_ira"\nowner = "spouse"\n'
            '[accounts.main.tax]\nlot_method = "specific"\nalternates = { VTI = "ITOT" }\n'
            '[accounts.main.tax.wash_sale]\nloss_sales = "choose_other_lots"\n'
            '[accounts.main.tax.gains_budget]\nlong_term = "10000"\n',
        )
    )
    assert settings.tax.outside_accounts["spouse-401k"].owner == "spouse"
    assert str(settings.accounts["main"].tax.gains_budget.long_term) == "10000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[accounts.main.tax.wash_sale]\nloss_sales = "choose_other_lots"\n',
            "needs lot_method = 'specific'",
        ),
        ('[accounts.main.tax]\nalternates = { VTI = "VTI" }\n', "is VTI itself"),
        ('[accounts.main.tax]\nalternates = { VTI = "itot" }\n', "'itot' is not a valid ticker"),
        ('[accounts.main.tax.harvest]\nmin_loss_pct = "1.5"\n', "min_loss_pct"),
        ('[accounts.main.tax]\nlot_mehtod = "fifo"\n', "lot_mehtod"),
        ('[tax]\nsubstantially_identical = [["VOO"]]\n', "fewer than two symbols"),
        ('[tax.outside_accounts."Spouse IRA"]\n', "is not allowed"),
        ('[tax.outside_accounts.spouse]\nowner = "neighbour"\n', "owner"),
    ],
)
def test_a_bad_tax_setting_is_named(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_groups_that_share_a_symbol_are_merged(tmp_path: Path) -> None:
    settings = load_config(
        config(tmp_path, '[tax]\nsubstantially_identical = [["VOO", "IVV"], ["IVV", "SPLG"]]\n')
    )
    assert tax_policy(settings).identical.members("VOO") == {"VOO", "IVV", "SPLG"}


def lots_config(tmp_path: Path, broker: str, settings: str, kind: str = "taxable") -> Path:
    path = tmp_path / "trimtab.toml"
    (tmp_path / "exports").mkdir(exist_ok=True)
    (tmp_path / "prices.csv").write_text("symbol,price\nVTI,250.00\n")
    path.write_text(
        f'[accounts.main]\nbroker = "{broker}"\ntype = "{kind}"\n'
        f"[accounts.main.broker_settings]\n{settings}"
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
        '[accounts.main.tax]\nlot_method = "specific"\n'
    )
    return path


ALPACA = 'environment = "paper"\n'
IBKR = 'environment = "paper"\naccount_id = "DU1234567"\n'
MANUAL = (
    'environment = "live"\nexports = "exports"\npreset = "fidelity"\naccount_number = "X1"\n'
    'prices_file = "prices.csv"\n'
)


@pytest.mark.parametrize(
    ("broker", "settings"), [("alpaca", ALPACA), ("ibkr", IBKR), ("manual", MANUAL)]
)
def test_specific_lots_are_refused_where_the_broker_cannot_be_told_them(
    tmp_path: Path, broker: str, settings: str
) -> None:
    """Their orders name no lots: the broker relieves by its own method, so trimtab's picks
    would be recorded for lots the broker never sold, and the ledger and 1099-B disagree."""
    found = check_config(lots_config(tmp_path, broker, settings))
    [problem] = [p for p in found if p.path == "accounts.main.tax.lot_method"]
    assert f"broker {broker!r} cannot be told which lots a sale relieves" in problem.problem
    assert "the method the account uses at the broker" in problem.fix


def test_specific_lots_stand_on_the_sim_and_in_an_ira(tmp_path: Path) -> None:
    assert check_config(lots_config(tmp_path, "sim", "")) == []
    # An IRA's lots have no tax consequence: nothing is refused there.
    ira = lots_config(tmp_path, "alpaca", ALPACA, kind="traditional_ira")
    assert [p for p in check_config(ira) if "lot_method" in p.path] == []
