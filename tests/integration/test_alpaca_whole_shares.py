"""A fraction held in a symbol Alpaca trades in whole shares only, through whole cycles against
the fake Alpaca (alpaca-py on real HTTP): the whole shares are sold, the fraction stays and
the plan says so; nothing Alpaca would refuse is sent.

Before 2026-12-07 the planner sold "the whole holding", 10.5 BND, which the adapter refused
before sending, every cycle: not even the 10 whole shares were sold, and each refusal counted
toward the account's rejection trip."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.bootstrap import App, open_app
from daemon.core.domain import OrderStatus, Side
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import ENV_PREFIX, household
from tests.integration.test_alpaca_cycle import config_text

D = Decimal


@pytest.fixture
def holding_a_fraction(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[AlpacaState, App]]:
    """10.5 BND (not fractionable at Alpaca, not in the targets) and $10,000 of cash."""
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    state = household("10000")
    state.auto_fill = True
    state.set_position("BND", "10.5")
    fake = FakeAlpaca(state).start()
    config = tmp_path / "trimtab.toml"
    config.write_text(config_text(fake.url, database_url, 'VTI = "1"'))
    app = open_app(config, clock=state.now)
    try:
        yield state, app
    finally:
        app.close()
        fake.close()


def test_the_whole_shares_are_sold_and_the_fraction_stays(
    holding_a_fraction: tuple[AlpacaState, App],
) -> None:
    state, app = holding_a_fraction
    report = app.engine(fill_timeout=2).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert report.plan is not None
    sells = [o for o in report.outcomes if o.intent.side is Side.SELL]
    assert [(o.intent.symbol, o.intent.qty, o.status) for o in sells] == [
        ("BND", D(10), OrderStatus.FILLED)
    ]
    assert all(o.status is not OrderStatus.REJECTED for o in report.outcomes)
    assert any("BND: 0.5 sh left unsold" in note for note in report.plan.notes)
    assert state.positions["BND"][0] == D("0.5")

    again = app.engine(fill_timeout=2).run_once("main", force=True)
    assert again.outcome == "succeeded", again.error
    assert again.plan is not None
    assert [o for o in again.plan.orders if o.symbol == "BND"] == []
    row = next(r for r in again.plan.drift if r.symbol == "BND")
    assert row.note.startswith("0.5 sh left: the broker takes whole shares only")
