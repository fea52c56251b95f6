"""Measure the long-running daemon: start-up, idle footprint, and memory over many cycles.

Run: `uv run python bench/bench_daemon.py [--idle-seconds 120] [--cycles 1000] [--starts 5]
[--parts start,idle,cycles]`.

- start-up: `trimtab run` on a fresh state directory, three simulated accounts, a slot one
  minute old (so it runs at once): seconds from exec to the first `cycle_started` and to
  the last of the three `cycle_finished` lines, with Python's bytecode cache warm (as an
  installed trimtab runs; the first start, which fills it, is reported apart). Target:
  first cycle under 3 s.
- idle: after those cycles, resident memory (VmRSS) and CPU (utime + stime) of the process
  over `--idle-seconds`, heartbeats included. Targets: under 180 MB, under 0.5% of a core.
- cycles: 1,000 cycles on the simulated broker in one process (the engine path the daemon
  runs per slot, the clock moving a day per cycle so prices move and orders are placed);
  resident memory after 100 and after 1,000. Target: growth under 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRIMTAB = Path(sys.executable).parent / "trimtab"
TICKS = os.sysconf("SC_CLK_TCK")


ALWAYS_OPEN = "24/7"
"""exchange_calendars' always-open calendar: a slot can be due whenever the benchmark runs."""


def household(schedule: str, exchange: str) -> str:
    """Three simulated accounts (the demo's two and a Roth IRA), trading at any hour."""
    example = (REPO / "config.example.toml").read_text()
    text = example.replace('exchange = "XNYS"', f'exchange = "{exchange}"')
    text = re.sub(r'^schedule = ".*"$', f'schedule = "{schedule}"', text, flags=re.MULTILINE)
    roth = example[example.index("[accounts.ira]") :].replace("accounts.ira", "accounts.roth")
    roth = roth.replace('type = "traditional_ira"', 'type = "roth_ira"')
    roth = re.sub(r'^schedule = ".*"$', f'schedule = "{schedule}"', roth, flags=re.MULTILINE)
    return text + "\n" + roth


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


PYCACHE = Path(tempfile.gettempdir()) / "trimtab-bench-pycache"


class Daemon:
    def __init__(self, config: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
        # Installed trimtab runs from compiled bytecode (the Docker image compiles it; pip and
        # uv installs write it on first import). Keep that cache outside the shared venv.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(TRIMTAB), "run", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=config.parent,
        )
        self.seen: list[tuple[float, dict[str, object]]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if line.startswith("{"):
                self.seen.append((time.perf_counter() - self.started, json.loads(line)))

    def wait(self, event: str, count: int = 1, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            times = [t for t, e in list(self.seen) if e["event"] == event]
            if len(times) >= count:
                return times[count - 1]
            if self.proc.poll() is not None:
                raise RuntimeError(f"trimtab exited: {self.seen[-5:]}")
            time.sleep(0.01)
        raise TimeoutError(event)

    def stop(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


def a_minute_ago(exchange: str) -> str:
    """Return the exchange's wall-clock time a minute ago, as a fixed-time schedule."""
    from daemon.core.calendar import exchange_timezone

    return f"{datetime.now(exchange_timezone(exchange)) - timedelta(minutes=1):%H:%M}"


def start_up(runs: int, exchange: str) -> list[tuple[float, float]]:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "trimtab.toml"
            config.write_text(household(a_minute_ago(exchange), exchange))
            daemon = Daemon(config)
            first = daemon.wait("cycle_started")
            last = daemon.wait("cycle_finished", count=3)
            daemon.stop()
            results.append((first, last))
    return results


def idle(seconds: float, exchange: str) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "trimtab.toml"
        config.write_text(household(a_minute_ago(exchange), exchange))
        daemon = Daemon(config)
        daemon.wait("cycle_finished", count=3)
        time.sleep(5)
        pid = daemon.proc.pid
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        peak = rss_mb(pid)
        end = wall_before + seconds
        while time.monotonic() < end:
            time.sleep(1)
            peak = max(peak, rss_mb(pid))
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
        rss = rss_mb(pid)
        daemon.stop()
    return rss, peak, cpu * 100


def cycles(total: int) -> tuple[float, float, float, int]:
    """Run `total` cycles in this process; return RSS after 100 and after all, the seconds
    taken, and the orders placed."""
    from adapters.sim.broker import SimBroker
    from daemon.bootstrap import open_app

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "trimtab.toml"
        text = household("close - 15m", ALWAYS_OPEN)
        config.write_text(text.replace('level = "info"', 'level = "error"'))
        day = [datetime(2026, 1, 5, 20, 45, tzinfo=UTC)]
        app = open_app(config, clock=lambda: day[0])
        accounts = list(app.settings.accounts)
        after_100 = 0.0
        started = time.perf_counter()
        orders = 0
        for i in range(total):
            account = accounts[i % len(accounts)]
            # New cash every cycle, so every cycle plans, checks, sends and records orders.
            broker = app.broker(account)
            assert isinstance(broker, SimBroker)
            broker.deposit(Decimal(1000))
            report = app.engine(fill_timeout=1).run_once(account, slot="bench")
            assert report.outcome == "succeeded", report.error
            orders += len(report.outcomes)
            if i % len(accounts) == len(accounts) - 1:
                day[0] += timedelta(days=1)
            if i + 1 == min(100, total):
                after_100 = rss_mb(os.getpid())
        elapsed = time.perf_counter() - started
        app.close()
        return after_100, rss_mb(os.getpid()), elapsed, orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=120)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--parts", default="start,idle,cycles", help="what to measure")
    parser.add_argument(
        "--exchange", default=ALWAYS_OPEN, help="start and idle: XNYS works on its trading days"
    )
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs ({cpu})")
    assert shutil.which(str(TRIMTAB)), TRIMTAB

    parts = set(args.parts.split(","))
    if "start" in parts:
        shutil.rmtree(PYCACHE, ignore_errors=True)
        [(cold, _)] = start_up(1, args.exchange)
        print(f"start-up to first cycle_started with no bytecode cache yet: {cold:.2f} s")
        runs = start_up(args.starts, args.exchange)
        firsts = sorted(r[0] for r in runs)
        lasts = sorted(r[1] for r in runs)
        print(
            f"start-up to first cycle_started: median {firsts[len(firsts) // 2]:.2f} s, "
            f"max {firsts[-1]:.2f} s; to the third cycle_finished: median "
            f"{lasts[len(lasts) // 2]:.2f} s ({args.starts} fresh starts)"
        )
    if "idle" in parts:
        rss, peak, cpu_pct = idle(args.idle_seconds, args.exchange)
        print(
            f"idle, three accounts, {args.idle_seconds:.0f} s: RSS {rss:.1f} MB "
            f"(peak {peak:.1f} MB), CPU {cpu_pct:.3f}% of one core"
        )
    if "cycles" in parts:
        after_100, after_all, elapsed, orders = cycles(args.cycles)
        growth = (after_all - after_100) / after_100 * 100
        each = elapsed / args.cycles * 1000
        print(
            f"{args.cycles} sim cycles ({orders} orders) in {elapsed:.0f} s ({each:.0f} ms "
            f"each): RSS after 100 {after_100:.1f} MB, after {args.cycles} {after_all:.1f} MB "
            f"({growth:+.1f}%)"
        )


if __name__ == "__main__":
    main()
