"""An account's `fill_wait_seconds`: how long its cycle waits for fills before cancelling the
rest (and looks up an order whose submission got no answer), read from the configuration
when the engine is given no wait of its own (`trimtab run`, `plan`, the worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config.settings import load_config
from daemon.core.domain import OrderStatus
from daemon.core.errors import ConfigError
from tests.fakes.clocks import Ticks
from tests.integration.test_cycle import make_app

TARGETS = (
    'strategy = "static"\n[accounts.main.strategy_params]\ntargets = { VTI = "0.6", BND = "0.4" }\n'
)
HALF_FILLS = '[accounts.main.broker_settings.faults]\npartial_fill_ratio = "0.5"\n'


def test_the_cycle_waits_the_accounts_fill_wait(tmp_path: Path, database_url: str) -> None:
    app = make_app(
        tmp_path, database_url, strategy=f"fill_wait_seconds = 7\n{TARGETS}", extra=HALF_FILLS
    )
    clock = Ticks()
    try:
        report = app.engine(poll_sleep=clock.sleep, monotonic=clock.monotonic).run_once("main")
    finally:
        app.close()
    assert report.outcome == "succeeded", report.error
    assert 7 <= clock.now < 12  # the last pause ends at the deadline, not a minute later
    assert report.outcomes
    assert [(o.status, o.detail) for o in report.outcomes] == [
        (OrderStatus.CANCELLED, "unfilled after 7s: cancelled the rest")
    ] * len(report.outcomes)


def test_the_default_wait_is_a_minute(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, strategy=TARGETS, extra=HALF_FILLS)
    clock = Ticks()
    try:
        report = app.engine(poll_sleep=clock.sleep, monotonic=clock.monotonic).run_once("main")
    finally:
        app.close()
    assert clock.now >= 60
    assert {o.detail for o in report.outcomes} == {"unfilled after 60s: cancelled the rest"}


@pytest.mark.parametrize("seconds", ["0", "1801", '"soon"'])
def test_a_wait_out_of_range_is_refused_naming_the_key(tmp_path: Path, seconds: str) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(f'[accounts.main]\nbroker = "sim"\nfill_wait_seconds = {seconds}\n')
    with pytest.raises(ConfigError, match=r"accounts\.main\.fill_wait_seconds"):
        load_config(config)
