"""The income plan's part of a cycle: the I/O around the pure rules of `daemon.core.income`.

In a month's raising window (from `lead_days` trading days before the payout day up to it),
the first cycle that may trade reads every account of the household (the [household]'s
members when there is one, else every account: cash, holdings, the targets each account is
planned on, the tax ledger's lots), fixes how much each account raises
(`raise_cash`) and audits it once (`income_plan`). Each account's cycle then hands its share
to the decision step as a withdrawal: the planner's cash-flow rules keep that much cash
(raising it by selling when the cash is not there), and the tax step and the pre-trade checks
apply as for `--withdraw`. Once a cycle ends with the share in cash, `income_raised` is
audited; later cycles of the window keep at most the cash still there (they never raise it a
second time, whether the process restarted or the owner moved the cash out early). The
audit log is the durable record: a restart reads it back.

A plan the household cannot raise without going below its cash buffers is refused
(`income_refused`) and fails the cycle with `IncomeTooLarge` naming the fix: nothing is sent.
"""

from __future__ import annotations

__all__ = [
    "Household",
    "HouseholdAccount",
    "IncomeOutlook",
    "IncomeShare",
    "IncomeStep",
    "month_windows",
    "outlook",
    "plan_month",
    "planned_event",
    "read_household",
]

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from adapters.base import Broker, DividendHistory
from daemon.audit.events import (
    IncomeHeld,
    IncomePlanned,
    IncomeRaised,
    IncomeRefused,
    IncomeSale,
    IncomeTransfer,
)
from daemon.config.household import household_members, household_universe, income_accounts
from daemon.config.policy import alternate_symbols
from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone, trading_day
from daemon.core.domain import CASH, AccountSnapshot, AccountType
from daemon.core.income import (
    AccountCash,
    IncomeRule,
    IncomeTooLarge,
    MonthProjection,
    PayoutWindow,
    RaisePlan,
    month_amount,
    payout_window,
    project_months,
    raise_cash,
    sale_candidates,
    symbol_dividends,
)
from daemon.core.inputs import check_snapshot
from daemon.core.schedule import parse_schedule
from daemon.core.sessions import sessions_between, slots_between
from daemon.core.tax.engine import TaxBook
from daemon.core.tax.mismatch import lot_mismatches, lot_quantities
from daemon.core.tax.tax_step import realized_this_year
from daemon.core.tax.types import Term
from daemon.cycle.household import split_of
from daemon.cycle.targets import household_targets, strategy_targets
from daemon.cycle.tax import TaxCycle
from daemon.cycle.yields import PAID
from daemon.logs import Log
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from strategies.base import Strategy

_ZERO = Decimal(0)
_LOOK_BACK = timedelta(days=62)
"""How far back a month's records are looked for: a window never starts 2 months early."""


@dataclass(frozen=True, slots=True)
class HouseholdAccount:
    """One account as the income plan sees it."""

    name: str
    account_type: AccountType
    snapshot: AccountSnapshot
    targets: Mapping[str, Decimal]
    cash_buffer: Decimal
    keep: frozenset[str]

    @property
    def prices(self) -> dict[str, Decimal]:
        return {s: q.price for s, q in self.snapshot.quotes.items()}

    @property
    def value(self) -> Decimal:
        prices = self.prices
        held = sum((p.qty * prices.get(p.symbol, _ZERO) for p in self.snapshot.positions), _ZERO)
        return self.snapshot.total_cash + held


@dataclass(frozen=True, slots=True)
class Household:
    today: date
    accounts: tuple[HouseholdAccount, ...]
    book: TaxBook

    @property
    def value(self) -> Decimal:
        return sum((a.value for a in self.accounts), _ZERO)


def read_household(
    settings: Settings,
    *,
    database: Database,
    broker_for: Callable[[str], Broker],
    strategy_for: Callable[[str], Strategy],
    now: datetime,
    log: Log | None = None,
) -> Household:
    """Read the income plan's accounts (snapshot, targets) and the tax ledger.

    An account's targets are those its cycle plans on: the household split's share for a
    [household] member (`split_of`, the split a cycle makes, on every member's holdings now,
    before any income share is kept), its strategy's otherwise. So a holding is overweight
    for the income plan exactly when it is overweight for the account's own decision step.
    """
    today = trading_day(now, settings.exchange)
    members = household_members(settings)
    snapshots: dict[str, AccountSnapshot] = {}
    for name in income_accounts(settings):
        configured = settings.account(name)
        wanted = household_universe(settings) if name in members else strategy_for(name).universe()
        # Checked as every cycle's snapshot is (a position listed twice, a float, a naive time).
        snapshots[name] = check_snapshot(
            broker_for(name).snapshot(sorted(set(wanted) | alternate_symbols(configured))),
            configured.broker,
        )
    split = None
    if members:
        chosen = household_targets(
            settings,
            broker_for=broker_for,
            snapshots=snapshots,
            database=database,
            now=now,
            log=log,
        )
        split = split_of(settings, snapshots, chosen)
    accounts = []
    for name, snapshot in snapshots.items():
        configured = settings.account(name)
        if split is not None and name in members:
            targets = split.targets_for(name)
        else:
            targets = strategy_targets(
                settings,
                name,
                strategy=strategy_for(name),
                broker=broker_for(name),
                snapshot=snapshot,
                database=database,
                now=now,
                log=log,
            )
        accounts.append(
            HouseholdAccount(
                name=name,
                account_type=configured.type,
                snapshot=snapshot,
                targets=targets,
                cash_buffer=configured.policy.cash_buffer,
                keep=frozenset(configured.policy.keep),
            )
        )
    tax = TaxCycle.open(
        settings=settings,
        database=database,
        account=next(iter(settings.accounts)),
        now=now,
        broker=None,
        cycle_id="income",
    )
    return Household(today=today, accounts=tuple(accounts), book=tax.book)


def plan_month(settings: Settings, household: Household, amount: Decimal) -> RaisePlan:
    """Return how the household raises `amount` (pure, given what was read)."""
    assert settings.income is not None
    candidates = []
    cash = []
    room: dict[str, dict[Term, Decimal | None]] = {}
    for acct in household.accounts:
        cash.append(AccountCash(acct.name, acct.account_type, acct.snapshot.cash, acct.cash_buffer))
        # As the tax step: a symbol whose lots differ from the broker's is not sold by lot.
        mismatched = {
            m.symbol
            for m in lot_mismatches(
                lot_quantities(household.book.lots(acct.name)),
                {p.symbol: p.qty for p in acct.snapshot.positions if p.qty != 0},
            )
        }
        candidates += sale_candidates(
            account=acct.name,
            account_type=acct.account_type,
            holdings={p.symbol: p.qty for p in acct.snapshot.positions},
            prices=acct.prices,
            targets={s: w for s, w in acct.targets.items() if s != CASH},
            value=acct.value,
            book=household.book,
            today=household.today,
            keep=acct.keep,
            mismatched=mismatched,
        )
        budget = settings.account(acct.name).tax.gains_budget
        realized = realized_this_year(household.book.sales, acct.name, household.today.year)
        room[acct.name] = {
            Term.SHORT: None
            if budget.short_term is None
            else budget.short_term - realized.get(Term.SHORT, _ZERO),
            Term.LONG: None
            if budget.long_term is None
            else budget.long_term - realized.get(Term.LONG, _ZERO),
        }
    return raise_cash(amount, settings.income.account, cash, candidates, room)


def month_windows(
    settings: Settings, rule: IncomeRule, first: date, count: int
) -> list[PayoutWindow]:
    """Return the payout windows of `count` months from the month of `first` on."""
    start = date(first.year, first.month, 1) - timedelta(days=45)
    last_year, last_month = divmod(first.month - 1 + count, 12)
    end = date(first.year + last_year, last_month + 1, 1) + timedelta(days=10)
    days = [s.day for s in sessions_between(settings.exchange, start, end)]
    windows = []
    for n in range(count):
        year, month = divmod(first.month - 1 + n, 12)
        windows.append(payout_window(rule, first.year + year, month + 1, days))
    return windows


def open_window(settings: Settings, rule: IncomeRule, today: date) -> PayoutWindow | None:
    """Return the window a cycle on `today` raises for, None outside every window."""
    for window in month_windows(settings, rule, today, 2):
        if window.open_on(today):
            return window
    return None


@dataclass(frozen=True, slots=True)
class IncomeShare:
    """What one account's cycle keeps for the month's income."""

    month: str
    amount: Decimal
    """The account's share of the month, as planned."""
    withdrawal: Decimal
    """What this cycle keeps (the share, or less once it was raised and partly moved out)."""
    raised: bool


class IncomeStep:
    """The income plan, for the engine: one per engine, reading and writing the audit log."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        broker_for: Callable[[str], Broker],
        strategy_for: Callable[[str], Strategy],
    ) -> None:
        self._settings = settings
        self._database = database
        self._broker_for = broker_for
        self._strategy_for = strategy_for

    def share(
        self, account: str, *, now: datetime, cycle_id: str, submit: bool, log: Log
    ) -> IncomeShare | None:
        """Return the account's share of this month's income, fixing the month's plan first
        if no cycle did yet (audited when `submit`); raise `IncomeTooLarge` when the plan
        cannot be raised (audited), so the cycle fails and sends nothing."""
        income = self._settings.income
        if income is None or account not in income_accounts(self._settings):
            # An account outside the [household] neither pays nor fixes the month's plan
            # (fixing it reads every member's broker, which only members' cycles may do).
            return None
        rule = income.rule()
        window = open_window(self._settings, rule, trading_day(now, self._settings.exchange))
        if window is None:
            return None
        planned = self._planned(window.month, now)
        if planned is None:
            planned = self._plan(window, now, account, cycle_id, submit, log)
        amount = planned.withdrawals.get(account, _ZERO)
        if amount <= 0:
            return None
        raised = self._raised(window.month, account, now)
        withdrawal = amount
        if raised:
            configured = self._settings.account(account)
            cash = self._broker_for(account).snapshot(()).cash
            withdrawal = min(amount, max(cash - configured.policy.cash_buffer, _ZERO))
            reason = (
                f"raised before; keeping the {withdrawal} still in cash until the payout on "
                f"{planned.payout}, never raising it again"
            )
        else:
            reason = f"this account's share of the {planned.amount} paid on {planned.payout}"
        with self._database.transaction() as session:
            AuditLog(session).append(
                IncomeHeld(window.month, withdrawal, reason),
                at=now,
                account=account,
                cycle_id=cycle_id,
            )
        log.info("income_held", month=window.month, withdrawal=str(withdrawal), raised=raised)
        return IncomeShare(window.month, amount, withdrawal, raised)

    def settle(
        self, account: str, share: IncomeShare, *, cash_after: Decimal, now: datetime, cycle_id: str
    ) -> None:
        """Audit the account's share as raised once the cycle ended with it in cash."""
        if share.raised:
            return
        buffer = self._settings.account(account).policy.cash_buffer
        if cash_after - buffer < share.amount:
            return
        with self._database.transaction() as session:
            AuditLog(session).append(
                IncomeRaised(share.month, share.amount, cash_after),
                at=now,
                account=account,
                cycle_id=cycle_id,
            )

    def _planned(self, month: str, now: datetime) -> IncomePlanned | None:
        with self._database.transaction() as session:
            records = AuditLog(session).records(since=now - _LOOK_BACK, kinds=["income_plan"])
        found = None
        for record in records:
            event = record.event
            if isinstance(event, IncomePlanned) and event.month == month:
                found = event
        return found

    def _raised(self, month: str, account: str, now: datetime) -> bool:
        with self._database.transaction() as session:
            records = AuditLog(session).records(
                since=now - _LOOK_BACK, account=account, kinds=["income_raised"]
            )
        return any(isinstance(r.event, IncomeRaised) and r.event.month == month for r in records)

    def _plan(
        self,
        window: PayoutWindow,
        now: datetime,
        account: str,
        cycle_id: str,
        submit: bool,
        log: Log,
    ) -> IncomePlanned:
        income = self._settings.income
        assert income is not None
        household = read_household(
            self._settings,
            database=self._database,
            broker_for=self._broker_for,
            strategy_for=self._strategy_for,
            now=now,
            log=log,
        )
        amount = month_amount(income.rule(), window.payout, household.value)
        plan = plan_month(self._settings, household, amount)
        if plan.shortfall > 0:
            try:
                plan.check()
            except IncomeTooLarge as exc:
                problem = exc.problems[0]
                with self._database.transaction() as session:
                    AuditLog(session).append(
                        IncomeRefused(
                            window.month, amount, plan.raised, problem.problem, problem.fix
                        ),
                        at=now,
                        account=account,
                        cycle_id=cycle_id,
                    )
                raise
        event = planned_event(window, plan)
        if submit:
            with self._database.transaction() as session:
                AuditLog(session).append(event, at=now, account=account, cycle_id=cycle_id)
        return event


def planned_event(window: PayoutWindow, plan: RaisePlan) -> IncomePlanned:
    """Return the audit record of a month's plan."""
    return IncomePlanned(
        month=window.month,
        payout=window.payout,
        amount=plan.amount,
        withdrawals=dict(plan.withdrawals),
        from_cash=dict(plan.from_cash),
        sales=tuple(
            IncomeSale(
                s.candidate.account,
                s.candidate.symbol,
                s.candidate.lot,
                s.value.quantize(Decimal("0.01")),
                s.gain.quantize(Decimal("0.01")),
                str(s.candidate.term),
                s.reason,
            )
            for s in plan.sales
        ),
        skipped=tuple(
            f"{k.candidate.account} {k.candidate.symbol} {k.candidate.lot}: {k.reason}"
            for k in plan.skipped
        ),
        transfers=tuple(
            IncomeTransfer(t.from_account, t.to_account, t.amount, t.note) for t in plan.transfers
        ),
    )


def _runs_in(settings: Settings, account: str, window: PayoutWindow) -> bool:
    """Say whether the account's schedule has a slot from the window's first day to its end."""
    tz = exchange_timezone(settings.exchange)
    spec = parse_schedule(settings.account(account).schedule)
    after = datetime.combine(window.raise_from, time(), tz)
    until = datetime.combine(window.payout + timedelta(days=1), time(), tz)
    return bool(slots_between(spec, settings.exchange, after, until))


@dataclass(frozen=True, slots=True)
class IncomeOutlook:
    """The next 12 months and how the next payout would be raised today."""

    household_value: Decimal
    months: tuple[MonthProjection, ...]
    next_window: PayoutWindow
    next_plan: RaisePlan
    without_dividends: tuple[str, ...]
    """Held symbols with neither a dividend history nor a configured yield."""
    unscheduled: tuple[str, ...] = ()
    """Accounts with a share of the next payout whose schedule has no slot in its window:
    their cycles will not raise it."""


def outlook(
    settings: Settings,
    household: Household,
    broker_for: Callable[[str], Broker],
    months: int = 12,
) -> IncomeOutlook:
    """Return the next `months` payouts from today's window (or the next one) on."""
    income = settings.income
    assert income is not None
    rule = income.rule()
    today = household.today
    windows = [w for w in month_windows(settings, rule, today, months + 1) if w.payout >= today]
    windows = windows[:months]
    paid: list[tuple[date, str, Decimal]] = []
    for acct in household.accounts:
        broker = broker_for(acct.name)
        if isinstance(broker, DividendHistory):
            for activity in broker.dividends(today - timedelta(days=366)):
                if activity.kind in PAID and activity.qty and activity.qty > 0:
                    paid.append((activity.on, activity.symbol, activity.net_amount / activity.qty))
    per_share = symbol_dividends(paid, today)
    holdings: dict[str, tuple[Decimal, Decimal]] = {}
    for acct in household.accounts:
        prices = acct.prices
        for position in acct.snapshot.positions:
            qty, _ = holdings.get(position.symbol, (_ZERO, _ZERO))
            holdings[position.symbol] = (
                qty + position.qty,
                prices.get(position.symbol, _ZERO),
            )
    rows = project_months(rule, windows, household.value, holdings, per_share, income.yields)
    first = windows[0]
    plan = plan_month(settings, household, month_amount(rule, first.payout, household.value))
    return IncomeOutlook(
        household_value=household.value,
        months=rows,
        next_window=first,
        next_plan=plan,
        unscheduled=tuple(
            name
            for name, share in sorted(plan.withdrawals.items())
            if share > 0 and not _runs_in(settings, name, first)
        ),
        without_dividends=tuple(
            sorted(s for s in holdings if s not in per_share and s not in income.yields)
        ),
    )
