"""`trimtab orders`: a day's order intents, by the exchange's calendar day, as a table or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli.orders_cmd import orders
from daemon.core.domain import BrokerOrder, OrderIntent, OrderStatus, OrderType, Side
from daemon.store.intents import IntentStore, client_order_id
from daemon.store.models import CycleRow

D = Decimal
NEW_YORK = ZoneInfo("America/New_York")
# 15:45 New York on Tuesday 2026-11-24; 22:00 New York is still the 24th there.
AFTERNOON = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
EVENING = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 11, 25, 5, 30, tzinfo=UTC)


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(orders)
    app.command("noop")(lambda: None)  # two commands, so `orders` is named as in trimtab
    return app


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli(), ["orders", *args])
    assert result.exit_code == code, result.output
    return result.stdout if "--json" in args else result.output


def add(
    config: Path,
    account: str,
    when: datetime,
    seq: int,
    symbol: str,
    status: OrderStatus,
    *,
    message: str = "",
) -> str:
    app = open_app(config)
    day = when.astimezone(NEW_YORK).date()
    cycle_id = f"{account}:{day}:manual"
    intent = OrderIntent(
        client_order_id=client_order_id(cycle_id, seq, "0" * 32),
        cycle_id=cycle_id,
        account=account,
        seq=seq,
        symbol=symbol,
        side=Side.SELL if seq == 1 else Side.BUY,
        qty=D(10),
        order_type=OrderType.MARKET,
        reason="test",
    )
    with app.database.transaction() as session:
        if session.get(CycleRow, cycle_id) is None:
            session.add(
                CycleRow(
                    cycle_id=cycle_id,
                    account=account,
                    trading_day=day,
                    slot="manual",
                    mode="paper",
                    started_at=when,
                    outcome="running",
                )
            )
            session.flush()
        store = IntentStore(session)
        store.add(intent, when)
        store.move(intent.client_order_id, OrderStatus.SUBMITTING, when)
        if status is not OrderStatus.SUBMITTING:
            filled = D(10) if status is OrderStatus.FILLED else D(0)
            answer = BrokerOrder(
                client_order_id=intent.client_order_id,
                broker_order_id=f"b-{seq}",
                symbol=symbol,
                side=intent.side,
                qty=D(10),
                order_type=OrderType.MARKET,
                status=status,
                filled_qty=filled,
                avg_fill_price=D("101.5") if filled else None,
                message=message,
            )
            store.apply(intent.client_order_id, answer, when)
    app.close()
    return intent.client_order_id


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "trimtab.toml"
    path.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
        '[accounts.ira.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    return path


def test_orders_of_a_day_by_the_exchange_calendar(config: Path) -> None:
    sold = add(config, "main", AFTERNOON, 1, "VTI", OrderStatus.FILLED)
    refused = add(
        config, "main", EVENING, 2, "BND", OrderStatus.REJECTED, message="insufficient cash [sim]"
    )
    other = add(config, "ira", AFTERNOON, 1, "BND", OrderStatus.SUBMITTING)
    add(config, "main", NEXT_DAY, 3, "VXUS", OrderStatus.FILLED)

    lines = json.loads(invoke("-c", str(config), "--date", "2026-11-24", "--json"))
    # Oldest first; at the same time, by cycle and place in the plan.
    assert [line["client_order_id"] for line in lines] == [other, sold, refused]
    first = lines[1]
    assert {
        k: first[k]
        for k in (
            "account",
            "symbol",
            "side",
            "qty",
            "status",
            "filled_qty",
            "avg_fill_price",
            "broker_order_id",
        )
    } == {
        "account": "main",
        "symbol": "VTI",
        "side": "sell",
        "qty": "10",
        "status": "filled",
        "filled_qty": "10",
        "avg_fill_price": "101.5",
        "broker_order_id": "b-1",
    }
    assert first["cycle_id"] == "main:2026-11-24:manual"
    assert lines[2]["message"] == "insufficient cash [sim]"

    only_main = json.loads(
        invoke("-c", str(config), "--date", "2026-11-24", "-a", "main", "--json")
    )
    assert [line["client_order_id"] for line in only_main] == [sold, refused]

    table = invoke("-c", str(config), "--date", "2026-11-24")
    assert "orders 2026-11-24 (America/New_York)" in table
    # Ids are never wrapped; a broker's message is shown as text, brackets and all.
    for text in (sold, refused, "insufficient", "[sim]", "$101.50", "15:45:00", "22:00:00"):
        assert text in table
    assert "1 order(s) unresolved" in table
    assert "VXUS" not in table


def test_an_empty_day_and_a_bad_date(config: Path) -> None:
    assert "no orders on 2026-01-02 for main" in invoke(
        "-c", str(config), "--date", "2026-01-02", "-a", "main"
    )
    assert json.loads(invoke("-c", str(config), "--date", "2026-01-02", "--json")) == []
    assert "not a date like" in invoke("-c", str(config), "--date", "24.11.2026", code=2)
