"""Third-party plugins that misbehave on demand, written from the ports alone
(`strategies/base.py`, `adapters/base.py`) and loaded by `module:attr` like any plugin.

`STRATEGY` (params `symbols`, `mode`): `universe()` is the symbols; `mode` picks what
`targets` does wrong: "outside" (half in TSLA, outside its universe), "raise" (a KeyError),
"float" (a float weight), "cash" (all in CASH: legitimate), anything else: equal weights.

`BROKER` (settings `cash`, `positions`, `prices`, `fault`): a paper account in a JSON file
under the state directory that fills every order at once at its price and logs every submit
(`submitted`); `fault` picks what its snapshot gets wrong: "dup_positions", "float_qty",
"str_cash", "naive_quote", "naive_as_of", "int_symbol", "float_price", or "" (nothing).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adapters.base import Broker, BrokerEnvironment, BrokerPlugin
from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Funds,
    OrderIntent,
    OrderStatus,
    OrderType,
    Position,
    Quote,
    Side,
)
from strategies.base import StrategyContext, StrategyPlugin

STRATEGY_NAME = "tests.fakes.misbehaving:STRATEGY"
BROKER_NAME = "tests.fakes.misbehaving:BROKER"


class NaughtyParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbols: list[str] = Field(min_length=2)
    mode: str = "ok"


@dataclass(frozen=True, slots=True)
class Naughty:
    symbols: tuple[str, ...]
    mode: str

    def universe(self) -> frozenset[str]:
        return frozenset(self.symbols)

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        first, second = self.symbols[0], self.symbols[1]
        if self.mode == "raise":
            raise KeyError("boom-from-plugin")
        if self.mode == "outside":
            return {first: Decimal("0.5"), "TSLA": Decimal("0.5")}
        if self.mode == "float":
            wrong: Any = 0.5  # what a plugin written without a type checker returns
            return {first: Decimal("0.5"), second: wrong}
        if self.mode == "cash":
            return {"CASH": Decimal(1)}
        return {first: Decimal("0.5"), second: Decimal("0.5")}


class _NaughtyPlugin:
    name = "naughty"
    params_model: type[BaseModel] = NaughtyParams

    def create(self, params: BaseModel) -> Naughty:
        assert isinstance(params, NaughtyParams)
        return Naughty(tuple(params.symbols), params.mode)


STRATEGY: StrategyPlugin = _NaughtyPlugin()


class PaperSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cash: Decimal = Decimal(100000)
    positions: dict[str, Decimal] = {}
    prices: dict[str, Decimal]
    fault: str = ""


class PaperFile:
    """A JSON-file paper account; every order fills at once at its price."""

    def __init__(self, settings: PaperSettings, env: BrokerEnvironment) -> None:
        self.settings = settings
        self.env = env
        self.path = Path(env.state_dir) / f"paper-{env.account}.json"
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._save(
                {
                    "cash": str(settings.cash),
                    "positions": {s: str(q) for s, q in settings.positions.items()},
                    "orders": {},
                    "submitted": [],
                }
            )

    def _load(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.path.read_text())
        return loaded

    def _save(self, state: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(state))

    def submitted(self) -> list[str]:
        """Every order sent, as "side qty symbol"."""
        return list(self._load()["submitted"])

    def _quotes(self, symbols: Collection[str]) -> dict[str, Quote]:
        now = self.env.clock()
        at = now.replace(tzinfo=None) if self.settings.fault == "naive_quote" else now
        wanted = set(symbols) | set(self._load()["positions"])
        out: dict[str, Quote] = {}
        for symbol in sorted(wanted & set(self.settings.prices)):
            price: Any = self.settings.prices[symbol]
            if self.settings.fault == "float_price":
                price = float(price)
            out[symbol] = Quote(symbol, price, at - timedelta(minutes=1), "paper-file")
        return out

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        state = self._load()
        fault = self.settings.fault
        positions = [Position(s, Decimal(q)) for s, q in state["positions"].items() if Decimal(q)]
        if fault == "dup_positions" and positions:
            positions.append(positions[0])
        if fault == "float_qty":
            positions = [Position(p.symbol, float(p.qty)) for p in positions]  # type: ignore[arg-type]
        if fault == "int_symbol" and positions:
            positions[0] = Position(7, positions[0].qty)  # type: ignore[arg-type]
        cash: Any = Decimal(state["cash"])
        if fault == "str_cash":
            cash = state["cash"]
        now = self.env.clock()
        return AccountSnapshot(
            account=self.env.account,
            as_of=now.replace(tzinfo=None) if fault == "naive_as_of" else now,
            cash=cash,
            positions=tuple(positions),
            quotes=self._quotes(symbols),
        )

    def funds(self, symbols: Collection[str]) -> Funds:
        return Funds(self.env.clock(), Decimal(self._load()["cash"]), self._quotes(symbols))

    def _order(self, order: dict[str, str]) -> BrokerOrder:
        return BrokerOrder(
            client_order_id=order["coid"],
            broker_order_id=order["id"],
            symbol=order["symbol"],
            side=Side(order["side"]),
            qty=Decimal(order["qty"]),
            order_type=OrderType(order["type"]),
            status=OrderStatus.FILLED,
            filled_qty=Decimal(order["qty"]),
            avg_fill_price=Decimal(order["price"]),
            submitted_at=datetime.fromisoformat(order["at"]),
        )

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        state = self._load()
        price = self.settings.prices[intent.symbol]
        sign = 1 if intent.side is Side.BUY else -1
        held = Decimal(state["positions"].get(intent.symbol, "0")) + sign * intent.qty
        state["positions"][intent.symbol] = str(held)
        state["cash"] = str(Decimal(state["cash"]) - sign * intent.qty * price)
        order = {
            "coid": intent.client_order_id,
            "id": f"p{len(state['orders']) + 1}",
            "symbol": intent.symbol,
            "side": str(intent.side),
            "qty": str(intent.qty),
            "type": str(intent.order_type),
            "price": str(price),
            "at": self.env.clock().isoformat(),
        }
        state["orders"][intent.client_order_id] = order
        state["submitted"].append(f"{intent.side} {intent.qty} {intent.symbol}")
        self._save(state)
        return self._order(order)

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        order = self._load()["orders"].get(client_order_id)
        return None if order is None else self._order(order)

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        orders = self._load()["orders"]
        return {c: self._order(orders[c]) for c in client_order_ids if c in orders}

    def cancel(self, client_order_id: str) -> BrokerOrder:
        found = self.get_order(client_order_id)
        assert found is not None
        return found

    def fills(self, since: datetime) -> Sequence[Fill]:
        out = []
        for o in self._load()["orders"].values():
            at = datetime.fromisoformat(o["at"])
            if at >= since:
                out.append(
                    Fill(
                        "f" + o["id"],
                        o["coid"],
                        o["id"],
                        o["symbol"],
                        Side(o["side"]),
                        Decimal(o["qty"]),
                        Decimal(o["price"]),
                        at,
                    )
                )
        return out

    def close(self) -> None:
        return None

    @property
    def market_buy_hold_fraction(self) -> Decimal:
        return Decimal(0)

    @property
    def trade_costs(self) -> TradeCosts:
        return NO_COSTS


class _PaperPlugin:
    name = "paper-file"
    settings_model: type[BaseModel] = PaperSettings

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker:
        assert isinstance(settings, PaperSettings)
        return PaperFile(settings, env)


BROKER: BrokerPlugin = _PaperPlugin()
