"""Properties of the manual broker's export parsing: money and quantities written the ways
brokers write them read back exactly, and an export's account is read whatever other
accounts' rows surround it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.manual.parsing import parse_export, parse_money, parse_quantity
from adapters.manual.presets import PRESETS
from tests.hypothesis_profiles import scaled

CENTS = st.integers(min_value=-(10**11), max_value=10**11).map(lambda c: Decimal(c) / 100)


def written(value: Decimal, style: int) -> str:
    """`value` as one of the ways brokers print money."""
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    grouped = f"{magnitude:,.2f}"
    if style == 0:
        return f"{sign}${grouped}"
    if style == 1:
        return f"({grouped})" if value < 0 else f"+${grouped}"
    if style == 2:
        return f"{sign}{magnitude:.2f}"
    return f" {sign}${magnitude:.2f} "


@settings(max_examples=scaled(200))
@given(CENTS, st.integers(min_value=0, max_value=3))
def test_money_reads_back_exactly(value: Decimal, style: int) -> None:
    assert parse_money(written(value, style)) == value


@settings(max_examples=scaled(200))
@given(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False))
def test_quantities_with_thousands_separators_read_back_exactly(qty: Decimal) -> None:
    assert parse_quantity(f"{qty:,}") == qty


ROW = st.tuples(
    st.sampled_from(["VTI", "VXUS", "BND", "BRK.B", "AAPL"]),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=10**7).map(lambda c: Decimal(c) / 100),
)


@settings(max_examples=scaled(100))
@given(st.lists(st.tuples(st.booleans(), ROW), max_size=12), CENTS.map(abs))
def test_an_accounts_rows_are_read_whatever_surrounds_them(
    rows: list[tuple[bool, tuple[str, int, Decimal]]], cash: Decimal
) -> None:
    header = "Account Number,Account Name,Symbol,Description,Quantity,Last Price,Current Value"
    lines = [header, f'A1,MINE,SPAXX**,HELD IN MONEY MARKET,,,"${cash:,.2f}"']
    mine: dict[str, Decimal] = {}
    for ours, (symbol, qty, price) in rows:
        account = "A1" if ours else "B2"
        lines.append(f'{account},X,{symbol},{symbol} FUND,"{qty:,}",${price:,.2f},')
        if ours:
            mine[symbol] = mine.get(symbol, Decimal(0)) + qty
    lines += ["", '"Date downloaded Dec-04-2026 5:12 p.m ET"']

    export = parse_export(
        "\n".join(lines), name="p.csv", layout=PRESETS["fidelity"], account_number="A1"
    )

    assert export.cash == cash
    assert {h.symbol: h.qty for h in export.holdings} == mine
