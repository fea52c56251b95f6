"""A price file that is not UTF-8 is a DataError naming the file, the byte, the line and the
fix; a byte order mark (Excel's "CSV UTF-8") and Windows line ends read as plain UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.core.errors import DataError
from strategies.history import read_prices_csv

GOOD = "date,VTI,BND\n2026-01-02,180.5,80.1\n2026-01-05,181.0,80.0\n"


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    history = read_prices_csv(path)
    assert history.symbols == ("VTI", "BND")
    assert len(history.days) == 2


def test_windows_line_ends_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_bytes(GOOD.replace("\n", "\r\n").encode())
    assert read_prices_csv(path).symbols == ("VTI", "BND")


def test_a_latin1_file_names_the_file_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    text = "date,VTI,BND\n# caf\xe9\n2026-01-02,180.5,80.1\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError) as raised:
        read_prices_csv(path)
    assert str(raised.value) == (
        f"prices {path} is not UTF-8 at byte 18 (line 2); save the file as UTF-8 "
        "(in a spreadsheet: CSV UTF-8)"
    )


def test_utf16_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_bytes(GOOD.encode("utf-16"))
    with pytest.raises(DataError, match=r"prices .*closes\.csv is not UTF-8 at byte 0 \(line 1\)"):
        read_prices_csv(path)
