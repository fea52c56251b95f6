"""Third-party plugins that break their contract (tests/fakes/misbehaving.py, loaded by
`module:attr`) through the real engine, `trimtab plan` and `trimtab backtest`: nothing is
sent, the cycle fails with an error naming the plugin and the fix, recorded in the audit log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from daemon.bootstrap import App, open_app
from daemon.cli import app as cli
from daemon.core.domain import Side
from daemon.store.audit_log import AuditLog
from daemon.store.models import CycleRow
from tests.fakes.misbehaving import BROKER_NAME, STRATEGY_NAME, PaperFile

# Tuesday 2026-11-24, 15:45 in New York.
NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
PRICES = {"VTI": "300", "BND": "75", "TSLA": "300"}


def _table(values: dict[str, str]) -> str:
    return "{ " + ", ".join(f'{k} = "{v}"' for k, v in values.items()) + " }"


def config(
    database_url: str,
    *,
    mode: str = "ok",
    fault: str = "",
    positions: dict[str, str] | None = None,
) -> str:
    return f"""
mode = "paper"
database_url = "{database_url}"
[accounts.main]
broker = "{BROKER_NAME}"
strategy = "{STRATEGY_NAME}"
[accounts.main.strategy_params]
symbols = ["VTI", "BND"]
mode = "{mode}"
[accounts.main.broker_settings]
cash = "80000"
fault = "{fault}"
positions = {_table(positions or {})}
prices = {_table(PRICES)}
[accounts.main.policy]
min_trade_notional = "50"
"""


def open_paper(tmp_path: Path, text: str) -> App:
    path = tmp_path / "trimtab.toml"
    path.write_text(text)
    return open_app(path, clock=lambda: NOW)


def paper(app: App) -> PaperFile:
    broker = app.broker("main")
    assert isinstance(broker, PaperFile)
    return broker


def failed_records(app: App) -> list[dict[str, object]]:
    with app.database.transaction() as session:
        return [dict(r.payload) for r in AuditLog(session).records(kinds=["cycle_failed"])]


def test_a_well_behaved_pair_trades(tmp_path: Path, database_url: str) -> None:
    """The control: the same plugins, behaving, do send orders (so "nothing sent" below
    means something)."""
    app = open_paper(tmp_path, config(database_url))
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert {s.split()[2] for s in paper(app).submitted()} == {"VTI", "BND"}
    app.close()


@pytest.mark.parametrize("held", [{"TSLA": "1"}, {}], ids=["held", "not-held"])
def test_a_target_outside_the_strategys_universe_fails_the_cycle(
    tmp_path: Path, database_url: str, held: dict[str, str]
) -> None:
    app = open_paper(tmp_path, config(database_url, mode="outside", positions=held))
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "failed"
    error = report.error or ""
    assert error.startswith("StrategyError: "), error
    assert f"strategy {STRATEGY_NAME}" in error
    assert "TSLA" in error
    assert "universe" in error
    assert "no price" not in error
    assert paper(app).submitted() == []
    (record,) = failed_records(app)
    assert record["error_type"] == "StrategyError"
    assert STRATEGY_NAME in str(record["error"])
    with app.database.transaction() as session:
        row = session.get(CycleRow, report.cycle_id)
        assert row is not None
        assert row.outcome == "failed"
    app.close()


def test_a_target_outside_the_universe_fails_trimtab_plan_too(
    tmp_path: Path, database_url: str
) -> None:
    app = open_paper(tmp_path, config(database_url, mode="outside", positions={"TSLA": "1"}))
    report = app.engine().plan("main")
    assert report.outcome == "failed"
    assert f"strategy {STRATEGY_NAME}" in (report.error or "")
    assert "TSLA" in (report.error or "")
    assert paper(app).submitted() == []
    app.close()


def test_all_in_cash_is_within_any_universe(tmp_path: Path, database_url: str) -> None:
    app = open_paper(tmp_path, config(database_url, mode="cash", positions={"VTI": "10"}))
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert paper(app).submitted() == [f"{Side.SELL} 10 VTI"]
    app.close()


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("raise", "raised KeyError: 'boom-from-plugin'"),
        ("float", "weight of BND must be a Decimal, got float (0.5)"),
    ],
)
def test_a_strategy_that_raises_or_gives_a_float_is_named(
    tmp_path: Path, database_url: str, mode: str, said: str
) -> None:
    app = open_paper(tmp_path, config(database_url, mode=mode))
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "failed"
    error = report.error or ""
    assert error.startswith("StrategyError: "), error
    assert f"strategy {STRATEGY_NAME}" in error
    assert said in error
    assert "fix the plugin" in error
    assert paper(app).submitted() == []
    (record,) = failed_records(app)
    assert STRATEGY_NAME in str(record["error"])
    app.close()


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("dup_positions", "VTI is listed 2 times in its positions"),
        ("float_qty", "quantity of VTI must be a Decimal, got float"),
        ("str_cash", "cash must be a Decimal, got str"),
        ("naive_quote", "time of the quote for BND has no time zone"),
        ("naive_as_of", "time of the snapshot (as_of) has no time zone"),
        ("int_symbol", "a position's symbol must be a str, got int"),
        ("float_price", "price of BND must be a Decimal, got float"),
    ],
)
@pytest.mark.parametrize("submit", [True, False], ids=["run", "plan"])
def test_a_broker_snapshot_breaking_the_contract_fails_the_cycle(
    tmp_path: Path, database_url: str, fault: str, said: str, submit: bool
) -> None:
    app = open_paper(tmp_path, config(database_url, fault=fault, positions={"VTI": "100"}))
    engine = app.engine(fill_timeout=1)
    report = engine.run_once("main") if submit else engine.plan("main")
    assert report.outcome == "failed"
    error = report.error or ""
    assert error.startswith("DataError: "), error
    assert f"broker plugin {BROKER_NAME}" in error
    assert said in error
    assert "fix the plugin" in error
    assert paper(app).submitted() == []
    (record,) = failed_records(app)
    assert record["error_type"] == "DataError"
    assert BROKER_NAME in str(record["error"])
    with app.database.transaction() as session:
        kinds = [r.kind for r in AuditLog(session).records()]
    assert "snapshot" not in kinds  # refused before anything recorded or planned it
    app.close()


# --- trimtab plan --holdings and trimtab backtest -------------------------------------------


def _cli(home: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, [args[0], "-c", str(home / "trimtab.toml"), *args[1:]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _offline_home(tmp_path: Path, mode: str) -> Path:
    (tmp_path / "trimtab.toml").write_text(
        f"""
mode = "dry-run"
state_dir = "state"
[accounts.main]
strategy = "{STRATEGY_NAME}"
[accounts.main.strategy_params]
symbols = ["VTI", "BND"]
mode = "{mode}"
[accounts.main.policy]
fractional = true
min_trade_notional = 1
"""
    )
    days = [date(2024, 1, 2) + timedelta(days=i) for i in range(40)]
    rows = [f"{d},{300 + i},{75 + i / 10:.2f},{200 + i}" for i, d in enumerate(days)]
    (tmp_path / "prices.csv").write_text("date,VTI,BND,TSLA\n" + "\n".join(rows) + "\n")
    (tmp_path / "holdings.json").write_text(
        '{"cash": "5000", "positions": [{"symbol": "VTI", "qty": "10", "price": "300"}, '
        '{"symbol": "TSLA", "qty": "1", "price": "200"}], "prices": {"BND": "75"}}'
    )
    return tmp_path


@pytest.mark.parametrize(
    ("mode", "said"),
    [("outside", "TSLA"), ("raise", "raised KeyError: 'boom-from-plugin'")],
)
def test_the_backtest_names_the_strategy_exit_1_no_traceback(
    tmp_path: Path, mode: str, said: str
) -> None:
    home = _offline_home(tmp_path, mode)
    result = _cli(home, "backtest", "--prices", str(home / "prices.csv"))
    assert result.exit_code == 1, result.output
    assert f"strategy {STRATEGY_NAME}" in result.output
    assert said in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("mode", "said"),
    [("outside", "TSLA"), ("raise", "raised KeyError: 'boom-from-plugin'")],
)
def test_an_offline_plan_names_the_strategy_exit_1(tmp_path: Path, mode: str, said: str) -> None:
    home = _offline_home(tmp_path, mode)
    result = _cli(home, "plan", "-a", "main", "--holdings", str(home / "holdings.json"))
    assert result.exit_code == 1, result.output
    assert f"strategy {STRATEGY_NAME}" in result.output
    assert said in result.output
    assert "no price" not in result.output


@pytest.mark.parametrize(
    ("mode", "said"),
    [("outside", "TSLA"), ("raise", "raised KeyError: 'boom-from-plugin'")],
)
def test_strategy_weights_names_the_strategy_as_a_cycle_does(
    tmp_path: Path, mode: str, said: str
) -> None:
    home = _offline_home(tmp_path, mode)
    args = ["-c", str(home / "trimtab.toml"), "-a", "main", "--prices", str(home / "prices.csv")]
    result = CliRunner().invoke(cli, ["strategy", "weights", *args])
    assert result.exit_code == 1, result.output
    assert f"strategy {STRATEGY_NAME}" in result.output
    assert said in result.output
    assert "Traceback" not in result.output


# --- a household strategy --------------------------------------------------------------------


def _household_config(database_url: str, mode: str) -> str:
    members = "".join(
        f"""
[accounts.{name}]
broker = "{BROKER_NAME}"
type = "{kind}"
[accounts.{name}.broker_settings]
cash = "50000"
prices = {_table(PRICES)}
[accounts.{name}.strategy_params]
targets = {{ VTI = "0.5", BND = "0.5" }}
[accounts.{name}.policy]
min_trade_notional = "50"
"""
        for name, kind in (("brokerage", "taxable"), ("ira", "traditional_ira"))
    )
    return f"""
mode = "paper"
database_url = "{database_url}"
{members}
[household]
accounts = ["brokerage", "ira"]
strategy = "{STRATEGY_NAME}"
strategy_params = {{ symbols = ["VTI", "BND"], mode = "{mode}" }}
"""


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("outside", "gave a weight to TSLA, outside its universe"),
        ("raise", "raised KeyError: 'boom-from-plugin'"),
        ("float", "weight of BND must be a Decimal, got float"),
        ("ok", ""),
    ],
)
def test_a_household_strategy_is_checked_before_the_split(
    tmp_path: Path, database_url: str, mode: str, said: str
) -> None:
    app = open_paper(tmp_path, _household_config(database_url, mode))
    report = app.engine(fill_timeout=1).run_once("brokerage")
    if not said:  # legitimate household targets are not refused
        assert report.outcome == "succeeded", report.error
        app.close()
        return
    assert report.outcome == "failed"
    error = report.error or ""
    assert error.startswith("StrategyError: "), error
    assert f"strategy {STRATEGY_NAME} (the household's)" in error or (
        f"strategy {STRATEGY_NAME} raised" in error
    )
    assert said in error
    broker = app.broker("brokerage")
    assert isinstance(broker, PaperFile)
    assert broker.submitted() == []
    app.close()
