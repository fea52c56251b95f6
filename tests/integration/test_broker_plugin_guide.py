"""docs/broker-plugins.md's example broker, as the page shows it: its code block written to a
module, loaded by `module:attr`, held to the broker contract (the contract's own tests that
apply to it, through `GuideHarness`; the rest named with why they do not) and to the order
path's edges through the real executor, then walked through the page's "Try it" with the
real CLI on SQLite.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
import time_machine
from typer.testing import CliRunner

from adapters.base import AbsenceRule, Broker, BrokerEnvironment, OrderAbsence
from daemon.cli import app
from daemon.core.costs import TradeCosts
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Funds,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
)
from daemon.core.errors import OutcomeUnknown
from daemon.plugins import load_broker_plugin
from daemon.store.db import Database
from tests.contract import test_broker_contract as contract
from tests.contract import test_order_edges as edges
from tests.contract.conftest import ACCOUNT, SteppingClock
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)

pytestmark = pytest.mark.usefixtures("fresh_logging")

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "broker-plugins.md"
MODULE = "paper_json_broker"
PLUGIN = f"{MODULE}:PLUGIN"
TUESDAY_NOON = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
"""12:00 in New York on a trading day."""


def guide_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), re.DOTALL)


def example_code() -> str:
    [code] = [b for b in guide_blocks("python") if "PLUGIN: BrokerPlugin" in b]
    return code


@pytest.fixture(scope="module", autouse=True)
def example_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The page's example, written where Python finds `paper_json_broker`."""
    where = tmp_path_factory.mktemp("plugin")
    (where / f"{MODULE}.py").write_text(example_code())
    sys.path.insert(0, str(where))
    yield
    sys.path.remove(str(where))
    sys.modules.pop(MODULE, None)


# -- the harness -------------------------------------------------------------------------------


class PaperJson(Broker, OrderAbsence, Protocol):
    """The example's broker as the harness uses it: the port, `OrderAbsence`, `deposit`."""

    def deposit(self, amount: Decimal) -> None: ...


class GuideHarness:
    """The example broker behind the contract's `BrokerHarness`.

    Prices are the example's CSV file, dated (its modification time) by the harness's
    clock; `fund` is the example's `deposit`. A lost submission is a link that drops the
    request, or the answer (`_LossyLink`): the example has no network of its own to lose.
    """

    fractional = False
    unknown_symbol = "NOSUCHSYMBOL"
    holds_open_buys = False
    account = ACCOUNT

    def __init__(self, root: Path) -> None:
        self.clock = SteppingClock(datetime(2024, 3, 5, 15, 0, tzinfo=UTC))
        self.prices: dict[str, Decimal] = {}
        self._prices_file = root / "prices.csv"
        self._state_dir = root / "state"
        self._orders = 0
        self.set_price("SPY", Decimal("500.00"))  # the file exists from the start
        self._plugin = load_broker_plugin(PLUGIN)
        self._settings = self._plugin.settings_model.model_validate(
            {"prices_file": str(self._prices_file), "starting_cash": "0"}
        )
        self.paper = self._build()
        self.broker: Broker = self.paper

    def _build(self) -> PaperJson:
        env = BrokerEnvironment(account=ACCOUNT, state_dir=self._state_dir, clock=self.clock)
        made = self._plugin.create(self._settings, env)
        assert isinstance(made, OrderAbsence)
        assert callable(getattr(made, "deposit", None))
        return cast("PaperJson", made)

    def fund(self, cash: Decimal) -> None:
        self.paper.deposit(cash)

    def set_price(self, symbol: str, price: Decimal) -> None:
        self.prices[symbol] = price
        rows = ["symbol,price,previous_close", *(f"{s},{p}," for s, p in self.prices.items())]
        self._prices_file.write_text("\n".join(rows) + "\n")
        stamp = self.clock().timestamp()
        os.utime(self._prices_file, (stamp, stamp))

    def give_position(self, symbol: str, qty: Decimal) -> None:
        self.fund(qty * self.prices[symbol])
        self._orders += 1
        order = self.broker.submit(
            OrderIntent(
                client_order_id=f"harness-{self._orders}",
                cycle_id="harness",
                account=ACCOUNT,
                seq=self._orders,
                symbol=symbol,
                side=Side.BUY,
                qty=qty,
                order_type=OrderType.MARKET,
                reason="contract harness: give a position",
            )
        )
        assert order.status is OrderStatus.FILLED, order

    def expected_fill_price(self, side: Side, quote: Decimal) -> Decimal:
        del side
        return quote  # the file's price, no slippage

    def expected_commission(self, qty: Decimal) -> Decimal:
        del qty
        return Decimal(0)

    def settle(self) -> None:
        return None  # the example acts on the prices file at every call

    def now(self) -> datetime:
        return self.clock()

    def restart(self) -> None:
        self.broker.close()
        self.paper = self._build()
        self.broker = self.paper

    def lose_next_submission(self, *, taken: bool, how: str) -> None:
        del how  # a request dropped or an answer lost: the same to a file
        self.broker = _LossyLink(self.paper, taken=taken)

    def race_cancels(self, outcome: str) -> None:
        raise NotImplementedError("a cancel of the example takes effect at once")

    def advance(self, by: timedelta) -> None:
        self.clock.advance(by)

    def hold_market_buys(self, fraction: Decimal) -> None:
        raise NotImplementedError("the example fills market buys at once: nothing is held")

    def close(self) -> None:
        self.broker.close()


class _LossyLink:
    """The example behind a link that loses the next submission: before the broker took it
    (`taken` false) or its answer after (`taken` true), raising `OutcomeUnknown` as an
    adapter must when it cannot tell. Everything else passes straight through."""

    def __init__(self, inner: PaperJson, *, taken: bool) -> None:
        self._inner = inner
        self._taken: bool | None = taken

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        taken, self._taken = self._taken, None
        if taken is None:
            return self._inner.submit(intent)
        if taken:
            self._inner.submit(intent)
        raise OutcomeUnknown(intent.client_order_id, "the connection dropped")

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        return self._inner.snapshot(symbols)

    def funds(self, symbols: Collection[str]) -> Funds:
        return self._inner.funds(symbols)

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        return self._inner.get_order(client_order_id)

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        return self._inner.get_orders(client_order_ids)

    def cancel(self, client_order_id: str) -> BrokerOrder:
        return self._inner.cancel(client_order_id)

    def fills(self, since: datetime) -> Sequence[Fill]:
        return self._inner.fills(since)

    def close(self) -> None:
        self._inner.close()

    @property
    def market_buy_hold_fraction(self) -> Decimal:
        return self._inner.market_buy_hold_fraction

    @property
    def trade_costs(self) -> TradeCosts:
        return self._inner.trade_costs

    def absence_rule(self) -> AbsenceRule:
        return self._inner.absence_rule()

    def orders_submitted(self, start: datetime, end: datetime) -> Sequence[BrokerOrder]:
        return self._inner.orders_submitted(start, end)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[GuideHarness]:
    made = GuideHarness(tmp_path)
    yield made
    made.close()


# -- the contract ------------------------------------------------------------------------------

APPLIES: dict[str, tuple[dict[str, Any], ...]] = {
    "test_snapshot_shows_cash_positions_quotes_and_open_orders": ({},),
    "test_a_position_sold_to_zero_leaves_the_snapshot": ({},),
    "test_market_buy_fills_and_moves_exactly_its_cost": (
        {"qty": "10", "quote": "100.00"},
        {"qty": "3", "quote": "50.00"},
        {"qty": "7", "quote": "0.80"},
    ),
    "test_market_sell_fills_and_credits_exactly_its_proceeds": ({},),
    "test_notional_limit_order_is_refused": ({},),
    "test_average_cost_is_the_average_fill_price": ({},),
    "test_limit_buy_rests_then_fills_when_the_price_falls_through_it": ({},),
    "test_limit_sell_rests_then_fills_when_the_price_rises_through_it": ({},),
    "test_a_marketable_limit_order_fills_at_once_never_worse_than_its_limit": ({},),
    "test_funds_are_the_snapshots_cash_and_the_asked_for_quotes": ({},),
    "test_get_orders_answers_as_get_order_does_for_each_id": ({},),
    "test_get_order_finds_orders_by_client_order_id_only": ({},),
    "test_cancel_of_a_resting_order": ({},),
    "test_cancel_of_a_filled_order_leaves_it_filled": ({},),
    "test_cancel_of_an_unknown_order_is_a_broker_error": ({},),
    "test_a_reused_client_order_id_is_refused_and_creates_nothing": ({},),
    "test_a_client_order_id_stays_taken_whatever_became_of_its_order": ({},),
    "test_refused_orders_raise_and_place_nothing": tuple(
        {"case": case} for case in sorted(contract.REFUSALS)
    ),
    "test_fractional_quantity_refused_when_not_allowed": ({},),
    "test_shares_offered_by_an_open_sell_cannot_be_sold_twice": ({},),
    "test_cash_held_by_an_open_buy_cannot_be_spent_twice": ({},),
    "test_an_order_against_an_open_order_of_the_same_symbol_is_refused": (
        {"resting_side": Side.BUY},
        {"resting_side": Side.SELL},
    ),
    "test_fills_since_returns_each_fill_once_oldest_first": ({},),
    "test_state_survives_closing_and_rebuilding_the_broker": ({},),
    "test_the_declared_trade_costs_cover_what_the_broker_takes": (
        {"quote": "0.8731"},
        {"quote": "9.995"},
        {"quote": "27.10"},
        {"quote": "412.37"},
    ),
}

DOES_NOT_APPLY = {
    "test_fractional_buy_when_the_account_allows_it": "whole shares only",
    "test_notional_buy_spends_the_amount_on_shares_floored_to_nine_decimals": "whole shares "
    "only: a dollar-amount order is refused",
    "test_a_rebalance_sized_under_the_hold_goes_through_back_to_back": "market buys fill at "
    "once: no buying power is held",
    "test_the_same_rebalance_sized_to_the_cash_alone_is_refused_its_last_buy": "no hold",
}

EDGES_APPLY: dict[str, tuple[dict[str, Any], ...]] = {
    "test_a_submission_lost_before_the_broker_took_it_never_reached_then_traded_again": (
        {"how": "504"},
    ),
    "test_a_submission_taken_whose_answer_was_lost_resolves_to_the_real_order": ({"how": "504"},),
    "test_buys_planned_to_spend_all_the_cash_are_never_refused_for_it": (
        {"shares": {"VTI": "0.40", "BND": "0.29", "SCHD": "0.31"}},
        {"shares": {"SCHD": "1"}},
    ),
}

EDGES_DO_NOT_APPLY = {
    "test_a_cancel_is_waited_for_until_final_and_a_fill_after_it_is_kept": "a cancel takes "
    "effect at once: never pending",
    "test_the_cancel_wait_is_bounded": "a cancel is never pending",
    "test_buys_the_hold_shrank_take_their_rest_once_their_pieces_fill": "no hold",
}


def _cases(applies: dict[str, tuple[dict[str, Any], ...]]) -> list[Any]:
    return [
        pytest.param(name, kwargs, id=f"{name}[{','.join(map(str, kwargs.values()))}]")
        for name, variants in applies.items()
        for kwargs in variants
    ]


@pytest.mark.parametrize(("name", "kwargs"), _cases(APPLIES))
def test_the_example_keeps_the_broker_contract(
    harness: GuideHarness, name: str, kwargs: dict[str, Any]
) -> None:
    test: Callable[..., None] = getattr(contract, name)
    test(harness, **kwargs)


@pytest.mark.parametrize(("name", "kwargs"), _cases(EDGES_APPLY))
def test_the_example_keeps_the_order_path_at_its_edges(
    harness: GuideHarness, database: Database, name: str, kwargs: dict[str, Any]
) -> None:
    test: Callable[..., None] = getattr(edges, name)
    test(harness, database, **kwargs)


@pytest.mark.parametrize(
    ("module", "applies", "does_not"),
    [(contract, APPLIES, DOES_NOT_APPLY), (edges, EDGES_APPLY, EDGES_DO_NOT_APPLY)],
    ids=["contract", "edges"],
)
def test_every_contract_test_is_run_or_said_not_to_apply(
    module: object, applies: dict[str, object], does_not: dict[str, str]
) -> None:
    names = {n for n, f in inspect.getmembers(module, inspect.isfunction) if n.startswith("test_")}
    assert names == set(applies) | set(does_not)
    assert not set(applies) & set(does_not)


def test_the_plugins_declarations_match_its_broker(harness: GuideHarness) -> None:
    plugin: Any = load_broker_plugin(PLUGIN)
    settings = plugin.settings_model.model_validate({"prices_file": "p.csv"})
    assert plugin.declared_costs(settings) == harness.broker.trade_costs
    harness.set_price("VTI", Decimal(100))
    snapshot = harness.broker.snapshot(["VTI"])
    assert plugin.declared_fractionable(settings, ["VTI"]) == snapshot.fractionable


# -- "Try it", through the CLI -----------------------------------------------------------------


def try_it_commands() -> list[list[str]]:
    """The `trimtab ...` lines of the page's sh blocks, comments cut."""
    found = []
    for block in guide_blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["trimtab"]:
                found.append(words[1:])
    return found


def invoke(words: list[str], config: Path) -> tuple[int, str]:
    args = [str(config) if word == "trimtab.toml" else word for word in words]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def write_prices(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = datetime.now(UTC).timestamp()  # the travelled clock: the quotes are fresh
    os.utime(path, (stamp, stamp))


def test_try_it_trades_through_the_cli(tmp_path: Path) -> None:
    [prices] = guide_blocks("csv")
    [toml] = [b for b in guide_blocks("toml") if "[accounts.paper.broker_settings]" in b]
    config = tmp_path / "trimtab.toml"
    config.write_text(toml)
    commands = try_it_commands()
    assert [c[:2] for c in commands] == [
        ["config", "check"],
        ["check", "-c"],
        ["plan", "-c"],
        ["run", "--once"],
        ["orders", "-c"],
        ["audit", "verify"],
    ]
    with time_machine.travel(TUESDAY_NOON, tick=True):
        write_prices(tmp_path / "prices.csv", prices)
        for words in commands:
            code, out = invoke(words, config)
            assert code == 0, (words, out)
            if words[0] == "check":
                assert "every check passed" in out
                assert "paper account, mode paper" in out
        code, out = invoke(["orders", "-c", "trimtab.toml", "--json"], config)
        assert code == 0, out
        first = {(o["side"], o["symbol"], o["qty"], o["status"]) for o in json.loads(out)}
        assert first == {("buy", "BND", "533", "filled"), ("buy", "VTI", "200", "filled")}

        # The page's next step: VTI at 400 is over its band; the next cycle sells some.
        write_prices(
            tmp_path / "prices.csv", prices.replace("VTI,300.00,298.50", "VTI,400.00,398.00")
        )
        code, out = invoke(["run", "--once", "--force", "-c", "trimtab.toml"], config)
        assert code == 0, out
        code, out = invoke(["orders", "-c", "trimtab.toml", "--json"], config)
        assert code == 0, out
        second = {(o["side"], o["symbol"], o["qty"], o["status"]) for o in json.loads(out)}
        assert second - first == {("sell", "VTI", "20", "filled"), ("buy", "BND", "107", "filled")}
        code, out = invoke(["audit", "verify", "-c", "trimtab.toml"], config)
        assert code == 0, out
        assert "audit chain intact" in out

    book = json.loads((tmp_path / "state" / "paper-json-paper.json").read_text())
    assert book["positions"] == {"VTI": "180", "BND": "640"}
    assert {o["status"] for o in book["orders"].values()} == {"filled"}
