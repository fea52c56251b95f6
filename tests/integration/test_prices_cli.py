"""`trimtab prices export` (a broker's daily closes: the simulated broker's source, the fake
Alpaca's bars through the history cache) and `trimtab prices merge` (downloaded CSVs), each
file then read by `trimtab backtest`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from adapters.base import PriceHistory
from daemon.backtest.price_export import export_closes
from daemon.bootstrap import open_app
from daemon.cli import app as cli
from daemon.core.errors import TransientBrokerError
from tests.fakes.alpaca_server import FakeAlpaca
from tests.fakes.alpaca_server.client import (
    alpaca_main_toml,
    on_the_real_clock,
    weekdays_back,
)

D = Decimal
SATURDAY = datetime(2024, 7, 6, 15, 0, tzinfo=UTC)
"""The CLI's clock: the last session with a close is Friday 2024-07-05."""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sim_config(tmp_path: Path) -> Path:
    path = tmp_path / "trimtab.toml"
    path.write_text(
        f"""mode = "dry-run"
state_dir = "{tmp_path / "state"}"
[accounts.main]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.main.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2024-01-02
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.tax]
alternates = {{ VTI = "ITOT" }}
"""
    )
    return path


def test_export_writes_what_a_backtest_of_the_account_reads(
    sim_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "prices.csv"
    with time_machine.travel(SATURDAY, tick=False):
        code, stdout, stderr = invoke(
            "prices", "export", "-c", str(sim_config), "-o", str(out), "--symbol", "SPY",
            "--symbol", "CASH", "--symbol", "VTI",
        )  # fmt: skip
        assert code == 0, stderr
        lines = out.read_text().splitlines()
        # The universe, then the tax alternate, then the extra column (once; not CASH);
        # through Friday's close.
        assert lines[0] == "date,BND,VTI,ITOT,SPY"
        assert lines[1].startswith("2024-01-02,")  # the source's first day, inside 10 years
        assert lines[-1].startswith("2024-07-05,")
        assert "every symbol has closes from 2024-01-02" in stdout
        code, stdout, stderr = invoke(
            "backtest", "-c", str(sim_config), "--prices", str(out), "--benchmark", "SPY", "--json"
        )
    assert code == 0, stderr
    assert json.loads(stdout)["nav"][-1]["date"] == "2024-07-05"


def test_export_refuses_to_replace_a_file_and_a_range_past_the_last_close(
    sim_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "prices.csv"
    out.write_text("mine\n")
    with time_machine.travel(SATURDAY, tick=False):
        code, _, stderr = invoke("prices", "export", "-c", str(sim_config), "-o", str(out))
        assert code == 2
        assert "exists; choose another name, or give --force" in stderr
        assert out.read_text() == "mine\n"
        code, _, stderr = invoke(
            "prices", "export", "-c", str(sim_config), "-o", str(out), "--end", "2024-07-08"
        )
        assert code == 2
        assert "--end 2024-07-08 is after 2024-07-05, the last session" in stderr
        code, _, stderr = invoke(
            "prices", "export", "-c", str(sim_config), "-o", str(out), "--start", "July"
        )
        assert code == 2
        assert "--start 'July' is not a date" in stderr
        code, _, stderr = invoke(
            "prices", "export", "-c", str(sim_config), "-o", str(out), "--start", "2024-07-06"
        )
        assert code == 2
        assert "--start 2024-07-06 is after the last day to export, 2024-07-05" in stderr
        code, _, stderr = invoke(
            "prices", "export", "-c", str(sim_config), "-o", str(out), "--force",
            "--start", "2024-06-01", "--end", "2024-06-30",
        )  # fmt: skip
    assert code == 0, stderr
    lines = out.read_text().splitlines()
    assert (lines[1][:10], lines[-1][:10]) == ("2024-06-03", "2024-06-28")


def test_export_from_a_broker_without_history_says_to_merge_downloads(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f"""mode = "live"
live_confirmation = "I understand trimtab will trade real money"
state_dir = "{tmp_path / "state"}"
[accounts.main]
broker = "manual"
strategy = "static"
[accounts.main.broker_settings]
environment = "live"
exports = "exports"
preset = "fidelity"
account_number = "X1"
[accounts.main.strategy_params]
targets = {{ VTI = "1" }}
"""
    )
    code, _, stderr = invoke("prices", "export", "-c", str(config), "-o", str(tmp_path / "p.csv"))
    assert code == 2
    assert "broker manual of account main has no daily price history" in stderr
    assert "trimtab prices merge" in stderr


@pytest.fixture
def alpaca_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, FakeAlpaca]]:
    days = weekdays_back(60, today_too=False)
    with FakeAlpaca(on_the_real_clock(monkeypatch)) as server:
        server.bars.page_size = 1000
        server.bars.set_closes("VTI", {d: D(200) + i for i, d in enumerate(days)})
        server.bars.set_closes("BND", {d: D(80) - D(i) / 10 for i, d in enumerate(days[5:])})
        config = tmp_path / "trimtab.toml"
        strategy = (
            'strategy = "static"\n[accounts.main.strategy_params]\n'
            'targets = { VTI = "0.5", BND = "0.5" }'
        )
        config.write_text(alpaca_main_toml(tmp_path / "state", server.url, strategy))
        yield config, server


def test_export_from_alpaca_asks_once_for_every_symbol_and_keeps_the_closes(
    alpaca_config: tuple[Path, FakeAlpaca], tmp_path: Path
) -> None:
    config, fake = alpaca_config
    first = tmp_path / "first.csv"
    code, stdout, stderr = invoke("prices", "export", "-c", str(config), "-o", str(first), "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    by_symbol = {s["symbol"]: s for s in summary["symbols"]}
    assert by_symbol["VTI"]["closes"] == by_symbol["BND"]["closes"] + 5
    assert summary["all_from"] == by_symbol["BND"]["first"]  # BND starts later
    assert (fake.bars.requests_for("VTI"), fake.bars.requests_for("BND")) == (1, 1)
    assert len(fake.bars.queries) == 1  # both symbols in one query
    # A second export is served from the cache the live cycle shares: no new request.
    second = tmp_path / "second.csv"
    code, _, stderr = invoke("prices", "export", "-c", str(config), "-o", str(second))
    assert code == 0, stderr
    assert second.read_text() == first.read_text()
    assert len(fake.bars.queries) == 1
    # Before BND's first close the file has empty cells; the backtest starts where both trade.
    code, stdout, stderr = invoke(
        "backtest", "-c", str(config), "--prices", str(first), "--start",
        summary["all_from"], "--json",
    )  # fmt: skip
    assert code == 0, stderr
    code, _, stderr = invoke("backtest", "-c", str(config), "--prices", str(first))
    assert code == 2
    assert "(BND): no close (a gap)" in stderr


def test_merge_joins_downloads_and_the_backtest_reads_the_result(tmp_path: Path) -> None:
    (tmp_path / "VTI.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,1,1,1,237.10,230.55,1\n2024-01-03,1,1,1,null,null,1\n"
        "2024-01-04,1,1,1,235.02,228.53,1\n2024-01-05,1,1,1,236.00,229.50,1\n"
    )
    (tmp_path / "bnd.us.txt").write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-03,1,1,1,72.55,1\n2024-01-04,1,1,1,72.60,1\n2024-01-05,1,1,1,72.70,1\n"
    )
    out = tmp_path / "prices.csv"
    code, stdout, stderr = invoke(
        "prices", "merge", str(tmp_path / "VTI.csv"), str(tmp_path / "bnd.us.txt"), "-o", str(out)
    )
    assert code == 0, stderr
    assert out.read_text().splitlines() == [
        "date,VTI,BND",
        "2024-01-02,230.55,",
        "2024-01-03,,72.55",
        "2024-01-04,228.53,72.60",
        "2024-01-05,229.50,72.70",
    ]
    assert "every symbol has closes from 2024-01-03" in stdout
    assert "empty rows are days a symbol has no close" in stdout
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[accounts.main]\nstrategy = "static"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "0.5", BND = "0.5" }\n'
    )
    code, stdout, stderr = invoke(
        "backtest", "-c", str(config), "--prices", str(out), "--start", "2024-01-04", "--json"
    )
    assert code == 0, stderr
    assert [n["date"] for n in json.loads(stdout)["nav"]] == ["2024-01-04", "2024-01-05"]


def test_merge_refuses_a_symbol_twice_and_names_a_bad_row(tmp_path: Path) -> None:
    (tmp_path / "VTI.csv").write_text("Date,Close\n2024-01-02,1\n2024-01-03,oops\n")
    (tmp_path / "vti.old.csv").write_text("Date,Close\n2024-01-02,1\n")
    out = tmp_path / "prices.csv"
    code, _, stderr = invoke(
        "prices", "merge", str(tmp_path / "VTI.csv"), str(tmp_path / "vti.old.csv"), "-o", str(out)
    )
    assert code == 2
    assert "VTI is named twice" in stderr
    code, _, stderr = invoke("prices", "merge", str(tmp_path / "VTI.csv"), "-o", str(out))
    assert code == 2
    assert "row 3, column Close: 'oops' is not a number" in stderr
    code, stdout, stderr = invoke(
        "prices", "merge", f"OLD={tmp_path / 'vti.old.csv'}", "-o", str(out), "--json"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["symbols"] == [
        {"symbol": "OLD", "first": "2024-01-02", "last": "2024-01-02", "closes": 1, "empty": 0}
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".prices")]


def test_export_for_a_strategy_that_looks_back_names_the_first_day_it_can_start(
    sim_config: Path, tmp_path: Path
) -> None:
    sim_config.write_text(
        sim_config.read_text()
        .replace(
            'strategy = "static"',
            'strategy = "momentum"',
        )
        .replace(
            'targets = { VTI = "0.6", BND = "0.4" }',
            'universe = ["VTI", "BND"]\nlookback_days = 20',
        )
    )
    out = tmp_path / "prices.csv"
    with time_machine.travel(SATURDAY, tick=False):
        code, stdout, stderr = invoke(
            "prices", "export", "-c", str(sim_config), "-o", str(out), "--json"
        )
        assert code == 0, stderr
        summary = json.loads(stdout)
        days = [line[:10] for line in out.read_text().splitlines()[1:]]
        rows = summary["look_back_rows"]
        assert rows > 20
        assert summary["look_back_from"] == days[rows]
        # The backtest starts there, and names that day when asked to start earlier.
        code, _, stderr = invoke(
            "backtest", "-c", str(sim_config), "--prices", str(out), "--start", days[rows]
        )
        assert code == 0, stderr
        code, _, stderr = invoke("backtest", "-c", str(sim_config), "--prices", str(out))
    assert code == 2
    assert f"give --start {days[rows]} or later" in stderr


def test_a_backtest_without_prices_says_how_to_make_them(sim_config: Path) -> None:
    code, _, stderr = invoke("backtest", "-c", str(sim_config))
    assert code == 2
    assert "--prices PRICES.csv is required" in stderr
    assert "trimtab prices export -a ACCOUNT -o PRICES.csv" in stderr


def test_a_backtest_without_prices_reads_the_accounts_history_file(
    sim_config: Path, tmp_path: Path
) -> None:
    (tmp_path / "closes.csv").write_text(
        "date,VTI,BND\n2024-01-02,200,80\n2024-01-03,201,80.5\n2024-01-04,199,80.2\n"
    )
    text = sim_config.read_text().replace(
        'strategy = "static"\n', 'strategy = "static"\nhistory_file = "closes.csv"\n', 1
    )
    sim_config.write_text(text)
    code, stdout, stderr = invoke("backtest", "-c", str(sim_config), "--json")
    assert code == 0, stderr
    assert [n["date"] for n in json.loads(stdout)["nav"]] == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]


class _FailsOn:
    """The sim's daily closes, but `symbol` refused as a broker refuses under pacing."""

    def __init__(self, broker: PriceHistory, symbol: str | None) -> None:
        self.broker, self.symbol = broker, symbol
        self.asked: list[str] = []

    def daily_closes(self, symbol: str, start: date, end: date) -> Sequence[tuple[date, Decimal]]:
        self.asked.append(symbol)
        if symbol == self.symbol:
            raise TransientBrokerError("pacing violation")
        return self.broker.daily_closes(symbol, start, end)


def test_an_export_that_fails_part_way_asks_only_for_the_rest_next_time(sim_config: Path) -> None:
    with time_machine.travel(SATURDAY, tick=False):
        app = open_app(sim_config)
        try:
            broker = app.broker("main")
            assert isinstance(broker, PriceHistory)

            def export(reader: PriceHistory) -> dict[str, list[tuple[date, Decimal]]]:
                return export_closes(
                    reader,
                    source="sim:main",
                    database=app.database,
                    clock=app.clock,
                    symbols=["BND", "VTI", "ITOT"],
                    start=date(2024, 3, 1),
                    end=date(2024, 7, 5),
                )

            failing = _FailsOn(broker, "VTI")
            with pytest.raises(TransientBrokerError, match="pacing"):
                export(failing)
            again = _FailsOn(broker, None)
            series = export(again)
        finally:
            app.close()
    assert again.asked == ["VTI", "ITOT"]  # BND came from the cache
    assert {s: len(c) for s, c in series.items()} == {"BND": 91, "VTI": 91, "ITOT": 91}


def test_forget_drops_cached_closes_so_the_next_read_fetches_them_whole(
    sim_config: Path, tmp_path: Path
) -> None:
    from daemon.store.price_history import PriceHistoryStore

    def cached() -> dict[str, int]:
        app = open_app(sim_config)
        try:
            with app.database.transaction() as session:
                store = PriceHistoryStore(session)
                series = store.closes_of(
                    "sim:main", ["BND", "VTI"], date(2024, 1, 1), date(2025, 1, 1)
                )
                covered = store.coverages("sim:main", ["BND", "VTI"])
        finally:
            app.close()
        assert sorted(covered) == sorted(s for s, closes in series.items() if closes)
        return {s: len(closes) for s, closes in series.items()}

    with time_machine.travel(SATURDAY, tick=False):
        code, _, stderr = invoke(
            "prices", "export", "-c", str(sim_config), "-o", str(tmp_path / "p.csv")
        )
        assert code == 0, stderr
        before = cached()
        assert before["VTI"] > 100
        code, stdout, stderr = invoke(
            "prices", "forget", "-c", str(sim_config), "-a", "main", "--symbol", "vti", "--json"
        )
        assert code == 0, stderr
        assert json.loads(stdout) == {
            "source": "sim:main",
            "symbols": ["VTI"],
            "closes_forgotten": before["VTI"],
        }
        assert cached() == {"BND": before["BND"], "VTI": 0}
        code, stdout, stderr = invoke("prices", "forget", "-c", str(sim_config))
        assert code == 0, stderr
        # BND's and the tax alternate's (ITOT), which the export cached too.
        assert f"forgot {2 * before['BND']} cached closes (every symbol)" in stdout
        assert cached() == {"BND": 0, "VTI": 0}
        code, _, stderr = invoke("prices", "forget", "-c", str(sim_config), "-a", "nope")
        assert code == 2
        assert "no account 'nope'" in stderr
