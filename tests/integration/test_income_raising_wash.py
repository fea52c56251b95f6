"""The audit's case through the real engine and the simulated broker: the income plan skips
the brokerage's VTI lot as washed (the IRA bought VTI 7 days earlier) and plans the share
from BND; the brokerage's own decision step must then raise it from BND too. Before
2026-12-07 it sold VTI, its largest overweight, and the tax step let the sale through because
it raised cash: a $240 loss disallowed for good (Rev. Rul. 2008-5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from daemon.bootstrap import open_app
from daemon.core.domain import Side
from daemon.cycle.tax import TaxCycle

CONFIG = """
mode = "paper"
exchange = "XNYS"
database_url = "{database_url}"

[accounts.brokerage]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.brokerage.strategy_params]
targets = {{ VTI = "0.5", BND = "0.5" }}
[accounts.brokerage.broker_settings]
starting_cash = "20000"
fractional = true
[accounts.brokerage.broker_settings.prices]
source = "csv"
path = "{prices}"
[accounts.brokerage.tax]
lot_method = "min_tax"

[accounts.ira]
broker = "sim"
type = "traditional_ira"
strategy = "static"
[accounts.ira.strategy_params]
targets = {{ VTI = "1" }}
[accounts.ira.broker_settings]
starting_cash = "10000"
fractional = true
[accounts.ira.broker_settings.prices]
source = "csv"
path = "{prices}"

[income]
account = "brokerage"
monthly_amount = "1000"
payout_day = 15
lead_days = 3
"""


def _prices(path: Path) -> Path:
    """VTI 200 and BND 100 up to 2026-10-01, then 160 and 70: both held at a loss."""
    rows = ["date,VTI,BND"]
    day = date(2026, 9, 1)
    while day <= date(2026, 12, 31):
        if day.weekday() < 5:
            high = day <= date(2026, 10, 1)
            rows.append(f"{day},{200 if high else 160},{100 if high else 70}")
        day += timedelta(days=1)
    path.write_text("\n".join(rows) + "\n")
    return path


def test_an_income_share_is_raised_without_the_sale_an_ira_purchase_washes_for_good(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        CONFIG.format(database_url=database_url, prices=_prices(tmp_path / "prices.csv"))
    )
    now = [datetime(2026, 10, 1, 19, 30, tzinfo=UTC)]
    app = open_app(config, clock=lambda: now[0])
    try:
        assert app.engine(fill_timeout=1).run_once("brokerage").outcome == "succeeded"
        now[0] = datetime(2026, 11, 5, 20, 30, tzinfo=UTC)
        assert app.engine(fill_timeout=1).run_once("ira").outcome == "succeeded"
        now[0] = datetime(2026, 11, 12, 20, 30, tzinfo=UTC)
        report = app.engine(fill_timeout=1).run_once("brokerage")
        assert report.outcome == "succeeded"
        orders = [o.order for o in report.outcomes if o.order is not None]
        sells = {o.symbol: o.qty for o in orders if o.side is Side.SELL}
        assert "VTI" not in sells
        assert sells["BND"] * 70 >= 1000  # the whole share, from BND
        assert report.plan is not None
        assert any("raised from other holdings" in n for n in report.plan.notes)
        tax = TaxCycle.open(
            settings=app.settings,
            database=app.database,
            account="brokerage",
            now=now[0],
            broker=None,
            cycle_id="check",
        )
        assert [s.trade.symbol for s in tax.book.sales] == ["BND"]
        assert all(s.disallowed == Decimal(0) for s in tax.book.sales)
    finally:
        app.close()
