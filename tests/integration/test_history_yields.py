"""Trailing yields for `income` from Alpaca's dividend activities (the fake Alpaca), and the
rule that a symbol counts only when the account's records cover the whole 12 months."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.alpaca.broker import AlpacaBroker
from daemon.bootstrap import open_app
from daemon.cycle.yields import broker_yields
from daemon.store.audit_log import AuditLog
from strategies.base import Strategy
from strategies.registry import load_strategy
from tests.fakes.alpaca_server import KEY_ID, SECRET, FakeAlpaca
from tests.fakes.alpaca_server.client import ENV_PREFIX, household, make_broker

D = Decimal
TODAY = date(2026, 11, 30)


def strategy(name: str, params: dict[str, object]) -> Strategy:
    plugin = load_strategy(name)
    return plugin.create(plugin.params_model.model_validate(params))


INCOME: dict[str, object] = {
    "universe": ["VTI", "BND", "SCHD"],
    "yields": {"VTI": "0.015", "SCHD": "0.03"},
}


@pytest.fixture
def broker() -> Iterator[tuple[AlpacaBroker, FakeAlpaca]]:
    state = household()
    # BND paid 0.60 a share on 10 shares each quarter, and before the window too.
    for on in (date(2025, 10, 1), date(2026, 1, 2), date(2026, 4, 1), date(2026, 7, 1)):
        state.add_dividend("BND", "6.00", on=on, qty="10")
    state.add_dividend("BND", "6.00", on=date(2026, 10, 1), qty="10")
    state.add_dividend("BND", "-0.90", on=date(2026, 10, 1), kind="DIVNRA")  # withheld
    state.add_dividend("BND", "-5.10", on=date(2026, 10, 2), kind="DIVREINV", qty="0.07")
    # VTI was bought in the summer: one dividend says nothing about a year.
    state.add_dividend("VTI", "9.00", on=date(2026, 9, 20), qty="12")
    with FakeAlpaca(state) as fake:
        alpaca = make_broker(fake)
        yield alpaca, fake
        alpaca.close()


def test_income_reads_yields_from_a_whole_year_of_dividends(
    broker: tuple[AlpacaBroker, FakeAlpaca],
) -> None:
    alpaca, _ = broker
    prices = {"VTI": D("250.00"), "BND": D("72.50"), "SCHD": D("27.10")}
    got = broker_yields(strategy("income", INCOME), alpaca, prices, TODAY)
    # 4 × 0.60 = 2.40 a share in the 12 months before 30 November 2026, over 72.50.
    assert got == {"BND": (D("2.40") / D("72.50")).quantize(D("0.000001"))}


def test_a_composite_asks_for_its_income_sleeves_yields_only(
    broker: tuple[AlpacaBroker, FakeAlpaca],
) -> None:
    alpaca, fake = broker
    composite = strategy(
        "composite",
        {
            "sleeves": [
                {"name": "core", "weight": "0.5", "strategy": "static",
                 "params": {"targets": {"VTI": "1"}}},
                {"name": "income", "weight": "0.5", "strategy": "income", "params": INCOME},
            ]
        },
    )  # fmt: skip
    prices = {"BND": D("72.50")}
    assert broker_yields(composite, alpaca, prices, TODAY) == {
        "BND": (D("2.40") / D("72.50")).quantize(D("0.000001"))
    }
    # A strategy that reads no yields makes no request for them.
    before = fake.count("GET", "/v2/account/activities")
    assert broker_yields(strategy("hrp", {"universe": ["VTI", "BND"]}), alpaca, prices, TODAY) == {}
    assert fake.count("GET", "/v2/account/activities") == before


def test_a_planned_cycle_gives_income_the_brokers_yields(
    broker: tuple[AlpacaBroker, FakeAlpaca],
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # BND has no yield in the params: only the broker's dividends can give it one.
    _, fake = broker
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'database_url = "{database_url}"\n[accounts.main]\nbroker = "alpaca"\n'
        'strategy = "income"\n[accounts.main.strategy_params]\n'
        'universe = ["VTI", "BND", "SCHD"]\nyields = { VTI = "0.015", SCHD = "0.03" }\n'
        f'[accounts.main.broker_settings]\nenvironment = "paper"\nbase_url = "{fake.url}"\n'
        f'data_url = "{fake.url}"\nread_timeout_seconds = 2\n'
    )
    app = open_app(config, clock=fake.state.now)
    try:
        report = app.engine(fill_timeout=2).plan("main")
        assert report.outcome == "planned", report.error
        with app.database.transaction() as session:
            chosen = AuditLog(session).latest("targets", "main")
    finally:
        app.close()
    assert chosen is not None
    weights = {s: D(w) for s, w in chosen.payload["targets"].items()}
    bnd = D("2.40") / D("72.50")
    expected = bnd / (bnd + D("0.015") + D("0.03"))
    assert abs(weights["BND"] - expected) < D("0.00001")
