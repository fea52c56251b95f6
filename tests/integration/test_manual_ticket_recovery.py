"""A manual account's ticket is UNKNOWN until a person confirms it: the broker's own answer,
not a lost one. Confirmed in part with its rest still open, the next cycle's reconciliation
finds it working, and leaves it so: a ticket stays open until confirmed. Only an order whose
submission's answer was lost (no broker answer at all) is cancelled there as one trimtab
never saw working (docs/operations.md, "Cancels")."""

from __future__ import annotations

from pathlib import Path

from daemon.core.domain import OrderStatus
from tests.integration.test_manual_broker import (
    audit_kinds,
    config,
    cycle,
    export,
    intents,
    open_tickets,
    run,
)


def test_a_ticket_confirmed_in_part_is_not_cancelled_at_recovery(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url)
    export(
        tmp_path / "exports", "Portfolio_Positions_1.csv", "10,000.00", {"VTI": ("10", "250.00")}
    )
    cycle(path, force=False)
    first = intents(path)
    [(bnd, qty)] = [(c, q) for c, (s, _side, q, _st) in first.items() if s == "BND"]
    code, out = run("manual", "confirm", "-c", str(path), "-a", "main", bnd,
                    "--qty", str(qty - 1), "--price", "69.95", "--rest", "open")  # fmt: skip
    assert code == 0, out

    out = cycle(path)

    assert intents(path)[bnd][3] is OrderStatus.PARTIALLY_FILLED
    assert bnd in {t["client_order_id"] for t in open_tickets(tmp_path)}
    results = [r for r in audit_kinds(path, "order_result") if r["client_order_id"] == bnd]
    assert results, out
    details = [str(r["detail"]) for r in results]
    assert not [d for d in details if "still working at recovery" in d], details
    assert not [d for d in details if "answer was lost" in d], details
    assert results[-1]["status"] == "partially_filled"
