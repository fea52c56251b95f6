"""What trimtab agreed on with the broker: the book of positions and every fill it reported."""

from __future__ import annotations

__all__ = ["BookStore"]

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from daemon.core.domain import Fill, Side
from daemon.store.models import BookPositionRow, FillRow


class BookStore:
    """Book positions and recorded fills inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def positions(self, account: str) -> dict[str, Decimal]:
        """Return symbol -> quantity as last agreed with the broker."""
        rows = self._session.scalars(
            select(BookPositionRow).where(BookPositionRow.account == account)
        )
        return {row.symbol: row.qty for row in rows}

    def replace_positions(self, account: str, positions: Mapping[str, Decimal]) -> None:
        """Make `positions` the account's book."""
        self._session.execute(delete(BookPositionRow).where(BookPositionRow.account == account))
        self._session.flush()
        for symbol, qty in positions.items():
            self._session.add(BookPositionRow(account=account, symbol=symbol, qty=qty))

    def fill_ids(self, account: str) -> frozenset[str]:
        """Return the broker's ids of every fill recorded for the account."""
        return frozenset(
            self._session.scalars(select(FillRow.fill_id).where(FillRow.account == account))
        )

    def add_fills(
        self, account: str, fills: Sequence[Fill], *, ours: Collection[str], now: datetime
    ) -> None:
        """Record new fills; one whose order id is not in `ours` is marked external."""
        for fill in fills:
            self._session.add(
                FillRow(
                    account=account,
                    fill_id=fill.fill_id,
                    client_order_id=fill.client_order_id,
                    broker_order_id=fill.broker_order_id,
                    symbol=fill.symbol,
                    side=str(fill.side),
                    qty=fill.qty,
                    price=fill.price,
                    commission=fill.commission,
                    at=fill.at,
                    external=fill.client_order_id not in ours,
                    recorded_at=now,
                )
            )

    def fills_of_orders(self, client_order_ids: Collection[str]) -> list[Fill]:
        """Return the recorded fills of these orders, oldest first."""
        rows = self._session.scalars(
            select(FillRow)
            .where(FillRow.client_order_id.in_(list(client_order_ids)))
            .order_by(FillRow.at)
        )
        return [
            Fill(
                fill_id=row.fill_id,
                client_order_id=row.client_order_id,
                broker_order_id=row.broker_order_id,
                symbol=row.symbol,
                side=Side(row.side),
                qty=row.qty,
                price=row.price,
                at=row.at,
                commission=row.commission,
            )
            for row in rows
        ]
