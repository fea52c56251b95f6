"""An account whose alternate BBX is held after BBB's loss window, its sale held back by the
tax step (the tests of `stand_in_targets`' `held_back`): the shared case's harvest
(`tests.stand_in_case`) in a three-holding account, traded forward by filling what each
decision approves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from typing import Any

from daemon.core.decide import CycleState, Decision, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote, Side
from daemon.core.planner import PlanningPolicy
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax import TaxPolicy, Trade
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from tests.stand_in_case import BANDS, HARVESTED, TAX, trade

TARGETS = {"AAA": D("0.4"), "BBB": D("0.3"), "CCC": D("0.3")}
BOUGHT = D("606.196")
"""BBX bought with the proceeds of the 300 BBB sold at $94.89 (at $46.96, as in the shared
case)."""
WINDOW_OVER = HARVESTED + timedelta(days=31)
"""2022-08-12: BBB's loss window (through 2022-08-11) is closed."""
REDIRECTED = HARVESTED + timedelta(days=20)
"""2022-08-01: a buy of BBB inside its window, redirected to 20 BBX at $50."""


class HeldBackAccount:
    """The shared case's account, traded forward: what each decision approved is filled."""

    def __init__(self, *, wash: bool, budget: bool) -> None:
        self.trades: list[Trade] = [
            trade(1, date(2022, 1, 3), "AAA", Side.BUY, D(400), D(100)),
            trade(2, date(2022, 1, 3), "BBB", Side.BUY, D(300), D(100)),
            trade(3, date(2022, 1, 3), "CCC", Side.BUY, D(300), D(100)),
            trade(4, HARVESTED, "BBB", Side.SELL, D(300), D("94.89")),
            trade(5, HARVESTED, "BBX", Side.BUY, BOUGHT, D("46.96")),
        ]
        self.held = {"AAA": D(400), "CCC": D(300), "BBX": BOUGHT}
        self.cash = D(300) * D("94.89") - BOUGHT * D("46.96")
        self.tax: dict[str, Any] = dict(TAX)
        if wash:
            # BBX bought again inside BBB's window: selling BBX at a loss on it is a wash
            # sale until 30 days after that purchase, and `loss_sales = "defer"` holds it. A
            # $1,000 deposit paid for it.
            self.cash += D(1000)
            self._fill(REDIRECTED, "BBX", Side.BUY, D(20), D(50))
        if budget:
            # 60 DDD bought and sold at a $3,000 short-term gain before the harvest (its
            # cash long spent): with the harvest's $1,533 loss the year's short-term budget
            # of 0 is used up, so no BBX sold at a gain fits it.
            self.trades += [
                trade(6, date(2022, 1, 3), "DDD", Side.BUY, D(60), D(100)),
                trade(7, date(2022, 3, 1), "DDD", Side.SELL, D(60), D(150)),
            ]
            self.tax |= {"gains_budget": {"short_term": "0"}}

    def _fill(self, day: date, symbol: str, side: Side, qty: D, price: D) -> None:
        self.trades.append(trade(len(self.trades) + 1, day, symbol, side, qty, price))
        sign = 1 if side is Side.BUY else -1
        self.held[symbol] = self.held.get(symbol, D(0)) + sign * qty
        self.cash -= sign * qty * price

    def decide(
        self, today: date, prices: dict[str, D], rebalance_to: str, withdrawal: D = D(0)
    ) -> Decision:
        book = replay_trades(self.trades, TaxPolicy(methods={}, identical=SubstantiallyIdentical()))
        now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=19)
        snap = AccountSnapshot(
            account="a",
            as_of=now,
            cash=self.cash,
            positions=tuple(Position(s, q) for s, q in self.held.items() if q > 0),
            quotes={s: Quote(s, p, now - timedelta(minutes=1), "test") for s, p in prices.items()},
        )
        return decide(
            DecisionInput(
                account="a",
                account_type=AccountType.TAXABLE,
                strategy="static",
                targets=TARGETS,
                universe=frozenset(TARGETS),
                snapshot=snap,
                planning=PlanningPolicy(
                    default_band=BANDS,
                    rebalance_to=rebalance_to,  # type: ignore[arg-type]
                    min_trade_notional=D(1),
                    share_increment=D("0.001"),
                ),
                terms=OrderTerms(),
                limits=RiskConfig(),
                state=CycleState(),
                tax=TaxInputs(
                    book=book,
                    today=today,
                    settings=TaxSettings.model_validate(self.tax),
                    identical=SubstantiallyIdentical(),
                ),
                now=now,
                max_quote_age=timedelta(hours=96),
                mode=Mode.PAPER,
                submit=True,
                withdrawal=withdrawal,
                alternates=frozenset({"BBX"}),
            )
        )

    def fill(self, today: date, decision: Decision) -> None:
        for order in decision.approved:
            self._fill(today, order.symbol, order.side, order.qty, order.price)
