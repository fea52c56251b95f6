"""Unresolved orders end to end: `trimtab run --once` with a submission the broker dropped,
the next run trading the symbol again, and `trimtab orders unresolved` / `orders settle`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app as trimtab
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.store.audit_log import AuditLog
from daemon.store.intents import IntentStore, client_order_id
from daemon.store.models import CycleRow


def config(tmp_path: Path, database_url: str, name: str, faults: str = "") -> Path:
    path = tmp_path / name
    path.write_text(
        f"""
mode = "paper"
database_url = "{database_url}"
state_dir = "{tmp_path / "state"}"
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.broker_settings]
starting_cash = "20000"
fractional = false
[accounts.main.broker_settings.prices]
seed = 3
base_prices = {{ VTI = "250", BND = "70" }}
{faults}
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.policy]
min_trade_notional = "50"
outside_hours = true
"""
    )
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(trimtab, list(args))
    return result.exit_code, result.output


DROP_FIRST = "[accounts.main.broker_settings.faults]\ndrop_submissions = 1\n"
"""The first order of the run is lost before the sim takes it (a 504, a dropped connection)."""


def statuses(path: Path) -> dict[str, tuple[str, OrderStatus]]:
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            rows = IntentStore(session).created_between(
                ["main"],
                since=app.clock().replace(year=2000),
                until=app.clock().replace(year=2100),
            )
        return {s.intent.client_order_id: (s.intent.symbol, s.status) for s in rows}
    finally:
        app.close()


def test_a_dropped_submission_never_reached_and_the_next_run_trades_the_symbol(
    tmp_path: Path, database_url: str
) -> None:
    faulty = config(tmp_path, database_url, "faulty.toml", DROP_FIRST)
    clean = config(tmp_path, database_url, "clean.toml")

    code, out = run("run", "--once", "-c", str(faulty))

    # The sim's "not found" is final at once: resolved by the post-trade reconciliation.
    assert code == 0, out
    assert "never reached the broker" in out
    first = statuses(clean)
    lost = [c for c, (_s, status) in first.items() if status is OrderStatus.NEVER_REACHED]
    assert len(lost) == 1
    symbol = first[lost[0]][0]

    code, out = run("run", "--once", "--force", "-c", str(clean))

    assert code == 0, out
    after = statuses(clean)
    traded = [
        status
        for coid, (s, status) in after.items()
        if s == symbol and coid not in first and status is OrderStatus.FILLED
    ]
    assert len(traded) == 1, after
    app = open_app(clean)
    try:
        sim = app.broker("main")
        orders = sim.state()["recent_orders"]  # type: ignore[attr-defined]
        ids = [o["client_order_id"] for o in orders]
        assert lost[0] not in ids
        assert len(ids) == len(set(ids))
        with app.database.transaction() as session:
            kinds = [r.kind for r in AuditLog(session).records(kinds=["order_settled"])]
        assert kinds == ["order_settled"]
    finally:
        app.close()


def _leave_unknown(path: Path) -> str:
    """Record an intent UNKNOWN in account main, as a lost answer at a rule-less broker does."""
    app = open_app(path)
    try:
        now = app.clock()
        cycle_id = f"main:{now.date()}:lost"
        coid = client_order_id(cycle_id, 1, "0" * 32)
        intent = OrderIntent(
            client_order_id=coid, cycle_id=cycle_id, account="main",
            seq=1, symbol="VTI", side=Side.BUY, qty=Decimal(4),
            order_type=OrderType.MARKET, reason="a lost one",
        )  # fmt: skip
        with app.database.transaction() as session:
            session.add(
                CycleRow(cycle_id=cycle_id, account="main", trading_day=now.date(), slot="lost",
                         mode="paper", started_at=now, outcome="failed")
            )  # fmt: skip
            session.flush()
            store = IntentStore(session)
            store.add(intent, now)
            store.move(intent.client_order_id, OrderStatus.SUBMITTING, now)
            store.move(intent.client_order_id, OrderStatus.UNKNOWN, now, detail="HTTP 504")
        return intent.client_order_id
    finally:
        app.close()


def test_unresolved_lists_and_settle_refuses_then_settles_by_hand(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url, "trimtab.toml")
    assert run("orders", "unresolved", "-c", str(path)) == (0, "no unresolved orders\n")
    coid = _leave_unknown(path)

    code, out = run("orders", "unresolved", "-c", str(path), "--json")
    assert code == 1
    [row] = json.loads(out)
    assert (row["client_order_id"], row["status"]) == (coid, "unknown")
    assert row["final_if_not_found_after"] is not None  # the sim's rule: final at once

    code, out = run("orders", "settle", coid, "--as", "filled", "--reason", "x", "-c", str(path))
    assert code == 1
    assert "--as filled needs --qty and --price" in out
    code, out = run("orders", "settle", coid, "--as", "cancelled", "--reason", " ", "-c", str(path))
    assert code == 1
    assert "needs --reason" in out

    code, out = run(
        "orders", "settle", coid, "--as", "never-reached", "--reason",
        "no such order in the broker's order history", "-c", str(path),
    )  # fmt: skip
    assert code == 0, out
    assert "settled as never_reached" in out
    assert statuses(path)[coid] == ("VTI", OrderStatus.NEVER_REACHED)
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            [record] = AuditLog(session).records(kinds=["order_settled"])
        payload = record.payload
        assert (payload["actor"], payload["from"], payload["to"]) == (
            "operator", "unknown", "never_reached",
        )  # fmt: skip
        assert payload["looked_up"] is True
    finally:
        app.close()
    code, out = run("orders", "settle", coid, "--as", "cancelled", "--reason", "x", "-c", str(path))
    assert code == 1
    assert "already never_reached" in out


def test_settle_adopts_the_brokers_report_when_it_has_the_order(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url, "trimtab.toml")
    coid = _leave_unknown(path)
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            intent = IntentStore(session).get(coid).intent
        app.broker("main").submit(intent)  # it did reach the broker after all
    finally:
        app.close()

    code, out = run(
        "orders", "settle", coid, "--as", "never-reached", "--reason", "looked", "-c", str(path)
    )

    assert code == 1, out
    assert "the broker has this order (filled)" in out
    assert statuses(path)[coid] == ("VTI", OrderStatus.FILLED)


def test_run_once_exits_1_naming_orders_left_unresolved(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, database_url, "trimtab.toml")
    coid = _leave_unknown(path)
    # The sim always finalises "not found"; a broker without the rule leaves it unknown.
    from adapters.sim.broker import SimBroker

    monkeypatch.delattr(SimBroker, "absence_rule")

    code, out = run("run", "--once", "-c", str(path))

    assert code == 1, out
    assert "1 order(s) unresolved" in out
    assert coid in out
    assert "trimtab orders settle" in out
