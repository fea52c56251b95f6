"""The fake Alpaca's `GET /v2/stocks/bars` (market data API v2), written from Alpaca's docs.

Query (as documented): `symbols` (comma-separated, required), `timeframe` (`1Day` here),
`start` and `end` (RFC 3339 or a date), `adjustment` (`raw`, `split`, `dividend`, `all`),
`feed` (`iex`, `sip`, `delayed_sip`, `otc`), `sort` (`asc`, `desc`), `limit` (1 to 10000
bars per page, across all symbols) and `page_token`. The answer is `{"bars": {"SYM":
[{"t", "o", "h", "l", "c", "v", "n", "vw"}, ...]}, "next_page_token": str | null}`: bars
grouped by symbol in alphabetical order, each daily bar stamped at midnight New York time,
and a token while more bars remain. A symbol without bars is left out.

Closes are set per symbol and day as traded (`set_closes`); `add_split` and `add_dividend`
record corporate actions, which the `adjustment` applies to the bars before each ex-date
(a split divides by its ratio; a cash dividend multiplies by `1 - amount / previous close`).
A symbol without closes set gets one bar per trading day at the state's current price. No
bar is served for a day after the fake's today; today's bar (the running one, at Alpaca) is.

`queries` records every request; `requests_for(symbol)` counts the queries (first pages)
that named a symbol, which is what trimtab's history cache promises to keep low.
"""

from __future__ import annotations

import base64
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.fakes.alpaca_server.state import EASTERN, AlpacaState, Refusal, stamp, trading_days

ADJUSTMENTS = ("raw", "split", "dividend", "all")
FEEDS = ("iex", "sip", "delayed_sip", "otc")
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class BarsQuery:
    """One request to the endpoint, as the fake understood it."""

    symbols: tuple[str, ...]
    start: datetime
    end: datetime
    adjustment: str
    feed: str
    first_page: bool


@dataclass
class BarsBook:
    """The daily bars behind the endpoint; `page_size` caps a page below the request's limit."""

    page_size: int = 3
    closes: dict[str, dict[date, Decimal]] = field(default_factory=dict)
    splits: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    dividends: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    queries: list[BarsQuery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _answers: dict[tuple[Any, ...], list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    """The rows of the query being paged (alpaca-py repeats it per page), built once."""

    def set_closes(self, symbol: str, closes: Mapping[date, Decimal]) -> None:
        with self.lock:
            self._answers.clear()
            self.closes.setdefault(symbol, {}).update(closes)

    def add_split(self, symbol: str, ex_date: date, ratio: Decimal) -> None:
        """`ratio` new shares per old one (2 for a 2-for-1 split) from `ex_date`."""
        with self.lock:
            self._answers.clear()
            self.splits.setdefault(symbol, []).append((ex_date, ratio))

    def add_dividend(self, symbol: str, ex_date: date, amount: Decimal) -> None:
        """A cash dividend of `amount` per share, going ex on `ex_date`."""
        with self.lock:
            self._answers.clear()
            self.dividends.setdefault(symbol, []).append((ex_date, amount))

    def requests_for(self, symbol: str) -> int:
        with self.lock:
            return sum(1 for q in self.queries if q.first_page and symbol in q.symbols)

    @property
    def pages(self) -> int:
        with self.lock:
            return len(self.queries)

    def answer(self, state: AlpacaState, query: Mapping[str, str]) -> dict[str, Any]:
        symbols = tuple(s for s in query.get("symbols", "").split(",") if s)
        if not symbols:
            raise Refusal(400, 40010001, "symbols is required")
        if query.get("timeframe", "1Day") not in ("1Day", "1D"):
            raise Refusal(400, 40010001, "this fake serves only timeframe 1Day")
        adjustment = query.get("adjustment", "raw")
        if adjustment not in ADJUSTMENTS:
            raise Refusal(400, 40010001, f"invalid adjustment: {adjustment}")
        feed = query.get("feed", "sip")
        if feed not in FEEDS:
            raise Refusal(400, 40010001, f"invalid feed: {feed}")
        now = state.now()
        start = _moment(query.get("start"), default=now.replace(hour=0, minute=0))
        end = _moment(query.get("end"), default=now)
        limit = int(query.get("limit") or 1000)
        if not 1 <= limit <= MAX_LIMIT:
            raise Refusal(400, 40010001, f"invalid limit: must be between 1 and {MAX_LIMIT}")
        token = query.get("page_token") or ""
        with self.lock:
            self.queries.append(BarsQuery(symbols, start, end, adjustment, feed, not token))
            key = (symbols, start, end, adjustment, state.now().date())
            rows = self._answers.get(key) if token else None
            if rows is None:
                rows = [
                    (symbol, bar)
                    for symbol in sorted(set(symbols))
                    for bar in self._bars(state, symbol, start, end, adjustment)
                ]
                self._answers = {key: rows}
        if query.get("sort", "asc") == "desc":
            rows = sorted(rows, key=lambda r: (r[0], r[1]["t"]), reverse=True)
        offset = int(base64.urlsafe_b64decode(token).decode()) if token else 0
        size = min(limit, self.page_size)
        bars: dict[str, list[dict[str, Any]]] = {}
        for symbol, bar in rows[offset : offset + size]:
            bars.setdefault(symbol, []).append(bar)
        following = offset + size
        next_token = (
            base64.urlsafe_b64encode(str(following).encode()).decode()
            if following < len(rows)
            else None
        )
        return {"bars": bars, "next_page_token": next_token}

    def _bars(
        self, state: AlpacaState, symbol: str, start: datetime, end: datetime, adjustment: str
    ) -> list[dict[str, Any]]:
        today = state.now().astimezone(EASTERN).date()
        given = self.closes.get(symbol)
        if given is None:
            if symbol not in state.prices:
                return []
            days = trading_days(start.date() - timedelta(days=1), end.date(), state.holidays)
            given = dict.fromkeys(days, state.prices[symbol])
        days = sorted(given)
        # Only days near [start, end] can have their New York midnight inside it.
        near = days[
            bisect_left(days, start.date() - timedelta(days=1)) : bisect_right(
                days, end.date() + timedelta(days=1)
            )
        ]
        out = []
        for day in near:
            midnight = datetime.combine(day, datetime.min.time(), EASTERN)
            if day <= today and start <= midnight <= end:
                out.append(_bar(midnight, given[day] * self._factor(symbol, day, adjustment)))
        return out

    def _factor(self, symbol: str, day: date, adjustment: str) -> Decimal:
        """The adjustment of `day`'s prices for the actions going ex after it."""
        factor = Decimal(1)
        if adjustment in ("split", "all"):
            for ex_date, ratio in self.splits.get(symbol, []):
                if day < ex_date:
                    factor /= ratio
        if adjustment in ("dividend", "all"):
            closes = self.closes.get(symbol, {})
            for ex_date, amount in self.dividends.get(symbol, []):
                before = [d for d in closes if d < ex_date]
                if day < ex_date and before:
                    factor *= 1 - amount / closes[max(before)]
        return factor


def _moment(text: str | None, *, default: datetime) -> datetime:
    if not text:
        return default
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Refusal(400, 40010001, f"invalid time: {text}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _bar(midnight: datetime, close: Decimal) -> dict[str, Any]:
    price = float(round(close, 4))
    return {"t": stamp(midnight), "o": price, "h": price, "l": price, "c": price, "v": 1000,
            "n": 10, "vw": price}  # fmt: skip
