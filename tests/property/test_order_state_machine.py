"""A hypothesis state machine: one order at a broker, its reports delivered to trimtab late,
twice and out of order, folded into a stored intent through `IntentStore.apply`."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from daemon.core.domain import (
    BrokerOrder,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
    check_transition,
    merge_report,
)
from daemon.core.errors import InvalidTransition
from daemon.store.intents import IntentStore
from daemon.store.models import CycleRow
from tests.hypothesis_profiles import scaled
from tests.migrated_copy import migrated_sqlite

S = OrderStatus
T0 = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
QTY = Decimal(10)


class OrderReports(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        state = Path(self.tmp.name)
        self.db = migrated_sqlite(state / "t.db", state)
        self.intent = OrderIntent(
            client_order_id="tt-0000000000000000-001",
            cycle_id="c",
            account="a",
            seq=1,
            symbol="VTI",
            side=Side.BUY,
            qty=QTY,
            order_type=OrderType.MARKET,
            reason="r",
        )
        with self.db.transaction() as session:
            session.add(
                CycleRow(
                    cycle_id="c",
                    account="a",
                    trading_day=T0.date(),
                    slot="s",
                    mode="paper",
                    started_at=T0,
                    outcome="running",
                )
            )
            session.flush()
            store = IntentStore(session)
            store.add(self.intent, T0)
            store.move(self.intent.client_order_id, S.SUBMITTING, T0)
        # The broker's true order and every report it has made so far.
        self.truth: tuple[OrderStatus, Decimal] = (S.ACCEPTED, Decimal(0))
        self.reports: list[tuple[OrderStatus, Decimal]] = [self.truth]
        self.delivered_fill = Decimal(0)

    def teardown(self) -> None:
        self.db.close()
        self.tmp.cleanup()

    def _report(self, status: OrderStatus, filled: Decimal) -> None:
        self.truth = (status, filled)
        self.reports.append(self.truth)

    @precondition(lambda self: self.truth[0] in (S.ACCEPTED, S.PARTIALLY_FILLED))
    @rule(step=st.integers(min_value=1, max_value=10))
    def broker_fills(self, step: int) -> None:
        filled = min(QTY, self.truth[1] + step)
        self._report(S.FILLED if filled == QTY else S.PARTIALLY_FILLED, filled)

    @precondition(lambda self: self.truth[0] in (S.ACCEPTED, S.PARTIALLY_FILLED))
    @rule(ending=st.sampled_from([S.CANCELLED, S.EXPIRED]))
    def broker_ends_it(self, ending: OrderStatus) -> None:
        self._report(ending, self.truth[1])

    @precondition(lambda self: self.truth[0] in (S.CANCELLED, S.EXPIRED) and self.truth[1] < QTY)
    @rule()
    def a_late_fill_after_the_cancel(self) -> None:
        # As brokers report it: still cancelled (or expired), with more filled; or filled.
        filled = self.truth[1] + 1
        self._report(S.FILLED if filled == QTY else self.truth[0], filled)

    @rule(data=st.data())
    def deliver_any_report(self, data: st.DataObject) -> None:
        """A report reaches trimtab: the newest, an old one again, or one out of order."""
        status, filled = data.draw(st.sampled_from(self.reports))
        self._deliver(status, filled)

    @rule()
    def deliver_the_newest(self) -> None:
        self._deliver(*self.truth)

    def _deliver(self, status: OrderStatus, filled: Decimal) -> None:
        order = BrokerOrder(
            client_order_id=self.intent.client_order_id,
            broker_order_id="b-1",
            symbol="VTI",
            side=Side.BUY,
            qty=QTY,
            order_type=OrderType.MARKET,
            status=status,
            filled_qty=filled,
            avg_fill_price=Decimal(250) if filled else None,
        )
        with self.db.transaction() as session:
            IntentStore(session).apply(self.intent.client_order_id, order, T0)
        self.delivered_fill = max(self.delivered_fill, filled)

    def stored(self) -> tuple[OrderStatus, Decimal]:
        with self.db.transaction() as session:
            stored = IntentStore(session).get(self.intent.client_order_id)
        return stored.status, stored.filled_qty

    @invariant()
    def never_loses_a_fill_and_never_runs_ahead(self) -> None:
        status, filled = self.stored()
        assert filled == self.delivered_fill
        assert filled <= self.truth[1]
        if status is S.FILLED:
            assert filled == QTY

    @invariant()
    def the_newest_report_wins(self) -> None:
        status, filled = self.stored()
        if filled == self.truth[1] and self.truth[0] in (S.FILLED,):
            assert status is S.FILLED


TestOrderReports = OrderReports.TestCase
TestOrderReports.settings = settings(max_examples=scaled(60), stateful_step_count=25, deadline=None)


@settings(max_examples=scaled(100), deadline=None)
@given(
    reported=st.sampled_from([s for s in OrderStatus if s not in (S.PLANNED, S.NEVER_REACHED)]),
    filled=st.integers(min_value=0, max_value=10),
    before=st.sampled_from([S.SUBMITTING, S.UNKNOWN]),
)
def test_never_reached_is_final_whatever_the_broker_reports_later(
    reported: OrderStatus, filled: int, before: OrderStatus
) -> None:
    """Only SUBMITTING and UNKNOWN lead to NEVER_REACHED, and no report leads out of it:
    a later report is stale (ignored) or contradicts the broker's rule (refused), never
    folded in silently."""
    check_transition(before, S.NEVER_REACHED)
    try:
        merged = merge_report(S.NEVER_REACHED, Decimal(0), reported, Decimal(filled))
    except InvalidTransition:
        return
    assert merged is None
    for other in OrderStatus:
        if other not in (S.SUBMITTING, S.UNKNOWN, S.NEVER_REACHED):
            with pytest.raises(InvalidTransition):
                check_transition(other, S.NEVER_REACHED)
