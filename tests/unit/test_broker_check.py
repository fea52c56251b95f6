"""`daemon.monitor.broker_check`: brokers' answers become rows with a status and a fix."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.base import AccountCheck, AssetCheck, CredentialsRejected, SessionDay
from adapters.sim import SimSettings
from adapters.sim.checks import asset_check, weekday_sessions
from daemon.core.domain import Mode, TradingState
from daemon.core.errors import BrokerError, DataError, PluginNotFound, TransientBrokerError
from daemon.monitor.broker_check import (
    Status,
    account_rows,
    broker_error_row,
    calendar_rows,
    environment_rows,
    failed,
    split_fix,
    state_rows,
    symbol_rows,
)

D = Decimal
NEW_YORK = ZoneInfo("America/New_York")
ACTIVE = AccountCheck(
    account="ira",
    broker_account="PA123",
    environment="paper",
    status="ACTIVE",
    active=True,
    trading_blocked=False,
    account_blocked=False,
    trade_suspended_by_user=False,
)


def test_an_active_unblocked_account_passes() -> None:
    rows = account_rows(ACTIVE)
    assert [(r.check, r.status) for r in rows] == [("broker", Status.OK), ("account", Status.OK)]
    assert "PA123 (paper)" in rows[0].detail
    assert not failed(rows)


def test_every_block_is_named_in_one_failing_row() -> None:
    blocked = dataclasses.replace(
        ACTIVE, status="ACCOUNT_UPDATED", active=False, trading_blocked=True, account_blocked=True
    )
    rows = account_rows(blocked)
    bad = [r for r in rows if r.status is Status.FAIL]
    assert len(bad) == 1
    assert bad[0].account == "ira"
    for words in ("ACCOUNT_UPDATED", "blocked the account", "blocked trading"):
        assert words in bad[0].detail
    assert "broker" in bad[0].fix


@pytest.mark.parametrize(
    ("environment", "mode", "status", "words"),
    [
        ("live", Mode.PAPER, Status.FAIL, "would trade real money"),
        ("paper", Mode.LIVE, Status.FAIL, "no real order"),
        ("live", Mode.DRY_RUN, Status.WARN, "nothing is sent"),
        ("paper", Mode.PAPER, Status.OK, "orders go to this account"),
        ("paper", Mode.DRY_RUN, Status.OK, "nothing is sent"),
        ("live", Mode.LIVE, Status.OK, "orders go to this account"),
        ("sim", Mode.PAPER, Status.OK, "sim account"),
    ],
)
def test_the_environment_must_fit_the_mode(
    environment: str, mode: Mode, status: Status, words: str
) -> None:
    answer = dataclasses.replace(ACTIVE, environment=environment)  # type: ignore[arg-type]
    (row,) = environment_rows(answer, mode)
    assert row.status is status
    assert words in row.detail
    assert (row.fix != "") == (status is not Status.OK)


def test_broker_errors_say_what_to_do_and_never_echo_keys() -> None:
    rejected = CredentialsRejected(
        "ira", "the paper endpoint refused the keys (401)", "set TRIMTAB_... to paper keys"
    )
    row = broker_error_row("ira", "alpaca", rejected)
    assert (row.status, row.detail, row.fix) == (
        Status.FAIL,
        "the paper endpoint refused the keys (401)",
        "set TRIMTAB_... to paper keys",
    )
    down = broker_error_row("ira", "alpaca", TransientBrokerError("connection refused"))
    assert "did not answer" in down.detail
    assert "network" in down.fix
    other = broker_error_row("ira", "alpaca", BrokerError("403 forbidden"))
    assert "refused the check" in other.detail
    setup = broker_error_row("ira", "nope", PluginNotFound("no plugin 'nope'"))
    assert "could not be set up" in setup.detail
    assert "config check" in setup.fix


@pytest.mark.parametrize(
    "error",
    [
        TransientBrokerError(
            "account ira: IB at 127.0.0.1:4002 refused client id 17: another program is "
            "connected with it (error 326) (fix: set broker_settings.client_id to a number no "
            "other API client of this Gateway uses, or stop the other program)"
        ),
        BrokerError("account ira: Alpaca has blocked trading (fix: see Alpaca's dashboard)"),
        DataError("positions.csv: no rows (fix: download the export again (CSV))"),
    ],
)
def test_an_errors_own_fix_goes_in_the_fix_column(error: Exception) -> None:
    assert isinstance(error, BrokerError | DataError)
    what, fix = str(error).rsplit(" (fix: ", 1)
    row = broker_error_row("ira", "ibkr", error)
    assert row.fix == fix[:-1]
    assert row.detail.endswith(what)
    assert "(fix:" not in row.detail


FREE_TEXT = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\n"), max_size=40)


@given(what=FREE_TEXT, fix=FREE_TEXT)
@example(what="nothing is listening (ConnectionRefusedError)", fix="start it (port 4002)")
@example(what="a (fix: b", fix="c)")
@example(what="x", fix="")
@example(what="", fix="0 ")
def test_split_fix_takes_only_a_whole_closing_fix_clause(what: str, fix: str) -> None:
    message = f"{what} (fix: {fix})"
    said, found = split_fix(message)
    if found is None:
        assert said == message  # nothing lost: the generic advice is used instead
        return
    # What was split off is a closed clause, and the two parts give the message back.
    assert found.count("(") == found.count(")")
    assert found
    assert message.startswith(said)
    rest = message[len(said) :]
    assert rest.lstrip().startswith("(fix: ")
    assert rest.endswith(")")
    assert found in rest
    if "(fix: " not in fix and fix.strip() and fix.count("(") == fix.count(")"):
        assert found == fix.strip()
    assert split_fix(what) == (what, None) or "(fix: " in what


def _asset(symbol: str, **overrides: object) -> AssetCheck:
    fields: dict[str, object] = {
        "symbol": symbol,
        "known": True,
        "tradable": True,
        "fractionable": True,
        "status": "active",
    }
    fields.update(overrides)
    return AssetCheck(**fields)  # type: ignore[arg-type]


def test_symbols_must_be_known_tradable_and_fractionable_when_the_policy_needs_it() -> None:
    assets = {
        "VTI": _asset("VTI"),
        "BND": _asset("BND", fractionable=False),
        "OLD": _asset("OLD", tradable=False, status="inactive"),
        "FINE": _asset("FINE", fractionable=False),
        "STEP": _asset("STEP", min_trade_increment=D("0.01")),
    }
    increments = {
        "VTI": D("0.001"),
        "BND": D("0.001"),
        "OLD": D(1),
        "GONE": D(1),
        "FINE": D(1),
        "STEP": D("0.001"),
    }
    rows = {r.check: r for r in symbol_rows("ira", assets, increments)}
    assert list(rows) == [f"symbol {s}" for s in sorted(increments)]
    assert rows["symbol VTI"].status is Status.OK
    assert "steps of 0.001" in rows["symbol VTI"].detail
    assert rows["symbol FINE"].status is Status.OK
    assert "whole shares" in rows["symbol FINE"].detail
    assert rows["symbol BND"].status is Status.FAIL
    assert "whole shares only" in rows["symbol BND"].detail
    assert "fractional_symbols" in rows["symbol BND"].fix
    assert rows["symbol OLD"].status is Status.FAIL
    assert "not tradable" in rows["symbol OLD"].detail
    assert rows["symbol GONE"].status is Status.FAIL
    assert "does not know GONE" in rows["symbol GONE"].detail
    assert rows["symbol STEP"].status is Status.WARN
    assert "multiple of 0.01" in rows["symbol STEP"].fix
    assert all(r.account == "ira" for r in rows.values())


def _session(day: date, open_: str, close: str) -> SessionDay:
    def at(text: str) -> datetime:
        hour, minute = map(int, text.split(":"))
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)

    return SessionDay(day=day, open=at(open_), close=at(close))


def test_calendars_that_agree_pass_and_each_disagreement_is_named() -> None:
    start, end = date(2026, 11, 23), date(2026, 11, 30)
    exchange = [
        _session(date(2026, 11, 23), "09:30", "16:00"),
        _session(date(2026, 11, 24), "09:30", "16:00"),
        _session(date(2026, 11, 25), "09:30", "16:00"),
        _session(date(2026, 11, 27), "09:30", "13:00"),
        _session(date(2026, 11, 30), "09:30", "16:00"),
    ]
    args = {"start": start, "end": end, "exchange": "XNYS", "timezone": NEW_YORK}
    (same,) = calendar_rows("ira", exchange, exchange, synthetic=False, **args)  # type: ignore[arg-type]
    assert same.status is Status.OK

    broker = weekday_sessions(start, end)  # no Thanksgiving, no early close
    (row,) = calendar_rows("ira", broker, exchange, synthetic=False, **args)  # type: ignore[arg-type]
    assert row.status is Status.FAIL
    assert "2026-11-26: the broker trades, XNYS is closed" in row.detail
    assert "2026-11-27: XNYS 09:30-13:00, the broker 09:30-16:00" in row.detail
    assert "exchange_calendars" in row.fix

    missing = [s for s in exchange if s.day != date(2026, 11, 30)]
    (gap,) = calendar_rows("ira", missing, exchange, synthetic=False, **args)  # type: ignore[arg-type]
    assert "2026-11-30: XNYS trades, the broker is closed" in gap.detail

    (sim,) = calendar_rows("ira", broker, exchange, synthetic=True, **args)  # type: ignore[arg-type]
    assert sim.status is Status.WARN
    assert "synthetic" in sim.detail


def test_the_sim_answers_from_its_prices_settings_and_faults() -> None:
    settings = SimSettings.model_validate(
        {"fractional": False, "faults": {"reject_symbols": ["X"]}}
    )
    assert not asset_check("VTI", quoted=True, settings=settings).fractionable
    assert asset_check("VTI", quoted=True, settings=settings).tradable
    assert not asset_check("X", quoted=True, settings=settings).tradable
    assert not asset_check("NOPE", quoted=False, settings=settings).known
    week = weekday_sessions(date(2026, 11, 21), date(2026, 11, 29))  # Saturday to Sunday
    assert [s.day.day for s in week] == [23, 24, 25, 26, 27]
    assert week[0].open == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    assert week[0].close == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


def test_trimtab_s_own_brakes_warn_and_say_how_to_release_them() -> None:
    (clear,) = state_rows("ira", TradingState.ACTIVE, "", kill_switch_reason=None)
    assert (clear.check, clear.status) == ("trading state", Status.OK)
    kill, reducing = state_rows(
        "ira", TradingState.REDUCING, "mismatch in VTI", kill_switch_reason="drill"
    )
    assert (kill.check, kill.status) == ("kill switch", Status.WARN)
    assert "drill" in kill.detail
    assert reducing.status is Status.WARN
    assert reducing.detail == "reducing (sells only): mismatch in VTI"
    assert reducing.fix.startswith("trimtab resume -a ira")
    assert not failed([kill, reducing])
