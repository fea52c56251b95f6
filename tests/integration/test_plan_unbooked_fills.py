"""`trimtab plan` decides as `run --once` would after the owner traded at the broker.

Day 0 the cycle buys VTI 600 @100 and BND 800 @50 (taxable, FIFO, loss sales deferred).
Day 1 VTI is at 90 and overweight, and the owner bought 10 VTI at the broker by hand: a
replacement purchase within 30 days, so selling VTI at a loss washes and is deferred. The run
records the owner's fill before it plans; the plan records nothing, so it must read that fill
and replay it in memory, or it approves the sale on lots that do not match the position.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.bootstrap import App, open_app
from daemon.core.domain import OrderIntent, OrderType, Side
from daemon.store.book import BookStore
from daemon.store.intents import IntentStore
from daemon.store.tax_ledger import TaxLedger

NEW_YORK = ZoneInfo("America/New_York")

CONFIG = """
mode = "{mode}"
database_url = "{url}"
state_dir = "state"
[log]
level = "error"
[accounts.main]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.bands]
absolute_pp = 2
[accounts.main.broker_settings]
starting_cash = "101000"
[accounts.main.broker_settings.prices]
source = "csv"
path = "prices.csv"
[accounts.main.policy]
outside_hours = true
cash_buffer = "1000"
[accounts.main.tax]
lot_method = "fifo"
[accounts.main.tax.wash_sale]
loss_sales = "defer"
"""


def at_close(day: date) -> datetime:
    return datetime.combine(day, time(16, 5), NEW_YORK).astimezone(UTC)


def written(app: App) -> tuple[int, int, int, int]:
    """Rows of the fills, tax lots, tax sales and order intents tables."""
    with app.database.transaction() as session:
        ledger = TaxLedger(session)
        return (
            len(BookStore(session).fill_ids("main")),
            len(ledger.lots()),
            len(ledger.sales()),
            len(IntentStore(session).unresolved("main"))
            + len(IntentStore(session).for_cycles("main", ["main:2025-03-04:d1"])),
        )


def test_plan_reads_the_owners_fill_as_the_run_records_it(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "prices.csv").write_text(
        "date,BND,VTI\n2025-03-03,50.00,100.00\n2025-03-04,30.00,90.00\n"
    )
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG.format(mode="paper", url=database_url))
    now = [at_close(date(2025, 3, 3))]
    app = open_app(config, clock=lambda: now[0])
    try:
        first = app.engine(fill_timeout=1).run_once("main", slot="d0")
        assert first.outcome == "succeeded", first.error
    finally:
        app.close()

    config.write_text(CONFIG.format(mode="dry-run", url=database_url))
    now[0] = at_close(date(2025, 3, 4))
    app = open_app(config, clock=lambda: now[0])
    try:
        owner = OrderIntent(
            client_order_id="owner-1",
            cycle_id="owner",
            account="main",
            seq=1,
            symbol="VTI",
            side=Side.BUY,
            qty=Decimal(10),
            order_type=OrderType.MARKET,
            reason="the owner's own purchase",
        )
        app.broker("main").submit(owner)
        before = written(app)
        plan = app.engine().plan("main")
        after_plan = written(app)
        run = app.engine(fill_timeout=1).run_once("main", slot="d1")
    finally:
        app.close()
    assert plan.outcome == "planned", plan.error
    assert run.outcome == "succeeded", run.error
    assert plan.review is not None
    assert run.review is not None
    approved = [(o.symbol, o.side, o.qty) for o in plan.review.approved]
    assert approved == [(o.symbol, o.side, o.qty) for o in run.review.approved]
    assert ("VTI", Side.SELL) not in [(s, d) for s, d, _ in approved]
    assert plan.plan is not None
    assert any("VTI sale deferred" in n for n in plan.plan.notes), plan.plan.notes
    assert not any("without recorded lots" in n for n in plan.plan.notes)
    # The plan recorded nothing: no fill, no lot, no sale, no intent.
    assert after_plan == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_plan_that_cannot_read_the_fills_says_its_tax_figures_are_not_current(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "prices.csv").write_text("date,BND,VTI\n2025-03-03,50.00,100.00\n")
    config = tmp_path / "trimtab.toml"
    # The plan's reads: the snapshot (the first) succeeds, the fills fail, with no retry.
    text = CONFIG.format(mode="paper", url=database_url).replace(
        'strategy = "static"\n', 'strategy = "static"\nread_retry_seconds = 0\n'
    )
    config.write_text(
        text + "[accounts.main.broker_settings.faults]\nread_errors = 5\nread_errors_after = 1\n"
    )
    now = [at_close(date(2025, 3, 3))]
    app = open_app(config, clock=lambda: now[0])
    try:
        plan = app.engine().plan("main")
    finally:
        app.close()
    assert plan.outcome == "planned", plan.error
    assert plan.plan is not None
    assert any(n.startswith("tax: not current") for n in plan.plan.notes), plan.plan.notes
