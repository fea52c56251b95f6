"""Server -> client messages, laid out field by field as TWS sends them at a server version.

Each function returns the fields of one message (msgId first); `wire.frame` encodes them. The
versions that change a layout (all within 166..178, the range this fake speaks): 177 drops
`faProfile` from openOrder and completedOrder, 178 adds `pendingPriceRevision` to execDetails.
Unset numbers are sent empty, as TWS does for most of them; flags are `0`/`1`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.fakes.tws.model import DailyBar, Execution, Instrument, ServerOrder

# The zone the fake TWS is logged in with; times it writes carry it, as TWS 10.x does.
TWS_ZONE = "America/New_York"
# IB's UNSET_DOUBLE as TWS writes it in commission reports (realizedPNL, yield unknown).
UNSET = "1.7976931348623157E308"

Fields = list[object]


def stamp(at: datetime) -> str:
    """`20261206 09:30:01 America/New_York`: the date-time form of execDetails."""
    return at.astimezone(ZoneInfo(TWS_ZONE)).strftime("%Y%m%d %H:%M:%S ") + TWS_ZONE


def utc_stamp(at: datetime) -> str:
    """`20261206-14:30:01`: the zone-less UTC form TWS also writes execution times in (seen on
    live accounts: ib_insync #671, ib_async #230; IB's `yyyymmdd-hh:mm:ss` is UTC)."""
    return at.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")


def local_stamp(at: datetime, zone: str) -> str:
    """`20261206  09:30:01`: execDetails' zone-less form, two spaces, in the zone TWS is logged
    in with (`zone`): what TWS writes to a client below server version 200, ib_async's 178."""
    return at.astimezone(ZoneInfo(zone)).strftime("%Y%m%d  %H:%M:%S")


EXECUTION_TIME_FORMS = ("named", "utc", "local")
"""How the fake writes execution times: `stamp`, `utc_stamp` or `local_stamp`."""


def execution_stamp(at: datetime, form: str, zone: str) -> str:
    """An execution time in `form` (`EXECUTION_TIME_FORMS`); `zone` is TWS's for `local`."""
    if form == "utc":
        return utc_stamp(at)
    if form == "local":
        return local_stamp(at, zone)
    return stamp(at)


def _contract(instrument: Instrument, exchange: str) -> Fields:
    # conId, symbol, secType, lastTradeDateOrContractMonth, strike, right, multiplier,
    # exchange, currency, localSymbol, tradingClass: a stock has no expiry, strike or right.
    return [
        instrument.con_id,
        instrument.symbol,
        instrument.sec_type,
        "",
        "0",
        "",
        "",
        exchange,
        instrument.currency,
        instrument.symbol,
        instrument.trading_class,
    ]


def error(version: int, req_id: int, code: int, text: str) -> Fields:
    fields: Fields = [4, 2, req_id, code, text]
    if version >= 166:
        fields.append("")  # advancedOrderRejectJson
    return fields


def managed_accounts(accounts: list[str]) -> Fields:
    return [15, 1, ",".join(accounts)]


def next_valid_id(order_id: int) -> Fields:
    return [9, 1, order_id]


def current_time(epoch: int) -> Fields:
    return [49, 1, epoch]


def position(account: str, instrument: Instrument, quantity: Decimal, cost: Decimal) -> Fields:
    return [
        61,
        3,
        account,
        *_contract(instrument, instrument.primary_exchange),
        quantity,
        cost,
    ]


def position_end() -> Fields:
    return [62, 1]


def account_value(key: str, value: str, currency: str, account: str) -> Fields:
    return [6, 2, key, value, currency, account]


def portfolio_value(
    account: str,
    instrument: Instrument,
    quantity: Decimal,
    price: Decimal,
    cost: Decimal,
    realized: Decimal,
) -> Fields:
    value = quantity * price
    return [
        7,
        8,
        instrument.con_id,
        instrument.symbol,
        instrument.sec_type,
        "",
        "0",
        "",
        "",
        instrument.primary_exchange,
        instrument.currency,
        instrument.symbol,
        instrument.trading_class,
        quantity,
        price,
        value,
        cost,
        value - quantity * cost,
        realized,
        account,
    ]


def account_time(at: datetime) -> Fields:
    return [8, 1, at.astimezone(ZoneInfo(TWS_ZONE)).strftime("%H:%M")]


def account_download_end(account: str) -> Fields:
    return [54, 1, account]


def account_update_multi(
    req_id: int, account: str, key: str, value: str, currency: str, model_code: str = ""
) -> Fields:
    return [73, 1, req_id, account, model_code, key, value, currency]


def account_update_multi_end(req_id: int) -> Fields:
    return [74, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> Fields:
    return [63, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> Fields:
    return [64, 1, req_id]


def contract_details(req_id: int, instrument: Instrument, exchange: str) -> Fields:
    """One contractDetails (msg 10) at server version >= 164: no version field."""
    return [
        10,
        req_id,
        instrument.symbol,
        instrument.sec_type,
        "",  # lastTradeDate[-time-zone]: none for a stock
        "0",
        "",
        exchange,
        instrument.currency,
        instrument.symbol,
        instrument.trading_class,  # marketName
        instrument.trading_class,
        instrument.con_id,
        instrument.min_tick,
        "",  # multiplier
        "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,DAY,GAT,GTC,GTD,IOC,LIT,LMT,"
        "MIT,MKT,MOC,MTL,NGCOMB,OCA,OPG,POSTATS,REL,RTH,SCALE,STP,STPLMT,TRAIL,WHATIF",
        f"SMART,{instrument.primary_exchange}",  # validExchanges
        1,  # priceMagnifier
        0,  # underConId
        instrument.long_name or instrument.symbol,
        instrument.primary_exchange,
        "",  # contractMonth
        "",  # industry
        "",  # category
        "",  # subcategory
        "US/Eastern",
        "20261207:0400-20261207:2000",  # tradingHours (illustrative)
        "20261207:0930-20261207:1600",  # liquidHours
        "",  # evRule
        "",  # evMultiplier
        0,  # secIdList count
        1,  # aggGroup
        "",  # underSymbol
        "",  # underSecType
        "26,26",  # marketRuleIds
        "",  # realExpirationDate
        instrument.stock_type,
        "0.0001",  # minSize
        "0.0001",  # sizeIncrement
        "100",  # suggestedSizeIncrement
    ]


def contract_details_end(req_id: int) -> Fields:
    return [52, 1, req_id]


def order_status(order: ServerOrder) -> Fields:
    return [
        3,
        order.order_id,
        order.status,
        order.filled,
        order.remaining,
        order.average_price,
        order.perm_id,
        0,  # parentId
        order.last_fill_price,
        order.client_id,
        "",  # whyHeld
        0,  # mktCapPrice
    ]


def _price(order: ServerOrder) -> object:
    # TWS shows 0 for the limit of a market order.
    return order.limit_price if order.limit_price is not None else 0


@dataclass(frozen=True)
class WhatIf:
    """The margin and commission preview a what-if order is answered with."""

    init_before: Decimal
    init_change: Decimal
    equity_before: Decimal
    equity_change: Decimal
    commission: Decimal

    def fields(self) -> Fields:
        # init / maint margin and equity with loan: before, change, after (strings at IB).
        init_after = self.init_before + self.init_change
        equity_after = self.equity_before + self.equity_change
        return [
            self.init_before,
            self.init_before,
            self.equity_before,
            self.init_change,
            self.init_change,
            self.equity_change,
            init_after,
            init_after,
            equity_after,
            self.commission,
            UNSET,  # minCommission
            UNSET,  # maxCommission
            "USD",
            "",  # warningText
        ]


def open_order(
    version: int, order: ServerOrder, instrument: Instrument, what_if: WhatIf | None = None
) -> Fields:
    """openOrder (msg 5) for a plain stock order, mirroring the layout TWS sends at `version`;
    with `what_if`, the preview TWS answers a what-if order with."""
    fields: Fields = [
        5,
        order.order_id,
        *_contract(instrument, "SMART"),
        order.action,
        order.quantity,
        order.order_type,
        _price(order),
        0,  # auxPrice
        order.tif,
        "",  # ocaGroup
        order.account,
        "O",  # openClose
        0,  # origin: customer
        order.order_ref,
        order.client_id,
        order.perm_id,
        order.outside_rth,
        False,  # hidden
        0,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # sharesAllocation (deprecated)
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
    ]
    if version < 177:
        fields.append("")  # faProfile
    fields += [
        "",  # modelCode
        "",  # goodTillDate
        "",  # rule80A
        "",  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        0,  # auctionStrategy
        "",  # startingPrice
        "",  # stockRefPrice
        "",  # delta
        "",  # stockRangeLower
        "",  # stockRangeUpper
        "",  # displaySize
        False,  # blockOrder
        False,  # sweepToFill
        False,  # allOrNone
        "",  # minQty
        3,  # ocaType
        False,  # eTradeOnly
        False,  # firmQuoteOnly
        "",  # nbboPriceCap
        0,  # parentId
        0,  # triggerMethod
        "",  # volatility
        0,  # volatilityType
        "",  # deltaNeutralOrderType: none, so no delta-neutral fields follow
        "",  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        0,  # referencePriceType
        "",  # trailStopPrice
        "",  # trailingPercent
        "",  # basisPoints
        "",  # basisPointsType
        "",  # comboLegsDescrip
        0,  # comboLegs
        0,  # orderComboLegs
        0,  # smartComboRoutingParams
        "",  # scaleInitLevelSize
        "",  # scaleSubsLevelSize
        "",  # scalePriceIncrement: unset, so no scale fields follow
        "",  # hedgeType: none, so no hedgeParam
        False,  # optOutSmartRouting
        "",  # clearingAccount
        "IB",  # clearingIntent
        False,  # notHeld
        False,  # deltaNeutralContract present
        "",  # algoStrategy: none, so no algo params
        False,  # solicited
        what_if is not None,  # whatIf
        order.status,
        *(what_if.fields() if what_if else [""] * 14),  # margins, commission, warning
        False,  # randomizeSize
        False,  # randomizePrice
        0,  # conditions
        "None",  # adjustedOrderType
        "",  # triggerPrice
        "",  # trailStopPrice
        "",  # lmtPriceOffset
        "",  # adjustedStopPrice
        "",  # adjustedStopLimitPrice
        "",  # adjustedTrailingAmount
        0,  # adjustableTrailingUnit
        "",  # softDollarTier name
        "",  # softDollarTier value
        "",  # softDollarTier displayName
        "",  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        False,  # discretionaryUpToLimitPrice
        True,  # usePriceMgmtAlgo
        "",  # duration (>= 159)
        False,  # postToAts (>= 160)
        False,  # autoCancelParent (>= 162)
    ]
    if version >= 170:
        fields += ["", "", "", "", ""]  # minTradeQty, minCompeteSize, competeAgainstBestOffset,
        # midOffsetAtWhole, midOffsetAtHalf
    return fields


def open_order_end() -> Fields:
    return [53, 1]


def completed_order(version: int, order: ServerOrder, instrument: Instrument) -> Fields:
    """completedOrder (msg 101): no orderId or clientId, only the permId identifies it."""
    fields: Fields = [
        101,
        *_contract(instrument, "SMART"),
        order.action,
        order.quantity,
        order.order_type,
        _price(order),
        0,  # auxPrice
        order.tif,
        "",  # ocaGroup
        order.account,
        "O",  # openClose
        0,  # origin
        order.order_ref,
        order.perm_id,
        order.outside_rth,
        False,  # hidden
        0,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
    ]
    if version < 177:
        fields.append("")  # faProfile
    fields += [
        "",  # modelCode
        "",  # goodTillDate
        "",  # rule80A
        "",  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        "",  # startingPrice
        "",  # stockRefPrice
        "",  # delta
        "",  # stockRangeLower
        "",  # stockRangeUpper
        "",  # displaySize
        False,  # sweepToFill
        False,  # allOrNone
        "",  # minQty
        3,  # ocaType
        0,  # triggerMethod
        "",  # volatility
        0,  # volatilityType
        "",  # deltaNeutralOrderType
        "",  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        0,  # referencePriceType
        "",  # trailStopPrice
        "",  # trailingPercent
        "",  # comboLegsDescrip
        0,  # comboLegs
        0,  # orderComboLegs
        0,  # smartComboRoutingParams
        "",  # scaleInitLevelSize
        "",  # scaleSubsLevelSize
        "",  # scalePriceIncrement
        "",  # hedgeType
        "",  # clearingAccount
        "IB",  # clearingIntent
        False,  # notHeld
        False,  # deltaNeutralContract present
        "",  # algoStrategy
        False,  # solicited
        order.status,
        False,  # randomizeSize
        False,  # randomizePrice
        0,  # conditions
        "",  # trailStopPrice
        "",  # lmtPriceOffset
        "",  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        "",  # autoCancelDate
        order.filled,  # filledQuantity
        0,  # refFuturesConId
        False,  # autoCancelParent
        "",  # shareholder
        False,  # imbalanceOnly
        False,  # routeMarketableToBbo
        "",  # parentPermId
        stamp(order.completed_at) if order.completed_at else "",
        order.completed_status,
    ]
    if version >= 170:
        fields += ["", "", "", "", ""]
    return fields


def completed_orders_end() -> Fields:
    return [102]


def exec_details(
    version: int,
    req_id: int,
    execution: Execution,
    instrument: Instrument,
    *,
    time_form: str = "named",
    local_zone: str = TWS_ZONE,
) -> Fields:
    """One execution; its time in `time_form` (`execution_stamp`)."""
    fields: Fields = [
        11,
        req_id,
        execution.order_id,
        *_contract(instrument, instrument.primary_exchange),
        execution.exec_id,
        execution_stamp(execution.time, time_form, local_zone),
        execution.account,
        instrument.primary_exchange,  # where it executed
        execution.side,
        execution.shares,
        execution.price,
        execution.perm_id,
        execution.client_id,
        0,  # liquidation
        execution.cum_qty,
        execution.average_price,
        execution.order_ref,
        "",  # evRule
        "",  # evMultiplier
        "",  # modelCode
        2,  # lastLiquidity: removed liquidity (a marketable order)
    ]
    if version >= 178:
        fields.append(False)  # pendingPriceRevision
    return fields


def exec_details_end(req_id: int) -> Fields:
    return [55, 1, req_id]


def commission_report(execution: Execution) -> Fields:
    realized = execution.realized_pnl
    return [
        59,
        1,
        execution.exec_id,
        execution.commission,
        execution.currency,
        UNSET if realized is None else realized,
        UNSET,  # yield: bonds only
        "",  # yieldRedemptionDate
    ]


def market_data_type(req_id: int, kind: int) -> Fields:
    return [58, 1, req_id, kind]


def tick_price(req_id: int, tick_type: int, price: Decimal, size: int = 0) -> Fields:
    # attrMask 0: not past limit, not pre-open.
    return [1, 6, req_id, tick_type, price, size, 0]


def tick_size(req_id: int, tick_type: int, size: int) -> Fields:
    return [2, 6, req_id, tick_type, size]


def tick_string(req_id: int, tick_type: int, value: str) -> Fields:
    # tickString (46), version 6: e.g. LAST_TIMESTAMP (45) with Unix seconds as its value.
    return [46, 6, req_id, tick_type, value]


def tick_snapshot_end(req_id: int) -> Fields:
    return [57, 1, req_id]


def historical_data(
    req_id: int, start: datetime, end: datetime, bars: list[DailyBar], adjusted: bool
) -> Fields:
    """historicalData (17) below server version 196: the window, the bar count, then per bar
    date (yyyymmdd for daily bars), open, high, low, close, volume, WAP, trade count; the
    bars' end is this message's end (no separate historicalDataEnd before 196). ADJUSTED_LAST
    scales the prices by each bar's `adjustment`."""
    message: Fields = [
        17,
        req_id,
        start.strftime("%Y%m%d %H:%M:%S ") + TWS_ZONE,
        end.strftime("%Y%m%d %H:%M:%S ") + TWS_ZONE,
        len(bars),
    ]
    for bar in sorted(bars, key=lambda b: b.day):
        factor = bar.adjustment if adjusted else Decimal(1)
        prices = [_bar_price(p * factor) for p in (bar.open, bar.high, bar.low, bar.close)]
        wap = _bar_price((bar.high + bar.low + bar.close) / 3 * factor)
        count = max(1, bar.volume // 100)
        message += [bar.day.strftime("%Y%m%d"), *prices, bar.volume, wap, count]
    return message


def _bar_price(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')):f}"
