"""Live cycles on an Alpaca account that already holds `policy.keep` symbols: the engine, the
configured plugin, reconciliation and the executor, with alpaca-py on loopback HTTP against
the fake Alpaca (which, unlike the simulated broker, can start with positions).

The account holds VTI and BND (managed), SCHD (kept, inside the strategy's universe) and EMP
(kept, outside it). trimtab must never send an order for a kept symbol, a buy or a sell, and
must weigh the managed holdings against the value without the kept ones (cash plus VTI plus
BND), as `trimtab plan` on the same account shows. Every expected number here is worked out
from the fake's state, not from trimtab's report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from daemon.audit.events import CycleFailed
from daemon.audit.record import events_of
from daemon.bootstrap import App, open_app
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import CASH, Side
from daemon.store.audit_log import AuditLog
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import ENV_PREFIX, household
from tests.integration.test_history_cycle import weekdays

D = Decimal
KEPT = ("EMP", "SCHD")
"""EMP: outside every strategy's universe here; SCHD: inside it."""
PRICES = {"VTI": D("250.00"), "BND": D("72.50"), "SCHD": D("27.10"), "EMP": D("40.00")}
HELD = {"VTI": D(180), "BND": D(300), "SCHD": D(300), "EMP": D(250)}
CASH_AT_START = D("5750")
MANAGED = CASH_AT_START + HELD["VTI"] * PRICES["VTI"] + HELD["BND"] * PRICES["BND"]
"""$72,500: cash $5,750 + VTI $45,000 + BND $21,750; the kept SCHD ($8,130) and EMP
($10,000) are not in it."""


def kept_account() -> AlpacaState:
    """The fake account: VTI, BND, and the kept SCHD and EMP, with orders filling at once."""
    state = household(str(CASH_AT_START))
    state.auto_fill = True
    state.add_asset("EMP", str(PRICES["EMP"]))
    for symbol, qty in HELD.items():
        state.set_position(symbol, str(qty))
    return state


@dataclass
class Account:
    fake: FakeAlpaca
    state: AlpacaState
    app: App

    def run(self, **kwargs: object) -> CycleReport:
        return self.app.engine(fill_timeout=2).run_once("main", **kwargs)  # type: ignore[arg-type]

    def plan(self, **kwargs: object) -> CycleReport:
        return self.app.engine(fill_timeout=2).plan("main", **kwargs)  # type: ignore[arg-type]

    def positions(self) -> dict[str, Decimal]:
        with self.state.lock:
            return {s: qty for s, (qty, _) in self.state.positions.items()}

    def ordered(self) -> list[tuple[str, str]]:
        """Every order the fake received: (side, symbol)."""
        with self.state.lock:
            return [(o.side, o.symbol) for o in self.state.orders]

    def posted(self) -> list[str]:
        """The symbol of every POST /v2/orders that reached the fake (refused ones too)."""
        return [str(r.body["symbol"]) for r in self.fake.requests if r.method == "POST"]

    def failure(self) -> CycleFailed:
        with self.app.database.transaction() as session:
            records = AuditLog(session).records(account="main")
        return events_of(records, CycleFailed)[-1][1]

    def chosen_targets(self) -> dict[str, Decimal]:
        """The weights of the newest `targets` audit record (what the decision step used)."""
        with self.app.database.transaction() as session:
            record = AuditLog(session).latest("targets", "main")
        assert record is not None
        return {s: D(str(w)) for s, w in record.payload["targets"].items()}


MakeAccount = Callable[..., Account]


@pytest.fixture
def make_account(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MakeAccount]:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    opened: list[tuple[FakeAlpaca, App]] = []

    def make(state: AlpacaState, strategy: str, *, closes: bool = False) -> Account:
        fake = FakeAlpaca(state).start()
        if closes:
            fake.bars.page_size = 1000
            for symbol, series in rising_closes().items():
                fake.bars.set_closes(symbol, series)
        text = (
            f'mode = "paper"\ndatabase_url = "{database_url}"\n'
            f'[accounts.main]\nbroker = "alpaca"\n{strategy}'
            f'[accounts.main.broker_settings]\nenvironment = "paper"\nbase_url = "{fake.url}"\n'
            f'data_url = "{fake.url}"\nread_timeout_seconds = 2\n'
            "rate_limit_max_wait_seconds = 0\n"
            '[accounts.main.policy]\nmin_trade_notional = "50"\nkeep = ["EMP", "SCHD"]\n'
        )
        config = tmp_path / f"trimtab{len(opened)}.toml"
        config.write_text(text)
        app = open_app(config, clock=state.now)
        opened.append((fake, app))
        return Account(fake, state, app)

    yield make
    for fake, app in opened:
        app.close()
        fake.close()


def rising_closes(schd_daily: str = "1.0005") -> dict[str, dict[date, Decimal]]:
    """Daily closes through the fake's Friday: VTI climbs 0.5% a day, BND 0.2%, SCHD by
    `schd_daily` a day (slowest by default); each ends at its quote."""
    days = [d for d in weekdays() if d <= date(2026, 11, 27)]
    growth = {"VTI": D("1.005"), "BND": D("1.002"), "SCHD": D(schd_daily)}
    last = len(days) - 1
    return {
        s: {d: round(PRICES[s] / g ** (last - i), 4) for i, d in enumerate(days)}
        for s, g in growth.items()
    }


def orders_of(report: CycleReport) -> list[tuple[Side, str, Decimal]]:
    assert report.plan is not None, report.error
    return [(o.side, o.symbol, o.qty) for o in report.plan.orders]


def assert_kept_untouched(account: Account) -> None:
    """No order for a kept symbol reached the broker, and the kept positions are as they were."""
    assert not [s for s in account.posted() if s in KEPT]
    assert not [o for o in account.ordered() if o[1] in KEPT]
    positions = account.positions()
    assert {s: positions.get(s) for s in KEPT} == {s: HELD[s] for s in KEPT}


# -- a static target ----------------------------------------------------------------------------


STATIC = """strategy = "static"
[accounts.main.strategy_params]
targets = { VTI = "0.5", BND = "0.4", CASH = "0.1", SCHD = "0" }
"""
"""SCHD is in the strategy's universe (its targets), at weight 0: kept, it is not sold."""


def test_a_cycle_rebalances_the_managed_holdings_on_the_value_without_the_kept_ones(
    make_account: MakeAccount,
) -> None:
    account = make_account(kept_account(), STATIC)
    # Of $72,500: VTI 0.5 = 145 shares ($36,250), BND 0.4 = 400 ($29,000), cash 0.1 = $7,250.
    # Counting the kept holdings ($90,630 in all) would have bought VTI (181 shares) instead.
    goal = {"VTI": MANAGED * D("0.5") / PRICES["VTI"], "BND": MANAGED * D("0.4") / PRICES["BND"]}
    assert goal == {"VTI": 145, "BND": 400}
    expected = [
        (Side.SELL, "VTI", HELD["VTI"] - goal["VTI"]),
        (Side.BUY, "BND", goal["BND"] - HELD["BND"]),
    ]

    planned = account.plan()
    assert planned.outcome == "planned", planned.error
    assert sorted(orders_of(planned)) == sorted(expected)
    assert account.posted() == []
    assert planned.plan is not None
    assert planned.plan.nav == MANAGED
    rows = {r.symbol: r for r in planned.plan.drift}
    assert {s: rows[s].managed for s in KEPT} == {"EMP": False, "SCHD": False}
    # VTI's weight is of the managed value: $45,000 / $72,500, not / $90,630.
    assert abs(rows["VTI"].weight - HELD["VTI"] * PRICES["VTI"] / MANAGED) < D("0.000001")

    report = account.run()
    assert report.outcome == "succeeded", report.error
    # The run decided what the plan showed: one decision step.
    assert orders_of(report) == orders_of(planned)
    assert_kept_untouched(account)
    positions = account.positions()
    assert {s: positions[s] for s in goal} == goal
    assert account.state.cash == MANAGED * D("0.1")

    # On target now: the next cycle plans nothing, and still leaves the kept holdings alone.
    again = account.run(force=True)
    assert again.outcome == "succeeded", again.error
    assert orders_of(again) == []
    assert_kept_untouched(account)


# -- a turnover-limited strategy ----------------------------------------------------------------


MOMENTUM = """strategy = "momentum"
[accounts.main.strategy_params]
universe = ["VTI", "BND", "SCHD"]
lookback_days = 20
top_n = {top_n}
max_turnover = "0.1"
"""


def test_a_turnover_limited_strategy_blends_from_the_managed_weights(
    make_account: MakeAccount,
) -> None:
    account = make_account(kept_account(), MOMENTUM.format(top_n=2), closes=True)
    # Momentum's two leaders are VTI and BND (SCHD, kept, climbs slowest): 50% each. The
    # current weights are of the managed $72,500, kept holdings left out.
    current = {
        "VTI": HELD["VTI"] * PRICES["VTI"] / MANAGED,
        "BND": HELD["BND"] * PRICES["BND"] / MANAGED,
        CASH: CASH_AT_START / MANAGED,
    }
    chosen = {"VTI": D("0.5"), "BND": D("0.5"), CASH: D(0)}
    turnover = sum((abs(chosen[s] - current[s]) for s in chosen), D(0)) / 2
    assert turnover == D("0.2")  # above max_turnover 0.1: the blend goes 0.1 of the way
    blend = {s: current[s] + (chosen[s] - current[s]) * D("0.1") / turnover for s in chosen}

    planned = account.plan()
    assert planned.outcome == "planned", planned.error
    targets = account.chosen_targets()
    assert set(targets) == {"VTI", "BND", CASH}
    for symbol, weight in blend.items():
        assert abs(targets[symbol] - weight) < D("0.000000002"), (symbol, targets, blend)

    report = account.run()
    assert report.outcome == "succeeded", report.error
    assert account.chosen_targets() == targets
    assert orders_of(report) == orders_of(planned)
    # Whole shares: VTI is sold down to its target's share count rounded up (a sale never
    # passes the target), BND bought with the cash above the blend's cash target.
    vti = (blend["VTI"] * MANAGED / PRICES["VTI"]).to_integral_value(ROUND_CEILING)
    spendable = CASH_AT_START + (HELD["VTI"] - vti) * PRICES["VTI"] - blend[CASH] * MANAGED
    bnd = min(
        (blend["BND"] * MANAGED / PRICES["BND"] - HELD["BND"]).to_integral_value(ROUND_FLOOR),
        (spendable / PRICES["BND"]).to_integral_value(ROUND_FLOOR),
    )
    assert (vti, bnd) == (163, 98)  # VTI's target is 162.5 shares; BND's 400, cash-limited
    expected = [(Side.BUY, "BND", bnd), (Side.SELL, "VTI", HELD["VTI"] - vti)]
    assert sorted(orders_of(report)) == expected
    positions = account.positions()
    assert (positions["VTI"], positions["BND"]) == (vti, HELD["BND"] + bnd)
    assert_kept_untouched(account)


def test_a_strategy_weight_on_a_kept_symbol_is_refused_naming_it_and_the_fix(
    make_account: MakeAccount,
) -> None:
    # SCHD now climbs fastest: momentum (top 1) picks it, and the turnover limit moves 0.1
    # of the way there: SCHD 0.1. It is kept: trimtab never trades it, so no weight on it can
    # be followed; nothing is sent, and the error says which symbol, why, and what to change.
    state = kept_account()
    account = make_account(state, MOMENTUM.format(top_n=1), closes=True)
    account.fake.bars.set_closes("SCHD", rising_closes(schd_daily="1.01")["SCHD"])
    for report in (account.plan(), account.run()):
        assert report.outcome == "failed"
        error = str(report.error)
        assert "StrategyError: strategy momentum gave a weight to SCHD 0.100000000" in error
        assert "policy.keep keeps" in error
        assert "Fix: take SCHD off policy.keep" in error
    assert account.posted() == []
    assert account.positions() == HELD
    failed = account.failure()
    assert "policy.keep" in failed.error


# -- --withdraw ---------------------------------------------------------------------------------


def test_a_withdrawal_only_the_kept_holdings_could_cover_is_refused_naming_them(
    make_account: MakeAccount,
) -> None:
    account = make_account(kept_account(), STATIC)
    asked = MANAGED + 1  # more than cash + VTI + BND; the kept $18,130 would cover it
    for report in (account.plan(withdrawal=asked), account.run(withdrawal=asked)):
        assert report.outcome == "failed"
        error = str(report.error)
        assert error.startswith("WithdrawalTooLarge: --withdraw $72,501.00 for account main")
        assert "EMP is kept (policy.keep) and never sold" in error
        assert "SCHD is kept (policy.keep) and never sold" in error
        assert f"${MANAGED:,.2f}" in error  # what it may raise
        assert "$18,130.00 of holdings left out" in error
        assert f"--withdraw {MANAGED:.2f} at most" in error
    assert account.posted() == []
    assert account.positions() == HELD
    assert account.failure().error_type == "WithdrawalTooLarge"

    # All it may raise: every managed share is sold, no kept one.
    report = account.run(withdrawal=MANAGED, force=True)
    assert report.outcome == "succeeded", report.error
    everything = [(Side.SELL, "BND", HELD["BND"]), (Side.SELL, "VTI", HELD["VTI"])]
    assert sorted(orders_of(report)) == everything
    assert_kept_untouched(account)
    assert account.positions() == {s: HELD[s] for s in KEPT}
    assert account.state.cash == MANAGED
