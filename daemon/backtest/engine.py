"""Run one account's configuration over the rows of a price file, day by day.

Each row is a trading day and everything happens at its close. On a cycle day the account's
strategy gives targets (from a context whose history ends at the previous close), the live
cycle's `DecisionInput` is built by `daemon.config.policy.decision_input` and `decide` makes
the one decision; the approved orders fill at the close with the simulated broker's slippage
and commission (`daemon.core.fills`), sells first, then buys sized to the cash the sells left
(`daemon.core.sizing`). A taxable account keeps its lots in an in-memory ledger
(`daemon.core.tax.engine.GrowingLedger`: each day's trades replayed on the book before, unless
they could change an earlier day's wash sales), which the next decision's tax step reads.

Days on which nothing can trigger are skipped without calling `decide`: the targets did not
change, no cash flow or dividend arrived, and a numpy scan over the price rows shows every
weight inside its band with room to spare and too little spare cash for a trade
(`quiet_days`). `skip=False` calls `decide` on every cycle day; both give the same result
(tests/unit/test_backtest_engine.py checks it on random markets). docs/backtest.md has the
semantics.
"""

from __future__ import annotations

__all__ = [
    "BacktestFailed",
    "BacktestHalted",
    "BacktestResult",
    "BacktestSpec",
    "Fill",
    "Refused",
    "run_backtest",
]

import gc
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.flows import Dividend, monthly_flows, reinvested
from daemon.backtest.prices import DecimalRows, PriceTable
from daemon.backtest.values import DayValues
from daemon.config.policy import alternate_symbols, decision_input
from daemon.config.tax_policy import tax_policy
from daemon.core import fills
from daemon.core.costs import TradeCosts
from daemon.core.decide import CycleState, Decision, Hold, TaxInputs, decide
from daemon.core.domain import CASH, AccountSnapshot, AccountType, Position, Quote, Side
from daemon.core.errors import DataError
from daemon.core.income import IncomeRule, month_amount
from daemon.core.inputs import managed_holdings
from daemon.core.money import cents_down, cents_up
from daemon.core.planner import PlannedOrder, PlanningPolicy
from daemon.core.planner.types import least_order
from daemon.core.progress import Progress, no_progress
from daemon.core.records import fast_init
from daemon.core.schedule import Days, ScheduleSpec, Session, parse_schedule
from daemon.core.sizing import (
    TOP_UP_PASSES,
    OrderTerms,
    buy_cost_bound,
    limit_price,
    notional_amount,
    size_buy,
    top_up_order,
)
from daemon.core.tax.engine import GrowingLedger, TaxBook
from daemon.core.tax.relief import BROKER_RANKED, relieved
from daemon.core.tax.types import (
    LotMethod,
    LotPick,
    RealizedSale,
    TaxDataError,
    TaxPolicy,
    Trade,
)

if TYPE_CHECKING:
    from daemon.config.settings import Settings
    from strategies.base import Strategy
    from strategies.history import CloseHistory

CALENDARS = ("schedule", "daily", "weekly", "monthly", "quarterly", "yearly")
_ZERO = Decimal(0)
_NO_FEE = Decimal("0.00")
"""What `CostRules.charge` charges a fill where the broker charges nothing (its cents of 0)."""
_QTY_STEP = Decimal(1).scaleb(-9)  # the sim's smallest quantity (notional buys)
_GC_YOUNG = 20_000
"""The cyclic collector's first threshold while a run lasts (`run_backtest`)."""
_CHUNK = 32
"""Days the band scan looks ahead at first; each further look doubles what it has. (A run
with a band trades every few weeks: 16 took two looks for most stretches, 32 takes one.)"""
_MARGIN = 1e-9
"""How far inside its band (in weight units) a holding must be for the scan to skip its day;
the planner itself allows `BAND_TOLERANCE` outside, so the two never disagree on float noise."""


class BacktestHalted(Exception):
    """A risk limit that halts a live account tripped on a backtest day."""


class BacktestFailed(Exception):
    """The backtest's own bookkeeping broke a rule (its tax ledger refused a trade it
    recorded): a bug in trimtab, not bad input, so it is never filed as a refusal."""


@dataclass(frozen=True, slots=True)
class CostRules:
    """What the account's broker charges a fill and what it takes in fractions: the
    simulated broker's `broker_settings`, or what another broker's plugin declares
    (`runner.cost_rules`)."""

    slippage_bps: Decimal = _ZERO
    commission_per_order: Decimal = _ZERO
    commission_per_share: Decimal = _ZERO
    market_buy_hold: Decimal = _ZERO
    minimum: Decimal = _ZERO
    """The least commission an order pays (IB's dollar)."""
    sale_fee_fraction: Decimal = _ZERO
    sale_fee_per_share: Decimal = _ZERO
    """A sale's fees (the SEC's and FINRA's), as `TradeCosts` has them."""
    fractionable: frozenset[str] | None = None
    """What the snapshot says the broker takes fractions in: nothing for a sim taking whole
    shares only or IB (the planner then trades whole shares whatever the policy says); None,
    the policy decides, for a broker that takes fractions in every symbol or decides per
    asset (Alpaca, which no file says)."""

    @property
    def trade_costs(self) -> TradeCosts:
        """The costs the decision step raises cash net of, as the broker declares its own."""
        return TradeCosts(
            slippage_bps=self.slippage_bps,
            per_order=self.commission_per_order,
            per_share=self.commission_per_share,
            minimum=self.minimum,
            sale_fee_fraction=self.sale_fee_fraction,
            sale_fee_per_share=self.sale_fee_per_share,
        )

    def charge(self, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        """Return what a fill of `qty` at `price` pays beyond its value: the commission as
        the sim takes it (per order and per share, to the cent), at least `minimum`, and a
        sale's fees."""
        fee = fills.commission(
            self.commission_per_order, self.commission_per_share, qty, first_fill=True
        )
        if self.minimum:
            fee = max(fee, cents_up(self.minimum))
        if side is Side.SELL and (self.sale_fee_fraction or self.sale_fee_per_share):
            fee += self.trade_costs.sale_fees(qty, price)
        return fee


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """One backtest: the configuration, the account, the prices and the options."""

    settings: Settings
    account: str
    strategy: Strategy
    prices: PriceTable
    start: date | None = None
    end: date | None = None
    cash: Decimal = Decimal(1_000_000)
    contribute: Decimal = _ZERO
    withdraw: Decimal = _ZERO
    """Cash taken out each month."""
    withdraw_share: Decimal = _ZERO
    """Or a share of the account's value a year (0.04), a twelfth of it each month."""
    inflation: Decimal = _ZERO
    """A yearly rise of `withdraw` from the first day's year on (0.025)."""
    dividends: tuple[Dividend, ...] = ()
    dividends_file: Path | None = None
    """Where `dividends` were read from, for errors."""
    calendar: str = "schedule"
    benchmark: str | None = None
    costs: CostRules = CostRules()
    skip: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class Fill:
    day: date
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    commission: Decimal
    harvest: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """An approved buy the cash left after the day's earlier buys could not pay for."""

    day: date
    symbol: str
    qty: Decimal
    """The quantity the decision step approved."""
    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A planned order a pre-trade check refused: live it is not sent, here it is not filled
    (the cash it would have moved stays where it is)."""

    day: date
    symbol: str
    side: Side
    qty: Decimal
    check: str
    reason: str


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """What happened, day by day."""

    days: tuple[date, ...]
    nav: tuple[Decimal, ...]
    flows: tuple[Decimal, ...]
    """External cash per day: contributions positive, withdrawals negative (dividends are
    income, not flows)."""
    fills: tuple[Fill, ...]
    skipped: tuple[Skipped, ...]
    rebalances: tuple[date, ...]
    symbols: tuple[str, ...]
    weights: NDArray[np.float64]
    """Each symbol's weight of the account after each day's trading (days x symbols)."""
    targets: NDArray[np.float64]
    bands: NDArray[np.float64]
    """Each symbol's band half-width around its target on each day (days x symbols)."""
    closes: NDArray[np.float64]
    benchmark: tuple[float, ...] | None
    """The benchmark's value per share bought at day 0's close, its dividends reinvested."""
    dividends: Decimal
    dividends_by_year: Mapping[int, Decimal]
    contributed: Decimal
    withdrawn: Decimal
    withdrawal_shortfall: Decimal
    sales: tuple[RealizedSale, ...]
    """The ledger's realized sales, taxable accounts only."""
    trades: tuple[Trade, ...]
    """The ledger's trades (buys and sells, each sale with the lots it names), taxable
    accounts only: what the sales above were replayed from."""
    harvest_ids: frozenset[str]
    decide_calls: int
    account_type: AccountType
    refused: tuple[Refused, ...] = ()
    """The orders the pre-trade checks refused, day by day."""
    listed: tuple[tuple[int, frozenset[str]], ...] = ()
    """(first day's index, the symbols the targets list, a target of 0 included) each time
    the targets changed: the tax step pairs an alternate with its primary only when the
    targets do not list it (the report's drift chart)."""


@dataclass
class _State:
    """The account between days, and what the scan last proved."""

    cash: Decimal
    ledger: GrowingLedger
    """The taxable account's lots (`_book`), grown by each day's trades."""
    qty: dict[str, Decimal] = field(default_factory=dict)
    moved: bool = True
    """Quantities changed since the last row of `held`."""
    qty_row: NDArray[np.float64] | None = None
    """The quantities as floats in the order of the symbols; None once they moved."""
    moved_nav: bool = True
    """Quantities changed since the day's value last took them (`DayValues.hold`)."""
    holdings: Mapping[str, Decimal] | None = None
    """The quantities a strategy's context shows (`managed_holdings`); None once they moved:
    built once per trade rather than once per day."""
    trades: list[Trade] = field(default_factory=list)
    book: TaxBook | None = None
    targets: Mapping[str, Decimal] | None = None
    target_row: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    band_row: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    quiet: NDArray[np.bool_] | None = None
    """Per day from `quiet_from`: nothing can trigger (None: not scanned since a change)."""
    quiet_from: int = 0


@dataclass
class _Tally:
    """What the days produced."""

    held: NDArray[np.float64]
    targets: NDArray[np.float64]
    bands: NDArray[np.float64]
    nav: list[Decimal] = field(default_factory=list)
    flows: list[Decimal] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    rebalances: list[date] = field(default_factory=list)
    listed: list[tuple[int, frozenset[str]]] = field(default_factory=list)
    dividends_by_year: dict[int, Decimal] = field(default_factory=dict)
    contributed: Decimal = _ZERO
    withdrawn: Decimal = _ZERO
    shortfall: Decimal = _ZERO
    harvest_ids: set[str] = field(default_factory=set)


def run_backtest(spec: BacktestSpec, *, progress: Progress = no_progress) -> BacktestResult:
    """Run `spec`; raise `BacktestInputError` (bad input), `DataError`/`StrategyError` (the
    decision step refused the input) or `BacktestHalted`."""
    # A run makes millions of small objects and keeps tens of thousands (fills, values): at
    # the default threshold (700) the cyclic collector ran every few hundred allocations and
    # scanned the survivors again and again, a tenth of a 20-year run. The run makes few
    # cycles; the collector runs less often while it lasts (as before, if it was turned off).
    young, *older = gc.get_threshold()
    if young:
        gc.set_threshold(max(young, _GC_YOUNG), *older)
    try:
        return _Run(spec).run(progress)
    finally:
        gc.set_threshold(young, *older)


class _Run:
    def __init__(self, spec: BacktestSpec) -> None:
        self.spec = spec
        settings, name = spec.settings, spec.account
        self.account = settings.account(name)
        table = spec.prices
        self.lo, self.hi = table.span(spec.start, spec.end)
        self.days = table.days[self.lo : self.hi]
        universe = set(spec.strategy.universe())
        self.universe = frozenset(universe)  # what `decide` lets the strategy's targets name
        # An alternate without a column has no quote: the tax step leaves it out, as a live
        # cycle does when its quote is missing.
        self.alternates = alternate_symbols(self.account) & set(table.symbols)
        self.symbols = tuple(sorted((universe | self.alternates) - {CASH}))
        table.require(universe, self.lo, self.hi, why=f"account {name}'s strategy targets it")
        table.require(
            self.alternates - universe, self.lo, self.hi, why=f"account {name} may buy it"
        )
        if spec.benchmark is not None:
            table.require({spec.benchmark}, self.lo, self.hi, why="it is the --benchmark")
        self.matrix = table.matrix(self.symbols, self.lo, self.hi)
        self.decimals = table.decimals(self.symbols, self.lo, self.hi)
        self.values = DayValues(self.decimals, table.exact_digits(self.symbols, self.lo, self.hi))
        # Day 0's previous closes: the file's row before --start, when there is one (a live
        # cycle's quotes carry the previous session's close whatever day trimtab started).
        self.before = table.decimals(self.symbols, self.lo - 1, self.lo)[0] if self.lo else None
        self.taxable = self.account.type is AccountType.TAXABLE
        self.lot_method = LotMethod(self.account.tax.lot_method)
        self.policy: TaxPolicy = tax_policy(settings)
        self.cycle_days = _cycle_days(
            table, self.lo, self.hi, spec.calendar, self.account.schedule, settings.exchange
        )
        self.withdrawals = _withdrawal_rule(spec, name, self.days[0].year)
        # Each flow row with the months it pays: its own, and each month before it without
        # a row (a file run with --allow-missing-days), so no month's flow is lost.
        self.flow_days = (
            monthly_flows(self.days) if (spec.contribute or self.withdrawals is not None) else {}
        )
        self.paid = _dividends_by_row(spec.dividends, spec.dividends_file, self.days, table)
        self.history = _history_source(spec.strategy, table)
        self.harvesting = self.taxable and self.account.tax.harvest.enabled
        self.skip = spec.skip
        self.scan_constants = self._scan_constants()
        self.index = MappingProxyType({s: j for j, s in enumerate(self.symbols)})
        self.columns = frozenset(self.symbols)
        self.decide_calls = 0
        self.trade_costs = spec.costs.trade_costs
        costs = spec.costs
        charges = (
            costs.commission_per_order,
            costs.commission_per_share,
            costs.minimum,
            costs.sale_fee_fraction,
            costs.sale_fee_per_share,
        )
        # No commission, minimum or sale fee: every fill is charged 0.00 (`CostRules.charge`
        # rounds a sum of zeros up to the cent) and every buy's charge bound is 0.
        self.free = not any(charges) and not any(c.is_signed() for c in charges)
        # The planner's minimum trade (`decision_input` gives it the sim's commission).
        self.scan_min_trade = float(
            least_order(self.account.policy.min_trade_notional, self.trade_costs.least_commission)
        )
        from strategies.base import StrategyContext, ask_strategy

        # Imported once per run, not in each of thousands of days' `_targets`.
        self.strategy_calls = (StrategyContext, ask_strategy)

    def run(self, progress: Progress) -> BacktestResult:
        spec, n, k = self.spec, len(self.days), len(self.symbols)
        state = _State(cash=spec.cash, ledger=GrowingLedger(self.policy))
        tally = _Tally(held=np.zeros((n, k)), targets=np.zeros((n, k)), bands=np.zeros((n, k)))
        row = np.zeros(k)
        # The day each row of quantities, targets and bands took effect: the rows change on
        # the days of a trade or of new targets and are written a stretch at a time.
        marks: list[tuple[int, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]]
        marks = []
        last: tuple[object, object, object] = (None, None, None)
        for i in range(n):
            self._day(i, state, tally)
            if state.moved:
                row = self._qty_row(state)
                state.moved = False
            if (
                row is not last[0]
                or state.target_row is not last[1]
                or state.band_row is not last[2]
            ):
                marks.append((i, row, state.target_row, state.band_row))
                last = (row, state.target_row, state.band_row)
            progress(i + 1, n)
        for (first, held, targets, bands), end in zip(
            marks, [m[0] for m in marks[1:]] + [n], strict=True
        ):
            tally.held[first:end] = held
            tally.targets[first:end] = targets
            tally.bands[first:end] = bands
        navs = np.fromiter(map(float, tally.nav), dtype=np.float64, count=len(tally.nav))
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(navs[:, None] > 0, tally.held * self.matrix / navs[:, None], 0.0)
        sales: tuple[RealizedSale, ...] = ()
        if self.taxable and state.trades:
            sales = tuple(s for s in self._book(state).sales if s.taxable)
        bench = None
        if spec.benchmark is not None:
            j = spec.prices.column(spec.benchmark)
            closes = spec.prices.floats[self.lo : self.hi, j].tolist()
            bench = reinvested(closes, self.paid, spec.benchmark)
        return BacktestResult(
            days=self.days,
            nav=tuple(tally.nav),
            flows=tuple(tally.flows),
            fills=tuple(tally.fills),
            skipped=tuple(tally.skipped),
            rebalances=tuple(tally.rebalances),
            symbols=self.symbols,
            weights=weights,
            targets=tally.targets,
            bands=tally.bands,
            closes=self.matrix,
            benchmark=bench,
            dividends=sum(tally.dividends_by_year.values(), _ZERO),
            dividends_by_year=MappingProxyType(dict(tally.dividends_by_year)),
            contributed=tally.contributed,
            withdrawn=tally.withdrawn,
            withdrawal_shortfall=tally.shortfall,
            sales=sales,
            trades=tuple(state.trades),
            harvest_ids=frozenset(tally.harvest_ids),
            decide_calls=self.decide_calls,
            account_type=self.account.type,
            refused=tuple(tally.refused),
            listed=tuple(tally.listed),
        )

    def _day(self, i: int, state: _State, tally: _Tally) -> None:
        """Dividends, the month's flow, the cycle (when due and not provably quiet), the
        withdrawal, then the day's value at its close."""
        spec, day = self.spec, self.days[i]
        paid = self._pay_dividends(i, state)
        if paid:
            tally.dividends_by_year[day.year] = tally.dividends_by_year.get(day.year, _ZERO) + paid
            state.quiet = None
        flow = withdrawal = _ZERO
        months = self.flow_days.get(i)
        if months:
            put_in = spec.contribute * len(months)
            state.cash += put_in
            flow += put_in
            tally.contributed += put_in
            if self.withdrawals is not None:
                # The [income] plan's amount rule, each month's: a share of the previous
                # close's value, or the fixed amount raised by inflation once a year.
                withdrawal = sum(
                    (month_amount(self.withdrawals, month, tally.nav[-1]) for month in months),
                    _ZERO,
                )
                if withdrawal == spec.withdraw:
                    withdrawal = spec.withdraw  # the amount as written: outputs read as given
            state.quiet = None
        # A flow day off the cycle calendar runs no cycle, as a live account's schedule runs
        # none on a deposit day: a contribution waits in cash for the next cycle day, a
        # withdrawal the cash covers is paid from it; one it does not cover runs a cycle that
        # day, whose planner raises it (cash flows first).
        if i == 0 or i in self.cycle_days or withdrawal > state.cash:
            targets = self._targets(i, state)
            # A strategy whose targets do not change gives the same mapping each day.
            if targets is not state.targets and targets != state.targets:
                state.targets = targets
                state.target_row, state.band_row = self._target_rows(targets)
                tally.listed.append((i, frozenset(targets)))
                state.quiet = None
            if not self._is_quiet(i, state, targets, withdrawal):
                traded = self._decide(i, state, targets, withdrawal, tally)
                state.quiet = None
                if traded and i != 0:
                    tally.rebalances.append(day)
        if withdrawal:
            taken = min(withdrawal, max(state.cash, _ZERO))
            tally.shortfall += withdrawal - taken
            tally.withdrawn += taken
            state.cash -= taken
            flow -= taken
            state.quiet = None
        if state.moved_nav:
            self.values.hold([state.qty.get(s, _ZERO) for s in self.symbols])
            state.moved_nav = False
        tally.nav.append(self.values.value(i, state.cash))
        tally.flows.append(flow)

    def _is_quiet(
        self, i: int, state: _State, targets: Mapping[str, Decimal], withdrawal: Decimal
    ) -> bool:
        """Tell whether the scan proves `decide` would order nothing on day `i`."""
        if not self.skip or i == 0 or withdrawal:
            return False
        if state.quiet is None:
            state.quiet = np.zeros(0, dtype=bool)
            state.quiet_from = i
        # Scan ahead in growing chunks: most stretches end within days, a few last years.
        while i - state.quiet_from >= len(state.quiet):
            first = state.quiet_from + len(state.quiet)
            size = max(_CHUNK, len(state.quiet))
            state.quiet = np.concatenate(
                (state.quiet, self._quiet(first, first + size, state, targets))
            )
        return bool(state.quiet[i - state.quiet_from])

    # -- one day ---------------------------------------------------------------------------

    def _pay_dividends(self, i: int, state: _State) -> Decimal:
        total = _ZERO
        for dividend in self.paid.get(i, ()):
            qty = state.qty.get(dividend.symbol, _ZERO)
            if qty > 0:
                total += cents_down(qty * dividend.per_share)
        state.cash += total
        return total

    def _targets(self, i: int, state: _State) -> Mapping[str, Decimal]:
        StrategyContext, ask_strategy = self.strategy_calls  # noqa: N806 - a class, as named
        spec = self.spec
        day = self.days[i]
        if state.holdings is None:
            # No zero quantities are kept; nor `keep` holdings, as a cycle's context leaves
            # them out (a backtest starts in cash and never buys one: this is for parity).
            state.holdings = MappingProxyType(managed_holdings(state.qty, self.account.policy.keep))
        context = StrategyContext(
            trading_day=day,
            account=spec.account,
            account_type=self.account.type,
            cash=state.cash,
            holdings=state.holdings,
            prices=_Row(self.index, self.decimals, i),
            history=self.history(self.lo + i),
            history_expected_through=spec.prices.days[self.lo + i - 1] if self.lo + i else None,
        )
        try:
            # A plugin's own exception becomes a StrategyError naming it (exit 1, no traceback).
            return ask_strategy(self.account.strategy, lambda: spec.strategy.targets(context))
        except DataError as exc:
            if self.history is _NO_HISTORY:
                raise
            gap = self._window_gap(self.lo + i, day, str(exc))
            raise BacktestInputError(
                f"on {day}: {exc}. The strategy's history is the price file's rows before "
                f"each day: {gap or self._history_fix()}"
            ) from exc

    def _window_gap(self, row: int, day: date, message: str) -> str | None:
        """Name the price file's row and column of the gap the strategy's window check found
        in the rows before `day`, table row `row` (the one `message` names), and the fix;
        None when the check found something else."""
        from strategies.base import ReadsHistory

        strategy, table = self.spec.strategy, self.spec.prices
        if not isinstance(strategy, ReadsHistory):
            return None
        needs = strategy.history_needs()
        first = max(0, row - needs.rows)
        for symbol in sorted(needs.symbols & set(table.symbols)):
            j = table.column(symbol)
            for g in np.flatnonzero(np.isnan(table.floats[first:row, j])) + first:
                empty = table.days[g]
                if f"{symbol} has " not in message or f" on {empty}" not in message:
                    continue
                after = int(g) + needs.rows + 1  # the first row whose window is past the gap
                later = (
                    f", or give --start {table.days[after]} or later (the first day whose "
                    f"{needs.rows} rows before it are past the gap)"
                    if after < len(table.days)
                    else ""
                )
                return (
                    f"{table.path}: row {table.rows[g]} ({empty}), column {j + 2} ({symbol}): "
                    f"no close (a gap) in the {needs.rows} rows it reads before {day}; fill in "
                    f"the close of {symbol} on {empty}{later}"
                )
        return None

    def _history_fix(self) -> str:
        """Say which --start gives the strategy's window rows before day 0, if the file has it."""
        from strategies.base import ReadsHistory

        strategy, days = self.spec.strategy, self.spec.prices.days
        rows = strategy.history_needs().rows if isinstance(strategy, ReadsHistory) else 0
        if self.lo < rows < len(days):
            return (
                f"give --start {days[rows]} or later (the file's first day with the "
                f"{rows} rows before it that the strategy reads), or a longer file"
            )
        if rows >= len(days):
            return (
                f"the file has {len(days)} rows and the strategy reads {rows} before a day: "
                "give a longer file"
            )
        return "give --start a day late enough for its window, or a longer file"

    def _decide(
        self,
        i: int,
        state: _State,
        targets: Mapping[str, Decimal],
        withdrawal: Decimal,
        tally: _Tally,
    ) -> bool:
        spec, day = self.spec, self.days[i]
        now = _close_time(day)
        closes = self.decimals[i]
        previous = self.decimals[i - 1] if i else self.before
        # Positional, in field order (symbol, price, as_of, source, synthetic, previous_close):
        # a hundred quotes a day. A gap in the row before --start reads as 0: no previous
        # close, no check.
        quotes = {
            s: Quote(
                s,
                closes[j],
                now,
                "backtest",
                False,
                previous[j] if previous is not None and previous[j] else None,
            )
            for j, s in enumerate(self.symbols)
        }
        snapshot = AccountSnapshot(
            account=spec.account,
            as_of=now,
            cash=state.cash,
            positions=tuple(Position(s, q) for s, q in sorted(state.qty.items()) if q),
            quotes=MappingProxyType(quotes),
            fractionable=spec.costs.fractionable,
        )
        given = decision_input(
            spec.settings,
            spec.account,
            snapshot=snapshot,
            targets=targets,
            universe=self.universe,
            state=CycleState(),
            tax=TaxInputs(
                book=self._book(state),
                today=day,
                settings=self.account.tax,
                identical=self.policy.identical,
            ),
            now=now,
            submit=True,
            withdrawal=withdrawal,
            costs=self.trade_costs,
        )
        self.decide_calls += 1
        decision = decide(given)
        if decision.tripped is not None:
            tripped = decision.tripped
            raise BacktestHalted(
                f"on {day} the pre-trade check {tripped.check} refused {tripped.side} "
                f"{tripped.symbol} ({tripped.reason}), which halts a live account; the "
                "backtest stops there. Raise the limit in [risk] if the account really trades "
                "like this"
            )
        tally.refused.extend(
            Refused(day, d.symbol, d.side, d.qty, d.check, d.reason) for d in decision.refusals
        )
        # The mode gate (dry-run, paper, live) does not apply: a backtest always "sends".
        approved = decision.review.approved if decision.hold in (None, Hold.DRY_RUN) else ()
        if not approved:
            return False
        return self._fill(i, state, decision, approved, given.planning, given.terms, tally)

    def _fill(
        self,
        i: int,
        state: _State,
        decision: Decision,
        approved: Sequence[PlannedOrder],
        planning: PlanningPolicy,
        terms: OrderTerms,
        tally: _Tally,
    ) -> bool:
        day, costs, column = self.days[i], self.spec.costs, self.index
        closes = self.decimals[i]
        stamp = day.isoformat()  # each trade's id is the day's and its place in the day
        traded = False
        seq = 0
        free, bps = self.free, costs.slippage_bps
        for order in (o for o in approved if o.side is Side.SELL):
            close = closes[column[order.symbol]]
            price = _price(order.side, close, limit_price(order, terms), bps)
            qty = min(order.qty, state.qty.get(order.symbol, _ZERO))
            if price is None or qty <= 0:
                continue
            fee = _NO_FEE if free else costs.charge(Side.SELL, qty, price)
            proceeds = fills.proceeds(qty, price)
            if proceeds + state.cash < fee:
                # The sim refuses a sale whose commission its proceeds and the free cash do
                # not cover (nothing to take it from); it is not filled.
                continue
            # A dust sale's commission may be more than it brings: the sim fills it and takes
            # the difference from cash (`got` < 0), and so does the backtest.
            got = proceeds - fee
            state.cash += got
            state.qty[order.symbol] = state.qty.get(order.symbol, _ZERO) - qty
            seq += 1
            trade_id = f"{stamp}-{seq}"
            harvest = order.symbol in decision.taxed.harvest
            if harvest:
                tally.harvest_ids.add(trade_id)
            if self.taxable:
                # The amount realized is never below zero (the ledger refuses it): what the
                # commission took beyond the proceeds is not counted as a loss.
                realized = max(got, _ZERO)
                lots = self._sold_lots(state, decision, order.symbol, day, qty, realized)
                self._record(state, trade_id, day, order.symbol, Side.SELL, qty, realized, lots)
            tally.fills.append(Fill(day, order.symbol, Side.SELL, qty, price, fee, harvest))
            traded = True
        bought, seq = self._buy(i, state, approved, planning, terms, tally, seq)
        traded = traded or bought
        for symbol in [s for s, q in state.qty.items() if q == 0]:
            del state.qty[symbol]
        if traded:
            state.moved = state.moved_nav = True
            state.holdings = state.qty_row = None
        return traded

    def _buy(
        self,
        i: int,
        state: _State,
        approved: Sequence[PlannedOrder],
        planning: PlanningPolicy,
        terms: OrderTerms,
        tally: _Tally,
        seq: int,
    ) -> tuple[bool, int]:
        """Make the approved buys as the executor sends them; return (bought, last seq).

        Each is sized to the cash left (`size_buy`, with the broker's hold and commission).
        Then, as the executor does once the pieces have filled and freed their hold, the
        rest of each share buy the sizing shrank is sized again against the cash left and
        bought as one more piece, in at most `TOP_UP_PASSES` rounds (a dollar-amount buy is
        never topped up). A buy not made only because of the holds of the buys made before it
        in the round (it fitted the cash at the round's start) is tried again in the next
        round, in the plan's order with the rests; one never made is recorded as skipped,
        with why it last did not fit.
        """
        bought = False
        planned_buys = [order for order in approved if order.side is Side.BUY]
        pieces = list(enumerate(planned_buys))  # (index of the planned buy, what to send)
        filled: dict[int, Decimal] = {}  # index of a planned share buy -> what its pieces bought
        rests: dict[int, PlannedOrder | None] = {}  # planned share buy -> the rest to buy
        waiting: dict[int, tuple[str, bool]] = {}  # planned buy not made -> (why, crowded)
        for top_up in range(TOP_UP_PASSES + 1):
            spendable = state.cash - terms.cash_buffer
            available = spendable  # before this round's holds
            grown: list[int] = []  # the share buys a piece of which filled in this round
            for key, order in pieces:
                done = self._buy_one(i, state, order, planning, terms, tally, seq, spendable)
                if isinstance(done, str):  # did not fit `spendable`; `done` says why
                    if order is planned_buys[key]:  # nothing of this buy made yet
                        fits_alone = self._sized(i, order, planning, terms, available)
                        if fits_alone is not None or key in waiting:
                            waiting[key] = (done, fits_alone is not None)
                        elif not top_up:
                            tally.skipped.append(
                                Skipped(self.days[i], order.symbol, order.qty, done)
                            )
                    continue
                if done is None:
                    continue
                qty, held, in_dollars = done
                seq += 1
                spendable -= held
                bought = True
                waiting.pop(key, None)
                if not in_dollars:
                    filled[key] = filled.get(key, _ZERO) + qty
                    grown.append(key)
            # A buy's rest changes only when a piece of it fills (else it is the same order).
            rests.update((key, top_up_order(planned_buys[key], filled[key])) for key in grown)
            crowded = [(key, planned_buys[key]) for key, (_, c) in waiting.items() if c]
            topped = [(key, rest) for key, rest in rests.items() if rest is not None]
            # In the plan's order (a buy is crowded out only while nothing of it filled).
            pieces = sorted(crowded + topped, key=lambda piece: piece[0])
            if not pieces:
                break
        for key, (why, _) in sorted(waiting.items()):
            order = planned_buys[key]
            tally.skipped.append(Skipped(self.days[i], order.symbol, order.qty, why))
        return bought, seq

    def _buy_one(
        self,
        i: int,
        state: _State,
        order: PlannedOrder,
        planning: PlanningPolicy,
        terms: OrderTerms,
        tally: _Tally,
        seq: int,
        spendable: Decimal,
    ) -> tuple[Decimal, Decimal, bool] | str | None:
        """Size one buy (or piece) to `spendable` and fill it at the close as trade `seq` + 1;
        return (quantity bought, the buying power it held, whether it was sent in dollars),
        why it is not made when it does not fit `spendable` (the caller records a planned
        buy's skip; a rest not made says nothing its first piece did not), or None when it
        is not made for another cause."""
        day, costs = self.days[i], self.spec.costs
        close = self.decimals[i][self.index[order.symbol]]
        limit = limit_price(order, terms)  # a piece sized down keeps the order's price
        price = _price(Side.BUY, close, limit, costs.slippage_bps)
        if price is None:
            return None
        increment = planning.increment_for(order.symbol)
        # A bound on the commission at the planned quantity: the sized one is no larger.
        fee_bound = _ZERO if self.free else self.trade_costs.buy_charge_bound(order.qty)
        hold = costs.market_buy_hold
        sized = size_buy(order, price, spendable, terms, increment, hold=hold, fee=fee_bound)
        if sized is None:
            return _skip_reason(spendable, terms)
        in_dollars = terms.notional_buys and increment < 1
        qty = sized.qty
        if in_dollars:
            qty = (notional_amount(sized) / price).quantize(_QTY_STEP, ROUND_FLOOR)
        fee = _NO_FEE if self.free else costs.charge(Side.BUY, qty, price)
        paid = fills.cost(qty, price) + fee
        if qty <= 0 or paid > state.cash:
            # Sized to the cent with the commission bound, a buy always fits (its fill
            # price is at most what it was sized at); should a rule ever break that, the
            # buy is recorded as skipped, never dropped without a trace.
            tally.skipped.append(
                Skipped(day, order.symbol, order.qty, f"{paid} to pay, {state.cash} in cash")
            )
            return None
        held = buy_cost_bound(
            sized,
            price,
            limit=limit,
            notional=notional_amount(sized) if in_dollars else None,
            hold=hold,
            fee=fee_bound,
        )
        state.cash -= paid
        state.qty[order.symbol] = state.qty.get(order.symbol, _ZERO) + qty
        if self.taxable:
            stamp = f"{day.isoformat()}-{seq + 1}"
            self._record(state, stamp, day, order.symbol, Side.BUY, qty, paid, ())
        tally.fills.append(Fill(day, order.symbol, Side.BUY, qty, price, fee))
        return qty, held, in_dollars

    def _sized(
        self,
        i: int,
        order: PlannedOrder,
        planning: PlanningPolicy,
        terms: OrderTerms,
        spendable: Decimal,
    ) -> PlannedOrder | None:
        """`order` sized to `spendable` as `_buy_one` sizes it, or None if it does not fit."""
        costs = self.spec.costs
        close = self.decimals[i][self.index[order.symbol]]
        price = _price(Side.BUY, close, limit_price(order, terms), costs.slippage_bps)
        if price is None:
            return None
        increment = planning.increment_for(order.symbol)
        fee_bound = _ZERO if self.free else self.trade_costs.buy_charge_bound(order.qty)
        hold = costs.market_buy_hold
        return size_buy(order, price, spendable, terms, increment, hold=hold, fee=fee_bound)

    def _record(
        self,
        state: _State,
        trade_id: str,
        day: date,
        symbol: str,
        side: Side,
        qty: Decimal,
        amount: Decimal,
        lots: Sequence[LotPick],
    ) -> None:
        """Add a fill to the taxable account's trades, for its ledger (`_book`)."""
        state.trades.append(
            Trade(
                id=trade_id,
                date=day,
                account=self.spec.account,
                account_type=self.account.type,
                symbol=symbol,
                side=side,
                qty=qty,
                amount=amount,
                lots=tuple(lots),
            )
        )

    def _sold_lots(
        self,
        state: _State,
        decision: Decision,
        symbol: str,
        day: date,
        qty: Decimal,
        got: Decimal,
    ) -> Sequence[LotPick]:
        """The lots a sale names, as the live ledger records them (`record_fills`): trimtab's
        picks under `specific`; under HIFO or minimum tax the lots the broker ranks first on
        the basis it knows (washes from another symbol move no lot's rank); else none, and
        the method's date order relieves them."""
        if self.lot_method is LotMethod.SPECIFIC:
            return decision.taxed.lots.get(symbol, ())
        if not self.taxable or self.lot_method not in BROKER_RANKED:
            return ()
        if len(self.policy.identical.members(symbol)) == 1:
            # One account, no other symbol in the group: the only washes that move a lot's
            # basis are the broker's own, so the engine's ranking is the broker's (and the
            # replay per sale, which doubled the time of a harvesting run, is not needed).
            return ()
        lots = self._book(state).broker_lots(self.spec.account, symbol)
        return relieved(lots, self.lot_method, day, got / qty, qty)

    def _book(self, state: _State) -> TaxBook:
        """The ledger's book of every trade so far (an IRA keeps none: nothing is taxed)."""
        new = state.trades[len(state.ledger.trades) :]
        if state.book is None or new:
            try:
                state.book = state.ledger.add(new)
            except TaxDataError as exc:
                # Every trade here is the backtest's own fill: the input is not at fault.
                raise BacktestFailed(
                    f"the backtest's tax ledger refused its own trade ({exc}): a bug in "
                    "trimtab, not in the input; please report it with the config and the "
                    "price file"
                ) from exc
        return state.book

    # -- the scan --------------------------------------------------------------------------

    def _target_rows(
        self, targets: Mapping[str, Decimal]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        bands = self.account.bands
        target_row = np.array([float(targets.get(s, _ZERO)) for s in self.symbols])
        half = np.empty(len(self.symbols))
        for j, symbol in enumerate(self.symbols):
            band = bands.overrides.get(symbol, bands)
            widths = [np.inf]
            if band.absolute_pp is not None:
                widths.append(float(band.absolute_pp) / 100.0)
            if band.relative is not None:
                widths.append(float(band.relative) * target_row[j])
            half[j] = min(widths)
        return target_row, half

    def _quiet(
        self, first: int, end: int, state: _State, targets: Mapping[str, Decimal]
    ) -> NDArray[np.bool_]:
        """Return, for days [first, end) with today's holdings and targets, whether `decide`
        provably orders nothing (see `quiet_days`)."""
        policy = self.account.policy
        absolute, relative, increments, whole_only = self.scan_constants
        standing = self._standing(state, targets)
        if standing:
            # `decide` tests a primary and its standing alternates as one holding, against
            # targets a cash buffer or a withdrawal scales and `stand_in_targets` moves at
            # each close: a scan of each symbol alone cannot prove such a day quiet (it once
            # skipped days `decide` traded on), so every cycle day is decided while one stands.
            return np.zeros(len(self.matrix[first:end]), dtype=bool)
        held = {s for s, q in state.qty.items() if q}
        quiet = quiet_days(
            self.matrix[first:end],
            self._qty_row(state),
            cash=float(state.cash),
            targets=state.target_row,  # `targets` as floats
            cash_target=float(targets.get(CASH, _ZERO)),
            absolute=absolute,
            relative=relative,
            cash_buffer=float(policy.cash_buffer),
            min_trade=self.scan_min_trade,
            increments=increments,
            buy_only=policy.buy_only,
            whole_only=whole_only,
            # A kept holding, or a target without a column. A holding outside the targets is
            # one with a target of 0 (`target_row`), as the planner has it.
            unmanaged=bool(held.intersection(policy.keep))
            or not self.columns.issuperset(targets.keys() - {CASH}),
        )
        if self.harvesting and quiet.any():
            quiet &= self._no_harvest(first, end, state)
        return quiet

    def _qty_row(self, state: _State) -> NDArray[np.float64]:
        """The quantities as floats in the order of the symbols (built once per trade)."""
        if state.qty_row is None:
            held = map(state.qty.get, self.symbols, [_ZERO] * len(self.symbols))
            state.qty_row = np.fromiter(map(float, held), dtype=np.float64, count=len(self.symbols))
        return state.qty_row

    def _standing(self, state: _State, targets: Mapping[str, Decimal]) -> frozenset[str]:
        """Return the held alternates that may stand in for a primary of `targets` (directly
        or down a chain of alternates, as `stand_in_targets` follows them)."""
        tax = self.account.tax
        return frozenset(
            alternate
            for primary, alternates in tax.alternates.items()
            for alternate in alternates
            if state.qty.get(alternate, _ZERO) > 0 and alternate not in targets
        )

    def _no_harvest(self, first: int, end: int, state: _State) -> NDArray[np.bool_]:
        """Return, for days [first, end) with today's lots, whether no lot of a symbol with an
        alternate is at a loss the harvest rule takes at that day's close (`qualifies`: the
        loss against the adjusted basis at least `min_loss_pct` of it and `min_loss_amount`),
        so the tax step harvests nothing. Within one part in a billion of the price where a
        lot would qualify, a day is not quiet: `decide` looks at it."""
        harvest = self.account.tax.harvest
        least, share = float(harvest.min_loss_amount), float(harvest.min_loss_pct)
        book = self._book(state)
        closes = self.matrix[first:end]  # fewer rows than asked at the end of the range
        quiet = np.ones(len(closes), dtype=bool)
        for symbol in self.account.tax.alternates:
            lots = book.lots(self.spec.account, symbol)
            if not lots:
                continue
            j = self.index.get(symbol)
            if j is None:  # held but without a column: the scan cannot price it
                return np.zeros(len(closes), dtype=bool)
            # A lot qualifies at a close p <= min((B - least) / q, B (1 - share) / q).
            highest = max(
                min(float(lot.adjusted_basis) - least, float(lot.adjusted_basis) * (1 - share))
                / float(lot.qty)
                for lot in lots
            )
            quiet &= closes[:, j] > highest * (1 + 1e-9) + 1e-9
        return quiet

    def _scan_constants(
        self,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Each symbol's absolute and relative band, its increment, and whether the broker
        takes it in whole shares only (`planning_policy`'s `whole_shares_only`), for the scan."""
        bands = self.account.bands
        absolute = np.full(len(self.symbols), np.inf)
        relative = np.full(len(self.symbols), np.inf)
        for j, symbol in enumerate(self.symbols):
            band = bands.overrides.get(symbol, bands)
            if band.absolute_pp is not None:
                absolute[j] = float(band.absolute_pp) / 100.0
            if band.relative is not None:
                relative[j] = float(band.relative)
        increments = np.array([float(self._increment(s)) for s in self.symbols])
        fractionable = self.spec.costs.fractionable
        whole_only = np.array(
            [fractionable is not None and s not in fractionable for s in self.symbols], dtype=bool
        )
        return absolute, relative, increments, whole_only

    def _increment(self, symbol: str) -> Decimal:
        """The symbol's increment as `planning_policy` makes it (the scan must plan alike):
        the policy's, but whole shares where the broker takes whole shares only."""
        policy = self.account.policy
        fractionable = self.spec.costs.fractionable
        if fractionable is not None and symbol not in fractionable:
            return Decimal(1)
        if policy.fractional or symbol in policy.fractional_symbols:
            return policy.fractional_increment
        return Decimal(1)


_EMPTY: list[CloseHistory] = []


def _no_history(row: int) -> CloseHistory:
    """The one empty history of a strategy that reads none (it is frozen: one serves all)."""
    if not _EMPTY:
        from strategies.history import empty_history

        _EMPTY.append(empty_history())
    return _EMPTY[0]


_NO_HISTORY: Callable[[int], CloseHistory] = _no_history


class _Row(Mapping[str, Decimal]):
    """One row's closes by symbol, without building a dict per day; the row is parsed when a
    strategy first reads a close (`static` never does)."""

    __slots__ = ("_i", "_index", "_row", "_rows")

    def __init__(self, index: Mapping[str, int], rows: DecimalRows, i: int) -> None:
        self._index = index
        self._rows = rows
        self._i = i
        self._row: Sequence[Decimal] | None = None

    def __getitem__(self, symbol: str) -> Decimal:
        if self._row is None:
            self._row = self._rows[self._i]
        return self._row[self._index[symbol]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def quiet_days(
    closes: NDArray[np.float64],
    qty: NDArray[np.float64],
    *,
    cash: float,
    targets: NDArray[np.float64],
    cash_target: float,
    absolute: NDArray[np.float64],
    relative: NDArray[np.float64],
    cash_buffer: float,
    min_trade: float,
    increments: NDArray[np.float64],
    unmanaged: bool,
    buy_only: bool = False,
    whole_only: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """Return, per row of `closes`, whether the planner provably plans no order.

    Mirrors the planner's triggers (`daemon.core.planner.planner`) conservatively: with no
    withdrawal, phase A sells only for cash below the buffer and buys only with cash above
    its target C* = max(w_cash x N, buffer), and no buy fits in less than the larger of the
    minimum trade and the cheapest increment; phase B runs only when a weight is outside its
    band around the effective target (the targets scaled when the buffer raises C*). A day is
    quiet when cash is at least the buffer, the spare cash buys nothing, and every weight is
    inside its band by `_MARGIN`. Anything else (a held symbol outside the targets, a `keep`
    holding, a zero-width band) is not quiet: `decide` looks at it.

    With `buy_only` nothing is sold but for a withdrawal (a day with one is never scanned):
    not for the buffer, not in phase B, whose buys are paid from cash above C* alone. So the
    spare cash decides and the bands do not: a day is quiet when the spare cash buys nothing.

    A held symbol with a target of 0 whose sale no order could make that day (`dust`: what a
    sale would sell, all of it or its whole shares where `whole_only`, is worth less than
    `min_trade`) is left unsold by the planner (`daemon.core.planner.book.Unsold`): out of the
    managed value and set off no rebalance; so here. Otherwise its sale is an order: not quiet.

    `targets` is one weight per symbol; `min_trade` is the planner's (`PlanningPolicy.
    min_trade`; a smaller one only finds fewer days quiet).
    """
    targets = np.atleast_2d(targets)
    days = closes.shape[0]
    if unmanaged or (cash < cash_buffer and not buy_only):
        return np.zeros(days, dtype=bool)
    values = closes * qty
    zero = (targets <= 0) & (qty[None, :] > 0)
    dust: NDArray[np.bool_] | None = None
    if zero.any():
        # floor(float(q)) is never below floor(q): a sale is never found smaller than it is.
        sellable = qty if whole_only is None else np.where(whole_only, np.floor(qty), qty)
        dust = zero & (closes * sellable < min_trade * (1 - 1e-9) - 1e-9)
        values = np.where(dust, 0.0, values)
    nav = cash + values.sum(axis=1)
    c_star = np.maximum(cash_target * nav, cash_buffer)
    spare = cash - c_star
    cheapest = np.where(targets > 0, increments * closes, np.inf).min(axis=1, initial=np.inf)
    threshold = np.maximum(min_trade, cheapest)
    cash_quiet: NDArray[np.bool_] = (spare < threshold * (1 - 1e-9) - 1e-6) & (nav > 0)
    if buy_only:
        return cash_quiet
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(cash_target < 1, (1 - c_star / nav) / (1 - cash_target), 0.0)
        effective = targets * scale[:, None]
        weights = values / nav[:, None]
        # No relative band is relative = inf, and inf x a target of 0 (a primary whose
        # alternate stands in for all of it) is NaN: no comparison below lets it through,
        # so that column is quiet only while not held, as the planner has it.
        half = np.minimum(absolute[None, :], relative[None, :] * effective)
    low = np.maximum(effective - half, 0.0)
    high = effective + half
    inside = ((weights >= low + _MARGIN) | (low <= 0)) & (weights <= high - _MARGIN)
    inside |= (targets <= 0) & (qty[None, :] <= 0)
    if dust is not None:
        inside |= dust
    quiet: NDArray[np.bool_] = cash_quiet & inside.all(axis=1)
    return quiet


# -- calendar, dividends, history ----------------------------------------------------------


def _withdrawal_rule(spec: BacktestSpec, account: str, first_year: int) -> IncomeRule | None:
    """The monthly withdrawal as an `[income]` amount rule (its payout timing unused: a
    backtest takes the month's amount on the month's first day), or None without one."""
    if not spec.withdraw and not spec.withdraw_share:
        return None
    return IncomeRule(
        account=account,
        payout_day=1,
        lead_days=0,
        monthly_amount=spec.withdraw or None,
        annual_pct=spec.withdraw_share or None,
        inflation=spec.inflation,
        base_year=first_year,
    )


def _cycle_days(
    table: PriceTable, lo: int, hi: int, calendar: str, schedule: str, exchange: str
) -> frozenset[int]:
    """Return the row indexes (from `lo`) on which the account's cycle runs.

    Whether a row is a cycle day depends on it and the rows before it only, never on a later
    row: appending rows to a file changes no past day (docs/backtest.md, "Cycle days")."""
    if calendar not in CALENDARS:
        raise BacktestInputError(f"--calendar {calendar!r} is not one of {', '.join(CALENDARS)}")
    days = table.days
    if calendar == "schedule":
        spec = parse_schedule(schedule)
        if spec.days is Days.TRADING:
            return frozenset(range(hi - lo))
        # The session after the row before day 0 (or day 0 itself) to the range's last row.
        first = days[lo - 1] + timedelta(days=1) if lo else days[lo]
        found = set()
        for session in _scheduled_sessions(spec, exchange, first, days[hi - 1]):
            # The first row on or after the session: its own, or the first close after it
            # when the file has no row for it. Only that row and the one before it decide.
            found.add(bisect_left(days, session, lo, hi) - lo)
        return frozenset(found)
    if calendar == "daily":
        return frozenset(range(hi - lo))
    return frozenset(
        r - lo
        for r in range(lo, hi)
        if r == 0 or _period(calendar, days[r]) != _period(calendar, days[r - 1])
    )


def _scheduled_sessions(spec: ScheduleSpec, exchange: str, first: date, last: date) -> list[date]:
    """Return the exchange's sessions from `first` to `last` that the schedule's day filter
    selects, as the live scheduler selects them (`ScheduleSpec.runs_on` on a session and its
    neighbours in the exchange calendar, `daemon.core.sessions`)."""
    sessions = _sessions(exchange, first.year, last.year)
    selected = []
    for k in range(bisect_left(sessions, first), len(sessions)):
        day = sessions[k]
        if day > last:
            break
        session = Session(
            day=day,
            open=_close_time(day),  # the day filter reads the days only
            close=_close_time(day),
            previous_day=sessions[k - 1] if k else None,
            next_day=sessions[k + 1] if k + 1 < len(sessions) else None,
        )
        if spec.runs_on(session):
            selected.append(day)
    return selected


@lru_cache(maxsize=4)
def _sessions(exchange: str, first_year: int, last_year: int) -> tuple[date, ...]:
    """Return the exchange's sessions of the years, with `YEAR_MARGIN` either side so the
    first and last have their neighbours: one calendar for the whole span (building one a
    year, as the live scheduler does, costs a second or two over 20 years)."""
    import exchange_calendars

    from daemon.core.calendar import YEAR_MARGIN, exchange_problem, quiet_pandas

    problem = exchange_problem(exchange)
    if problem is not None:
        raise BacktestInputError(f"{problem.path}: {problem.problem}; {problem.fix}")
    start = date(first_year, 1, 1) - YEAR_MARGIN
    end = date(last_year, 12, 31) + YEAR_MARGIN
    try:
        with quiet_pandas():
            calendar = exchange_calendars.get_calendar(exchange, start=start, end=end)
            return tuple(ts.date() for ts in calendar.sessions)
    except (ValueError, exchange_calendars.errors.CalendarError) as exc:
        years = str(first_year) if first_year == last_year else f"{first_year} to {last_year}"
        raise BacktestInputError(
            f"the exchange calendar {exchange} has no sessions for {years} ({exc}); the "
            "account's schedule picks its days from them: use a "
            "schedule that runs every trading day ('close - 15m'), or --calendar monthly "
            "(or weekly, quarterly, yearly), which read the price file's rows only"
        ) from None


def _period(calendar: str, day: date) -> tuple[int, int]:
    """The week, month, quarter or year `day` falls in."""
    if calendar == "weekly":
        year, week, _ = day.isocalendar()
        return year, week
    if calendar == "monthly":
        return day.year, day.month
    if calendar == "quarterly":
        return day.year, (day.month - 1) // 3
    return day.year, 0


def _dividends_by_row(
    dividends: Sequence[Dividend], path: Path | None, days: Sequence[date], table: PriceTable
) -> dict[int, list[Dividend]]:
    """Return the dividends paid on each row: on its date, or the next row after it."""
    paid: dict[int, list[Dividend]] = {}
    source = "dividends file" if path is None else f"dividends file {path}"
    for dividend in dividends:
        if dividend.symbol not in table.symbols:
            raise BacktestInputError(
                f"{source}: row {dividend.row} names {dividend.symbol}, which the price "
                f"file {table.path} has no column for; remove the row or add the column"
            )
        i = bisect_left(days, dividend.day)
        if 0 < i < len(days) or (i == 0 and days[0] == dividend.day):
            paid.setdefault(i, []).append(dividend)
    return paid


def _history_source(strategy: Strategy, table: PriceTable) -> Callable[[int], CloseHistory]:
    """Return `history(row)`: the closes a look-back strategy reads, through the row before."""
    from strategies.base import ReadsHistory
    from strategies.history import CloseHistory

    if not isinstance(strategy, ReadsHistory):
        return _NO_HISTORY
    needs = strategy.history_needs()
    symbols = tuple(sorted(needs.symbols))
    missing = [s for s in symbols if s not in table.symbols]
    if missing:
        raise BacktestInputError(
            f"price file {table.path} has no column {missing[0]}, whose history the strategy "
            f"reads; add a {missing[0]} column"
        )
    matrix = table.matrix(symbols, 0, len(table.days))
    # A few rows over the window, so a strategy's own checks see a full window.
    rows = needs.rows + 5

    def history(row: int) -> CloseHistory:
        first = max(0, row - rows)
        return CloseHistory(table.days[first:row], symbols, matrix[first:row])

    return history


def _skip_reason(spendable: Decimal, terms: OrderTerms) -> str:
    left = cents_down(max(spendable, _ZERO))
    return f"cash after sells ({left} spendable) does not cover a trade of at least " + (
        f"{terms.min_trade}"
    )


def _price(side: Side, close: Decimal, limit: Decimal | None, bps: Decimal) -> Decimal | None:
    """The fill price at `close` of an order carrying `limit` (None: a market order), or None
    when the close does not cross the limit."""
    if limit is None:
        return fills.fill_price(side, close, bps)
    return fills.limit_fill_price(side, close, limit, bps)


def _close_time(day: date) -> datetime:
    """The close, 16:00 New York, as UTC (good enough for quote ages: all quotes share it)."""
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(16), tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
