"""The IB adapter's pure parts: settings, order checks, error codes, status reading; and the
error an `ibkr` account gives on an install without the extra."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from adapters.ibkr.config import IbkrSettings, MaintenanceWindow
from adapters.ibkr.orders import PreparedOrder, prepare_order
from adapters.ibkr.transport import classify
from daemon.core.domain import OrderIntent, OrderType, Side

NY = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parents[2]


def settings(**extra: object) -> IbkrSettings:
    return IbkrSettings.model_validate({"environment": "paper", "account_id": "DU1234567", **extra})


def intent(qty: str, *, limit: str | None = None, account: str = "ib") -> OrderIntent:
    return OrderIntent(
        client_order_id="main:2026-12-04:1545:1",
        cycle_id="main:2026-12-04:1545",
        account=account,
        seq=1,
        symbol="VTI",
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        reason="test",
        limit_price=None if limit is None else Decimal(limit),
    )


def test_gateway_ports_follow_the_environment_unless_given() -> None:
    assert settings().api_port == 4002
    live = IbkrSettings.model_validate({"environment": "live", "account_id": "U7654321"})
    assert live.api_port == 4001
    assert settings(port=7497).api_port == 7497


@pytest.mark.parametrize(
    ("environment", "account_id", "says"),
    [
        ("paper", "U1234567", 'is a live account (paper account ids start with D) but environment = "paper"'),  # noqa: E501
        ("live", "DU1234567", 'is a paper account but environment = "live"'),
        ("paper", "not-an-id", "is not an IB account number"),
    ],
)  # fmt: skip
def test_an_account_id_that_disagrees_with_the_environment_is_refused(
    environment: str, account_id: str, says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        IbkrSettings.model_validate({"environment": environment, "account_id": account_id})
    [error] = caught.value.errors()
    assert says in error["msg"]
    assert error["ctx"]["fix"]


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        settings(password="x")


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (datetime(2026, 12, 3, 23, 50, tzinfo=NY), True),  # Thursday night: Gateway restart
        (datetime(2026, 12, 4, 0, 30, tzinfo=NY), True),  # after midnight, same window
        (datetime(2026, 12, 4, 1, 0, tzinfo=NY), False),  # the window's end is outside
        (datetime(2026, 12, 4, 15, 45, tzinfo=NY), False),  # Friday afternoon
        (datetime(2026, 12, 6, 12, 0, tzinfo=NY), True),  # Sunday: the weekly re-login
        (datetime(2026, 12, 7, 9, 30, tzinfo=NY), False),  # Monday morning
    ],
)
def test_the_default_windows_cover_the_nightly_restart_and_the_weekly_relogin(
    when: datetime, inside: bool
) -> None:
    assert (settings().maintenance_at(when.astimezone(UTC)) is not None) == inside


def test_windows_are_configurable_and_can_be_switched_off() -> None:
    custom = settings(maintenance_windows=[{"hours": "05:00-05:30", "timezone": "Europe/Zurich"}])
    assert custom.maintenance_at(datetime(2026, 12, 4, 4, 10, tzinfo=UTC)) is not None
    assert custom.maintenance_at(datetime(2026, 12, 4, 23, 50, tzinfo=NY)) is None
    assert settings(maintenance_windows=[]).maintenance_at(datetime.now(UTC)) is None
    with pytest.raises(ValidationError, match="HH:MM-HH:MM"):
        MaintenanceWindow(hours="midnight")


def test_whole_shares_go_out_with_order_ref_day_and_explicit_outside_rth() -> None:
    prepared = prepare_order(intent("3"), account="ib", account_id="DU1", outside_rth=False)
    assert prepared == PreparedOrder(
        symbol="VTI",
        action="BUY",
        qty=3,
        order_type=OrderType.MARKET,
        limit_price=None,
        order_ref="main:2026-12-04:1545:1",
        outside_rth=False,
        account_id="DU1",
    )


@pytest.mark.parametrize(
    ("qty", "limit", "says"),
    [
        ("2.5", None, "IB accepts only whole shares of VTI through its API (error 10243), got 2.5 (fix:"),  # noqa: E501
        ("0", None, "quantity must be a positive Decimal"),
        ("1", "100.001", "is not a multiple of the tick 0.01"),
    ],
)  # fmt: skip
def test_orders_ib_would_refuse_are_refused_before_sending(
    qty: str, limit: str | None, says: str
) -> None:
    refused = prepare_order(
        intent(qty, limit=limit), account="ib", account_id="DU1", outside_rth=False
    )
    assert isinstance(refused, str)
    assert says in refused


def test_an_order_for_another_account_is_refused() -> None:
    refused = prepare_order(
        intent("1", account="other"), account="ib", account_id="DU1", outside_rth=True
    )
    assert refused == "order for account other reached IB account ib"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (2104, "information"),
        (2106, "information"),
        (2158, "information"),
        (1100, "connectivity"),
        (1101, "connectivity"),
        (1102, "connectivity"),
        (2110, "connectivity"),
        (201, "order"),
        (10243, "order"),
        (200, "order"),
        (100, "pacing"),
    ],
)
def test_error_codes_map_to_what_trimtab_does_with_them(code: int, kind: str) -> None:
    assert classify(code) == kind


def test_an_ibkr_account_without_the_extra_names_the_extra(tmp_path: Path) -> None:
    # A real interpreter on this checkout, with ib_async made unimportable (as on a default
    # install): building the broker must fail with the extra's name and how to install it.
    script = tmp_path / "no_extra.py"
    script.write_text(
        "import sys\n"
        "sys.modules['ib_async'] = None  # an import of it now raises ImportError\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from adapters.base import BrokerEnvironment\n"
        "from adapters.ibkr import PLUGIN\n"
        "from daemon.core.errors import ConfigError\n"
        "settings = PLUGIN.settings_model.model_validate("
        "{'environment': 'paper', 'account_id': 'DU1234567'})\n"
        "env = BrokerEnvironment('ib', Path('.'), lambda: datetime.now(UTC))\n"
        "try:\n"
        "    PLUGIN.create(settings, env)\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert 'broker "ibkr" needs ib_async, which is not installed' in done.stdout
    assert "pip install 'trimtab[ibkr]'" in done.stdout
    assert "uv sync --extra ibkr" in done.stdout
