"""Whole live cycles on the simulated broker over random markets, costs and withdrawals.

Each example opens a real App (SQLite, migrations, the audit log, the tax ledger) with a sim
account whose slippage, commission, market-buy hold, fractional shares and cash buffer are
drawn, then runs a few forced cycles while the prices move, some with a withdrawal. After
every cycle:

- the cycle succeeded and no order was refused: buys are sized to what the sim takes, sales
  never exceed holdings;
- cash is never negative and no position is short;
- a withdrawal the account can cover is in cash, with the buffer, after its cycle: the
  sales raised it net of their slippage and commission;
- a withdrawal larger than the whole account is refused before anything is sent.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.sim.broker import SimBroker
from daemon.bootstrap import broker_migrations
from daemon.core.domain import OrderStatus
from tests.fakes.feeds import RawFeed
from tests.hypothesis_profiles import scaled
from tests.integration.test_cycle import PRICES, Harness, make_app
from tests.migrated_copy import copy_migrated_sqlite

D = Decimal
SESSIONS = tuple(datetime(2026, 12, day, 20, 45, tzinfo=UTC) for day in (1, 2, 3, 4))
"""15:45 New York on four ordinary sessions: a cycle a day, so the daily limits reset."""


@dataclass(frozen=True)
class Day:
    vti: Decimal
    bnd: Decimal
    withdrawal: Decimal


@dataclass(frozen=True)
class Case:
    slippage_bps: int
    per_order: Decimal
    per_share: Decimal
    hold: Decimal
    fractional: bool
    cash_buffer: Decimal
    days: tuple[Day, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    moves = st.integers(min_value=-25, max_value=25)
    days = []
    vti, bnd = PRICES["VTI"], PRICES["BND"]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        vti = (vti * (100 + draw(moves)) / 100).quantize(D("0.01"))
        bnd = (bnd * (100 + draw(moves)) / 100).quantize(D("0.01"))
        out = draw(st.sampled_from([0, 0, 500, 5_000, 30_000]))
        days.append(Day(vti, bnd, D(out)))
    return Case(
        slippage_bps=draw(st.sampled_from([0, 5, 100])),
        per_order=draw(st.sampled_from([D(0), D(1), D("4.95")])),
        per_share=draw(st.sampled_from([D(0), D("0.005")])),
        hold=draw(st.sampled_from([D(0), D("0.04")])),
        fractional=draw(st.booleans()),
        cash_buffer=draw(st.sampled_from([D(0), D(100)])),
        days=tuple(days),
    )


def _check(case: Case) -> None:
    broker: dict[str, object] = {
        "slippage_bps": case.slippage_bps,
        "commission_per_order": str(case.per_order),
        "commission_per_share": str(case.per_share),
        "market_buy_hold_fraction": str(case.hold),
        "fractional": case.fractional,
    }
    policy = f'cash_buffer = "{case.cash_buffer}"\n'
    if case.fractional:
        policy += 'fractional = true\nfractional_increment = "0.000000001"\n'
    feed = RawFeed(dict(PRICES))
    clock = [SESSIONS[0]]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        copy_migrated_sqlite(tmp / "trimtab.db", broker_migrations())  # not a migration test
        app = make_app(tmp, f"sqlite:///{tmp / 'trimtab.db'}", prices=feed, broker=broker,
                       extra=policy, clock=clock)  # fmt: skip
        try:
            paper = Harness(app, None)
            sim = paper.sim
            assert isinstance(sim, SimBroker)
            days = (Day(PRICES["VTI"], PRICES["BND"], D(0)), *case.days)
            for session, day in zip(SESSIONS, days, strict=False):
                clock[0] = session
                feed.prices["VTI"], feed.prices["BND"] = day.vti, day.bnd
                before = sim.snapshot(())
                value = before.cash + sum(
                    (p.qty * feed.prices[p.symbol] for p in before.positions), D(0)
                )
                report = paper.run(force=True, withdrawal=day.withdrawal)
                if day.withdrawal > value:
                    # More than the account holds: refused before anything is planned
                    # (daemon/cycle/withdrawal.py), the owner then takes nothing out.
                    assert report.outcome == "failed", report.outcome
                    assert report.error is not None
                    assert "WithdrawalTooLarge" in report.error
                    assert sim.snapshot(()) == before
                    continue
                assert report.outcome == "succeeded", report.error
                refused = [o for o in report.outcomes if o.status is OrderStatus.REJECTED]
                assert not refused, [o.detail for o in refused]
                assert report.review is not None
                assert not report.review.denied, report.review.denied  # no check in the way
                after = sim.snapshot(())
                assert after.cash >= 0
                assert all(p.qty >= 0 for p in after.positions)
                need = case.cash_buffer + day.withdrawal
                # Covered with room for the sales' costs (a few percent at most here).
                if day.withdrawal and value > need * D("1.1") + 100:
                    assert after.cash >= need, (after.cash, need, report.plan.notes)
                taken = min(day.withdrawal, after.cash)
                if taken > 0:  # the owner takes the money out, as the payout would
                    sim.withdraw(taken)
        finally:
            app.close()


@pytest.mark.timeout(1200)  # the nightly profile: 400 examples of a few cycles each
@given(case=cases())
@settings(max_examples=scaled(40))
@example(  # the sim with costs: fractional sales raising 5,000 were 15.33 short before
    case=Case(
        slippage_bps=5, per_order=D("4.95"), per_share=D("0.005"), hold=D(0), fractional=True,
        cash_buffer=D(0), days=(Day(D("265.00"), D("69.30"), D(5000)),),
    )
)  # fmt: skip
@example(  # nightly: three cycles on one day hit the daily turnover limit (a test flaw:
    case=Case(  # the cycles now run a session apart, and a refused check fails loudly)
        slippage_bps=0, per_order=D(0), per_share=D(0), hold=D(0), fractional=False,
        cash_buffer=D(0),
        days=(Day(D("250.00"), D("70.00"), D(30000)), Day(D("250.00"), D("70.00"), D(30000)),
              Day(D("250.00"), D("70.00"), D(500))),
    )
)  # fmt: skip
@example(  # nightly: VTI's sale, washed, was left out of the raise while BND covered the
    case=Case(  # withdrawal at the quote; the cost rounds then kept it out and left 257.42 short
        slippage_bps=100, per_order=D(0), per_share=D(0), hold=D("0.04"), fractional=True,
        cash_buffer=D(0),
        days=(Day(D("250.00"), D("52.50"), D(0)), Day(D("250.00"), D("53.02"), D(5000)),
              Day(D("250.00"), D("63.09"), D(30000))),
    )
)  # fmt: skip
@example(  # falling prices under $30,000 withdrawals: the third is more than the account holds
    case=Case(
        slippage_bps=0, per_order=D(0), per_share=D(0), hold=D(0), fractional=True,
        cash_buffer=D(0),
        days=(Day(D("187.50"), D("52.50"), D(30000)), Day(D("140.63"), D("39.38"), D(30000)),
              Day(D("105.47"), D("29.53"), D(30000))),
    )
)  # fmt: skip
def test_cycles_never_refuse_overdraw_or_leave_a_withdrawal_short(case: Case) -> None:
    _check(case)
