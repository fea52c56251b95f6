"""The password inside a URL (a database URL, a notification URL), to keep it secret."""

from __future__ import annotations

__all__ = ["url_password"]

import re
from urllib.parse import unquote

# SQLAlchemy's URL grammar (`sqlalchemy.engine.url._parse_url`) up to the password, so a
# database URL's password is found exactly where the engine will find it; the rest of the
# URL does not matter here.
_CREDENTIALS = re.compile(r"[\w+]+://(?:[^:/]*(?::(?P<password>[^@]*))?@)?")


def url_password(url: str) -> str | None:
    """Return the password in `url`, or None when it has none or is no `scheme://` URL."""
    found = _CREDENTIALS.match(url)
    if found is None or found["password"] is None:
        return None
    return unquote(found["password"])
