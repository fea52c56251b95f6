"""The manual broker on real files: which export is the account, tickets and confirmations."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import BrokerEnvironment, OrderAbsence
from adapters.manual.broker import ManualBroker
from adapters.manual.config import ManualSettings
from adapters.manual.parsing import ExportError
from adapters.manual.tickets import Confirm, TicketError
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.core.errors import DuplicateClientOrderId

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def write(folder: Path, name: str, rows: str, at: datetime) -> Path:
    path = folder / name
    path.write_text("symbol,quantity,price\nCASH,1000,1\n" + rows)
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def broker(tmp_path: Path, clock: Clock) -> ManualBroker:
    (tmp_path / "exports").mkdir()
    settings = ManualSettings.model_validate(
        {
            "environment": "live",
            "exports": str(tmp_path / "exports"),
            "preset": "custom",
            "columns": {"symbol": "symbol", "quantity": "quantity", "price": "price"},
            "cash_symbols": ["CASH"],
            "max_export_age_hours": 48,
        }
    )
    env = BrokerEnvironment(account="m", state_dir=tmp_path / "state", clock=clock)
    return ManualBroker(settings, env)


def intent(coid: str, side: Side, qty: str, *, notional: str | None = None) -> OrderIntent:
    return OrderIntent(
        client_order_id=coid,
        cycle_id="c",
        account="m",
        seq=1,
        symbol="VTI",
        side=side,
        qty=Decimal(qty),
        order_type=OrderType.MARKET,
        reason="test",
        reference_price=Decimal(100),
        notional=None if notional is None else Decimal(notional),
    )


def test_the_newest_export_is_the_account_and_a_stale_one_names_the_file_and_fix(
    broker: ManualBroker, clock: Clock
) -> None:
    folder = broker.settings.exports
    write(folder, "old.csv", "VTI,5,100\n", NOW - timedelta(hours=30))
    write(folder, "new.csv", "VTI,7,101\n", NOW - timedelta(hours=2))

    snapshot = broker.snapshot(())
    assert snapshot.qty("VTI") == 7
    assert snapshot.quotes["VTI"].as_of == NOW - timedelta(hours=2)  # the export's time
    assert snapshot.as_of == NOW - timedelta(hours=2)
    assert "new.csv" in snapshot.quotes["VTI"].source

    clock.now = NOW + timedelta(hours=47)
    with pytest.raises(ExportError) as caught:
        broker.snapshot(())
    message = str(caught.value)
    assert str(folder / "new.csv") in message
    assert "49.0 hours old" in message
    assert f"download a new positions export from the broker's website into {folder}" in message


def test_no_export_names_the_folder_and_the_fix(broker: ManualBroker) -> None:
    with pytest.raises(ExportError, match=r"no positions export matching '\*\.csv' in .*fix:"):
        broker.snapshot(())


def test_a_ticket_is_written_unknown_and_its_id_stays_taken(broker: ManualBroker) -> None:
    write(broker.settings.exports, "e.csv", "VTI,5,100\n", NOW)

    order = broker.submit(intent("tt-1", Side.SELL, "2"))

    assert order.status is OrderStatus.UNKNOWN  # never assumed done
    assert "trimtab manual confirm -a m tt-1" in order.message
    stored = json.loads((broker.tickets.root / "tickets" / "tt-1.json").read_text())
    assert (stored["symbol"], stored["side"], stored["qty"]) == ("VTI", "sell", "2")
    assert (
        "tt-1,2026-12-04T18:00:00+00:00,VTI,sell,2,,market,,100"
        in broker.tickets.open_csv.read_text()
    )
    with pytest.raises(DuplicateClientOrderId):
        broker.submit(intent("tt-1", Side.SELL, "2"))
    # A cancel cannot reach the person: the ticket stays open and says what to do.
    after = broker.cancel("tt-1")
    assert after.status is OrderStatus.UNKNOWN
    assert "--not-done" in after.message
    assert [o.client_order_id for o in broker.snapshot(()).open_orders] == ["tt-1"]
    # No ticket under an id is final at once: it was never written.
    assert isinstance(broker, OrderAbsence)
    assert broker.absence_rule().grace == timedelta(0)
    assert broker.get_order("tt-never") is None


def test_confirmed_fills_count_until_an_export_after_them_holds_them(
    broker: ManualBroker, clock: Clock
) -> None:
    folder = broker.settings.exports
    write(folder, "1.csv", "VTI,5,100\n", NOW - timedelta(hours=1))
    broker.submit(intent("tt-1", Side.SELL, "2"))
    clock.now = NOW + timedelta(minutes=5)
    done = broker.tickets.confirm("1", qty=Decimal(2), price=Decimal("101.5"), at=clock.now,
                                  now=clock.now)  # fmt: skip
    assert done.status is OrderStatus.FILLED

    snapshot = broker.snapshot(())
    assert (snapshot.qty("VTI"), snapshot.cash) == (3, Decimal(1000) + Decimal(203))
    assert snapshot.as_of == clock.now  # the newest fact in it: the confirmed fill
    [fill] = broker.fills(NOW)
    assert (fill.fill_id, fill.qty, fill.price, fill.side) == (
        "tt-1-c1",
        2,
        Decimal("101.5"),
        Side.SELL,
    )

    # The next export, downloaded after the trade, already holds it: not counted twice.
    write(folder, "2.csv", "VTI,3,101\n", NOW + timedelta(minutes=10))
    assert broker.snapshot(()).qty("VTI") == 3
    assert broker.snapshot(()).cash == 1000


def test_confirmations_that_do_not_fit_are_refused_whole(broker: ManualBroker) -> None:
    write(broker.settings.exports, "e.csv", "VTI,5,100\n", NOW)
    broker.submit(intent("tt-aa1", Side.SELL, "4"))
    broker.submit(intent("tt-ab1", Side.SELL, "1"))
    store = broker.tickets

    with pytest.raises(TicketError, match="more than the 4 shares left"):
        store.confirm("tt-aa1", qty=Decimal(5), price=Decimal(100), at=NOW, now=NOW)
    with pytest.raises(TicketError, match="names 2 tickets"):
        store.find("1")
    with pytest.raises(TicketError, match="no order ticket 'tt-zz'"):
        store.find("tt-zz")
    with pytest.raises(TicketError, match="in the future"):
        store.confirm(
            "aa1", qty=Decimal(1), price=Decimal(100), at=NOW + timedelta(hours=1), now=NOW
        )
    # A batch is all or nothing: the second line does not fit, so the first is not recorded.
    with pytest.raises(TicketError):
        store.confirm_all(
            [
                Confirm("aa1", Decimal(1), Decimal(100), NOW),
                Confirm("ab1", Decimal(2), Decimal(100), NOW),
            ],
            now=NOW,
        )
    assert store.find("aa1").fills == ()

    part = store.confirm("aa1", qty=Decimal(1), price=Decimal(100), at=NOW, now=NOW)
    assert part.status is OrderStatus.PARTIALLY_FILLED  # the rest may still be working
    closed = store.confirm(
        "aa1", qty=Decimal(1), price=Decimal(100), at=NOW, now=NOW, rest="cancelled"
    )
    assert (closed.status, closed.filled_qty) == (OrderStatus.CANCELLED, 2)
    with pytest.raises(TicketError, match="already cancelled"):
        store.close_not_done("aa1", "late")


def test_a_dollar_amount_ticket_is_done_with_its_confirmation(
    broker: ManualBroker, tmp_path: Path
) -> None:
    write(broker.settings.exports, "e.csv", "VTI,5,100\n", NOW)
    broker.submit(intent("tt-n", Side.BUY, "2.5", notional="250.00"))

    done = broker.tickets.confirm(
        "tt-n", qty=Decimal("2.49"), price=Decimal("100.40"), at=NOW, now=NOW
    )

    assert done.status is OrderStatus.FILLED
    assert broker.get_order("tt-n") == done.order()


def test_prices_of_symbols_not_held_come_from_the_prices_file_while_fresh(
    tmp_path: Path, clock: Clock
) -> None:
    (tmp_path / "exports").mkdir()
    prices = tmp_path / "prices.csv"
    prices.write_text('symbol,price\nBND,"$70.25"\n')
    os.utime(prices, (NOW.timestamp(), NOW.timestamp()))
    settings = ManualSettings.model_validate(
        {
            "environment": "live",
            "exports": str(tmp_path / "exports"),
            "preset": "custom",
            "columns": {"symbol": "symbol", "quantity": "quantity", "price": "price"},
            "cash_symbols": ["CASH"],
            "prices_file": str(prices),
        }
    )
    env = BrokerEnvironment(account="m", state_dir=tmp_path / "state", clock=clock)
    broker = ManualBroker(settings, env)
    write(settings.exports, "e.csv", "VTI,5,100\n", NOW)

    assert broker.funds(["BND"]).quotes["BND"].price == Decimal("70.25")

    clock.now = NOW + timedelta(hours=73)
    os.utime(settings.exports / "e.csv", (clock.now.timestamp(),) * 2)
    with pytest.raises(ExportError, match=r"prices\.csv: prices_file is 73\.0 hours old"):
        broker.funds(["BND"])


def test_cash_an_open_buy_ticket_will_spend_is_not_offered_again(
    broker: ManualBroker, clock: Clock
) -> None:
    write(broker.settings.exports, "e.csv", "VTI,5,100\n", NOW)

    broker.submit(intent("tt-b", Side.BUY, "3"))  # at its reference price, 100

    assert broker.account_now().cash == 1000
    assert broker.snapshot(()).cash == 700  # what a later cycle may plan with
    assert broker.funds(["VTI"]).cash == 700
    clock.now = NOW + timedelta(minutes=1)  # after the export: not in it
    broker.tickets.confirm(
        "tt-b", qty=Decimal(3), price=Decimal("99.50"), at=clock.now, now=clock.now
    )
    assert broker.snapshot(()).cash == Decimal("1000") - Decimal("298.50")
