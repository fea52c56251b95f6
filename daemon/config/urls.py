"""The password inside a URL (a database URL, a notification URL), to keep it secret.

The password runs from the first `:` of the user info to the LAST `@` before the host: a
password written with an unencoded `@` (`user:S3cret@PW99@host`) is all hidden, although
SQLAlchemy's grammar would end it at the first `@` and take `PW99@host` for the host (such a
database URL is refused by the configuration: `database_url_problem`). Reaching too far (an
`@` in a query string) hides too much, which is the safe side. Only `database_url_problem`
imports SQLAlchemy, when it is called (a configuration without a database URL never does).
"""

from __future__ import annotations

__all__ = ["database_url_problem", "hide_password", "url_password", "url_secrets"]

import re
from urllib.parse import unquote

EXAMPLE_URLS = "postgresql+psycopg://USER@HOST:5432/DB or sqlite:////var/lib/trimtab/trimtab.db"

# A scheme, then user info as SQLAlchemy reads it: a user name without `:`, `/` or `@`,
# followed by `:` (a password follows) or `@` (no password).
_START = re.compile(r"[\w+]+://[^:/@]*(?P<sep>[:@])")
HIDDEN = "***"


def _password_span(url: str) -> tuple[int, int] | None:
    """Return where the password as written starts and ends, or None."""
    found = _START.match(url)
    if found is None or found["sep"] != ":":
        return None
    end = url.rfind("@", found.end())
    if end < 0:
        return None
    return found.end(), end


def url_password(url: str) -> str | None:
    """Return the password in `url` (percent-decoded), or None when it has none or is no
    `scheme://` URL."""
    span = _password_span(url)
    return None if span is None else unquote(url[span[0] : span[1]])


def url_secrets(url: str) -> frozenset[str]:
    """Return every form of the password in `url` that a message may quote: as written, as
    decoded, and each piece between unencoded `@` (a driver that took `PW99@host` for the
    host quotes `PW99`)."""
    span = _password_span(url)
    if span is None:
        return frozenset()
    written = url[span[0] : span[1]]
    forms = {written, unquote(written), *written.split("@"), *unquote(written).split("@")}
    return frozenset(form for form in forms if form)


def hide_password(url: str) -> str:
    """Return `url` with its password (up to the last `@`) replaced by `***`."""
    span = _password_span(url)
    if span is None:
        return url
    return url[: span[0]] + HIDDEN + url[span[1] :]


def database_url_problem(url: str) -> tuple[str, str] | None:
    """Return (problem, fix) when `url` is no state database URL trimtab can open, else None.

    Neither ever quotes the URL: it may carry a password."""
    scheme = url.split("://", 1)[0] if "://" in url else None
    if scheme is None or not re.fullmatch(r"[\w+]+", scheme):
        return "it is not a URL (scheme://...)", f"write e.g. {EXAMPLE_URLS}"
    backend = scheme.split("+", 1)[0]
    if backend == "postgres":
        return (
            f"{scheme}:// is not a scheme SQLAlchemy knows (Heroku and others write it)",
            "write postgresql+psycopg:// instead of postgres://; the rest stays as it is",
        )
    if backend != "sqlite" and url.split("://", 1)[1].split("?", 1)[0].count("@") > 1:
        return (
            "the URL has more than one unencoded @, so the host would be read from inside "
            "the password",
            "percent-encode @ in the password as %40 (and : / ? # % as %3A %2F %3F %23 %25)",
        )
    return _sqlalchemy_problem(url)


def _sqlalchemy_problem(url: str) -> tuple[str, str] | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "it is not a SQLAlchemy URL", f"write e.g. {EXAMPLE_URLS}"
    except ValueError:  # the port: SQLAlchemy's int() of what follows the host's ':'
        return "its port is not a number", "write the port as digits, e.g. HOST:5432"
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        return (
            f"trimtab keeps its state in SQLite or PostgreSQL, not {backend}",
            f"write e.g. {EXAMPLE_URLS}",
        )
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"SQLAlchemy has no driver {parsed.drivername}", f"write e.g. {EXAMPLE_URLS}"
    if getattr(dialect, "is_async", False):
        return (
            f"{parsed.drivername} is an asyncio driver, which trimtab does not use",
            "write postgresql+psycopg:// (or sqlite:// for SQLite)",
        )
    try:
        dialect.import_dbapi()
    except ImportError:
        return (
            f"the driver of {parsed.drivername} ({dialect.driver}) is not installed",
            "write postgresql+psycopg:// (psycopg comes with trimtab)",
        )
    return None
