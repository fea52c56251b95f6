"""A small trade-list builder for the tax engine's tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from daemon.core.domain import AccountType, Side
from daemon.core.tax import LotPick, TaxBook, TaxPolicy, Trade, replay_trades


class Trades:
    """Trades in the order added, with ids b1, s1, b2, ... unless named."""

    def __init__(self) -> None:
        self.items: list[Trade] = []

    def buy(
        self,
        on: str,
        qty: int | str,
        amount: int | str,
        *,
        account: str = "brokerage",
        account_type: AccountType = AccountType.TAXABLE,
        symbol: str = "X",
        owner: str = "",
        order_id: str = "",
        id: str | None = None,
    ) -> Trade:
        return self._add(
            Side.BUY, on, qty, amount, account, account_type, symbol, owner, order_id, id, ()
        )

    def sell(
        self,
        on: str,
        qty: int | str,
        amount: int | str,
        *,
        account: str = "brokerage",
        account_type: AccountType = AccountType.TAXABLE,
        symbol: str = "X",
        lots: Sequence[str | tuple[str, int]] = (),
        id: str | None = None,
    ) -> Trade:
        picks = tuple(
            LotPick(p) if isinstance(p, str) else LotPick(p[0], Decimal(p[1])) for p in lots
        )
        return self._add(
            Side.SELL, on, qty, amount, account, account_type, symbol, "", "", id, picks
        )

    def book(self, **policy: Any) -> TaxBook:
        return replay_trades(self.items, TaxPolicy(**policy))

    def _add(
        self,
        side: Side,
        on: str,
        qty: int | str,
        amount: int | str,
        account: str,
        account_type: AccountType,
        symbol: str,
        owner: str,
        order_id: str,
        id: str | None,
        lots: tuple[LotPick, ...],
    ) -> Trade:
        number = sum(1 for t in self.items if t.side is side) + 1
        trade = Trade(
            id=id or f"{side.value[0]}{number}",
            date=date.fromisoformat(on),
            account=account,
            account_type=account_type,
            symbol=symbol,
            side=side,
            qty=Decimal(qty),
            amount=Decimal(amount),
            lots=lots,
            owner=owner,
            order_id=order_id,
        )
        self.items.append(trade)
        return trade


@pytest.fixture
def trades() -> Trades:
    return Trades()
