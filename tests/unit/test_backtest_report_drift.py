"""The backtest page's drift chart draws a primary and the tax alternates standing in for it
as one holding, as the planner tests them (`daemon.core.planner.bands`) and the daily report
names them ("BBB with BBX"): after a harvest the audit's page drew each leg red on 636 of
800 days, against its own target, while the pair never left its band."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from daemon.backtest.report import _drift_panels, _stand_ins, render_report
from daemon.cli import app
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from tests.unit.backtest_helpers import run, weekdays, write_config, write_prices

START = date(2022, 1, 3)
COUNT = 90
HARVEST_DAY = 21
"""The first close at which BBB is 5% below what it was bought at."""
CONFIG = (
    "[accounts.main.policy]\nfractional = false\nmin_trade_notional = 1\n"
    "[accounts.main.bands]\nabsolute_pp = 5\n"
    '[accounts.main.tax]\nlot_method = "hifo"\nalternates = { BBB = "BBX" }\n'
    '[accounts.main.tax.wash_sale]\nbuys = "redirect"\nloss_sales = "defer"\n'
    "[accounts.main.tax.harvest]\nenabled = true\nmin_loss_pct = 0.05\n"
    "min_loss_amount = 100\nreturn_to_primary = false\n"
)


def _closes() -> dict[str, list[float]]:
    """AAA creeping up; BBB and BBX falling 0.25% a day to the harvest, then BBX 0.2% a day."""
    bbb = [100 * 0.9975**n for n in range(COUNT)]
    bbx = [
        50 * 0.9975 ** min(n, HARVEST_DAY) * 0.998 ** max(n - HARVEST_DAY, 0) for n in range(COUNT)
    ]
    return {"AAA": [100 * 1.0008**n for n in range(COUNT)], "BBB": bbb, "BBX": bbx}


def test_a_harvested_pair_is_drawn_as_one_holding(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"AAA": "0.5", "BBB": "0.5"}, extra=CONFIG)
    table = write_prices(tmp_path, weekdays(START, COUNT), _closes())
    done = run(config, table, cash=Decimal(100_000))
    result = done.result
    bbb, bbx = result.symbols.index("BBB"), result.symbols.index("BBX")
    after = slice(HARVEST_DAY, None)
    assert not result.weights[HARVEST_DAY:60, bbb].any()  # sold whole at the harvest
    assert result.weights[after, bbx].all()  # BBX stands in from then on
    # The pair is rebalanced as one when AAA leaves its band: BBB bought back beside BBX.
    assert result.weights[70:80, bbb].all()
    # Alone against its own target and band, BBB is out on every day after the harvest.
    drift = result.weights[:, bbb] - result.targets[:, bbb]
    assert (drift[after] < -result.bands[after, bbb]).all()

    alternates = config.account("main").tax.alternates
    panels = _drift_panels(result, alternates)
    assert [panel.label for panel in panels] == ["AAA", "BBB with BBX"]
    pair = panels[1]
    together = result.weights[:, bbb] + result.weights[:, bbx] - result.targets[:, bbb]
    np.testing.assert_allclose(pair.drift, together * 100)
    np.testing.assert_allclose(pair.high, result.bands[:, bbb] * 100)
    assert not pair.out.any()
    assert not panels[0].out.any()

    page = render_report("main", [done], benchmark=None, alternates=alternates)
    assert "with BBX" in page  # the panel's label
    assert "BBB with BBX: a primary and the tax alternates standing in for it" in page


def test_the_command_draws_the_pair_from_the_accounts_alternates(tmp_path: Path) -> None:
    write_config(tmp_path, {"AAA": "0.5", "BBB": "0.5"}, extra=CONFIG)
    write_prices(tmp_path, weekdays(START, COUNT), _closes())
    page = tmp_path / "out.html"
    argv = ["backtest", "-c", str(tmp_path / "config.toml"), "--cash", "100000"]
    argv += ["--prices", str(tmp_path / "prices.csv"), "--report", str(page)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "BBB with BBX: a primary and the tax alternates standing in for it" in page.read_text()


def test_without_alternates_each_symbol_has_its_own_panel(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"AAA": "0.5", "BBB": "0.5"}, extra=CONFIG)
    table = write_prices(tmp_path, weekdays(START, COUNT), _closes())
    result = run(config, table, cash=Decimal(100_000)).result
    panels = _drift_panels(result, {})
    assert [panel.label for panel in panels] == ["AAA", "BBB", "BBX"]
    assert panels[1].out[HARVEST_DAY:].all()  # the leg alone, as the page drew it before


def _tax_step_pairs(
    targets: dict[str, Decimal], held: dict[str, Decimal], priced: set[str], tax: TaxSettings
) -> dict[str, str]:
    """The alternate -> primary pairs the tax step makes: `held` alternates, each symbol of
    `priced` at $10, an account of $1,000, no loss window."""
    return stand_in_targets(
        targets,
        held,
        dict.fromkeys(priced, Decimal(10)),
        Decimal(1000),
        settings=tax,
        identical=SubstantiallyIdentical(),
        loss_windows=(),
        today=START,
    ).pairs


@pytest.mark.parametrize(
    ("alternates", "targeted"),
    [
        ({"VTI": ["ITOT"]}, {"VTI", "BND"}),
        ({"VTI": ["ITOT"]}, {"BND"}),  # a primary without a target has no stand-in
        ({"VTI": ["ITOT", "SCHB"], "ITOT": ["DFUS"]}, {"VTI"}),  # down the chain
        ({"VTI": ["ITOT", "SCHB"], "ITOT": ["DFUS"]}, {"VTI", "ITOT"}),  # the strategy's own
        ({"VTI": ["ITOT"], "VXUS": ["IXUS"], "BND": ["AGG"]}, {"VTI", "VXUS", "BND"}),
        ({"BND": ["AGG"], "AGG": ["SCHZ"], "VTI": ["ITOT"]}, {"AGG", "VTI"}),
    ],
)
def test_the_page_pairs_alternates_as_the_tax_step_does(
    alternates: dict[str, list[str]], targeted: set[str]
) -> None:
    tax = TaxSettings.model_validate({"alternates": alternates})
    targets = {s: Decimal(1) / len(targeted) for s in targeted}
    every = targeted | tax.alternate_symbols
    held = {s: Decimal(10) for s in tax.alternate_symbols - targeted}
    pairs = _tax_step_pairs(targets, held, every, tax)
    assert _stand_ins(targeted, tax.alternates) == pairs


def test_an_alternate_the_targets_list_at_zero_is_not_a_stand_in() -> None:
    # The tax step leaves an alternate the strategy lists to the strategy, a target of 0
    # included (`_chain`: "none in the targets"); a weight above 0 is not what decides it.
    tax = TaxSettings.model_validate({"alternates": {"VTI": ["ITOT"]}})
    targets = {"VTI": Decimal("0.5"), "BND": Decimal("0.5"), "ITOT": Decimal(0)}
    assert _tax_step_pairs(targets, {"ITOT": Decimal(10)}, set(targets), tax) == {}
    assert _stand_ins({"VTI", "BND"}, tax.alternates, set(targets)) == {}
    assert _stand_ins({"VTI", "BND"}, tax.alternates) == {"ITOT": "VTI"}  # weights alone


def test_the_result_says_what_the_targets_listed_and_the_chart_follows_it(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, {"AAA": "0.5", "BBB": "0.5"}, extra=CONFIG)
    table = write_prices(tmp_path, weekdays(START, COUNT), _closes())
    result = run(config, table, cash=Decimal(100_000)).result
    assert result.listed == ((0, frozenset({"AAA", "BBB"})),)
    alternates = config.account("main").tax.alternates
    # Had the targets listed BBX (at 0) from day 40 on, it stands in only before.
    listed = (*result.listed, (40, frozenset({"AAA", "BBB", "BBX"})))
    panels = _drift_panels(dataclasses.replace(result, listed=listed), alternates)
    assert [panel.label for panel in panels] == ["AAA", "BBB with BBX", "BBX"]
    bbx = panels[2]
    assert np.isnan(bbx.drift[:40]).all()
    assert not np.isnan(bbx.drift[40:]).any()


def test_a_target_of_zero_is_listed(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"AAA": "0.5", "BBB": "0.5", "CCC": "0"})
    closes = {"AAA": [100.0] * 5, "BBB": [50.0] * 5, "CCC": [20.0] * 5}
    table = write_prices(tmp_path, weekdays(START, 5), closes)
    result = run(config, table, cash=Decimal(10_000)).result
    assert result.listed == ((0, frozenset({"AAA", "BBB", "CCC"})),)
