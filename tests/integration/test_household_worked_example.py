"""The issue's worked example, end to end through `trimtab` on real files and SQLite: a
taxable account and a traditional IRA at one broker (sim) and a Roth IRA at a broker without
an API (`manual`, read from the Fidelity sample export). The household view comes first with
the Roth's holdings counted, the per-account targets add up to the household target, bonds
go to the IRA and US equity to the Roth; a dry-run cycle audits the split with its reasons.

A sim account is paper and a manual account is live, so the mixed household runs in
mode = "dry-run" (docs/household.md, "A worked example")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from daemon.audit.events import HouseholdSplitMade, TargetsChosen
from daemon.bootstrap import open_app
from daemon.cli import app as trimtab
from daemon.store.audit_log import AuditLog
from tests.fakes.cli import fresh_logging
from tests.fakes.headless import find_chromium, visit

__all__ = ["fresh_logging"]

D = Decimal
EXPORTS = Path(__file__).resolve().parents[1] / "fakes" / "manual_exports"
FIDELITY = "Portfolio_Positions_Dec-04-2026.csv"
# The Roth in the export (account X12345678): SPAXX (cash), 100 VTI and 250.5 VXUS.
ROTH_HELD = D("1523.45") + D(100) * D("285.12") + D("250.5") * D("64.10")
TARGETS = {"VTI": D("0.45"), "VXUS": D("0.25"), "BND": D("0.25"), "CASH": D("0.05")}
EXAMPLE = """
mode = "dry-run"
exchange = "XNYS"
database_url = "sqlite:///{db}"
state_dir = "{state}"

[accounts.brokerage]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.brokerage.broker_settings]
starting_cash = "60000"
fractional = true
[accounts.brokerage.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "285", VXUS = "64", BND = "72" }}
[accounts.brokerage.strategy_params]
targets = {{ VTI = "1" }}
[accounts.brokerage.policy]
outside_hours = true

[accounts.ira]
broker = "sim"
type = "traditional_ira"
strategy = "static"
[accounts.ira.broker_settings]
starting_cash = "40000"
fractional = true
[accounts.ira.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "285", VXUS = "64", BND = "72" }}
[accounts.ira.strategy_params]
targets = {{ BND = "1" }}
[accounts.ira.policy]
outside_hours = true

[accounts.roth]
broker = "manual"
type = "roth_ira"
strategy = "static"
[accounts.roth.broker_settings]
environment = "live"
exports = "exports"
preset = "fidelity"
account_number = "X12345678"
prices_file = "prices.csv"
[accounts.roth.strategy_params]
targets = {{ VTI = "1" }}
[accounts.roth.policy]
outside_hours = true

[household]
targets = {{ VTI = "0.45", VXUS = "0.25", BND = "0.25", CASH = "0.05" }}
asset_classes = {{ VTI = "us_equity", VXUS = "intl_equity", BND = "bonds" }}
location = [
  {{ assets = "bonds", prefer = ["traditional_ira", "roth_ira", "taxable"] }},
  {{ assets = "us_equity", prefer = ["roth_ira", "taxable", "traditional_ira"] }},
  {{ assets = "intl_equity", prefer = ["taxable", "roth_ira", "traditional_ira"] }},
]
"""


def _fresh_export(folder: Path) -> None:
    """Copy the Fidelity sample with its "Date downloaded" line moved to a few minutes ago,
    so the export (and its prices) are as fresh as a download today."""
    eastern = (datetime.now(UTC) - timedelta(minutes=5)).astimezone(ZoneInfo("America/New_York"))
    stamp = eastern.strftime("%b-%d-%Y %I:%M ") + ("a.m" if eastern.hour < 12 else "p.m")
    text = (EXPORTS / FIDELITY).read_text()
    text = text.replace("Date downloaded Dec-04-2026 5:12 p.m ET", f"Date downloaded {stamp} ET")
    assert stamp in text
    (folder / FIDELITY).write_text(text)


def _config(tmp_path: Path) -> Path:
    (tmp_path / "exports").mkdir()
    _fresh_export(tmp_path / "exports")
    # BND is a household target the Roth export does not hold: its price for a ticket.
    (tmp_path / "prices.csv").write_text("symbol,price\nBND,72.00\n")
    config = tmp_path / "trimtab.toml"
    config.write_text(EXAMPLE.format(db=tmp_path / "trimtab.db", state=tmp_path / "state"))
    return config


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(trimtab, list(args))
    return result.exit_code, result.stdout


@pytest.mark.slow  # two `trimtab plan` runs over three accounts: about 7 s
def test_the_worked_example_plans_the_household_with_the_manual_roth(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = _config(tmp_path)
    code, out = _run("plan", "-c", str(config))
    assert code == 0, out
    # The household view first, then each account's plan.
    assert out.index("household (3 accounts") < out.index("split by account")
    assert out.index("split by account") < out.index("brokerage (") < out.index("roth (")

    code, raw = _run("plan", "--json", "-c", str(config))
    assert code == 0, raw
    shown = json.loads(raw)
    # The accounts' plans keep their keys; the household is one more.
    assert set(shown) == {"brokerage", "ira", "roth", "household"}
    assert set(shown["roth"]) >= {"orders", "drift", "nav"}
    household = shown["household"]
    accounts = {a["account"]: a for a in household["accounts"]}
    # The manual Roth's holdings are counted, from its export.
    assert abs(D(accounts["roth"]["value"]) - ROTH_HELD) <= D(25)  # the export's pending -25
    total = sum((D(a["value"]) for a in accounts.values()), D(0))
    assert abs(D(household["value"]) - total) <= D("0.01")
    # The per-account targets add up to the household target.
    for symbol, target in TARGETS.items():
        reached = sum(
            (D(a["targets"].get(symbol, "0")) * D(a["value"]) for a in accounts.values()), D(0)
        )
        assert abs(reached / total - target) < D("0.0001"), (symbol, reached / total)
    # Location: every bond in the IRA (it has room), US equity in the Roth, intl in taxable.
    rows = {r["symbol"]: r for r in household["rows"]}
    bonds = D(rows["BND"]["by_type"]["traditional_ira"])
    assert abs(bonds - TARGETS["BND"] * total) < D(1)
    assert D(rows["BND"]["by_type"].get("roth_ira", "0")) < D(1)
    assert D(rows["VXUS"]["by_type"].get("taxable", "0")) > D("0.99") * TARGETS["VXUS"] * total
    assert D(accounts["roth"]["targets"]["VTI"]) > D("0.95")
    assert D(accounts["roth"]["targets"].get("VXUS", "0")) == 0
    # So the Roth's plan, the orders its tickets will say, sells its VXUS and buys VTI.
    sides = {(o["symbol"], o["side"]) for o in shown["roth"]["orders"]}
    assert ("VXUS", "sell") in sides
    assert ("VTI", "buy") in sides
    assert all(not r["out_of_band"] or D(r["planned"]) == D(r["target"]) for r in rows.values())
    # The one note: the VTI the Roth has no room for is in taxable, its second choice.
    assert [n for n in household["notes"] if "cannot be reached" in n] == []
    assert any(n.startswith("VTI in brokerage:") for n in household["notes"])


def test_a_dry_run_cycle_audits_the_split_with_its_reasons(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = _config(tmp_path)
    code, out = _run("run", "--once", "-c", str(config))
    assert code == 0, out
    assert not (tmp_path / "state" / "manual" / "roth" / "open-tickets.csv").exists()
    app = open_app(config)
    try:
        with app.database.transaction() as session:
            records = list(AuditLog(session).records())
    finally:
        app.close()
    splits = {r.account: r.event for r in records if isinstance(r.event, HouseholdSplitMade)}
    assert set(splits) == {"brokerage", "ira", "roth"}
    roth = splits["roth"]
    assert roth.sources["roth"].startswith("broker, ")
    reasons = [p.reason for p in roth.split.placements if p.account == "ira" and p.symbol == "BND"]
    assert reasons
    assert "bonds prefer traditional_ira" in reasons[0]
    chosen = [r.event for r in records if isinstance(r.event, TargetsChosen)]
    assert {c.strategy for c in chosen} == {"household"}


PROBE = (
    "{household: document.querySelectorAll('#household-allocation').length,"
    " income: document.querySelectorAll('#income').length}"
)
INCOME = """
[income]
account = "brokerage"
annual_pct = 0.04
payout_day = 15
yields = { BND = 0.035, VTI = 0.014, VXUS = 0.03 }
"""


@pytest.mark.slow  # `trimtab income` twice, a cycle of three accounts, the report: about 6 s
def test_income_and_the_daily_report_with_the_household_and_the_manual_roth(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = _config(tmp_path)
    config.write_text(config.read_text() + INCOME)
    # 4% a year of the household (the manual Roth counted): 146,067.50 x 0.04 / 12.
    monthly = "486.90"  # raised to the cent above
    code, out = _run("income", "-c", str(config))
    assert code == 0, out
    assert monthly in out
    code, raw = _run("income", "--json", "-c", str(config))
    assert code == 0, raw
    seen = json.loads(raw)
    assert D(seen["household_value"]) == D("146067.50")
    assert len(seen["months"]) == 12
    assert {m["withdrawal"] for m in seen["months"]} == {monthly}
    # The Roth's VTI and VXUS pay dividends (the configured yields): the export counts.
    assert all(D(m["dividends"]) > 0 for m in seen["months"])
    code, out = _run("run", "--once", "-c", str(config))
    assert code == 0, out
    page = tmp_path / "report.html"
    code, out = _run("report", "-c", str(config), "--out", str(page))
    assert code == 0, out
    html = page.read_text()
    # One page: the household against its target, by account type, and the income plan.
    assert html.index('id="household-allocation"') < html.index('id="income"')
    assert monthly in html
    chromium = find_chromium()
    if chromium is not None:  # as tests/integration/test_report.py, where Chromium is there
        seen_page = visit(chromium, page, tmp_path / "report.png", probe=PROBE)
        assert seen_page.errors == []
        assert seen_page.result == {"household": 1, "income": 1}


@pytest.mark.slow  # one `trimtab plan` over three accounts: about 4 s
def test_a_household_strategy_reads_the_first_member_that_has_history(
    tmp_path: Path, fresh_logging: None
) -> None:
    # The manual Roth listed first gives no daily closes: the strategy reads the brokerage's
    # (the next member whose broker gives them), not an error asking the Roth for a file.
    config = _config(tmp_path)
    text = config.read_text()
    fixed = text[text.index("targets = {", text.index("[household]")) :].split("\n", 1)[0]
    config.write_text(
        text.replace(
            fixed,
            'accounts = ["roth", "brokerage", "ira"]\nstrategy = "inverse_vol"\n'
            'strategy_params = { universe = ["VTI", "VXUS", "BND"], lookback_days = 20 }',
        )
    )
    code, raw = _run("plan", "--json", "-c", str(config))
    assert code == 0, raw
    household = json.loads(raw)["household"]
    assert household["targets_from"] == "inverse_vol"
    assert set(household["reasons"]) == set(TARGETS) - {"CASH"}
