"""The daily report weighs the household as its split does (`household_account`): a member's
`keep` holding is outside the value the weights are of, shown apart with its share of the
whole, so the others are not drawn under a band the split holds them inside."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from pathlib import Path

from daemon.config.settings import load_config
from daemon.report.data import gather
from daemon.report.household import HouseholdSection, gather_household
from daemon.report.html import render_html
from daemon.store.db import Database
from daemon.store.valuations import Valuation, ValuationSource, record_valuation

DAY = date(2022, 7, 13)
NOW = datetime(2022, 7, 13, 21, tzinfo=UTC)


def _section(tmp_path: Path, database: Database, keep: bool) -> HouseholdSection:
    # AAA 40,000 and BBB 40,000 in the taxable account beside 20,000 of OLD, which it keeps
    # when `keep`; the IRA holds nothing. The household's target: AAA 50%, BBB 50% +-5pp.
    text = f'mode = "paper"\nstate_dir = "{tmp_path / "state"}"\n'
    for name, kind in (("brokerage", "taxable"), ("ira", "traditional_ira")):
        text += (
            f'[accounts.{name}]\nbroker = "sim"\ntype = "{kind}"\n'
            f'[accounts.{name}.strategy_params]\ntargets = {{ AAA = "0.5", BBB = "0.5" }}\n'
        )
    if keep:
        text += '[accounts.brokerage.policy]\nkeep = ["OLD"]\n'
    text += '[household]\naccounts = ["brokerage", "ira"]\ntargets = { AAA = "0.5", BBB = "0.5" }\n'
    config = tmp_path / "config.toml"
    config.write_text(text)
    settings = load_config(config)
    with database.transaction() as session:
        for name, holdings in (
            ("brokerage", {"AAA": D(40000), "BBB": D(40000), "OLD": D(20000)}),
            ("ira", {}),
        ):
            total = sum(holdings.values(), D(0))
            valuation = Valuation(
                account=name,
                as_of=NOW,
                trading_day=DAY,
                source=ValuationSource.EOD,
                ref="eod",
                equity=total,
                cash=D(0),
                positions_value=total,
                holdings=holdings,
            )
            record_valuation(session, valuation, now=NOW)
    with database.transaction() as session:
        section = gather_household(session, settings, DAY, until=NOW + timedelta(hours=1))
    assert section is not None
    return section


def test_a_kept_holding_is_outside_the_weighed_value(tmp_path: Path, database: Database) -> None:
    section = _section(tmp_path, database, keep=True)
    lines = {line.symbol: line for line in section.lines}
    assert (section.value, section.managed_value) == (D(100000), D(80000))
    assert (lines["AAA"].weight, lines["BBB"].weight) == (0.5, 0.5)
    assert not any(line.out_of_band for line in section.lines)
    old = lines["OLD"]
    assert (old.managed, old.weight, old.value_in("taxable")) == (False, 0.2, D(20000))
    assert old.note == "kept as held (policy.keep of brokerage)"
    assert [line.symbol for line in section.lines] == ["AAA", "BBB", "OLD", "CASH"]


def test_a_holding_not_kept_is_weighed_and_out_of_its_band(
    tmp_path: Path, database: Database
) -> None:
    # The same holdings without `keep`: OLD is the split's to sell, and AAA and BBB at 40%.
    section = _section(tmp_path, database, keep=False)
    lines = {line.symbol: line for line in section.lines}
    assert section.value == section.managed_value == D(100000)
    assert lines["AAA"].out_of_band
    assert lines["OLD"].out_of_band
    assert lines["OLD"].managed


def test_the_page_shows_the_kept_holding_apart(tmp_path: Path, database: Database) -> None:
    _section(tmp_path, database, keep=True)
    settings = load_config(tmp_path / "config.toml")
    with database.transaction() as session:
        daily = gather(session, settings, DAY, now=NOW + timedelta(hours=1))
    page = render_html(daily)
    assert "20.0% of household" in page
    assert "kept as held (policy.keep of brokerage)" in page
    assert "less the members' <code>keep</code> holdings, $80,000.00" in page
