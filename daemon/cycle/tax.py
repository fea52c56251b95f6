"""The tax ledger's part of a cycle: the I/O around the pure tax step.

`TaxCycle.open` records fills the ledger lacks and replays the household's trades once per
cycle; `stand_ins` and `apply` are the planner's tax awareness (pure, in `daemon.core.tax.harvest`
and `daemon.core.tax.tax_step`); `record` adds the cycle's fills after trading and audits the lots
each sale relieved. Audit records are written only when there is something to say: a tax
decision, a sell's preview, or a sale recorded.
"""

from __future__ import annotations

__all__ = ["TaxCycle", "tax_symbols"]

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from daemon.audit.log import AuditKind, AuditLog
from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone
from daemon.core.domain import AccountSnapshot
from daemon.core.errors import DataError, TransientBrokerError
from daemon.core.inputs import snapshot_prices
from daemon.core.planner import Plan, PlanningPolicy
from daemon.core.planner.reasons import money
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.plan_types import TaxContext, TaxedPlan, TaxPreview
from daemon.core.tax.tax_step import apply_tax, realized_this_year
from daemon.core.tax.types import TaxPolicy
from daemon.store.db import Database
from daemon.store.tax_ledger import (
    HouseholdAccount,
    TaxLedger,
    household_accounts,
    lot_id_of,
    tax_policy,
)
from daemon.store.tax_sources import RecordedSale, record_fills, record_reinvestments
from daemon.store.trading_state import reading_mark

_ZERO = Decimal(0)


def tax_symbols(settings: Settings, account: str) -> set[str]:
    """Return the symbols the tax step may trade beyond the strategy's: the alternates."""
    return set(settings.account(account).tax.alternates.values())


@dataclass
class TaxCycle:
    """One account's cycle as the ledger sees it."""

    settings: Settings
    database: Database
    account: str
    today: date
    accounts: Mapping[str, HouseholdAccount]
    policy: TaxPolicy
    book: TaxBook
    notes: list[str] = dataclasses.field(default_factory=list)
    """What `stand_ins` changed in the targets; added to the plan's notes."""

    @classmethod
    def open(
        cls,
        *,
        settings: Settings,
        database: Database,
        account: str,
        now: datetime,
        broker: object | None,
        cycle_id: str,
    ) -> TaxCycle:
        """Replay the household's ledger; first, given the broker (a cycle that may trade),
        add the recorded fills and the reinvestments the ledger lacks."""
        accounts = household_accounts(settings)
        policy = tax_policy(settings)
        cycle = cls(
            settings,
            database,
            account,
            now.astimezone(exchange_timezone(settings.exchange)).date(),
            accounts,
            policy,
            replay_trades((), policy),
        )
        if broker is not None:
            cycle.record(broker, now, cycle_id)
        with database.transaction() as session:
            cycle.book = replay_trades(TaxLedger(session).trades(accounts), policy)
        return cycle

    def stand_ins(
        self,
        targets: Mapping[str, Decimal],
        holdings: Mapping[str, Decimal],
        prices: Mapping[str, Decimal],
        cash: Decimal,
    ) -> dict[str, Decimal]:
        """Return the targets with held alternates standing in for their primaries."""
        adjusted, self.notes = stand_in_targets(
            targets,
            holdings,
            prices,
            cash,
            settings=self.settings.account(self.account).tax,
            identical=self.policy.identical,
            loss_windows=self.book.loss_windows(self.today),
            today=self.today,
        )
        return adjusted

    def apply(
        self,
        plan: Plan,
        prices: Mapping[str, Decimal],
        policy: PlanningPolicy,
        *,
        snapshot: AccountSnapshot,
        max_age: timedelta,
        cycle_id: str,
        save: bool,
        at: datetime,
    ) -> TaxedPlan:
        """Run the tax step on the plan; audit it, and keep its lot choices when `save`.

        The alternates' prices come from the snapshot; a missing, stale or bad quote leaves
        an alternate out (a redirect or harvest into it is then refused and says why).
        """
        account = self.settings.account(self.account)
        prices = dict(prices)
        for symbol in sorted(tax_symbols(self.settings, self.account) - set(prices)):
            with contextlib.suppress(DataError):
                prices |= snapshot_prices(snapshot, {symbol}, now=at, max_age=max_age)
        ctx = TaxContext(
            account=self.account,
            account_type=account.type,
            today=self.today,
            settings=account.tax,
            identical=self.policy.identical,
            book=self.book,
            loss_windows=self.book.loss_windows(self.today),
            purchase_windows=self.book.purchase_windows(self.today),
            realized=realized_this_year(self.book.sales, self.account, self.today.year),
            prices=prices,
            increments={s: policy.increment_for(s) for s in prices},
            min_trade=policy.min_trade_notional,
        )
        taxed = apply_tax(plan, ctx)
        notes = [*self.notes, _preview_note(taxed.preview)] if taxed.lots else self.notes
        if notes:
            taxed = TaxedPlan(
                plan=dataclasses.replace(taxed.plan, notes=(*taxed.plan.notes, *notes)),
                decisions=taxed.decisions,
                preview=taxed.preview,
                lots=taxed.lots,
                harvest=taxed.harvest,
            )
        if not taxed.decisions and not taxed.lots:
            return taxed
        with self.database.transaction() as session:
            if save:
                ledger = TaxLedger(session)
                for symbol, picks in taxed.lots.items():
                    chosen = [(lot_id_of(p.source_id), p.qty) for p in picks]
                    ledger.save_choices(
                        cycle_id,
                        symbol,
                        [(i, q) for i, q in chosen if i is not None and q is not None],
                        harvest=symbol in taxed.harvest,
                    )
            AuditLog(session).append(
                AuditKind.TAX_DECISION,
                {
                    "decisions": taxed.decisions,
                    "preview": taxed.preview,
                    "lots": {s: list(p) for s, p in taxed.lots.items()},
                    "harvest": sorted(taxed.harvest),
                    "lot_method": account.tax.lot_method,
                    "stand_ins": self.notes,
                },
                at=at,
                account=self.account,
                cycle_id=cycle_id,
            )
        return taxed

    def record(
        self, broker: object | None, now: datetime, cycle_id: str, *, reinvestments: bool = True
    ) -> list[RecordedSale]:
        """Add the account's new fills (and reinvestments) to the ledger; audit the sales.

        After trading, `reinvestments=False`: trimtab's orders cause no reinvestment, and the
        cycle read them before planning, so reading them again would be a request for nothing.
        """
        zone = exchange_timezone(self.settings.exchange)
        with self.database.transaction() as session:
            if broker is not None and reinvestments:
                # Read again next cycle if it fails: reinvestments are keyed by id.
                with contextlib.suppress(TransientBrokerError):
                    record_reinvestments(
                        session,
                        broker,
                        account=self.account,
                        since=_since(session, self.account, now),
                        timezone=zone,
                        at=now,
                    )
            sales = record_fills(
                session,
                account=self.account,
                accounts=self.accounts,
                policy=self.policy,
                timezone=zone,
                at=now,
            )
            if sales:
                AuditLog(session).append(
                    AuditKind.TAX_LOTS,
                    {"sales": [_sale_payload(s) for s in sales]},
                    at=now,
                    account=self.account,
                    cycle_id=cycle_id,
                )
        return sales


def _since(session: Session, account: str, now: datetime) -> datetime:
    mark = reading_mark(session, account, now).fills_read_through
    return mark if mark is not None else datetime(1970, 1, 1, tzinfo=now.tzinfo)


def _sale_payload(sale: RecordedSale) -> dict[str, Any]:
    return {
        "sale_id": sale.sale_id,
        "fill_id": sale.source_id,
        "symbol": sale.symbol,
        "sold": sale.sold,
        "qty": sale.qty,
        "proceeds": sale.proceeds,
        "method": sale.method,
        "harvest": sale.harvest,
        "lots": [{"lot_id": lot_id, "qty": qty} for lot_id, qty in sale.lots],
        "unmatched": sale.unmatched,
    }


def _preview_note(preview: TaxPreview) -> str:
    parts = [
        f"short-term gains {money(preview.short_term_gain)}",
        f"long-term gains {money(preview.long_term_gain)}",
        f"losses {money(preview.short_term_loss + preview.long_term_loss)}",
        f"disallowed {money(preview.disallowed)}",
    ]
    if preview.harvested:
        parts.append(f"harvested {money(preview.harvested)}")
    return "tax preview: " + ", ".join(parts)
