"""The layouts of the positions exports trimtab reads: one `Layout` per broker preset.

Each field lists the header names that mean it, first match wins, so one preset reads a
broker's older and newer exports (Schwab renamed `Quantity` to `Qty (Quantity)`). Where each
shape comes from, and what real exports add, is in docs/manual.md ("Presets").
"""

from __future__ import annotations

__all__ = ["PRESETS", "Layout"]

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Layout:
    """Which headers hold what, and which rows are cash or totals, in one export format."""

    name: str
    symbol: tuple[str, ...]
    quantity: tuple[str, ...]
    price: tuple[str, ...]
    value: tuple[str, ...] = ()
    account: tuple[str, ...] = ()
    description: tuple[str, ...] = ()
    cash_symbols: frozenset[str] = frozenset()
    """Money-market funds counted as cash at their value (symbols without `*`)."""
    cash_rows: tuple[str, ...] = ()
    """Symbol or description cells (any case) of rows that are cash, not holdings."""
    cash_descriptions: tuple[str, ...] = ()
    """Words in a description that make the row cash ("HELD IN MONEY MARKET")."""
    total_rows: tuple[str, ...] = ()
    """Symbol cells (any case) of rows that sum others up: skipped."""

    def with_columns(self, overrides: dict[str, str]) -> Layout:
        """Return this layout with each overridden field naming exactly that header."""

        def pick(key: str, current: tuple[str, ...]) -> tuple[str, ...]:
            return (overrides[key],) if key in overrides else current

        return replace(
            self,
            symbol=pick("symbol", self.symbol),
            quantity=pick("quantity", self.quantity),
            price=pick("price", self.price),
            value=pick("value", self.value),
            account=pick("account", self.account),
            description=pick("description", self.description),
        )


_MONEY_MARKETS = frozenset(
    {"SPAXX", "FDRXX", "FZFXX", "SPRXX", "FCASH", "CORE", "VMFXX", "VMRXX", "SWVXX", "SNVXX"}
)

PRESETS: dict[str, Layout] = {
    "fidelity": Layout(
        name="fidelity",
        symbol=("Symbol",),
        quantity=("Quantity",),
        price=("Last Price",),
        value=("Current Value",),
        account=("Account Number",),
        description=("Description",),
        cash_symbols=_MONEY_MARKETS,
        cash_rows=("Pending Activity",),
        cash_descriptions=("HELD IN MONEY MARKET", "HELD IN FCASH"),
    ),
    "schwab": Layout(
        name="schwab",
        symbol=("Symbol",),
        quantity=("Qty (Quantity)", "Quantity"),
        price=("Price",),
        value=("Mkt Val (Market Value)", "Market Value"),
        description=("Description",),
        cash_symbols=_MONEY_MARKETS,
        cash_rows=("Cash & Cash Investments",),
        total_rows=("Account Total",),
    ),
    "vanguard": Layout(
        name="vanguard",
        symbol=("Symbol",),
        quantity=("Shares",),
        price=("Share Price",),
        value=("Total Value",),
        account=("Account Number",),
        description=("Investment Name",),
        cash_symbols=_MONEY_MARKETS,
    ),
    # Only the [columns] table says what a custom export holds.
    "custom": Layout(name="custom", symbol=(), quantity=(), price=(), cash_symbols=_MONEY_MARKETS),
}
"""Every preset by name; `custom` needs `columns.symbol`, `.quantity` and `.price`."""
