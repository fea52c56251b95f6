"""The schedules' start check, light enough for `trimtab config check`.

`trimtab run` (at start and on reload) checks every schedule over the exchange's real
sessions of the next 40 days; `trimtab config check` runs the same rules over a regular week
of a common calendar (XNYS, XNAS, 24/7) without importing exchange_calendars and pandas, and
over the real sessions for any other exchange (whose code check imports them anyway).
"""

from __future__ import annotations

__all__ = ["check_schedules"]

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.config.settings import Settings
from daemon.core.errors import ConfigProblem
from daemon.core.sessions import ScheduleUse, schedule_problems, typical_sessions

WINDOW = timedelta(days=40)


def check_schedules(settings: Settings, *, quick: bool = False) -> list[ConfigProblem]:
    """Check every account's schedule and the digest's: each has slots; an account's fall on
    their own trading day at the exchange and, unless the account trades outside the regular
    session (`policy.outside_hours`), inside a regular full session.

    With `quick`, a common calendar's regular week stands for its sessions (holidays and
    early closes, which never make a schedule wrong, left out)."""
    uses = [
        ScheduleUse(
            f"accounts.{name}.schedule",
            account.schedule,
            account=True,
            outside_hours=settings.account(name).policy.outside_hours,
        )
        for name, account in settings.accounts.items()
    ]
    if settings.notifications.daily_digest.strip():
        uses.append(
            ScheduleUse(
                "notifications.daily_digest", settings.notifications.daily_digest, account=False
            )
        )
    code = settings.exchange
    if quick:
        today = datetime.now(ZoneInfo("UTC")).date()
        typical = typical_sessions(code, today, today + WINDOW)
        if typical is not None:
            tz, sessions = typical
            return schedule_problems(uses, code, sessions, tz)
    from daemon.core.calendar import exchange_timezone
    from daemon.core.sessions import sessions_between

    tz = exchange_timezone(code)
    today = datetime.now(tz).date()
    return schedule_problems(uses, code, list(sessions_between(code, today, today + WINDOW)), tz)
