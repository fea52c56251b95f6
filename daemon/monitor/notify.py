"""Messages to the owner through apprise, rate-limited, and never carrying a secret.

Every message is recorded in the `notifications` table (sent, failed, or held back), and that
record is the rate limiter: the same alert (same key) goes out at most once per
`repeat_after_minutes`, and at most `max_per_hour` messages go out in any hour, so an outage
sends a handful of messages, not a thousand. What was held back is counted in the next message
that goes out. The table survives restarts, so a crash loop cannot reset the limits.
"""

from __future__ import annotations

__all__ = ["Message", "Notifier", "secret_values", "url_understood"]

import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

from daemon.config.settings import NotificationSettings, Settings
from daemon.config.urls import url_password
from daemon.logs import get_logger
from daemon.store.db import Database
from daemon.store.notifications import NotificationStore

Severity = Literal["info", "success", "warning", "failure"]
Kind = Literal["orders", "error", "kill_switch", "health", "digest"]
REDACTED = "[redacted]"
KEEP_RECORDS = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    key: str
    """Same key, same alert: repeats within the repeat window are held back."""
    title: str
    body: str
    severity: Severity = "info"
    repeat_after: timedelta | None = None
    """Overrides `repeat_after_minutes` (the daily digest: once a day)."""
    attachment: Path | None = None
    """A file to attach where the channel takes attachments (the daily report's page)."""


@contextmanager
def _quiet_apprise() -> Iterator[Any]:
    """Import apprise with its plugins' import-time deprecation warnings silenced (imghdr on
    Python 3.11), and keep its own logger, which writes URLs at debug level, to itself."""
    logging.getLogger("apprise").propagate = False
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"apprise\..*")
        warnings.filterwarnings("ignore", message=r".*'imghdr' is deprecated")
        import apprise

        yield apprise


def url_understood(url: str) -> bool:
    """Tell whether apprise has a service for `url` (without contacting it)."""
    with _quiet_apprise() as apprise:
        return apprise.Apprise.instantiate(url) is not None


def secret_values(settings: Settings) -> frozenset[str]:
    """Every secret the configuration holds, to scrub from anything sent out."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.add(secret)
            password = url_password(secret)
            if password:
                found.add(password)
        elif isinstance(value, BaseModel):
            walk(value.model_dump())
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)

    walk(settings.model_dump())
    # Very short values would blank out ordinary words; nothing real is that short.
    return frozenset(s for s in found if len(s) >= 4)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text`, longest first (a secret may contain another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


Deliver = Callable[[Message], bool]


class Notifier:
    """Decide whether a message may go out, record it, and deliver it through apprise."""

    def __init__(
        self,
        settings: NotificationSettings,
        *,
        database: Database,
        clock: Callable[[], datetime],
        secrets: Iterable[str],
        deliver: Deliver | None = None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._clock = clock
        self._secrets = frozenset(secrets)
        self._log = get_logger()
        self._deliver = deliver or (_apprise_deliver(settings.urls) if settings.urls else None)

    @property
    def enabled(self) -> bool:
        return self._deliver is not None

    def wants(self, kind: Kind) -> bool:
        """Tell whether messages of `kind` are switched on (and there is somewhere to send)."""
        switches = {
            "orders": self._settings.orders,
            "error": self._settings.errors,
            "kill_switch": self._settings.kill_switch,
            "health": self._settings.health,
            "digest": bool(self._settings.daily_digest.strip()),
        }
        return self.enabled and switches[kind]

    def send(self, message: Message) -> str:
        """Send `message` unless switched off or rate-limited; return what became of it:
        off, suppressed, sent or failed."""
        if self._deliver is None or not self.wants(message.kind):
            return "off"
        title = redact(message.title, self._secrets)
        body = redact(message.body, self._secrets)
        now = self._clock()
        with self._database.transaction() as session:
            records = NotificationStore(session)
            held_back = self._held_back(records, message, now)
            if held_back is None:
                records.add(
                    at=now,
                    kind=message.kind,
                    key=message.key,
                    title=title,
                    status="suppressed",
                    detail="rate limit",
                )
                self._log.info("notification_suppressed", kind=message.kind, key=message.key)
                return "suppressed"
            record_id = records.add(
                at=now, kind=message.kind, key=message.key, title=title, status="sending"
            )
        if held_back:
            body += f"\n\n({held_back} more message(s) held back by the rate limit; see the logs)"
        # Deliver outside the transaction: the network must never hold the database lock.
        try:
            delivered = self._deliver(
                Message(
                    message.kind,
                    message.key,
                    title,
                    body,
                    message.severity,
                    attachment=message.attachment,
                )
            )
            detail = "" if delivered else "apprise reported a failure for at least one URL"
        except Exception as exc:  # a notification must never take the daemon down
            delivered, detail = False, f"{type(exc).__name__}"
        status = "sent" if delivered else "failed"
        with self._database.transaction() as session:
            NotificationStore(session).set_status(record_id, status, detail)
        if delivered:
            self._log.info("notification_sent", kind=message.kind, key=message.key)
        else:
            self._log.warning(
                "notification_failed", kind=message.kind, key=message.key, detail=detail
            )
        return status

    def prune(self) -> None:
        """Forget records older than 90 days (the rate limits look back an hour or a day)."""
        with self._database.transaction() as session:
            NotificationStore(session).prune(self._clock() - KEEP_RECORDS)

    def _held_back(self, records: NotificationStore, message: Message, now: datetime) -> int | None:
        """Return how many messages were held back since the last one that went out, or None
        when this one must be held back too."""
        repeat = message.repeat_after or timedelta(minutes=self._settings.repeat_after_minutes)
        recent_same = records.sent_since(message.key, now - repeat)
        last_hour = records.tried_since(now - timedelta(hours=1))
        if recent_same or last_hour >= self._settings.max_per_hour:
            return None
        return records.held_back()


def _apprise_deliver(urls: tuple[SecretStr, ...]) -> Deliver:
    with _quiet_apprise() as apprise:
        client = apprise.Apprise()
        for url in urls:
            client.add(url.get_secret_value())
    severities = {
        "info": apprise.NotifyType.INFO,
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }

    def deliver(message: Message) -> bool:
        attach = None if message.attachment is None else str(message.attachment)
        result = client.notify(
            title=message.title,
            body=message.body,
            notify_type=severities[message.severity],
            body_format=apprise.NotifyFormat.TEXT,
            attach=attach,
        )
        return bool(result)

    return deliver
