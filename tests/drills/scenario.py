"""The drill's household, its config files, and trimtab run as a real process and killed.

Two simulated accounts drift when their targets change: `main` (taxable, fresh cash from a
`trimtab sim deposit`) then needs three sells and two buys, `ira` two sells and one buy. A
template state directory holds that drifted household; every kill point starts from a copy.

A kill point is either a SIGKILL at a seeded random moment (counted from the process start,
or from the first `cycle_started` log line) while every broker call is slowed by the sim's
`latency_ms`/`latency_after_ms`, or the sim's own `crash_after_accept = N` for one account,
or (no kill) the sim dropping one account's Nth submission before taking it
(`drop_submissions`): the run records it unknown, then never reached, and goes on.
Afterwards trimtab is started again (without faults) until a run succeeds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

TRIMTAB = Path(sys.executable).parent / "trimtab"
RUN_TIMEOUT = 180.0
"""Seconds one trimtab process may take (a cycle takes a few on this machine)."""
LOG_TIMEOUT = 120.0
MAX_RESTARTS = 3
ACCOUNTS = ("main", "ira")
SYMBOLS = ("VTI", "VXUS", "BND", "VNQ", "SCHD")

BEFORE = {
    "main": {"VTI": "0.45", "VXUS": "0.20", "BND": "0.25", "VNQ": "0.10"},
    "ira": {"BND": "0.60", "VTI": "0.40"},
}
AFTER = {
    "main": {"VTI": "0.25", "VXUS": "0.30", "BND": "0.15", "VNQ": "0.05", "SCHD": "0.25"},
    "ira": {"BND": "0.35", "VTI": "0.30", "VXUS": "0.35"},
}
DEPOSIT = ("main", "5000")
SLOW = {"latency_ms": 60, "latency_after_ms": 30}
"""Faults of a randomly killed run: every broker call takes 90 ms, 60 of them before it acts."""
FROM_START_SHARE = 0.15
"""Share of random kill points timed from the process start (start-up, migrations, locks)."""
KILLED_AGAIN_SHARE = 0.15
"""Share of random kill points whose first restart is killed too (a crash during recovery)."""

_ACCOUNT = """
[accounts.{name}]
broker = "sim"
type = "{type}"
strategy = "static"

[accounts.{name}.broker_settings]
starting_cash = "{cash}"
# No slippage: the planner leaves cash just above the buffer, and slippage (which it does
# not foresee) could take it under, so the restart would trade again to restore the buffer
# on some days of the synthetic walk and not others. Commissions stay (cents per order).
slippage_bps = 0
commission_per_order = "{commission}"
fractional = false

[accounts.{name}.broker_settings.prices]
source = "synthetic"
seed = 11
start = 2026-01-02
base_prices = {{ VTI = "180", VXUS = "55", BND = "80", VNQ = "90", SCHD = "27" }}
{faults}
[accounts.{name}.strategy_params]
targets = {{ {targets} }}

[accounts.{name}.policy]
cash_buffer = "{buffer}"
min_trade_notional = "50"
outside_hours = true

# The drill's sells follow its own buys of the same day: a loss sale there washes. The
# drill tests the order path, so it sends them (with the disallowed loss shown) rather
# than deferring them for 30 days, the default.
[accounts.{name}.tax.wash_sale]
loss_sales = "allow"
"""

_ACCOUNT_SETTINGS = {
    "main": {"type": "taxable", "cash": "100000", "commission": "0.35", "buffer": "200"},
    "ira": {"type": "traditional_ira", "cash": "40000", "commission": "0", "buffer": "100"},
}


def config_text(
    targets: Mapping[str, Mapping[str, str]],
    faults: Mapping[str, Mapping[str, object]] | None = None,
) -> str:
    """Return the drill's config: paper mode, both accounts, optional faults per account."""
    parts = [
        'mode = "paper"\nstate_dir = "state"\n\n[log]\nformat = "json"\n\n[risk]\n'
        "# Synthetic closes are used at any hour, and every kill point trades the same day.\n"
        "max_quote_age_hours = 240\nmax_turnover_per_day = 1000\n"
    ]
    for name in ACCOUNTS:
        table = ""
        if faults and faults.get(name):
            table = (
                f"\n[accounts.{name}.broker_settings.faults]\n"
                + "\n".join(f"{k} = {json.dumps(v)}" for k, v in faults[name].items())
                + "\n"
            )
        weights = ", ".join(f'{s} = "{w}"' for s, w in targets[name].items())
        parts.append(
            _ACCOUNT.format(name=name, faults=table, targets=weights, **_ACCOUNT_SETTINGS[name])
        )
    return "".join(parts)


def clean_env() -> dict[str, str]:
    """The environment for trimtab: this one without any TRIMTAB_ override."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}


def run_trimtab(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRIMTAB), *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def build_template(directory: Path) -> Path:
    """Trade the household to its old targets, deposit cash, return the state directory."""
    directory.mkdir(parents=True)
    (directory / "before.toml").write_text(config_text(BEFORE))
    (directory / "after.toml").write_text(config_text(AFTER))
    first = run_trimtab(directory, "run", "--once", "-c", "before.toml")
    if first.returncode != 0:
        raise AssertionError(f"the drill's first cycle failed:\n{first.stdout}\n{first.stderr}")
    account, amount = DEPOSIT
    deposit = run_trimtab(directory, "sim", "deposit", amount, "-a", account, "-c", "after.toml")
    if deposit.returncode != 0:
        raise AssertionError(f"sim deposit failed:\n{deposit.stdout}\n{deposit.stderr}")
    return directory / "state"


@dataclass(frozen=True, slots=True)
class KillPoint:
    """One way of killing one run."""

    index: int
    kind: Literal["reference", "random", "crash_after_accept", "drop_submission"]
    anchor: Literal["start", "cycle"] = "cycle"
    delay: float = 0.0
    """random: seconds after the anchor at which SIGKILL is sent."""
    account: str = ""
    """crash_after_accept: the account whose broker crashes the process."""
    accept: int = 0
    """crash_after_accept: after which accepted order; drop_submission: which submission."""
    again: float | None = None
    """random: the first restart is killed too, this many seconds after its cycle_started."""

    @property
    def id(self) -> str:
        if self.kind == "crash_after_accept":
            return f"crash-after-accept-{self.account}-{self.accept}"
        if self.kind == "drop_submission":
            return f"drop-submission-{self.account}-{self.accept}"
        if self.kind == "reference":
            return "reference"
        return f"kill-{self.index:03d}"

    def describe(self) -> str:
        if self.kind == "crash_after_accept":
            return f"crash_after_accept = {self.accept} ({self.account})"
        if self.kind == "drop_submission":
            return f"submission {self.accept} of {self.account} dropped before the sim took it"
        if self.kind == "reference":
            return "no kill (uninterrupted run)"
        since = "process start" if self.anchor == "start" else "cycle_started"
        again = "" if self.again is None else f", restart killed {self.again:.2f}s after"
        return f"SIGKILL {self.delay:.2f}s after {since}{again}"

    def faults(self) -> dict[str, dict[str, object]]:
        if self.kind == "crash_after_accept":
            return {self.account: {"crash_after_accept": self.accept}}
        if self.kind == "drop_submission":
            dropped: dict[str, object] = {
                "drop_submissions": 1,
                "drop_submissions_after": self.accept - 1,
            }
            return {self.account: dropped}
        return {name: dict(SLOW) for name in ACCOUNTS}


@dataclass(frozen=True, slots=True)
class Calibration:
    """How long a slowed run takes: start-up until `cycle_started`, then until exit."""

    startup: float
    span: float
    orders: Mapping[str, int]
    """Orders each account sends in an uninterrupted run."""


def random_points(count: int, seed: int, calibration: Calibration) -> list[KillPoint]:
    """Return `count` seeded kill moments spread over start-up and the whole cycle."""
    points = []
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        if rng.random() < FROM_START_SHARE:
            anchor: Literal["start", "cycle"] = "start"
            delay = rng.uniform(0, calibration.startup * 1.1)
        else:
            anchor, delay = "cycle", rng.uniform(0, calibration.span * 1.05)
        again = None
        if rng.random() < KILLED_AGAIN_SHARE:
            again = rng.uniform(0, calibration.span * 1.05)
        points.append(KillPoint(index, "random", anchor=anchor, delay=delay, again=again))
    return points


def crash_points(calibration: Calibration) -> list[KillPoint]:
    """Return a `crash_after_accept = N` point for every order of every account."""
    return [
        KillPoint(0, "crash_after_accept", account=name, accept=n)
        for name in ACCOUNTS
        for n in range(1, calibration.orders[name] + 1)
    ]


def drop_points(calibration: Calibration) -> list[KillPoint]:
    """Return a point dropping each submission of each account before the sim takes it."""
    return [
        KillPoint(0, "drop_submission", account=name, accept=n)
        for name in ACCOUNTS
        for n in range(1, calibration.orders[name] + 1)
    ]


@dataclass
class PointRun:
    """What happened to one kill point's processes (the state is inspected by the test)."""

    point: KillPoint
    directory: Path
    killed_code: int
    killed: bool
    """True when the run died by SIGKILL (ours or the sim's), False when it ended by itself."""
    startup: float | None
    """Seconds from the process start to its first `cycle_started` line, if it got there."""
    ran_for: float
    restart_codes: list[int] = field(default_factory=list)
    killed_again: bool = False
    """True when the first restart was killed too (see `KillPoint.again`)."""

    @property
    def state(self) -> Path:
        return self.directory / "state"

    @property
    def killed_state(self) -> Path:
        """A copy of the state directory as the killed process left it."""
        return self.directory / "killed-state"

    @property
    def killed_again_state(self) -> Path:
        """A copy of the state directory as the killed restart left it."""
        return self.directory / "killed-again-state"

    @property
    def restarts(self) -> int:
        return len(self.restart_codes)

    @property
    def recovered(self) -> bool:
        return bool(self.restart_codes) and self.restart_codes[-1] == 0

    def log(self, name: str) -> str:
        path = self.directory / name
        return path.read_text() if path.exists() else ""


def drive(point: KillPoint, template: Path, root: Path) -> PointRun:
    """Run one kill point: copy the template, run and kill trimtab, restart until it succeeds."""
    directory = root / point.id
    directory.mkdir(parents=True)
    shutil.copytree(template, directory / "state")
    (directory / "killed.toml").write_text(config_text(AFTER, point.faults()))
    (directory / "restart.toml").write_text(config_text(AFTER))
    run = _killed_run(point, directory, "killed")
    shutil.copytree(directory / "state", run.killed_state)
    if point.again is not None:
        second = KillPoint(point.index, "random", anchor="cycle", delay=point.again)
        run.killed_again = _killed_run(second, directory, "killed-again").killed
        shutil.copytree(directory / "state", run.killed_again_state)
    for attempt in range(1, MAX_RESTARTS + 1):
        done = run_trimtab(directory, "run", "--once", "--force", "-c", "restart.toml", "--json")
        (directory / f"restart-{attempt}.out").write_text(done.stdout)
        (directory / f"restart-{attempt}.err").write_text(done.stderr)
        run.restart_codes.append(done.returncode)
        if done.returncode == 0:
            break
    return run


def _killed_run(point: KillPoint, directory: Path, name: str) -> PointRun:
    err_path = directory / f"{name}.err"
    command = [str(TRIMTAB), "run", "--once", "--force", "-c", "killed.toml", "--json"]
    with (directory / f"{name}.out").open("w") as out, err_path.open("w") as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=directory, env=clean_env(), stdout=out, stderr=err)
        try:
            code, startup, killed = _kill_when_due(point, process, err_path, started)
        finally:
            if process.poll() is None:  # only on a failure of the test itself
                process.kill()
                process.wait(timeout=30)
    return PointRun(
        point=point,
        directory=directory,
        killed_code=code,
        killed=killed,
        startup=startup,
        ran_for=time.monotonic() - started,
    )


def _kill_when_due(
    point: KillPoint, process: subprocess.Popen[bytes], err_path: Path, started: float
) -> tuple[int, float | None, bool]:
    """Return (exit code, start-up seconds if seen, whether SIGKILL ended it)."""
    startup = None
    if point.kind == "random" and point.anchor == "start":
        anchor: float | None = started
    else:
        seen = _wait_for_line(err_path, '"cycle_started"', process, started + LOG_TIMEOUT)
        startup = None if seen is None else seen - started
        if point.kind != "random":
            code = process.wait(timeout=RUN_TIMEOUT)
            return code, startup, code == -signal.SIGKILL
        anchor = seen
    if anchor is None:  # it ended (or failed) before any cycle started
        return process.wait(timeout=RUN_TIMEOUT), startup, False
    try:
        # Waiting on the process, not sleeping: a run that ends first is not killed.
        remaining = max(point.delay - (time.monotonic() - anchor), 0.0)
        return process.wait(timeout=remaining), startup, False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return process.wait(timeout=30), startup, True


def _wait_for_line(
    path: Path, marker: str, process: subprocess.Popen[bytes], deadline: float
) -> float | None:
    """Poll `path` until it contains `marker`; return when it was seen, None if never.

    With an anchor after start-up, a random kill is timed against this moment, so the
    process is checked every millisecond or two rather than at a coarse interval.
    """
    with path.open("rb") as handle:
        buffered = b""
        while time.monotonic() < deadline:
            buffered += handle.read()
            if marker.encode() in buffered:
                return time.monotonic()
            if process.poll() is not None:
                buffered += handle.read()
                return time.monotonic() if marker.encode() in buffered else None
            buffered = buffered[-len(marker) :] if len(buffered) > 4096 else buffered
            time.sleep(0.002)  # a poll interval, not a wait for an outcome
    raise AssertionError(f"no {marker} within {LOG_TIMEOUT:.0f}s in {path}")
