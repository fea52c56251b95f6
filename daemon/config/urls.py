"""The password inside a URL (a database URL, a notification URL), to keep it secret.

The password runs from the first `:` of the user info to the LAST `@` before the host: a
password written with an unencoded `@` (`user:S3cret@PW99@host`) is all hidden, although
SQLAlchemy's grammar would end it at the first `@` and take `PW99@host` for the host (such a
database URL is refused by the configuration: `database_url_problem`). Reaching too far (an
`@` in a query string) hides too much, which is the safe side. No SQLAlchemy here (the
configuration talks no SQL): its URL grammar is mirrored, and tested against it.

A password may also come as a query parameter: SQLAlchemy hands the query to the driver as
connection parameters, and libpq takes `?password=` (and the other parameters it marks as
secret, `SECRET_PARAMETERS`). Such a value is a password too: hidden, scrubbed, refused in the
config file. A key is matched in any case and percent-decoded (as SQLAlchemy's `parse_qsl`
reads it); the value runs to the next `&` that starts another parameter (`key=`), so a value
written with an unencoded `&` is hidden whole.
"""

from __future__ import annotations

__all__ = [
    "SECRET_PARAMETERS",
    "database_url_problem",
    "hide_password",
    "url_carries_password",
    "url_password",
    "url_secrets",
]

import re
from urllib.parse import unquote, unquote_plus

EXAMPLE_URLS = "postgresql+psycopg://USER@HOST:5432/DB or sqlite:////var/lib/trimtab/trimtab.db"

# A scheme, then user info as SQLAlchemy reads it: a user name without `:`, `/` or `@`,
# followed by `:` (a password follows) or `@` (no password).
_START = re.compile(r"[\w+]+://[^:/@]*(?P<sep>[:@])")
HIDDEN = "***"
SECRET_PARAMETERS = frozenset(
    {"password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key"}
)
"""libpq's connection parameters that hold a secret: those it shows as a password
(`PQconndefaults`' display character `*`: the password, the client key's passphrase, the OAuth
client secret) and the SCRAM keys, which authenticate as a password does."""


def _password_span(url: str) -> tuple[int, int] | None:
    """Return where the password as written starts and ends, or None."""
    found = _START.match(url)
    if found is None or found["sep"] != ":":
        return None
    end = url.rfind("@", found.end())
    if end < 0:
        return None
    return found.end(), end


def _query_secret_spans(url: str) -> list[tuple[int, int]]:
    """Return where each secret query parameter's value, as written, starts and ends (none
    empty), left to right."""
    scheme_end = url.find("://")
    if scheme_end < 0:
        return []
    span = _password_span(url)
    mark = url.find("?", span[1] if span is not None else scheme_end + 3)
    if mark < 0:
        return []
    spans: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    start = mark + 1
    for piece in url[start:].split("&"):
        end = start + len(piece)
        if "=" in piece:
            if current is not None:
                spans.append(current)
                current = None
            key = unquote_plus(piece.split("=", 1)[0]).lower()
            if key in SECRET_PARAMETERS and not piece.endswith("="):
                current = (start + piece.index("=") + 1, end)
        elif current is not None and piece:
            # No `=`: no parameter of its own (SQLAlchemy drops it), the rest of a value
            # written with an unencoded `&`.
            current = (current[0], end)
        start = end + 1
    if current is not None:
        spans.append(current)
    return spans


def _spans(url: str) -> list[tuple[int, int]]:
    """Return every password span in `url`, the user info's first."""
    span = _password_span(url)
    return [*([span] if span is not None else []), *_query_secret_spans(url)]


def url_carries_password(url: str) -> bool:
    """Tell whether `url` carries a password: in its user info (even an empty one), or as a
    secret query parameter (`SECRET_PARAMETERS`)."""
    return _password_span(url) is not None or bool(_query_secret_spans(url))


def url_password(url: str) -> str | None:
    """Return the password in `url` (percent-decoded), or None when it has none or is no
    `scheme://` URL."""
    span = _password_span(url)
    return None if span is None else unquote(url[span[0] : span[1]])


def url_secrets(url: str) -> frozenset[str]:
    """Return every form of the passwords in `url` that a message may quote: as written, as
    decoded, and each piece between unencoded `@` (a driver that took `PW99@host` for the
    host quotes `PW99`); for a query parameter's value, also decoded as a query (`+` a
    space) and each piece between unencoded `&` (SQLAlchemy sends the first)."""
    forms: set[str] = set()
    span = _password_span(url)
    if span is not None:
        written = url[span[0] : span[1]]
        forms |= {written, unquote(written), *written.split("@"), *unquote(written).split("@")}
    for start, end in _query_secret_spans(url):
        written = url[start:end]
        for whole in (written, *written.split("&")):
            forms |= {whole, unquote(whole), unquote_plus(whole)}
    return frozenset(form for form in forms if form)


def hide_password(url: str) -> str:
    """Return `url` with its passwords replaced by `***`: the user info's (up to the last
    `@`) and each secret query parameter's value."""
    for start, end in reversed(_spans(url)):
        url = url[:start] + HIDDEN + url[end:]
    return url


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
    return _grammar_problem(url)


# SQLAlchemy's URL grammar (`sqlalchemy.engine.url._parse_url`), to find the port where the
# engine will; `tests/unit/test_database_url_config.py` holds the two to the same answers.
_SQLALCHEMY_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
        (?:(?:\[(?P<ipv6host>[^/\?]+)\]|(?P<ipv4host>[^/:\?]+))?(?::(?P<port>[^/\?]*))?)?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.VERBOSE,
)

# The drivers trimtab runs on, by SQLAlchemy's name (backend+driver; a bare backend means
# SQLAlchemy's default driver), and the module each imports.
_DRIVERS = {
    "sqlite": "sqlite3",
    "sqlite+pysqlite": "sqlite3",
    "postgresql+psycopg": "psycopg",
    "postgresql+psycopg2": "psycopg2",
    "postgresql+pg8000": "pg8000",
}


def _grammar_problem(url: str) -> tuple[str, str] | None:
    # Not SQLAlchemy itself: the configuration talks no SQL (an import contract says so).
    from importlib.util import find_spec

    found = _SQLALCHEMY_URL.match(url)
    if found is None:
        return "it is not a SQLAlchemy URL", f"write e.g. {EXAMPLE_URLS}"
    port = found["port"]
    if port is not None:  # `host:` too: SQLAlchemy turns what follows the ':' into an int
        try:
            int(port)
        except ValueError:
            return "its port is not a number", "write the port as digits, e.g. HOST:5432"
    name = found["name"]
    backend = name.split("+", 1)[0]
    if backend not in ("sqlite", "postgresql"):
        return (
            f"trimtab keeps its state in SQLite or PostgreSQL, not {backend}",
            f"write e.g. {EXAMPLE_URLS}",
        )
    module = _DRIVERS.get(name) if name != "postgresql" else _default_postgresql_driver()
    if module is None:
        return (
            f"trimtab does not run on the driver {name}",
            "write postgresql+psycopg:// (or sqlite:// for SQLite)",
        )
    if find_spec(module) is None:
        return (
            f"the driver of {name} ({module}) is not installed",
            "write postgresql+psycopg:// (psycopg comes with trimtab)",
        )
    return None


def _default_postgresql_driver() -> str:
    """Return the module of SQLAlchemy's default PostgreSQL driver: psycopg from 2.1 on,
    psycopg2 before."""
    from importlib.metadata import version

    major, minor = (int(part) for part in version("sqlalchemy").split(".")[:2])
    return "psycopg" if (major, minor) >= (2, 1) else "psycopg2"
