"""Alerts fire at their thresholds and not below them, and once per episode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.config.monitoring import AlertSettings
from daemon.monitor.alerts import (
    TOLERANCE,
    Alert,
    AlertInputs,
    AlertState,
    CycleStatus,
    DriftObservation,
    OrderAtIssue,
    advance,
    checked_families,
    evaluate_alerts,
)

NOW = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
THRESHOLDS = AlertSettings(concentration=Decimal("0.6"))


def _keys(inputs: AlertInputs, thresholds: AlertSettings = THRESHOLDS) -> list[str]:
    return [a.key for a in evaluate_alerts(inputs, thresholds)]


def _inputs(**fields: object) -> AlertInputs:
    return AlertInputs(account="brokerage", at=NOW, **fields)  # type: ignore[arg-type]


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_drawdown_fires_at_its_threshold_and_not_below(drawdown: float) -> None:
    fired = "drawdown" in _keys(_inputs(drawdown=drawdown))
    assert fired == (drawdown >= 0.15 - TOLERANCE)


def test_drawdown_boundary_exactly() -> None:
    assert _keys(_inputs(drawdown=0.15)) == ["drawdown"]
    assert _keys(_inputs(drawdown=0.1499999)) == []


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_concentration_fires_at_its_limit_and_not_below(weight: float) -> None:
    fired = "concentration" in _keys(
        _inputs(largest_holding=("VTI", weight), concentration_known=True)
    )
    assert fired == (weight >= 0.6 - TOLERANCE)


def test_concentration_is_off_unless_configured() -> None:
    inputs = _inputs(largest_holding=("VTI", 1.0), concentration_known=True)
    assert _keys(inputs, AlertSettings()) == []


@given(st.integers(min_value=0, max_value=24 * 60 * 2))
def test_broker_unreachable_fires_after_its_minutes(minutes: int) -> None:
    inputs = _inputs(broker_down_since=NOW - timedelta(minutes=minutes), broker_known=True)
    assert ("broker_unreachable" in _keys(inputs)) == (minutes >= 30)


def test_cycle_outcomes() -> None:
    failed = CycleStatus("brokerage:2026-03-02:1545", "failed", "DataError: stale", False)
    broker = CycleStatus("brokerage:2026-03-02:1545", "failed", "TransientBrokerError: x", True)
    skipped = CycleStatus("brokerage:2026-03-02:1545", "skipped", "trimtab was down", False)
    ok = CycleStatus("brokerage:2026-03-02:1545", "succeeded", None, False)
    assert _keys(_inputs(last_cycle=failed)) == ["cycle_failed"]
    # A broker failure is the broker alert's business, with its own patience.
    assert _keys(_inputs(last_cycle=broker)) == []
    assert _keys(_inputs(last_cycle=skipped)) == ["cycle_skipped"]
    assert _keys(_inputs(last_cycle=ok)) == []
    assert _keys(_inputs(last_cycle=failed), AlertSettings(cycle_failed=False)) == []


def test_mismatch_names_the_symbols() -> None:
    alerts = evaluate_alerts(_inputs(mismatches={"VTI": (Decimal(10), Decimal(12))}), THRESHOLDS)
    assert [a.key for a in alerts] == ["reconciliation_mismatch"]
    assert "VTI: trimtab expected 10, the broker has 12" in alerts[0].detail
    assert _keys(_inputs(mismatches={})) == []


def test_disabled_alerts_say_nothing_and_check_nothing() -> None:
    off = AlertSettings(enabled=False)
    inputs = _inputs(drawdown=0.9, mismatches={"VTI": (Decimal(1), Decimal(2))})
    assert evaluate_alerts(inputs, off) == []
    assert checked_families(inputs, off) == frozenset()


def _drift(symbol: str = "BND") -> DriftObservation:
    return DriftObservation(symbol, Decimal("0.20"), Decimal("0.08"), Decimal("0.18"))


def _run(
    states: dict[str, AlertState], inputs: AlertInputs, thresholds: AlertSettings = THRESHOLDS
) -> tuple[dict[str, AlertState], list[Alert], list[AlertState]]:
    result = advance(
        states,
        evaluate_alerts(inputs, thresholds),
        checked_families(inputs, thresholds),
        account=inputs.account,
        now=inputs.at,
    )
    updated = dict(states)
    updated.update({s.key: s for s in result.states})
    return updated, list(result.fired), list(result.cleared)


@given(st.integers(min_value=0, max_value=10 * 24))
def test_drift_fires_once_it_lasted_its_days(hours: int) -> None:
    start = AlertInputs(account="brokerage", at=NOW, out_of_band=(_drift(),))
    states, fired, _ = _run({}, start)
    assert fired == []
    later = AlertInputs(
        account="brokerage", at=NOW + timedelta(hours=hours), out_of_band=(_drift(),)
    )
    states, fired, _ = _run(states, later)
    assert bool(fired) == (hours >= 5 * 24)
    assert states["drift:BND"].since == NOW


def test_drift_back_in_band_ends_the_wait() -> None:
    states, _, _ = _run({}, _inputs(out_of_band=(_drift(),)))
    back = AlertInputs(account="brokerage", at=NOW + timedelta(days=3), out_of_band=())
    states, _, cleared = _run(states, back)
    assert cleared == []  # it never fired
    again = NOW + timedelta(days=4)
    states, fired, _ = _run(states, AlertInputs("brokerage", again, out_of_band=(_drift(),)))
    assert fired == []
    assert states["drift:BND"].since == again


def test_an_ongoing_condition_is_sent_once_per_episode() -> None:
    states: dict[str, AlertState] = {}
    sent: list[str] = []
    timeline = [0.2, 0.25, 0.3, None, 0.18, 0.05, 0.16, 0.2]
    for hour, drawdown in enumerate(timeline):
        inputs = AlertInputs("brokerage", NOW + timedelta(hours=hour), drawdown=drawdown)
        states, fired, cleared = _run(states, inputs)
        sent += [f"fire@{hour}" for _ in fired] + [f"clear@{hour}" for _ in cleared]
    # None (no valuation this time) neither clears nor re-fires the episode.
    assert sent == ["fire@0", "clear@5", "fire@6"]
    assert states["drawdown"].episodes == 2
    assert states["drawdown"].since == NOW + timedelta(hours=6)


@given(st.lists(st.booleans(), min_size=1, max_size=30))
def test_alerts_fire_exactly_at_the_starts_of_episodes(present: list[bool]) -> None:
    states: dict[str, AlertState] = {}
    fired_at: list[int] = []
    for i, on in enumerate(present):
        inputs = AlertInputs(
            "brokerage",
            NOW + timedelta(minutes=i),
            mismatches={"VTI": (Decimal(1), Decimal(2))} if on else {},
        )
        states, fired, _ = _run(states, inputs)
        fired_at += [i] * len(fired)
    starts = [i for i, on in enumerate(present) if on and (i == 0 or not present[i - 1])]
    assert fired_at == starts


def test_each_symbol_is_its_own_episode() -> None:
    first = _inputs(out_of_band=(_drift("BND"),))
    states, _, _ = _run({}, first)
    later = AlertInputs(
        "brokerage", NOW + timedelta(days=5), out_of_band=(_drift("BND"), _drift("VXUS"))
    )
    states, fired, _ = _run(states, later)
    assert [a.key for a in fired] == ["drift:BND"]
    assert states["drift:VXUS"].state == "pending"


@pytest.mark.parametrize("value", [0, -1])
def test_invalid_thresholds_are_refused(value: int) -> None:
    with pytest.raises(ValueError, match="drawdown"):
        AlertSettings(drawdown=Decimal(value))


@given(
    st.lists(st.tuples(st.integers(1, 48), st.booleans()), min_size=1, max_size=40),
    st.integers(0, 72),
)
def test_a_held_alert_fires_once_its_condition_lasted_long_enough(
    steps: list[tuple[int, bool]], hold_hours: int
) -> None:
    """Against a direct reading of the timeline: each run of checks that saw the condition
    fires once, at its first check at least `hold` after the run began, if there is one."""
    hold = timedelta(hours=hold_hours)
    states: dict[str, AlertState] = {}
    at = NOW
    fired_at: list[datetime] = []
    expected: list[datetime] = []
    run_start: datetime | None = None
    run_fired = False
    for gap, present in steps:
        at += timedelta(hours=gap)
        alerts = (
            [Alert("brokerage", "drift:BND", "warning", "t", "d", hold=hold)] if present else []
        )
        result = advance(states, alerts, frozenset({"drift"}), account="brokerage", now=at)
        states.update({s.key: s for s in result.states})
        fired_at += [at] * len(result.fired)
        if not present:
            run_start, run_fired = None, False
            continue
        run_start = run_start or at
        if not run_fired and at - run_start >= hold:
            expected.append(at)
            run_fired = True
    assert fired_at == expected


def _order(coid: str, status: str = "unknown") -> OrderAtIssue:
    return OrderAtIssue(coid, "VTI", "buy", status, NOW - timedelta(minutes=3), "HTTP 504")


def test_an_unresolved_order_fires_once_and_clears_when_resolved() -> None:
    inputs = _inputs(unresolved_orders=(_order("tt-1"),), never_reached=())
    alerts = evaluate_alerts(inputs, THRESHOLDS)
    assert [(a.key, a.severity) for a in alerts] == [("unresolved_order:tt-1", "failure")]
    assert "trimtab orders unresolved -a brokerage" in alerts[0].detail
    checked = checked_families(inputs, THRESHOLDS)
    first = advance({}, alerts, checked, account="brokerage", now=NOW)
    assert [a.key for a in first.fired] == ["unresolved_order:tt-1"]
    states = {s.key: s for s in first.states}
    again = advance(states, alerts, checked, account="brokerage", now=NOW)
    assert again.fired == ()
    resolved = _inputs(unresolved_orders=(), never_reached=())
    later = advance(
        states, [], checked_families(resolved, THRESHOLDS), account="brokerage", now=NOW
    )
    assert [s.key for s in later.cleared] == ["unresolved_order:tt-1"]


def test_an_order_that_never_reached_the_broker_is_a_warning_naming_it() -> None:
    inputs = _inputs(never_reached=(_order("tt-2", "never_reached"),))
    alerts = evaluate_alerts(inputs, THRESHOLDS)
    assert [(a.key, a.severity) for a in alerts] == [("order_never_reached:tt-2", "warning")]
    assert "Nothing was resent" in alerts[0].detail


def test_order_alerts_can_be_switched_off() -> None:
    off = AlertSettings(unresolved_orders=False)
    inputs = _inputs(unresolved_orders=(_order("tt-1"),), never_reached=(_order("tt-2"),))
    assert _keys(inputs, off) == []
    assert checked_families(inputs, off) == frozenset()
