"""Edges of alternates standing in for their primary (`stand_in_targets`, through `decide`).

A review found four ways the pool of a primary and its held alternates came out wrong:
- a `policy.keep` holding: the alternate's share was of the whole account, the planner's
  weights of the managed value, so an underweight pair sold its alternate at a loss and
  bought it back the next cycle (a wash sale);
- two alternates of one primary: the second, held after the first took all of the primary's
  target, was left a target-0 holding, and the pool's verdict depended on their order;
- an alternate of two primaries: it crashed every cycle ("targets sum to 0.55, not 1"); the
  configuration is now refused, since which primary it stands in for cannot be told;
- a chain (BBB harvested into BBX, then BBX into BBY): BBY stood in only through a held BBX,
  so it was sold and the account sat in cash inside both wash-sale windows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from daemon.core.decide import CycleState, Decision, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote, Side
from daemon.core.errors import ConfigError
from daemon.core.planner import PlanningPolicy
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax import TaxPolicy, Trade
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.types import LossWindow
from tests.stand_in_case import BANDS, HARVESTED, TAX, trade
from tests.unit.backtest_helpers import write_config

HARVEST = [
    trade(1, date(2022, 1, 3), "AAA", Side.BUY, D(500), D(100)),
    trade(2, date(2022, 1, 3), "BBB", Side.BUY, D(500), D(100)),
    trade(3, HARVESTED, "BBB", Side.SELL, D(500), D("94.89")),
    trade(4, HARVESTED, "BBX", Side.BUY, D("1010.327"), D("46.96")),
]
"""BBB harvested whole into BBX: BBB's wash-sale window is open until 2022-08-11."""


def _decide(
    today: date,
    prices: dict[str, D],
    holdings: dict[str, D],
    cash: D,
    *,
    policy: PlanningPolicy | None = None,
    tax: dict[str, Any] | None = None,
    trades: list[Trade] | None = None,
) -> Decision:
    """Decide a taxable account with static targets AAA 50%, BBB 50%."""
    book = replay_trades(
        trades or HARVEST, TaxPolicy(methods={}, identical=SubstantiallyIdentical())
    )
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=19)
    snap = AccountSnapshot(
        account="a",
        as_of=now,
        cash=cash,
        positions=tuple(Position(s, q) for s, q in holdings.items() if q),
        quotes={s: Quote(s, p, now - timedelta(minutes=1), "test") for s, p in prices.items()},
    )
    settings = TaxSettings.model_validate(tax or TAX)
    return decide(
        DecisionInput(
            account="a",
            account_type=AccountType.TAXABLE,
            strategy="static",
            targets={"AAA": D("0.5"), "BBB": D("0.5")},
            universe=frozenset({"AAA", "BBB"}),
            snapshot=snap,
            planning=policy
            or PlanningPolicy(
                default_band=BANDS, min_trade_notional=D(1), share_increment=D("0.001")
            ),
            terms=OrderTerms(),
            limits=RiskConfig(),
            state=CycleState(),
            tax=TaxInputs(
                book=book, today=today, settings=settings, identical=SubstantiallyIdentical()
            ),
            now=now,
            max_quote_age=timedelta(hours=96),
            mode=Mode.PAPER,
            submit=True,
            alternates=settings.alternate_symbols,
        )
    )


def _filled(
    decision: Decision, holdings: dict[str, D], cash: D, prices: dict[str, D]
) -> tuple[dict[str, D], D]:
    """Return the holdings and cash after every approved order fills at its quote."""
    held = dict(holdings)
    for o in decision.approved:
        signed = o.qty if o.side is Side.BUY else -o.qty
        held[o.symbol] = held.get(o.symbol, D(0)) + signed
        cash -= signed * prices[o.symbol]
    return held, cash


def _sells(decision: Decision) -> set[str]:
    return {o.symbol for o in decision.approved if o.side is Side.SELL}


@pytest.mark.parametrize("rebalance_to", ["target", "band_edge"])
@pytest.mark.parametrize("kept", [D(0), D(1000)])
def test_a_kept_holding_does_not_make_an_underweight_pair_sell_its_alternate(
    rebalance_to: str, kept: D
) -> None:
    # Managed: AAA 70%, BBX 27% (the pair, against BBB's 50% +-5pp), cash 3%; KKK is kept and
    # outside the value the weights are of. Before, with KKK held, BBX's share was 13.5% of
    # the whole account: the planner, weighing against the managed value, saw BBX above its
    # own target and sold it at a loss, then bought it back the next cycle.
    prices = {"AAA": D(100), "BBB": D(90), "BBX": D(45), "KKK": D(100)}
    policy = PlanningPolicy(
        default_band=BANDS,
        min_trade_notional=D(1),
        share_increment=D("0.001"),
        rebalance_to=rebalance_to,  # type: ignore[arg-type]
        keep=frozenset({"KKK"}),
    )
    held, cash = {"AAA": D(700), "BBX": D(600), "KKK": kept}, D(3000)
    decision = _decide(HARVESTED + timedelta(days=2), prices, held, cash, policy=policy)
    assert decision.plan.triggered  # the pair is under its band, AAA over
    assert "BBX" not in _sells(decision)
    assert "KKK" not in {o.symbol for o in decision.approved}
    assert "BBX stands in for BBB (27.0% of the account)" in decision.stand_ins
    held, cash = _filled(decision, held, cash, prices)
    again = _decide(HARVESTED + timedelta(days=3), prices, held, cash, policy=policy)
    assert again.approved == ()


@pytest.mark.parametrize("order", [["BBY", "BBX"], ["BBX", "BBY"]])
def test_a_pool_in_band_trades_nothing_whatever_the_order_of_its_alternates(
    order: list[str],
) -> None:
    # BBX 52%, BBY 2%: the pool is 54%, inside BBB's 50% +-5pp; AAA 46%, inside its band.
    # Listed first, BBX takes all of BBB's 50%; BBY, held, still joins the pool (share 0).
    prices = {"AAA": D(100), "BBB": D(90), "BBX": D(45), "BBY": D(50)}
    held = {"AAA": D(460), "BBX": D("1155.5556"), "BBY": D(40)}
    decision = _decide(
        HARVESTED + timedelta(days=3), prices, held, D(0), tax=TAX | {"alternates": {"BBB": order}}
    )
    assert not decision.plan.triggered
    assert decision.approved == ()
    assert set(decision.plan_input.stand_ins.items()) == {("BBX", "BBB"), ("BBY", "BBB")}
    targets = decision.plan_input.targets
    assert targets["BBB"] + targets["BBX"] + targets["BBY"] == D("0.5")


def test_an_alternate_of_two_primaries_is_refused_naming_both_and_the_fix() -> None:
    # Before, held after a harvest it crashed every cycle: "targets sum to 0.55, not 1".
    with pytest.raises(ValidationError, match="XXX is the alternate of both AAA and BBB") as e:
        TaxSettings.model_validate({"alternates": {"AAA": "XXX", "BBB": ["YYY", "XXX"]}})
    fix = e.value.errors()[0].get("ctx", {})["fix"]
    assert fix.startswith("give each primary its own alternates, e.g. { AAA = 'XXX', BBB = ")


def test_a_second_generation_alternate_stands_in_for_the_first_primary() -> None:
    # alternates = { BBB = "BBX", BBX = "BBY" }: BBB harvested into BBX on 7-01, BBX into
    # BBY on 7-12. BBY (44%) is all that is left of BBB's 50%, inside both windows.
    h1, h2 = date(2022, 7, 1), date(2022, 7, 12)
    trades = [
        trade(1, date(2022, 1, 3), "AAA", Side.BUY, D(500), D(100)),
        trade(2, date(2022, 1, 3), "BBB", Side.BUY, D(500), D(100)),
        trade(3, h1, "BBB", Side.SELL, D(500), D(94)),
        trade(4, h1, "BBX", Side.BUY, D(1000), D(47)),
        trade(5, h2, "BBX", Side.SELL, D(1000), D(44)),
        trade(6, h2, "BBY", Side.BUY, D(550), D(80)),
    ]
    prices = {"AAA": D(100), "BBB": D(90), "BBX": D(44), "BBY": D(80)}
    held = {"AAA": D(500), "BBY": D(550)}  # AAA 50k, BBY 44k, cash 6k
    tax = TAX | {"alternates": {"BBB": "BBX", "BBX": "BBY"}}
    decision = _decide(h2 + timedelta(days=1), prices, held, D(6000), tax=tax, trades=trades)
    assert "BBY" not in _sells(decision)
    assert dict(decision.plan_input.stand_ins) == {"BBY": "BBB"}
    assert "BBY stands in for BBB (44.0% of the account)" in decision.stand_ins


def _window(symbol: str) -> LossWindow:
    """A loss sale of `symbol` on 2022-07-12, its window open until 2022-08-11."""
    return LossWindow(
        sale_id=f"s-{symbol}",
        account="a",
        symbol=symbol,
        symbols=frozenset({symbol}),
        sale_date=HARVESTED,
        ends=HARVESTED + timedelta(days=30),
        unwashed_qty=D(1),
        unwashed_loss=D(1),
    )


def _stood(
    holdings: dict[str, D], alternates: dict[str, Any], windows: list[LossWindow]
) -> tuple[dict[str, D], dict[str, str], list[str]]:
    tax = TaxSettings.model_validate(
        {"alternates": alternates, "harvest": {"return_to_primary": True}}
    )
    stood = stand_in_targets(
        {"AAA": D("0.5"), "BBB": D("0.5")},
        holdings,
        dict.fromkeys(holdings, D(1)),
        D(0),
        settings=tax,
        identical=SubstantiallyIdentical(),
        loss_windows=windows,
        today=date(2022, 7, 20),
    )
    return stood.targets, stood.pairs, stood.notes


def test_a_chain_returns_to_its_first_primary_once_that_primary_s_window_closes() -> None:
    # Only BBX's window is open: buying BBB back washes nothing, so BBY stops standing in.
    targets, pairs, notes = _stood(
        {"AAA": D(50), "BBY": D(50)}, {"BBB": "BBX", "BBX": "BBY"}, [_window("BBX")]
    )
    assert pairs == {}
    assert targets == {"AAA": D("0.5"), "BBB": D("0.5")}
    assert notes == ["BBY no longer stands in for BBB: returning to BBB"]


def test_alternates_listed_in_a_loop_end() -> None:
    # { BBB = "BBX", BBX = "BBB" }: BBX stands in for BBB; BBB, a target, stands in for none.
    targets, pairs, _ = _stood(
        {"AAA": D(50), "BBB": D(20), "BBX": D(30)},
        {"BBB": "BBX", "BBX": "BBB"},
        [_window("BBB")],
    )
    assert pairs == {"BBX": "BBB"}
    assert targets == {"AAA": D("0.5"), "BBB": D("0.2"), "BBX": D("0.3")}


def test_the_config_refusing_an_alternate_of_two_primaries_names_the_key_and_the_fix(
    tmp_path: Path,
) -> None:
    extra = '[accounts.main.tax]\nalternates = { VTI = "ITOT", VTSAX = "ITOT" }\n'
    with pytest.raises(ConfigError) as error:
        write_config(tmp_path, {"VTI": "1"}, extra=extra)
    said = str(error.value)
    assert "accounts.main.tax.alternates" in said
    assert "ITOT is the alternate of both VTI and VTSAX" in said
    assert "give each primary its own alternates" in said
