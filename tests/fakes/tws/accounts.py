"""Account values as TWS reports them: the `updateAccountValue` / `accountSummary` tags.

Values are strings on the wire, each with a currency (`USD`, `BASE`, or empty for text tags
such as `AccountType`). The fake models a cash account with USD as its base currency: buying
power is the cash. Cash may be held in several currencies, and then, as IB reports it, the
base-currency totals (`TotalCashValue`, `NetLiquidation`, `CashBalance` for `BASE`, ...) hold
every currency converted at `TwsState.exchange_rates`, while `CashBalance` and
`TotalCashBalance` come once per currency held, with its `ExchangeRate` to the base.
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
        usd = account.cash.get("USD", Decimal(0))
        others = {c: v for c, v in sorted(account.cash.items()) if c != "USD"}
        # In the base currency (USD): every currency converted, as IB's totals are.
        cash = usd + sum((v * state.exchange_rate(c) for c, v in others.items()), Decimal(0))
        stock = Decimal(0)
        usd_stock = Decimal(0)
        unrealized = Decimal(0)
        for row in portfolio(state, account_id):
            rate = state.exchange_rate(row.instrument.currency)
            stock += row.quantity * row.price * rate
            usd_stock += row.quantity * row.price if row.instrument.currency == "USD" else 0
            unrealized += row.quantity * (row.price - row.average_cost) * rate
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
    ledgers = (("USD", usd, usd_stock, usd + usd_stock), ("BASE", cash, stock, net))
    for currency, balance, stocks, worth in ledgers:
        values += [
            AccountValue("CashBalance", _money(balance), currency),
            AccountValue("TotalCashBalance", _money(balance), currency),
            AccountValue("NetLiquidationByCurrency", _money(worth), currency),
            AccountValue("StockMarketValue", _money(stocks), currency),
            AccountValue("UnrealizedPnL", _money(unrealized), currency),
            AccountValue("RealizedPnL", _money(realized), currency),
        ]
    for currency, balance in others.items():
        values += [
            AccountValue("CashBalance", _money(balance), currency),
            AccountValue("TotalCashBalance", _money(balance), currency),
            AccountValue("ExchangeRate", str(state.exchange_rate(currency)), currency),
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
