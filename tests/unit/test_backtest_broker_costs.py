"""A backtest of an account on a real broker trades as that broker lets a live cycle trade
(invariant 6): in whole shares where it takes no fractions (IB, a manual account without
`fractional`), paying the commission and fees its plugin declares (`DeclaresCosts`), which
the live decision step already sizes buys and raises cash with."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.alpaca.costs import TRADE_COSTS as ALPACA
from adapters.ibkr.costs import TRADE_COSTS as IBKR
from daemon.backtest.runner import Run
from daemon.config.settings import load_config
from daemon.core.domain import Side
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_prices

D = Decimal
START = date(2021, 1, 4)
POLICY = (
    "[accounts.main.bands]\nabsolute_pp = 3\n"
    "[accounts.main.policy]\n"
    'fractional = true\nfractional_increment = "0.001"\nmin_trade_notional = 0\n'
)
IB = 'broker = "ibkr"\nbroker_settings = { account_id = "DU1234567", environment = "paper" }'
ALPACA_PAPER = 'broker = "alpaca"\nbroker_settings = { environment = "paper" }'


def _run(tmp_path: Path, broker: str) -> Run:
    """Back-test a three-symbol IRA on `broker` (its `broker = ...` and settings lines)."""
    config = tmp_path / "config.toml"
    config.write_text(
        'mode = "dry-run"\nstate_dir = "state"\n[accounts.main]\ntype = "traditional_ira"\n'
        f'strategy = "static"\n{broker}\n'
        '[accounts.main.strategy_params.targets]\nA = "0.5"\nB = "0.3"\nC = "0.2"\n' + POLICY
    )
    table = write_prices(tmp_path, weekdays(START, 60), random_walk(3, "ABC", 60, volatility=0.03))
    # A backtest never reaches the broker: it runs without its keys, as `trimtab backtest` does.
    return run(load_config(config, credentials=False), table, cash=D(100_000))


def test_an_ib_account_is_backtested_in_whole_shares_whatever_its_policy(tmp_path: Path) -> None:
    """Live, IB's snapshot says nothing is fractionable and the plan is in whole shares."""
    done = _run(tmp_path, IB)
    fills = done.result.fills
    assert len({f.day for f in fills}) > 2, "the walk should cross the bands"
    assert all(f.qty == f.qty.to_integral_value() for f in fills), [
        (f.day, f.symbol, f.qty) for f in fills if f.qty != f.qty.to_integral_value()
    ]


def test_an_ib_account_pays_the_commission_and_fees_ib_declares(tmp_path: Path) -> None:
    """Each fill pays what `adapters.ibkr.costs.TRADE_COSTS` says IB charges at most: a
    cent a share, a dollar an order at least, and on a sale the SEC and FINRA fees."""
    done = _run(tmp_path, IB)
    fills = done.result.fills
    assert any(f.side is Side.SELL for f in fills)
    for fill in fills:
        expected = IBKR.commission(fill.qty)
        if fill.side is Side.SELL:
            expected += IBKR.sale_fees(fill.qty, fill.price)
        assert fill.commission == expected, fill
        assert fill.commission >= D("1.00")
    assert done.metrics["commissions"] == str(sum((f.commission for f in fills), D(0)))


def test_an_alpaca_account_pays_no_commission_but_the_fees_on_sales(tmp_path: Path) -> None:
    done = _run(tmp_path, ALPACA_PAPER)
    fills = done.result.fills
    buys = [f for f in fills if f.side is Side.BUY]
    sales = [f for f in fills if f.side is Side.SELL]
    assert buys
    assert sales
    assert all(f.commission == 0 for f in buys)
    assert all(f.commission > 0 for f in sales), sales
    for sale in sales:
        assert sale.commission == ALPACA.sale_fees(sale.qty, sale.price)
    # Alpaca takes fractions per asset, which no file says: the policy decides, as before.
    assert any(f.qty != f.qty.to_integral_value() for f in fills)


@pytest.mark.parametrize("fractional", [False, True])
def test_a_manual_account_trades_as_its_fractional_setting_says(
    tmp_path: Path, fractional: bool
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    manual = (
        f'broker = "manual"\nbroker_settings = {{ exports = "{exports}", environment = "live", '
        'preset = "fidelity", '
        f"fractional = {str(fractional).lower()} }}"
    )
    fills = _run(tmp_path, manual).result.fills
    whole = all(f.qty == f.qty.to_integral_value() for f in fills)
    assert whole is not fractional
    assert all(f.commission == 0 for f in fills)  # the manual plugin declares no costs


def test_an_alpaca_account_without_fractions_is_backtested_in_whole_shares(
    tmp_path: Path,
) -> None:
    """Live, Alpaca's snapshot lists nothing fractionable with `fractional = false`."""
    whole = 'broker = "alpaca"\nbroker_settings = { environment = "paper", fractional = false }'
    fills = _run(tmp_path, whole).result.fills
    assert len({f.day for f in fills}) > 2, "the walk should cross the bands"
    assert all(f.qty == f.qty.to_integral_value() for f in fills)
