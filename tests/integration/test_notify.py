"""Notifications through apprise to a receiver on loopback: delivery, rate limits, no secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli.health_cmd import health
from daemon.config.secrets import secret_values
from daemon.config.settings import Settings, check_config, load_config
from daemon.core.cycle_report import CycleReport
from daemon.monitor.messages import cycle_message
from daemon.monitor.notify import Message, Notifier
from daemon.service.loop import Daemon
from daemon.store.daemon_models import NotificationRow
from daemon.store.db import Database
from daemon.store.killswitch import set_kill_switch
from daemon.store.models import AuditRecordRow, CycleRow
from tests.fakes.receiver import Receiver, receiver

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
TOKEN = "tok-8c1f0e5d9b7a"
API_KEY = "sk-live-0123456789-do-not-print"


@pytest.fixture
def inbox() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


def settings_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, urls: list[str], extra: str = ""
) -> Settings:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'mode = "paper"\n[notifications]\nmax_per_hour = 3\nrepeat_after_minutes = 60\n{extra}'
        '[accounts.acct]\nbroker = "tests.fakes.broker:SECRET_PLUGIN"\n'
        '[accounts.acct.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__URLS", json.dumps(urls))
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__ACCT__BROKER_SETTINGS__API_KEY", API_KEY)
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__ACCT__BROKER_SETTINGS__SECRET_KEY", API_KEY[::-1])
    return load_config(config)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def notifier(settings: Settings, database: Database, clock: Clock) -> Notifier:
    return Notifier(
        settings.notifications,
        database=database,
        clock=clock,
        secrets=secret_values(settings),
    )


def message(key: str, body: str = "body") -> Message:
    return Message(kind="error", key=key, title=f"title {key}", body=body, severity="failure")


def statuses(database: Database) -> list[tuple[str, str]]:
    with database.transaction() as session:
        rows = session.scalars(select(NotificationRow).order_by(NotificationRow.id))
        return [(r.key, r.status) for r in rows]


def test_json_and_form_webhooks_receive_title_body_and_severity(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    urls = [inbox.url("json", f"json/{TOKEN}"), inbox.url("form", f"form/{TOKEN}")]
    settings = settings_for(tmp_path, monkeypatch, urls)

    assert notifier(settings, database, Clock()).send(message("a", "it broke")) == "sent"

    received = inbox.wait_for(2)
    assert {r.path for r in inbox.received} == {f"/json/{TOKEN}", f"/form/{TOKEN}"}
    for fields in received:
        assert (fields["title"], fields["message"], fields["type"]) == (
            "title a",
            "it broke",
            "failure",
        )
    assert statuses(database) == [("a", "sent")]


def test_an_outage_sends_a_handful_then_counts_what_was_held_back(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    settings = settings_for(tmp_path, monkeypatch, [inbox.url()])
    clock = Clock()
    sender = notifier(settings, database, clock)

    results = []
    for i in range(50):  # fifty different errors within a few minutes
        clock.now = NOW + timedelta(seconds=5 * i)
        results.append(sender.send(message(f"error-{i}")))
    assert results[:3] == ["sent"] * 3
    assert set(results[3:]) == {"suppressed"}
    assert len(inbox.wait_for(3)) == 3

    clock.now = NOW + timedelta(hours=1, minutes=5)
    assert sender.send(message("later")) == "sent"
    last = inbox.wait_for(4)[-1]
    assert "47 more message(s) held back by the rate limit" in last["message"]


def test_the_same_alert_repeats_only_after_its_window(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    settings = settings_for(tmp_path, monkeypatch, [inbox.url()])
    clock = Clock()
    sender = notifier(settings, database, clock)

    assert sender.send(message("broker-down")) == "sent"
    clock.now += timedelta(minutes=59)
    assert sender.send(message("broker-down")) == "suppressed"
    clock.now += timedelta(minutes=2)
    assert sender.send(message("broker-down")) == "sent"
    assert len(inbox.wait_for(2)) == 2


def test_a_failed_delivery_is_recorded_and_tried_again_next_time(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    settings = settings_for(tmp_path, monkeypatch, [inbox.url()])
    sender = notifier(settings, database, Clock())
    inbox.status = 500
    assert sender.send(message("x")) == "failed"
    inbox.status = 200
    assert sender.send(message("x")) == "sent"
    assert statuses(database) == [("x", "failed"), ("x", "sent")]


def test_switched_off_kinds_and_no_urls_send_nothing(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    settings = settings_for(tmp_path, monkeypatch, [inbox.url()], extra="errors = false\n")
    assert notifier(settings, database, Clock()).send(message("x")) == "off"
    nowhere = settings_for(tmp_path, monkeypatch, [])
    assert notifier(nowhere, database, Clock()).send(message("x")) == "off"
    assert inbox.messages() == []
    assert statuses(database) == []


def test_no_secret_reaches_a_message(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    url = inbox.url("json", f"hook/{TOKEN}")
    settings = settings_for(tmp_path, monkeypatch, [url])
    # An error text that (through some bug) carries a credential and the notification URL.
    report = CycleReport(
        cycle_id="acct:2026-11-24:1545",
        account="acct",
        outcome="failed",
        submitted=False,
        error=f"TransientBrokerError: 401 for key {API_KEY} posting to {url}",
    )
    failed = cycle_message(report, "paper")
    assert failed is not None
    assert notifier(settings, database, Clock()).send(failed) == "sent"

    [received] = inbox.wait_for(1)
    text = json.dumps(received)
    assert "401 for key [redacted]" in received["message"]
    for secret in (API_KEY, API_KEY[::-1], TOKEN, url):
        assert secret not in text
    with database.transaction() as session:
        stored = " ".join(f"{r.title} {r.detail}" for r in session.scalars(select(NotificationRow)))
    assert TOKEN not in stored
    assert API_KEY not in stored


def test_urls_belong_in_the_environment_or_secrets_file_not_the_config(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    url = f"ntfys://{TOKEN}@ntfy.example.com/trimtab"
    config.write_text(
        f'[notifications]\nurls = ["{url}"]\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    [problem] = check_config(config)
    assert problem.path == "notifications.urls"
    assert "no place for secrets" in problem.problem
    assert "TRIMTAB_NOTIFICATIONS__URLS" in problem.fix
    assert TOKEN not in str(problem)

    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[notifications]\nurls = ["{url}"]\n')
    secrets.chmod(0o600)
    config.write_text(
        'secrets_file = "secrets.toml"\n[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    assert check_config(config) == []


def test_a_url_apprise_does_not_know_is_refused_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text('[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n')
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__URLS", json.dumps([f"nosuch://{TOKEN}"]))
    [problem] = check_config(config)
    assert problem.path.startswith("notifications.urls")
    assert "URL number 1 is not one apprise understands" in problem.problem
    assert TOKEN not in str(problem)


def test_the_daemon_forwards_kill_switch_health_and_the_digest(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\n'
        '[accounts.main]\nschedule = "close - 15m"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__URLS", json.dumps([inbox.url()]))
    app = open_app(config, clock=Clock())
    daemon = Daemon(app)
    try:
        with app.database.transaction() as session:
            session.add(
                CycleRow(
                    cycle_id="main:2026-11-24:1545",
                    account="main",
                    trading_day=date(2026, 11, 24),
                    slot="1545",
                    mode="paper",
                    started_at=NOW - timedelta(minutes=15),
                    finished_at=NOW - timedelta(minutes=14),
                    outcome="failed",
                    error="TransientBrokerError: connection refused",
                )
            )
            set_kill_switch(session, engaged=True, reason="drill", actor="cli:ops", at=NOW)
        daemon.beat()
        daemon.send_digest()
        daemon.close()
        with app.database.transaction() as session:
            head = session.scalars(
                select(AuditRecordRow).order_by(AuditRecordRow.seq.desc())
            ).first()
    finally:
        app.close()

    by_title = {m["title"]: m["message"] for m in inbox.wait_for(3)}
    assert "By cli:ops: drill" in by_title["trimtab: kill switch ENGAGED"]
    assert (
        "last_cycle:main: main:2026-11-24:1545 failed"
        in by_title["trimtab: 1 health check(s) failing"]
    )
    digest = by_title["trimtab daily digest 2026-11-24"]
    assert "Kill switch: ENGAGED" in digest
    assert "main (active): cycles 1 failed; orders none." in digest
    assert "Health: last_cycle:main" in digest
    assert head is not None
    assert f"Audit log head: record {head.seq}, hash {head.hash}." in digest
    assert f"trimtab audit verify --head {head.seq}:{head.hash} proves" in digest


def test_health_notify_sends_the_failing_checks(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'database_url = "{database_url}"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__URLS", json.dumps([inbox.url()]))
    commands = typer.Typer()
    commands.command()(health)
    commands.command("noop")(lambda: None)
    result = CliRunner().invoke(commands, ["health", "-c", str(config), "--notify"])
    assert result.exit_code == 1, result.output
    assert "(notification: sent)" in result.output
    [alert] = inbox.wait_for(1)
    assert alert["title"] == "trimtab: 1 health check(s) failing"
    assert alert["message"] == "heartbeat: `trimtab run` has never run on this state"


def test_a_reload_cannot_switch_cluster_mode_or_its_queue(
    tmp_path: Path, database_url: str
) -> None:
    from daemon.audit.events import ConfigRejected
    from daemon.store.audit_log import AuditLog

    config = tmp_path / "trimtab.toml"
    text = (
        f'database_url = "{database_url}"\n'
        '[accounts.main]\n[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    config.write_text(text)
    app = open_app(config, clock=Clock())
    daemon = Daemon(app)
    try:
        config.write_text(text + '[cluster]\nqueue = "other"\n')
        daemon._reload()
        assert app.settings.cluster.queue == "trimtab"  # still the running configuration
        with app.database.transaction() as session:
            (record,) = AuditLog(session).records(kinds=["config_error"])
        event = record.event
        assert isinstance(event, ConfigRejected)
        assert [(p.path, p.fix) for p in event.problems] == [
            ("cluster", "restart trimtab to change it")
        ]
    finally:
        daemon.close()
        app.close()
