"""Pending fills and the tax ledger, through whole cycles on the fake Alpaca: while Alpaca has
not listed the fills of trimtab's orders (its activities lag), the account keeps trading, and
the ledger's lots lack those fills. They are compared with the broker's positions less the
pending shares, as the book is: no lot mismatch is audited or alerted, and no fix tells the
owner to import lots or record a split (which would double the lots once the fills are
listed). The tax step plans a pending symbol's sell without trusting its lots, saying why."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from daemon.audit.events import LotsMismatched, TaxDecisions
from daemon.core.domain import TradingState
from daemon.core.tax.plan_types import TaxAction
from daemon.monitor.alerting import check_alerts
from daemon.monitor.notify import Message
from daemon.store.audit_log import AuditLog
from tests.integration import test_reconcile_fill_lag as fill_lag
from tests.integration.test_reconcile_fill_lag import Cycle

D = Decimal
make_cycle = fill_lag.make_cycle
"""The fill-lag tests' fixture: whole cycles on the fake Alpaca, its fills listed late."""


def lot_mismatches(cycle: Cycle) -> list[LotsMismatched]:
    with cycle.app.database.transaction() as session:
        records = AuditLog(session).records(kinds=["ledger_mismatch"])
    found = [r.event for r in records]
    assert all(isinstance(e, LotsMismatched) for e in found)
    return [e for e in found if isinstance(e, LotsMismatched)]


def tax_decisions(cycle: Cycle) -> list[TaxDecisions]:
    with cycle.app.database.transaction() as session:
        records = AuditLog(session).records(kinds=["tax_decision"])
    return [r.event for r in records if isinstance(r.event, TaxDecisions)]


def alerts(cycle: Cycle) -> list[Message]:
    sent: list[Message] = []
    check_alerts(
        database=cycle.app.database,
        settings=cycle.app.settings,
        account="main",
        clock=cycle.state.now,
        notify=sent.append,
    )
    return sent


def test_pending_fills_are_no_lot_mismatch(make_cycle: Callable[[], Cycle]) -> None:
    cycle = make_cycle()
    first = cycle.run()
    assert first.outcome == "succeeded", first.error
    second = cycle.run(force=True)  # the fills are still not listed: pending
    assert second.outcome == "succeeded", second.error
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason

    assert lot_mismatches(cycle) == []
    assert not [m for m in alerts(cycle) if "tax lots" in m.title]

    cycle.broker.listing = True  # the fills are listed: the lots are recorded, once
    third = cycle.run(force=True)
    assert third.outcome == "succeeded", third.error
    assert lot_mismatches(cycle) == []
    assert cycle.book() == cycle.broker_positions() == {"VTI": D(240), "BND": D(551)}


def test_a_sell_of_a_symbol_with_pending_fills_says_so(make_cycle: Callable[[], Cycle]) -> None:
    cycle = make_cycle()
    first = cycle.run()
    assert first.outcome == "succeeded", first.error
    with cycle.state.lock:  # VTI runs up 24%, out of its band: the next cycle sells some
        cycle.state.prices["VTI"] = D(310)
    second = cycle.run(force=True)
    assert second.outcome == "succeeded", second.error
    assert [(o.intent.symbol, str(o.intent.side)) for o in second.outcomes][:1] == [("VTI", "sell")]

    [decisions] = tax_decisions(cycle)
    [vti] = [d for d in decisions.decisions if d.symbol == "VTI"]
    assert vti.action is TaxAction.UNKNOWN_BASIS
    assert "fills pending" in vti.reason
    assert "tax import" not in vti.reason
    assert "tax split" not in vti.reason
    assert lot_mismatches(cycle) == []
    assert not [m for m in alerts(cycle) if "tax lots" in m.title]


def test_a_lot_difference_beside_pending_fills_leaves_them_out(
    make_cycle: Callable[[], Cycle],
) -> None:
    cycle = make_cycle()
    cycle.add_shares("VTI", D(10))  # held before trimtab: no lots were imported for them
    first = cycle.run()
    assert first.outcome == "succeeded", first.error
    second = cycle.run(force=True)
    assert second.outcome == "succeeded", second.error

    *_, latest = lot_mismatches(cycle)
    [vti] = latest.mismatches
    held = cycle.broker_positions()["VTI"]
    assert held > D(10)  # the cycle bought more, its fills still pending
    # The lots lack the 10 shares held before trimtab, not the pending ones.
    assert (vti.symbol, vti.ledger, vti.broker) == ("VTI", D(0), D(10))
    assert "lacks 10 sh" in vti.fix

    # The alert built from that record names the broker's real position and the pending
    # shares apart, never the compared figure as if the broker held it.
    [alert] = [m for m in alerts(cycle) if "tax lots of VTI" in m.title]
    assert f"the broker {held.normalize():f}, of which" in alert.body
    assert "fills not listed yet" in alert.body
    assert "the broker 10," not in alert.body
    assert "lacks 10 sh" in alert.body
