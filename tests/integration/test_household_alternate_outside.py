"""A member's tax alternate outside the household strategy's universe is only held or sold.

The taxable member holds ITOT (a harvest's buy: ITOT is its alternate for VTI); the household
strategy's universe is {VTI, BND}, and its `max_turnover` blend keeps part of the ITOT while
moving out of it. The snapshot quotes ITOT (an alternate), but neither the split nor the IRA's
decide may treat it as the household's to buy: the IRA, which holds none, must not be given
ITOT (by the location preference) and buy it, against the taxable member's sale of the same
fund. Real store, sim brokers on a price file, `trimtab plan`'s engine.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from daemon.bootstrap import open_app
from daemon.core.domain import Side
from tests.integration.test_history_cycle import MONDAY_NOON, Clock, closes, prices_csv

D = Decimal


def _accounts(database_url: str, prices: Path, state: Path, *, first: bool) -> str:
    """The taxable account buys ITOT and BND, the IRA BND, on their own (`first`); then
    both join a household whose strategy's universe is {VTI, BND}."""
    text = f'mode = "paper"\ndatabase_url = "{database_url}"\nstate_dir = "{state}"\n'
    for name, kind, targets in (
        ("brokerage", "taxable", '{ ITOT = "0.4", BND = "0.6" }'),
        ("ira", "traditional_ira", '{ BND = "1" }'),
    ):
        text += (
            f'[accounts.{name}]\nbroker = "sim"\ntype = "{kind}"\nread_retry_seconds = 0\n'
            f"[accounts.{name}.strategy_params]\ntargets = {targets}\n"
            f'[accounts.{name}.broker_settings]\nstarting_cash = "50000"\n'
            f'[accounts.{name}.broker_settings.prices]\nsource = "csv"\npath = "{prices}"\n'
            f"[accounts.{name}.policy]\noutside_hours = true\n"
        )
    if first:
        return text
    return text + (
        '[accounts.brokerage.tax]\nalternates = { VTI = "ITOT" }\n'
        '[household]\naccounts = ["brokerage", "ira"]\nstrategy = "momentum"\n'
        'strategy_params = { universe = ["VTI", "BND"], lookback_days = 20, '
        'max_turnover = "0.25" }\n'
        'asset_classes = { VTI = "us_equity", ITOT = "us_equity", BND = "bonds" }\n'
        "location = [\n"
        '  { assets = "us_equity", prefer = ["traditional_ira", "taxable"] },\n'
        '  { assets = "bonds", prefer = ["taxable", "traditional_ira"] },\n'
        "]\n"
    )


def test_the_ira_is_not_given_the_taxable_members_alternate_to_buy(
    tmp_path: Path, database_url: str
) -> None:
    table = closes()
    # ITOT tracks VTI (it is its alternate), a little below it.
    table["ITOT"] = {day: round(price * D("0.3"), 4) for day, price in table["VTI"].items()}
    prices = prices_csv(tmp_path / "prices.csv", table)
    state = tmp_path / "state"
    config = tmp_path / "first.toml"
    config.write_text(_accounts(database_url, prices, state, first=True))
    app = open_app(config, clock=Clock(MONDAY_NOON))
    try:
        for name in ("brokerage", "ira"):
            report = app.engine(fill_timeout=2).run_once(name)
            assert report.outcome == "succeeded", report.error
    finally:
        app.close()
    config = tmp_path / "household.toml"
    config.write_text(_accounts(database_url, prices, state, first=False))
    app = open_app(config, clock=Clock(MONDAY_NOON + timedelta(hours=2)))
    try:
        report = app.engine().plan("ira")
        assert report.outcome == "planned", report.error
        split = report.household
        assert split is not None
        # The blend keeps part of the household's ITOT (it moves out of it gradually)...
        itot = next(row for row in split.rows if row.symbol == "ITOT")
        assert D("0.05") < itot.target < D("0.3"), itot
        # ...where it is held: in the taxable account, never moved into the IRA.
        assert split.targets_for("ira").get("ITOT", D(0)) == 0, dict(split.targets_for("ira"))
        assert report.plan is not None
        orders = {(order.side, order.symbol) for order in report.plan.orders}
        assert (Side.BUY, "ITOT") not in orders, orders
        # The IRA takes the stocks by location: VTI, the universe's, is bought there.
        assert (Side.BUY, "VTI") in orders, orders
        # The taxable member keeps or sells its ITOT, and its own decide lets that through.
        placed = next(
            p for p in split.placements if p.account == "brokerage" and p.symbol == "ITOT"
        )
        assert placed.value <= placed.held, placed
        report = app.engine().plan("brokerage")
        assert report.outcome == "planned", report.error
        assert report.plan is not None
        assert all(
            order.symbol != "ITOT" or order.side is Side.SELL for order in report.plan.orders
        )
    finally:
        app.close()
