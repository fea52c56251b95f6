"""The ledger's lots against the broker's positions: the pure comparison, and the decision
step given its result (a symbol that differs is never harvested, previewed or cut)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.decide import TaxInputs, decide
from daemon.core.domain import AccountType, Side
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.mismatch import lot_mismatches, lot_quantities
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.settings import GainsBudget, HarvestSettings, TaxSettings
from daemon.core.tax.types import Trade
from tests.hypothesis_profiles import scaled
from tests.property.test_decide_properties import SYMBOLS, given_input

D = Decimal
SETTINGS = settings(max_examples=scaled(150))
quantities = st.sampled_from([D(0), D("0.5"), D(1), D(100), D(200), D("100.000")])
holdings = st.dictionaries(st.sampled_from(SYMBOLS), quantities, max_size=len(SYMBOLS))


@SETTINGS
@given(holdings, holdings)
@example({"VTI": D(100)}, {"VTI": D(200)})  # a 2-for-1 split
@example({"VTI": D(200)}, {"VTI": D(100)})  # a transfer out, a reverse split
@example({"VTI": D(100)}, {"VTI": D("100.000")})  # the same quantity, written otherwise
def test_exactly_the_symbols_whose_quantities_differ_are_named(
    ledger: dict[str, Decimal], broker: dict[str, Decimal]
) -> None:
    found = lot_mismatches(ledger, broker)
    differ = sorted(
        s for s in set(ledger) | set(broker) if ledger.get(s, D(0)) != broker.get(s, D(0))
    )
    assert [m.symbol for m in found] == differ
    for m in found:
        assert (m.ledger, m.broker) == (ledger.get(m.symbol, D(0)), broker.get(m.symbol, D(0)))
        assert ("trimtab tax import" in m.fix) is (m.broker > m.ledger)
    swapped = lot_mismatches(broker, ledger)
    assert [(m.symbol, m.broker, m.ledger) for m in swapped] == [
        (m.symbol, m.ledger, m.broker) for m in found
    ]


HARVEST = TaxSettings(
    alternates={"VTI": "VNQ"},
    harvest=HarvestSettings(enabled=True, min_loss_pct=D("0.01"), min_loss_amount=D(1)),
    gains_budget=GainsBudget(short_term=D(100), long_term=D(100)),
)


@SETTINGS
@given(
    ledger_qty=st.integers(min_value=1, max_value=300),
    broker_qty=st.integers(min_value=0, max_value=300),
    cost=st.integers(min_value=1, max_value=600),
    price=st.integers(min_value=1, max_value=600),
    bought=st.sampled_from([date(2024, 3, 1), date(2026, 10, 1)]),
)
@example(ledger_qty=100, broker_qty=200, cost=200, price=100, bought=date(2026, 10, 1))  # split
@example(ledger_qty=240, broker_qty=120, cost=250, price=700, bought=date(2026, 10, 1))  # 1:2
def test_a_symbol_whose_lots_differ_is_sold_as_planned_and_never_harvested(
    ledger_qty: int, broker_qty: int, cost: int, price: int, bought: date
) -> None:
    book = replay_trades(
        [
            Trade(
                "lot-1",
                bought,
                "main",
                AccountType.TAXABLE,
                "VTI",
                Side.BUY,
                D(ledger_qty),
                D(ledger_qty * cost),
            )
        ]
    )
    base = given_input(
        cash=D(0),
        held={"VTI": D(broker_qty), "BND": D(50)},  # BND: no lots, a mismatch of its own
        prices=dict.fromkeys(SYMBOLS, D(price)),
        account_type=AccountType.TAXABLE,
    )
    # The edge's comparison (daemon.cycle.tax), on the same book and snapshot.
    differ = lot_mismatches(
        lot_quantities(book.lots("main")),
        {p.symbol: p.qty for p in base.snapshot.positions if p.qty != 0},
    )
    tax = TaxInputs(
        book=book,
        today=date(2026, 12, 1),
        settings=HARVEST,
        identical=SubstantiallyIdentical(),
        mismatches=differ,
    )
    given_ = dataclasses.replace(base, tax=tax, alternates=frozenset({"VNQ"}))
    decision = decide(given_)
    taxed = decision.taxed
    if "VTI" not in {m.symbol for m in differ}:
        assert ledger_qty == broker_qty
        assert not [
            d for d in taxed.decisions if d.symbol == "VTI" and d.action is TaxAction.UNKNOWN_BASIS
        ]
        return
    assert "VTI" not in taxed.harvest
    assert "VTI" not in taxed.lots
    assert not [d for d in taxed.decisions if d.symbol == "VTI" and d.qty_after != d.qty_before]
    # The planner's sell of VTI, if any, goes ahead whole, said to be of unknown basis.
    untaxed = dataclasses.replace(given_, tax=dataclasses.replace(tax, settings=TaxSettings()))
    planned = [o for o in decide(untaxed).plan.orders if o.symbol == "VTI" and o.side is Side.SELL]
    sold = [o for o in taxed.plan.orders if o.symbol == "VTI" and o.side is Side.SELL]
    assert [o.qty for o in sold] == [o.qty for o in planned]
    unknown = [
        d for d in taxed.decisions if d.symbol == "VTI" and d.action is TaxAction.UNKNOWN_BASIS
    ]
    assert [d.symbol for d in unknown] == ["VTI"] * len(sold)
    assert not [o for o in taxed.plan.orders if o.symbol == "VNQ"]
