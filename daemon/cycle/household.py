"""The household split inside one account's cycle: read the other household accounts, split.

Each account's cycle reads its own broker (reconciled, as always) and then every other
household account's broker, read-only (a snapshot: cash, positions, quotes), so the split is
made on the whole household as it is now. An account whose broker cannot be read stands in
with its latest audited snapshot (its holdings as of its last cycle or plan), named as such
in the split's audit record, while that snapshot is younger than
`household.max_snapshot_age_hours`; with none recorded, or only an older one, the cycle fails
(DataError): a split on part of the household, or on holdings that may since have been sold
or moved, would misplace the rest. Nothing here decides an order: the split only
gives the account its targets, and `decide` plans them like any strategy's.
"""

from __future__ import annotations

__all__ = ["HouseholdRead", "household_split", "split_of"]

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from daemon.audit.events import SnapshotTaken
from daemon.audit.record import AuditRecord
from daemon.config.household import (
    household_account,
    household_members,
    household_rules,
    household_symbols,
)
from daemon.config.settings import Settings
from daemon.core.domain import AccountSnapshot
from daemon.core.errors import DataError, TrimtabError
from daemon.core.household import HouseholdSplit
from daemon.core.household.split import split_household
from daemon.cycle.targets import HouseholdTargets


@dataclass(frozen=True, slots=True)
class HouseholdRead:
    """How the other accounts are read: their broker now, else their latest audit record."""

    snapshot: Callable[[str], AccountSnapshot]
    """Account -> a fresh snapshot from its broker (raises a TrimtabError when it cannot)."""
    recorded: Callable[[str], AuditRecord | None]
    """Account -> its newest `snapshot` audit record, None when there is none."""


def household_split(
    settings: Settings,
    account: str,
    snapshot: AccountSnapshot,
    *,
    withdrawal: Decimal,
    read: HouseholdRead,
    choose: Callable[[Mapping[str, AccountSnapshot]], HouseholdTargets],
    now: datetime,
) -> tuple[HouseholdSplit, dict[str, str]]:
    """Return the household split seen from `account`'s cycle at `now`, and where each
    account's holdings came from. `choose` gives the household's weights from every member's
    snapshot (`daemon.cycle.targets.household_targets`). Raise `ConfigError` for rules no
    holdings can meet, `DataError` when a household account cannot be read, and its latest
    audited snapshot is missing or older than `household.max_snapshot_age_hours`."""
    household = settings.household
    assert household is not None
    limit = household.max_snapshot_age_hours
    snapshots: dict[str, AccountSnapshot] = {}
    sources: dict[str, str] = {}
    for name in household_members(settings):
        if name == account:
            snapshots[name], sources[name] = snapshot, f"broker, {snapshot.as_of.isoformat()}"
        else:
            snapshots[name], sources[name] = _other(name, read, now=now, limit_hours=limit)
    targets = choose(snapshots)
    return split_of(settings, snapshots, targets, withdrawals={account: withdrawal}), sources


def split_of(
    settings: Settings,
    snapshots: Mapping[str, AccountSnapshot],
    targets: HouseholdTargets,
    *,
    withdrawals: Mapping[str, Decimal] | None = None,
) -> HouseholdSplit:
    """Return the split of the household's `targets` (fixed, or its strategy's this cycle)
    over the members' `snapshots` (every member's is needed), each keeping its cash buffer
    and its `withdrawals` amount in cash. The one place a cycle
    (`household_split`) and the income plan (`daemon.cycle.income`) turn the household's
    holdings into per-account targets, so both judge "overweight" against the same split."""
    household = settings.household
    assert household is not None
    kept = withdrawals or {}
    accounts = [
        household_account(settings, name, snapshots[name], withdrawal=kept.get(name, Decimal(0)))
        for name in household_members(settings)
    ]
    rules = household_rules(
        household, targets.weights if targets.strategy else None, reasons=targets.reasons
    )
    # The symbols each member's decide lets its targets buy: an outside one (a tax alternate
    # the household's targets do not list among them) is only held or sold.
    return split_household(rules, accounts, universe=household_symbols(settings))


def _other(
    name: str, read: HouseholdRead, *, now: datetime, limit_hours: Decimal
) -> tuple[AccountSnapshot, str]:
    try:
        fresh = read.snapshot(name)
    except TrimtabError as exc:
        record = read.recorded(name)
        event = record.event if record is not None else None
        if record is None or not isinstance(event, SnapshotTaken):
            raise DataError(
                f"household account {name}: its broker could not be read ({exc}) and no "
                "snapshot of it is recorded; the household split needs every account's "
                f"holdings (run `trimtab plan --account {name}` once its broker answers)"
            ) from exc
        taken = event.snapshot.as_of
        age = _hours(now - taken)
        if now - taken > timedelta(hours=float(limit_hours)):
            raise DataError(
                f"household account {name}: its broker could not be read ({exc}) and its "
                f"latest audited snapshot is of {taken.isoformat()}, {age} hours old, older "
                f"than household.max_snapshot_age_hours ({limit_hours}); its holdings may "
                "have changed since, and a split on them would misplace the household, so "
                f"nothing is planned. Fix {name}'s broker connection, or run `trimtab plan "
                f"--account {name}` (or its cycle) once its broker answers, to record a new "
                "snapshot; or raise household.max_snapshot_age_hours"
            ) from exc
        return event.snapshot, (
            f"audited snapshot of {taken.isoformat()}, {age} hours old (broker unreadable: "
            f"{type(exc).__name__})"
        )
    return fresh, f"broker, {fresh.as_of.isoformat()}"


def _hours(age: timedelta) -> str:
    """An age in hours to a tenth, e.g. "72.0" ("0.0" for a snapshot dated ahead of now)."""
    return f"{max(age, timedelta(0)) / timedelta(hours=1):.1f}"
