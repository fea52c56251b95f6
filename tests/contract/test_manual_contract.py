"""The broker contract, run against the manual broker where its semantics apply.

Each test named in `APPLIES` is the contract's own test function, called with a
`ManualHarness` (a person confirms what the market would fill). The rest do not apply, each
for the reason in `DOES_NOT_APPLY` (docs/manual.md, "What the broker contract does not
cover"); a test checks that every contract test is in one list or the other, so a new
contract test must be placed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract import test_broker_contract as contract
from tests.contract.manual_harness import ManualHarness

APPLIES: dict[str, tuple[dict[str, Any], ...]] = {
    "test_a_position_sold_to_zero_leaves_the_snapshot": ({},),
    "test_market_buy_fills_and_moves_exactly_its_cost": (
        {"qty": "10", "quote": "100.00"},
        {"qty": "3", "quote": "50.00"},
        {"qty": "7", "quote": "0.80"},
    ),
    "test_market_sell_fills_and_credits_exactly_its_proceeds": ({},),
    "test_fractional_buy_when_the_account_allows_it": ({},),  # skips: whole shares
    "test_notional_buy_spends_the_amount_on_shares_floored_to_nine_decimals": ({},),  # skips
    "test_notional_limit_order_is_refused": ({},),
    "test_a_marketable_limit_order_fills_at_once_never_worse_than_its_limit": ({},),
    "test_funds_are_the_snapshots_cash_and_the_asked_for_quotes": ({},),
    "test_get_orders_answers_as_get_order_does_for_each_id": ({},),
    "test_get_order_finds_orders_by_client_order_id_only": ({},),
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
    "test_fills_since_returns_each_fill_once_oldest_first": ({},),
    "test_state_survives_closing_and_rebuilding_the_broker": ({},),
    "test_the_declared_trade_costs_cover_what_the_broker_takes": (
        {"quote": "0.8731"},
        {"quote": "412.37"},
    ),
}

DOES_NOT_APPLY = {
    "test_snapshot_shows_cash_positions_quotes_and_open_orders": "a resting ticket is UNKNOWN, "
    "not ACCEPTED: no broker acknowledged it (the rest of the snapshot is covered above)",
    "test_average_cost_is_the_average_fill_price": "exports give no average cost per position",
    "test_limit_buy_rests_then_fills_when_the_price_falls_through_it": "a resting ticket is "
    "UNKNOWN, not ACCEPTED; it fills when the person confirms it",
    "test_limit_sell_rests_then_fills_when_the_price_rises_through_it": "as the limit buy",
    "test_cancel_of_a_resting_order": "trimtab cannot cancel a ticket a person holds; it stays "
    "open until confirmed --not-done",
    "test_an_order_against_an_open_order_of_the_same_symbol_is_refused": "refused, but the "
    "resting ticket is UNKNOWN, not ACCEPTED",
    "test_a_rebalance_sized_under_the_hold_goes_through_back_to_back": "no buying-power hold",
    "test_the_same_rebalance_sized_to_the_cash_alone_is_refused_its_last_buy": "no hold",
}


@pytest.fixture
def manual(tmp_path: Path) -> Iterator[ManualHarness]:
    made = ManualHarness(tmp_path)
    yield made
    made.close()


CASES = [
    pytest.param(name, kwargs, id=f"{name}[{','.join(map(str, kwargs.values()))}]")
    for name, variants in APPLIES.items()
    for kwargs in variants
]


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_the_manual_broker_keeps_the_contract(
    manual: ManualHarness, name: str, kwargs: dict[str, Any]
) -> None:
    test: Callable[..., None] = getattr(contract, name)
    test(manual, **kwargs)


def test_every_contract_test_is_run_or_said_not_to_apply() -> None:
    names = {
        n for n, f in inspect.getmembers(contract, inspect.isfunction) if n.startswith("test_")
    }
    assert names == set(APPLIES) | set(DOES_NOT_APPLY)
    assert not set(APPLIES) & set(DOES_NOT_APPLY)
