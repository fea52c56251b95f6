"""Deposits and withdrawals: recorded once each, so returns can leave them out.

A flow is recorded only when someone who knows says it happened: the broker (an adapter that
offers `CashFlowReporter`), or the operator (`trimtab flows add`). A change in cash that
nobody reported is never guessed to be a flow; dividends, interest and fees are not flows
(they are part of the return).
"""

from __future__ import annotations

__all__ = [
    "flow_amounts",
    "flows_between",
    "record_flow",
    "sync_flows",
]

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.base import CashFlowReporter
from daemon.core.calendar import trading_day
from daemon.core.movements import CashFlow, FlowKind
from daemon.store.db import Database
from daemon.store.performance_models import CashFlowRow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RESYNC_OVERLAP = timedelta(days=7)
"""Flows are read again this far back from the newest one recorded: a flow the broker reports
late, with an earlier time, is still found, and external ids keep it from counting twice."""


def record_flow(session: Session, flow: CashFlow, *, exchange: str, now: datetime) -> bool:
    """Store `flow` unless its (account, source, external id) is stored; return if it was new."""
    existing = session.execute(
        select(CashFlowRow.id).where(
            CashFlowRow.account == flow.account,
            CashFlowRow.source == flow.source,
            CashFlowRow.external_id == flow.external_id,
        )
    ).scalar_one_or_none()
    if existing is not None:
        return False
    session.add(
        CashFlowRow(
            account=flow.account,
            at=flow.at,
            trading_day=trading_day(flow.at, exchange),
            amount=flow.amount,
            kind=str(flow.kind),
            source=flow.source,
            external_id=flow.external_id,
            note=flow.note,
            recorded_at=now,
        )
    )
    session.flush()
    return True


def flows_between(
    session: Session,
    account: str,
    *,
    after: datetime | None = None,
    upto: datetime | None = None,
) -> list[CashFlow]:
    """Return the account's flows with `after < at <= upto`, oldest first."""
    query = select(CashFlowRow).where(CashFlowRow.account == account)
    if after is not None:
        query = query.where(CashFlowRow.at > after)
    if upto is not None:
        query = query.where(CashFlowRow.at <= upto)
    rows = session.execute(query.order_by(CashFlowRow.at, CashFlowRow.id)).scalars()
    return [_flow(row) for row in rows]


def flow_amounts(
    session: Session, accounts: Sequence[str], *, first: date, last: date
) -> list[tuple[date, Decimal]]:
    """Return (trading day, amount) of the accounts' flows on trading days first..last."""
    rows = session.execute(
        select(CashFlowRow.trading_day, CashFlowRow.amount).where(
            CashFlowRow.account.in_(accounts),
            CashFlowRow.trading_day >= first,
            CashFlowRow.trading_day <= last,
        )
    )
    return [(day, amount) for day, amount in rows]


def sync_flows(
    *,
    database: Database,
    broker: Any,
    account: str,
    exchange: str,
    clock: Callable[[], datetime],
) -> list[CashFlow]:
    """Record the flows the broker reports that are not recorded yet; return the new ones.

    Does nothing for a broker that does not report flows. Broker errors propagate.
    """
    if not isinstance(broker, CashFlowReporter):
        return []
    with database.transaction() as session:
        newest = session.execute(
            select(func.max(CashFlowRow.at)).where(
                CashFlowRow.account == account, CashFlowRow.source != "manual"
            )
        ).scalar_one_or_none()
    since = EPOCH if newest is None else newest - RESYNC_OVERLAP
    reported = broker.cash_flows(since)
    new: list[CashFlow] = []
    with database.transaction() as session:
        now = clock()
        for flow in reported:
            if flow.account != account:
                raise ValueError(
                    f"the broker of {account} reported a flow of account {flow.account}"
                )
            if record_flow(session, flow, exchange=exchange, now=now):
                new.append(flow)
    return new


def _flow(row: CashFlowRow) -> CashFlow:
    return CashFlow(
        account=row.account,
        at=row.at,
        amount=row.amount,
        kind=FlowKind(row.kind),
        source=row.source,
        external_id=row.external_id,
        note=row.note,
    )
