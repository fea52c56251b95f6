"""deploy/: the hardening the unit and the image promise, and every command they run exists."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from daemon.cli import app as trimtab_app
from daemon.cli.health_cmd import health
from daemon.config.files import SYSTEMD_CREDENTIAL
from daemon.config.settings import SchedulerSettings
from daemon.service import sd_notify

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"
DOCKER = REPO / "deploy" / "docker"
STATE_DIR = "/var/lib/trimtab"
VENV_BIN = "/opt/trimtab/.venv/bin/"


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Parse a systemd unit: section -> key -> every value given (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key, [])
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def cli() -> Any:
    """The trimtab command line, with `health` even before `daemon/cli/__init__.py` adds it."""
    group: Any = typer.main.get_command(trimtab_app)
    if "health" not in group.commands:
        single = typer.Typer()
        single.command()(health)
        group.add_command(typer.main.get_command(single), "health")
    return group


def check_trimtab_command(argv: list[str]) -> None:
    """Fail unless `argv` (after the program) names a trimtab command and its options."""
    group = cli()
    name, *rest = argv
    assert name in group.commands, f"no trimtab command {name!r}"
    command = group.commands[name]
    options = {opt for param in command.params for opt in param.opts}
    for token in rest:
        if token.startswith("-"):
            assert token.split("=")[0] in options, f"trimtab {name} has no option {token}"


def script_name() -> str:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    [name] = scripts
    return str(name)


def test_the_daemon_unit_is_supervised_and_sandboxed() -> None:
    service = unit(SYSTEMD / "trimtab.service")["Service"]
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    assert int(one(service, "WatchdogSec")) >= 10
    assert one(service, "Restart") == "on-failure"
    assert one(service, "RestartPreventExitStatus") == "2"  # the CLI's configuration error
    assert one(service, "User") not in ("", "root")
    for key in (
        "NoNewPrivileges",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectHome",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "LockPersonality",
        "MemoryDenyWriteExecute",
    ):
        assert one(service, key) == "yes", key
    assert one(service, "ProtectSystem") == "strict"
    assert service["ReadWritePaths"] == [STATE_DIR]
    assert one(service, "WorkingDirectory") == STATE_DIR
    assert one(service, "CapabilityBoundingSet") == ""
    assert one(service, "UMask") == "0077"
    name, _, source = one(service, "LoadCredential").partition(":")
    assert name == SYSTEMD_CREDENTIAL  # the name trimtab looks for in $CREDENTIALS_DIRECTORY
    assert source.startswith("/etc/trimtab/")
    # systemd must wait longer for a stop than trimtab waits for a running cycle.
    assert int(one(service, "TimeoutStopSec")) > SchedulerSettings().stop_timeout_seconds


@pytest.mark.parametrize("name", ["trimtab.service", "trimtab-cycle.service"])
def test_every_command_a_unit_runs_exists(name: str) -> None:
    service = unit(SYSTEMD / name)["Service"]
    for key in ("ExecStart", "ExecReload"):
        for line in service.get(key, []):
            program, *argv = shlex.split(line)
            if program.startswith(VENV_BIN):
                assert program.removeprefix(VENV_BIN) == script_name()
                check_trimtab_command(argv)
            else:
                assert Path(program).exists(), program
    if name == "trimtab.service":
        assert shlex.split(one(service, "ExecStart"))[1] == "run"
        assert "--once" not in one(service, "ExecStart")
        assert one(service, "ExecReload") == "/bin/kill -HUP $MAINPID"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_rates_the_daemon_unit_well_sandboxed() -> None:
    # --threshold is the exposure times ten: 1.5 ("OK") at most.
    result = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=yes",
            "--threshold=15",
            str(SYSTEMD / "trimtab.service"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-2000:]


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (DOCKER / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_the_image_is_slim_non_root_and_health_checked() -> None:
    steps = dockerfile()
    bases = [rest for keyword, rest in steps if keyword == "FROM"]
    assert bases
    assert all(b.split()[0] == "python:3.11-slim" for b in bases)
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    user = [rest for keyword, rest in final if keyword == "USER"]
    assert user == ["trimtab"]
    created = [rest for keyword, rest in final if keyword == "RUN" and "useradd" in rest]
    assert created
    assert shlex.split(created[0])[-1] == "trimtab"
    assert [rest for keyword, rest in final if keyword == "VOLUME"] == [STATE_DIR]
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert f"TRIMTAB_STATE_DIR={STATE_DIR}" in env
    [check] = [rest for keyword, rest in final if keyword == "HEALTHCHECK"]
    assert check.endswith('CMD ["trimtab", "health"]')


@pytest.mark.slow
def test_every_command_the_image_runs_exists() -> None:
    steps = dockerfile()
    for keyword, rest in steps:
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, _ = rest.split()
            for source in sources:
                assert (REPO / source).exists(), source
        if keyword == "RUN" and rest.startswith("uv sync"):
            flags = [t for t in shlex.split(rest) if t.startswith("--")]
            help_text = subprocess.run(
                ["uv", "sync", "--help"], capture_output=True, text=True, check=True, timeout=60
            ).stdout
            for flag in flags:
                assert re.search(rf"\s{re.escape(flag)}\b", help_text), flag
        if keyword == "RUN" and rest.startswith("useradd") and shutil.which("useradd"):
            help_text = subprocess.run(
                ["useradd", "--help"], capture_output=True, text=True, check=False, timeout=60
            ).stdout
            for flag in (t for t in shlex.split(rest) if t.startswith("--")):
                assert flag in help_text, flag
    entry = next(rest for keyword, rest in steps if keyword == "ENTRYPOINT")
    command = next(rest for keyword, rest in reversed(steps) if keyword == "CMD")
    program = yaml.safe_load(entry)
    assert program == [script_name()]
    check_trimtab_command(yaml.safe_load(command))
    [health_check] = [rest for keyword, rest in steps if keyword == "HEALTHCHECK"]
    check_trimtab_command(yaml.safe_load(health_check.split("CMD", 1)[1])[1:])


def test_compose_keeps_state_on_a_volume_and_checks_health() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    service = compose["services"]["trimtab"]
    # Every other service is opt-in (a profile), so `up` alone starts trimtab only.
    assert all("profiles" in s for n, s in compose["services"].items() if n != "trimtab")
    build = service["build"]
    assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    mounts = {m.split(":")[1]: m.split(":")[0] for m in service["volumes"]}
    assert mounts[STATE_DIR] in compose["volumes"]  # a named volume, not the container
    assert service["environment"]["TRIMTAB_STATE_DIR"] == STATE_DIR
    assert service["environment"]["TRIMTAB_CONFIG"] in mounts
    test = service["healthcheck"]["test"]
    assert test[:2] == ["CMD", script_name()]
    check_trimtab_command(test[2:])
    check_trimtab_command(service["command"])
    grace = int(service["stop_grace_period"].removesuffix("s"))
    assert grace > SchedulerSettings().stop_timeout_seconds
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    [secret] = service["secrets"]
    assert service["environment"]["TRIMTAB_SECRETS_FILE"] == f"/run/secrets/{secret}"


def test_sd_notify_reaches_systemd_and_does_nothing_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify.notify("READY=1") is False
    # An abstract socket ("@name"), as systemd uses; the datagram carries every state.
    name = f"trimtab-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sd_notify.notify("READY=1", "STATUS=serving 2 account(s)") is True
        assert listener.recv(4096) == b"READY=1\nSTATUS=serving 2 account(s)"
    # Nobody listening any more: the daemon carries on.
    assert sd_notify.notify("WATCHDOG=1") is False


@pytest.mark.parametrize(
    ("usec", "pid", "interval"),
    [
        ("120000000", None, 60.0),
        ("120000000", "self", 60.0),
        ("120000000", "1", None),  # meant for another process
        (None, None, None),
        ("0", None, None),
        ("soon", None, None),
    ],
)
def test_the_watchdog_is_pinged_twice_per_period(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, interval: float | None
) -> None:
    for key, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, str(os.getpid()) if value == "self" else value)
    assert sd_notify.watchdog_interval() == interval


def test_the_build_context_carries_only_what_the_image_copies() -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "**"  # everything out, then the copied paths back in
    allowed = {line[1:].rstrip("/") for line in rules if line.startswith("!")}
    copied = set()
    for keyword, rest in dockerfile():
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, _ = rest.split()
            copied |= {source.rstrip("/") for source in sources}
    assert copied == allowed


def test_the_ibkr_profile_runs_ib_gateway_under_ibc_beside_trimtab() -> None:
    # Docker cannot run here: the file is parsed and its settings checked, not started.
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    gateway = compose["services"]["ib-gateway"]
    assert gateway["profiles"] == ["ibkr"]
    assert gateway["image"].startswith("ghcr.io/gnzsnz/ib-gateway:")
    env = gateway["environment"]
    assert env["READ_ONLY_API"] == "no"  # trimtab places orders
    assert env["TRADING_MODE"] == "${TRADING_MODE:-paper}"  # paper unless asked
    assert {"AUTO_RESTART_TIME", "TWOFA_TIMEOUT_ACTION", "RELOGIN_AFTER_TWOFA_TIMEOUT"} <= set(env)
    [jts] = gateway["volumes"]
    assert jts.split(":")[0] in compose["volumes"]  # Jts on a named volume
    assert jts.split(":")[1] == env["TWS_SETTINGS_PATH"]
    [password] = gateway["secrets"]
    assert env["TWS_PASSWORD_FILE"] == f"/run/secrets/{password}"
    assert "ports" not in gateway  # reached from trimtab's network only
    assert compose["services"]["trimtab"]["build"]["args"]["TRIMTAB_EXTRAS"] == "--extra ibkr"
    # The restart time falls in the adapter's default maintenance window.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from adapters.ibkr.config import IbkrSettings

    restart = datetime.strptime(env["AUTO_RESTART_TIME"], "%I:%M %p")
    at = datetime(2026, 12, 3, restart.hour, restart.minute, tzinfo=ZoneInfo(env["TIME_ZONE"]))
    settings = IbkrSettings(environment="paper", account_id="DU1234567")
    assert settings.maintenance_at(at) is not None


def test_the_cluster_compose_runs_postgres_a_scheduler_and_two_workers() -> None:
    # docker cannot run here: the file is parsed and each trimtab command checked instead.
    compose = yaml.safe_load((DOCKER / "compose.cluster.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "scheduler", "worker"}
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    for name, command in (("scheduler", ["run"]), ("worker", ["worker"])):
        service = services[name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        build = service["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"
        shell = service["command"][0]
        assert shell.split("exec trimtab ", 1)[1].split() == command
        check_trimtab_command(command)
        # The password comes from a secret at start, never from the file itself.
        assert "$$(cat /run/secrets/postgres-password.txt)" in shell
        grace = int(service["stop_grace_period"].removesuffix("s"))
        assert grace > SchedulerSettings().stop_timeout_seconds
        assert service["read_only"] is True
    state = services["scheduler"]["volumes"][1].split(":")[0]
    assert state in compose["volumes"]
