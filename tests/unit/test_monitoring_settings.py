"""The [alerts] and [performance] tables: defaults, limits, and problems named by key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from daemon.config.monitoring import AlertSettings, PerformanceSettings
from daemon.config.settings import check_config

ACCOUNT = """
[accounts.a]
broker = "sim"
strategy = "static"
[accounts.a.strategy_params]
targets = { VTI = "1" }
"""


def test_defaults() -> None:
    alerts = AlertSettings()
    assert (alerts.drawdown, alerts.drift_days, alerts.concentration) == (
        Decimal("0.15"),
        5,
        None,
    )
    performance = PerformanceSettings()
    assert (performance.benchmark, performance.end_of_day) == (None, "close + 10m")


@pytest.mark.parametrize(
    ("table", "line", "key"),
    [
        ("alerts", "drawdown = 1.5", "alerts.drawdown"),
        ("alerts", "drift_days = 0", "alerts.drift_days"),
        ("alerts", "concentration = 0", "alerts.concentration"),
        ("alerts", "broker_unreachable_minutes = -1", "alerts.broker_unreachable_minutes"),
        ("alerts", "drawdwn = 0.2", "alerts.drawdwn"),
        ("performance", 'benchmark = "vti"', "performance.benchmark"),
        ("performance", "var_level = 1", "performance.var_level"),
        ("performance", 'end_of_day = "whenever"', "performance.end_of_day"),
    ],
)
def test_bad_values_are_named_by_their_key(tmp_path: Path, table: str, line: str, key: str) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(f"[{table}]\n{line}\n{ACCOUNT}")
    problems = check_config(config)
    assert [p.path for p in problems] == [key]


def test_unset_thresholds_turn_their_alert_off() -> None:
    with pytest.raises(ValidationError):
        AlertSettings(drift_days=400)
    assert AlertSettings(drawdown=None).drawdown is None
