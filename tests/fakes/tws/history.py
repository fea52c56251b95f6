"""IB's historical data service (HMDS) for daily bars: reqHistoricalData (msgId 20) answered
by historicalData (17), as IB documents it for the text protocol below server version 196
(the bars and their end, start and end dates, in one message; `historicalDataEnd` (108) is
a separate message only from 196 on).

| request | answer |
|---|---|
| a known listing, "1 day" bars, TRADES or ADJUSTED_LAST | 17: start, end, then per bar date (yyyymmdd), open, high, low, close, volume, WAP, count |
| no bar in the window | 162 "HMDS query returned no data" (no 17) |
| the same request within 15 seconds | 162 "Historical data request pacing violation" |
| ADJUSTED_LAST with an end date | 321 (IB: ADJUSTED_LAST ends now; end must be empty) |
| no listing / several | 200 |
| other bar sizes, other `whatToShow`, `keepUpToDate`, a malformed duration | 321, naming the fake's limit |

The window: the bars dated after `end - duration` and at or before `end` (New York days;
durations in D, W, M or Y; IB counts "N D" in sessions, the fake in calendar days, which
returns at most as many bars). TRADES gives the prices as recorded; ADJUSTED_LAST scales
open, high, low and close by each bar's `adjustment` (dividends and splits after it).

Pacing: IB documents its hard limits (identical requests within 15 seconds, six for one
contract within two seconds, 60 in ten minutes) for bars of 30 seconds or less; the fake
applies the identical-request rule to daily bars too (`FakeTws.history_pacing`), stricter
than IB, so a client that never repeats a request without cause passes either way.
"""  # noqa: E501 (a table row per case reads better than wrapped cells)

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tests.fakes.tws import outgoing as out
from tests.fakes.tws.incoming import ContractQuery, read_contract
from tests.fakes.tws.wire import Fields

if TYPE_CHECKING:
    from tests.fakes.tws.session import Session

NEW_YORK = ZoneInfo("America/New_York")
IDENTICAL_WINDOW = timedelta(seconds=15)
NO_DATA = "Historical Market Data Service error message:HMDS query returned no data: {}"
PACING_VIOLATION = (
    "Historical Market Data Service error message:Historical data request pacing violation"
)
ADJUSTED_WITH_END = (
    "Error validating request:-'bX' : cause - End date not supported with adjusted last"
)


@dataclass(frozen=True)
class HistoryRequest:
    req_id: int
    contract: ContractQuery
    end: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool

    @property
    def key(self) -> tuple[object, ...]:
        """What makes two requests identical in IB's pacing rule."""
        c = self.contract
        return (c.con_id, c.symbol, c.exchange, c.primary_exchange, c.currency, self.end,
                self.bar_size, self.duration, self.use_rth, self.what_to_show)  # fmt: skip


def read_history_request(fields: list[str]) -> HistoryRequest:
    f = Fields(fields, 1)  # no version field since server version 124
    req_id = f.integer()
    contract = read_contract(f)
    f.skip(1)  # includeExpired
    end, bar_size, duration = f.text(), f.text(), f.text()
    use_rth = f.flag()
    what_to_show = f.text()
    format_date = f.integer()
    keep_up_to_date = f.flag()
    f.skip(1)  # chartOptions
    return HistoryRequest(req_id, contract, end, bar_size, duration, use_rth, what_to_show,
                          format_date, keep_up_to_date)  # fmt: skip


def _end_time(text: str, now: datetime) -> datetime:
    """IB's end: "yyyymmdd hh:mm:ss[ zone]" (no zone: TWS's own) or "yyyymmdd-hh:mm:ss" (UTC)."""
    if not text:
        return now.astimezone(NEW_YORK)
    if text[8:9] == "-":
        parsed, zone = datetime.strptime(text[:17], "%Y%m%d-%H:%M:%S"), "UTC"
    else:
        parts = text.split()
        parsed = datetime.strptime(" ".join(parts[:2]), "%Y%m%d %H:%M:%S")
        zone = parts[2] if len(parts) > 2 else out.TWS_ZONE
    return parsed.replace(tzinfo=ZoneInfo(zone)).astimezone(NEW_YORK)


def _window_start(end: date, duration: str) -> date | None:
    """The last day before the window of `duration` ending on `end`; None if malformed."""
    match = re.fullmatch(r"(\d+) ([DWMY])", duration)
    if match is None:
        return None
    count, unit = int(match[1]), match[2]
    if unit == "D":
        return end - timedelta(days=count)
    if unit == "W":
        return end - timedelta(weeks=count)
    months = count if unit == "M" else 12 * count
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    return date(year, month + 1, min(end.day, 28))


def answer(session: Session, fields: list[str]) -> None:
    """Answer one reqHistoricalData on `session`."""
    fake = session.fake
    request = read_history_request(fields)
    version, req_id = session.version, request.req_id

    def refuse(code: int, text: str) -> None:
        session.send(out.error(version, req_id, code, text))

    found = fake.lookup(request.contract)
    if len(found) != 1:
        refuse(200, "No security definition has been found for the request")
        return
    if request.bar_size != "1 day":
        refuse(321, f"Error validating request:-'bX' : cause - the fake TWS models "
                    f"1 day bars only, not {request.bar_size!r}")  # fmt: skip
        return
    if request.what_to_show not in ("TRADES", "ADJUSTED_LAST"):
        refuse(321, f"Error validating request:-'bX' : cause - the fake TWS models TRADES "
                    f"and ADJUSTED_LAST only, not {request.what_to_show!r}")  # fmt: skip
        return
    if request.keep_up_to_date:
        refuse(321, "Error validating request:-'bX' : cause - the fake TWS does not model "
                    "keepUpToDate")  # fmt: skip
        return
    adjusted = request.what_to_show == "ADJUSTED_LAST"
    if adjusted and request.end:
        refuse(321, ADJUSTED_WITH_END)
        return
    state = fake.state
    now = state.clock()
    if fake.history_pacing:
        last = fake.history_asked.get(request.key)
        fake.history_asked[request.key] = now
        if last is not None and now - last < IDENTICAL_WINDOW:
            refuse(162, PACING_VIOLATION)
            return
    end = _end_time(request.end, now)
    first = _window_start(end.date(), request.duration)
    if first is None:
        refuse(321, f"Error validating request:-'bX' : cause - Invalid duration "
                    f"{request.duration!r}")  # fmt: skip
        return
    instrument = found[0]
    with state.lock:
        bars = [b for b in state.bars.get(instrument.con_id, []) if first < b.day <= end.date()]
    if not bars:
        refuse(162, NO_DATA.format(f"{instrument.symbol}@{request.contract.exchange or 'SMART'} "
                                   f"{'AdjustedLast' if adjusted else 'Trades'}"))  # fmt: skip
        return
    start = datetime.combine(first + timedelta(days=1), datetime.min.time(), NEW_YORK)
    session.send(out.historical_data(req_id, start, end, bars, adjusted))
