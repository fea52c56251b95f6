"""`trimtab tax add-trade --symbol`: stripped and upper-cased, and refused unless a ticker
(the audit's " vti" was stored as " VTI", matching no wash sale; "" left a trade no command
could replay)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from tests.integration.test_tax_cli import TODAY, config, day, invoke, tax_audit

__all__ = ["config"]  # the fixture, shared


def _add(config: Path, symbol: str, *args: str, code: int = 0) -> str:
    return invoke(
        "tax", "add-trade", "-a", "spouse", "--symbol", symbol, *args, "-c", str(config), code=code
    )


def test_a_symbol_with_spaces_is_the_ticker_and_washes_its_loss(config: Path) -> None:
    _add(config, "VTI", "--side", "buy", "--date", day(60), "--qty", "10", "--amount", "1000")
    _add(config, "VTI", "--side", "sell", "--date", day(20), "--qty", "10", "--amount", "800")
    out = _add(config, " vti", "--side", "buy", "--date", day(10), "--qty", "10", "--amount", "800")
    assert "recorded buy of 10 VTI in spouse" in out
    (lot,) = json.loads(invoke("tax", "lots", "--json", "-c", str(config)))
    assert lot["symbol"] == "VTI"
    year = str((TODAY - timedelta(days=20)).year)
    report = invoke("tax", "report", "--year", year, "--csv", "-c", str(config))
    (row,) = list(csv.DictReader(io.StringIO(report)))
    assert (row["code"], row["adjustment"]) == ("W", "200.00")


def test_a_symbol_that_is_no_ticker_is_refused_and_audited(config: Path) -> None:
    for symbol in ("", "V TI", "1VTI"):
        out = _add(
            config, symbol, "--side", "buy", "--date", day(9), "--qty", "1", "--amount", "1",
            code=2,
        )  # fmt: skip
        assert "is not a ticker in upper case (e.g. VTI)" in out
    assert json.loads(invoke("tax", "lots", "--json", "-c", str(config))) == []
    invoke("tax", "report", "--year", str(TODAY.year), "-c", str(config))  # still replays
    assert all("not a ticker" in str(r["rejected"]) for r in tax_audit(config))
