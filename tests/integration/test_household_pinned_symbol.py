"""A household member holding a symbol it may not trade (restricted, dropped from the
household's targets): the split pins it at its current weight, and the member's cycle goes
ahead without buying it (decide's check lets a held symbol outside the household's symbols
through at no more than its current weight)."""

from __future__ import annotations

from pathlib import Path

from daemon.bootstrap import App, open_app
from tests.integration.test_history_cycle import intents
from tests.integration.test_household_cycle import ACCOUNTS, HOUSEHOLD, NOW, config_text, sim


def _open(path: Path, text: str) -> App:
    path.write_text(text)
    app = open_app(path, clock=lambda: NOW)
    for name in ACCOUNTS:
        app.brokers[name] = sim(app, name)
    return app


def _without_vnq(text: str) -> str:
    """The owner stops trimtab trading VNQ (kept as it is) and drops it from the targets."""
    household = (
        HOUSEHOLD.replace('VNQ = "0.08", ', "")
        .replace('VTI = "0.45"', 'VTI = "0.53"')
        .replace(', VNQ = "reit"', "")
        .replace(
            '  { assets = "reit", prefer = ["traditional_ira", "roth_ira", "taxable"] },\n', ""
        )
    )
    return text.replace(HOUSEHOLD, household) + '\n[risk]\nrestricted_symbols = ["VNQ"]\n'


def test_member_holding_a_restricted_symbol_keeps_it_and_buys_none(
    tmp_path: Path, database_url: str
) -> None:
    app = _open(tmp_path / "a.toml", config_text(database_url))
    try:
        engine = app.engine(fill_timeout=1)
        for name in ACCOUNTS:
            report = engine.run_once(name)
            assert report.outcome == "succeeded", report.error
        held = {
            n for n in ACCOUNTS for p in app.brokers[n].snapshot(()).positions if p.symbol == "VNQ"
        }
        before = {n: intents(app, n) for n in ACCOUNTS}
    finally:
        app.close()
    assert held  # some member holds VNQ, which it may no longer trade
    app = _open(tmp_path / "b.toml", _without_vnq(config_text(database_url)))
    try:
        engine = app.engine(fill_timeout=1)
        outcomes = {}
        for name in ACCOUNTS:
            report = engine.run_once(name, slot="later")
            outcomes[name] = (report.outcome, None if report.error is None else str(report.error))
        after = {n: intents(app, n) for n in ACCOUNTS}
    finally:
        app.close()
    assert all(outcome == "succeeded" for outcome, _ in outcomes.values()), outcomes
    for name in ACCOUNTS:
        assert after[name].count(("buy", "VNQ")) == before[name].count(("buy", "VNQ"))
