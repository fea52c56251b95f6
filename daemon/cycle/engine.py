"""One account's cycle: reconcile, snapshot, targets, plan, checks, mode gate, orders, audit.

`run_cycle` never raises for bad input or a broker failure: it audits the cycle as failed,
names the cause and submits nothing more. Only the planner and the checks decide what is
sent, and only `Executor` sends.
"""

from __future__ import annotations

__all__ = ["CycleReport", "Engine", "SlotAlreadyRan"]

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from adapters.base import Broker
from daemon.audit.log import AuditKind, AuditLog
from daemon.config.policy import planning_policy
from daemon.config.settings import AccountSettings, Settings
from daemon.core.calendar import market_open, trading_day
from daemon.core.domain import AccountSnapshot, Mode, OrderStatus, TradingState
from daemon.core.errors import TransientBrokerError, TrimtabError
from daemon.core.inputs import check_targets, planning_input
from daemon.core.planner import DriftRow, Plan, PlanningPolicy, plan_rebalance
from daemon.core.risk import TRIPPING_CHECKS, RiskLimits, RiskReview, review_orders
from daemon.cycle.execution import Executor, OrderOutcome, limit_price
from daemon.cycle.reconcile import Reconciliation, reconcile
from daemon.cycle.retry import ReadRetrying
from daemon.cycle.tax import TaxCycle, tax_symbols
from daemon.logs import Log, get_logger
from daemon.monitor.history import record_point
from daemon.store.activity import recent_activity
from daemon.store.cycles import next_attempt_id, slot_attempts, slot_base
from daemon.store.db import Database
from daemon.store.killswitch import current as kill_switch_state
from daemon.store.models import CycleRow
from daemon.store.trading_state import account_state, set_trading_state
from daemon.store.valuations import ValuationSource
from strategies.base import Strategy, StrategyContext


class SlotAlreadyRan(TrimtabError):
    """The slot's cycle completed before; re-running it needs an explicit --force."""


@dataclass(frozen=True, slots=True)
class CycleReport:
    cycle_id: str
    account: str
    outcome: str
    """succeeded, failed, or planned (a plan-only run)."""
    submitted: bool
    why_not_submitted: str = ""
    snapshot: AccountSnapshot | None = None
    plan: Plan | None = None
    review: RiskReview | None = None
    outcomes: tuple[OrderOutcome, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    drift_after: tuple[DriftRow, ...] | None = None
    """Weights against bands once the cycle's orders are done; None when nothing was sent."""


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
        fill_timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._settings = settings
        self._should_stop = should_stop
        """True once the daemon is stopping: orders not yet sent are recorded as not sent."""
        self._database = database
        self._broker_for = broker_for
        self._strategy_for = strategy_for
        self._clock = clock
        self._fill_timeout = fill_timeout
        self._sleep = sleep

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
            attempts = slot_attempts(session, base)
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
                session.add(
                    CycleRow(
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
                AuditKind.CYCLE_STARTED,
                {
                    "mode": mode,
                    "submit": submit,
                    "slot": slot,
                    "broker": settings.broker,
                    "strategy": settings.strategy,
                    "withdrawal": withdrawal,
                },
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
        broker = ReadRetrying(self._broker_for(account), log=log, sleep=self._sleep)
        strategy = self._strategy_for(account)
        universe = sorted(set(strategy.universe()) | tax_symbols(self._settings, account))
        if submit:
            reconciled = self._reconcile(broker, account, universe, cycle_id, log)
            snapshot = reconciled.snapshot
            busy = set(reconciled.busy_symbols)
        else:
            snapshot = broker.snapshot(universe)
            busy = {o.symbol for o in snapshot.open_orders}
        now = self._clock()
        context = StrategyContext(
            trading_day=trading_day(now, self._settings.exchange),
            account=account,
            account_type=settings.type,
            cash=snapshot.cash,
            holdings={p.symbol: p.qty for p in snapshot.positions},
            prices={s: q.price for s, q in snapshot.quotes.items()},
        )
        self._audit(AuditKind.SNAPSHOT, {"snapshot": snapshot}, account, cycle_id)
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
        )
        targets = check_targets(strategy.targets(context), settings.strategy)
        self._audit(
            AuditKind.TARGETS,
            {"strategy": settings.strategy, "targets": targets},
            account,
            cycle_id,
        )
        targets = tax.stand_ins(targets, context.holdings, context.prices, snapshot.cash)
        max_age = timedelta(hours=float(self._settings.risk.max_quote_age_hours))
        plan_input = planning_input(
            snapshot, targets, now=now, max_quote_age=max_age, withdrawal=withdrawal
        )
        policy = planning_policy(
            settings, fractionable=snapshot.fractionable, symbols=plan_input.prices.keys()
        )
        plan = plan_rebalance(plan_input, policy)
        plan = tax.apply(
            plan,
            plan_input.prices,
            policy,
            snapshot=snapshot,
            max_age=max_age,
            cycle_id=cycle_id,
            save=submit,
            at=self._clock(),
        ).plan
        self._audit(
            AuditKind.PLAN,
            {
                "plan": plan,
                "prices_as_of": {s: snapshot.quotes[s].as_of for s in plan_input.prices},
                "synthetic_prices": sorted(
                    s for s in plan_input.prices if snapshot.quotes[s].synthetic
                ),
            },
            account,
            cycle_id,
        )
        with self._database.transaction() as session:
            kill = kill_switch_state(session)
            state = account_state(session, account)
            activity = recent_activity(session, account, now, self._settings.exchange)
        risk = self._settings.risk
        review = review_orders(
            plan.orders,
            RiskLimits(
                cash=snapshot.cash,
                nav=plan.nav,
                holdings=plan_input.holdings,
                busy_symbols=busy,
                cash_buffer=settings.policy.cash_buffer,
                min_trade_notional=settings.policy.min_trade_notional,
                max_order_notional=risk.max_order_notional,
                max_order_pct_nav=risk.max_order_pct_nav,
                kill_switch_reason=(kill.reason or "engaged") if kill.engaged else None,
                trading_state=state.state,
                trading_state_reason=state.reason,
                market_open=settings.policy.outside_hours
                or (
                    market_open(now, self._settings.exchange) and snapshot.market_open is not False
                ),
                allowed_symbols=frozenset(risk.allowed_symbols),
                restricted_symbols=frozenset(risk.restricted_symbols),
                previous_closes={
                    s: q.previous_close
                    for s, q in snapshot.quotes.items()
                    if q.previous_close is not None
                },
                max_move_since_close=risk.max_move_since_close,
                limit_prices={
                    o.symbol: lp
                    for o in plan.orders
                    if (lp := limit_price(o, settings.policy)) is not None
                },
                max_price_collar=risk.max_price_collar,
                max_orders_per_cycle=risk.max_orders_per_cycle,
                max_orders_per_minute=risk.max_orders_per_minute,
                orders_in_last_minute=activity.sent_last_minute,
                max_turnover_per_cycle=risk.max_turnover_per_cycle,
                max_turnover_per_day=risk.max_turnover_per_day,
                traded_today=activity.traded_today,
            ),
        )
        self._audit(AuditKind.RISK_DECISION, {"decisions": review.decisions}, account, cycle_id)
        tripped = [d for d in review.denied if d.check in TRIPPING_CHECKS]
        if tripped and submit:
            self._halt(account, cycle_id, f"{tripped[0].check}: {tripped[0].reason}")
        why_not = self._why_not_submitted(submit, kill.engaged, review, tripped=bool(tripped))
        outcomes: list[OrderOutcome] = []
        drift_after: tuple[DriftRow, ...] | None = None
        if not why_not:
            executor = Executor(
                database=self._database,
                broker=broker,
                clock=self._clock,
                log=log,
                fill_timeout=self._fill_timeout,
                should_stop=self._should_stop,
            )
            outcomes = executor.execute(
                cycle_id=cycle_id,
                account=account,
                orders=review.approved,
                policy=settings.policy,
                increment_for=policy.increment_for,
            )
            self._trip_rules(account, cycle_id, outcomes)
            after = self._after_trading(broker, account, universe, cycle_id, log)
            tax.record(broker, self._clock(), cycle_id, reinvestments=False)
            drift_after = self._drift_after(after, targets, policy, withdrawal, log)
        report = CycleReport(
            cycle_id=cycle_id,
            account=account,
            outcome="succeeded" if submit else "planned",
            submitted=not why_not,
            why_not_submitted=why_not,
            snapshot=snapshot,
            plan=plan,
            review=review,
            outcomes=tuple(outcomes),
            drift_after=drift_after,
        )
        self._finish(report, log, slot_row=submit)
        return report

    def _reconcile(
        self, broker: Broker, account: str, universe: list[str], cycle_id: str, log: Log
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
        )

    def _after_trading(
        self, broker: Broker, account: str, universe: list[str], cycle_id: str, log: Log
    ) -> Reconciliation | None:
        """Record the cycle's fills now; if the broker cannot be read, the next cycle will."""
        try:
            return self._reconcile(broker, account, universe, cycle_id, log)
        except TransientBrokerError as exc:
            log.warning("post_trade_reconciliation_failed", error=str(exc))
            return None

    def _drift_after(
        self,
        after: Reconciliation | None,
        targets: Mapping[str, Decimal],
        policy: PlanningPolicy,
        withdrawal: Decimal,
        log: Log,
    ) -> tuple[DriftRow, ...] | None:
        """Return the drift table of the account as the broker reports it after trading.

        Recorded so paper validation can compare the result with the bands; None when the
        post-trade read failed or its quotes cannot be planned on (the cycle still succeeded).
        """
        if after is None:
            return None
        max_age = timedelta(hours=float(self._settings.risk.max_quote_age_hours))
        try:
            plan_input = planning_input(
                after.snapshot,
                targets,
                now=self._clock(),
                max_quote_age=max_age,
                withdrawal=withdrawal,
            )
            return plan_rebalance(plan_input, policy).drift
        except TrimtabError as exc:
            log.warning("drift_after_unknown", error=str(exc))
            return None

    def _trip_rules(self, account: str, cycle_id: str, outcomes: list[OrderOutcome]) -> None:
        """Halt the account when the broker rejected too many of this cycle's orders."""
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

    def _why_not_submitted(
        self, submit: bool, kill_engaged: bool, review: RiskReview, *, tripped: bool
    ) -> str:
        if not submit:
            return "plan only"
        if tripped:
            return "a risk limit tripped: account halted"
        if self._settings.mode is Mode.DRY_RUN:
            return "dry-run mode"
        if kill_engaged:
            return "kill switch engaged"
        if not review.approved:
            return "no orders to send"
        return ""

    def _finish(self, report: CycleReport, log: Log, *, slot_row: bool) -> None:
        plan = report.plan
        assert plan is not None
        summary = {
            "outcome": report.outcome,
            "submitted": report.submitted,
            "why_not_submitted": report.why_not_submitted,
            "planned_orders": len(plan.orders),
            "denied": len(report.review.denied) if report.review else 0,
            "orders": [
                {
                    "symbol": o.intent.symbol,
                    "side": o.intent.side,
                    "qty": o.intent.qty,
                    "status": o.status,
                    "client_order_id": o.intent.client_order_id,
                }
                for o in report.outcomes
            ],
            "cash_after_plan": plan.cash_after,
            "triggered": plan.triggered,
        }
        if report.drift_after is not None:
            summary["drift_after"] = [
                {
                    "symbol": row.symbol,
                    "weight": row.weight,
                    "target": row.target,
                    "low": row.low,
                    "high": row.high,
                    "out_of_band": row.out_of_band,
                    "managed": row.managed,
                }
                for row in report.drift_after
            ]
        now = self._clock()
        with self._database.transaction() as session:
            AuditLog(session).append(
                AuditKind.CYCLE_FINISHED,
                summary,
                at=now,
                account=report.account,
                cycle_id=report.cycle_id,
            )
            if slot_row:
                row = session.get(CycleRow, report.cycle_id)
                if row is not None:
                    row.outcome = report.outcome
                    row.finished_at = now
        log.info(
            "cycle_finished",
            outcome=report.outcome,
            orders=len(plan.orders),
            submitted=len(report.outcomes),
            why_not_submitted=report.why_not_submitted,
        )

    def _failed(
        self, account: str, cycle_id: str, exc: BaseException, log: Log, slot: str | None
    ) -> CycleReport:
        error = f"{type(exc).__name__}: {exc}"
        now = self._clock()
        with self._database.transaction() as session:
            AuditLog(session).append(
                AuditKind.CYCLE_FAILED,
                {"error_type": type(exc).__name__, "error": str(exc)},
                at=now,
                account=account,
                cycle_id=cycle_id,
            )
            if slot is not None:
                row = session.get(CycleRow, cycle_id)
                if row is not None:
                    row.outcome = "failed"
                    row.finished_at = now
                    row.error = error
        log.error("cycle_failed", error=error)
        return CycleReport(
            cycle_id=cycle_id,
            account=account,
            outcome="failed",
            submitted=False,
            why_not_submitted="cycle failed",
            error=error,
        )

    def _audit(self, kind: AuditKind, payload: dict[str, Any], account: str, cycle_id: str) -> None:
        with self._database.transaction() as session:
            AuditLog(session).append(
                kind, payload, at=self._clock(), account=account, cycle_id=cycle_id
            )
