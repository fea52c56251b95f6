"""One `decide` call on a hand-written account "a": its holdings, cash, quotes and trades.

The tests of the risk limits against the account's value, of the gains budget with sales
that raise cash, and of validate's counts with a holding set aside build their cases here."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817
from typing import Any

from daemon.core.decide import CycleState, Decision, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote
from daemon.core.planner import Band, PlanningPolicy
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax import TaxPolicy, Trade
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings

POLICY = PlanningPolicy(
    default_band=Band(absolute_pp=D(5)), min_trade_notional=D(1), share_increment=D("0.001")
)


def decide_account(
    *,
    today: date,
    held: Mapping[str, int | D],
    prices: Mapping[str, int | D],
    targets: Mapping[str, str],
    universe: Collection[str] | None = None,
    cash: int | D = 0,
    reserved_cash: int | D = 0,
    trades: Iterable[Trade] = (),
    tax: Mapping[str, Any] | None = None,
    account_type: AccountType = AccountType.TAXABLE,
    limits: RiskConfig | None = None,
    policy: PlanningPolicy = POLICY,
    withdrawal: int | D = 0,
    mode: Mode = Mode.PAPER,
) -> Decision:
    """Decide account "a" at 19:00 UTC on `today`, its quotes a minute old."""
    book = replay_trades(list(trades), TaxPolicy(methods={}, identical=SubstantiallyIdentical()))
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=19)
    snapshot = AccountSnapshot(
        account="a",
        as_of=now,
        cash=D(cash),
        reserved_cash=D(reserved_cash),
        positions=tuple(Position(s, D(q)) for s, q in held.items() if D(q) > 0),
        quotes={s: Quote(s, D(p), now - timedelta(minutes=1), "test") for s, p in prices.items()},
    )
    return decide(
        DecisionInput(
            account="a",
            account_type=account_type,
            strategy="static",
            targets={s: D(w) for s, w in targets.items()},
            universe=frozenset(targets if universe is None else universe),
            snapshot=snapshot,
            planning=policy,
            terms=OrderTerms(),
            limits=limits or RiskConfig(),
            state=CycleState(),
            tax=TaxInputs(
                book=book,
                today=today,
                settings=TaxSettings.model_validate(dict(tax or {})),
                identical=SubstantiallyIdentical(),
            ),
            now=now,
            max_quote_age=timedelta(hours=96),
            mode=mode,
            submit=True,
            withdrawal=D(withdrawal),
        )
    )
