"""The optional broker capabilities: one table, forwarded by the retry wrapper, kernel-only."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from adapters.base import (
    BROKER_MEMBERS,
    CAPABILITIES,
    AccountCheck,
    AssetCheck,
    BatchPriceHistory,
    Broker,
    BrokerChecks,
    BrokerEnvironment,
    CashFlowReporter,
    DividendHistory,
    MaintenanceWindows,
    MoreChecks,
    OrderAbsence,
    PriceHistory,
    ReinvestmentHistory,
    SessionDay,
    UncancellableOrders,
)
from adapters.sim import SimSettings
from daemon.bootstrap import open_app
from daemon.core.costs import NO_COSTS
from daemon.core.domain import AccountSnapshot, BrokerOrder, Fill, Funds, OrderIntent
from daemon.core.errors import BrokerError, TransientBrokerError
from daemon.core.movements import CashFlow, FlowKind
from daemon.cycle.retry import ReadRetrying

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 1, 16, tzinfo=UTC)


class PlainBroker:
    """The required methods only; every call is counted, the first `failures` reads fail."""

    market_buy_hold_fraction = Decimal(0)

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[str] = []
        self.failures = failures

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.failures:
            self.failures -= 1
            raise TransientBrokerError(f"{name} timed out")

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        self._call("snapshot")
        return AccountSnapshot(account="a", as_of=AT, cash=Decimal(1), positions=(), quotes={})

    def funds(self, symbols: Collection[str]) -> Funds:
        raise NotImplementedError

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        self._call("submit")
        raise AssertionError("unreachable: the first call fails")

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        return None

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        return {}

    def cancel(self, client_order_id: str) -> BrokerOrder:
        raise NotImplementedError

    def fills(self, since: datetime) -> Sequence[Fill]:
        return []

    def close(self) -> None:
        self.calls.append("close")

    trade_costs = NO_COSTS


class FlowBroker(PlainBroker):
    """A broker that reports cash flows and nothing else optional."""

    def cash_flows(self, since: datetime) -> Sequence[CashFlow]:
        self._call("cash_flows")
        flow = CashFlow("a", since, Decimal(5), FlowKind.DEPOSIT, "fake", "1")
        return [flow]


class CheckingBroker(PlainBroker):
    """A broker with `BrokerChecks`."""

    def check_account(self) -> AccountCheck:
        raise NotImplementedError

    def check_assets(self, symbols: Collection[str]) -> Mapping[str, AssetCheck]:
        raise NotImplementedError

    def calendar(self, start: date, end: date) -> Sequence[SessionDay]:
        self._call("calendar")
        return []


def retrying(inner: PlainBroker) -> ReadRetrying:
    return ReadRetrying(inner, log=structlog.get_logger(), sleep=lambda _: None)


def test_the_table_names_every_method_of_every_capability() -> None:
    protocols = {c.protocol for c in CAPABILITIES}
    assert protocols == {
        BrokerChecks,
        CashFlowReporter,
        DividendHistory,
        ReinvestmentHistory,
        PriceHistory,
        OrderAbsence,
        BatchPriceHistory,
        MaintenanceWindows,
        MoreChecks,
        UncancellableOrders,
    }
    for capability in CAPABILITIES:
        declared = {
            name
            for name, member in vars(capability.protocol).items()
            if inspect.isfunction(member) and not name.startswith("_")
        }
        assert {method for method, _what in capability.reads} == declared


@pytest.mark.parametrize(
    ("inner", "offered"),
    [
        (PlainBroker(), set()),
        (FlowBroker(), {CashFlowReporter}),
        (CheckingBroker(), {BrokerChecks}),
    ],
)
def test_the_wrapper_has_exactly_the_capabilities_of_the_broker_it_wraps(
    inner: PlainBroker, offered: set[type]
) -> None:
    wrapper = retrying(inner)
    for capability in CAPABILITIES:
        assert isinstance(wrapper, capability.protocol) == (capability.protocol in offered)
        assert isinstance(inner, capability.protocol) == (capability.protocol in offered)


def test_capability_reads_are_retried() -> None:
    inner = FlowBroker(failures=2)
    wrapper = retrying(inner)
    assert isinstance(wrapper, CashFlowReporter)
    flows = wrapper.cash_flows(AT)
    assert [f.amount for f in flows] == [Decimal(5)]
    assert inner.calls == ["cash_flows"] * 3


def test_capability_reads_give_up_after_the_budget() -> None:
    inner = CheckingBroker(failures=1000)
    wrapper = retrying(inner)
    assert isinstance(wrapper, BrokerChecks)
    with pytest.raises(TransientBrokerError, match=r"calendar failed \d+ time\(s\)"):
        wrapper.calendar(date(2026, 12, 1), date(2026, 12, 2))


def test_writes_are_never_retried() -> None:
    inner = FlowBroker(failures=1)
    wrapper = retrying(inner)
    with pytest.raises(TransientBrokerError):
        wrapper.submit(object())  # type: ignore[arg-type] # never looked at: the call fails first
    assert inner.calls == ["submit"]


def test_importing_the_alpaca_parser_loads_no_sql() -> None:
    code = (
        "import sys, adapters.alpaca.parsing\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'daemon.store') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_broker_members_are_the_protocols() -> None:
    declared = {
        name
        for name, value in vars(Broker).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }
    assert set(BROKER_MEMBERS) == declared


class _BeforeTradeCosts:
    """A broker written against the port before `trade_costs`: everything else is there."""

    market_buy_hold_fraction = Decimal(0)

    def __init__(self, *_args: object) -> None:
        self.plain = PlainBroker()

    def __getattr__(self, name: str) -> object:
        if name == "trade_costs":
            raise AttributeError(name)
        return getattr(self.plain, name)


class _OldPlugin:
    name = "old-port"
    settings_model = SimSettings

    def create(self, settings: object, env: BrokerEnvironment) -> object:
        return _BeforeTradeCosts(settings, env)


OLD_PORT_PLUGIN = _OldPlugin()


def test_a_plugin_broker_missing_a_port_member_is_named_when_it_is_built(
    tmp_path: Path,
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        'state_dir = "state"\n[accounts.main]\n'
        'broker = "tests.unit.test_broker_capabilities:OLD_PORT_PLUGIN"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    app = open_app(config)
    try:
        with pytest.raises(BrokerError, match="without trade_costs, which the Broker port"):
            app.broker("main")
    finally:
        app.close()


def test_each_built_in_plugin_declares_offline_the_costs_its_broker_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`trimtab plan --holdings` asks the plugin (`DeclaresCosts`), a live cycle the broker:
    they must agree, or an offline plan would raise different cash from the live one."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "prices.csv").write_text("symbol,price\nVTI,250.00\n")
    env = "TRIMTAB_ACCOUNTS__BROKERAGE__BROKER_SETTINGS__"
    monkeypatch.setenv(env + "API_KEY_ID", "PKTESTKEYID0000000000")
    monkeypatch.setenv(env + "API_SECRET_KEY", "test-secret-key-that-is-long-enough-0000")
    targets = '\n[accounts.{}.strategy_params]\ntargets = {{ VTI = "1" }}\n'
    config = tmp_path / "trimtab.toml"
    config.write_text(
        'state_dir = "state"\n'
        '[accounts.paper]\nbroker = "sim"\n'
        "[accounts.paper.broker_settings]\n"
        'slippage_bps = "7"\ncommission_per_order = "4.95"\ncommission_per_share = "0.005"\n'
        + targets.format("paper")
        + '[accounts.brokerage]\nbroker = "alpaca"\n'
        '[accounts.brokerage.broker_settings]\nenvironment = "paper"\n'
        + targets.format("brokerage")
        + '[accounts.ira]\nbroker = "ibkr"\n'
        '[accounts.ira.broker_settings]\nenvironment = "paper"\naccount_id = "DU1234567"\n'
        + targets.format("ira")
        + '[accounts.roth]\nbroker = "manual"\n'
        '[accounts.roth.broker_settings]\nenvironment = "live"\nexports = "exports"\n'
        'preset = "fidelity"\naccount_number = "X1"\nprices_file = "prices.csv"\n'
        + targets.format("roth")
        + '[accounts.old]\nbroker = "tests.unit.test_broker_capabilities:OLD_PORT_PLUGIN"\n'
        + targets.format("old")
    )
    app = open_app(config)
    try:
        declared = {
            name: app.declared_costs(name) for name in ("paper", "brokerage", "ira", "roth")
        }
        for name, costs in declared.items():
            assert costs == app.broker(name).trade_costs, name
        assert declared["paper"].per_order == Decimal("4.95")
        assert declared["ira"].minimum == Decimal("1.00")
        assert declared["brokerage"].sale_fee_fraction > 0
        assert declared["roth"] == NO_COSTS
        # A plugin that does not declare them offline is planned at the quotes.
        assert app.declared_costs("old") == NO_COSTS
        # Whole shares at IB and at a manual broker without `fractional = true`, fractions at
        # the sim and at Alpaca with `fractional` (its per-asset list is not known offline:
        # the policy decides); the old plugin says nothing: the policy alone.
        wanted = {"paper": {"VTI"}, "ira": set(), "roth": set(), "brokerage": {"VTI"}, "old": None}
        for name, fractionable in wanted.items():
            assert app.declared_fractionable(name, {"VTI"}) == fractionable, name
    finally:
        app.close()
