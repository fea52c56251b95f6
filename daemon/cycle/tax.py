"""The tax ledger's part of a cycle: the I/O around the pure tax step.

`TaxCycle.open` records the reinvestments and fills the ledger lacks and replays the
household's trades once per cycle (a plan, which records nothing, adds the broker's
reinvestments and fills the ledger lacks to its replay in memory: `daemon.cycle.unbooked`),
then compares the account's open lots with the broker's positions (taxable accounts: a
split, a transfer or lots never imported leave them apart), less the shares of fills the
broker reported but has not listed yet (`daemon.cycle.reconcile.PendingFill`: the ledger
records them when listed, as the book counts them; `FillsPending`);
`inputs` hands the replay and the differences to the decision step (`daemon.core.decide`,
where the tax rules run, pure, and do not trust the lots of a symbol that differs); `keep`
audits the tax decisions and keeps the plan's lot choices; `record` adds the cycle's fills
after trading and audits the lots each sale relieved. Audit records are written only when
there is something to say: a tax decision, a sell's preview, a sale recorded, lots that
differ from the broker's positions (at each cycle that may trade while they do, and once
when they agree again; the alert `ledger_mismatch:SYMBOL` reads the latest).
"""

from __future__ import annotations

__all__ = ["FillsPending", "TaxCycle", "empty_ledger", "lot_differences"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from daemon.audit.events import (
    AuditKind,
    LedgerSale,
    LotDifference,
    LotsMismatched,
    RelievedLot,
    TaxDecisions,
    TaxLots,
)
from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone
from daemon.core.decide import Decision, TaxInputs
from daemon.core.domain import AccountSnapshot, AccountType, Fill
from daemon.core.planner.reasons import quantity
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.mismatch import LotMismatch, lot_mismatches, lot_quantities
from daemon.core.tax.types import LotMethod, Split, TaxPolicy, Trade
from daemon.cycle.reconcile import PendingFill, book_positions
from daemon.cycle.unbooked import Unbooked, fold_fills
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database, Transaction
from daemon.store.intents import IntentStore
from daemon.store.tax_ledger import (
    HouseholdAccount,
    TaxLedger,
    household_accounts,
    lot_id_of,
    lot_trade_id,
    tax_policy,
)
from daemon.store.tax_sources import RecordedSale, record_fills

_ZERO = Decimal(0)


def empty_ledger(settings: Settings, account: str, now: datetime) -> TaxInputs:
    """The tax step's inputs for a ledger with no trades: lots and windows unknown (offline
    planning, where a holdings file has no history)."""
    return TaxInputs(
        book=replay_trades((), tax_policy(settings)),
        today=now.astimezone(exchange_timezone(settings.exchange)).date(),
        settings=settings.account(account).tax,
        identical=tax_policy(settings).identical,
    )


@dataclass(frozen=True, slots=True)
class FillsPending(LotMismatch):
    """A symbol with fills the broker reported for trimtab's orders but has not listed yet,
    whose lots agree with the broker's position less those shares: no lot is missing (the
    ledger records the fills once listed), but until then the lots do not describe the
    shares held, so the tax step plans the symbol as for a difference, saying why. Never
    audited as a lot mismatch nor alerted: there is nothing to fix."""

    @property
    def reason(self) -> str:
        """Say why the lots are not trusted, in words."""
        return (
            f"fills pending: the broker reported fills of {self.symbol} for trimtab's orders "
            f"that it has not listed yet, so the ledger's lots hold {quantity(self.ledger)} "
            f"{self.symbol} and the broker {quantity(self.broker)}: its lots' basis is not "
            "trusted until they are listed (no gains estimate, no wash-sale check of its sells, "
            "no harvest)"
        )

    @property
    def fix(self) -> str:
        """Say that the owner has nothing to do."""
        return (
            "nothing to do: the ledger records the fills when the broker lists them (lots "
            "imported for these shares would count them twice)"
        )


def lot_differences(
    lots: Mapping[str, Decimal],
    positions: Mapping[str, Decimal],
    pending: Sequence[PendingFill] = (),
) -> tuple[tuple[LotMismatch, ...], tuple[FillsPending, ...]]:
    """Return the symbols whose open `lots` differ from the broker's `positions` less the
    `pending` fills' shares (`book_positions`: what the ledger holds once they are listed),
    and every other symbol with pending fills (`FillsPending`). A difference of a symbol
    whose pending shares do not net to zero holds the broker's position in `held`: its words
    name that position and the pending shares apart."""
    compared = lot_mismatches(lots, book_positions(positions, pending))
    mismatches = tuple(
        m
        if positions.get(m.symbol, _ZERO) == m.broker
        else LotMismatch(m.symbol, m.ledger, m.broker, positions.get(m.symbol, _ZERO))
        for m in compared
    )
    differ = {m.symbol for m in mismatches}
    waiting = sorted({p.symbol for p in pending} - differ)
    return mismatches, tuple(
        FillsPending(s, lots.get(s, _ZERO), positions.get(s, _ZERO)) for s in waiting
    )


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
    mismatches: tuple[LotMismatch, ...] = ()
    """Symbols whose lots differ from the broker's positions, its pending fills aside."""
    pending: tuple[FillsPending, ...] = ()
    """Symbols whose fills the broker has not listed yet: not trusted, not a mismatch."""
    stale: str | None = None
    """Why the replay may lack fills the broker reports (a plan that could not read them)."""

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
        snapshot: AccountSnapshot | None = None,
        unbooked: Unbooked | None = None,
        pending: Sequence[PendingFill] = (),
    ) -> TaxCycle:
        """Replay the household's ledger; first, given the broker (a cycle that may trade),
        add the recorded fills (its reconciliation booked the reinvestments).

        A plan (no broker) hands in `unbooked`, the account's fills the broker reports since
        reconciliation last read them and the reinvestments it reports since the run would
        read them (`daemon.cycle.unbooked.read_unbooked`): those the ledger lacks join the
        replay in memory, as the cycle would record them, and nothing is written.

        Given the account's `snapshot`, compare its open lots with the broker's positions
        (taxable accounts only: elsewhere no decision reads them), less the shares of the
        `pending` fills its reconciliation found (`lot_differences`). A cycle given the
        broker audits the differences (`_audit_mismatches`); a plan without it only plans by
        them.
        """
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
            cycle.record(now, cycle_id)
        with database.transaction() as session:
            trades = TaxLedger(session).trades(accounts)
            if unbooked is not None and (unbooked.fills or unbooked.reinvestments):
                trades = cycle._folded(session, trades, unbooked)
        cycle.book = replay_trades(trades, policy)
        if snapshot is not None and settings.account(account).type is AccountType.TAXABLE:
            cycle.mismatches, cycle.pending = lot_differences(
                lot_quantities(cycle.book.lots(account)),
                {p.symbol: p.qty for p in snapshot.positions if p.qty != 0},
                pending,
            )
            if broker is not None:
                cycle._audit_mismatches(now, cycle_id)
        return cycle

    def _folded(
        self, session: Transaction, trades: list[Trade | Split], unbooked: Unbooked
    ) -> list[Trade | Split]:
        """Return `trades` with the account's reinvestments and fills the ledger lacks; read,
        never written."""
        ledger = TaxLedger(session)
        intents = IntentStore(session)
        specific = self.policy.method_for(self.account) is LotMethod.SPECIFIC

        def chosen(fill: Fill) -> list[tuple[str, Decimal]]:
            # The lots the plan of the sell's cycle chose, as `record_fills` relieves them.
            stored = intents.find(fill.client_order_id) if specific else None
            if stored is None:
                return []
            picks, _ = ledger.choices(stored.intent.cycle_id, fill.symbol)
            return [(lot_trade_id(lot_id), qty) for lot_id, qty in picks]

        return fold_fills(
            trades,
            [f for f in unbooked.fills if not ledger.has_source(self.account, f.fill_id)],
            account=self.accounts[self.account],
            policy=self.policy,
            timezone=exchange_timezone(self.settings.exchange),
            chosen=chosen,
            reinvestments=[
                r
                for r in unbooked.reinvestments
                if not ledger.has_source(self.account, r.source_id)
            ],
        )

    def _audit_mismatches(self, now: datetime, cycle_id: str) -> None:
        """Audit the differences; once they are gone, say so once (the alert then clears)."""
        with self.database.transaction() as session:
            audit = AuditLog(session)
            if not self.mismatches:
                latest = audit.latest(AuditKind.LEDGER_MISMATCH, self.account)
                event = None if latest is None else latest.event
                if not isinstance(event, LotsMismatched) or not event.mismatches:
                    return
            audit.append(
                LotsMismatched(
                    tuple(
                        LotDifference(m.symbol, m.ledger, m.broker, m.fix, m.held)
                        for m in self.mismatches
                    )
                ),
                at=now,
                account=self.account,
                cycle_id=cycle_id,
            )

    def inputs(self) -> TaxInputs:
        """Return what the decision step needs of the ledger: the replay, the rules and the
        symbols whose lots differ from the broker's positions or wait for pending fills."""
        return TaxInputs(
            book=self.book,
            today=self.today,
            settings=self.settings.account(self.account).tax,
            identical=self.policy.identical,
            mismatches=self.mismatches + self.pending,
        )

    def keep(self, decision: Decision, *, cycle_id: str, save: bool, at: datetime) -> None:
        """Audit what the tax step decided; keep its lot choices when `save` (a cycle that
        may trade), so the fills are matched to the lots the plan chose."""
        taxed = decision.taxed
        if not taxed.decisions and not taxed.lots:
            return
        account = self.settings.account(self.account)
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
                TaxDecisions(
                    decisions=taxed.decisions,
                    preview=taxed.preview,
                    lots={s: tuple(p) for s, p in taxed.lots.items()},
                    harvest=tuple(sorted(taxed.harvest)),
                    lot_method=LotMethod(account.tax.lot_method),
                    stand_ins=decision.stand_ins,
                ),
                at=at,
                account=self.account,
                cycle_id=cycle_id,
            )

    def record(self, now: datetime, cycle_id: str) -> list[RecordedSale]:
        """Add the account's new fills to the ledger; audit the sales.

        The reinvestments the broker reports are booked by reconciliation, which counts them
        like fills (`daemon.cycle.reconcile`), before these.
        """
        zone = exchange_timezone(self.settings.exchange)
        with self.database.transaction() as session:
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
                    TaxLots(sales=tuple(_ledger_sale(s) for s in sales)),
                    at=now,
                    account=self.account,
                    cycle_id=cycle_id,
                )
        return sales


def _ledger_sale(sale: RecordedSale) -> LedgerSale:
    return LedgerSale(
        sale_id=sale.sale_id,
        fill_id=sale.source_id,
        symbol=sale.symbol,
        sold=sale.sold,
        qty=sale.qty,
        proceeds=sale.proceeds,
        method=sale.method,
        harvest=sale.harvest,
        lots=tuple(RelievedLot(lot_id, qty) for lot_id, qty in sale.lots),
        unmatched=sale.unmatched,
    )
