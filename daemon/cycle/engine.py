"""One account's cycle: gather, decide, execute, record.

- gather (I/O): reconcile with the broker, snapshot, the strategy's targets, the tax ledger's
  replay, the kill switch, the trading state and what was sent recently;
- decide (pure): `daemon.core.decide.decide`, the one place an order is decided or refused;
- execute (I/O): `daemon.cycle.execution.Executor` sends what was approved, nothing else;
- record (I/O): the audit records, the ledger, the cycles row.

A cycle never raises for bad input or a broker failure: it audits the cycle as failed,
names the cause and submits nothing more.
"""

from __future__ import annotations

__all__ = ["Engine", "SlotAlreadyRan"]

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from adapters.base import Broker
from daemon.audit.events import (
    AuditEvent,
    AuditKind,
    CycleFailed,
    CycleFinished,
    CycleStarted,
    DriftAfter,
    HouseholdSplitMade,
    PlanMade,
    RiskDecisions,
    SentOrder,
    SnapshotTaken,
    TargetsChosen,
)
from daemon.audit.record import AuditRecord
from daemon.config.household import household_members, household_symbols, household_universe
from daemon.config.policy import alternate_symbols, decision_input
from daemon.config.settings import AccountSettings, Settings
from daemon.core.calendar import market_open, trading_day
from daemon.core.cycle_report import CycleReport, OrderOutcome
from daemon.core.decide import CycleState, Decision, DecisionInput, decide
from daemon.core.domain import AccountSnapshot, OrderStatus, Side, TradingState
from daemon.core.errors import TransientBrokerError, TrimtabError
from daemon.core.household import HouseholdSplit
from daemon.core.inputs import planning_input
from daemon.core.planner import DriftRow, PlanInput, PlanningPolicy, plan_rebalance
from daemon.cycle.execution import Executor
from daemon.cycle.household import HouseholdRead, household_split
from daemon.cycle.income import IncomeShare, IncomeStep
from daemon.cycle.reconcile import PendingFill, Reconciliation, reconcile
from daemon.cycle.retry import ReadRetrying
from daemon.cycle.targets import household_targets, strategy_targets
from daemon.cycle.tax import TaxCycle
from daemon.cycle.unbooked import Unbooked, read_unbooked
from daemon.cycle.withdrawal import check_withdrawal, never_sold
from daemon.logs import Log, get_logger
from daemon.monitor.history import record_point
from daemon.store.activity import recent_activity
from daemon.store.audit_log import AuditLog
from daemon.store.cycles import CycleRecord, CycleStore, next_attempt_id, slot_base
from daemon.store.db import Database
from daemon.store.intents import IntentStore
from daemon.store.killswitch import current as kill_switch_state
from daemon.store.trading_state import account_state, set_trading_state
from daemon.store.valuations import ValuationSource
from strategies.base import Strategy


class SlotAlreadyRan(TrimtabError):
    """The slot's cycle completed before; re-running it needs an explicit --force."""


class Engine:
    """Runs cycles; everything it talks to is handed in by `daemon.bootstrap`."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        broker_for: Callable[[str], Broker],
        strategy_for: Callable[[str], Strategy],
        clock: Callable[[], datetime],
        fill_timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] = lambda: False,
        poll_sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`sleep` waits between read retries; `poll_sleep` and `monotonic` pace and bound
        the wait for fills (a test hands in a clock it moves itself)."""
        self._poll_sleep = poll_sleep
        self._monotonic = monotonic
        self._settings = settings
        self._should_stop = should_stop
        """True once the daemon is stopping: orders not yet sent are recorded as not sent."""
        self._database = database
        self._broker_for = broker_for
        self._strategy_for = strategy_for
        self._clock = clock
        self._fill_timeout = fill_timeout
        """Seconds to wait for fills: each account's `fill_wait_seconds` when None."""
        self._sleep = sleep
        self._income = IncomeStep(
            settings=settings, database=database, broker_for=broker_for, strategy_for=strategy_for
        )

    def plan(self, account: str, *, withdrawal: Decimal = Decimal(0)) -> CycleReport:
        """Plan one cycle against the configured broker and audit it; never submit."""
        now = self._clock()
        cycle_id = f"{account}:{trading_day(now, self._settings.exchange)}:plan-{now:%H%M%S}"
        return self._cycle(account, cycle_id, submit=False, withdrawal=withdrawal, slot=None)

    def run_once(
        self,
        account: str,
        *,
        slot: str = "manual",
        force: bool = False,
        withdrawal: Decimal = Decimal(0),
    ) -> CycleReport:
        """Run the slot's cycle through the configured mode, unless it already completed."""
        now = self._clock()
        day = trading_day(now, self._settings.exchange)
        base = slot_base(account, day, slot)
        with self._database.transaction() as session:
            attempts = CycleStore(session).attempts(base)
        if any(a.outcome == "succeeded" for a in attempts) and not force:
            raise SlotAlreadyRan(
                f"the {slot} cycle of {account} on {day} already ran; "
                "use `trimtab run --once --force` to run it again"
            )
        cycle_id = next_attempt_id(base, len(attempts))
        return self._cycle(account, cycle_id, submit=True, withdrawal=withdrawal, slot=slot)

    def _cycle(
        self, account: str, cycle_id: str, *, submit: bool, withdrawal: Decimal, slot: str | None
    ) -> CycleReport:
        settings = self._settings.account(account)
        log = get_logger(cycle_id=cycle_id, account=account)
        structlog.contextvars.bind_contextvars(cycle_id=cycle_id, account=account)
        started = self._clock()
        mode = self._settings.mode
        with self._database.transaction() as session:
            if slot is not None:
                CycleStore(session).add(
                    CycleRecord(
                        cycle_id=cycle_id,
                        account=account,
                        trading_day=trading_day(started, self._settings.exchange),
                        slot=slot,
                        mode=str(mode),
                        started_at=started,
                        outcome="running",
                    )
                )
            AuditLog(session).append(
                CycleStarted(
                    mode=mode,
                    submit=submit,
                    slot=slot,
                    broker=settings.broker,
                    strategy=settings.strategy,
                    withdrawal=withdrawal,
                ),
                at=started,
                account=account,
                cycle_id=cycle_id,
            )
        log.info("cycle_started", mode=str(mode), submit=submit)
        try:
            report = self._steps(account, settings, cycle_id, submit, withdrawal, log)
        except TrimtabError as exc:
            report = self._failed(account, cycle_id, exc, log, slot)
        except Exception as exc:
            log.exception("cycle_crashed")
            report = self._failed(account, cycle_id, exc, log, slot)
        finally:
            structlog.contextvars.unbind_contextvars("cycle_id", "account")
        return report

    def _steps(
        self,
        account: str,
        settings: AccountSettings,
        cycle_id: str,
        submit: bool,
        withdrawal: Decimal,
        log: Log,
    ) -> CycleReport:
        broker = ReadRetrying(
            self._broker_for(account),
            log=log,
            budget=float(settings.read_retry_seconds),
            sleep=self._sleep,
            name=settings.broker,
        )
        strategy = self._strategy_for(account)
        asked = withdrawal  # the operator's --withdraw, checked once the snapshot is read
        # The month's income share goes the way of --withdraw (docs/income.md).
        income = self._income.share(
            account, now=self._clock(), cycle_id=cycle_id, submit=submit, log=log
        )
        if income is not None:
            withdrawal += income.withdrawal
        # A household account's targets come from the household split, not its strategy.
        in_household = account in household_members(self._settings)
        wanted = household_universe(self._settings) if in_household else strategy.universe()
        universe = sorted(set(wanted) | alternate_symbols(settings))
        given, tax, household = self._gather(
            broker,
            strategy,
            account,
            settings,
            universe,
            cycle_id,
            submit,
            withdrawal,
            log,
            asked=asked,
        )
        decision = _noted(decide(given), tax.stale)
        self._record_decision(decision, given.snapshot, tax, account, settings, cycle_id, submit)
        if decision.tripped is not None and submit:
            self._halt(account, cycle_id, f"{decision.tripped.check}: {decision.tripped.reason}")
        outcomes: list[OrderOutcome] = []
        drift_after: tuple[DriftRow, ...] | None = None
        # Without orders (the cash was there, or a hold), the cash the cycle saw is what it has.
        cash_after: Decimal | None = given.snapshot.cash if decision.hold is not None else None
        if decision.hold is None:
            executor = Executor(
                database=self._database,
                broker=broker,
                clock=self._clock,
                log=log,
                fill_timeout=(
                    float(settings.fill_wait_seconds)
                    if self._fill_timeout is None
                    else self._fill_timeout
                ),
                should_stop=self._should_stop,
                sleep=self._poll_sleep,
                monotonic=self._monotonic,
            )
            outcomes = executor.execute(
                cycle_id=cycle_id,
                account=account,
                orders=decision.approved,
                terms=given.terms,
                increment_for=given.planning.increment_for,
            )
            self._trip_rules(account, cycle_id, outcomes)
            after = self._after_trading(broker, account, universe, cycle_id, log)
            tax.record(self._clock(), cycle_id)
            drift_after = self._drift_after(
                after, decision.plan_input, given.planning, withdrawal, log
            )
            if after is not None:
                cash_after = after.snapshot.cash
        if submit and income is not None:
            self._income_settled(account, income, cash_after, cycle_id)
        report = CycleReport(
            cycle_id=cycle_id,
            account=account,
            outcome="succeeded" if submit else "planned",
            submitted=decision.hold is None,
            why_not_submitted=str(decision.hold or ""),
            snapshot=given.snapshot,
            plan=decision.plan,
            review=decision.review,
            refusals=decision.refusals,
            outcomes=tuple(outcomes),
            drift_after=drift_after,
            household=household,
            cash_after=cash_after if submit else None,
        )
        self._finish(report, log, slot_row=submit)
        return report

    def _income_settled(
        self, account: str, income: IncomeShare, cash_after: Decimal | None, cycle_id: str
    ) -> None:
        """Record the account's income share as raised when the cycle ended with it in cash
        (`cash_after` None: the broker could not be read after trading; the next cycle will)."""
        if cash_after is not None:
            self._income.settle(
                account, income, cash_after=cash_after, now=self._clock(), cycle_id=cycle_id
            )

    def _gather(
        self,
        broker: Broker,
        strategy: Strategy,
        account: str,
        settings: AccountSettings,
        universe: list[str],
        cycle_id: str,
        submit: bool,
        withdrawal: Decimal,
        log: Any,
        *,
        asked: Decimal,
    ) -> tuple[DecisionInput, TaxCycle, HouseholdSplit | None]:
        """Read everything the decision depends on, recording what must be recorded first:
        the reconciliation, the snapshot, the valuation and the ledger's new fills.

        `withdrawal` is the cash the cycle keeps (`asked`, the operator's --withdraw, plus
        the month's income share); `asked` above what it may sell fails the cycle
        (`WithdrawalTooLarge`) before targets are asked or anything is planned."""
        unbooked = Unbooked()
        pending: tuple[PendingFill, ...] = ()
        if submit:
            reconciled = self._reconcile(broker, account, universe, cycle_id, log)
            snapshot = reconciled.snapshot
            busy = frozenset(reconciled.busy_symbols)
            pending = reconciled.pending_fills  # the tax lots lack them until listed
        else:
            snapshot = broker.snapshot(universe)
            busy = frozenset(o.symbol for o in snapshot.open_orders)
            # Read after the snapshot, so the fills behind its positions are among them.
            unbooked = read_unbooked(
                database=self._database,
                broker=broker,
                account=account,
                clock=self._clock,
                exchange=self._settings.exchange,
                log=log,
            )
        open_buys = [o.client_order_id for o in snapshot.open_orders if o.side is Side.BUY]
        ours = False
        if open_buys:  # looked up by id: the few open orders, not the account's history
            with self._database.transaction() as session:
                store = IntentStore(session)
                found = (store.find(coid) for coid in open_buys)
                ours = any(f is not None and f.intent.account == account for f in found)
        if ours:
            # One of trimtab's buys is still open (a manual account's ticket stays open until
            # confirmed): its shares are not in the positions while its cash may be out of the
            # cash (a ticket's is), so every weight is off. Nothing is traded until it is done.
            busy = busy | set(universe) | {p.symbol for p in snapshot.positions}
        now = self._clock()
        exchange = self._settings.exchange
        self._audit(SnapshotTaken(snapshot), account, cycle_id)
        if submit:  # the broker's valuation and new flows, for returns; never fails the cycle
            record_point(
                database=self._database,
                settings=self._settings,
                account=account,
                broker=broker,
                snapshot=snapshot,
                source=ValuationSource.CYCLE,
                ref=cycle_id,
                clock=self._clock,
                log=log,
            )
        tax = TaxCycle.open(
            settings=self._settings,
            database=self._database,
            account=account,
            now=now,
            broker=broker if submit else None,
            cycle_id=cycle_id,
            snapshot=snapshot,
            unbooked=unbooked,
            pending=pending,
        )
        tax.stale = unbooked.stale
        # Bad input from the operator, not a planning rule: the backtest never passes here.
        unsold = never_sold(self._settings, account)  # keep, restricted: no sale raises it
        check_withdrawal(account, snapshot, asked, kept=withdrawal - asked, unsold=unsold)
        household = None
        if account in household_members(self._settings):
            household = self._household(
                account, broker, snapshot, universe, withdrawal, cycle_id, log
            )
            targets = household.targets_for(account)
            # The split's buyable symbols: an alternate is quoted, never the split's to buy.
            allowed = household_symbols(self._settings)
        else:
            allowed = strategy.universe()
            # Bad history fails this account's cycle only, after its snapshot was audited.
            targets = strategy_targets(
                self._settings,
                account,
                strategy=strategy,
                broker=broker,
                snapshot=snapshot,
                database=self._database,
                now=now,
                log=log,
            )
        with self._database.transaction() as session:
            kill = kill_switch_state(session)
            state = account_state(session, account)
            activity = recent_activity(session, account, now, exchange)
        given = decision_input(
            self._settings,
            account,
            snapshot=snapshot,
            targets=targets,
            universe=allowed,
            state=CycleState(
                kill_switch_reason=(kill.reason or "engaged") if kill.engaged else None,
                trading_state=state.state,
                trading_state_reason=state.reason,
                # Outside hours, the calendar is not asked: building its minutes costs memory.
                market_open=settings.policy.outside_hours
                or (market_open(now, exchange) and snapshot.market_open is not False),
                busy_symbols=busy,
                orders_in_last_minute=activity.sent_last_minute,
                traded_today=activity.traded_today,
            ),
            tax=tax.inputs(),
            now=now,
            submit=submit,
            withdrawal=withdrawal,
            costs=broker.trade_costs,
        )
        return given, tax, household

    def _household(
        self,
        account: str,
        broker: Broker,
        snapshot: AccountSnapshot,
        universe: list[str],
        withdrawal: Decimal,
        cycle_id: str,
        log: Log,
    ) -> HouseholdSplit:
        """Split the household target (fixed, or its strategy's on the whole household now)
        with every member's holdings; audit the split with where the targets came from."""

        def fresh(name: str) -> AccountSnapshot:
            member = self._settings.account(name)
            return ReadRetrying(
                self._broker_for(name),
                log=log,
                budget=float(member.read_retry_seconds),
                sleep=self._sleep,
                name=member.broker,
            ).snapshot(universe)

        def recorded(name: str) -> AuditRecord | None:
            with self._database.transaction() as session:
                return AuditLog(session).latest(str(AuditKind.SNAPSHOT), name)

        split, sources = household_split(
            self._settings,
            account,
            snapshot,
            withdrawal=withdrawal,
            read=HouseholdRead(snapshot=fresh, recorded=recorded),
            now=self._clock(),
            # Bad history fails this account's cycle only, after its snapshot was audited.
            choose=lambda snapshots: household_targets(
                self._settings,
                broker_for=lambda name: broker if name == account else self._broker_for(name),
                snapshots=snapshots,
                database=self._database,
                now=self._clock(),
                log=log,
            ),
        )
        self._audit(HouseholdSplitMade(split=split, sources=sources), account, cycle_id)
        log.info(
            "household_split",
            accounts=len(split.accounts),
            notes=len(split.notes),
            targets_from=split.targets_from or "household.targets",
        )
        return split

    def _record_decision(
        self,
        decision: Decision,
        snapshot: AccountSnapshot,
        tax: TaxCycle,
        account: str,
        settings: AccountSettings,
        cycle_id: str,
        submit: bool,
    ) -> None:
        """Audit the decision step by step: targets, tax, plan, pre-trade checks."""
        chosen_by = None
        if account in household_members(self._settings):
            household = self._settings.household
            # "household: NAME" when a household strategy chose the weights the split placed.
            strategy = household.strategy if household is not None else None
            chosen_by = f"household: {strategy}" if strategy else "household"
        self._audit(
            TargetsChosen(chosen_by or settings.strategy, decision.targets), account, cycle_id
        )
        tax.keep(decision, cycle_id=cycle_id, save=submit, at=self._clock())
        quotes = {s: snapshot.quotes[s] for s in decision.plan_input.prices}
        self._audit(
            PlanMade(
                plan=decision.plan,
                prices_as_of={s: q.as_of for s, q in quotes.items()},
                synthetic_prices=tuple(sorted(s for s, q in quotes.items() if q.synthetic)),
            ),
            account,
            cycle_id,
        )
        self._audit(RiskDecisions(decision.checked), account, cycle_id)

    def _reconcile(
        self,
        broker: Broker,
        account: str,
        universe: list[str],
        cycle_id: str,
        log: Log,
        *,
        after_trading: bool = False,
    ) -> Reconciliation:
        return reconcile(
            database=self._database,
            broker=broker,
            account=account,
            symbols=universe,
            clock=self._clock,
            log=log,
            on_mismatch=TradingState(self._settings.risk.on_mismatch),
            cycle_id=cycle_id,
            exchange=self._settings.exchange,
            always_read_reinvestments=not after_trading,
            sleep=self._poll_sleep,  # the waits for fills listed late, paced as the fill wait
        )

    def _after_trading(
        self, broker: Broker, account: str, universe: list[str], cycle_id: str, log: Log
    ) -> Reconciliation | None:
        """Record the cycle's fills now; if the broker cannot be read, the next cycle will."""
        try:
            return self._reconcile(broker, account, universe, cycle_id, log, after_trading=True)
        except TransientBrokerError as exc:
            log.warning("post_trade_reconciliation_failed", error=str(exc))
            return None

    def _drift_after(
        self,
        after: Reconciliation | None,
        planned: PlanInput,
        policy: PlanningPolicy,
        withdrawal: Decimal,
        log: Log,
    ) -> tuple[DriftRow, ...] | None:
        """Return the drift table of the account as the broker reports it after trading.

        Recorded so paper validation can compare the result with the bands; None when the
        post-trade read failed or its quotes cannot be planned on (the cycle still succeeded).
        Against the targets the cycle planned to, its alternates standing in as it had them.
        """
        if after is None:
            return None
        try:
            plan_input = planning_input(
                after.snapshot,
                planned.targets,
                now=self._clock(),
                max_quote_age=self._max_quote_age(),
                withdrawal=withdrawal,
            )
            plan_input = replace(plan_input, stand_ins=planned.stand_ins)
            return plan_rebalance(plan_input, policy).drift
        except TrimtabError as exc:
            log.warning("drift_after_unknown", error=str(exc))
            return None

    def _max_quote_age(self) -> timedelta:
        return timedelta(hours=float(self._settings.risk.max_quote_age_hours))

    def _trip_rules(self, account: str, cycle_id: str, outcomes: list[OrderOutcome]) -> None:
        """Halt the account when the broker rejected too many of this cycle's orders.

        Only REJECTED counts: an order not sent (kill switch, stopping, a lost link or a rate
        limit: `NotSent`) is CANCELLED, and the broker never saw it to reject it.
        """
        rejected = [o for o in outcomes if o.status is OrderStatus.REJECTED]
        limit = self._settings.risk.trip_rejections_per_cycle
        if len(rejected) < limit:
            return
        reasons = "; ".join(f"{o.intent.symbol}: {o.detail}" for o in rejected)
        self._halt(
            account,
            cycle_id,
            f"{len(rejected)} orders rejected in one cycle (limit {limit}): {reasons}",
        )

    def _halt(self, account: str, cycle_id: str, reason: str) -> None:
        with self._database.transaction() as session:
            set_trading_state(
                session,
                account,
                TradingState.HALTED,
                at=self._clock(),
                cycle_id=cycle_id,
                actor="trip rule",
                reason=reason,
            )

    def _finish(self, report: CycleReport, log: Log, *, slot_row: bool) -> None:
        plan = report.plan
        assert plan is not None
        summary = CycleFinished(
            outcome=report.outcome,
            submitted=report.submitted,
            why_not_submitted=report.why_not_submitted,
            planned_orders=len(plan.orders),
            denied=len(report.review.denied) if report.review else 0,
            orders=tuple(
                SentOrder(
                    symbol=o.intent.symbol,
                    side=o.intent.side,
                    qty=o.intent.qty,
                    status=o.status,
                    client_order_id=o.intent.client_order_id,
                )
                for o in report.outcomes
            ),
            cash_after_plan=plan.cash_after,
            triggered=plan.triggered,
            drift_after=None
            if report.drift_after is None
            else tuple(
                DriftAfter(
                    symbol=row.symbol,
                    weight=row.weight,
                    target=row.target,
                    low=row.low,
                    high=row.high,
                    out_of_band=row.out_of_band,
                    managed=row.managed,
                )
                for row in report.drift_after
            ),
        )
        now = self._clock()
        with self._database.transaction() as session:
            AuditLog(session).append(
                summary,
                at=now,
                account=report.account,
                cycle_id=report.cycle_id,
            )
            if slot_row:
                CycleStore(session).finish(report.cycle_id, report.outcome, at=now)
        log.info(
            "cycle_finished",
            outcome=report.outcome,
            orders=len(plan.orders),
            submitted=sum(1 for outcome in report.outcomes if outcome.sent),
            why_not_submitted=report.why_not_submitted,
        )

    def _failed(
        self, account: str, cycle_id: str, exc: BaseException, log: Log, slot: str | None
    ) -> CycleReport:
        error = f"{type(exc).__name__}: {exc}"
        now = self._clock()
        with self._database.transaction() as session:
            AuditLog(session).append(
                CycleFailed(error_type=type(exc).__name__, error=str(exc)),
                at=now,
                account=account,
                cycle_id=cycle_id,
            )
            if slot is not None:
                CycleStore(session).finish(cycle_id, "failed", at=now, error=error)
        log.error("cycle_failed", error=error)
        return CycleReport(
            cycle_id=cycle_id,
            account=account,
            outcome="failed",
            submitted=False,
            why_not_submitted="cycle failed",
            error=error,
        )

    def _audit(self, event: AuditEvent, account: str, cycle_id: str) -> None:
        with self._database.transaction() as session:
            AuditLog(session).append(event, at=self._clock(), account=account, cycle_id=cycle_id)


def _noted(decision: Decision, note: str | None) -> Decision:
    """Add `note` to the plan's notes (audited with it, shown by `trimtab plan`)."""
    if note is None:
        return decision
    plan = decision.plan
    taxed = replace(decision.taxed, plan=replace(plan, notes=(*plan.notes, note)))
    return replace(decision, taxed=taxed)
