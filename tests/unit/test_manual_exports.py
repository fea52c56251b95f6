"""The manual broker's export parsing: each preset's sample, and bad input named precisely."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.manual.config import ManualSettings
from adapters.manual.parsing import Export, ExportError, parse_export, parse_money
from adapters.manual.presets import PRESETS

SAMPLES = Path(__file__).parents[1] / "fakes" / "manual_exports"
FIDELITY = SAMPLES / "Portfolio_Positions_Dec-04-2026.csv"
SCHWAB = SAMPLES / "Individual-Positions-2026-12-04-171200.csv"
VANGUARD = SAMPLES / "OfxDownload.csv"


def parse(path: Path, preset: str, account: str | None = None, **kw: object) -> Export:
    return parse_export(
        path.read_text(),
        name=path.name,
        layout=PRESETS[preset],
        account_number=account,
        **kw,  # type: ignore[arg-type]
    )


def holdings(export: Export) -> dict[str, tuple[Decimal, Decimal]]:
    return {h.symbol: (h.qty, h.price) for h in export.holdings}


def test_fidelity_sample_one_account_money_market_and_pending_activity_as_cash() -> None:
    export = parse(FIDELITY, "fidelity", "X12345678")

    assert holdings(export) == {
        "VTI": (Decimal(100), Decimal("285.12")),
        "VXUS": (Decimal("250.5"), Decimal("64.10")),
    }
    assert export.cash == Decimal("1523.45") - Decimal("25.00")  # SPAXX** and pending
    # "Date downloaded Dec-04-2026 5:12 p.m ET" is 22:12 UTC (EST, UTC-5).
    assert export.as_of == datetime(2026, 12, 4, 22, 12, tzinfo=UTC)


def test_fidelity_sample_other_account_rows_are_left_out() -> None:
    export = parse(FIDELITY, "fidelity", "Z87654321")

    assert holdings(export) == {"AAPL": (Decimal(10), Decimal("190.00"))}
    assert export.cash == Decimal("800.00")


def test_schwab_sample_title_time_cash_rows_and_total_skipped() -> None:
    export = parse(SCHWAB, "schwab")

    assert holdings(export) == {
        "SCHB": (Decimal(1200), Decimal("22.50")),
        "SCHZ": (Decimal(100), Decimal("23.10")),
    }
    assert export.cash == Decimal("765.40") + Decimal("500.00")  # cash row and SWVXX
    assert export.as_of == datetime(2026, 12, 4, 22, 12, tzinfo=UTC)


def test_vanguard_sample_settlement_fund_is_cash_and_transactions_are_ignored() -> None:
    export = parse(VANGUARD, "vanguard", "12345678")

    # The transactions table after the blank lines buys 10 VTSAX: not counted again.
    assert holdings(export) == {
        "VTSAX": (Decimal("150.5"), Decimal("120.34")),
        "VBTLX": (Decimal(300), Decimal("9.87")),
    }
    assert export.cash == Decimal("2500.12")
    assert export.as_of is None  # no time in the file: the broker uses its modification time


def test_unknown_columns_name_the_columns_found_the_expected_ones_and_the_presets() -> None:
    with pytest.raises(ExportError) as caught:
        parse(FIDELITY, "vanguard")

    message = str(caught.value)
    assert FIDELITY.name in message
    assert "'Last Price'" in message
    assert "'Current Value'" in message
    assert "'Shares'" in message
    assert "'Share Price'" in message
    assert "preset" in message
    assert "custom" in message
    assert "fix:" in message


def test_a_symbol_that_is_not_a_ticker_names_file_row_column_value_and_the_fix(
    tmp_path: Path,
) -> None:
    text = FIDELITY.read_text().replace(
        "X12345678,ROTH IRA,VXUS,", "X12345678,ROTH IRA,31617E745,", 1
    )

    with pytest.raises(ExportError) as caught:
        parse_export(
            text, name="positions.csv", layout=PRESETS["fidelity"], account_number="X12345678"
        )

    message = str(caught.value)
    assert "positions.csv, row 4, column 'Symbol'" in message
    assert "'31617E745' is not a ticker" in message
    assert "broker_settings.ignore" in message
    # The fix works: ignored, the row is left out and the rest is read.
    export = parse_export(
        text, name="positions.csv", layout=PRESETS["fidelity"], account_number="X12345678",
        ignore=["31617E745"],
    )  # fmt: skip
    assert set(holdings(export)) == {"VTI"}


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        (",100,$285.12,", ",one hundred,$285.12,", "Quantity"),
        (",100,$285.12,", ",100,n.a.,", "Last Price"),
    ],
)
def test_a_quantity_or_price_that_does_not_parse_names_its_row_and_value(
    old: str, new: str, column: str
) -> None:
    text = FIDELITY.read_text().replace(old, new, 1)

    with pytest.raises(ExportError) as caught:
        parse_export(text, name="p.csv", layout=PRESETS["fidelity"], account_number="X12345678")

    bad = new.strip(",").split(",")[0 if column == "Quantity" else 1]
    assert f"p.csv, row 3, column '{column}': value '{bad}'" in str(caught.value)


def test_a_custom_layout_reads_the_columns_it_names() -> None:
    text = 'Ticker,Units,Px,Mkt\nVOO,3,"$500.00","$1,500.00"\nCASH,,,"$12.50"\n'
    layout = PRESETS["custom"].with_columns(
        {"symbol": "Ticker", "quantity": "Units", "price": "Px", "value": "Mkt"}
    )

    export = parse_export(text, name="m1.csv", layout=layout, cash_symbols=["CASH"])

    assert holdings(export) == {"VOO": (Decimal(3), Decimal("500.00"))}
    assert export.cash == Decimal("12.50")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$1,234.56", Decimal("1234.56")),
        ("-$12.00", Decimal("-12.00")),
        ("(12.00)", Decimal("-12.00")),
        ("+$3", Decimal(3)),
        ("--", None),
        ("", None),
    ],
)
def test_money_as_brokers_write_it(text: str, value: Decimal | None) -> None:
    assert parse_money(text) == value


@pytest.mark.parametrize("text", ["12 dollars", "NaN", "$", "1.2.3"])
def test_money_that_is_not_money_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_money(text)


def test_settings_resolve_the_folder_and_custom_needs_its_columns(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    context = {"config_dir": tmp_path}

    settings = ManualSettings.model_validate(
        {"environment": "live", "exports": "exports", "preset": "schwab"}, context=context
    )
    assert settings.exports == tmp_path / "exports"

    with pytest.raises(ValidationError, match=r"columns\.symbol"):
        ManualSettings.model_validate(
            {"environment": "live", "exports": "exports", "preset": "custom"}, context=context
        )
    with pytest.raises(ValidationError, match="does not exist"):
        ManualSettings.model_validate(
            {"environment": "live", "exports": "nowhere", "preset": "fidelity"}, context=context
        )
    with pytest.raises(ValidationError, match="preset"):
        ManualSettings.model_validate(
            {"environment": "live", "exports": "exports", "preset": "etrade"}, context=context
        )


def test_an_export_of_several_accounts_without_account_number_is_refused_naming_them() -> None:
    """Fidelity's and Vanguard's downloads cover every account: merged, another account's
    holdings would be planned (and sold) as this one's."""
    for path, preset, numbers in (
        (FIDELITY, "fidelity", "X12345678, Z87654321"),
        (VANGUARD, "vanguard", "12345678, 87654321"),
    ):
        with pytest.raises(ExportError) as caught:
            parse(path, preset)
        message = str(caught.value)
        assert f"lists 2 accounts ({numbers})" in message
        assert "set broker_settings.account_number" in message


def test_an_export_of_one_account_needs_no_account_number() -> None:
    text = FIDELITY.read_text()
    one = "\n".join(line for line in text.splitlines() if not line.startswith("Z876"))

    export = parse_export(one, name="p.csv", layout=PRESETS["fidelity"])

    assert holdings(export) == {
        "VTI": (Decimal(100), Decimal("285.12")),
        "VXUS": (Decimal("250.5"), Decimal("64.10")),
    }


def test_cash_symbols_and_ignore_match_with_or_without_the_stars() -> None:
    """Fidelity prints `ABCXX**`; a setting copied from the export keeps the stars."""
    text = FIDELITY.read_text().replace(
        "Z87654321,INDIVIDUAL,FZFXX**,HELD IN MONEY MARKET", "Z87654321,INDIVIDUAL,ABCXX**,A FUND"
    )

    export = parse_export(
        text, name="p.csv", layout=PRESETS["fidelity"], account_number="Z87654321",
        cash_symbols=["ABCXX**"], ignore=["aapl**"],
    )  # fmt: skip

    assert holdings(export) == {}
    assert export.cash == Decimal("800.00")
