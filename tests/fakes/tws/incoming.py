"""Client -> server requests the fake reads field by field (IB's EClient layouts).

placeOrder is read walking the protocol's conditional groups (combo legs, delta-neutral,
scale, hedge, algo, PEG, conditions) as the layout prescribes for the server version, and must
end exactly at the last field: a request that does not parse to its end is a protocol error,
so a layout mismatch between client and fake cannot go unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tests.fakes.tws.wire import Fields, ProtocolError


@dataclass(frozen=True)
class ContractQuery:
    """The 12 contract fields every request carries, as sent."""

    con_id: int
    symbol: str
    sec_type: str
    last_trade_date: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str


def read_contract(f: Fields) -> ContractQuery:
    con_id = f.integer()
    symbol, sec_type, last_trade_date = f.text(), f.text(), f.text()
    f.skip(3)  # strike, right, multiplier: none of them for stocks
    exchange, primary, currency, local, trading_class = (
        f.text(),
        f.text(),
        f.text(),
        f.text(),
        f.text(),
    )
    return ContractQuery(
        con_id, symbol, sec_type, last_trade_date, exchange, primary, currency, local, trading_class
    )


@dataclass(frozen=True)
class PlacedOrder:
    order_id: int
    contract: ContractQuery
    action: str
    quantity: Decimal | None
    order_type: str
    limit_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    what_if: bool
    cash_qty: Decimal | None
    # Features the order uses that the fake does not model (combo legs, delta-neutral,
    # scale, hedge, algo, conditions): it refuses such orders after reading them.
    unsupported: tuple[str, ...]


def read_place_order(fields: list[str], version: int) -> PlacedOrder:
    f = Fields(fields, 1)
    order_id = f.integer()
    contract = read_contract(f)
    f.skip(2)  # secIdType, secId
    action, quantity, order_type = f.text(), f.number(), f.text()
    limit_price, aux_price = f.number(), f.number()
    tif = f.text()
    f.skip(1)  # ocaGroup
    account = f.text()
    f.skip(2)  # openClose, origin
    order_ref = f.text()
    transmit = f.flag()
    parent_id = f.integer()
    f.skip(4)  # blockOrder, sweepToFill, displaySize, triggerMethod
    outside_rth = f.flag()
    f.skip(1)  # hidden
    unsupported: list[str] = []
    if contract.sec_type == "BAG":
        unsupported.append("combo legs")
        for _ in range(f.integer()):
            f.skip(8)
        for _ in range(f.integer()):
            f.skip(1)
        for _ in range(f.integer()):
            f.skip(2)
    # sharesAllocation(deprecated), discretionaryAmt, goodAfterTime, goodTillDate,
    # faGroup, faMethod, faPercentage[, faProfile before 177]
    f.skip(7 if version >= 177 else 8)
    # modelCode ... volatilityType: 22 fields
    f.skip(22)
    delta_neutral_type = f.text()
    f.skip(1)  # deltaNeutralAuxPrice
    if delta_neutral_type:
        unsupported.append("delta-neutral")
        f.skip(8)
    f.skip(6)  # continuousUpdate ... scaleSubsLevelSize
    scale_increment = f.number()
    if scale_increment is not None and scale_increment > 0:
        unsupported.append("scale")
        f.skip(7)
    f.skip(3)  # scaleTable, activeStartTime, activeStopTime
    if f.text():  # hedgeType
        unsupported.append("hedge")
        f.skip(1)
    f.skip(4)  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if f.flag():  # deltaNeutralContract
        f.skip(3)
    algo = f.text()
    if algo:
        unsupported.append(f"algo {algo}")
        f.skip(2 * f.integer())
    f.skip(1)  # algoId
    what_if = f.flag()
    f.skip(4)  # orderMiscOptions, solicited, randomizeSize, randomizePrice
    if order_type in {"PEG BENCH", "PEGBENCH"}:
        f.skip(5)
    if f.integer():  # conditions
        # Conditions have a layout per kind; the fake refuses them rather than reading them,
        # and so cannot check the fields after them.
        return PlacedOrder(
            order_id,
            contract,
            action,
            quantity,
            order_type,
            limit_price,
            aux_price,
            tif,
            account,
            order_ref,
            transmit,
            parent_id,
            outside_rth,
            what_if,
            None,
            (*unsupported, "conditions"),
        )
    f.skip(10)  # adjustedOrderType ... softDollarTier value
    cash_qty = f.number()
    f.skip(8)  # mifid2 x4, dontUseAutoPriceForHedge, isOmsContainer,
    # discretionaryUpToLimitPrice, usePriceMgmtAlgo
    f.skip(sum(1 for since in (158, 160, 162, 166, 169) if version >= since))
    if version >= 170:
        if contract.exchange == "IBKRATS":
            f.skip(1)
        if order_type in {"PEG BEST", "PEGBEST"}:
            f.skip(1)
            if f.text() == "Infinite":
                f.skip(2)
        elif order_type in {"PEG MID", "PEGMID"}:
            f.skip(2)
    if len(f):
        raise ProtocolError(f"placeOrder {order_id}: {len(f)} fields after the last one known")
    return PlacedOrder(
        order_id,
        contract,
        action,
        quantity,
        order_type,
        limit_price,
        aux_price,
        tif,
        account,
        order_ref,
        transmit,
        parent_id,
        outside_rth,
        what_if,
        cash_qty,
        tuple(unsupported),
    )


@dataclass(frozen=True)
class MarketDataRequest:
    req_id: int
    contract: ContractQuery
    generic_ticks: str
    snapshot: bool
    regulatory_snapshot: bool


def read_market_data(fields: list[str]) -> MarketDataRequest:
    f = Fields(fields, 2)  # msgId 1, version 11
    req_id = f.integer()
    contract = read_contract(f)
    if contract.sec_type == "BAG":
        f.skip(4 * f.integer())
    if f.flag():  # deltaNeutralContract
        f.skip(3)
    generic, snapshot, regulatory = f.text(), f.flag(), f.flag()
    f.skip(1)  # mktDataOptions
    return MarketDataRequest(req_id, contract, generic, snapshot, regulatory)


@dataclass(frozen=True)
class ExecutionFilter:
    """reqExecutions' filter; an empty field (or client id 0) matches everything."""

    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str
    sec_type: str
    exchange: str
    side: str


def read_executions(fields: list[str]) -> ExecutionFilter:
    f = Fields(fields, 2)  # msgId 7, version 3
    return ExecutionFilter(
        f.integer(), f.integer(), f.text(), f.text(), f.text(), f.text(), f.text(), f.text()
    )


def read_contract_details(fields: list[str]) -> tuple[int, ContractQuery]:
    f = Fields(fields, 2)  # msgId 9, version 8
    req_id = f.integer()
    return req_id, read_contract(f)
