"""A URL's password is found where SQLAlchemy finds it, without importing SQLAlchemy."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from daemon.config.urls import url_password

URLS = [
    "postgresql+psycopg://trimtab:s3cret@db.example/trimtab",
    "postgresql://trimtab:p%40ss%2Fw@db.example:5432/trimtab",
    "postgresql://trimtab:@db.example/trimtab",
    "postgresql://:only-password@db.example/trimtab",
    "postgresql://trimtab@db.example/trimtab",
    "postgresql://u:p@ss@db.example/trimtab",
    "postgresql://u:p:q@db.example/trimtab?sslmode=require",
    "sqlite:////var/lib/trimtab/trimtab.db",
    "sqlite://",
    "mailto://owner:app-password@gmail.com",
    "tgram://123456:bot-token/987",
    "not-a-scheme://user:pw@host",
    "no url at all",
    "",
]


@pytest.mark.parametrize("url", URLS)
def test_the_password_is_the_one_sqlalchemy_reads(url: str) -> None:
    try:
        password = make_url(url).password
        expected = None if password is None else str(password)
    except (ArgumentError, ValueError):
        # ValueError: SQLAlchemy reads `123456:bot-token` as host and port, and the port is
        # no number; such a URL has no password either.
        expected = None
    assert url_password(url) == expected


def test_an_escaped_password_is_unescaped() -> None:
    assert url_password("postgresql://u:p%40ss@h/db") == "p@ss"
