"""`trimtab strategies` and `trimtab strategy weights`, driven in-process on real files; and
the plugin example of docs/strategies.md, loaded by `module:attr` without installing it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.core.domain import AccountType
from daemon.plugins import load_strategy_plugin
from strategies.base import StrategyContext

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "tests.fakes.equal_weight_plugin:PLUGIN"

PRICES = """date,VTI,BND,GLD,BIL
2024-01-02,100,50,20,100
2024-01-03,101,55,19,100.2
2024-01-04,104,58,19.5,100.5
2024-01-05,108,59,19.2,100.8
2024-01-08,110,60,19,101
2024-01-09,130,61,19,101
"""


def invoke(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.stdout if "--json" in args else result.output


def weights(files: tuple[Path, Path], *extra: str, code: int = 0) -> str:
    """Run `strategy weights` on the fixture's config and prices."""
    config, prices = files
    return invoke(
        "strategy", "weights", "-c", str(config), "--prices", str(prices), *extra, code=code
    )


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        '[accounts.main]\nbroker = "sim"\nstrategy = "momentum"\n'
        "[accounts.main.strategy_params]\n"
        'universe = ["VTI", "BND", "GLD"]\nlookback_days = 4\nbenchmark = "BIL"\n'
    )
    prices = tmp_path / "prices.csv"
    prices.write_text(PRICES)
    return config, prices


def test_strategies_lists_every_installed_one_with_a_description() -> None:
    out = invoke("strategies")
    for name in ("static", "composite", "income", "momentum", "trend", "hrp", "min_variance"):
        assert name in out
    assert "Hierarchical risk parity" in out


def test_strategies_show_prints_params_defaults_and_descriptions() -> None:
    out = invoke("strategies", "show", "hrp")
    assert "linkage" in out
    assert '"single"' in out
    assert "(required)" in out  # universe
    assert "Trading days of history" in out
    assert "no plugin 'nope'" in invoke("strategies", "show", "nope", code=1)


def test_weights_json_is_the_date_and_decimal_strings_summing_to_one(
    files: tuple[Path, Path],
) -> None:
    got = json.loads(weights(files, "--json"))
    assert got == {"date": "2024-01-09", "weights": {"VTI": "1.000000000"}}
    past = json.loads(weights(files, "--date", "2024-01-08", "--json"))
    # On the 8th, VTI's 10% trails BND's 20%: the later row is never seen.
    assert past == {"date": "2024-01-08", "weights": {"BND": "1.000000000"}}
    assert sum(Decimal(w) for w in past["weights"].values()) == 1


def test_weights_table_gives_each_reason(files: tuple[Path, Path]) -> None:
    out = weights(files)
    assert "momentum: 4-day return 28.7% > BIL 0.8% (rank 1 of 3)" in out
    assert "100.00%" in out


def test_weights_names_missing_history_and_a_bad_date(files: tuple[Path, Path]) -> None:
    out = weights(files, "--date", "2024-01-05", code=1)
    assert "strategy momentum: 4 days of price history up to 2024-01-05, needs 5" in out
    assert "write YYYY-MM-DD" in weights(files, "--date", "2024-13-01", code=2)


def test_the_documented_plugin_example_loads_by_module_attr_and_allocates() -> None:
    plugin = load_strategy_plugin(EXAMPLE)
    strategy = plugin.create(plugin.params_model.model_validate({"symbols": ["A", "B", "C"]}))
    ctx = StrategyContext(
        trading_day=date(2024, 1, 2),
        account="a",
        account_type=AccountType.TAXABLE,
        cash=Decimal(0),
        holdings={},
        prices={},
    )
    assert strategy.targets(ctx) == {
        "A": Decimal("0.333333334"),
        "B": Decimal("0.333333333"),
        "C": Decimal("0.333333333"),
    }
    docs = (REPO / "docs" / "strategies.md").read_text()
    example = (REPO / "tests" / "fakes" / "equal_weight_plugin.py").read_text()
    body = example.split('"""', 2)[2].strip()
    assert body in docs, "docs/strategies.md must show tests/fakes/equal_weight_plugin.py as is"


def test_a_config_naming_the_example_plugin_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'[accounts.main]\nbroker = "sim"\nstrategy = "{EXAMPLE}"\n'
        '[accounts.main.strategy_params]\nsymbols = ["VTI", "BND"]\n'
    )
    prices = tmp_path / "p.csv"
    prices.write_text(PRICES)
    got = json.loads(
        invoke("strategy", "weights", "-c", str(config), "--prices", str(prices), "--json")
    )
    assert got["weights"] == {"BND": "0.500000000", "VTI": "0.500000000"}


def test_a_live_cycle_with_stale_history_fails_audited_and_sends_nothing(
    tmp_path: Path,
) -> None:
    # The account's history_file ends in 2024, long before the previous session: the
    # DataError names the symbol and the day, the cycle is audited as failed, nothing is sent.
    (tmp_path / "prices.csv").write_text(PRICES)
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[accounts.main]\nbroker = "sim"\n'
        'strategy = "hrp"\nhistory_file = "prices.csv"\n[accounts.main.strategy_params]\n'
        'universe = ["VTI", "BND"]\n'
    )
    out = invoke("run", "--once", "-c", str(config), code=1)
    assert "DataError: price history of BND from history_file" in out
    assert "ends 2024-01-09; the close of" in out
    lines = invoke("audit", "-c", str(config), "--json").splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    # After the cycle, `run --once` evaluates the alerts as the daemon does (cycle_failed).
    assert kinds[-2:] == ["cycle_failed", "alert"]
    assert not {"order_intent", "order_result"} & set(kinds)


def test_without_prices_the_simulated_brokers_history_is_read(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[accounts.main]\nbroker = "sim"\n'
        'strategy = "composite"\n'
        "[[accounts.main.strategy_params.sleeves]]\n"
        'name = "core"\nweight = "0.5"\nstrategy = "static"\nparams = { targets = { VTI = "1" } }\n'
        "[[accounts.main.strategy_params.sleeves]]\n"
        'name = "risk"\nweight = "0.5"\nstrategy = "hrp"\n'
        'params = { universe = ["VTI", "BND", "GLD"], lookback_days = 40 }\n'
    )
    got = json.loads(invoke("strategy", "weights", "-c", str(config), "--json"))
    assert set(got["weights"]) == {"VTI", "BND", "GLD"}
    assert sum(Decimal(w) for w in got["weights"].values()) == 1
    assert Decimal(got["weights"]["VTI"]) > Decimal("0.5")


def test_without_prices_a_broker_without_history_asks_for_them(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[accounts.acct]\n'
        'broker = "tests.fakes.broker:SECRET_PLUGIN"\nstrategy = "hrp"\n'
        '[accounts.acct.strategy_params]\nuniverse = ["VTI", "BND"]\n'
    )
    env = {
        "TRIMTAB_ACCOUNTS__ACCT__BROKER_SETTINGS__API_KEY": "key",
        "TRIMTAB_ACCOUNTS__ACCT__BROKER_SETTINGS__SECRET_KEY": "secret",
    }
    out = invoke("strategy", "weights", "-c", str(config), code=2, env=env)
    assert "has no daily price history; give the closes with --prices" in out


def test_the_account_must_be_named_among_several_and_known(files: tuple[Path, Path]) -> None:
    config, _ = files
    config.write_text(
        config.read_text()
        + '[accounts.other]\nbroker = "sim"\n[accounts.other.strategy_params]\n'
        + 'targets = { VTI = "1" }\n'
    )
    out = weights(files, code=2)
    assert "name the account with --account (one of: main, other)" in out.replace("\n", " ")
    out = weights(files, "-a", "nope", code=2)
    assert "no account 'nope' in the config; the accounts are main, other" in out.replace("\n", " ")
