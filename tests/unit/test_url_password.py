"""A URL's password is found where SQLAlchemy finds it, without importing SQLAlchemy; one
written with an unencoded `@` (which SQLAlchemy misreads) is found whole, up to the last `@`."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from daemon.config.urls import hide_password, url_password, url_secrets

URLS = [
    "postgresql+psycopg://trimtab:s3cret@db.example/trimtab",
    "postgresql://trimtab:p%40ss%2Fw@db.example:5432/trimtab",
    "postgresql://trimtab:@db.example/trimtab",
    "postgresql://:only-password@db.example/trimtab",
    "postgresql://trimtab@db.example/trimtab",
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


def test_a_password_with_an_unencoded_at_is_found_whole() -> None:
    url = "postgresql+psycopg://postgres:S3cret@PW99@nohost.invalid/test"
    assert url_password(url) == "S3cret@PW99"
    assert hide_password(url) == "postgresql+psycopg://postgres:***@nohost.invalid/test"
    # What SQLAlchemy takes for the password, and for the start of the host, are secrets too.
    assert {"S3cret@PW99", "S3cret", "PW99"} <= url_secrets(url)


def test_a_url_without_a_password_is_shown_as_it_is() -> None:
    for url in ("sqlite:////var/lib/a@b/trimtab.db", "postgresql://me@db/x", "tgram://1:tok/2"):
        assert hide_password(url) == url
        assert url_secrets(url) == frozenset()


@given(st.text(min_size=1))
@example("S3cret@PW99")
@example("p/w?x#y:z@")
@example("%40")
def test_any_password_is_hidden_whole(password: str) -> None:
    url = f"postgresql+psycopg://user:{password}@db.example:5432/trimtab"
    assert hide_password(url) == "postgresql+psycopg://user:***@db.example:5432/trimtab"
    assert url_password(url) is not None
    assert password in url_secrets(url)
