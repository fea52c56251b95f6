"""Whatever the household did before, a plan that passed the guards creates no wash sale.

Random trade histories over three accounts (taxable, a spouse's, an IRA) and a group of two
substantially identical symbols, with shares sold on a loss sale's day counted as replacements
or not; a random plan for one account; the guards with `buys = "block"` and `loss_sales` of
`defer` or `choose_other_lots`, and at times a gains budget (which cuts sells) and harvesting
(which adds loss sells and alternate buys). The plan as adjusted is then traded (appended to
the history, today) and the whole history replayed by the engine: no sale of the plan is
washed, and no earlier loss is washed more than before. And random lots with a gains budget:
the plan's sells never realize more than the budget per term.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from daemon.core.domain import AccountType, Side
from daemon.core.planner import PlannedOrder
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.tax_step import apply_tax
from daemon.core.tax.types import SameDayReplacements
from tests.fakes.tax_household import TODAY, Household, order, plan_of
from tests.fakes.tax_household import settings as tax_settings
from tests.hypothesis_profiles import scaled

D = Decimal
ACCOUNTS = ("brokerage", "spouse", "ira")
SYMBOLS = ("VTI", "VTSAX", "BND")
PRICES = {"VTI": D(100), "VTSAX": D(50), "BND": D(70), "AGG": D(60)}
"""AGG, VTSAX's alternate, is only ever bought by a harvest: an alternate has one primary."""

events = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        st.sampled_from(SYMBOLS),
        st.integers(min_value=0, max_value=45),  # days before today
        st.integers(min_value=1, max_value=20),  # shares
        st.sampled_from((70, 100, 130)),  # percent of today's price
        st.booleans(),  # sell (when anything is held) rather than buy
    ),
    min_size=4,
    max_size=25,
)
busy_days = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        st.sampled_from(SYMBOLS),
        st.integers(min_value=0, max_value=3),  # days before today: today's settlement
        st.integers(min_value=1, max_value=8),
        st.sampled_from((70, 100, 130)),
        st.booleans(),
    ),
    min_size=4,
    max_size=25,
)
"""Trades of the last few days only, many of them today, as in issue 13's counterexample."""
plans = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=30),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda item: item[0],
)


def history(
    items: list[tuple[str, str, int, int, int, bool]],
    bases: list[int],
    same_day: SameDayReplacements = SameDayReplacements.COUNT,
) -> Household:
    """Every account starts with 10 shares of every symbol, bought 200 days ago."""
    house = Household(groups=[["VTI", "VTSAX"]], same_day=same_day)
    house.account("brokerage")
    house.account("spouse", owner="spouse")
    house.account("ira", AccountType.ROTH_IRA)
    held: dict[tuple[str, str], int] = {}
    start = TODAY - timedelta(days=200)
    for (account, symbol), pct in zip(
        [(a, s) for a in ACCOUNTS for s in SYMBOLS], bases, strict=True
    ):
        house.buy(account, symbol, start, 10, PRICES[symbol] * 10 * pct / 100)
        held[(account, symbol)] = 10
    for account, symbol, days_ago, qty, pct, sell in sorted(items, key=lambda e: -e[2]):
        on = TODAY - timedelta(days=days_ago)
        amount = PRICES[symbol] * qty * pct / 100
        have = held.get((account, symbol), 0)
        if sell and have:
            take = min(qty, have)
            house.sell(account, symbol, on, take, PRICES[symbol] * take * pct / 100)
            held[(account, symbol)] = have - take
        else:
            house.buy(account, symbol, on, qty, amount)
            held[(account, symbol)] = have + qty
    return house


def guard_settings(choose_lots: bool, budget: int | None, harvesting: bool) -> TaxSettings:
    """The guards' settings: `choose_other_lots` (specific lots) or `defer`, a gains budget
    per term, harvesting."""
    extra: dict[str, object] = {}
    if budget is not None:
        extra["gains_budget"] = {"short_term": str(budget), "long_term": str(budget)}
    if harvesting:
        # BND stands in for VTI, AGG for VTSAX (an alternate of two primaries is refused);
        # min_loss_amount 0: every lot at 5% down qualifies.
        extra["alternates"] = {"VTI": "BND", "VTSAX": "AGG"}
        extra["harvest"] = {"enabled": True, "min_loss_amount": "0"}
    if choose_lots:
        return tax_settings(
            lot_method="specific", wash_sale={"loss_sales": "choose_other_lots"}, **extra
        )
    return tax_settings(wash_sale={"loss_sales": "defer"}, **extra)


def planned(
    house: Household, account: str, items: list[tuple[str, Side, int]]
) -> list[PlannedOrder]:
    lots = house.book().lots(account)
    orders = []
    for symbol, side, wanted in items:
        have = sum((lot.qty for lot in lots if lot.symbol == symbol), D(0))
        qty = min(wanted, int(have)) if side is Side.SELL else wanted
        if qty > 0:
            orders.append(order(side, symbol, qty, PRICES[symbol]))
    return orders


@settings(max_examples=scaled(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=events,
    bases=st.lists(st.sampled_from((70, 130)), min_size=9, max_size=9),
    plan_items=plans,
    account=st.sampled_from(("brokerage", "ira")),
    choose_lots=st.booleans(),
    same_day=st.sampled_from(list(SameDayReplacements)),
    budget=st.none() | st.integers(min_value=0, max_value=400),
    harvesting=st.booleans(),
)
# Issue 13: the spouse's loss today had taken today's VTI buys as replacements; the plan's
# VTSAX loss comes from an older lot, so the day's settlement gives it those shares first.
@example(
    items=[("brokerage", "VTI", 0, 1, 70, False)] * 6 + [("spouse", "VTI", 0, 6, 70, True)],
    bases=[70, 130, 70, 130, 70, 70, 70, 70, 70],
    plan_items=[("VTSAX", Side.SELL, 1)],
    account="brokerage",
    choose_lots=False,
    same_day=SameDayReplacements.EXCLUDE,
    budget=None,
    harvesting=False,
)
@example(
    items=[("brokerage", "VTI", 0, 1, 70, False)] * 6 + [("spouse", "VTI", 0, 6, 70, True)],
    bases=[70, 130, 70, 130, 70, 70, 70, 70, 70],
    plan_items=[("VTSAX", Side.SELL, 1)],
    account="brokerage",
    choose_lots=False,
    same_day=SameDayReplacements.COUNT,
    budget=None,
    harvesting=False,
)
# A sibling found by hand (the budget was not drawn then): the gains budget cut a FIFO sell of
# an old lot at a loss and a lot bought 5 days ago at a gain; the recent shares it no longer
# sold replaced the loss.
@example(
    items=[("brokerage", "VTI", 5, 20, 70, False)] + [("spouse", "BND", 40, 1, 100, False)] * 3,
    bases=[130, 130, 70, 70, 70, 70, 70, 70, 70],
    plan_items=[("VTI", Side.SELL, 30)],
    account="brokerage",
    choose_lots=False,
    same_day=SameDayReplacements.EXCLUDE,
    budget=100,
    harvesting=False,
)
def test_a_guarded_plan_creates_no_wash_sale(
    items: list[tuple[str, str, int, int, int, bool]],
    bases: list[int],
    plan_items: list[tuple[str, Side, int]],
    account: str,
    choose_lots: bool,
    same_day: SameDayReplacements,
    budget: int | None,
    harvesting: bool,
) -> None:
    _check_guarded_plan(
        items, bases, plan_items, account, choose_lots, same_day, budget, harvesting
    )


@settings(max_examples=scaled(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=busy_days,
    bases=st.lists(st.sampled_from((70, 130)), min_size=9, max_size=9),
    plan_items=plans,
    account=st.sampled_from(("brokerage", "ira")),
    choose_lots=st.booleans(),
    same_day=st.sampled_from(list(SameDayReplacements)),
    budget=st.none() | st.integers(min_value=0, max_value=400),
    harvesting=st.booleans(),
)
def test_a_guarded_plan_creates_no_wash_sale_after_a_busy_day(
    items: list[tuple[str, str, int, int, int, bool]],
    bases: list[int],
    plan_items: list[tuple[str, Side, int]],
    account: str,
    choose_lots: bool,
    same_day: SameDayReplacements,
    budget: int | None,
    harvesting: bool,
) -> None:
    _check_guarded_plan(
        items, bases, plan_items, account, choose_lots, same_day, budget, harvesting
    )


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=events,
    bases=st.lists(st.sampled_from((70, 130)), min_size=9, max_size=9),
    plan_items=plans,
    shares=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=4, max_size=4),
    choose_lots=st.booleans(),
    budget=st.none() | st.integers(min_value=0, max_value=400),
    harvesting=st.booleans(),
)
def test_the_shares_that_raise_cash_are_always_sold(
    items: list[tuple[str, str, int, int, int, bool]],
    bases: list[int],
    plan_items: list[tuple[str, Side, int]],
    shares: list[float],
    choose_lots: bool,
    budget: int | None,
    harvesting: bool,
) -> None:
    """Of each sell, a random part raises cash (`raises`): whatever the loss-sale policy,
    the budget and harvesting do with the rest, that part is sold, and no sell grows.

    Against the code before `raises` (which read "raises cash" from the order's reason and
    deferred a sell that also rebalanced whole) it fails under every profile; the cases it
    found are pinned by hand in test_tax_guards.py and test_tax_budget_harvest.py."""
    house = history(items, bases)
    policy = guard_settings(choose_lots, budget, harvesting)
    orders = [
        replace(o, raises=D(int(o.qty * D(repr(share))))) if o.side is Side.SELL else o
        for o, share in zip(planned(house, "brokerage", plan_items), shares, strict=False)
    ]
    taxed = apply_tax(plan_of(*orders), house.context("brokerage", PRICES, settings=policy))
    sold = {o.symbol: o for o in taxed.plan.orders if o.side is Side.SELL}
    for o in orders:
        if o.side is not Side.SELL:
            continue
        kept = sold.get(o.symbol)
        event("raises all" if o.raises == o.qty else "raises part" if o.raises else "raises none")
        if o.raises:
            assert kept is not None, (o, taxed.decisions)
            assert o.raises <= kept.qty <= o.qty, (o, kept, taxed.decisions)
            assert kept.raises == o.raises
        elif kept is not None:
            assert kept.qty <= o.qty


def _check_guarded_plan(
    items: list[tuple[str, str, int, int, int, bool]],
    bases: list[int],
    plan_items: list[tuple[str, Side, int]],
    account: str,
    choose_lots: bool,
    same_day: SameDayReplacements,
    budget: int | None,
    harvesting: bool,
) -> None:
    house = history(items, bases, same_day)
    before = {s.id: s.disallowed for s in house.book().sales}
    ctx = house.context(account, PRICES, settings=guard_settings(choose_lots, budget, harvesting))
    taxed = apply_tax(plan_of(*planned(house, account, plan_items)), ctx)
    event(" ".join(sorted({str(d.action) for d in taxed.decisions})) or "no decision")

    new_sales = set()
    for o in taxed.plan.orders:
        trade = house.trade(o.side, account, o.symbol, TODAY, o.qty, o.notional)
        if o.side is Side.SELL:
            new_sales.add(trade.id)
            if o.symbol in taxed.lots:
                house.trades[-1] = replace(trade, lots=taxed.lots[o.symbol])
    after = house.book()
    for sale in after.sales:
        if sale.id in new_sales:
            assert sale.disallowed == 0, (sale, taxed.decisions)
        else:
            # Selling a replacement the same day can only free part of an earlier wash.
            assert sale.disallowed <= before[sale.id], (sale, taxed.decisions)


lot_lists = st.lists(
    st.tuples(
        st.sampled_from(("VTI", "BND")),
        st.integers(min_value=35, max_value=900),  # days before today (no window open)
        st.integers(min_value=1, max_value=20),
        st.integers(min_value=50, max_value=150),  # percent of today's price paid
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=scaled(150), deadline=None)
@given(
    lots=lot_lists,
    sells=st.dictionaries(st.sampled_from(("VTI", "BND")), st.integers(1, 200), min_size=1),
    short=st.integers(min_value=0, max_value=1500),
    long=st.integers(min_value=0, max_value=1500),
    method=st.sampled_from(("fifo", "hifo", "specific")),
)
def test_rebalancing_sells_never_realize_more_than_the_budget(
    lots: list[tuple[str, int, int, int]],
    sells: dict[str, int],
    short: int,
    long: int,
    method: str,
) -> None:
    house = Household()
    for symbol, days_ago, qty, pct in lots:
        house.buy("brokerage", symbol, TODAY - timedelta(days=days_ago), qty,
                  PRICES[symbol] * qty * pct / 100)  # fmt: skip
    held = {s: sum(q for sym, _, q, _ in lots if sym == s) for s in ("VTI", "BND")}
    orders = [order(Side.SELL, s, min(q, held[s]), PRICES[s]) for s, q in sells.items() if held[s]]
    budget = {"short_term": str(short), "long_term": str(long)}
    ctx = house.context(
        "brokerage", PRICES, settings=tax_settings(lot_method=method, gains_budget=budget)
    )
    taxed = apply_tax(plan_of(*orders), ctx)
    net = {"short": D(0), "long": D(0)}
    for o in taxed.plan.orders:
        preview = house.book().preview_sale(
            "brokerage", o.symbol, o.qty, TODAY, o.notional, picks=taxed.lots[o.symbol]
        )
        for piece in preview.pieces:
            net[str(piece.term)] += piece.gain
    assert net["short"] <= short
    assert net["long"] <= long
    cut = {d.symbol for d in taxed.decisions}
    for o in orders:  # a sell is only ever cut by the budget, and says so
        kept = next((k.qty for k in taxed.plan.orders if k.symbol == o.symbol), D(0))
        assert kept == o.qty or o.symbol in cut
