"""The stand-in rule of the household split: when a member's broker cannot be read, its
latest audited snapshot stands in exactly when it is no older than
`household.max_snapshot_age_hours` at the cycle's time; otherwise the split fails with a
DataError naming the member, the snapshot's time, the limit and the fix. The snapshot is a
real audit record, written to and read back from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.audit.events import SnapshotTaken
from daemon.audit.record import AuditRecord
from daemon.config.settings import Settings, check_config, load_config
from daemon.core.domain import AccountSnapshot
from daemon.core.errors import DataError, TransientBrokerError
from daemon.cycle.household import HouseholdRead, household_split
from daemon.cycle.targets import HouseholdTargets
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from tests.hypothesis_profiles import scaled

TAKEN = datetime(2026, 11, 13, 20, 45, tzinfo=UTC)
CONFIG = """
[accounts.brokerage]
type = "taxable"
strategy_params = { targets = { VTI = "1" } }
[accounts.ira]
type = "traditional_ira"
strategy_params = { targets = { BND = "1" } }
[accounts.roth]
type = "roth_ira"
strategy_params = { targets = { VTI = "1" } }

[household]
targets = { VTI = "0.6", BND = "0.4" }
asset_classes = { BND = "bonds", VTI = "us_equity" }
location = [{ assets = "bonds", prefer = ["traditional_ira", "roth_ira", "taxable"] }]
"""


def cash(account: str, amount: int, at: datetime) -> AccountSnapshot:
    return AccountSnapshot(account=account, as_of=at, cash=Decimal(amount), positions=(), quotes={})


def household(tmp_path: Path) -> Settings:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG)
    return load_config(config)


def recorded_roth(database: Database) -> AuditRecord:
    """The Roth's snapshot as its last plan audited it, read back from the store."""
    with database.transaction() as session:
        AuditLog(session).append(
            SnapshotTaken(cash("roth", 20000, TAKEN)), at=TAKEN, account="roth", cycle_id="c"
        )
    with database.transaction() as session:
        record = AuditLog(session).latest("snapshot", "roth")
    assert record is not None
    return record


def unreadable(name: str) -> AccountSnapshot:
    if name == "roth":
        raise TransientBrokerError("roth's broker is down")
    return cash(name, 40000, TAKEN)


def test_a_stand_in_is_used_exactly_while_no_older_than_the_limit(
    tmp_path: Path, database: Database
) -> None:
    base = household(tmp_path)
    record = recorded_roth(database)
    read = HouseholdRead(snapshot=unreadable, recorded=lambda name: record)

    @settings(
        max_examples=scaled(50),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        age=st.timedeltas(min_value=timedelta(hours=-1), max_value=timedelta(days=30)),
        limit=st.decimals(min_value=Decimal("0.1"), max_value=Decimal(1000), places=2),
    )
    @example(age=timedelta(hours=96), limit=Decimal(96))
    @example(age=timedelta(hours=96, microseconds=1), limit=Decimal(96))
    def check(age: timedelta, limit: Decimal) -> None:
        assert base.household is not None
        ruled = base.household.model_copy(update={"max_snapshot_age_hours": limit})
        configured = base.model_copy(update={"household": ruled})
        now = TAKEN + age
        try:
            split, sources = household_split(
                configured,
                "brokerage",
                cash("brokerage", 100000, now),
                withdrawal=Decimal(0),
                read=read,
                choose=lambda _: HouseholdTargets(weights=dict(ruled.targets or {})),
                now=now,
            )
        except DataError as exc:
            assert age > timedelta(hours=float(limit))
            message = str(exc)
            assert "household account roth" in message
            assert f"latest audited snapshot is of {TAKEN.isoformat()}" in message
            assert f"household.max_snapshot_age_hours ({limit})" in message
            assert "Fix roth's broker connection" in message
            return
        assert age <= timedelta(hours=float(limit))
        assert sources["roth"].startswith(f"audited snapshot of {TAKEN.isoformat()}, ")
        assert {a.account for a in split.accounts} == {"brokerage", "ira", "roth"}

    check()


# 1e11 hours once crashed a cycle (OverflowError from timedelta) once a member was unreadable.
@pytest.mark.parametrize("hours", ["0", "-1", "-0.5", "8785", "1e11"])
def test_a_limit_not_above_zero_or_past_a_year_is_refused_naming_the_key_and_the_fix(
    tmp_path: Path, hours: str
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG + f"max_snapshot_age_hours = {hours}\n")
    problems = {p.path: (p.problem, p.fix) for p in check_config(config)}
    problem, fix = problems["household.max_snapshot_age_hours"]
    assert "must be a number of hours above 0 and at most 8784 (a year)" in problem
    assert "set household.max_snapshot_age_hours" in fix
    assert "delete the key" in fix


def test_a_limit_of_a_year_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG + "max_snapshot_age_hours = 8784\n")
    assert "household.max_snapshot_age_hours" not in {p.path for p in check_config(config)}


def test_an_infinite_limit_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG + "max_snapshot_age_hours = inf\n")
    problems = {p.path: p.problem for p in check_config(config)}
    assert "finite" in problems["household.max_snapshot_age_hours"]


def test_the_default_limit_is_96_hours(tmp_path: Path) -> None:
    configured = household(tmp_path).household
    assert configured is not None
    assert configured.max_snapshot_age_hours == Decimal(96)
