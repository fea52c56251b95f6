"""Messages to the owner through apprise, rate-limited, and never carrying a secret.

Every message is recorded in the `notifications` table (sent, failed, or held back), and that
record is the rate limiter: the same alert (same key) goes out at most once per
`repeat_after_minutes`, and at most `max_per_hour` messages go out in any hour, so an outage
sends a handful of messages, not a thousand. The kill switch's messages are never held back
by the hourly cap (only by their own key's repeat window). What was held back is counted in
the next message that goes out. The table survives restarts, so a crash loop cannot reset
the limits.
"""

from __future__ import annotations

__all__ = ["Message", "Notifier"]

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from daemon.config.secrets import quiet_apprise
from daemon.config.settings import NotificationSettings
from daemon.core.redaction import redact
from daemon.logs import get_logger
from daemon.store.db import Database
from daemon.store.notifications import NotificationStore

Severity = Literal["info", "success", "warning", "failure"]
Kind = Literal["orders", "error", "kill_switch", "health", "digest"]
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
        if records.sent_since(message.key, now - repeat):
            return None
        # The owner must learn the brake is on (or off) however many other messages went out
        # this hour: the kill switch's messages are never held back by the hourly cap.
        capped = message.kind != "kill_switch"
        if capped and records.tried_since(now - timedelta(hours=1)) >= self._settings.max_per_hour:
            return None
        return records.held_back()


def _apprise_deliver(urls: tuple[SecretStr, ...]) -> Deliver:
    with quiet_apprise() as apprise:
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
