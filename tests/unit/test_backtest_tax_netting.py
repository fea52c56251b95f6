"""The backtest's yearly tax: a loss carried forward keeps its character (Schedule D)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from daemon.backtest.metrics import Carry, net_year
from tests.unit.backtest_helpers import run, weekdays, write_config, write_prices

D = Decimal
_ZERO = D(0)


def _schedule_d(short: D, long: D, carry: tuple[D, D]) -> tuple[D, D, tuple[D, D]]:
    """The form, line by line, with no $3,000 deduction (the backtest models none).

    Schedule D line 7 (net short-term, the short carryover included) and line 15 (net
    long-term, the long carryover included); line 16 their sum. The Capital Loss Carryover
    Worksheet with a deduction of 0: short carryover = short loss - long gain, long carryover
    = long loss - short gain, each when positive. Taxed: with both lines gains, each at its
    rate; with one a loss, the sum, when a gain, keeps the character of the line that gained.
    """
    line7 = short + carry[0]
    line15 = long + carry[1]
    line16 = line7 + line15
    short_loss, long_loss = max(-line7, _ZERO), max(-line15, _ZERO)
    short_gain, long_gain = max(line7, _ZERO), max(line15, _ZERO)
    carried = (-max(short_loss - long_gain, _ZERO), -max(long_loss - short_gain, _ZERO))
    if line7 >= 0 and line15 >= 0:
        return line7, line15, carried
    if line16 <= 0:
        return _ZERO, _ZERO, carried
    if line15 > 0:  # the short-term loss ate into the long-term gain
        return _ZERO, line16, carried
    return line16, _ZERO, carried


money = st.decimals(min_value=-(10**6), max_value=10**6, places=2)
carried = st.decimals(min_value=-(10**6), max_value=0, places=2)


@given(money, money, carried, carried)
@example(D(885), D(250), D(0), D(-240))  # the audit's case: the long carry meets long gains
@example(D(-100), D(50), D(0), D(0))  # the rest of a short loss is carried as short
@example(D(50), D(-100), D(0), D(0))  # the rest of a long loss is carried as long
@example(D(0), D(0), D(-10), D(-20))
def test_each_year_nets_as_schedule_d_does(short: D, long: D, c_short: D, c_long: D) -> None:
    taxed_short, taxed_long, out = net_year(short, long, Carry(c_short, c_long))
    want_short, want_long, (want_c_short, want_c_long) = _schedule_d(short, long, (c_short, c_long))
    assert (taxed_short, taxed_long) == (want_short, want_long)
    assert (out.short, out.long) == (want_c_short, want_c_long)
    # Nothing is lost or made: what is taxed plus what is carried is what was there.
    assert taxed_short + taxed_long + out.short + out.long == short + long + c_short + c_long


def test_a_long_term_loss_carried_meets_next_years_long_term_gains(tmp_path: Path) -> None:
    """2022: a long-term loss of 240; 2023: short-term +885, long-term +250. Schedule D:
    885 x 0.35 + (250 - 240) x 0.15 = 311.25 (was 263.25, the carry taken from short-term)."""
    settings = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        extra="""[accounts.main.bands]
absolute_pp = 5
[accounts.main.policy]
min_trade_notional = 1
[accounts.main.tax]
lot_method = "lifo"
[accounts.main.tax.wash_sale]
loss_sales = "allow"
""",
        top="""[risk]
max_move_since_close = "1"
max_turnover_per_cycle = 10
max_turnover_per_day = 10
""",
    )
    moves = [date(2021, 1, 4), date(2022, 1, 10), date(2023, 1, 3), date(2023, 1, 4)]
    closes = {"A": [100.0, 80, 150, 150], "B": [100.0, 40, 55, 100]}
    # Every weekday (a file must not miss a session): each close holds until the next move.
    days = [d for d in weekdays(moves[0], 600) if d <= moves[-1]]
    held = {s: [c[bisect_right(moves, d) - 1] for d in days] for s, c in closes.items()}
    table = write_prices(tmp_path, days, held)
    result = run(settings, table, cash=D(10000), calendar="daily")
    metrics = result.metrics
    assert metrics["realized_long_term"] == "10.00"  # -240 + 250
    assert metrics["realized_short_term"] == "885.00"
    assert metrics["taxes_by_year"] == {"2022": "0.00", "2023": "311.25"}
    assert metrics["loss_carryforward"] == "0"
