"""A number outside the range trimtab plans with (`daemon.core.plannable`) stops the cycle:
through the real engine and the simulated broker, a quote of 1e999 (finite as a Decimal,
infinite as a float) for a symbol not yet held, an absurd cash balance or quantity fails the
cycle with a `DataError` naming it, sends nothing, and the audit log says why."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.sim.broker import SimBroker
from daemon.core.domain import Quote
from daemon.store.audit_log import AuditLog
from tests.fakes.broker import HandWrittenBroker
from tests.fakes.feeds import RawFeed
from tests.integration.test_cycle import NOW, PRICES, make_app

D = Decimal


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (D("1e999"), "price of VTI from the broker (source raw-feed) is too large (1E+999)"),
        (D("1e14"), "price of VTI from the broker (source raw-feed) is too large (1E+14)"),
        (D("1e-400"), "price of VTI from the broker (source raw-feed) is too small (1E-400)"),
    ],
)
def test_an_out_of_range_quote_fails_the_cycle_and_nothing_is_sent(
    tmp_path: Path, database_url: str, price: Decimal, message: str
) -> None:
    # BND would still be bought if VTI's price were only left out of the plan, as it was.
    app = make_app(tmp_path, database_url, prices=RawFeed({**PRICES, "VTI": price}))
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "failed"
    assert message in (report.error or "")
    assert "a price must be from 0.000001 to 10000000000000" in (report.error or "")
    sim = app.brokers["main"]
    assert isinstance(sim, SimBroker)
    assert sim.state()["recent_orders"] == []
    with app.database.transaction() as session:
        records = AuditLog(session).records()
        failed = [r for r in records if r.kind == "cycle_failed"]
        assert len(failed) == 1
        assert message in failed[0].payload["error"]
        assert not [r for r in records if r.kind.startswith("order")]
    app.close()


@pytest.mark.parametrize(
    ("cash", "positions", "message"),
    [
        (D("2e13"), {}, "cash reported by the broker is too large (2E+13)"),
        (D(1000), {"VTI": D("1e20")}, "quantity of VTI reported by the broker is too large"),
        # Each number in range, their product not: the planner's check names the holding.
        (
            D(1000),
            {"VTI": D("1e12")},
            "value of VTI is too large (quantity 1000000000000 x price 250.00)",
        ),
    ],
)
def test_out_of_range_cash_or_quantity_from_the_broker_fails_the_cycle(
    tmp_path: Path,
    database_url: str,
    cash: Decimal,
    positions: dict[str, Decimal],
    message: str,
) -> None:
    app = make_app(tmp_path, database_url)
    quotes = {s: Quote(s, p, NOW, "test") for s, p in PRICES.items()}
    broker = HandWrittenBroker(cash=cash, positions=positions, quotes=quotes)
    app.brokers["main"] = broker
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "failed"
    assert message in (report.error or "")
    with app.database.transaction() as session:
        failed = AuditLog(session).records(kinds=["cycle_failed"])
        assert [message in r.payload["error"] for r in failed] == [True]
    app.close()


def test_an_out_of_range_benchmark_quote_is_not_recorded(tmp_path: Path, database_url: str) -> None:
    """The benchmark's price is recorded before the plan's checks run; stored, an absurd one
    overflowed PostgreSQL's numeric (failing the cycle with a database error) or broke every
    later read of the series on SQLite. Now the cycle fails on the price, by name."""
    from daemon.store.valuations import benchmark_series

    app = make_app(
        tmp_path,
        database_url,
        prices=RawFeed({**PRICES, "VTI": D("1e999")}),
        extra='[performance]\nbenchmark = "VTI"\n',
    )
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "failed"
    assert "price of VTI from the broker (source raw-feed) is too large" in (report.error or "")
    with app.database.transaction() as session:
        assert benchmark_series(session, "VTI") == []
    app.close()


def test_an_out_of_range_cash_balance_is_not_valued_either(
    tmp_path: Path, database_url: str
) -> None:
    """1e999 of cash fails the cycle by name, on PostgreSQL too, where storing its
    valuation first overflowed the numeric column with a database error."""
    from daemon.store.valuations import valuations

    app = make_app(tmp_path, database_url)
    quotes = {s: Quote(s, p, NOW, "test") for s, p in PRICES.items()}
    app.brokers["main"] = HandWrittenBroker(cash=D("1e999"), positions={}, quotes=quotes)
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "failed"
    assert "cash reported by the broker is too large (1E+999)" in (report.error or "")
    with app.database.transaction() as session:
        assert valuations(session, "main") == []
    app.close()
