"""The faster paths of the decision step and the backtest's fills give what the paths they
replaced gave (issue 16):

- a planned order's reason written when first read (`daemon.core.records.lazy_text`) is the
  text `order_reason` writes, and the order is equal, hashes, prints, pickles and is replaced
  as one built with that text;
- a fill where the broker charges nothing is charged `CostRules.charge`'s own 0.00;
- `snapshot_prices`, which checks the age of a time shared by several quotes once, accepts
  and refuses what it did quote by quote;
- `run_backtest` puts the cyclic collector's thresholds back as it found them;
- `band_limits` with one band for every symbol gives what it gives working each out.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.backtest import engine
from daemon.backtest.runner import Options, run_one
from daemon.core.domain import AccountSnapshot, Quote, Side
from daemon.core.errors import DataError
from daemon.core.inputs import snapshot_prices
from daemon.core.planner import PlannedOrder
from daemon.core.planner.bands import band_limits
from daemon.core.planner.drift import _order
from daemon.core.planner.reasons import order_reason
from daemon.core.planner.types import Band
from daemon.core.records import later
from tests.hypothesis_profiles import scaled
from tests.unit.backtest_helpers import weekdays, write_config, write_prices

D = Decimal
NOW = datetime(2026, 12, 7, 21, tzinfo=UTC)

quantities = st.decimals(min_value=D("0.000000001"), max_value=10**7, places=9)
prices = st.decimals(min_value=D("0.0001"), max_value=10**5, places=4)


@settings(max_examples=scaled(300), deadline=None)
@given(
    symbol=st.sampled_from(["A", "BRK.B", "S099"]),
    side=st.sampled_from(list(Side)),
    qty=quantities,
    price=prices,
    weight=st.decimals(min_value=0, max_value=1, places=24),
    target=st.decimals(min_value=0, max_value=1, places=4),
    half=st.decimals(min_value=0, max_value=1, places=6),
    in_targets=st.booleans(),
    origin=st.integers(0, 15),
    raises=st.sampled_from([D(0), D("0.5"), D("1.000000000")]),
)
def test_a_reason_written_when_read_is_the_reason_written_at_once(
    symbol: str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    weight: Decimal,
    target: Decimal,
    half: Decimal,
    in_targets: bool,
    origin: int,
    raises: Decimal,
) -> None:
    lazy = _order(symbol, side, qty, price, weight, target, half, in_targets, origin, raises)
    text = order_reason(
        symbol=symbol,
        weight=weight,
        target=target,
        half_width=half,
        in_targets=in_targets,
        side=side,
        qty=qty,
        notional=qty * price,
        origin=origin,
    )
    eager = PlannedOrder(symbol, side, qty, price, qty * price, text, raises)
    # Hashed and compared before the reason was read: both read it.
    assert hash(lazy) == hash(eager)
    assert lazy == eager
    assert lazy.reason == text
    assert type(lazy.reason) is str
    assert repr(lazy) == repr(eager)
    assert dataclasses.astuple(lazy) == dataclasses.astuple(eager)
    fresh = _order(symbol, side, qty, price, weight, target, half, in_targets, origin, raises)
    assert pickle.loads(pickle.dumps(fresh)) == eager
    again = _order(symbol, side, qty, price, weight, target, half, in_targets, origin, raises)
    assert dataclasses.replace(again, qty=qty + 1).reason == text
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.reason = "x"  # type: ignore[misc]


def test_a_lazy_reason_is_written_once() -> None:
    calls: list[int] = []

    def make(n: int) -> str:
        calls.append(n)
        return f"reason {n}"

    order = PlannedOrder("A", Side.BUY, D(1), D(2), D(2), later(make, 7))
    assert calls == []
    assert order.reason == "reason 7"
    assert order.reason == "reason 7"
    assert calls == [7]


@settings(max_examples=scaled(300), deadline=None)
@given(side=st.sampled_from(list(Side)), qty=quantities, price=prices)
def test_a_fill_the_broker_charges_nothing_for_is_charged_its_own_zero(
    side: Side, qty: Decimal, price: Decimal
) -> None:
    for rules in (engine.CostRules(), engine.CostRules(commission_per_share=D("0.000"))):
        charged = rules.charge(side, qty, price)
        assert charged.as_tuple() == engine._NO_FEE.as_tuple()
        assert rules.trade_costs.buy_charge_bound(qty).as_tuple() == engine._ZERO.as_tuple()


def _quote(symbol: str, price: Decimal, as_of: datetime) -> Quote:
    return Quote(symbol=symbol, price=price, as_of=as_of, source="test")


times = st.sampled_from(
    [
        NOW,
        NOW - timedelta(hours=1),
        NOW - timedelta(hours=30),  # stale
        NOW + timedelta(minutes=10),  # in the future
    ]
)


@settings(max_examples=scaled(300), deadline=None)
@given(
    quotes=st.dictionaries(
        st.sampled_from(["A", "B", "C", "D", "E"]),
        st.tuples(
            st.sampled_from([D("10.5"), D("0"), D("NaN"), D("1E+20"), D("0.01")]),
            st.sampled_from(["shared", "own"]),
            times,
        ),
        min_size=1,
    ),
    shared=times,
)
def test_snapshot_prices_accepts_and_refuses_as_quote_by_quote(
    quotes: dict[str, tuple[Decimal, str, datetime]], shared: datetime
) -> None:
    """Several quotes share one time object (as a backtest's do): its age is checked once,
    and the outcome is the first refusal in symbol order, or every price, as each quote
    checked alone gives."""
    made = {
        s: _quote(
            s, price, shared if how == "shared" else datetime.fromtimestamp(t.timestamp(), UTC)
        )
        for s, (price, how, t) in quotes.items()
    }
    snapshot = AccountSnapshot(account="a", as_of=NOW, cash=D(0), positions=(), quotes=made)
    max_age = timedelta(hours=24)
    accepted: dict[str, Decimal] = {}
    expected: dict[str, Decimal] | str = accepted
    for symbol in sorted(made):
        try:
            accepted |= snapshot_prices(snapshot, {symbol}, now=NOW, max_age=max_age)
        except DataError as exc:
            expected = str(exc)
            break
    try:
        got: dict[str, Decimal] | str = snapshot_prices(
            snapshot, set(made), now=NOW, max_age=max_age
        )
    except DataError as exc:
        got = str(exc)
    assert got == expected


def test_a_backtest_puts_the_collector_thresholds_back(tmp_path: Path) -> None:
    """A real run: the threshold it runs under, seen from its progress callback each day,
    and the thresholds after it."""
    config = write_config(tmp_path, {"AAA": "0.5", "BBB": "0.5"})
    table = write_prices(
        tmp_path, weekdays(date(2022, 1, 3), 5), {"AAA": [100.0] * 5, "BBB": [50.0] * 5}
    )
    seen: list[tuple[int, ...]] = []
    before = gc.get_threshold()
    try:
        for young in (700, 0):  # 0: automatic collection off, and left off
            gc.set_threshold(young, 10, 10)
            seen.clear()
            run_one(
                config,
                "main",
                table,
                Options(cash=D(10_000)),
                progress=lambda done, total: seen.append(gc.get_threshold()),
            )
            assert set(seen) == {(engine._GC_YOUNG if young else 0, 10, 10)}
            assert gc.get_threshold() == (young, 10, 10)
    finally:
        gc.set_threshold(*before)


@settings(max_examples=scaled(200), deadline=None)
@given(
    absolute=st.none() | st.decimals(min_value=0, max_value=20, places=2),
    relative=st.none() | st.decimals(min_value=0, max_value=1, places=3),
    targets=st.lists(st.floats(min_value=0, max_value=1), min_size=0, max_size=8),
    pooled=st.booleans(),
)
def test_one_band_for_every_symbol_gives_the_limits_of_the_band_symbol_by_symbol(
    absolute: Decimal | None, relative: Decimal | None, targets: list[float], pooled: bool
) -> None:
    """`band_limits` repeats the numbers of a band every symbol shares; the same band given
    as a copy per symbol (so worked out symbol by symbol) gives the same limits, bit for bit."""
    if absolute is None and relative is None:
        relative = D("0.25")
    band = Band(absolute_pp=absolute, relative=relative)
    weights = np.array(targets, dtype=np.float64)
    pools = np.arange(len(targets), dtype=np.intp)
    if pooled and len(targets) > 1:
        pools[-1] = 0
    shared = band_limits((band,) * len(targets), weights, pools if pooled else None)
    copies = tuple(Band(absolute_pp=absolute, relative=relative) for _ in targets)
    apart = band_limits(copies, weights, pools if pooled else None)
    for got, expected in zip(
        (shared.half, shared.low, shared.high), (apart.half, apart.low, apart.high), strict=True
    ):
        assert got.tobytes() == expected.tobytes()
    if pooled:
        assert shared.pools is not None
        assert apart.pools is not None
        assert shared.pools.low.tobytes() == apart.pools.low.tobytes()
        assert shared.pools.high.tobytes() == apart.pools.high.tobytes()
