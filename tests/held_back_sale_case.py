"""An account holding DDD, which the strategy dropped (a target of 0), whose sale is held back:
by the wash-sale guard (`loss_sales = "defer"`), by a short-term gains budget of 0, or by the
pre-trade checks (`max_order_notional`); traded forward by filling what each decision approves.

AAA (40%) and CCC (30%) sit at their targets, BBB (270 shares) at 27% of a 30% target, DDD
at about 3%: inside every band but DDD's. The tests of `daemon.core.decide`'s set-aside holdings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from typing import Any

from daemon.core.decide import CycleState, Decision, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote, Side
from daemon.core.planner import Band, PlanningPolicy
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax import TaxPolicy, Trade
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from tests.stand_in_case import trade

TARGETS = {"AAA": D("0.4"), "BBB": D("0.3"), "CCC": D("0.3")}
BANDS = Band(absolute_pp=D(5), relative=D("0.25"))
FIRST = date(2022, 9, 1)
"""The first day planned: DDD was dropped before it."""
BOUGHT_AGAIN = FIRST - timedelta(days=10)
"""The wash case's last purchase of DDD: its sale at a loss is washed through 30 days on."""
WASH_OVER = BOUGHT_AGAIN + timedelta(days=31)
"""The first day the wash case's DDD can be sold."""
LONG_TERM = date(2023, 3, 2)
"""The first day the budget case's DDD (bought 2022-03-01) is held over a year: no short-term
gain, so the budget of 0 lets its sale go ahead."""
MAX_ORDER = D(2000)
"""The refused case's `max_order_notional`: under DDD's value, over any day's other trades."""
KINDS = ("wash", "budget", "refused")


def prices(day: int, ddd: D) -> dict[str, D]:
    """AAA and CCC moving a little each day (inside their bands, opposite ways), BBB still."""
    move = D("0.004") * (day % 5 - 2)
    return {"AAA": D(100) * (1 + move), "BBB": D(100), "CCC": D(100) * (1 - move), "DDD": ddd}


class HeldBackSaleAccount:
    """The account, traded forward: what each decision approved is filled."""

    def __init__(self, kind: str, bbb: D = D(270)) -> None:
        self.kind = kind
        self.trades: list[Trade] = []
        self.held: dict[str, D] = {}
        self.cash = D(0)
        start = date(2021, 1, 4)
        for symbol, qty in (("AAA", D(400)), ("BBB", bbb), ("CCC", D(300))):
            self._fill(start, symbol, Side.BUY, qty, D(100))
        self.tax: dict[str, Any] = {"wash_sale": {"loss_sales": "defer"}}
        if kind == "wash":
            # Bought at $110 and again 10 days ago: sold at $100, the loss is washed.
            self._fill(start, "DDD", Side.BUY, D(20), D(110))
            self._fill(BOUGHT_AGAIN, "DDD", Side.BUY, D(10), D(105))
        else:
            # Bought 2022-03-01 at $80: sold at $100, a short-term gain.
            self._fill(date(2022, 3, 1), "DDD", Side.BUY, D(30), D(80))
            if kind == "budget":
                self.tax |= {"gains_budget": {"short_term": "0"}}
        self.cash = D(0)

    def _fill(self, day: date, symbol: str, side: Side, qty: D, price: D) -> None:
        self.trades.append(trade(len(self.trades) + 1, day, symbol, side, qty, price))
        sign = 1 if side is Side.BUY else -1
        self.held[symbol] = self.held.get(symbol, D(0)) + sign * qty
        self.cash -= sign * qty * price

    def decide(
        self,
        today: date,
        quotes: dict[str, D],
        rebalance_to: str,
        state: CycleState = CycleState(),  # noqa: B008 (frozen)
    ) -> Decision:
        book = replay_trades(self.trades, TaxPolicy(methods={}, identical=SubstantiallyIdentical()))
        now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=19)
        snap = AccountSnapshot(
            account="a",
            as_of=now,
            cash=self.cash,
            positions=tuple(Position(s, q) for s, q in self.held.items() if q > 0),
            quotes={s: Quote(s, p, now - timedelta(minutes=1), "test") for s, p in quotes.items()},
        )
        limits = RiskConfig(max_order_notional=MAX_ORDER if self.kind == "refused" else None)
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
                limits=limits,
                state=state,
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
            )
        )

    def fill(self, today: date, decision: Decision) -> None:
        for order in decision.approved:
            self._fill(today, order.symbol, order.side, order.qty, order.price)
