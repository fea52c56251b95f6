"""`trimtab kill --cancel-open` on an IB account while the trimtab service is connected.

IB lets only the API client that placed an order cancel it, and a client id connects once.
The command builds its own IB connection from the configuration: with the service's client id
IB refuses it (326), and the message names the service as the likely holder and the way out;
under another client id it lists every client's open orders (`reqAllOpenOrders`), and the
service's are reported not cancelled, never a false "nothing to cancel". Against the fake TWS,
with the service stood in for by an `IbkrBroker` with client id 17 (the default).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.ibkr.broker import IbkrBroker
from daemon.cli import app
from daemon.core.domain import Side
from daemon.core.errors import BrokerError
from daemon.logs import configure_logging
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import FakeTws, two_accounts
from tests.integration.test_ibkr_adapter import intent, make_broker


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(two_accounts()) as fake:
        yield fake


@pytest.fixture
def service(tws: FakeTws) -> Iterator[IbkrBroker]:
    """The trimtab service's connection (client id 17), with a buy resting at IB."""
    made = make_broker(tws.port)
    made.snapshot(["VTI"])
    made.submit(intent("VTI", Side.BUY, "1", limit="1.00"))
    yield made
    made.close()


def config(tmp_path: Path, port: int, client_id: int | None = None) -> str:
    (tmp_path / "state").mkdir(exist_ok=True)
    text = ib_config(f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}", port, 'VTI = "1"')
    if client_id is not None:
        text = text.replace(
            'account_id = "DU1234567"\n', f'account_id = "DU1234567"\nclient_id = {client_id}\n'
        )
    path = tmp_path / "trimtab.toml"
    path.write_text(text)
    return str(path)


def invoke(*args: str) -> tuple[int, str]:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


def working(tws: FakeTws) -> list[str]:
    with tws.state.lock:
        return [o.order_ref for o in tws.state.orders.values() if o.is_open]


def test_the_services_client_id_is_refused_naming_the_service(
    tmp_path: Path, tws: FakeTws, service: IbkrBroker
) -> None:
    resting = working(tws)
    code, output = invoke("kill", "--cancel-open", "-c", config(tmp_path, tws.port))
    assert code == 1
    assert "kill switch ENGAGED" in output
    assert "open orders NOT cancelled: account main" in output
    assert "refused client id 17" in output
    assert "(error 326)" in output
    assert "that client is the service itself" in output
    assert "sudo systemctl stop trimtab" in output
    assert working(tws) == resting
    assert tws.count("cancelOrder") == 0


def test_under_another_client_id_the_services_orders_are_listed_not_cancelled(
    tmp_path: Path, tws: FakeTws, service: IbkrBroker
) -> None:
    (resting,) = working(tws)
    code, output = invoke("kill", "--cancel-open", "-c", config(tmp_path, tws.port, 18))
    assert code == 1, output  # never "nothing to cancel" while the service's order works
    assert f"main: {resting} buy 1 VTI: cancel failed" in output
    assert "placed by API client id 17" in output
    assert "trimtab is connected as client id 18" in output
    assert "open orders NOT cancelled: account main: 1 cancel(s) failed" in output
    assert working(tws) == [resting]
    assert tws.count("cancelOrder") == 0  # a cancel of another client's order id is never sent
    exported = CliRunner().invoke(
        app, ["audit", "export", "--since", "2020-01-01", "-c", config(tmp_path, tws.port, 18)]
    )
    configure_logging()
    assert exported.exit_code == 0
    records = [json.loads(line) for line in exported.output.splitlines()]
    (refused,) = [r for r in records if r["kind"] == "orders_not_cancelled"]
    assert refused["account"] == "main"


def test_with_the_service_stopped_its_orders_are_cancelled(
    tmp_path: Path, tws: FakeTws, service: IbkrBroker
) -> None:
    (resting,) = working(tws)
    service.close()  # `systemctl stop trimtab`
    tws.wait_for(lambda: not tws.connected_client_ids())
    code, output = invoke("kill", "--cancel-open", "-c", config(tmp_path, tws.port))
    assert code == 0, output
    assert f"main: {resting} buy 1 VTI: cancelled" in output
    assert working(tws) == []


def test_another_clients_order_is_open_while_ib_lists_it(tws: FakeTws, service: IbkrBroker) -> None:
    """The service's view of an order another client placed: open while IB lists it, gone
    once that client cancelled it (IB streams the cancel only to the client that placed it),
    and never cancelled by the service."""
    other = make_broker(tws.port, client_id=18)
    try:
        other.snapshot(["BND"])
        theirs = intent("BND", Side.SELL, "5", limit="500")
        other.submit(theirs)
        listed = {o.client_order_id for o in service.snapshot(["VTI"]).open_orders}
        assert theirs.client_order_id in listed
        with pytest.raises(BrokerError, match="placed by API client id 18"):
            service.cancel(theirs.client_order_id)
        assert tws.count("cancelOrder") == 0
        other.cancel(theirs.client_order_id)
        listed = {o.client_order_id for o in service.snapshot(["VTI"]).open_orders}
        assert theirs.client_order_id not in listed
        assert len(listed) == 1  # the service's own resting buy
    finally:
        other.close()
