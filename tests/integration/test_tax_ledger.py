"""The tax-lot ledger on SQLite and PostgreSQL: facts in, the engine's view out, imports whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from daemon.config.settings import Settings
from daemon.core.domain import AccountType, Fill, Side
from daemon.core.errors import DataError
from daemon.core.tax.engine import replay_trades
from daemon.store.db import Database
from daemon.store.lot_import import LotImportError, import_lots, parse_lots_csv
from daemon.store.models import CycleRow, FillRow, OrderIntentRow
from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy
from daemon.store.tax_models import TaxLotRow
from daemon.store.tax_sources import declare_trade, record_fills, record_reinvestments

D = Decimal
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)


def household(method: str = "fifo") -> Settings:
    return Settings.model_validate(
        {
            "accounts": {
                "brokerage": {"tax": {"lot_method": method}},
                "ira": {"type": "roth_ira"},
            },
            "tax": {
                "substantially_identical": [["VOO", "IVV"]],
                "outside_accounts": {"spouse": {"owner": "spouse"}},
            },
        }
    )


def fill(
    session: object,
    fill_id: str,
    side: str,
    qty: str,
    price: str,
    at: datetime,
    *,
    symbol: str = "VOO",
    client_order_id: str = "outside",
) -> None:
    session.add(  # type: ignore[attr-defined]
        FillRow(
            account="brokerage",
            fill_id=fill_id,
            client_order_id=client_order_id,
            broker_order_id=f"b-{fill_id}",
            symbol=symbol,
            side=side,
            qty=D(qty),
            price=D(price),
            commission=D("1"),
            at=at,
            external=client_order_id == "outside",
            recorded_at=at,
        )
    )


def test_lots_and_sales_round_trip_into_the_engine(database: Database) -> None:
    settings = household()
    accounts = household_accounts(settings)
    with database.transaction() as session:
        ledger = TaxLedger(session)
        lot = ledger.add_lot(
            account="brokerage",
            symbol="VOO",
            acquired=date(2025, 1, 2),
            qty=D("10.5"),
            cost=D("5000.123456"),
            source="import",
            source_id="i1",
            order_ref="i1",
            at=NOW,
        )
        assert lot is not None
        again = ledger.add_lot(
            account="brokerage",
            symbol="VOO",
            acquired=date(2025, 1, 2),
            qty=D(1),
            cost=D(1),
            source="import",
            source_id="i1",
            order_ref="i1",
            at=NOW,
        )
        assert again is None
        ledger.add_sale(
            account="brokerage",
            symbol="VOO",
            sold=date(2026, 3, 2),
            qty=D(4),
            proceeds=D(2400),
            source="fill",
            source_id="f1",
            reliefs=[(lot.id, D(4))],
            at=NOW,
        )
    with database.transaction() as session:
        ledger = TaxLedger(session)
        assert ledger.remaining("brokerage", "VOO") == {lot.id: D("6.5")}
        assert ledger.held("brokerage") == {"VOO": D("6.5")}
        book = replay_trades(ledger.trades(accounts), tax_policy(settings))
    (sale,) = book.sales
    assert sale.qty == 4
    assert sale.basis == D("1904.81")  # 4/10.5 of the cost, in cents
    (open_lot,) = book.lots("brokerage")
    assert open_lot.qty == D("6.5")


def test_fills_become_lots_and_sales_once(database: Database) -> None:
    settings = household()
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with database.transaction() as session:
        fill(session, "f1", "buy", "10", "400", datetime(2025, 1, 2, 15, tzinfo=UTC))
        fill(session, "f2", "buy", "10", "500", datetime(2025, 6, 2, 15, tzinfo=UTC))
        # 00:30 UTC on the 3rd is still the 2nd in New York: the trade date is the 2nd.
        fill(session, "f3", "sell", "15", "450", datetime(2026, 3, 3, 0, 30, tzinfo=UTC))
    with database.transaction() as session:
        sales = record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
        )
    (sale,) = sales
    assert sale.sold == date(2026, 3, 2)
    assert sale.proceeds == D(15 * 450 - 1)
    assert [q for _, q in sale.lots] == [D(10), D(5)]  # FIFO: all of f1, 5 of f2
    assert sale.unmatched == 0
    with database.transaction() as session:
        assert (
            record_fills(
                session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
            )
            == []
        )
        assert session.scalar(select(func.count(TaxLotRow.id))) == 2


def test_a_sale_its_commission_exceeds_is_recorded_at_zero_and_replays(
    database: Database,
) -> None:
    """A sale of $0.80 that paid $1 of commission (min_trade_notional = 0): its amount is 0,
    as in the backtest, not -0.20, which the engine refuses at every later replay (each later
    cycle of the account would fail)."""
    settings = household()
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with database.transaction() as session:
        fill(session, "f1", "buy", "10", "400", datetime(2025, 1, 2, 15, tzinfo=UTC))
        fill(session, "f2", "sell", "0.002", "400", datetime(2026, 3, 2, 15, tzinfo=UTC))
    with database.transaction() as session:
        (sale,) = record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
        )
        assert sale.proceeds == 0
        book = replay_trades(TaxLedger(session).trades(accounts), policy)
    assert sum(lot.qty for lot in book.lots("brokerage", "VOO")) == D("9.998")


def test_a_planned_lot_choice_is_honoured_under_specific_identification(
    database: Database,
) -> None:
    settings = household("specific")
    accounts, policy = household_accounts(settings), tax_policy(settings)
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)
    with database.transaction() as session:
        fill(session, "f1", "buy", "10", "400", datetime(2025, 1, 2, 15, tzinfo=UTC))
        fill(session, "f2", "buy", "10", "500", datetime(2025, 6, 2, 15, tzinfo=UTC))
    with database.transaction() as session:
        record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
        )
        second = TaxLedger(session).lots("brokerage")[1]
        session.add(
            CycleRow(
                cycle_id="c1",
                account="brokerage",
                trading_day=date(2026, 3, 2),
                slot="manual",
                mode="paper",
                started_at=at,
                outcome="running",
            )
        )
        session.add(
            OrderIntentRow(
                client_order_id="tt-1",
                cycle_id="c1",
                account="brokerage",
                seq=0,
                symbol="VOO",
                side="sell",
                qty=D(5),
                order_type="market",
                reason="r",
                status="filled",
                filled_qty=D(5),
                created_at=at,
                updated_at=at,
            )
        )
        TaxLedger(session).save_choices("c1", "VOO", [(second.id, D(5))], harvest=True)
        fill(session, "f3", "sell", "5", "450", at, client_order_id="tt-1")
    with database.transaction() as session:
        (sale,) = record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
        )
    assert sale.lots == ((second.id, D(5)),)
    assert sale.harvest
    assert sale.method == "specific"


def test_a_sale_beyond_the_recorded_lots_keeps_the_unmatched_shares(database: Database) -> None:
    settings = household()
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with database.transaction() as session:
        fill(session, "f1", "buy", "3", "400", datetime(2025, 1, 2, 15, tzinfo=UTC))
        fill(session, "f2", "sell", "5", "450", datetime(2026, 3, 2, 15, tzinfo=UTC))
    with database.transaction() as session:
        (sale,) = record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
        )
        assert sale.unmatched == 2
        book = replay_trades(TaxLedger(session).trades(accounts), policy)
    assert book.sales[0].qty == 3
    assert book.sales[0].proceeds == D(2249) * 3 / 5


def test_declared_trades_of_a_spouse_count_and_sell_their_own_lots(database: Database) -> None:
    settings = household()
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with database.transaction() as session:
        declare_trade(
            session, accounts=accounts, policy=policy, account="spouse", symbol="IVV",
            side=Side.BUY, on=date(2026, 11, 2), qty=D(5), amount=D(2500), note="", at=NOW,
        )  # fmt: skip
        sold = declare_trade(
            session, accounts=accounts, policy=policy, account="spouse", symbol="IVV",
            side=Side.SELL, on=date(2026, 11, 20), qty=D(2), amount=D(1100), note="", at=NOW,
        )  # fmt: skip
    assert sold.kind == "sale"
    assert [q for _, q in sold.lots] == [D(2)]
    with database.transaction() as session:
        book = replay_trades(TaxLedger(session).trades(accounts), policy)
    (window,) = book.purchase_windows(date(2026, 11, 24))
    assert (window.account, window.account_type, window.available_qty) == (
        "spouse",
        AccountType.TAXABLE,
        D(3),
    )
    assert window.symbols == {"VOO", "IVV"}


@pytest.mark.parametrize(
    ("account", "side", "qty", "problem"),
    [
        ("brokerage", Side.BUY, "1", "is not an outside account"),
        ("nobody", Side.BUY, "1", "is not an outside account"),
        ("spouse", Side.SELL, "1", "holds only 0"),
        ("spouse", Side.BUY, "0", "quantity must be above 0"),
    ],
)
def test_a_bad_declaration_names_the_problem_and_records_nothing(
    database: Database, account: str, side: Side, qty: str, problem: str
) -> None:
    settings = household()
    with pytest.raises(DataError, match=problem), database.transaction() as session:
        declare_trade(
            session, accounts=household_accounts(settings), policy=tax_policy(settings),
            account=account, symbol="IVV", side=side, on=date(2026, 11, 2), qty=D(qty),
            amount=D(100), note="", at=NOW,
        )  # fmt: skip
    with database.transaction() as session:
        assert TaxLedger(session).lots() == []


def test_the_same_declaration_twice_is_refused(database: Database) -> None:
    settings = household()
    args = {
        "accounts": household_accounts(settings),
        "policy": tax_policy(settings),
        "account": "spouse",
        "symbol": "IVV",
        "side": Side.BUY,
        "on": date(2026, 11, 2),
        "qty": D(5),
        "amount": D(2500),
        "at": NOW,
    }
    with database.transaction() as session:
        declare_trade(session, note="", **args)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="already declared"), database.transaction() as session:
        declare_trade(session, note="", **args)  # type: ignore[arg-type]
    with database.transaction() as session:
        declare_trade(session, note="second purchase", **args)  # type: ignore[arg-type]
        assert len(TaxLedger(session).lots()) == 2


GOOD = """account,symbol,acquired,quantity,cost_basis,note
brokerage,VOO,2021-03-15,100,35850.00,from Vanguard
spouse,IVV,2024-11-02,25.5,1402.55,
"""


def test_an_import_adds_every_row_in_one_go(database: Database) -> None:
    rows = parse_lots_csv(
        GOOD, path="lots.csv", accounts=household_accounts(household()), today=date(2026, 11, 24)
    )
    with database.transaction() as session:
        assert import_lots(session, rows, path="lots.csv", at=NOW) == 2
    with database.transaction() as session:
        lots = TaxLedger(session).lots()
    assert [(lot.account, lot.symbol, lot.qty, lot.cost, lot.note) for lot in lots] == [
        ("brokerage", "VOO", D(100), D("35850"), "from Vanguard"),
        ("spouse", "IVV", D("25.5"), D("1402.55"), ""),
    ]
    with (
        pytest.raises(LotImportError, match="already imported") as caught,
        database.transaction() as session,
    ):
        import_lots(session, rows, path="lots.csv", at=NOW)
    assert len(caught.value.problems) == 2


def test_an_import_with_a_duplicate_row_adds_nothing(database: Database) -> None:
    first = parse_lots_csv(
        GOOD.splitlines()[0] + "\n" + GOOD.splitlines()[2] + "\n",
        path="a.csv",
        accounts=household_accounts(household()),
        today=date(2026, 11, 24),
    )
    with database.transaction() as session:
        import_lots(session, first, path="a.csv", at=NOW)
    rows = parse_lots_csv(
        GOOD, path="b.csv", accounts=household_accounts(household()), today=date(2026, 11, 24)
    )
    with (
        pytest.raises(LotImportError, match=r"line 3: this lot"),
        database.transaction() as session,
    ):
        import_lots(session, rows, path="b.csv", at=NOW)
    with database.transaction() as session:
        assert len(TaxLedger(session).lots()) == 1


def test_every_bad_row_is_named_with_its_line() -> None:
    text = """account,symbol,acquired,quantity,cost_basis
brokerage,VOO,2021-03-15,100,35850
nobody,VOO,2021-03-15,100,35850
brokerage,voo,2021-03-15,100,35850
brokerage,VOO,15/03/2021,100,35850
brokerage,VOO,2021-03-15,-1,35850
brokerage,VOO,2021-03-15,1,$35850
brokerage,VOO,2027-01-01,1,1
brokerage,VOO,2021-03-15,1,1,extra
"""
    with pytest.raises(LotImportError) as caught:
        parse_lots_csv(
            text,
            path="lots.csv",
            accounts=household_accounts(household()),
            today=date(2026, 11, 24),
        )
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(3, 10)]
    assert "account 'nobody' is not a household account" in problems[0]
    assert "symbol 'voo'" in problems[1]
    assert "not a date" in problems[2]
    assert "quantity '-1' is not a number above 0" in problems[3]
    assert "cost_basis '$35850'" in problems[4]
    assert "in the future" in problems[5]
    assert "6 fields" in problems[6]
    assert "nothing imported" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("account,symbol,acquired,qty,cost_basis\n", "missing column(s) quantity"),
        ("account,symbol,acquired,quantity,cost_basis\n", "no lots"),
    ],
)
def test_a_file_without_lots_is_refused(text: str, problem: str) -> None:
    with pytest.raises(LotImportError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_lots_csv(text, path="x.csv", accounts=["brokerage"], today=date(2026, 11, 24))


@dataclass(frozen=True)
class Activity:
    activity_id: str
    kind: str
    symbol: str
    on: date
    net_amount: Decimal
    qty: Decimal | None


class DividendBroker:
    """An adapter that reports dividend activities, as the Alpaca adapter does."""

    def __init__(self, activities: list[Activity]) -> None:
        self.activities = activities
        self.asked: list[date] = []

    def dividends(self, since: date) -> list[Activity]:
        self.asked.append(since)
        return [a for a in self.activities if a.on >= since]


def test_reinvested_dividends_become_lots_once(database: Database) -> None:
    broker = DividendBroker(
        [
            Activity("a1", "dividend", "VOO", date(2026, 11, 20), D("12.40"), D(10)),
            Activity("a2", "reinvestment", "VOO", date(2026, 11, 20), D("-12.40"), D("0.025")),
            Activity("a3", "withholding", "VOO", date(2026, 11, 20), D("-1.00"), None),
        ]
    )
    since = datetime(2026, 11, 21, 15, tzinfo=UTC)
    for _ in range(2):
        with database.transaction() as session:
            record_reinvestments(
                session, broker, account="brokerage", since=since, timezone=NY, at=NOW
            )
    assert broker.asked == [date(2026, 11, 14)] * 2  # a week of overlap for late postings
    with database.transaction() as session:
        (lot,) = TaxLedger(session).lots()
    assert (lot.symbol, lot.qty, lot.cost, lot.source, lot.acquired) == (
        "VOO",
        D("0.025"),
        D("12.40"),
        "reinvestment",
        date(2026, 11, 20),
    )


def test_a_broker_without_dividend_history_adds_nothing(database: Database) -> None:
    with database.transaction() as session:
        added = record_reinvestments(
            session, object(), account="brokerage", since=NOW, timezone=NY, at=NOW
        )
    assert added == 0


class FillReinvestmentBroker:
    """An adapter that reports reinvestments as buy fills."""

    def reinvestments(self, since: datetime) -> list[Fill]:
        return [
            Fill(
                "r1",
                "",
                "",
                "VOO",
                Side.BUY,
                D("0.5"),
                D(500),
                datetime(2026, 11, 20, 15, tzinfo=UTC),
            ),
        ]


def test_reinvestments_reported_as_fills_become_lots(database: Database) -> None:
    with database.transaction() as session:
        added = record_reinvestments(
            session, FillReinvestmentBroker(), account="brokerage", since=NOW, timezone=NY, at=NOW
        )
        (lot,) = TaxLedger(session).lots()
    assert added == 1
    assert (lot.qty, lot.cost, lot.source_id) == (D("0.5"), D(250), "r1")


def test_a_batch_of_interleaved_buys_and_sells_relieves_every_share(database: Database) -> None:
    settings = household("hifo")
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with database.transaction() as session:
        fill(session, "f1", "buy", "10", "400", datetime(2026, 3, 2, 15, tzinfo=UTC))
        fill(session, "f2", "sell", "4", "410", datetime(2026, 3, 3, 15, tzinfo=UTC))
        fill(session, "f3", "buy", "10", "500", datetime(2026, 3, 4, 15, tzinfo=UTC))
        fill(session, "f4", "sell", "8", "450", datetime(2026, 3, 5, 15, tzinfo=UTC))
    with database.transaction() as session:
        first, second = record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
        )
        f1, f3 = (lot.id for lot in TaxLedger(session).lots())
    assert first.lots == ((f1, D(4)),)
    assert second.lots == ((f3, D(8)),)  # highest cost first: the lot bought in the batch
    assert second.unmatched == 0


@pytest.mark.parametrize("same_day", ["count", "exclude"])
def test_the_same_day_setting_reaches_the_engine(same_day: str) -> None:
    settings = Settings.model_validate(
        {"accounts": {"brokerage": {}}, "tax": {"same_day_replacements": same_day}}
    )
    assert tax_policy(settings).same_day_replacements.value == same_day
    assert tax_policy(household()).same_day_replacements.value == "count", "the default"


def test_an_unknown_same_day_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="same_day_replacements"):
        Settings.model_validate({"tax": {"same_day_replacements": "sometimes"}})
