"""Account values as TWS reports them: the `updateAccountValue` / `accountSummary` tags.

Values are strings on the wire, each with a currency (`USD`, `BASE`, or empty for text tags
such as `AccountType`). The fake models a cash account in USD: buying power is the cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tests.fakes.tws.model import Instrument, TwsState

# The tags ib_async asks reqAccountSummary for that the fake knows; others are not answered.
SUMMARY_TAGS = (
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "GrossPositionValue",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "InitMarginReq",
    "MaintMarginReq",
)
LEDGER_TAGS = ("CashBalance", "TotalCashBalance", "NetLiquidationByCurrency", "StockMarketValue")


@dataclass(frozen=True)
class AccountValue:
    tag: str
    value: str
    currency: str


@dataclass(frozen=True)
class PortfolioRow:
    instrument: Instrument
    quantity: Decimal
    price: Decimal
    average_cost: Decimal
    realized: Decimal


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def account_values(state: TwsState, account_id: str) -> list[AccountValue]:
    """The values TWS streams for one account after `reqAccountUpdates`."""
    with state.lock:
        account = state.accounts[account_id]
        cash = account.cash.get("USD", Decimal(0))
        stock = Decimal(0)
        unrealized = Decimal(0)
        for row in portfolio(state, account_id):
            stock += row.quantity * row.price
            unrealized += row.quantity * (row.price - row.average_cost)
        realized = account.realized_pnl
    net = cash + stock
    values = [
        AccountValue("AccountCode", account_id, ""),
        AccountValue("AccountType", "INDIVIDUAL", ""),
        AccountValue("Currency", "USD", "USD"),
        AccountValue("AccruedCash", "0.00", "USD"),
        AccountValue("SettledCash", _money(cash), "USD"),
        AccountValue("TotalCashValue", _money(cash), "USD"),
        AccountValue("NetLiquidation", _money(net), "USD"),
        AccountValue("EquityWithLoanValue", _money(net), "USD"),
        AccountValue("GrossPositionValue", _money(stock), "USD"),
        AccountValue("AvailableFunds", _money(cash), "USD"),
        AccountValue("BuyingPower", _money(cash), "USD"),
        AccountValue("ExcessLiquidity", _money(cash), "USD"),
        AccountValue(
            "Cushion", str((cash / net).quantize(Decimal("0.000001"))) if net else "1", ""
        ),
        AccountValue("InitMarginReq", "0.00", "USD"),
        AccountValue("MaintMarginReq", "0.00", "USD"),
    ]
    for currency in ("USD", "BASE"):
        values += [
            AccountValue("CashBalance", _money(cash), currency),
            AccountValue("TotalCashBalance", _money(cash), currency),
            AccountValue("NetLiquidationByCurrency", _money(net), currency),
            AccountValue("StockMarketValue", _money(stock), currency),
            AccountValue("UnrealizedPnL", _money(unrealized), currency),
            AccountValue("RealizedPnL", _money(realized), currency),
        ]
    return values


def summary_values(state: TwsState, account_id: str, tags: str) -> list[AccountValue]:
    """What `reqAccountSummary` answers for one account and a comma-separated tag list."""
    asked = {t.strip() for t in tags.split(",") if t.strip()}
    ledger = any(t.startswith("$LEDGER") for t in asked)
    found: list[AccountValue] = []
    for value in account_values(state, account_id):
        if (value.currency in ("", "USD") and value.tag in asked and value.tag in SUMMARY_TAGS) or (
            ledger and value.tag in LEDGER_TAGS
        ):
            found.append(value)
    return found


def portfolio(state: TwsState, account_id: str) -> list[PortfolioRow]:
    """One row per holding, marked at the quote (or the cost when there is no price yet)."""
    with state.lock:
        account = state.accounts[account_id]
        rows = []
        for con_id, holding in account.holdings.items():
            mark = state.quotes[con_id].mark() if con_id in state.quotes else None
            rows.append(
                PortfolioRow(
                    state.instrument(con_id),
                    holding.quantity,
                    mark if mark is not None else holding.average_cost,
                    holding.average_cost,
                    Decimal(0),
                )
            )
        return rows
