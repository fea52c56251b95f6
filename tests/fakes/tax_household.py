"""A household's trade history and a planner context over it, for the tax step's tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from daemon.core.domain import AccountType, Side
from daemon.core.planner import Plan, PlannedOrder
from daemon.core.tax import SubstantiallyIdentical, TaxPolicy, Trade
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.plan_types import TaxContext
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.tax_step import realized_this_year
from daemon.core.tax.types import LotMethod, SameDayReplacements

D = Decimal
TODAY = date(2026, 11, 24)


class Household:
    """Trades in the order added (ids t1, t2, ...), replayed on demand."""

    def __init__(
        self,
        groups: Sequence[Sequence[str]] = (),
        methods: Mapping[str, LotMethod] | None = None,
        same_day: SameDayReplacements = SameDayReplacements.COUNT,
    ) -> None:
        self.trades: list[Trade] = []
        self.types: dict[str, AccountType] = {}
        self.owners: dict[str, str] = {}
        self.identical = SubstantiallyIdentical.of(groups)
        self.methods = dict(methods or {})
        self.same_day = same_day

    def account(self, name: str, type: AccountType = AccountType.TAXABLE, owner: str = "") -> None:
        self.types[name] = type
        self.owners[name] = owner

    def trade(
        self, side: Side, account: str, symbol: str, on: date, qty: Any, amount: Any
    ) -> Trade:
        self.types.setdefault(account, AccountType.TAXABLE)
        trade = Trade(
            id=f"t{len(self.trades) + 1}",
            date=on,
            account=account,
            account_type=self.types[account],
            symbol=symbol,
            side=side,
            qty=D(str(qty)),
            amount=D(str(amount)),
            owner=self.owners.get(account, ""),
        )
        self.trades.append(trade)
        return trade

    def buy(self, account: str, symbol: str, on: date, qty: Any, amount: Any) -> Trade:
        return self.trade(Side.BUY, account, symbol, on, qty, amount)

    def sell(self, account: str, symbol: str, on: date, qty: Any, amount: Any) -> Trade:
        return self.trade(Side.SELL, account, symbol, on, qty, amount)

    def policy(self) -> TaxPolicy:
        return TaxPolicy(
            methods=self.methods, identical=self.identical, same_day_replacements=self.same_day
        )

    def book(self) -> TaxBook:
        return replay_trades(self.trades, self.policy())

    def context(
        self,
        account: str,
        prices: Mapping[str, Any],
        *,
        settings: TaxSettings | None = None,
        today: date = TODAY,
        min_trade: Any = 0,
        increments: Mapping[str, Any] | None = None,
    ) -> TaxContext:
        book = self.book()
        return TaxContext(
            account=account,
            account_type=self.types.get(account, AccountType.TAXABLE),
            today=today,
            settings=settings or TaxSettings(),
            identical=self.identical,
            book=book,
            loss_windows=book.loss_windows(today),
            purchase_windows=book.purchase_windows(today),
            realized=realized_this_year(book.sales, account, today.year),
            prices={s: D(str(p)) for s, p in prices.items()},
            increments={s: D(str(i)) for s, i in (increments or {}).items()},
            min_trade=D(str(min_trade)),
        )


def order(
    side: Side, symbol: str, qty: Any, price: Any, reason: str = "", *, raises: Any = 0
) -> PlannedOrder:
    """A planned order; `raises` of a sell's shares raise cash the owner asked for."""
    q, p = D(str(qty)), D(str(price))
    return PlannedOrder(symbol, side, q, p, q * p, reason or f"{side} {symbol}", D(str(raises)))


def plan_of(*orders: PlannedOrder, cash: Any = 0) -> Plan:
    cash_d = D(str(cash))
    flow = sum((o.notional if o.side is Side.SELL else -o.notional for o in orders), D(0))
    return Plan(
        orders=tuple(orders),
        drift=(),
        nav=D(0),
        cash_before=cash_d,
        cash_after=cash_d + flow,
        triggered=True,
        notes=(),
    )


def settings(**values: Any) -> TaxSettings:
    return TaxSettings.model_validate(values)
