"""The command line, driven as a user would: real files, real database, real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.service.lock import instance_lock
from daemon.store.models import AuditRecordRow

REPO = Path(__file__).resolve().parents[2]
TRIMTAB = Path(sys.executable).parent / "trimtab"


def invoke(*args: str, code: int = 0, stdout_only: bool = False) -> str:
    """Run the CLI in-process; return what it printed (stdout only: the part JSON is on)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout if stdout_only or "--json" in args or "schema" in args else result.output


def test_config_check_accepts_the_example(example: Path) -> None:
    assert "configuration OK" in invoke("config", "check", "--config", str(example))


def test_config_check_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('mode = "yolo"\n[accounts.a]\nbrokr = "sim"\n')
    output = invoke("config", "check", "-c", str(bad), code=2)
    assert "mode:" in output
    assert "accounts.a.brokr:" in output
    assert output.count("fix:") >= 3  # also accounts.a.strategy_params.targets is missing


def test_config_schema_is_json() -> None:
    schema = json.loads(invoke("config", "schema"))
    assert schema["properties"]["mode"]["default"] == "dry-run"


def holdings_file(tmp_path: Path, **overrides: object) -> Path:
    data: dict[str, object] = {
        "cash": "1000",
        "positions": [
            {"symbol": "VTI", "qty": "100", "price": "250"},
            {"symbol": "BND", "qty": 100, "price": 70.5},
        ],
        "prices": {"VXUS": "60"},
    }
    data.update(overrides)
    path = tmp_path / "holdings.json"
    path.write_text(json.dumps(data))
    return path


def test_offline_plan_prints_the_documented_json(example: Path, tmp_path: Path) -> None:
    output = invoke(
        "plan",
        "-c",
        str(example),
        "--account",
        "brokerage",
        "--holdings",
        str(holdings_file(tmp_path)),
        "--json",
    )
    result = json.loads(output)
    assert set(result) >= {"orders", "drift", "cash_after"}
    assert {tuple(sorted(o)) for o in result["orders"]} == {
        ("notional", "price", "qty", "reason", "side", "symbol")
    }
    sides = {o["symbol"]: o["side"] for o in result["orders"]}
    assert sides["VXUS"] == "buy"
    assert sides["VTI"] == "sell"
    drift_keys = {"symbol", "weight", "target", "low", "high", "out_of_band"}
    assert drift_keys <= set(result["drift"][0])
    # No broker, no state: the offline plan creates nothing.
    assert not (tmp_path / "state" / "trimtab.db").exists()


def test_offline_plan_goes_through_the_tax_and_pre_trade_decisions(
    example: Path, tmp_path: Path
) -> None:
    text = example.read_text().replace("restricted_symbols = []", 'restricted_symbols = ["VXUS"]')
    example.write_text(text)
    args = ("plan", "-c", str(example), "-a", "brokerage", "--holdings")
    result = json.loads(invoke(*args, str(holdings_file(tmp_path)), "--json"))
    refused = {(r["symbol"], r["side"], r["check"]) for r in result["refusals"]}
    assert ("VXUS", "buy", "symbol_list") in refused
    assert all("restricted_symbols" in r["reason"] for r in result["refusals"])
    # A file has no lots: the tax step says so for the taxable account's sell.
    assert any(note.startswith("tax:") for note in result["notes"])
    text_output = invoke(*args, str(holdings_file(tmp_path)))
    assert "refused buy VXUS: symbol_list: VXUS is on risk.restricted_symbols" in text_output


@pytest.mark.parametrize(
    ("positions", "message"),
    [
        ([{"symbol": "VTI", "qty": "-3", "price": "250"}], "positions[0].qty (VTI) is negative"),
        ([{"symbol": "VTI", "qty": "3", "price": "0"}], "positions[0].price (VTI) is 0"),
        (
            [{"symbol": "VTI", "qty": "3", "price": "NaN"}],
            "positions[0].price (VTI) is not a number ('NaN')",
        ),
        (
            [{"symbol": "VTI", "qty": "three", "price": "1"}],
            "positions[0].qty (VTI) is not a number",
        ),
        ([{"symbol": "VTI", "qty": "3"}], "price of VTI is missing"),
    ],
)
def test_offline_plan_rejects_bad_holdings(
    example: Path, tmp_path: Path, positions: list[object], message: str
) -> None:
    path = holdings_file(tmp_path, positions=positions, prices={"VXUS": "60", "BND": "70"})
    output = invoke("plan", "-c", str(example), "-a", "brokerage", "--holdings", str(path), code=2)
    assert message in output


def test_offline_plan_needs_an_account_when_there_are_several(
    example: Path, tmp_path: Path
) -> None:
    output = invoke("plan", "-c", str(example), "--holdings", str(holdings_file(tmp_path)), code=2)
    assert "--account" in output


def test_run_audit_status_kill_resume(example: Path) -> None:
    config = str(example)
    run = json.loads(invoke("run", "--once", "-c", config, "--json"))
    assert [r["outcome"] for r in run] == ["succeeded", "succeeded"]
    assert all(o["status"] == "filled" for r in run for o in r["orders"])
    lines = [json.loads(line) for line in invoke("audit", "-c", config, "--json").splitlines()]
    assert {"cycle_started", "plan", "order_result", "cycle_finished"} <= {r["kind"] for r in lines}
    assert "audit chain intact" in invoke("audit", "verify", "-c", config)

    invoke("kill", "-c", config, "--reason", "going on holiday")
    status = json.loads(invoke("status", "-c", config, "--json"))
    assert status["kill_switch"]["engaged"] is True
    assert status["kill_switch"]["reason"] == "going on holiday"
    invoke("sim", "deposit", "25000", "-c", config, "-a", "brokerage")
    killed = json.loads(
        invoke("run", "--once", "--force", "-a", "brokerage", "-c", config, "--json")
    )
    assert killed[0]["submitted"] is False
    assert killed[0]["why_not_submitted"] == "kill switch engaged"
    assert killed[0]["plan"]["orders"], "the deposit should have been planned"
    invoke("resume", "-c", config)
    resumed = json.loads(
        invoke("run", "--once", "--force", "-a", "brokerage", "-c", config, "--json")
    )
    assert resumed[0]["submitted"] is True
    state = json.loads(invoke("sim", "state", "-c", config, "-a", "brokerage", "--json"))
    assert state["prices"]["synthetic"] is True


def test_audit_verify_names_the_tampered_record(example: Path) -> None:
    invoke("run", "--once", "-c", str(example), "-a", "ira")
    application = open_app(example)
    with application.database.transaction() as session:
        session.execute(update(AuditRecordRow).where(AuditRecordRow.seq == 3).values(payload="{}"))
    application.close()
    output = invoke("audit", "verify", "-c", str(example), code=1)
    assert "broken at record 3" in output


def test_sim_withdraw_refuses_more_than_cash(example: Path) -> None:
    output = invoke("sim", "withdraw", "1000000", "-c", str(example), "-a", "ira", code=1)
    assert "1,000,000" in output or "1000000" in output


@pytest.mark.slow
def test_demo_runs_in_a_real_process_and_a_second_instance_is_refused(example: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    first = subprocess.run(
        [str(TRIMTAB), "run", "--once", "-c", str(example)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "filled" in first.stdout
    # Logs are JSON lines on stderr (not a terminal), each with the cycle and account bound.
    cycle_lines = [
        json.loads(line) for line in first.stderr.splitlines() if '"cycle_finished"' in line
    ]
    assert {line["account"] for line in cycle_lines} == {"brokerage", "ira"}
    assert all(line["cycle_id"] for line in cycle_lines)
    with instance_lock(example.parent / "state"):
        second = subprocess.run(
            [str(TRIMTAB), "run", "--once", "--force", "-c", str(example)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert second.returncode == 1
    assert f"another trimtab (pid {os.getpid()})" in second.stderr


SECRET = "sk-live-0123456789-do-not-print"


@pytest.mark.slow
def test_secrets_never_reach_output_logs_or_audit(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        'mode = "paper"\n[accounts.acct]\nbroker = "tests.fakes.broker:SECRET_PLUGIN"\n'
        '[accounts.acct.strategy_params]\ntargets = { VTI = "1" }\n'
        '[accounts.acct.broker_settings]\nendpoint = "http://127.0.0.1:9"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "TRIMTAB_ACCOUNTS__ACCT__BROKER_SETTINGS__API_KEY": SECRET,
        "TRIMTAB_ACCOUNTS__ACCT__BROKER_SETTINGS__SECRET_KEY": SECRET[::-1],
        "TRIMTAB_LOG__LEVEL": "debug",
    }
    seen = ""
    for args in (
        ["config", "check"],
        ["run", "--once"],
        ["status", "--json"],
        ["audit", "--json"],
        ["plan", "--json"],
    ):
        done = subprocess.run(
            [str(TRIMTAB), *args, "-c", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
            cwd=tmp_path,
        )
        seen += done.stdout + done.stderr
    # The cycle itself fails (the pretend broker has no price for VTI) and says so...
    assert "no price for VTI" in seen
    # ...without a trace of either credential anywhere.
    assert SECRET not in seen
    assert SECRET[::-1] not in seen
    database = (tmp_path / "state" / "trimtab.db").read_bytes()
    assert SECRET.encode() not in database


def test_kill_cancel_open_cancels_working_orders(example: Path) -> None:
    from decimal import Decimal

    from daemon.core.domain import OrderIntent, OrderType, Side

    application = open_app(example)
    resting = OrderIntent(
        client_order_id="left-open-in-the-ui",
        cycle_id="-",
        account="ira",
        seq=1,
        symbol="VTI",
        side=Side.BUY,
        qty=Decimal(1),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("1.00"),
        reason="ui",
    )
    application.broker("ira").submit(resting)
    application.close()
    output = invoke("kill", "--cancel-open", "--reason", "drill", "-c", str(example))
    assert "ira: left-open-in-the-ui buy 1 VTI: cancelled" in output
    state = json.loads(invoke("sim", "state", "-a", "ira", "-c", str(example), "--json"))
    assert state["open_orders"] == []
    lines = [json.loads(x) for x in invoke("audit", "--json", "-c", str(example)).splitlines()]
    cancelled = [r for r in lines if r["kind"] == "order_result"]
    assert cancelled[-1]["payload"]["external"] is True


# Text that rich would read as markup: a closing tag that crashed it, a style it applied.
MARKUP_LIKE = ("[/x]", "[bold]whenever")


def invoke_bad_input(*args: str) -> str:
    """Run a command given bad input: exit 2, a message, no traceback."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "MarkupError" not in result.output
    return result.output


@pytest.mark.parametrize("value", MARKUP_LIKE)
def test_a_markup_like_schedule_is_named_literally(example: Path, value: str) -> None:
    text = example.read_text().replace('schedule = "close - 15m"', f'schedule = "{value}"', 1)
    assert text != example.read_text()
    example.write_text(text)
    for command in (("config", "check"), ("plan", "-a", "brokerage")):
        output = invoke_bad_input(*command, "-c", str(example))
        assert f"cannot read '{value}'" in output
        assert "schedule" in output


@pytest.mark.parametrize("value", MARKUP_LIKE)
def test_a_markup_like_holdings_quantity_is_named_literally(
    example: Path, tmp_path: Path, value: str
) -> None:
    path = holdings_file(tmp_path, positions=[{"symbol": "VTI", "qty": value, "price": "250"}])
    output = invoke_bad_input(
        "plan", "-c", str(example), "-a", "brokerage", "--holdings", str(path)
    )
    assert f"positions[0].qty (VTI) is not a number ('{value}')" in output


@pytest.mark.parametrize("value", MARKUP_LIKE)
def test_a_markup_like_tax_import_quantity_is_named_literally(
    example: Path, tmp_path: Path, value: str
) -> None:
    lots = tmp_path / "lots.csv"
    lots.write_text(
        f"account,symbol,acquired,quantity,cost_basis\nbrokerage,VTI,2026-01-05,{value},10\n"
    )
    output = invoke_bad_input("tax", "import", str(lots), "-c", str(example))
    assert f"line 2: quantity '{value}' is not a number above 0" in output


@pytest.mark.parametrize("value", MARKUP_LIKE)
def test_a_markup_like_tax_replay_quantity_is_named_literally(tmp_path: Path, value: str) -> None:
    trades = tmp_path / "trades.csv"
    trades.write_text(
        "id,date,account,account_type,symbol,side,qty,price\n"
        f"1,2026-01-05,a,taxable,VOO,buy,{value},100\n"
    )
    output = invoke_bad_input("tax", "replay", str(trades))
    assert f"column qty: '{value}' is not a number" in output


def test_key_names_in_brackets_survive_in_messages(example: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("tax", "add-trade", "-a", "nobody", "--symbol", "VTI", "--side", "buy"),
            *("--date", "2026-01-05", "--qty", "1", "--amount", "100", "-c", str(example)),
        ],
    )
    assert result.exit_code != 0
    assert "declare it under [tax.outside_accounts] (declared so far:" in result.output
    text = example.read_text().replace(
        "[notifications]\n", '[notifications]\nurls = ["ntfy://tok"]\n', 1
    )
    example.write_text(text)
    output = invoke_bad_input("config", "check", "-c", str(example))
    assert "put urls under [notifications] in the secrets file" in output
    assert "ntfy://tok" not in output


def test_control_characters_in_an_input_file_are_shown_escaped(tmp_path: Path) -> None:
    trades = tmp_path / "trades.csv"
    trades.write_text(
        "id,date,account,account_type,symbol,side,qty,price\n"
        "1,2026-01-05,a,taxable,VOO,buy,1\x1b[2J\x1b]0;owned\x07,100\n"
    )
    output = invoke_bad_input("tax", "replay", str(trades))
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "1\\x1b[2J\\x1b]0;owned\\x07" in output


def test_version_comes_from_the_package() -> None:
    from importlib.metadata import version

    assert invoke("--version") == f"trimtab {version('trimtab')}\n"


def test_version_of_a_checkout_not_installed_comes_from_pyproject(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata
    import tomllib

    from daemon.cli import package_version

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert package_version() == pyproject["project"]["version"]


def test_flags_show_no_value_in_help() -> None:
    output = invoke("plan", "--help")
    json_line = next(line for line in output.splitlines() if "--json" in line)
    assert "<bool>" not in json_line
    assert "<bool>" not in output
    assert "<path>" in output  # options that take a value still say what


def test_plan_json_numbers_are_rounded_and_plain(example: Path, tmp_path: Path) -> None:
    output = invoke(
        "plan",
        "-c",
        str(example),
        "-a",
        "brokerage",
        "--holdings",
        str(holdings_file(tmp_path)),
        "--json",
    )
    assert "E-" not in output
    result = json.loads(output)
    for row in result["drift"]:
        for key in ("weight", "target", "low", "high", "weight_after"):
            integer, _, decimals = row[key].partition(".")
            assert integer.isdigit(), (key, row[key])
            assert len(decimals) == 6, (key, row[key])
    for key in ("cash_before", "cash_after"):
        assert len(result[key].partition(".")[2]) == 2, (key, result[key])


def test_a_usage_error_in_a_pipe_is_one_plain_line() -> None:
    """typer's boxed error panel wraps at 80 columns; `trimtab` writing to a pipe does not."""
    bad = "[/x] " + "long " * 30
    result = subprocess.run(
        [str(TRIMTAB), "tax", "replay", "trades.csv", "--lot-method", bad],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "40"},
        check=False,
    )
    assert result.returncode == 2
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "Invalid value for '--lot-method'" in error
    assert f"'{bad}' is not one of" in error
    assert "╭" not in result.stderr


def test_offline_plan_raises_a_withdrawal_net_of_the_sim_accounts_costs(
    example: Path, tmp_path: Path
) -> None:
    """The brokerage account is on the sim: its slippage and commission are in the config,
    so the offline plan raises what the sales lose to them too, as its live cycle would.
    The holdings sit on their targets, so only the withdrawal is sold for."""
    text = example.read_text().replace('commission_per_order = "0"', 'commission_per_order = "300"')
    example.write_text(text)
    on_target = holdings_file(
        tmp_path,
        cash="2000",
        positions=[
            {"symbol": "VTI", "qty": "220", "price": "250"},
            {"symbol": "VXUS", "qty": "500", "price": "60"},
            {"symbol": "BND", "qty": "184", "price": "70.5"},
        ],
        prices={},
    )
    args = ("plan", "-c", str(example), "-a", "brokerage", "--withdraw", "5000", "--json")
    result = json.loads(invoke(*args, "--holdings", str(on_target)))
    sells = [o for o in result["orders"] if o["side"] == "sell"]
    assert sells
    assert all(o["side"] == "sell" for o in result["orders"])
    raised = sum(Decimal(o["qty"]) * Decimal(o["price"]) for o in sells)
    assert any("for what the sales lose" in note for note in result["notes"])
    # The cash buffer (500) and the 5,000 are there after every sale pays 300 and 2 bps.
    assert Decimal(2000) + raised - 300 * len(sells) - raised * Decimal("0.0002") >= 5500


def test_offline_plan_raises_a_withdrawal_net_of_the_costs_ib_declares(tmp_path: Path) -> None:
    """An IB account, planned from a file with no IB Gateway anywhere: the plugin's declared
    costs (a cent a share, $1 an order at least, fees on sales) are raised on top of the
    withdrawal, as the account's live cycle would raise them from the broker's."""
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        '[accounts.ira]\nbroker = "ibkr"\ntype = "traditional_ira"\n'
        '[accounts.ira.broker_settings]\nenvironment = "paper"\naccount_id = "DU1234567"\n'
        '[accounts.ira.strategy_params]\ntargets = { VTI = "0.5", BND = "0.5" }\n'
        '[accounts.ira.policy]\ncash_buffer = "0"\n'
    )
    on_target = holdings_file(
        tmp_path,
        cash="0",
        positions=[
            {"symbol": "VTI", "qty": "2000", "price": "25"},
            {"symbol": "BND", "qty": "1000", "price": "50"},
        ],
        prices={},
    )
    args = ("plan", "-c", str(config), "--withdraw", "5000", "--json")
    result = json.loads(invoke(*args, "--holdings", str(on_target)))
    sells = [o for o in result["orders"] if o["side"] == "sell"]
    assert sells
    assert len(sells) == len(result["orders"])
    assert any("for what the sales lose" in note for note in result["notes"])
    raised = sum(Decimal(o["qty"]) * Decimal(o["price"]) for o in sells)
    # IB's own Pro Fixed rate and fees at their published maximums stay inside the bounds.
    taken = sum(
        max(Decimal("1.00"), Decimal("0.005") * Decimal(o["qty"]))
        + Decimal(o["qty"]) * Decimal(o["price"]) * Decimal("0.0000513")
        + Decimal("0.000166") * Decimal(o["qty"])
        for o in sells
    )
    assert raised - taken >= 5000
    # At the quotes alone 50 BND and 100 VTI make 5,000 exactly; one more share covers it.
    assert raised == 5000 + 50
