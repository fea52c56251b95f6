"""A manual account's ticket whose cycle did not finish (the process was killed after it
wrote the ticket: the `cycles` row still says `running`) is never cancelled at recovery:
trimtab's cancel cannot reach a person (`adapters.base.UncancellableOrders`). Confirmed in
part with `--rest open`, it is working, and every later reconciliation leaves it open with
no "still working at recovery" record (docs/manual.md, docs/operations.md "Cancels")."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from daemon.bootstrap import open_app
from daemon.core.domain import OrderStatus
from daemon.store.models import CycleRow
from tests.integration.test_manual_broker import (
    audit_kinds,
    config,
    cycle,
    export,
    intents,
    open_tickets,
    run,
)


def test_a_ticket_of_a_cycle_that_did_not_finish_is_not_cancelled_at_recovery(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url)
    export(
        tmp_path / "exports", "Portfolio_Positions_1.csv", "10,000.00", {"VTI": ("10", "250.00")}
    )
    cycle(path, force=False)
    [(bnd, qty)] = [(c, q) for c, (s, _side, q, _st) in intents(path).items() if s == "BND"]
    # Killed after it wrote its tickets: its cycle's row still says running.
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            session.execute(update(CycleRow).values(outcome="running", finished_at=None))
    finally:
        app.close()
    code, out = run("manual", "confirm", "-c", str(path), "-a", "main", bnd,
                    "--qty", str(qty - 1), "--price", "69.95", "--rest", "open")  # fmt: skip
    assert code == 0, out

    cycle(path)
    cycle(path)

    assert intents(path)[bnd][3] is OrderStatus.PARTIALLY_FILLED
    assert bnd in {t["client_order_id"] for t in open_tickets(tmp_path)}
    results = [r for r in audit_kinds(path, "order_result") if r["client_order_id"] == bnd]
    details = [str(r["detail"]) for r in results]
    assert not [d for d in details if "still working at recovery" in d], details
    assert not [d for d in details if "cancel" in d], details
    assert results[-1]["status"] == "partially_filled"
