"""Measure first contact: how long `trimtab --help` and `trimtab config check` take, and the
fixed cost of a `trimtab backtest` process (a 3-row price file: start-up, nothing else).

Run: `uv run python bench/bench_cli.py [--runs 15] [--source DIR]`.

Each run is a fresh interpreter, as a person typing the command gets: `python -c` running the
`trimtab` entry point (`daemon.cli:main`) from `--source` (default: this checkout), so an
older tree (`git archive <commit> | tar -x -C DIR`) can be measured with the same
interpreter and libraries. The source tree and the installed libraries are byte-compiled
first (`compileall`, as `uv sync --compile-bytecode` and the Docker image do), into a cache
of the benchmark's own (`PYTHONPYCACHEPREFIX`, which mirrors each file's path: this sandbox sets
`PYTHONDONTWRITEBYTECODE` and the virtual environment is not ours to write), and one
unmeasured run of each command fills any cache left. Reported: the median and the fastest
wall-clock time of `--runs` runs, the median CPU time (user + system) of the process, which a
busy machine inflates much less, and the load average around them (the machine is shared).
Target: median wall-clock time under 0.6 s for `--help` and `config check`. The backtest's
row has no target of its own: issue 16's is for a whole 20-year run (`bench_backtest.py`),
of which this is the part no day's work can shrink.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("daemon", "adapters", "strategies")
TARGET_SECONDS = 0.6

# Three days of closes for the example config's `brokerage` account.
PRICES = (
    "date,VTI,VXUS,BND,ITOT,IXUS\n"
    "2026-12-01,300,60,72,130,70\n"
    "2026-12-02,303,59,72.1,131,69\n"
    "2026-12-03,299,61,72.2,129,71\n"
)

# The console script `trimtab` is these two lines; `-c` lets `--source` choose the tree.
_ENTRY = "import sys; sys.argv[0] = 'trimtab'; from daemon.cli import main; main()"


PYCACHE = Path(tempfile.gettempdir()) / "trimtab-bench-pycache"


def bytecode_env() -> dict[str, str]:
    """Return the environment of every run: our own bytecode cache, and none of the caller's
    TRIMTAB_ variables (a test database URL, a config path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def compile_bytecode(source: Path, env: dict[str, str]) -> None:
    """Byte-compile the trimtab tree and the installed libraries into the cache of `env`
    (files already compiled are skipped)."""
    trees = [str(source / package) for package in PACKAGES]
    trees.append(sysconfig.get_paths()["purelib"])
    compile_all = [sys.executable, "-m", "compileall", "-q", "-j", "1", *trees]
    # Not checked: a library may ship a file that does not compile (a template, a Python 2
    # example); it is never imported either.
    subprocess.run(compile_all, env=env, check=False, stdout=subprocess.DEVNULL)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(
    source: Path, env: dict[str, str], args: list[str], runs: int
) -> tuple[list[float], list[float]]:
    """Return the wall-clock and the CPU seconds of `runs` fresh runs of `trimtab *args`,
    after one unmeasured run; each must succeed."""
    command = [sys.executable, "-c", _ENTRY, *args]
    wall, cpu = [], []
    for index in range(runs + 1):
        cpu_before = _children_cpu()
        start = time.perf_counter()
        subprocess.run(command, cwd=source, env=env, check=True, capture_output=True)
        if index:
            wall.append(time.perf_counter() - start)
            cpu.append(_children_cpu() - cpu_before)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--source", type=Path, default=REPO, help="trimtab tree to measure")
    options = parser.parse_args()
    source = options.source.resolve()
    env = bytecode_env()
    compile_bytecode(source, env)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        shutil.copy(source / "config.example.toml", config)
        prices = Path(tmp) / "prices.csv"
        prices.write_text(PRICES, encoding="utf-8")
        cases = {
            "trimtab --help": ["--help"],
            "trimtab config check": ["config", "check", "--config", str(config)],
            "trimtab backtest --json (3 rows)": [
                "backtest",
                "-c",
                str(config),
                "-a",
                "brokerage",
                "--prices",
                str(prices),
                "--json",
            ],
        }
        targeted = {"trimtab --help", "trimtab config check"}
        load_before = os.getloadavg()[0]
        results = {
            name: time_command(source, env, args, options.runs) for name, args in cases.items()
        }
        load_after = os.getloadavg()[0]
    print(f"source: {source}  runs: {options.runs}  python: {sys.version.split()[0]}")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    print("| command | median s | min s | median CPU s | target (median) |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, cpu) in results.items():
        median = statistics.median(wall)
        verdict = "met" if median < TARGET_SECONDS else "missed"
        target = f"< {TARGET_SECONDS} s ({verdict})" if name in targeted else "-"
        print(
            f"| `{name}` | {median:.3f} | {min(wall):.3f} | {statistics.median(cpu):.3f} "
            f"| {target} |"
        )


if __name__ == "__main__":
    main()
