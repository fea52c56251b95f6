"""Time `trimtab tax import` of many lots, and `trimtab tax replay` of a long trade list.

Run: `uv run python bench/bench_import.py [--lots 20000] [--trades 50000] [--runs 3]`.
Each run imports the lots into a fresh SQLite database (made by `trimtab db init` beforehand,
not timed) through the command itself (typer's runner, one process), then replays the
seeded trade list of `bench/bench_tax.py` through `trimtab tax replay` as text and as
`--json`. Prints the median wall and CPU time and the spread of each.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import date, timedelta
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_tax import to_csv, trade_list  # noqa: E402 (after the path set-up)

ACCOUNTS = ("main", "spouse")
SYMBOLS = [f"S{i:03d}" for i in range(200)]


def lots_csv(count: int, seed: int = 11) -> str:
    """Return `count` lots over two accounts and 200 symbols in the import format."""
    rng = random.Random(seed)
    lines = ["account,symbol,acquired,quantity,cost_basis,note"]
    start = date(2015, 1, 2)
    for n in range(count):
        acquired = start + timedelta(days=rng.randrange(3600))
        qty = rng.randint(1, 200)
        cost = qty * rng.uniform(20, 400)
        lines.append(
            f"{rng.choice(ACCOUNTS)},{rng.choice(SYMBOLS)},{acquired},{qty},{cost:.2f},lot {n}"
        )
    return "\n".join(lines) + "\n"


CONFIG = """
database_url = "{url}"
state_dir = "{state}"
[tax.outside_accounts.spouse]
owner = "spouse"
[accounts.main]
[accounts.main.strategy_params]
targets = {{ VOO = "0.6", BND = "0.4" }}
"""


def _invoke(args: list[str]) -> str:
    from typer.testing import CliRunner

    from daemon.cli import app

    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        raise SystemExit(f"trimtab {' '.join(args)} failed:\n{result.output}")
    return result.output


def _time(func: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Return wall and CPU seconds of each run (CPU time shows what a busy machine hides)."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _report(what: str, times: tuple[list[float], list[float]]) -> None:
    wall, cpu = times
    print(
        f"{what}: median {statistics.median(wall):.2f} s wall "
        f"({statistics.median(cpu):.2f} s CPU), min {min(wall):.2f} s, max {max(wall):.2f} s "
        f"over {len(wall)} runs",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lots", type=int, default=20_000)
    parser.add_argument("--trades", type=int, default=50_000)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="import into PostgreSQL (a fresh schema per run, dropped after), e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()
    schemas: list[str] = []
    try:
        _run(args, schemas)
    finally:
        if args.postgres and schemas:
            _drop(args.postgres, schemas)


def _schema(base: str, schemas: list[str]) -> str:
    """Create an empty schema; return the URL that works in it."""
    from sqlalchemy import create_engine, make_url, text

    name = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    schemas.append(name)
    url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False)


def _drop(base: str, schemas: list[str]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as connection:
        for name in schemas:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


def _run(args: argparse.Namespace, schemas: list[str]) -> None:
    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {where}", flush=True)
    with tempfile.TemporaryDirectory(prefix="trimtab-bench-") as tmp:
        root = Path(tmp)
        lots = root / "lots.csv"
        lots.write_text(lots_csv(args.lots))
        trades = root / "trades.csv"
        trades.write_text(to_csv(trade_list(args.trades, 500)))

        configs = []
        for n in range(args.runs if args.lots else 0):
            config = root / f"trimtab-{n}.toml"
            url = (
                _schema(args.postgres, schemas)
                if args.postgres
                else f"sqlite:///{root / f'db-{n}.sqlite'}"
            )
            config.write_text(CONFIG.format(url=url, state=root / f"state-{n}"))
            _invoke(["db", "init", "-c", str(config)])
            configs.append(config)
        fresh = iter(configs)

        def import_once() -> None:
            out = _invoke(["tax", "import", str(lots), "-c", str(next(fresh))])
            assert f"imported {args.lots} lot(s)" in out, out

        if args.lots:
            _report(f"tax import, {args.lots:,} lots", _time(import_once, args.runs))
        if args.trades:
            for flag in ([], ["--json"]):
                command = ["tax", "replay", str(trades), *flag]
                with redirect_stdout(io.StringIO()):
                    times = _time(partial(_invoke, command), args.runs)
                _report(f"tax replay {' '.join(flag)}".strip() + f", {args.trades:,} trades", times)


if __name__ == "__main__":
    main()
