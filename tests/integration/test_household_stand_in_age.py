"""A household member whose broker cannot be read stands in with its latest audited snapshot
only while that snapshot is younger than `household.max_snapshot_age_hours`: an older one
fails the cycle of the account being planned (a DataError naming the member, the snapshot's
time and age, the limit and the fix), audited, nothing sent. Real store, sim brokers, the
clock moved by time-machine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from daemon.audit.events import CycleFailed, HouseholdSplitMade, OrderIntentSent
from daemon.bootstrap import App, open_app
from daemon.cli import app as trimtab
from tests.fakes.cli import fresh_logging
from tests.integration.test_household_cycle import ACCOUNTS, config_text, events, sim

__all__ = ["fresh_logging"]

FRIDAY = datetime(2026, 11, 13, 20, 45, tzinfo=UTC)  # 15:45 in New York
# The next Monday's cycle, a minute later in the day than Friday's: 72 h and a minute.
MONDAY = FRIDAY + timedelta(days=3, minutes=1)
# Wednesday, 15:45: the Friday snapshot is 120 hours old.
WEDNESDAY = FRIDAY + timedelta(days=5)


def open_household(tmp_path: Path, database_url: str, extra: str = "") -> App:
    config = tmp_path / "trimtab.toml"
    config.write_text(config_text(database_url) + extra)
    app = open_app(config)  # the real clock, moved by time-machine
    for name in ACCOUNTS:
        app.brokers[name] = sim(app, name)
    return app


@pytest.fixture
def friday() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(FRIDAY, tick=False) as traveller:
        yield traveller


def roth_planned_then_unreadable(app: App) -> None:
    """The Roth's plan records its snapshot on Friday; then its broker stops answering."""
    assert app.engine().plan("roth").outcome == "planned"
    app.brokers["roth"] = sim(app, "roth", read_errors=1000)


def test_a_fridays_snapshot_still_stands_in_on_monday(
    tmp_path: Path, database_url: str, friday: time_machine.Traveller
) -> None:
    app = open_household(tmp_path, database_url)
    try:
        roth_planned_then_unreadable(app)
        friday.move_to(MONDAY)
        report = app.engine().plan("brokerage")
        assert report.outcome == "planned", report.error
        _, last = events(app, HouseholdSplitMade)[-1]
        assert isinstance(last, HouseholdSplitMade)
        source = last.sources["roth"]
        assert source.startswith(f"audited snapshot of {FRIDAY.isoformat()}, 72.0 hours old")
        assert "broker unreadable: TransientBrokerError" in source
    finally:
        app.close()


def test_an_older_stand_in_fails_the_cycle_audited_and_sends_nothing(
    tmp_path: Path, database_url: str, friday: time_machine.Traveller
) -> None:
    app = open_household(tmp_path, database_url)
    try:
        roth_planned_then_unreadable(app)
        friday.move_to(WEDNESDAY)
        report = app.engine(fill_timeout=1).run_once("brokerage")
        assert report.outcome == "failed"
        error = report.error
        assert error is not None
        assert "household account roth" in error
        assert f"latest audited snapshot is of {FRIDAY.isoformat()}" in error
        assert "120.0 hours old" in error
        assert "household.max_snapshot_age_hours (96)" in error
        for fix in ("Fix roth's broker connection", "trimtab plan --account roth"):
            assert fix in error
        [(account, failure)] = events(app, CycleFailed)
        assert isinstance(failure, CycleFailed)
        assert account == "brokerage"
        assert failure.error_type == "DataError"
        assert "household account roth" in failure.error
        # Nothing planned on the stale holdings, nothing sent, no split audited.
        assert [a for a, _ in events(app, HouseholdSplitMade)] == ["roth"]
        assert events(app, OrderIntentSent) == []
        assert app.brokers["brokerage"].snapshot(()).positions == ()
    finally:
        app.close()


def test_the_limit_is_a_household_setting(
    tmp_path: Path, database_url: str, friday: time_machine.Traveller
) -> None:
    app = open_household(tmp_path, database_url, "max_snapshot_age_hours = 24\n")
    try:
        roth_planned_then_unreadable(app)
        friday.move_to(FRIDAY + timedelta(hours=23))
        assert app.engine().plan("brokerage").outcome == "planned"
        friday.move_to(MONDAY)
        report = app.engine().plan("brokerage")
        assert report.outcome == "failed"
        assert report.error is not None
        assert "household.max_snapshot_age_hours (24)" in report.error
        assert "72.0 hours old" in report.error
    finally:
        app.close()


def test_trimtab_plan_refuses_a_stale_stand_in(
    tmp_path: Path, database_url: str, friday: time_machine.Traveller, fresh_logging: None
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(config_text(database_url))
    runner = CliRunner()
    planned = runner.invoke(trimtab, ["plan", "-c", str(config), "--account", "roth"])
    assert planned.exit_code == 0, planned.output
    # The Roth's broker stops answering, and five days pass.
    config.write_text(
        config.read_text().replace(
            "[accounts.roth.policy]",
            "[accounts.roth.broker_settings.faults]\nread_errors = 1000\n[accounts.roth.policy]",
        )
    )
    friday.move_to(WEDNESDAY)
    result = runner.invoke(trimtab, ["plan", "-c", str(config), "--account", "brokerage"])
    assert result.exit_code == 1, result.output
    shown = " ".join(result.output.split())
    assert "household account roth" in shown
    assert "120.0 hours old" in shown
    assert "household.max_snapshot_age_hours" in shown
