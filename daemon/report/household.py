"""The daily report's household allocation: the household against its `[household]` target,
and where each holding sits by account type (asset location).

Weights come from each member's latest valuation on or before the day (what the accounts
held at the end of it); the notes are the latest household split's (targets it could not
reach, location preferences it broke, and why)."""

from __future__ import annotations

__all__ = ["HouseholdLine", "HouseholdSection", "gather_household"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from daemon.audit.events import AuditKind, HouseholdSplitMade, PlanMade
from daemon.audit.record import events_of
from daemon.config.household import household_members
from daemon.config.settings import Settings
from daemon.core.domain import CASH, AccountType
from daemon.core.household import HouseholdSplit
from daemon.core.planner.verdict import PoolBand, pool_band
from daemon.report.model import AllocationRow
from daemon.store.audit_log import AuditLog
from daemon.store.db import Transaction
from daemon.store.valuations import latest_valuation

_TYPES = tuple(str(t) for t in AccountType)
SPLIT_LOOKBACK = timedelta(days=45)
"""How far back the latest split is looked for (a monthly account still finds its own)."""


@dataclass(frozen=True, slots=True)
class HouseholdLine(AllocationRow):
    """An account's allocation row, for the household, with where the holding sits."""

    by_type: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    """Value per account type: taxable, traditional_ira, roth_ira."""

    def value_in(self, account_type: str) -> Decimal:
        return self.by_type.get(account_type, Decimal(0))


@dataclass(frozen=True, slots=True)
class HouseholdSection:
    value: Decimal
    """The members' whole value, `keep` holdings included."""
    managed_value: Decimal
    """What the split divides and the weights are of: `value` less the members' `keep`
    holdings (each kept line's weight is of `value`)."""
    types: tuple[str, ...]
    """The account types the household has, in a fixed order."""
    lines: tuple[HouseholdLine, ...]
    split_at: datetime | None
    notes: tuple[str, ...]
    missing: tuple[str, ...]
    """Members without a valuation yet (left out of the figures)."""


def gather_household(
    session: Transaction, settings: Settings, day: date, *, until: datetime
) -> HouseholdSection | None:
    """Return the household section of day `day`'s report; None without a [household]."""
    household = settings.household
    if household is None:
        return None
    by_symbol: dict[str, dict[str, Decimal]] = {}
    kept: dict[str, dict[str, Decimal]] = {}
    """A member's `policy.keep` holdings, per symbol and account type: outside the split."""
    keepers: dict[str, list[str]] = {}
    missing = []
    for name in household_members(settings):
        account = settings.account(name)
        kind = str(account.type)
        valuation = latest_valuation(session, name, on_or_before=day)
        if valuation is None:
            missing.append(name)
            continue
        values = dict(valuation.holdings) | {CASH: valuation.cash}
        for symbol, value in values.items():
            # Weighed as the split weighs the household (`household_account`): a member's
            # `keep` holding is not in it; counted, it would push the others under a band
            # the split holds them inside.
            held_apart = symbol != CASH and symbol in account.policy.keep
            slot = (kept if held_apart else by_symbol).setdefault(symbol, {})
            slot[kind] = slot.get(kind, Decimal(0)) + value
            if held_apart:
                keepers.setdefault(symbol, []).append(name)
    total = sum((v for slot in by_symbol.values() for v in slot.values()), Decimal(0))
    kept_value = {symbol: sum(slot.values(), Decimal(0)) for symbol, slot in kept.items()}
    whole = total + sum(kept_value.values(), Decimal(0))
    half = float(household.band_pp) / 100
    split_at, split = _latest_split(session, until)
    # A household strategy's target is the one its latest split was made on (none yet: 0).
    targets: Mapping[str, Decimal] = household.targets or (
        {row.symbol: row.target for row in split.rows} if split is not None else {}
    )
    notes = split.notes if split is not None else ()
    if household.strategy is not None:
        chose = f"targets from strategy {household.strategy}"
        notes = (chose if split is not None else f"{chose}: no split recorded yet", *notes)
    symbols = sorted(set(by_symbol) | set(targets), key=lambda s: (s == CASH, s))
    weights = {
        s: float(sum(by_symbol.get(s, {}).values(), Decimal(0)) / total) if total else 0.0
        for s in symbols
    }
    # An alternate standing in for its primary in a member is one holding with it, as the
    # members' planners test them: the pair's weights added up against their targets.
    stood = _stand_ins(session, household_members(settings), until)
    pools = {s: stood[s] if stood.get(s) in weights else s for s in symbols if s != CASH}
    pooled = {p for s, p in pools.items() if p != s}
    drafts = []
    for symbol in symbols:
        slot = by_symbol.get(symbol, {})
        target = float(targets.get(symbol, Decimal(0)))
        low, high = (target, target) if symbol == CASH else (max(0.0, target - half), target + half)
        pool = pools.get(symbol, symbol)
        drafts.append(
            HouseholdLine(
                symbol=symbol,
                value=sum(slot.values(), Decimal(0)),
                weight=weights[symbol],
                target=target,
                low=low,
                high=high,
                out_of_band=False,
                pool=pool if pool in pooled else "",
                by_type=MappingProxyType(slot),
            )
        )
    # Each pool's test is its weights added up against its targets added up, +-half.
    lines = [
        replace(line, out_of_band=bool(total) and not _inside(pool_band(drafts, line, half)))
        if line.symbol != CASH
        else line
        for line in drafts
    ]
    at = len(lines) - 1 if lines and lines[-1].symbol == CASH else len(lines)
    lines[at:at] = [
        HouseholdLine(
            symbol=symbol,
            value=kept_value[symbol],
            weight=float(kept_value[symbol] / whole) if whole else 0.0,
            target=0.0,
            low=0.0,
            high=0.0,
            out_of_band=False,
            managed=False,
            note=f"kept as held (policy.keep of {', '.join(keepers[symbol])})",
            by_type=MappingProxyType(slot),
        )
        for symbol, slot in sorted(kept.items())
    ]
    present = {kind for slot in (*by_symbol.values(), *kept.values()) for kind in slot}
    present |= {str(settings.account(n).type) for n in household_members(settings)}
    return HouseholdSection(
        value=whole,
        managed_value=total,
        types=tuple(t for t in _TYPES if t in present),
        lines=tuple(lines),
        split_at=split_at,
        notes=notes,
        missing=tuple(missing),
    )


def _inside(band: PoolBand[float]) -> bool:
    return band.low <= band.weight <= band.high


def _latest_split(
    session: Transaction, until: datetime
) -> tuple[datetime | None, HouseholdSplit | None]:
    records = AuditLog(session).records(
        since=until - SPLIT_LOOKBACK, until=until, kinds=[str(AuditKind.HOUSEHOLD_SPLIT)]
    )
    for record in reversed(records):
        event = record.event
        if isinstance(event, HouseholdSplitMade):
            return record.recorded_at, event.split
    return None, None


def _stand_ins(session: Transaction, members: Iterable[str], until: datetime) -> dict[str, str]:
    """Return alternate -> primary for the alternates standing in in the members' latest
    plans (`DriftRow.pool`)."""
    log = AuditLog(session)
    stood: dict[str, str] = {}
    for name in members:
        plans = events_of(
            log.records(
                since=until - SPLIT_LOOKBACK, until=until, account=name, kinds=[AuditKind.PLAN]
            ),
            PlanMade,
        )
        if plans:
            drift = plans[-1][1].plan.drift
            stood |= {r.symbol: r.pool for r in drift if r.pool and r.pool != r.symbol}
    return stood
