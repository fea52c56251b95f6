"""Client order ids after `trimtab db init --force`: never one the broker already has.

Found by an audit: the start-over empties the cycles table, so the same day's slot gets the
same cycle id again and, with ids derived from the cycle id alone, the same client order ids.
Alpaca keeps a client order id forever: the new order was refused as someone else's (and
recorded REJECTED though never sent), or, when it matched the old one, the executor adopted
the old filled order as this one: a trade recorded as filled while nothing was sent.

The whole sequence runs for real: `run --once` against the fake Alpaca (alpaca-py on HTTP),
the CLI's `db init --force`, and `run --once` again the same day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.store.cycles import CycleRecord, CycleStore
from daemon.store.db import Database, alembic_config, migrate, open_database
from daemon.store.intents import IntentStore, client_order_id, database_identity
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import ENV_PREFIX, account_toml, household
from tests.fakes.cli import fresh_logging

__all__ = ["fresh_logging"]  # a fixture, used by name

D = Decimal
T0 = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("fresh_logging")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAlpaca]:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    state = household("0")
    state.auto_fill = True
    server = FakeAlpaca(state).start()
    yield server
    server.close()


def configure(config: Path, fake: FakeAlpaca, targets: str) -> None:
    settings = "read_timeout_seconds = 2\nrate_limit_max_wait_seconds = 0"
    head = 'mode = "paper"\nstate_dir = "state"\n'
    config.write_text(head + account_toml(fake.url, targets, settings=settings))


def run_once(config: Path, state: AlpacaState) -> CycleReport:
    trimtab = open_app(config, clock=state.now)
    try:
        return trimtab.engine(fill_timeout=2).run_once("main")
    finally:
        trimtab.close()


def start_over(config: Path) -> None:
    result = CliRunner().invoke(app, ["db", "init", "--force", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "moved the old database to" in result.output
    # A start-over engages the kill switch until the operator has looked.
    result = CliRunner().invoke(app, ["resume", "-c", str(config)])
    assert result.exit_code == 0, result.output


def sent_at_the_fake(state: AlpacaState) -> list[tuple[str, str, str, Decimal | None, str]]:
    with state.lock:
        return [(o.client_order_id, o.side, o.symbol, o.qty, o.status) for o in state.orders]


def assert_every_outcome_reached_the_fake(report: CycleReport, state: AlpacaState) -> None:
    assert report.outcome == "succeeded", report.error
    at_fake = {coid: (side, symbol, qty) for coid, side, symbol, qty, _ in sent_at_the_fake(state)}
    assert report.outcomes
    for outcome in report.outcomes:
        intent = outcome.intent
        assert outcome.status is OrderStatus.FILLED, outcome
        assert at_fake[intent.client_order_id] == (str(intent.side), intent.symbol, intent.qty)


def test_a_new_order_after_a_start_over_is_sent_under_a_new_id(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    """The audit's sequence: other targets after the start-over, the same day and slot."""
    state = fake.state
    state.set_position("VTI", "40")
    config = tmp_path / "trimtab.toml"
    configure(config, fake, 'VTI = "0.5", BND = "0.5"')
    first = run_once(config, state)
    assert_every_outcome_reached_the_fake(first, state)
    before = sent_at_the_fake(state)

    start_over(config)
    configure(config, fake, 'VTI = "0.3", BND = "0.7"')
    second = run_once(config, state)

    assert second.cycle_id == first.cycle_id  # the emptied cycles table gave the same id
    assert_every_outcome_reached_the_fake(second, state)
    assert sent_at_the_fake(state)[: len(before)] == before  # the old orders are untouched
    ids = [coid for coid, *_ in sent_at_the_fake(state)]
    assert len(ids) == len(set(ids)) == len(before) + len(second.outcomes)


def test_an_order_like_one_before_the_start_over_is_sent_not_adopted(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    """The same plan again after the start-over: the old filled order is not taken for it."""
    state = fake.state
    config = tmp_path / "trimtab.toml"
    configure(config, fake, 'VTI = "0.5", CASH = "0.5"')
    state.set_position("VTI", "100")
    first = run_once(config, state)
    assert_every_outcome_reached_the_fake(first, state)
    [sold] = first.outcomes
    assert (sold.intent.side, sold.intent.symbol, sold.intent.qty) == (Side.SELL, "VTI", D(50))

    start_over(config)
    with state.lock:  # the account as it was: the same plan comes out again
        state.set_position("VTI", "100")
        state.cash = D(0)
    second = run_once(config, state)

    [again] = second.outcomes
    assert (again.intent.side, again.intent.symbol, again.intent.qty) == (Side.SELL, "VTI", D(50))
    assert again.intent.client_order_id != sold.intent.client_order_id
    assert_every_outcome_reached_the_fake(second, state)
    assert len(sent_at_the_fake(state)) == 2
    with state.lock:
        assert state.positions["VTI"][0] == D(50)  # sold for real, not merely recorded


def test_ids_are_stable_in_one_database_and_differ_between_two(
    database_url: str, tmp_path: Path
) -> None:
    """Within one database the id of (cycle, seq) never changes: a retry finds its order."""
    one = open_database(database_url, tmp_path / "one")
    other = open_database(f"sqlite:///{tmp_path / 'two' / 'trimtab.db'}", tmp_path / "two")
    try:
        with one.transaction() as session:
            first = database_identity(session)
        with one.transaction() as session:
            assert database_identity(session) == first
        with other.transaction() as session:
            second = database_identity(session)
        assert first != second
        cycle = "main:2026-12-06:manual"
        assert client_order_id(cycle, 1, first) == client_order_id(cycle, 1, first)
        ids = {client_order_id(cycle, 1, first), client_order_id(cycle, 1, second)}
        assert len(ids) == 2
        for coid in ids:
            assert len(coid) == 23  # as before: inside every broker's limit
            assert coid.startswith("tt-")
            assert coid.endswith("-001")
    finally:
        one.close()
        other.close()


def test_the_migration_gives_an_existing_database_an_identity_and_keeps_its_ids(
    database_url: str, tmp_path: Path
) -> None:
    """A database from before revision 0011: it gets an identity; its intents keep their ids."""
    (tmp_path / "state").mkdir()  # where the SQLite file of `database_url` goes
    database = Database(database_url)
    old = OrderIntent(
        client_order_id=client_order_id_before_0011("main:2026-12-04:manual", 1),
        cycle_id="main:2026-12-04:manual",
        account="main",
        seq=1,
        symbol="VTI",
        side=Side.SELL,
        qty=D(10),
        order_type=OrderType.MARKET,
        reason="rebalance",
    )
    try:
        config = alembic_config()
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0010")
        with database.transaction() as session:
            CycleStore(session).add(
                CycleRecord(
                    cycle_id=old.cycle_id,
                    account="main",
                    trading_day=T0.date(),
                    slot="manual",
                    mode="paper",
                    started_at=T0,
                    outcome="succeeded",
                )
            )
            session.flush()
            IntentStore(session).add(old, T0)

        migrate(database)

        with database.transaction() as session:
            identity = database_identity(session)
            assert IntentStore(session).get(old.client_order_id).intent == old
        assert len(identity) == 32
        int(identity, 16)  # hex
        migrate(database)  # again: the identity is written once
        with database.transaction() as session:
            assert database_identity(session) == identity
    finally:
        database.close()


def client_order_id_before_0011(cycle_id: str, seq: int) -> str:
    """The id as trimtab derived it before databases had an identity."""
    return f"tt-{hashlib.sha256(cycle_id.encode()).hexdigest()[:16]}-{seq:03d}"
