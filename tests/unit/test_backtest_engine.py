"""The backtest engine: day skipping changes nothing, cash flows, dividends, calendar days,
taxes through the live tax step, no look-ahead, a tripped limit stops the run."""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.backtest.engine import BacktestHalted
from daemon.backtest.flows import Dividend, read_dividends
from daemon.backtest.output import result_json
from tests.hypothesis_profiles import scaled
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices

START = date(2021, 1, 4)


def _policy(
    *,
    absolute: str | None = "5",
    relative: str | None = None,
    rebalance_to: str = "target",
    fractional: bool = True,
    min_trade: str = "1",
    buffer: str = "0",
    buy_only: bool = False,
) -> str:
    bands = []
    bands.append(f"absolute_pp = {absolute}" if absolute is not None else "")
    bands.append(f"relative = {relative}" if relative is not None else "")
    if absolute is None:
        # The default absolute band (5) would apply: a relative-only band needs it cleared.
        bands.append("absolute_pp = 100")
    return (
        "[accounts.main.bands]\n"
        + "\n".join(b for b in bands if b)
        + "\n[accounts.main.policy]\n"
        + f'rebalance_to = "{rebalance_to}"\n'
        + f"fractional = {'true' if fractional else 'false'}\n"
        + f"min_trade_notional = {min_trade}\n"
        + f"cash_buffer = {buffer}\n"
        + f"buy_only = {'true' if buy_only else 'false'}\n"
    )


def _both_ways(tmp_path: Path, case: dict[str, object]) -> None:
    symbols = "ABCD"[: int(case["symbols"])]  # type: ignore[call-overload]
    weights = _weights(symbols, bool(case["cash_weight"]))
    config = write_config(
        tmp_path,
        weights,
        account_type=str(case["account_type"]),
        extra=_policy(
            absolute=case["absolute"],  # type: ignore[arg-type]
            relative=case["relative"],  # type: ignore[arg-type]
            rebalance_to=str(case["rebalance_to"]),
            fractional=bool(case["fractional"]),
            min_trade=str(case["min_trade"]),
            buffer=str(case["buffer"]),
            buy_only=bool(case.get("buy_only", False)),
        )
        + _tax(case.get("tax")),  # type: ignore[arg-type]
    )
    count = int(case["days"])  # type: ignore[call-overload]
    # The alternates' columns (X for A, Y for B) are there whether the config names them or not.
    table = write_prices(
        tmp_path,
        weekdays(START, count),
        random_walk(int(case["seed"]), symbols + "XY", count, volatility=float(case["vol"])),  # type: ignore[call-overload, arg-type]
    )
    dividends: tuple[Dividend, ...] = ()
    if case.get("dividend"):
        path = tmp_path / "dividends.csv"
        days = weekdays(START, count)
        path.write_text(
            "date,symbol,amount\n"
            + "".join(f"{days[i]},{symbols[-1]},{case['dividend']}\n" for i in (5, count - 9))
        )
        dividends = read_dividends(path)
    options = {
        "dividends": dividends,
        "calendar": case["calendar"],
        "contribute": Decimal(str(case["contribute"])),
        "withdraw": Decimal(str(case["withdraw"])),
        "cash": Decimal(100_000),
    }
    skipping = run(config, table, skip=True, **options)
    every_day = run(config, table, skip=False, **options)
    assert json.dumps(result_json(skipping.result, skipping.metrics)) == json.dumps(
        result_json(every_day.result, every_day.metrics)
    )
    assert skipping.result.decide_calls <= every_day.result.decide_calls


def _tax(kind: str | None) -> str:
    """The account's tax table: alternates X for A and Y for B, harvesting (with or without
    the return to the primary) or wash-sale redirects."""
    if kind is None:
        return ""
    return (
        '\n[accounts.main.tax]\nalternates = { A = "X", B = "Y" }\n'
        "[accounts.main.tax.wash_sale]\n"
        f'buys = "{"redirect" if kind == "redirect" else "block"}"\nloss_sales = "defer"\n'
        "[accounts.main.tax.harvest]\n"
        f"enabled = {'false' if kind == 'redirect' else 'true'}\n"
        'min_loss_pct = "0.02"\nmin_loss_amount = "50"\n'
        f"return_to_primary = {'true' if kind == 'harvest_return' else 'false'}\n"
    )


def _weights(symbols: str, cash: bool) -> dict[str, str]:
    share = Decimal("0.9" if cash else "1") / len(symbols)
    weights = {s: str(share.quantize(Decimal("0.0001"))) for s in symbols}
    rest = Decimal(1) - sum(Decimal(w) for w in weights.values())
    if cash:
        weights["CASH"] = str(rest)
    else:
        weights[symbols[0]] = str(Decimal(weights[symbols[0]]) + rest)
    return weights


CASES = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 10_000),
        "symbols": st.integers(2, 4),
        "days": st.integers(30, 80),
        "vol": st.sampled_from([0.005, 0.02, 0.04]),
        "absolute": st.sampled_from([None, "0", "1", "3"]),
        "relative": st.sampled_from([None, "0.1", "0.3"]),
        "rebalance_to": st.sampled_from(["target", "band_edge"]),
        "fractional": st.booleans(),
        "min_trade": st.sampled_from(["0", "1", "500"]),
        "buffer": st.sampled_from(["0", "2000"]),
        "cash_weight": st.booleans(),
        "calendar": st.sampled_from(["daily", "weekly", "monthly", "quarterly"]),
        "contribute": st.sampled_from([0, 5000]),
        "withdraw": st.sampled_from([0, 3000]),
        "account_type": st.sampled_from(["taxable", "roth_ira"]),
        "dividend": st.sampled_from([None, "0.40", "3"]),
        "buy_only": st.booleans(),
        "tax": st.sampled_from([None, "harvest", "harvest_return", "redirect"]),
    }
)
QUICK = [
    {
        "seed": 7,
        "symbols": 3,
        "days": 70,
        "vol": 0.02,
        "absolute": "3",
        "relative": None,
        "rebalance_to": "target",
        "fractional": True,
        "min_trade": "1",
        "buffer": "0",
        "cash_weight": False,
        "calendar": "daily",
        "contribute": 5000,
        "withdraw": 0,
        "account_type": "taxable",
        "dividend": "3",
    },
    {
        "seed": 11,
        "symbols": 4,
        "days": 60,
        "vol": 0.03,
        "absolute": None,
        "relative": "0.1",
        "rebalance_to": "band_edge",
        "fractional": False,
        "min_trade": "0",
        "buffer": "2000",
        "cash_weight": True,
        "calendar": "weekly",
        "contribute": 0,
        "withdraw": 3000,
        "account_type": "roth_ira",
    },
    # buy_only: the scan skips out-of-band days the spare cash cannot act on.
    {
        "seed": 5,
        "symbols": 3,
        "days": 80,
        "vol": 0.04,
        "absolute": "1",
        "relative": None,
        "rebalance_to": "target",
        "fractional": False,
        "min_trade": "500",
        "buffer": "2000",
        "cash_weight": False,
        "calendar": "daily",
        "contribute": 5000,
        "withdraw": 0,
        "account_type": "taxable",
        "buy_only": True,
    },
    # Harvests, then the alternate standing in for its primary until the window closes,
    # inside a stretch of days the scan skips (so the scan must see the window close).
    {
        "seed": 2,
        "symbols": 3,
        "days": 80,
        "vol": 0.01,
        "absolute": "5",
        "relative": None,
        "rebalance_to": "target",
        "fractional": True,
        "min_trade": "1",
        "buffer": "0",
        "cash_weight": False,
        "calendar": "daily",
        "contribute": 0,
        "withdraw": 0,
        "account_type": "taxable",
        "tax": "harvest_return",
    },
    # A harvest whose alternate stands in for good (no return to the primary).
    {
        "seed": 12,
        "symbols": 2,
        "days": 80,
        "vol": 0.04,
        "absolute": "5",
        "relative": None,
        "rebalance_to": "target",
        "fractional": False,
        "min_trade": "1",
        "buffer": "0",
        "cash_weight": False,
        "calendar": "daily",
        "contribute": 0,
        "withdraw": 0,
        "account_type": "taxable",
        "tax": "harvest",
    },
]


@pytest.mark.parametrize("case", QUICK)
def test_skipping_days_gives_the_result_of_deciding_every_day(
    tmp_path: Path, case: dict[str, object]
) -> None:
    _both_ways(tmp_path, case)


@pytest.mark.slow
@settings(
    max_examples=scaled(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=CASES)
@example(case=QUICK[0])
def test_skipping_days_changes_nothing_on_random_markets(
    tmp_path: Path, case: dict[str, object]
) -> None:
    _both_ways(tmp_path, case)


def test_day_zero_buys_the_targets_and_is_not_a_rebalance(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "0.6", "B": "0.4"}, extra=_policy(absolute="50"))
    table = write_prices(tmp_path, weekdays(START, 5), {"A": [100] * 5, "B": [50] * 5})
    done = run(config, table, cash=Decimal(10_000))
    trades = done.json()["trades"]
    assert {(t["symbol"], t["side"], t["qty"], t["price"]) for t in trades} == {
        ("A", "buy", "60.000", "100.00"),
        ("B", "buy", "80.000", "50.00"),
    }
    assert done.result.rebalances == ()
    assert [v["value"] for v in done.json()["nav"]] == ["10000.00000"] * 5


def test_a_band_breach_rebalances_at_that_close(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "0.5", "B": "0.5"}, extra=_policy(absolute="5"))
    # A rises 24% on day 2: 55.4% of the account, out of its band -> back to 50/50 that day.
    table = write_prices(
        tmp_path, weekdays(START, 4), {"A": [100, 100, 124, 124], "B": [100, 100, 100, 100]}
    )
    done = run(config, table, cash=Decimal(20_000))
    assert done.result.rebalances == (weekdays(START, 4)[2],)
    day2 = [t for t in done.json()["trades"] if t["date"] == weekdays(START, 4)[2].isoformat()]
    assert {(t["symbol"], t["side"], t["qty"]) for t in day2} == {
        ("A", "sell", "9.677"),
        ("B", "buy", "11.999"),  # the proceeds are rounded down to the cent
    }
    assert abs(done.result.nav[-1] - 22400) < Decimal("0.01")


def test_a_move_past_the_price_move_limit_waits_a_day(tmp_path: Path) -> None:
    """The live pre-trade check applies: a symbol that moved more than
    max_move_since_close (25%) since the previous close is not traded that day."""
    config = write_config(tmp_path, {"A": "0.5", "B": "0.5"}, extra=_policy(absolute="5"))
    days = weekdays(START, 4)
    table = write_prices(tmp_path, days, {"A": [100, 100, 200, 200], "B": [100] * 4})
    done = run(config, table, cash=Decimal(20_000))
    assert done.result.rebalances == (days[3],)


def test_contributions_and_withdrawals_land_on_the_first_day_of_each_month(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, {"CASH": "1"})
    days = weekdays(date(2021, 1, 27), 30)  # into February and March
    table = write_prices(tmp_path, days, {"A": [10] * 30})
    done = run(config, table, cash=Decimal(1000), contribute=Decimal(300), withdraw=Decimal(100))
    firsts = [d for i, d in enumerate(days) if i and d.month != days[i - 1].month]
    assert firsts == [date(2021, 2, 1), date(2021, 3, 1)]
    nav = {d: Decimal(v) for d, v in zip(days, done.result.nav, strict=True)}
    assert nav[date(2021, 1, 29)] == 1000
    assert nav[date(2021, 2, 1)] == 1200
    assert nav[date(2021, 3, 1)] == 1400
    assert done.metrics["contributed"] == "600"
    assert done.metrics["withdrawn"] == "200"
    assert done.metrics["total_return"] == 0.0


def test_a_share_of_the_value_a_year_is_a_twelfth_of_it_each_month(tmp_path: Path) -> None:
    """`--withdraw 12%/year`: each month 1% of the previous close's value, rounded up to
    the cent (the [income] plan's annual_pct rule)."""
    config = write_config(tmp_path, {"CASH": "1"})
    days = weekdays(date(2021, 1, 27), 50)  # into February, March and April
    table = write_prices(tmp_path, days, {"A": [10] * 50})
    done = run(config, table, cash=Decimal(1000), withdraw_share=Decimal("0.12"))
    nav, flows = done.result.nav, done.result.flows
    taken = []
    for i in range(1, len(days)):
        if days[i].month != days[i - 1].month:
            want = (nav[i - 1] * Decimal("0.01")).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
            assert flows[i] == -want
            assert nav[i] == nav[i - 1] - want
            taken.append(want)
        else:
            assert flows[i] == 0
    assert taken == [Decimal("10.00"), Decimal("9.90"), Decimal("9.81")]
    assert done.metrics["withdrawn"] == "29.71"


def test_inflation_raises_the_monthly_amount_once_a_year(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"CASH": "1"})
    days = weekdays(date(2020, 12, 28), 560)  # to early 2023
    table = write_prices(tmp_path, days, {"A": [10] * 560})
    done = run(config, table, cash=Decimal(10_000), withdraw=Decimal(100), inflation=Decimal("0.1"))
    by_year: dict[int, set[Decimal]] = {}
    for day, flow in zip(days, done.result.flows, strict=True):
        if flow:
            by_year.setdefault(day.year, set()).add(-flow)
    # From the first day's year (2020) on: 2021 pays 110, 2022 121, 2023 133.10.
    assert by_year == {2021: {Decimal(110)}, 2022: {Decimal(121)}, 2023: {Decimal("133.10")}}


def test_a_withdrawal_is_raised_by_selling_through_the_planner(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "1"}, extra=_policy(absolute="50"))
    days = weekdays(date(2021, 1, 27), 6)
    table = write_prices(tmp_path, days, {"A": [10] * 6})
    done = run(config, table, cash=Decimal(1000), withdraw=Decimal(250))
    sells = [t for t in done.json()["trades"] if t["side"] == "sell"]
    assert [(t["date"], t["qty"]) for t in sells] == [("2021-02-01", "25.000")]
    assert done.result.nav[-1] == 750
    assert done.metrics["withdrawal_shortfall"] == "0"


def test_dividends_are_paid_on_the_shares_held(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "1"}, extra=_policy(absolute="50", min_trade="100"))
    days = weekdays(START, 6)
    table = write_prices(tmp_path, days, {"A": [10] * 6})
    dividends = tmp_path / "dividends.csv"
    # Dated on a Saturday: paid on the next row.
    dividends.write_text("date,symbol,amount\n2021-01-09,A,0.25\n")
    done = run(config, table, cash=Decimal(1000), dividends=read_dividends(dividends))
    assert done.metrics["dividends"] == "25.00"
    assert done.result.nav[-1] == Decimal("1025.00")
    assert done.result.nav[4] == Decimal("1000")  # Friday: not paid yet


def test_the_calendar_decides_which_days_run_a_cycle(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "0.5", "B": "0.5"}, extra=_policy(absolute="0"))
    days = weekdays(date(2021, 1, 4), 140)
    table = write_prices(tmp_path, days, random_walk(5, "AB", 140))
    done = run(config, table, calendar="quarterly")
    assert done.result.rebalances == (date(2021, 4, 1), date(2021, 7, 1))


def test_a_flow_day_off_the_calendar_runs_no_cycle_when_the_cash_covers_it(
    tmp_path: Path,
) -> None:
    """A live account on a quarterly schedule runs no cycle on a deposit day: the deposit
    waits in cash for the next cycle day, and a withdrawal the cash covers is paid from it.
    Only a withdrawal the cash does not cover runs a cycle that day, to raise it."""
    config = write_config(
        tmp_path, {"A": "0.45", "B": "0.45", "CASH": "0.1"}, extra=_policy(absolute="0")
    )
    days = weekdays(date(2021, 1, 4), 140)
    table = write_prices(tmp_path, days, random_walk(5, "AB", 140))
    quarters = {date(2021, 4, 1), date(2021, 7, 1)}
    cash = Decimal(100_000)
    paid = run(config, table, cash=cash, calendar="quarterly", contribute=Decimal(1000))
    assert paid.result.rebalances == tuple(sorted(quarters))
    assert {t["date"] for t in paid.json()["trades"][2:]} <= {str(q) for q in quarters}
    covered = run(config, table, cash=cash, calendar="quarterly", withdraw=Decimal(1000))
    assert covered.result.rebalances == tuple(sorted(quarters))
    assert covered.metrics["withdrawn"] == "6000"
    # 10% of the value in cash never covers 12,000 a month: each month's first row sells.
    raised = run(config, table, cash=cash, calendar="quarterly", withdraw=Decimal(12_000))
    firsts = {d for i, d in enumerate(days) if i and d.month != days[i - 1].month}
    assert set(raised.result.rebalances) == firsts
    assert raised.metrics["withdrawal_shortfall"] == "0"


def test_a_taxable_account_realizes_gains_by_lot(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, {"A": "0.5", "B": "0.5"}, extra=_policy(absolute="5", fractional=False)
    )
    table = write_prices(tmp_path, weekdays(START, 3), {"A": [100, 124, 124], "B": [100, 100, 100]})
    done = run(config, table, cash=Decimal(20_000))
    # 100 A bought at 100; 9 sold at 124 (to 91 of 22,400 / 2 / 124): a gain of 216.
    assert [(t["symbol"], t["side"], t["qty"]) for t in done.json()["trades"][2:]] == [
        ("A", "sell", "9"),
        ("B", "buy", "11"),
    ]
    assert done.metrics["realized_short_term"] == "216.00"
    assert done.metrics["realized_long_term"] == "0"
    assert done.metrics["taxes"] == "75.60"  # 35%


def test_an_ira_realizes_nothing_taxable(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        account_type="roth_ira",
        extra=_policy(absolute="5", fractional=False),
    )
    table = write_prices(tmp_path, weekdays(START, 3), {"A": [100, 124, 124], "B": [100, 100, 100]})
    done = run(config, table, cash=Decimal(20_000))
    assert done.result.rebalances
    assert done.metrics["realized_short_term"] == "0"
    assert done.metrics["taxes"] == "0"


def test_harvesting_sells_a_loss_into_its_alternate(tmp_path: Path) -> None:
    extra = _policy(absolute="50", fractional=False) + (
        '[accounts.main.tax]\nalternates = { A = "ALT" }\n'
        "[accounts.main.tax.harvest]\nenabled = true\nmin_loss_pct = 0.05\n"
        "min_loss_amount = 100\n"
    )
    config = write_config(tmp_path, {"A": "0.5", "B": "0.5"}, extra=extra)
    days = weekdays(START, 4)
    table = write_prices(
        tmp_path, days, {"A": [100, 80, 80, 80], "B": [100] * 4, "ALT": [50, 40, 40, 40]}
    )
    done = run(config, table, cash=Decimal(20_000))
    harvest = [t for t in done.json()["trades"] if t["date"] == days[1].isoformat()]
    assert [(t["symbol"], t["side"], t["qty"]) for t in harvest] == [
        ("A", "sell", "100"),
        ("ALT", "buy", "200"),
    ]
    assert done.metrics["harvested_losses"] == "2000.00"
    assert done.metrics["realized_short_term"] == "-2000.00"


def test_past_days_do_not_change_when_future_rows_are_added(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "0.6", "B": "0.4"}, extra=_policy(absolute="2"))
    walk = random_walk(9, "AB", 80)
    days = weekdays(START, 80)
    short = run(config, write_prices(tmp_path, days[:50], {s: v[:50] for s, v in walk.items()}))
    long = run(config, write_prices(tmp_path, days, walk))
    assert short.json()["nav"] == long.json()["nav"][:50]
    assert short.json()["trades"] == [t for t in long.json()["trades"] if t["date"] <= "2021-03-12"]


def test_a_limit_that_halts_a_live_account_stops_the_backtest(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        extra=_policy(),
        top="[risk]\nmax_orders_per_minute = 1\n",
    )
    table = write_prices(tmp_path, weekdays(START, 3), {"A": [10] * 3, "B": [10] * 3})
    with pytest.raises(BacktestHalted, match=r"on 2021-01-04 the pre-trade check"):
        run(config, table)


def test_costs_follow_the_simulated_broker(tmp_path: Path) -> None:
    extra = _policy(absolute="50", fractional=False) + (
        "[accounts.main.broker_settings]\nslippage_bps = 10\ncommission_per_order = 1\n"
        "commission_per_share = 0.01\n"
    )
    config = write_config(tmp_path, {"A": "1"}, extra=extra)
    table = write_prices(tmp_path, weekdays(START, 2), {"A": [100, 100]})
    done = run(config, table, cash=Decimal(10_000))
    [trade] = done.json()["trades"]
    assert trade["price"] == "100.10"  # 10 bps against the buyer
    qty = Decimal(trade["qty"])
    assert qty == 99  # what 10,000 buys at 100.10 with commission
    assert (
        done.result.nav[-1]
        == Decimal(10_000) - qty * Decimal("100.10") - (1 + qty / 100) + qty * 100
    )


def test_progress_is_reported_day_by_day_and_over_a_sweep(tmp_path: Path) -> None:
    from daemon.backtest.runner import Options, run_one, run_sweep
    from daemon.backtest.vary import configure

    config = write_config(tmp_path, {"A": "0.5", "B": "0.5"}, extra=_policy())
    table = write_prices(tmp_path, weekdays(START, 6), {"A": [10] * 6, "B": [20] * 6})
    days: list[tuple[int, int]] = []
    run_one(
        config, "main", table, Options(), progress=lambda done, total: days.append((done, total))
    )
    assert days == [(n, 6) for n in range(1, 7)]
    runs: list[tuple[int, int]] = []
    sweep = (("bands.absolute_pp", "1"),), (("bands.absolute_pp", "9"),)
    done = run_sweep(
        "main",
        table,
        Options(),
        configure(tmp_path / "config.toml", config, "main", sweep),
        jobs=1,
        progress=lambda d, t: runs.append((d, t)),
    )
    assert runs == [(0, 2), (1, 2), (2, 2)]
    assert [r.overrides for r in done] == list(sweep)


def test_a_strategy_that_looks_back_sees_closes_through_the_previous_day(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "1"})
    text = (
        (tmp_path / "config.toml")
        .read_text()
        .replace(
            'strategy = "static"\n[accounts.main.strategy_params.targets]\nA = 1\n',
            'strategy = "momentum"\n[accounts.main.strategy_params]\n'
            'universe = ["A", "B", "C"]\nlookback_days = 10\nmargin = 0\n',
        )
    )
    (tmp_path / "config.toml").write_text(text)
    from daemon.backtest.errors import BacktestInputError
    from daemon.config.settings import load_config

    config = load_config(tmp_path / "config.toml")
    days = weekdays(START, 90)
    table = write_prices(tmp_path, days, random_walk(21, "ABC", 90, volatility=0.03))
    # The error names the first day with the window's 11 rows before it; that day works.
    named = rf"give --start {days[11]} or later \(the file's first day with the 11 rows"
    with pytest.raises(BacktestInputError, match=named):
        run(config, table)
    with pytest.raises(BacktestInputError, match=named):
        run(config, table, start=days[10])
    assert run(config, table, start=days[11]).result.days[0] == days[11]
    short = write_prices(tmp_path, days[:11], random_walk(21, "ABC", 11, volatility=0.03))
    with pytest.raises(BacktestInputError, match="the file has 11 rows and the strategy reads 11"):
        run(config, short)
    walk = random_walk(21, "ABC", 90, volatility=0.03)
    closes: dict[str, list[float | str]] = {s: list(v) for s, v in walk.items()}
    closes["B"][15] = ""  # a gap inside day 20's window, before the backtest's range
    gapped = write_prices(tmp_path, days, closes)
    # Named by the file's row and column, with the first day whose window is past it.
    gap = rf"prices.csv: row 17 \({days[15]}\), column 3 \(B\): no close \(a gap\) in the 11 rows"
    with pytest.raises(BacktestInputError, match=rf"{gap}.* give --start {days[27]} or later"):
        run(config, gapped, start=days[20])
    assert run(config, gapped, start=days[27]).result.days[0] == days[27]
    skipping = run(config, table, start=days[20])
    every_day = run(config, table, start=days[20], skip=False)
    assert skipping.json() == every_day.json()
    assert len({t["symbol"] for t in skipping.json()["trades"]}) > 1, "momentum changed its pick"
    # The pick of a day depends only on earlier closes: a change on the day itself is unseen.
    moved = {s: list(v) for s, v in random_walk(21, "ABC", 90, volatility=0.03).items()}
    for symbol in "ABC":
        moved[symbol][40] = moved[symbol][39]
    shifted = run(config, write_prices(tmp_path, days, moved), start=days[20])
    on_day_40 = [t for t in skipping.json()["trades"] if t["date"] == days[40].isoformat()]
    shifted_40 = [t for t in shifted.json()["trades"] if t["date"] == days[40].isoformat()]
    assert [t["symbol"] for t in on_day_40] == [t["symbol"] for t in shifted_40]


@pytest.mark.parametrize("method", ["hifo", "min_tax"])
def test_a_sale_relieves_the_lots_its_broker_ranks_first(tmp_path: Path, method: str) -> None:
    """As the live ledger records a fill (`record_fills`): under HIFO or minimum tax the
    broker ranks lots on the basis it knows, which a loss on the other symbol of a
    substantially identical pair (allowed, so washed into a lot here) does not move."""
    from daemon.core.tax.engine import replay_trades
    from daemon.core.tax.relief import broker_view, relieved
    from daemon.core.tax.types import LotMethod
    from daemon.store.tax_ledger import tax_policy

    extra = _policy(absolute="2", fractional=False) + (
        f'[accounts.main.tax]\nlot_method = "{method}"\n'
        '[accounts.main.tax.wash_sale]\nloss_sales = "allow"\n'
    )
    top = '[tax]\nsubstantially_identical = [["VOO", "IVV"]]\n'
    config = write_config(tmp_path, {"VOO": "0.5", "IVV": "0.5"}, extra=extra, top=top)
    days = weekdays(START, 160)
    table = write_prices(tmp_path, days, random_walk(7, ["VOO", "IVV"], 160, volatility=0.04))
    done = run(config, table, cash=Decimal(100_000))
    assert done.result.sales
    policy = broker_view(tax_policy(config))
    washed = 0
    for sale in done.result.sales:
        symbol, when = sale.trade.symbol, (sale.trade.date, sale.trade.id)
        before = [t for t in done.result.trades if t.symbol == symbol and (t.date, t.id) < when]
        lots = replay_trades(before, policy).lots("main", symbol)
        price = sale.trade.amount / sale.trade.qty
        expected = relieved(lots, LotMethod(method), sale.trade.date, price, sale.trade.qty)
        taken: dict[str, Decimal] = {}
        for piece in sale.pieces:  # a lot split by a wash is relieved in pieces
            taken[piece.source_id] = taken.get(piece.source_id, Decimal(0)) + piece.qty
        assert [(p.source_id, p.qty) for p in expected] == list(taken.items()), sale.trade.id
        washed += any(p.washes for p in sale.pieces)
    assert washed  # the case arises: the pair's losses washed into lots
