"""What `trimtab run --once` tells the owner: what the daemon's slot runner would have.

A timer that runs `trimtab run --once` (deploy/systemd/trimtab-cycle.timer) has no daemon to
send notifications or evaluate alerts: without this, a trip rule could halt the account in
silence. After the cycles, the same messages go out as from `trimtab run`: each cycle's
error or orders, the alerts, and every kill-switch or trading-state change recorded while
the command ran.
"""

from __future__ import annotations

__all__ = ["OnceNotices", "halted_accounts"]

from collections.abc import Sequence

from daemon.audit.events import AuditKind
from daemon.bootstrap import App
from daemon.config.secrets import secret_values
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import TradingState
from daemon.logs import get_logger
from daemon.monitor.alerting import SENT_BY_SLOT_RUNNER, check_alerts
from daemon.monitor.messages import audit_message, cycle_message
from daemon.monitor.notify import Message, Notifier
from daemon.store.audit_log import AuditLog
from daemon.store.trading_state import account_state


class OnceNotices:
    """Mark where the audit log stands before the cycles; tell the owner afterwards."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._log = get_logger()
        with app.database.transaction() as session:
            self._seen = AuditLog(session).last_seq()

    def tell(self, reports: Sequence[CycleReport]) -> None:
        """Send what the cycles and the state changes call for; never raise (the command's
        own outcome must not depend on a notification)."""
        try:
            self._tell(reports)
        except Exception:  # a notification must never fail the cycles it reports on
            self._log.exception("notification_crashed", kind="run_once")

    def _tell(self, reports: Sequence[CycleReport]) -> None:
        settings = self._app.settings
        notifier = Notifier(
            settings.notifications,
            database=self._app.database,
            clock=self._app.clock,
            secrets=secret_values(settings),
        )

        def send(message: Message) -> None:
            try:
                notifier.send(message)
            except Exception:
                self._log.exception("notification_crashed", kind=message.kind, key=message.key)

        for report in reports:
            message = cycle_message(report, str(settings.mode))
            if message is not None:
                send(message)
            check_alerts(
                database=self._app.database,
                settings=settings,
                account=report.account,
                clock=self._app.clock,
                notify=send,
                report=report,
                already_sent=SENT_BY_SLOT_RUNNER,
            )
        kinds = (str(AuditKind.KILL_SWITCH), str(AuditKind.TRADING_STATE))
        with self._app.database.transaction() as session:
            records = AuditLog(session).records(kinds=kinds, after_seq=self._seen)
        for record in records:
            change = audit_message(record)
            if change is not None:
                send(change)


def halted_accounts(app: App, accounts: Sequence[str]) -> dict[str, str]:
    """Return the accounts among `accounts` that are HALTED now, with the reason."""
    with app.database.transaction() as session:
        states = {account: account_state(session, account) for account in accounts}
    return {a: s.reason for a, s in states.items() if s.state is TradingState.HALTED}
