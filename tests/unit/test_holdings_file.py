"""A holdings file for `trimtab plan --holdings`: every defect is refused naming the file and
the field, including the ones JSON itself lets through (a key given twice, NaN, Infinity), a
symbol priced twice, and numbers outside the range trimtab plans with."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.cli.holdings_file import read_holdings
from daemon.core.errors import DataError

D = Decimal
POSITION = '{"symbol": "VTI", "qty": "10", "price": "250.10"}'


def holdings(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "h.json"
    path.write_text(text)
    return path


def test_a_good_file_is_read(tmp_path: Path) -> None:
    path = holdings(
        tmp_path,
        f'{{"cash": "1200", "positions": [{POSITION}], "prices": {{"BND": 72.3, "VTI": "250.1"}}}}',
    )
    held = read_holdings(path)
    assert held.cash == D(1200)
    assert held.holdings == {"VTI": D(10)}
    # The same price twice (250.10 and 250.1) is one price, not a conflict.
    assert held.prices == {"BND": D("72.3"), "VTI": D("250.10")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # JSON keeps the last of a repeated key: 999999 of cash would have been planned on.
        ('{"cash": "1200", "cash": "999999"}', "key 'cash' is given twice in one object"),
        ('{"prices": {"BND": "72", "BND": "80"}}', "key 'BND' is given twice in one object"),
        (
            '{"positions": [{"symbol": "VTI", "qty": "1", "qty": "100", "price": "250"}]}',
            "key 'qty' is given twice in one object",
        ),
        (
            '{"prices": {"bnd": "72", "BND": "80"}}',
            "prices.BND and prices.bnd both price BND",
        ),
        (
            f'{{"positions": [{POSITION}], "prices": {{"VTI": "500"}}}}',
            "positions[0].price (VTI) is 250.10 but prices.VTI is 500; give VTI one price",
        ),
        ('{"cash": NaN}', "cash is NaN"),
        ('{"cash": "NaN"}', "cash is not a number ('NaN')"),
        ('{"cash": -Infinity}', "cash is -Infinity"),
        ('{"cash": "1_200"}', "cash is not a number ('1_200')"),
        ('{"cash": "-1200"}', "cash is negative (-1200)"),
        ('{"cash": 1e999}', "cash is too large (1E+999)"),
        (
            '{"positions": [{"symbol": "VTI", "qty": Infinity, "price": "250"}]}',
            "positions[0].qty (VTI) is Infinity",
        ),
        (
            '{"positions": [{"symbol": "VTI", "qty": "-10", "price": "250"}]}',
            "positions[0].qty (VTI) is negative (-10)",
        ),
        ('{"prices": {"VXUS": "1e999"}}', "prices.VXUS is too large (1E+999)"),
        ('{"prices": {"VXUS": "0"}}', "prices.VXUS is 0"),
        ('{"prices": {"VXUS": "1e-400"}}', "prices.VXUS is too small (1E-400)"),
        (
            '{"positions": [{"symbol": "VTI", "qty": "1e30", "price": "1e300"}]}',
            "positions[0].qty (VTI) is too large (1E+30)",
        ),
        (
            '{"positions": [{"symbol": "VTI", "qty": "1e7", "price": "1e7"}]}',
            "positions[0]: value of VTI is too large (1E+14)",
        ),
        (
            '{"cash": "9e12", "positions": [{"symbol": "VTI", "qty": "1e5", "price": "1e8"}]}',
            "the account's total value is too large",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = holdings(tmp_path, text)
    with pytest.raises(DataError, match=re.escape(message)) as caught:
        read_holdings(path)
    assert str(caught.value).startswith(f"{path}: ")
